// reporting/tlsrpt_store.hpp: the durable store of TLS-RPT events, the raw
// material of the daily SMTP TLS reports (RFC 8460).
//
// Contract
// - Every outbound TLS attempt records one TlsRptEvent: a success, or a
//   failure with its RFC 8460 §4.3 result type and the §4.4 failure-details
//   fields. The reporter later asks, per policy domain and UTC day, for the
//   §4.4 aggregate: summarize() returns, per distinct policy (type, policy
//   strings, mx-host), "total-successful-session-count",
//   "total-failure-session-count" and one FailureDetail per distinct
//   (result type, sending-mta-ip, receiving-mx-hostname, receiving-mx-helo,
//   receiving-ip, failure-reason-code, additional-information) with its
//   "failed-session-count". policy_domains() lists the domains with events
//   on a day; prune() deletes events older than N days.
// - open(path) creates the file and its schema when they are missing (the
//   directory must exist), checks the schema version (schema_version table:
//   a database written by a newer mxsec is refused, never rewritten),
//   turns on WAL and sets the busy timeout limits::kTlsRptBusyTimeout.
//   A file that cannot be opened, or that is not an SQLite database
//   (garbage, a damaged header), is Errc::io with a message naming the path.
// - Durability: WAL with synchronous=NORMAL. Each record() is one
//   transaction; when it returns, the event is in the WAL file, so it
//   survives a crash of mxsec. Under WAL, NORMAL never corrupts the
//   database; a power cut or kernel crash may lose the transactions of the
//   last moments (the WAL is synced at checkpoints, not at each commit).
//   That is the trade chosen: a lost event makes a report a session short,
//   which reports tolerate, while FULL would fsync on every TLS attempt of
//   every runner thread. A corrupt database, which would lose every report,
//   is what WAL + NORMAL rules out.
// - Thread safety: one SQLite connection guarded by a mutex; record(),
//   summarize(), policy_domains() and prune() may be called from any
//   thread at once. The store is not copyable; moving it is not allowed
//   either (the runner holds it by reference or pointer).
// - Limits (core/limits.hpp), so a hostile MX host name, HELO or reason
//   cannot grow the database without bound: every text field of an event
//   is escaped (control and non-ASCII bytes become \xNN, as in logs) and cut
//   to limits::kTlsRptEventTextBytes with a "..." marker; the same applies
//   to the policy domain and mx-host. Policy strings are kept exactly
//   (a cut policy would be a different policy): more than
//   limits::kTlsRptPolicyStrings entries or limits::kTlsRptPolicyBytes octets
//   in total is Errc::limit and the event is not recorded; so is an entry
//   that is not UTF-8 or holds a control character (Errc::parse).
// - Times are unix seconds; a UTC day is the number of days since the
//   epoch (utc_day()). Policy domains are compared in lower case.
// - to_json() gives one entry of the report's "policies" array, with the
//   RFC's field names; optional fields that are empty are left out.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "policy/tlsrpt/result.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace mxsec::reporting {

// One TLS session attempt (or the policy failure that prevented one).
struct TlsRptEvent {
  std::int64_t time = 0;  // unix seconds
  // type, policy strings, policy-domain and mx-host (RFC 8460 §4.4).
  policy::tlsrpt::PolicyBlock policy;
  // nullopt: a successful session; otherwise the §4.3 result type.
  std::optional<policy::tlsrpt::ResultType> failure;
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;
  std::string receiving_mx_helo;       // "" = not known (optional in §4.4)
  std::string receiving_ip;
  std::string failure_reason_code;     // free text; "" = none
  std::string additional_information;  // "" = none
  std::string queue_id;                // traceability; not part of a report
};

// RFC 8460 §4.4 "failure-details" entry.
struct FailureDetail {
  policy::tlsrpt::ResultType result_type = policy::tlsrpt::ResultType::validation_failure;
  std::string sending_mta_ip;
  std::string receiving_mx_hostname;
  std::string receiving_mx_helo;
  std::string receiving_ip;
  std::string failure_reason_code;
  std::string additional_information;
  std::uint64_t failed_session_count = 0;
  friend bool operator==(const FailureDetail&, const FailureDetail&) = default;
};

// One entry of a report's "policies" array.
struct PolicySummary {
  policy::tlsrpt::PolicyBlock policy;
  std::uint64_t total_successful_session_count = 0;
  std::uint64_t total_failure_session_count = 0;
  std::vector<FailureDetail> failure_details;  // ordered by result-type name, then the other fields
};

// Days since 1970-01-01 UTC of a unix time (floor, also before the epoch).
std::int64_t utc_day(std::int64_t unix_seconds);

// {"policy": {...}, "summary": {...}, "failure-details": [...]}
nlohmann::json to_json(const PolicySummary& summary);

class TlsRptStore {
 public:
  static Result<std::unique_ptr<TlsRptStore>> open(const std::string& path);
  ~TlsRptStore();
  TlsRptStore(const TlsRptStore&) = delete;
  TlsRptStore& operator=(const TlsRptStore&) = delete;

  Result<void> record(const TlsRptEvent& event);
  // Policies in the order they were first recorded.
  Result<std::vector<PolicySummary>> summarize(std::string_view policy_domain, std::int64_t day) const;
  // Sorted, lower case.
  Result<std::vector<std::string>> policy_domains(std::int64_t day) const;
  // Deletes events with time < now - days * 86400 (and the policies no event
  // uses any more); returns the number of events deleted.
  Result<std::uint64_t> prune(std::int64_t now, unsigned days);

  const std::string& path() const { return path_; }

  struct Impl;

 private:
  explicit TlsRptStore(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> impl_;
  std::string path_;
  mutable std::mutex mutex_;
};

}  // namespace mxsec::reporting

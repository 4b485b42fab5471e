// policy/tlsrpt/result.hpp: the vocabulary of SMTP TLS Reporting (RFC 8460).
//
// Contract
// - PolicyType and PolicyBlock are the "policy" object of a report (§4.4):
//   every per-MX delivery decision yields one, so the reporting work can
//   aggregate outcomes without re-deriving what policy applied.
// - ResultType is the closed set of failure result types of §4.3; to_string()
//   returns the exact RFC spelling ("starttls-not-supported", ...), which is
//   what reports and `--json` output carry. Success is not a ResultType: a
//   successful session is counted, not classified.
#pragma once

#include <cstddef>

#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxsec::policy::tlsrpt {

// RFC 8460 §4.4 "policy-type".
enum class PolicyType { tlsa, sts, no_policy_found };

// RFC 8460 §4.3 result types.
enum class ResultType {
  // §4.3.1 negotiation failures
  starttls_not_supported,
  certificate_host_mismatch,
  certificate_expired,
  certificate_not_trusted,
  validation_failure,
  // §4.3.2.1 DANE-specific
  tlsa_invalid,
  dnssec_invalid,
  dane_required,
  // §4.3.2.2 MTA-STS-specific
  sts_policy_fetch_error,
  sts_policy_invalid,
  sts_webpki_invalid,
};

inline constexpr std::size_t kResultTypeCount = static_cast<std::size_t>(ResultType::sts_webpki_invalid) + 1;

const char* to_string(PolicyType t);
const char* to_string(ResultType t);
std::optional<ResultType> parse_result_type(std::string_view s);

// RFC 8460 §4.4: one "policy" object of a report.
struct PolicyBlock {
  PolicyType type = PolicyType::no_policy_found;
  // "policy-string": the TLSA records in presentation form, one per entry, or
  // the MTA-STS policy lines; empty for no-policy-found.
  std::vector<std::string> policy_string;
  std::string policy_domain;  // the recipient (policy) domain
  std::string mx_host;        // MX host the policy applies to ("" = whole domain, STS)
  friend bool operator==(const PolicyBlock&, const PolicyBlock&) = default;
};

// {"policy-type":..., "policy-string":[...], "policy-domain":..., "mx-host":...}
// ("mx-host" omitted when empty).
nlohmann::json to_json(const PolicyBlock& block);

}  // namespace mxsec::policy::tlsrpt

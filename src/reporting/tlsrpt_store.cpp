// reporting/tlsrpt_store.cpp: see tlsrpt_store.hpp.
//
// Schema (version 1): a policy is stored once (policy table, unique over
// domain, type, mx-host and the policy strings as a JSON array, which keeps
// the entries unambiguous whatever they hold) and every event points at
// it; `day` is kept next to `time` so the reporter's queries use an index.
// A success has result = ''.
#include "reporting/tlsrpt_store.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <utility>

#include "core/limits.hpp"
#include "core/strings.hpp"
#include "reporting/sqlite_handles.hpp"

namespace mxsec::reporting {
namespace {

using policy::tlsrpt::PolicyType;
using policy::tlsrpt::ResultType;

constexpr int kSchemaVersion = 1;
constexpr std::int64_t kDaySeconds = 86400;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS policy (
  id INTEGER PRIMARY KEY,
  domain TEXT NOT NULL,
  type TEXT NOT NULL,
  mx_host TEXT NOT NULL,
  strings TEXT NOT NULL,
  UNIQUE (domain, type, mx_host, strings)
);
CREATE TABLE IF NOT EXISTS event (
  id INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  day INTEGER NOT NULL,
  policy_id INTEGER NOT NULL REFERENCES policy(id),
  result TEXT NOT NULL,
  sending_mta_ip TEXT NOT NULL,
  receiving_mx_hostname TEXT NOT NULL,
  receiving_mx_helo TEXT NOT NULL,
  receiving_ip TEXT NOT NULL,
  failure_reason_code TEXT NOT NULL,
  additional_information TEXT NOT NULL,
  queue_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS event_day ON event (day, policy_id);
CREATE INDEX IF NOT EXISTS event_time ON event (time);
)sql";

// The policy-type spellings of RFC 8460 §4.4, read back.
std::optional<PolicyType> parse_policy_type(std::string_view s) {
  for (PolicyType t : {PolicyType::tlsa, PolicyType::sts, PolicyType::no_policy_found})
    if (s == policy::tlsrpt::to_string(t)) return t;
  return std::nullopt;
}

std::string bounded(std::string_view text) { return escape_for_log(text, limits::kTlsRptEventTextBytes); }

// The policy domain as compared: lower case, bounded like every other text.
std::string domain_key(std::string_view domain) { return bounded(to_lower(domain)); }

Result<std::string> policy_strings_json(const std::vector<std::string>& strings) {
  if (strings.size() > limits::kTlsRptPolicyStrings)
    return make_error(Errc::limit, "TLS-RPT event: " + std::to_string(strings.size()) + " policy strings, more than " +
                                       std::to_string(limits::kTlsRptPolicyStrings));
  std::size_t total = 0;
  for (const auto& s : strings) {
    total += s.size();
    if (total > limits::kTlsRptPolicyBytes)
      return make_error(Errc::limit, "TLS-RPT event: policy strings longer than " +
                                         std::to_string(limits::kTlsRptPolicyBytes) + " octets");
    const bool control = std::any_of(s.begin(), s.end(), [](char c) {
      return static_cast<unsigned char>(c) < 0x20 || c == 0x7f;
    });
    if (control || !is_utf8(s))
      return make_error(Errc::parse, "TLS-RPT event: policy string " + escape_for_log(s, 80) +
                                         " is not UTF-8 text without control characters");
  }
  return nlohmann::json(strings).dump();
}

std::string column_text(sqlite3_stmt* st, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st, col));
  return p ? std::string(p, static_cast<std::size_t>(sqlite3_column_bytes(st, col))) : std::string();
}

}  // namespace

struct TlsRptStore::Impl {
  SqlitePtr db;
  StmtPtr insert_policy, select_policy, insert_event;
  StmtPtr policy_counts, failure_details, domains_of_day, prune_events, prune_policies;
  std::string path;

  Error io_error(std::string_view what) const {
    return make_error(Errc::io, "TLS-RPT store " + path + ": " + std::string(what) + ": " + sqlite3_errmsg(db.get()));
  }

  Result<void> exec(const char* sql) {
    char* message = nullptr;
    const int rc = sqlite3_exec(db.get(), sql, nullptr, nullptr, &message);
    const std::string text = message ? message : sqlite3_errstr(rc);
    sqlite3_free(message);
    if (rc != SQLITE_OK) return make_error(Errc::io, "TLS-RPT store " + path + ": " + text);
    return {};
  }

  Result<StmtPtr> prepare(const char* sql) {
    sqlite3_stmt* raw = nullptr;
    const int rc = sqlite3_prepare_v3(db.get(), sql, -1, SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
    StmtPtr st(raw);
    if (rc != SQLITE_OK) return io_error("prepare");
    return st;
  }

  // Binds text by copy (SQLITE_TRANSIENT): the arguments are temporaries.
  void bind(sqlite3_stmt* st, int i, std::string_view text) {
    sqlite3_bind_text(st, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
  }

  // A prepared statement in use, reset (and its bindings cleared) when the
  // scope ends, whether it finished or not.
  struct Use {
    sqlite3_stmt* st;
    ~Use() {
      sqlite3_reset(st);
      sqlite3_clear_bindings(st);
    }
  };

  Result<void> check_version() {
    auto st = prepare("SELECT version FROM schema_version");
    if (!st) return st.error();
    const int rc = sqlite3_step(st->get());
    if (rc == SQLITE_ROW) {
      const int version = sqlite3_column_int(st->get(), 0);
      if (version != kSchemaVersion)
        return make_error(Errc::io, "TLS-RPT store " + path + ": schema version " + std::to_string(version) +
                                        ", this mxsec reads version " + std::to_string(kSchemaVersion));
      return {};
    }
    if (rc != SQLITE_DONE) return io_error("schema version");
    return exec("INSERT INTO schema_version (version) VALUES (1)");
  }
};

std::int64_t utc_day(std::int64_t unix_seconds) {
  std::int64_t d = unix_seconds / kDaySeconds;
  if (unix_seconds % kDaySeconds < 0) --d;
  return d;
}

nlohmann::json to_json(const PolicySummary& s) {
  nlohmann::json j = nlohmann::json::object();
  j["policy"] = policy::tlsrpt::to_json(s.policy);
  j["summary"] = {{"total-successful-session-count", s.total_successful_session_count},
                  {"total-failure-session-count", s.total_failure_session_count}};
  nlohmann::json details = nlohmann::json::array();
  for (const auto& f : s.failure_details) {
    nlohmann::json d = nlohmann::json::object();
    d["result-type"] = policy::tlsrpt::to_string(f.result_type);
    auto optional = [&](const char* name, const std::string& value) {
      if (!value.empty()) d[name] = value;
    };
    optional("sending-mta-ip", f.sending_mta_ip);
    optional("receiving-mx-hostname", f.receiving_mx_hostname);
    optional("receiving-mx-helo", f.receiving_mx_helo);
    optional("receiving-ip", f.receiving_ip);
    d["failed-session-count"] = f.failed_session_count;
    optional("additional-information", f.additional_information);
    optional("failure-reason-code", f.failure_reason_code);
    details.push_back(std::move(d));
  }
  if (!details.empty()) j["failure-details"] = std::move(details);
  return j;
}

Result<std::unique_ptr<TlsRptStore>> TlsRptStore::open(const std::string& path) {
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  sqlite3* raw = nullptr;
  // NOMUTEX: the store's own mutex serialises every use of the connection.
  const int rc = sqlite3_open_v2(path.c_str(), &raw,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                                 nullptr);
  impl->db.reset(raw);  // owned even when the open failed (sqlite3_open_v2 may allocate)
  if (rc != SQLITE_OK)
    return make_error(Errc::io, "TLS-RPT store " + path + ": cannot open: " +
                                    (raw ? sqlite3_errmsg(raw) : sqlite3_errstr(rc)));
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, static_cast<int>(limits::kTlsRptBusyTimeout.count()));
  // SQLite reads the file only now: garbage fails here ("file is not a
  // database"), before anything is written to it.
  if (auto ok = impl->exec("PRAGMA journal_mode=WAL"); !ok) return ok.error();
  if (auto ok = impl->exec("PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON"); !ok) return ok.error();
  if (auto ok = impl->exec("BEGIN IMMEDIATE"); !ok) return ok.error();
  auto schema = impl->exec(kSchema);
  if (schema) schema = impl->check_version();
  if (!schema) {
    (void)impl->exec("ROLLBACK");
    return schema.error();
  }
  if (auto ok = impl->exec("COMMIT"); !ok) return ok.error();

  struct Statement {
    StmtPtr* slot;
    const char* sql;
  };
  const Statement statements[] = {
      {&impl->insert_policy, "INSERT OR IGNORE INTO policy (domain, type, mx_host, strings) VALUES (?1, ?2, ?3, ?4)"},
      {&impl->select_policy, "SELECT id FROM policy WHERE domain = ?1 AND type = ?2 AND mx_host = ?3 AND strings = ?4"},
      {&impl->insert_event,
       "INSERT INTO event (time, day, policy_id, result, sending_mta_ip, receiving_mx_hostname, receiving_mx_helo,"
       " receiving_ip, failure_reason_code, additional_information, queue_id)"
       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"},
      {&impl->policy_counts,
       "SELECT p.id, p.type, p.mx_host, p.strings, SUM(e.result = ''), SUM(e.result <> '')"
       " FROM event e JOIN policy p ON p.id = e.policy_id WHERE p.domain = ?1 AND e.day = ?2"
       " GROUP BY p.id ORDER BY p.id"},
      {&impl->failure_details,
       "SELECT e.policy_id, e.result, e.sending_mta_ip, e.receiving_mx_hostname, e.receiving_mx_helo, e.receiving_ip,"
       " e.failure_reason_code, e.additional_information, COUNT(*)"
       " FROM event e JOIN policy p ON p.id = e.policy_id WHERE p.domain = ?1 AND e.day = ?2 AND e.result <> ''"
       " GROUP BY e.policy_id, e.result, e.sending_mta_ip, e.receiving_mx_hostname, e.receiving_mx_helo,"
       " e.receiving_ip, e.failure_reason_code, e.additional_information"
       " ORDER BY e.policy_id, e.result, e.sending_mta_ip, e.receiving_mx_hostname, e.receiving_mx_helo,"
       " e.receiving_ip, e.failure_reason_code, e.additional_information"},
      {&impl->domains_of_day,
       "SELECT DISTINCT p.domain FROM event e JOIN policy p ON p.id = e.policy_id WHERE e.day = ?1 ORDER BY p.domain"},
      {&impl->prune_events, "DELETE FROM event WHERE time < ?1"},
      {&impl->prune_policies, "DELETE FROM policy WHERE id NOT IN (SELECT DISTINCT policy_id FROM event)"},
  };
  for (const auto& s : statements) {
    auto st = impl->prepare(s.sql);
    if (!st) return st.error();
    *s.slot = std::move(*st);
  }
  return std::unique_ptr<TlsRptStore>(new TlsRptStore(std::move(impl), path));
}

TlsRptStore::TlsRptStore(std::unique_ptr<Impl> impl, std::string path) : impl_(std::move(impl)), path_(std::move(path)) {}
TlsRptStore::~TlsRptStore() = default;

Result<void> TlsRptStore::record(const TlsRptEvent& event) {
  auto strings = policy_strings_json(event.policy.policy_string);
  if (!strings) return strings.error();
  const std::string domain = domain_key(event.policy.policy_domain);
  const std::string type = policy::tlsrpt::to_string(event.policy.type);
  const std::string mx_host = bounded(event.policy.mx_host);
  const std::string result = event.failure ? policy::tlsrpt::to_string(*event.failure) : "";

  std::lock_guard lock(mutex_);
  Impl& d = *impl_;
  if (auto ok = d.exec("BEGIN IMMEDIATE"); !ok) return ok.error();
  auto body = [&]() -> Result<void> {
    for (sqlite3_stmt* st : {d.insert_policy.get(), d.select_policy.get()}) {
      d.bind(st, 1, domain);
      d.bind(st, 2, type);
      d.bind(st, 3, mx_host);
      d.bind(st, 4, *strings);
    }
    {
      Impl::Use use{d.insert_policy.get()};
      if (sqlite3_step(use.st) != SQLITE_DONE) return d.io_error("insert policy");
    }
    std::int64_t policy_id = 0;
    {
      Impl::Use use{d.select_policy.get()};
      if (sqlite3_step(use.st) != SQLITE_ROW) return d.io_error("find policy");
      policy_id = sqlite3_column_int64(use.st, 0);
    }
    Impl::Use use{d.insert_event.get()};
    sqlite3_bind_int64(use.st, 1, event.time);
    sqlite3_bind_int64(use.st, 2, utc_day(event.time));
    sqlite3_bind_int64(use.st, 3, policy_id);
    d.bind(use.st, 4, result);
    const std::string* texts[] = {&event.sending_mta_ip,      &event.receiving_mx_hostname, &event.receiving_mx_helo,
                                  &event.receiving_ip,        &event.failure_reason_code,   &event.additional_information,
                                  &event.queue_id};
    int i = 5;
    for (const std::string* t : texts) d.bind(use.st, i++, bounded(*t));
    if (sqlite3_step(use.st) != SQLITE_DONE) return d.io_error("insert event");
    return {};
  };
  auto ok = body();
  if (!ok) {
    (void)d.exec("ROLLBACK");
    return ok.error();
  }
  return d.exec("COMMIT");
}

Result<std::vector<PolicySummary>> TlsRptStore::summarize(std::string_view policy_domain, std::int64_t day) const {
  const std::string domain = domain_key(policy_domain);
  std::lock_guard lock(mutex_);
  Impl& d = *impl_;
  // One read transaction, so the counts and the details agree even while
  // another connection writes.
  if (auto ok = d.exec("BEGIN"); !ok) return ok.error();
  struct EndRead {
    Impl& d;
    ~EndRead() { (void)d.exec("COMMIT"); }
  } end_read{d};

  std::vector<PolicySummary> out;
  std::vector<std::int64_t> ids;
  {
    Impl::Use use{d.policy_counts.get()};
    d.bind(use.st, 1, domain);
    sqlite3_bind_int64(use.st, 2, day);
    int rc;
    while ((rc = sqlite3_step(use.st)) == SQLITE_ROW) {
      PolicySummary s;
      ids.push_back(sqlite3_column_int64(use.st, 0));
      const auto type = parse_policy_type(column_text(use.st, 1));
      const auto strings = nlohmann::json::parse(column_text(use.st, 3), nullptr, false);
      if (!type || !strings.is_array())
        return make_error(Errc::io, "TLS-RPT store " + d.path + ": damaged policy row " + std::to_string(ids.back()));
      s.policy.type = *type;
      s.policy.policy_domain = domain;
      s.policy.mx_host = column_text(use.st, 2);
      for (const auto& e : strings)
        if (e.is_string()) s.policy.policy_string.push_back(e.get<std::string>());
      s.total_successful_session_count = static_cast<std::uint64_t>(sqlite3_column_int64(use.st, 4));
      s.total_failure_session_count = static_cast<std::uint64_t>(sqlite3_column_int64(use.st, 5));
      out.push_back(std::move(s));
    }
    if (rc != SQLITE_DONE) return d.io_error("summarize");
  }
  Impl::Use use{d.failure_details.get()};
  d.bind(use.st, 1, domain);
  sqlite3_bind_int64(use.st, 2, day);
  int rc;
  while ((rc = sqlite3_step(use.st)) == SQLITE_ROW) {
    const std::int64_t id = sqlite3_column_int64(use.st, 0);
    const auto at = std::find(ids.begin(), ids.end(), id);
    const auto type = policy::tlsrpt::parse_result_type(column_text(use.st, 1));
    if (at == ids.end() || !type)
      return make_error(Errc::io, "TLS-RPT store " + d.path + ": damaged event row of policy " + std::to_string(id));
    FailureDetail f;
    f.result_type = *type;
    f.sending_mta_ip = column_text(use.st, 2);
    f.receiving_mx_hostname = column_text(use.st, 3);
    f.receiving_mx_helo = column_text(use.st, 4);
    f.receiving_ip = column_text(use.st, 5);
    f.failure_reason_code = column_text(use.st, 6);
    f.additional_information = column_text(use.st, 7);
    f.failed_session_count = static_cast<std::uint64_t>(sqlite3_column_int64(use.st, 8));
    out[static_cast<std::size_t>(at - ids.begin())].failure_details.push_back(std::move(f));
  }
  if (rc != SQLITE_DONE) return d.io_error("failure details");
  return out;
}

Result<std::vector<std::string>> TlsRptStore::policy_domains(std::int64_t day) const {
  std::lock_guard lock(mutex_);
  Impl& d = *impl_;
  Impl::Use use{d.domains_of_day.get()};
  sqlite3_bind_int64(use.st, 1, day);
  std::vector<std::string> out;
  int rc;
  while ((rc = sqlite3_step(use.st)) == SQLITE_ROW) out.push_back(column_text(use.st, 0));
  if (rc != SQLITE_DONE) return d.io_error("policy domains");
  return out;
}

Result<std::uint64_t> TlsRptStore::prune(std::int64_t now, unsigned days) {
  const std::int64_t cutoff = now - static_cast<std::int64_t>(days) * kDaySeconds;
  std::lock_guard lock(mutex_);
  Impl& d = *impl_;
  if (auto ok = d.exec("BEGIN IMMEDIATE"); !ok) return ok.error();
  auto body = [&]() -> Result<std::uint64_t> {
    std::uint64_t deleted = 0;
    {
      Impl::Use use{d.prune_events.get()};
      sqlite3_bind_int64(use.st, 1, cutoff);
      if (sqlite3_step(use.st) != SQLITE_DONE) return d.io_error("prune events");
      deleted = static_cast<std::uint64_t>(sqlite3_changes64(d.db.get()));
    }
    Impl::Use use{d.prune_policies.get()};
    if (sqlite3_step(use.st) != SQLITE_DONE) return d.io_error("prune policies");
    return deleted;
  };
  auto n = body();
  if (!n) {
    (void)d.exec("ROLLBACK");
    return n.error();
  }
  if (auto ok = d.exec("COMMIT"); !ok) return ok.error();
  return n;
}

}  // namespace mxsec::reporting

#include "policy/mtasts/cache.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "core/limits.hpp"
#include "core/strings.hpp"

namespace mxsec::policy::mtasts {
namespace {

// The policy is stored as fields rather than as policy text, so reading the
// cache never runs the policy parser on bytes from disk.
const char* mode_text(Mode m) {
  switch (m) {
    case Mode::enforce: return "enforce";
    case Mode::testing: return "testing";
    case Mode::none: return "none";
  }
  return "none";
}

std::optional<Mode> parse_mode_text(std::string_view s) {
  if (s == "enforce") return Mode::enforce;
  if (s == "testing") return Mode::testing;
  if (s == "none") return Mode::none;
  return std::nullopt;
}

std::string join_mx(const std::vector<std::string>& mx) {
  std::string out;
  for (const auto& m : mx) {
    if (!out.empty()) out += '\n';
    out += m;
  }
  return out;
}

constexpr const char* kCreateSchema =
    "CREATE TABLE sts_policy ("
    " policy_domain TEXT PRIMARY KEY NOT NULL,"
    " id TEXT NOT NULL,"
    " mode TEXT NOT NULL,"
    " mx TEXT NOT NULL,"  // patterns separated by LF
    " max_age INTEGER NOT NULL,"
    " fetched_at INTEGER NOT NULL,"
    " expires_at INTEGER NOT NULL,"
    " refresh_at INTEGER NOT NULL)";

// Resets a statement when the operation using it ends, however it ends.
class StmtUse {
 public:
  explicit StmtUse(sqlite3_stmt* s) : s_(s) {}
  ~StmtUse() {
    sqlite3_reset(s_);
    sqlite3_clear_bindings(s_);
  }
  StmtUse(const StmtUse&) = delete;
  StmtUse& operator=(const StmtUse&) = delete;

 private:
  sqlite3_stmt* s_;
};

std::string column_text(sqlite3_stmt* s, int col) {
  const unsigned char* p = sqlite3_column_text(s, col);
  const int n = sqlite3_column_bytes(s, col);
  return p != nullptr ? std::string(reinterpret_cast<const char*>(p), static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

// --- MemoryPolicyStore -------------------------------------------------------

Result<std::optional<CacheEntry>> MemoryPolicyStore::load(std::string_view policy_domain) {
  std::lock_guard lock(mu_);
  auto it = entries_.find(normalize_domain(policy_domain));
  if (it == entries_.end()) return std::optional<CacheEntry>();
  return std::optional<CacheEntry>(it->second);
}

Result<void> MemoryPolicyStore::store(const CacheEntry& entry) {
  std::lock_guard lock(mu_);
  CacheEntry e = entry;
  e.policy_domain = normalize_domain(entry.policy_domain);
  entries_[e.policy_domain] = std::move(e);
  return {};
}

Result<void> MemoryPolicyStore::erase(std::string_view policy_domain) {
  std::lock_guard lock(mu_);
  entries_.erase(normalize_domain(policy_domain));
  return {};
}

std::size_t MemoryPolicyStore::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

// --- SqlitePolicyStore -------------------------------------------------------

void SqlitePolicyStore::DbDeleter::operator()(sqlite3* db) const { sqlite3_close_v2(db); }
void SqlitePolicyStore::StmtDeleter::operator()(sqlite3_stmt* s) const { sqlite3_finalize(s); }

SqlitePolicyStore::~SqlitePolicyStore() = default;

Error SqlitePolicyStore::db_error(const std::string& what) const {
  return make_error(Errc::io, "MTA-STS cache " + path_ + ": " + what + ": " +
                                  (db_ ? sqlite3_errmsg(db_.get()) : "no database handle"));
}

Result<std::unique_ptr<SqlitePolicyStore>> SqlitePolicyStore::open(const std::string& path) {
  std::unique_ptr<SqlitePolicyStore> self(new SqlitePolicyStore());
  self->path_ = path;

  // Create the file ourselves so it is born 0600 (the cache says which
  // domains this MTA talks to), and refuse a symlink in its place.
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return make_error(Errc::io, "MTA-STS cache " + path + ": open: " + std::strerror(errno));
  const int chmod_rc = ::fchmod(fd, 0600);
  const int saved_errno = errno;
  ::close(fd);
  if (chmod_rc != 0) return make_error(Errc::io, "MTA-STS cache " + path + ": fchmod: " + std::strerror(saved_errno));

  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, nullptr);
  self->db_.reset(raw);  // owned even when the open failed
  if (rc != SQLITE_OK) return self->db_error("sqlite3_open_v2");
  sqlite3* db = self->db_.get();
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, 5000);

  auto prepare = [&](const char* sql, Stmt& out) -> Result<void> {
    sqlite3_stmt* s = nullptr;
    const int prc = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    out.reset(s);
    if (prc != SQLITE_OK) return self->db_error(std::string("preparing \"") + sql + "\"");
    return {};
  };
  auto single_value = [&](const char* sql) -> Result<std::string> {
    Stmt s;
    if (auto p = prepare(sql, s); !p) return p.error();
    const int src = sqlite3_step(s.get());
    if (src != SQLITE_ROW) return self->db_error(std::string("running \"") + sql + "\"");
    return column_text(s.get(), 0);
  };

  // A file that is not a database fails here ("file is not a database"); a
  // damaged one fails the integrity check. Either way nothing is written.
  auto check = single_value("PRAGMA quick_check");
  if (!check) return check.error();
  if (*check != "ok") {
    return make_error(Errc::io, "MTA-STS cache " + path + ": integrity check failed: " + escape_for_log(*check, 200));
  }
  auto version = single_value("PRAGMA user_version");
  if (!version) return version.error();
  if (*version == "0") {
    auto tables = single_value("SELECT count(*) FROM sqlite_master");
    if (!tables) return tables.error();
    if (*tables != "0") {
      return make_error(Errc::io, "MTA-STS cache " + path + ": an SQLite database that is not an mxsec MTA-STS cache");
    }
    char* msg = nullptr;
    const std::string sql = std::string("BEGIN; ") + kCreateSchema + "; PRAGMA user_version = " +
                            std::to_string(kSchemaVersion) + "; COMMIT;";
    const int erc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
    std::unique_ptr<char, decltype(&sqlite3_free)> owned(msg, &sqlite3_free);
    if (erc != SQLITE_OK) {
      sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
      return self->db_error("creating the schema");
    }
  } else if (*version != std::to_string(kSchemaVersion)) {
    return make_error(Errc::io, "MTA-STS cache " + path + ": schema version " + escape_for_log(*version, 20) +
                                    " is not supported (expected " + std::to_string(kSchemaVersion) + ")");
  }

  if (auto p = prepare("SELECT id, mode, mx, max_age, fetched_at, expires_at, refresh_at "
                       "FROM sts_policy WHERE policy_domain = ?1",
                       self->load_);
      !p)
    return p.error();
  if (auto p = prepare("INSERT OR REPLACE INTO sts_policy "
                       "(policy_domain, id, mode, mx, max_age, fetched_at, expires_at, refresh_at) "
                       "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                       self->store_);
      !p)
    return p.error();
  if (auto p = prepare("DELETE FROM sts_policy WHERE policy_domain = ?1", self->erase_); !p) return p.error();
  return self;
}

Result<std::optional<CacheEntry>> SqlitePolicyStore::load(std::string_view policy_domain) {
  std::lock_guard lock(mu_);
  const std::string domain = normalize_domain(policy_domain);
  sqlite3_stmt* s = load_.get();
  StmtUse use(s);
  if (sqlite3_bind_text(s, 1, domain.data(), static_cast<int>(domain.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    return db_error("binding");
  const int rc = sqlite3_step(s);
  if (rc == SQLITE_DONE) return std::optional<CacheEntry>();
  if (rc != SQLITE_ROW) return db_error("loading " + domain);

  CacheEntry e;
  e.policy_domain = domain;
  e.id = column_text(s, 0);
  const auto mode = parse_mode_text(column_text(s, 1));
  const std::string mx = column_text(s, 2);
  const sqlite3_int64 max_age = sqlite3_column_int64(s, 3);
  e.fetched_at = sqlite3_column_int64(s, 4);
  e.expires_at = sqlite3_column_int64(s, 5);
  e.refresh_at = sqlite3_column_int64(s, 6);
  auto damaged = [&](const std::string& why) {
    return make_error(Errc::parse, "MTA-STS cache " + path_ + ": damaged entry for " + domain + ": " + why);
  };
  if (!mode) return damaged("unknown mode");
  if (max_age < 0 || max_age > static_cast<sqlite3_int64>(limits::kStsMaxAgeSeconds)) return damaged("max_age out of range");
  if (e.id.empty() || e.id.size() > 32) return damaged("bad id");
  e.policy.mode = *mode;
  e.policy.max_age = static_cast<std::uint32_t>(max_age);
  if (!mx.empty())
    for (std::string_view p : split(mx, '\n')) e.policy.mx.emplace_back(p);
  if (e.policy.mx.size() > static_cast<std::size_t>(limits::kStsMaxMxPatterns)) return damaged("too many mx patterns");
  return std::optional<CacheEntry>(std::move(e));
}

Result<void> SqlitePolicyStore::store(const CacheEntry& entry) {
  std::lock_guard lock(mu_);
  const std::string domain = normalize_domain(entry.policy_domain);
  const std::string mx = join_mx(entry.policy.mx);
  sqlite3_stmt* s = store_.get();
  StmtUse use(s);
  bool ok = sqlite3_bind_text(s, 1, domain.data(), static_cast<int>(domain.size()), SQLITE_TRANSIENT) == SQLITE_OK;
  ok = ok && sqlite3_bind_text(s, 2, entry.id.data(), static_cast<int>(entry.id.size()), SQLITE_TRANSIENT) == SQLITE_OK;
  ok = ok && sqlite3_bind_text(s, 3, mode_text(entry.policy.mode), -1, SQLITE_STATIC) == SQLITE_OK;
  ok = ok && sqlite3_bind_text(s, 4, mx.data(), static_cast<int>(mx.size()), SQLITE_TRANSIENT) == SQLITE_OK;
  ok = ok && sqlite3_bind_int64(s, 5, entry.policy.max_age) == SQLITE_OK;
  ok = ok && sqlite3_bind_int64(s, 6, entry.fetched_at) == SQLITE_OK;
  ok = ok && sqlite3_bind_int64(s, 7, entry.expires_at) == SQLITE_OK;
  ok = ok && sqlite3_bind_int64(s, 8, entry.refresh_at) == SQLITE_OK;
  if (!ok) return db_error("binding");
  if (sqlite3_step(s) != SQLITE_DONE) return db_error("storing " + domain);
  return {};
}

Result<void> SqlitePolicyStore::erase(std::string_view policy_domain) {
  std::lock_guard lock(mu_);
  const std::string domain = normalize_domain(policy_domain);
  sqlite3_stmt* s = erase_.get();
  StmtUse use(s);
  if (sqlite3_bind_text(s, 1, domain.data(), static_cast<int>(domain.size()), SQLITE_TRANSIENT) != SQLITE_OK)
    return db_error("binding");
  if (sqlite3_step(s) != SQLITE_DONE) return db_error("erasing " + domain);
  return {};
}

}  // namespace mxsec::policy::mtasts

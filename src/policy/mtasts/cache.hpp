// policy/mtasts/cache.hpp: the sender's MTA-STS policy cache (RFC 8461 §3.2,
// §3.3, §5.1).
//
// Contract
// - A CacheEntry is one policy domain's last successfully fetched policy with
//   the id of the _mta-sts record it came with and three instants (Unix
//   seconds): fetched_at, expires_at = fetched_at + max_age ("Well-behaved
//   clients SHOULD cache a policy for up to this value from the last policy
//   fetch time", §3.2) and refresh_at, the (randomised) time the source
//   refetches it proactively (§3.3: "MTAs SHOULD proactively refresh cached
//   policies before they expire").
// - PolicyStore keeps at most one entry per policy domain (lower case, no
//   trailing dot). It stores what it is given; deciding whether an entry is
//   still usable is the PolicySource's job. All methods are thread-safe.
// - load() returns nullopt when there is no entry, an Error when the store
//   cannot be read (or a row is damaged: Errc::parse). store() replaces.
// - SqlitePolicyStore keeps the entries in one SQLite table (schema version in
//   PRAGMA user_version), in a file created with mode 0600. open() fails with
//   a clear error when the file is not a database, is damaged, or carries an
//   unknown schema version; nothing is overwritten in that case.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "policy/mtasts/policy.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace mxsec::policy::mtasts {

struct CacheEntry {
  std::string policy_domain;
  std::string id;  // id= of the _mta-sts record the policy was fetched for
  Policy policy;
  std::int64_t fetched_at = 0;
  std::int64_t expires_at = 0;  // fetched_at + max_age
  std::int64_t refresh_at = 0;  // fetched_at <= refresh_at <= expires_at
  friend bool operator==(const CacheEntry&, const CacheEntry&) = default;
};

class PolicyStore {
 public:
  virtual ~PolicyStore() = default;
  virtual Result<std::optional<CacheEntry>> load(std::string_view policy_domain) = 0;
  virtual Result<void> store(const CacheEntry& entry) = 0;
  virtual Result<void> erase(std::string_view policy_domain) = 0;
};

class MemoryPolicyStore final : public PolicyStore {
 public:
  Result<std::optional<CacheEntry>> load(std::string_view policy_domain) override;
  Result<void> store(const CacheEntry& entry) override;
  Result<void> erase(std::string_view policy_domain) override;
  std::size_t size() const;

 private:
  mutable std::mutex mu_;
  std::map<std::string, CacheEntry, std::less<>> entries_;
};

class SqlitePolicyStore final : public PolicyStore {
 public:
  static constexpr int kSchemaVersion = 1;

  // Opens or creates the cache file at `path` (created with mode 0600).
  static Result<std::unique_ptr<SqlitePolicyStore>> open(const std::string& path);
  ~SqlitePolicyStore() override;

  Result<std::optional<CacheEntry>> load(std::string_view policy_domain) override;
  Result<void> store(const CacheEntry& entry) override;
  Result<void> erase(std::string_view policy_domain) override;

 private:
  struct DbDeleter {
    void operator()(sqlite3* db) const;
  };
  struct StmtDeleter {
    void operator()(sqlite3_stmt* s) const;
  };
  using Db = std::unique_ptr<sqlite3, DbDeleter>;
  using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

  SqlitePolicyStore() = default;
  Error db_error(const std::string& what) const;

  std::string path_;
  std::mutex mu_;
  // Statements are declared after the handle so they are finalized first.
  Db db_;
  Stmt load_;
  Stmt store_;
  Stmt erase_;
};

}  // namespace mxsec::policy::mtasts

// policy/mtasts/cache: MemoryPolicyStore and SqlitePolicyStore round trips,
// persistence across reopening, the 0600 file mode, and refusal of files
// that are not (or no longer) an mxsec MTA-STS cache.
#include "policy/mtasts/cache.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

namespace mxsec::policy::mtasts {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mxsec-mtasts-cache-XXXXXX";
    if (mkdtemp(tmpl) != nullptr) path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) fs::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
};

std::vector<CacheEntry> sample_entries() {
  CacheEntry enforce{"example.test", "20240101T000000", {Mode::enforce, {"mail.example.test", "*.mx.example.test"}, 604800},
                     1000, 1000 + 604800, 1000 + 500000};
  CacheEntry testing{"testing.example", "a1", {Mode::testing, {"mx.testing.example"}, 86400}, 5, 86405, 70000};
  CacheEntry none{"gone.example", "z", {Mode::none, {}, 86400}, 7, 86407, 80000};
  CacheEntry zero{"zero.example", "0", {Mode::enforce, {"mx.zero.example"}, 0}, 9, 9, 9};
  CacheEntry many{"many.example", std::string(32, 'A'), {Mode::enforce, {}, 31557600}, 1, 31557601, 30000000};
  for (int i = 0; i < 64; ++i) many.policy.mx.push_back("mx" + std::to_string(i) + ".many.example");
  return {enforce, testing, none, zero, many};
}

void round_trip(PolicyStore& store) {
  for (const CacheEntry& e : sample_entries()) {
    ASSERT_TRUE(store.store(e)) << e.policy_domain;
    auto loaded = store.load(e.policy_domain);
    ASSERT_TRUE(loaded) << loaded.error().message;
    ASSERT_TRUE(loaded->has_value()) << e.policy_domain;
    EXPECT_EQ(**loaded, e) << e.policy_domain;
  }
  // Keys are normalized: case and a trailing dot do not matter.
  auto upper = store.load("EXAMPLE.test.");
  ASSERT_TRUE(upper);
  ASSERT_TRUE(upper->has_value());
  EXPECT_EQ((*upper)->id, "20240101T000000");
  // Missing is nullopt, not an error.
  auto missing = store.load("absent.example");
  ASSERT_TRUE(missing);
  EXPECT_FALSE(missing->has_value());
  // store() replaces.
  CacheEntry replaced = sample_entries()[0];
  replaced.id = "new";
  replaced.policy.mode = Mode::none;
  replaced.policy.mx.clear();
  ASSERT_TRUE(store.store(replaced));
  auto again = store.load("example.test");
  ASSERT_TRUE(again && again->has_value());
  EXPECT_EQ(**again, replaced);
  // erase() removes only that domain.
  ASSERT_TRUE(store.erase("Example.Test"));
  auto erased = store.load("example.test");
  ASSERT_TRUE(erased);
  EXPECT_FALSE(erased->has_value());
  auto other = store.load("testing.example");
  ASSERT_TRUE(other && other->has_value());
  ASSERT_TRUE(store.erase("never.stored"));
}

TEST(MemoryPolicyStore, RoundTrip) {
  MemoryPolicyStore store;
  round_trip(store);
  EXPECT_EQ(store.size(), 4u);
}

TEST(SqlitePolicyStore, RoundTrip) {
  TempDir dir;
  auto store = SqlitePolicyStore::open(dir.file("sts.db"));
  ASSERT_TRUE(store) << store.error().message;
  round_trip(**store);
}

TEST(SqlitePolicyStore, SurvivesReopening) {
  TempDir dir;
  const std::string path = dir.file("sts.db");
  {
    auto store = SqlitePolicyStore::open(path);
    ASSERT_TRUE(store) << store.error().message;
    for (const CacheEntry& e : sample_entries()) ASSERT_TRUE((*store)->store(e));
    ASSERT_TRUE((*store)->erase("gone.example"));
  }
  auto store = SqlitePolicyStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  for (const CacheEntry& e : sample_entries()) {
    auto loaded = (*store)->load(e.policy_domain);
    ASSERT_TRUE(loaded) << loaded.error().message;
    if (e.policy_domain == "gone.example") {
      EXPECT_FALSE(loaded->has_value());
    } else {
      ASSERT_TRUE(loaded->has_value()) << e.policy_domain;
      EXPECT_EQ(**loaded, e);
    }
  }
}

TEST(SqlitePolicyStore, FileIsCreatedWithMode0600EvenUnderAPermissiveUmask) {
  TempDir dir;
  const std::string path = dir.file("sts.db");
  const mode_t old = umask(0);
  auto store = SqlitePolicyStore::open(path);
  umask(old);
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_TRUE((*store)->store(sample_entries()[0]));
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(SqlitePolicyStore, TightensAnExistingFile) {
  TempDir dir;
  const std::string path = dir.file("sts.db");
  std::ofstream(path).close();
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  auto store = SqlitePolicyStore::open(path);
  ASSERT_TRUE(store) << store.error().message;
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Runs SQL on a database file directly, to build hostile files.
void exec_sql(const std::string& path, const std::string& sql) {
  sqlite3* raw = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &raw), SQLITE_OK);
  std::unique_ptr<sqlite3, decltype(&sqlite3_close)> db(raw, &sqlite3_close);
  ASSERT_EQ(sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK) << sqlite3_errmsg(db.get());
}

struct BadFileCase {
  const char* name;
  std::string content;  // raw bytes written to the file ("" = built with SQL)
  std::string sql;
  const char* want_in_message;
};

TEST(SqlitePolicyStore, RefusesFilesThatAreNotItsCache) {
  std::string garbage(8192, '\0');
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<char>((i * 131 + 7) & 0xff);
  const BadFileCase cases[] = {
      {"garbage", garbage, "", "not a database"},
      {"text", "policy_domain,id\nexample.test,1\n" + std::string(4096, 'x'), "", "not a database"},
      {"foreign database", "", "CREATE TABLE t(x); INSERT INTO t VALUES (1);", "not an mxsec MTA-STS cache"},
      {"future schema", "", "PRAGMA user_version = 7;", "schema version 7"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    const std::string path = dir.file("sts.db");
    if (!c.sql.empty()) {
      exec_sql(path, c.sql);
    } else {
      std::ofstream(path, std::ios::binary) << c.content;
    }
    std::string before;
    {
      std::ifstream in(path, std::ios::binary);
      before.assign(std::istreambuf_iterator<char>(in), {});
    }
    auto store = SqlitePolicyStore::open(path);
    ASSERT_FALSE(store) << c.name;
    EXPECT_EQ(store.error().code, Errc::io) << c.name;
    EXPECT_NE(store.error().message.find(c.want_in_message), std::string::npos) << c.name << ": " << store.error().message;
    EXPECT_NE(store.error().message.find(path), std::string::npos) << c.name;
    // Nothing was overwritten.
    std::ifstream in(path, std::ios::binary);
    const std::string after(std::istreambuf_iterator<char>(in), {});
    EXPECT_EQ(after, before) << c.name;
  }
}

TEST(SqlitePolicyStore, TruncatedDatabaseIsAnErrorAtOpen) {
  TempDir dir;
  const std::string path = dir.file("sts.db");
  {
    auto store = SqlitePolicyStore::open(path);
    ASSERT_TRUE(store);
    for (int i = 0; i < 200; ++i) {
      CacheEntry e = sample_entries()[4];
      e.policy_domain = "d" + std::to_string(i) + ".example";
      ASSERT_TRUE((*store)->store(e));
    }
  }
  // Keep the header page, damage everything after it.
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  ASSERT_GT(bytes.size(), 8192u);
  for (std::size_t i = 4096; i < bytes.size(); ++i) bytes[i] = static_cast<char>(0xA5);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
  auto store = SqlitePolicyStore::open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Errc::io);
}

TEST(SqlitePolicyStore, DamagedRowIsAParseErrorNotAPolicy) {
  struct RowCase {
    const char* name;
    const char* sql;
  };
  const RowCase cases[] = {
      {"unknown mode", "UPDATE sts_policy SET mode = 'enforce-ish'"},
      {"negative max_age", "UPDATE sts_policy SET max_age = -1"},
      {"max_age over the RFC limit", "UPDATE sts_policy SET max_age = 31557601"},
      {"empty id", "UPDATE sts_policy SET id = ''"},
  };
  for (const auto& c : cases) {
    TempDir dir;
    const std::string path = dir.file("sts.db");
    {
      auto store = SqlitePolicyStore::open(path);
      ASSERT_TRUE(store);
      ASSERT_TRUE((*store)->store(sample_entries()[0]));
    }
    exec_sql(path, c.sql);
    auto store = SqlitePolicyStore::open(path);
    ASSERT_TRUE(store) << c.name;
    auto loaded = (*store)->load("example.test");
    ASSERT_FALSE(loaded) << c.name;
    EXPECT_EQ(loaded.error().code, Errc::parse) << c.name;
    EXPECT_NE(loaded.error().message.find("example.test"), std::string::npos) << c.name;
  }
}

TEST(SqlitePolicyStore, RefusesASymlink) {
  TempDir dir;
  const std::string target = dir.file("elsewhere.db");
  const std::string link = dir.file("sts.db");
  ASSERT_EQ(symlink(target.c_str(), link.c_str()), 0);
  auto store = SqlitePolicyStore::open(link);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Errc::io);
  EXPECT_FALSE(fs::exists(target));
}

TEST(SqlitePolicyStore, MissingDirectoryIsAnError) {
  auto store = SqlitePolicyStore::open("/nonexistent-mxsec-dir/sts.db");
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Errc::io);
  EXPECT_NE(store.error().message.find("/nonexistent-mxsec-dir/sts.db"), std::string::npos);
}

}  // namespace
}  // namespace mxsec::policy::mtasts

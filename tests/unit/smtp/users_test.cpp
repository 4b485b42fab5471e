// Tests for smtp/server/users.cpp: the users file of SMTP AUTH (parsing,
// password checks with yescrypt and SHA-512-crypt, hashing, atomic updates).
#include "smtp/server/users.hpp"

#include <crypt.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

namespace mxsec::smtp {
namespace {

// Hashes made here with libcrypt; yescrypt at the lowest cost to keep the
// tests quick (the cost is part of the hash, so verify() follows it).
// (Also run before main() for the constants below, so no gtest assertion.)
std::string make_hash(const char* prefix, unsigned long count, const std::string& password) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  auto data = std::make_unique<crypt_data>();
  const char* out = nullptr;
  if (crypt_gensalt_rn(prefix, count, nullptr, 0, setting, sizeof setting) != nullptr)
    out = crypt_rn(password.c_str(), setting, data.get(), sizeof *data);
  if (out == nullptr) std::abort();  // libcrypt without this scheme: the test cannot run
  return out;
}

const std::string kYes = make_hash("$y$", 1, "open sesame");
const std::string kSha = make_hash("$6$", 0, "hunter2");
// `openssl passwd -6 -salt mxsecTestSalt01 'correct horse'` (OpenSSL 3.0),
// an implementation of SHA-512-crypt independent of libcrypt.
const std::string kShaFixed =
    "$6$mxsecTestSalt01$wDbGK7Nun5S8ClP0uIdmuem7xvEtKp2JEjrRrNl8KXO5OosAEYT7KjkMmK9rdSgB0DVs4vffzpWYk6mcyaPNh0";

class TempDir {
 public:
  TempDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/mxsec-users-XXXXXX";
    path_ = ::mkdtemp(tmpl.data()) ? tmpl : "";
    EXPECT_FALSE(path_.empty());
  }
  ~TempDir() {
    for (const auto& name : entries()) ::unlink((path_ + "/" + name).c_str());
    ::rmdir(path_.c_str());
  }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  std::vector<std::string> entries() const {
    std::vector<std::string> out;
    if (DIR* d = ::opendir(path_.c_str())) {
      while (const dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n != "." && n != "..") out.push_back(n);
      }
      ::closedir(d);
    }
    return out;
  }

 private:
  std::string path_;
};

void write(const std::string& path, const std::string& text, mode_t mode = 0600) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  ::chmod(path.c_str(), mode);
}

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

mode_t mode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0);
  return st.st_mode & 07777;
}

TEST(UsersFile, Parse) {
  struct Case {
    std::string name;
    std::string text;
    std::size_t users;  // when no error
    std::string error;  // substring of the message; "" = loads
  };
  const std::string yes_trunc = kYes.substr(0, kYes.size() - 1);
  const std::vector<Case> cases = {
      {"one_yescrypt", "alice:" + kYes + "\n", 1, ""},
      {"no_final_newline", "alice:" + kYes, 1, ""},
      {"comments_blank_crlf", "# users\n\n  \t\nalice:" + kYes + "\r\n#bob:x\nbob:" + kSha + "\n", 2, ""},
      {"fixed_sha512", "carol:" + kShaFixed + "\n", 1, ""},
      {"sha512_rounds", "dave:" + make_hash("$6$", 6000, "pw") + "\n", 1, ""},
      {"name_with_inner_space_and_at", "mary ann@example.org:" + kYes + "\n", 1, ""},
      {"utf8_name", "j\xc3\xb6rg:" + kYes + "\n", 1, ""},
      {"empty_file", "", 0, ""},
      {"only_comments", "# nobody yet\n", 0, ""},
      {"missing_colon", "# c\nalice\n", 0, "users:2: expected user:hash"},
      {"empty_user", ":" + kYes + "\n", 0, "users:1: empty user name"},
      {"control_in_user", "al\x01ice:" + kYes + "\n", 0, "users:1: user 'al\\x01ice': control character"},
      {"leading_space_user", " alice:" + kYes + "\n", 0, "may not begin or end with a space"},
      {"long_user", std::string(256, 'u') + ":" + kYes + "\n", 0, "users:1: user name longer than 255 octets"},
      {"max_user", std::string(255, 'u') + ":" + kYes + "\n", 1, ""},
      {"empty_hash", "alice:\n", 0, "users:1: user 'alice': empty password hash"},
      {"md5", "alice:" + make_hash("$1$", 0, "pw") + "\n", 0,
       "users:1: user 'alice': MD5-crypt ($1$) hash refused as weak; use yescrypt ($y$) or SHA-512-crypt ($6$)"},
      {"des", "\nalice:abJnggxhB/yWI\n", 0, "users:2: user 'alice': DES-crypt hash refused as weak"},
      {"bsdi", "alice:" + make_hash("_", 0, "pw") + "\n", 0, "BSDi DES-crypt (_) hash refused as weak"},
      {"sha256", "alice:" + make_hash("$5$", 0, "pw") + "\n", 0, "SHA-256-crypt ($5$) hash refused;"},
      {"bcrypt", "alice:" + make_hash("$2b$", 4, "pw") + "\n", 0, "bcrypt ($2b$) hash refused;"},
      {"unknown_scheme", "alice:$9$abc$def\n", 0, "not a crypt(3) hash of a known scheme"},
      {"plaintext", "alice:secret\n", 0, "not a crypt(3) hash of a known scheme"},
      {"locked", "alice:!" + kYes + "\n", 0, "locked or disabled entry"},
      {"truncated", "alice:" + yes_trunc + "\n", 0, "yescrypt ($y$) hash is incomplete or damaged"},
      {"space_in_hash", "alice:" + kYes + " \n", 0, "hash holds a character crypt(3) never writes"},
      {"duplicate", "alice:" + kYes + "\n# x\nalice:" + kSha + "\n", 0,
       "users:3: user 'alice' already defined on line 1"},
      {"case_differs_is_not_duplicate", "alice:" + kYes + "\nAlice:" + kSha + "\n", 2, ""},
  };
  for (const auto& c : cases) {
    auto db = UserDb::parse(c.text, "users");
    if (c.error.empty()) {
      ASSERT_TRUE(db) << c.name << ": " << db.error().message;
      EXPECT_EQ(db->size(), c.users) << c.name;
    } else {
      ASSERT_FALSE(db) << c.name;
      EXPECT_EQ(db.error().code, Errc::parse) << c.name;
      EXPECT_NE(db.error().message.find(c.error), std::string::npos) << c.name << ": " << db.error().message;
    }
  }
}

TEST(UsersFile, Verify) {
  auto db = UserDb::parse("alice:" + kYes + "\nbob:" + kSha + "\ncarol:" + kShaFixed + "\n", "users");
  ASSERT_TRUE(db) << db.error().message;
  struct Case {
    std::string user;
    std::string password;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"alice", "open sesame", true},
      {"alice", "open sesame ", false},
      {"alice", "Open sesame", false},
      {"alice", "hunter2", false},
      {"bob", "hunter2", true},
      {"bob", "hunter", false},
      {"carol", "correct horse", true},
      {"carol", "correct horse battery", false},
      {"Alice", "open sesame", false},  // names are compared octet for octet
      {"mallory", "open sesame", false},
      {"", "open sesame", false},
      {"alice", "", false},
      {"bob", std::string("hunter2\0x", 9), false},  // NUL would cut the C string
      {"alice", std::string(512, 'a'), false},
  };
  for (const auto& c : cases) EXPECT_EQ(db->verify(c.user, c.password), c.ok) << c.user << " / " << c.password;
}

TEST(UsersFile, VerifyWithoutUsers) {
  auto db = UserDb::parse("# empty\n", "users");
  ASSERT_TRUE(db);
  EXPECT_FALSE(db->verify("alice", "open sesame"));
}

TEST(UsersFile, HashPassword) {
  auto h1 = UserDb::hash_password("s3cret pass");
  auto h2 = UserDb::hash_password("s3cret pass");
  ASSERT_TRUE(h1) << h1.error().message;
  ASSERT_TRUE(h2) << h2.error().message;
  EXPECT_EQ(h1->substr(0, 3), "$y$");
  EXPECT_NE(*h1, *h2);  // fresh salt each time
  EXPECT_TRUE(check_password_hash(*h1));
  auto db = UserDb::parse("alice:" + *h1 + "\n", "users");
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_TRUE(db->verify("alice", "s3cret pass"));
  EXPECT_FALSE(db->verify("alice", "s3cret pas"));

  auto longest = UserDb::hash_password(std::string(511, 'p'));
  ASSERT_TRUE(longest) << longest.error().message;

  struct Bad {
    std::string name;
    std::string password;
    Errc code;
  };
  const std::vector<Bad> bad = {
      {"empty", "", Errc::invalid_argument},
      {"nul", std::string("a\0b", 3), Errc::invalid_argument},
      {"too_long", std::string(512, 'p'), Errc::limit},
  };
  for (const auto& b : bad) {
    auto h = UserDb::hash_password(b.password);
    ASSERT_FALSE(h) << b.name;
    EXPECT_EQ(h.error().code, b.code) << b.name;
  }
}

TEST(UsersFile, Load) {
  TempDir dir;
  const std::string path = dir.file("users");
  write(path, "alice:" + kYes + "\n", 0600);
  auto db = UserDb::load(path);
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_FALSE(db->world_readable());
  EXPECT_TRUE(db->verify("alice", "open sesame"));

  ::chmod(path.c_str(), 0644);
  db = UserDb::load(path);
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_TRUE(db->world_readable());

  write(path, "# ok\nalice:$1$abc$def\n");
  db = UserDb::load(path);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::parse);
  EXPECT_EQ(db.error().message.rfind(path + ":2: user 'alice': MD5-crypt", 0), 0u) << db.error().message;

  write(path, std::string(1024 * 1024 + 1, '#'));
  db = UserDb::load(path);
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::limit);

  db = UserDb::load(dir.file("missing"));
  ASSERT_FALSE(db);
  EXPECT_EQ(db.error().code, Errc::io);
}

TEST(UsersFile, SetUser) {
  TempDir dir;
  const std::string path = dir.file("users");

  auto change = UserDb::set_user(path, "alice", kYes);
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_EQ(*change, UserChange::added);
  EXPECT_EQ(read(path), "alice:" + kYes + "\n");
  EXPECT_EQ(mode_of(path), 0600u);

  // Comments, blank lines and other users stay as they were.
  write(path, "# mail users\nalice:" + kYes + "\n\nbob:" + kSha, 0644);
  change = UserDb::set_user(path, "alice", kShaFixed);
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_EQ(*change, UserChange::replaced);
  EXPECT_EQ(read(path), "# mail users\nalice:" + kShaFixed + "\n\nbob:" + kSha + "\n");
  EXPECT_EQ(mode_of(path), 0640u);  // the bits for others are dropped

  change = UserDb::set_user(path, "carol", kYes);
  ASSERT_TRUE(change) << change.error().message;
  EXPECT_EQ(*change, UserChange::added);
  auto db = UserDb::load(path);
  ASSERT_TRUE(db) << db.error().message;
  EXPECT_EQ(db->size(), 3u);
  EXPECT_TRUE(db->verify("alice", "correct horse"));
  EXPECT_TRUE(db->verify("bob", "hunter2"));
  EXPECT_TRUE(db->verify("carol", "open sesame"));
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"users"});  // no temporary file left
}

TEST(UsersFile, SetUserRefusals) {
  TempDir dir;
  const std::string path = dir.file("users");
  const std::string broken = "alice:" + kYes + "\nbob:$1$abc$def\n";
  write(path, broken);

  struct Case {
    std::string name;
    std::string path;
    std::string user;
    std::string hash;
    Errc code;
    std::string error;
  };
  ::symlink(path.c_str(), dir.file("link").c_str());
  const std::vector<Case> cases = {
      {"invalid_existing_file", path, "carol", kYes, Errc::parse, ":2: user 'bob': MD5-crypt"},
      {"bad_user", dir.file("new"), "a:b", kYes, Errc::invalid_argument, "':' in user name"},
      {"comment_user", dir.file("new"), "#root", kYes, Errc::invalid_argument, "may not begin with '#'"},
      {"weak_hash", dir.file("new"), "carol", "$1$abc$def", Errc::invalid_argument, "MD5-crypt"},
      {"symlink", dir.file("link"), "carol", kYes, Errc::io, "is a symbolic link"},
      {"no_directory", dir.file("nodir/users"), "carol", kYes, Errc::io, "cannot open directory"},
  };
  for (const auto& c : cases) {
    auto change = UserDb::set_user(c.path, c.user, c.hash);
    ASSERT_FALSE(change) << c.name;
    EXPECT_EQ(change.error().code, c.code) << c.name;
    EXPECT_NE(change.error().message.find(c.error), std::string::npos) << c.name << ": " << change.error().message;
  }
  EXPECT_EQ(read(path), broken);  // untouched
  auto entries = dir.entries();
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{"link", "users"}));
}

TEST(UsersFile, CheckUserName) {
  EXPECT_TRUE(check_user_name("alice@example.org"));
  EXPECT_TRUE(check_user_name(std::string(255, 'x')));
  for (std::string bad : {std::string(""), std::string(256, 'x'), std::string("a\tb"), std::string("a\x7f"),
                          std::string("a:b"), std::string("#a"), std::string("a "), std::string("a\0b", 3)}) {
    auto r = check_user_name(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
  }
}

}  // namespace
}  // namespace mxsec::smtp

// Tests for the relay host's credentials in config/server_config.hpp
// ([outbound] relayhost_username, relayhost_password_file): the password
// file read with the configuration and refused when others may read it,
// both-or-neither, only with a relay host, `config show` printing the user
// name and the file but never the password, and the round trip.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "config/server_config.hpp"

namespace mxsec::config {
namespace {

namespace fs = std::filesystem;

class RelayCredentials : public ::testing::Test {
 protected:
  RelayCredentials() {
    dir_ = fs::temp_directory_path() / ("mxsec-config-relay-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  ~RelayCredentials() override { fs::remove_all(dir_); }

  // A file under the test directory with `bytes` and `mode`.
  std::string file(const std::string& name, const std::string& bytes, mode_t mode = 0600) {
    const std::string p = (dir_ / name).string();
    std::ofstream(p, std::ios::binary) << bytes;
    EXPECT_EQ(::chmod(p.c_str(), mode), 0);
    return p;
  }

  static std::string outbound(const std::string& lines) {
    return "[outbound]\nrelayhost = \"[relay.example]:587\"\n" + lines;
  }
  static std::string credentials(const std::string& path, const std::string& user = "mx-out") {
    return outbound("relayhost_username = \"" + user + "\"\nrelayhost_password_file = \"" + path + "\"\n");
  }

  // The first problem of `text`; "" when it parses.
  static std::string problem(const std::string& text) {
    auto c = parse_config(text, "mxsec.toml");
    return c ? std::string() : c.error().message;
  }

  fs::path dir_;
};

TEST_F(RelayCredentials, DefaultsAreNone) {
  const ServerConfig c = default_config();
  EXPECT_EQ(c.outbound.relayhost_username, "");
  EXPECT_EQ(c.outbound.relayhost_password_file, "");
  EXPECT_FALSE(c.outbound.relayhost_password);
  EXPECT_NE(render_config(c).find("relayhost = \"\"\nrelayhost_username = \"\"\nrelayhost_password_file = \"\"\n"),
            std::string::npos);
  // Written empty, they are still none.
  auto e = parse_config(outbound("relayhost_username = \"\"\nrelayhost_password_file = \"\"\n"), "mxsec.toml");
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_FALSE(e->outbound.relayhost_password);
}

TEST_F(RelayCredentials, ThePasswordIsTheFilesOneLine) {
  for (const char* content : {"s3cret pw\n", "s3cret pw\r\n", "s3cret pw"}) {
    const std::string path = file("pw", content);
    auto c = parse_config(credentials(path), "mxsec.toml");
    ASSERT_TRUE(c) << c.error().message;
    EXPECT_EQ(c->outbound.relayhost_username, "mx-out");
    EXPECT_EQ(c->outbound.relayhost_password_file, path);
    ASSERT_TRUE(c->outbound.relayhost_password);
    EXPECT_EQ(c->outbound.relayhost_password->text, "s3cret pw");
    // `config show` names the file, never the password; it reads back.
    const std::string shown = render_config(*c);
    EXPECT_NE(shown.find("relayhost_username = \"mx-out\"\nrelayhost_password_file = \"" + path + "\"\n"),
              std::string::npos)
        << shown;
    EXPECT_EQ(shown.find("s3cret"), std::string::npos) << shown;
    auto again = parse_config(shown, "mxsec.toml");
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(render_config(*again), shown);
    EXPECT_EQ(again->outbound.relayhost_password->text, "s3cret pw");
  }
  // A UTF-8 user name of 255 octets is allowed (RFC 4616 §2).
  const std::string pw = file("pw", "x\n");
  std::string long_name;
  for (int i = 0; i < 85; ++i) long_name += "\xc3\xa9x";
  long_name = long_name.substr(0, 255);
  EXPECT_EQ(problem(credentials(pw, long_name)), "");
}

TEST_F(RelayCredentials, BadValuesAreRefusedWithTheirLineAndFile) {
  const std::string ok = file("ok", "pw\n");
  const std::string group = file("group", "pw\n", 0640);
  const std::string world = file("world", "pw\n", 0604);
  const std::string empty = file("empty", "\n");
  const std::string two = file("two", "s3cret\nsecond\n");
  const std::string nul = file("nul", std::string("s3c\0ret\n", 8));
  const std::string long_pw = file("long", std::string(512, 'p') + "\n");
  const std::string huge = file("huge", std::string(5000, 'p'));
  const std::string missing = (dir_ / "missing").string();
  const std::string directory = (dir_ / "sub").string();
  fs::create_directories(directory);
  const std::string named = "relay host password file '";
  struct Case {
    std::string text;
    std::string message;
  };
  const std::vector<Case> cases = {
      {outbound("relayhost_username = \"mx-out\"\n"),
       "mxsec.toml:3: outbound.relayhost_password_file: missing (outbound.relayhost_username is set; give both or "
       "neither)"},
      {outbound("relayhost_password_file = \"" + ok + "\"\n"),
       "mxsec.toml:3: outbound.relayhost_username: missing (outbound.relayhost_password_file is set; give both or "
       "neither)"},
      {"[outbound]\nrelayhost_username = \"mx-out\"\nrelayhost_password_file = \"" + ok + "\"\n",
       "mxsec.toml:2: outbound.relayhost_username: needs outbound.relayhost (credentials are sent only to a relay "
       "host)"},
      {credentials(group),
       "mxsec.toml:4: outbound.relayhost_password_file: " + named + group +
           "' is readable by its group or by others (mode 0640); make it readable by its owner only (chmod 600)"},
      {credentials(world),
       "mxsec.toml:4: outbound.relayhost_password_file: " + named + world +
           "' is readable by its group or by others (mode 0604); make it readable by its owner only (chmod 600)"},
      {credentials(missing),
       "mxsec.toml:4: outbound.relayhost_password_file: " + named + missing + "': open: No such file or directory"},
      {credentials(directory),
       "mxsec.toml:4: outbound.relayhost_password_file: " + named + directory + "' is not a regular file"},
      {credentials(empty), "mxsec.toml:4: outbound.relayhost_password_file: " + named + empty + "' is empty"},
      {credentials(two), "mxsec.toml:4: outbound.relayhost_password_file: " + named + two +
                             "' holds more than one line (or a NUL): the password is its one line"},
      {credentials(nul), "mxsec.toml:4: outbound.relayhost_password_file: " + named + nul +
                             "' holds more than one line (or a NUL): the password is its one line"},
      {credentials(long_pw), "mxsec.toml:4: outbound.relayhost_password_file: " + named + long_pw +
                                 "': the password is longer than 511 octets"},
      {credentials(ok, "mx\tout"),
       "mxsec.toml:3: outbound.relayhost_username: must be 1 to 255 octets without control characters"},
      {credentials(ok, std::string(256, 'u')),
       "mxsec.toml:3: outbound.relayhost_username: must be 1 to 255 octets without control characters"},
      {outbound("relayhost_username = 7\nrelayhost_password_file = \"" + ok + "\"\n"),
       "mxsec.toml:3: outbound.relayhost_username: must be a string, got integer"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_config(c.text, "mxsec.toml");
    ASSERT_FALSE(parsed) << c.text;
    EXPECT_EQ(parsed.error().code, Errc::parse);
    EXPECT_EQ(parsed.error().message, c.message);
    EXPECT_EQ(parsed.error().message.find("s3c"), std::string::npos) << parsed.error().message;
  }
  // Over the file limit: the file is named, the content is not read past it.
  const std::string too_big = problem(credentials(huge));
  EXPECT_EQ(too_big.rfind("mxsec.toml:4: outbound.relayhost_password_file: " + named + huge + "'", 0), 0u)
      << too_big;
  EXPECT_EQ(too_big.find("ppp"), std::string::npos) << too_big;
}

}  // namespace
}  // namespace mxsec::config

namespace mxsec::config {
namespace {

// [outbound] downgrade_8bit: "convert" (default) or "bounce", printed by
// `config show` and read back; anything else is refused.
TEST(Downgrade8bit, ConvertBounceAndNothingElse) {
  const ServerConfig d = default_config();
  EXPECT_FALSE(d.outbound.downgrade_8bit_bounce);
  EXPECT_NE(render_config(d).find("downgrade_8bit = \"convert\"\n"), std::string::npos);
  auto bounce = parse_config("[outbound]\ndowngrade_8bit = \"bounce\"\n", "mxsec.toml");
  ASSERT_TRUE(bounce) << bounce.error().message;
  EXPECT_TRUE(bounce->outbound.downgrade_8bit_bounce);
  const std::string shown = render_config(*bounce);
  EXPECT_NE(shown.find("downgrade_8bit = \"bounce\"\n"), std::string::npos);
  auto again = parse_config(shown, "shown.toml");
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->outbound.downgrade_8bit_bounce);
  auto wrong = parse_config("[outbound]\ndowngrade_8bit = \"strip\"\n", "mxsec.toml");
  ASSERT_FALSE(wrong);
  EXPECT_NE(wrong.error().message.find("downgrade_8bit"), std::string::npos) << wrong.error().message;
}

}  // namespace
}  // namespace mxsec::config

// Key generation, private-key files and TXT record output.
#include "auth/dkim/keygen.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "dkim_test_util.hpp"

namespace mxsec::auth::dkim {
namespace {

using testing::add_key;
using testing::sign_bytes;
using testing::signer_config;
using testing::verify_bytes;

struct GenCase {
  std::string name;
  KeyType type;
  int bits;
};

class KeyGen : public ::testing::TestWithParam<GenCase> {};

TEST_P(KeyGen, GeneratedKeySignsAndVerifies) {
  const auto& c = GetParam();
  auto key = generate_key(c.type, c.bits);
  ASSERT_TRUE(key) << key.error().message;
  EXPECT_EQ(key->bits, c.type == KeyType::rsa ? c.bits : 256);
  EXPECT_EQ(key->private_pem.rfind("-----BEGIN PRIVATE KEY-----", 0), 0u);
  const std::string record = key_record_text(c.type, key->public_b64);
  EXPECT_EQ(record, std::string("v=DKIM1; k=") + to_string(c.type) + "; p=" + key->public_b64);
  auto rec = parse_key_record(record);
  ASSERT_TRUE(rec) << rec.error().message;
  auto pub = PublicKey::load(*rec);
  ASSERT_TRUE(pub) << pub.error().message;
  if (c.type == KeyType::rsa) {
    EXPECT_EQ(pub->bits(), c.bits);
  } else {
    EXPECT_EQ(key->public_b64.size(), 44u);  // raw 32 bytes (RFC 8463 §4.2)
  }

  auto signer = Signer::from_pem(key->private_pem, signer_config("example.com", "gen"));
  ASSERT_TRUE(signer) << signer.error().message;
  EXPECT_EQ(*signer->public_key_b64(), key->public_b64);
  dns::FakeResolver dns;
  add_key(dns, "gen._domainkey.example.com", record);
  const VerifyResult r =
      verify_bytes(sign_bytes(*signer, "From: a@example.com\r\nSubject: k\r\n\r\nhello\r\n", 1700000000), dns, 1700000000);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].result, Verdict::pass) << r.signatures[0].reason;
}

INSTANTIATE_TEST_SUITE_P(Types, KeyGen,
                         ::testing::Values(GenCase{"ed25519", KeyType::ed25519, 0},
                                           GenCase{"rsa1024", KeyType::rsa, 1024},
                                           GenCase{"rsa2048", KeyType::rsa, 2048}),
                         [](const auto& info) { return info.param.name; });

TEST(KeyGenLimits, RsaSizes) {
  for (int bits : {512, 1023, 4097, 8192}) {
    auto k = generate_key(KeyType::rsa, bits);
    ASSERT_FALSE(k) << bits;
    EXPECT_EQ(k.error().message, "RSA key size must be 1024..4096 bits (2048 recommended)");
  }
}

class KeyFile : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/mxsec-dkim-keygen-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

TEST_F(KeyFile, CreatedWithMode0600) {
  const std::string path = dir_ + "/key.pem";
  ASSERT_TRUE(write_private_key(path, "secret"));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(testing::read_file(path), "secret");
}

TEST_F(KeyFile, NeverOverwrites) {
  const std::string path = dir_ + "/key.pem";
  ASSERT_TRUE(write_private_key(path, "first"));
  auto again = write_private_key(path, "second");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("File exists"), std::string::npos);
  EXPECT_EQ(testing::read_file(path), "first");
}

TEST_F(KeyFile, DoesNotFollowSymlinks) {
  const std::string target = dir_ + "/target";
  const std::string link = dir_ + "/link";
  ASSERT_EQ(::symlink(target.c_str(), link.c_str()), 0);
  EXPECT_FALSE(write_private_key(link, "x"));
  EXPECT_FALSE(std::filesystem::exists(target));
}

TEST(TxtRecord, SplitInto255OctetStrings) {
  const std::string text(600, 'a');
  const auto parts = split_txt_strings(text);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].size(), 255u);
  EXPECT_EQ(parts[1].size(), 255u);
  EXPECT_EQ(parts[2].size(), 90u);
  EXPECT_EQ(split_txt_strings("").size(), 1u);
  EXPECT_EQ(split_txt_strings(std::string(255, 'b')).size(), 1u);
}

TEST(TxtRecord, ZoneLine) {
  EXPECT_EQ(zone_record("sel", "Example.com.", "v=DKIM1; k=ed25519; p=abc"),
            "sel._domainkey.example.com. IN TXT ( \"v=DKIM1; k=ed25519; p=abc\" )");
  const std::string rsa = key_record_text(KeyType::rsa, std::string(400, 'Q'));
  const std::string line = zone_record("s", "example.com", rsa);
  EXPECT_NE(line.find("\" \""), std::string::npos);  // two strings
  EXPECT_EQ(zone_record("s", "example.com", "a\"b\\c"), "s._domainkey.example.com. IN TXT ( \"a\\\"b\\\\c\" )");
}

}  // namespace
}  // namespace mxsec::auth::dkim

// dns/resolver_config.cpp: forwarder / stub address parsing and the
// trust-anchor file checks that keep a broken anchor from passing silently.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "dns/unbound_resolver.hpp"

namespace mxsec::dns {
namespace {

struct AddrCase {
  const char* text;
  const char* unbound;  // nullptr: must be rejected
  bool loopback;
};

class ServerAddressTest : public ::testing::TestWithParam<AddrCase> {};

TEST_P(ServerAddressTest, Parses) {
  const AddrCase& c = GetParam();
  auto a = parse_server_address(c.text);
  if (c.unbound == nullptr) {
    ASSERT_FALSE(a) << c.text << " parsed as " << a->to_unbound();
    EXPECT_EQ(a.error().code, Errc::invalid_argument);
    EXPECT_NE(a.error().message.find("expected ADDR"), std::string::npos) << a.error().message;
    return;
  }
  ASSERT_TRUE(a) << c.text << ": " << a.error().message;
  EXPECT_EQ(a->to_unbound(), c.unbound);
  EXPECT_EQ(a->is_loopback(), c.loopback) << c.text;
}

INSTANTIATE_TEST_SUITE_P(
    All, ServerAddressTest,
    ::testing::Values(AddrCase{"192.0.2.53", "192.0.2.53@53", false},
                      AddrCase{"127.0.53.1:5353", "127.0.53.1@5353", true},
                      AddrCase{"127.255.255.254", "127.255.255.254@53", true},
                      AddrCase{"2001:db8::53", "2001:db8::53@53", false},
                      AddrCase{"[2001:db8::53]", "2001:db8::53@53", false},
                      AddrCase{"[::1]:5300", "::1@5300", true},
                      AddrCase{"::1", "::1@53", true},
                      AddrCase{"[::ffff:127.0.0.1]:53", "::ffff:127.0.0.1@53", true},
                      AddrCase{"1.1.1.1:65535", "1.1.1.1@65535", false},
                      AddrCase{"", nullptr, false}, AddrCase{"dns.example", nullptr, false},
                      AddrCase{"dns.example:53", nullptr, false}, AddrCase{"1.1.1.1:", nullptr, false},
                      AddrCase{"1.1.1.1:0", nullptr, false}, AddrCase{"1.1.1.1:65536", nullptr, false},
                      AddrCase{"1.1.1.1:53x", nullptr, false}, AddrCase{"1.1.1.1:-1", nullptr, false},
                      AddrCase{"[1.1.1.1]:53", nullptr, false}, AddrCase{"[::1", nullptr, false},
                      AddrCase{"[::1]53", nullptr, false}, AddrCase{"[::1]:", nullptr, false},
                      AddrCase{"1.1.1.1@53", nullptr, false}, AddrCase{"fe80::1%eth0", nullptr, false},
                      AddrCase{"256.1.1.1", nullptr, false}));

class AnchorFile : public ::testing::Test {
 protected:
  AnchorFile() {
    char tmpl[] = "/tmp/mxsec-ta-test-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  ~AnchorFile() override { std::filesystem::remove_all(dir_); }
  std::string write(const std::string& content) {
    const std::string p = dir_ + "/ta" + std::to_string(n_++);
    std::ofstream(p) << content;
    return p;
  }
  std::string dir_;
  int n_ = 0;
};

TEST_F(AnchorFile, LdnsKeygenDsLine) {
  auto owner = check_trust_anchor_file(
      write("secure.test.\tIN\tDS\t45226 13 2 a8c6a352f6b5bdb2a8dc7fd39c5338533a8405bc9d14952f0cfbd2de776de197\n"));
  ASSERT_TRUE(owner) << owner.error().message;
  EXPECT_EQ(*owner, "secure.test");
}

TEST_F(AnchorFile, DebianRootKey) {
  auto owner = check_trust_anchor_file("/usr/share/dns/root.key");
  ASSERT_TRUE(owner) << owner.error().message;
  EXPECT_EQ(*owner, "");
}

TEST_F(AnchorFile, MultiLineDnskeyWithCommentsAndDigestSplitBySpaces) {
  auto owner = check_trust_anchor_file(write(
      "; BIND style\n$TTL 3600\n"
      "Example.COM. 3600 IN DNSKEY 257 3 8 (\n"
      "   AwEAAaz/tAm8yTn4Mfeh5eyI96WSVexTBAvkMgJzkKTOiW1vkIbzxeF3+/4RgWOq ; key\n"
      "   7HrxRixHlFlExOLAJr5emLvN7SWXgnLh4+B5xQlNVz8Og8kvArMtNROxVQuCaSnI )\n"
      "example.com. IN 3600 DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D084 58E880409BBC683457104237C7F8EC8D\n"));
  ASSERT_TRUE(owner) << owner.error().message;
  EXPECT_EQ(*owner, "example.com");
}

TEST_F(AnchorFile, FirstUsableAnchorNamesTheProbe) {
  // The first line has an algorithm unbound ignores; the probe must come
  // from the anchor that is actually used.
  ResolverConfig c;
  c.trust_anchor_files = {write(
      "ignored.test. IN DS 1 253 2 a8c6a352f6b5bdb2a8dc7fd39c5338533a8405bc9d14952f0cfbd2de776de197\n"
      "used.test. IN DS 2 13 2 a8c6a352f6b5bdb2a8dc7fd39c5338533a8405bc9d14952f0cfbd2de776de197\n")};
  auto probe = self_test_probe(c);
  ASSERT_TRUE(probe) << probe.error().message;
  EXPECT_EQ(*probe, "used.test.");
}

TEST_F(AnchorFile, ProbeDefaultsToTheRoot) {
  auto probe = self_test_probe(ResolverConfig{});
  ASSERT_TRUE(probe);
  EXPECT_EQ(*probe, ".");
  ResolverConfig c;
  c.trust_anchor_files = {dir_ + "/missing"};
  EXPECT_FALSE(self_test_probe(c));
}

TEST_F(AnchorFile, OversizedFileIsRejected) {
  std::string big;
  while (big.size() < 300 * 1024) big += "; padding padding padding padding padding padding\n";
  auto r = check_trust_anchor_file(write(big));
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
}

TEST_F(AnchorFile, BadOwnerNameIsRejected) {
  auto r = check_trust_anchor_file(
      write("bad!name. IN DS 2 13 2 a8c6a352f6b5bdb2a8dc7fd39c5338533a8405bc9d14952f0cfbd2de776de197\n"));
  EXPECT_FALSE(r);
}

}  // namespace
}  // namespace mxsec::dns

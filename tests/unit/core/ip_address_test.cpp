// core/ip_address: parsing, CIDR matching, unmapping and reverse names, which
// SPF ip4/ip6/a/mx and the DNS answers rely on.
#include "core/ip_address.hpp"

#include <gtest/gtest.h>

namespace mxsec {
namespace {

TEST(IpAddress, ParsesAndPrintsCanonically) {
  struct Case {
    const char* in;
    const char* out;
    bool v6;
  };
  for (const Case& c : {Case{"192.0.2.1", "192.0.2.1", false}, Case{"0.0.0.0", "0.0.0.0", false},
                        Case{"2001:DB8:0:0:0:0:0:1", "2001:db8::1", true}, Case{"::", "::", true},
                        Case{"::ffff:192.0.2.1", "::ffff:192.0.2.1", true}}) {
    auto a = IpAddress::parse(c.in);
    ASSERT_TRUE(a) << c.in;
    EXPECT_EQ(a->to_string(), c.out);
    EXPECT_EQ(a->is_v6(), c.v6);
    EXPECT_EQ(a->size(), c.v6 ? 16u : 4u);
  }
}

TEST(IpAddress, RejectsMalformed) {
  for (const char* s : {"", "1.2.3", "1.2.3.4.5", "256.0.0.1", "01.2.3.4x", "01.2.3.4", "1.2.3.04", "1.2.3.4/24", " 1.2.3.4",
                        "1.2.3.4 ", "2001:db8::1::2", "2001:db8:::1", "gggg::1", "fe80::1%eth0",
                        "1:2:3:4:5:6:7:8:9", "example.com"}) {
    EXPECT_FALSE(IpAddress::parse(s)) << s;
  }
  EXPECT_FALSE(IpAddress::parse(std::string(46, '1')));
  EXPECT_FALSE(IpAddress::parse(std::string("1.2.3.4\0", 8)));
}

TEST(IpAddress, CidrMatching) {
  const auto a = *IpAddress::parse("192.0.2.130");
  EXPECT_TRUE(a.in_network(*IpAddress::parse("192.0.2.0"), 24));
  EXPECT_TRUE(a.in_network(*IpAddress::parse("192.0.2.128"), 25));
  EXPECT_FALSE(a.in_network(*IpAddress::parse("192.0.2.0"), 25));
  EXPECT_TRUE(a.in_network(*IpAddress::parse("10.0.0.0"), 0));
  EXPECT_TRUE(a.in_network(a, 32));
  EXPECT_FALSE(a.in_network(a, 33));
  const auto b = *IpAddress::parse("2001:db8::1");
  EXPECT_TRUE(b.in_network(*IpAddress::parse("2001:db8::"), 32));
  EXPECT_FALSE(b.in_network(*IpAddress::parse("2001:db9::"), 32));
  EXPECT_TRUE(b.in_network(b, 128));
  EXPECT_FALSE(b.in_network(b, 129));
  // Families never match each other, not even ::/0 against IPv4.
  EXPECT_FALSE(a.in_network(*IpAddress::parse("::"), 0));
  EXPECT_FALSE(b.in_network(*IpAddress::parse("0.0.0.0"), 0));
}

TEST(IpAddress, UnmappedOnlyForV4Mapped) {
  EXPECT_EQ(IpAddress::parse("::ffff:192.0.2.1")->unmapped(), *IpAddress::parse("192.0.2.1"));
  EXPECT_EQ(IpAddress::parse("::192.0.2.1")->unmapped(), *IpAddress::parse("::192.0.2.1"));
  EXPECT_EQ(IpAddress::parse("192.0.2.1")->unmapped(), *IpAddress::parse("192.0.2.1"));
  EXPECT_FALSE(*IpAddress::parse("::ffff:192.0.2.1") == *IpAddress::parse("192.0.2.1"));
}

TEST(IpAddress, ReverseNames) {
  EXPECT_EQ(IpAddress::parse("192.0.2.1")->reverse_name(), "1.2.0.192.in-addr.arpa");
  EXPECT_EQ(IpAddress::parse("2001:db8::1")->reverse_name(),
            "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa");
}

TEST(IpAddress, FromBytes) {
  EXPECT_EQ(IpAddress::v4({192, 0, 2, 1}).to_string(), "192.0.2.1");
  std::array<std::uint8_t, 16> b{};
  b[15] = 1;
  EXPECT_EQ(IpAddress::v6(b).to_string(), "::1");
  EXPECT_TRUE(IpAddress{}.is_v4());
}

TEST(IpAddress, AddressWithOptionalPort) {
  struct Case {
    const char* in;
    const char* address;  // nullptr: refused
    int port;             // -1: none given
  };
  for (const Case& c : {Case{"192.0.2.1", "192.0.2.1", -1}, Case{"192.0.2.1:25", "192.0.2.1", 25},
                        Case{"[2001:db8::1]:587", "2001:db8::1", 587}, Case{"[::1]", "::1", -1},
                        Case{"2001:db8::1:25", "2001:db8::1:25", -1},  // a bare IPv6 address has no port
                        Case{"1.1.1.1:65535", "1.1.1.1", 65535}, Case{"", nullptr, 0}, Case{"1.1.1.1:", nullptr, 0},
                        Case{"1.1.1.1:0", nullptr, 0}, Case{"1.1.1.1:65536", nullptr, 0}, Case{"[1.1.1.1]:53", nullptr, 0},
                        Case{"[::1", nullptr, 0}, Case{"[::1]53", nullptr, 0}, Case{"[::1]:", nullptr, 0},
                        Case{"mx.example:25", nullptr, 0}, Case{"1.1.1.1:+25", nullptr, 0}}) {
    auto a = parse_address_port(c.in);
    if (!c.address) {
      ASSERT_FALSE(a) << c.in;
      EXPECT_EQ(a.error().code, Errc::invalid_argument);
      continue;
    }
    ASSERT_TRUE(a) << c.in << ": " << a.error().message;
    EXPECT_EQ(a->address.to_string(), c.address) << c.in;
    EXPECT_EQ(a->port ? *a->port : -1, c.port) << c.in;
  }
  EXPECT_EQ(parse_address_port("[::1").error().message, "missing ']'");
  EXPECT_EQ(parse_address_port("1.1.1.1:0").error().message, "port must be 1..65535");
}

}  // namespace
}  // namespace mxsec

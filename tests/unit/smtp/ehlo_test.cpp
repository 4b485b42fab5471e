// Tests for smtp/proto/ehlo.cpp: EHLO keywords (RFC 5321 §4.1.1.1).
#include "smtp/proto/ehlo.hpp"

#include <gtest/gtest.h>

#include "unit/smtp/parsegrind.hpp"

namespace mxsec::smtp {
namespace {

EhloCapabilities ehlo(const std::string& wire) {
  auto o = test::parsegrind(wire);
  EXPECT_EQ(o.state, ReplyParser::State::done) << o.error;
  return parse_ehlo(o.reply);
}

TEST(Ehlo, PostfixStyle) {
  auto c = ehlo(
      "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-VRFY\r\n250-ETRN\r\n250-STARTTLS\r\n"
      "250-ENHANCEDSTATUSCODES\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n");
  EXPECT_TRUE(c.ok);
  EXPECT_EQ(c.domain, "mx.example.net");
  EXPECT_EQ(c.greeting, "");
  EXPECT_TRUE(c.starttls());
  EXPECT_TRUE(c.pipelining());
  EXPECT_TRUE(c.eight_bit_mime());
  EXPECT_TRUE(c.smtputf8());
  EXPECT_TRUE(c.chunking());
  EXPECT_TRUE(c.enhanced_status_codes());
  EXPECT_FALSE(c.requiretls());
  EXPECT_EQ(c.size_limit(), 10240000u);
  EXPECT_EQ(c.keywords.size(), 10u);
  EXPECT_EQ(c.malformed_lines, 0);
}

TEST(Ehlo, Table) {
  struct Case {
    std::string name;
    std::string wire;
    bool ok;
    std::string domain, greeting;
    std::vector<std::string> present, absent;
    std::optional<std::uint64_t> size;
    int malformed;
  };
  const std::vector<Case> cases = {
      {"single_line", "250 mx.example.net\r\n", true, "mx.example.net", "", {}, {"STARTTLS"}, {}, 0},
      {"greeting_text", "250-mx.example.net Hello client [192.0.2.1]\r\n250 STARTTLS\r\n", true, "mx.example.net",
       "Hello client [192.0.2.1]", {"STARTTLS"}, {}, {}, 0},
      {"case_insensitive", "250-mx\r\n250-starttls\r\n250 Size\r\n", true, "mx", "", {"STARTTLS", "starttls", "SIZE"},
       {}, 0u, 0},
      {"auth_params", "250-mx\r\n250 AUTH PLAIN LOGIN\r\n", true, "mx", "", {"AUTH"}, {}, {}, 0},
      {"size_not_number", "250-mx\r\n250 SIZE lots\r\n", true, "mx", "", {"SIZE"}, {}, {}, 0},
      {"size_overflow", "250-mx\r\n250 SIZE 99999999999999999999999\r\n", true, "mx", "", {"SIZE"}, {}, {}, 0},
      {"old_auth_equals", "250-mx\r\n250-AUTH=LOGIN\r\n250 STARTTLS\r\n", true, "mx", "", {"STARTTLS"}, {"AUTH"}, {},
       1},
      {"keyword_leading_dash", "250-mx\r\n250--X\r\n250 STARTTLS\r\n", true, "mx", "", {"STARTTLS"}, {}, {}, 1},
      {"empty_line", "250-mx\r\n250-\r\n250 STARTTLS\r\n", true, "mx", "", {"STARTTLS"}, {}, {}, 1},
      {"double_space", "250-mx\r\n250 SIZE  100\r\n", true, "mx", "", {}, {"SIZE"}, {}, 1},
      {"control_in_param", "250-mx\r\n250 SIZE 1\x01\r\n", true, "mx", "", {}, {"SIZE"}, {}, 1},
      {"starttls_in_greeting_only", "250 mx STARTTLS\r\n", true, "mx", "STARTTLS", {}, {"STARTTLS"}, {}, 0},
      {"refused", "502 5.5.1 EHLO not implemented\r\n", false, "", "", {}, {"STARTTLS"}, {}, 0},
      {"refused_multiline", "554-no\r\n554 STARTTLS\r\n", false, "", "", {}, {"STARTTLS"}, {}, 0},
      {"repeat_keeps_first", "250-mx\r\n250-SIZE 5\r\n250 SIZE 7\r\n", true, "mx", "", {"SIZE"}, {}, 5u, 0},
  };
  for (const auto& c : cases) {
    auto caps = ehlo(c.wire);
    EXPECT_EQ(caps.ok, c.ok) << c.name;
    EXPECT_EQ(caps.domain, c.domain) << c.name;
    EXPECT_EQ(caps.greeting, c.greeting) << c.name;
    for (const auto& k : c.present) EXPECT_TRUE(caps.has(k)) << c.name << " " << k;
    for (const auto& k : c.absent) EXPECT_FALSE(caps.has(k)) << c.name << " " << k;
    EXPECT_EQ(caps.size_limit(), c.size) << c.name;
    EXPECT_EQ(caps.malformed_lines, c.malformed) << c.name;
  }
}

TEST(Ehlo, Params) {
  auto c = ehlo("250-mx\r\n250 AUTH PLAIN LOGIN\r\n");
  const auto* p = c.params("auth");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(*p, (std::vector<std::string>{"PLAIN", "LOGIN"}));
  EXPECT_EQ(c.params("STARTTLS"), nullptr);
}

}  // namespace
}  // namespace mxsec::smtp

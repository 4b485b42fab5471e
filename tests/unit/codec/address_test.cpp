#include "codec/address.hpp"

#include <gtest/gtest.h>

namespace mxsec::codec {
namespace {

struct Good {
  const char* field;
  std::vector<std::string> domains;
};

TEST(Address, ExtractsDomainsFromRealWorldForms) {
  const Good cases[] = {
      {"user@example.com", {"example.com"}},
      {" Joe Q. Public <john.q.public@Example.COM.>", {"example.com"}},                 // RFC 5322 A.1.2
      {"\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>", {"example.net"}},        // RFC 5322 A.1.2
      {"Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>", {"silly.test"}}, // RFC 5322 A.5
      {"A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;", {"a.test", "where.test", "one.test"}},
      {"Undisclosed recipients:;, x@y.example", {"y.example"}},
      {"Mary Smith <mary@x.test>, jdoe@example.org", {"x.test", "example.org"}},
      {"<@relay.example:user@final.example>", {"final.example"}},                       // obs-route
      {"\"a@evil.example\" <user@good.example>", {"good.example"}},                     // '@' in display name
  };
  for (const auto& c : cases) {
    auto r = parse_mailbox_list(c.field);
    ASSERT_TRUE(r) << c.field << ": " << r.error().message;
    ASSERT_EQ(r->size(), c.domains.size()) << c.field;
    for (std::size_t i = 0; i < c.domains.size(); ++i) EXPECT_EQ((*r)[i].domain, c.domains[i]) << c.field;
  }
}

TEST(Address, RejectsWhatDmarcCannotUse) {
  for (const char* bad : {"", "no-at-sign", "user@", "user@[192.0.2.1]", "\"unterminated <a@b>", "(open <a@b>",
                          "a@b)", "<a@b", "a@b>", "<a@b> <c@d>", "Name <>", "user@exa mple..com"}) {
    auto r = parse_mailbox_list(bad);
    EXPECT_FALSE(r) << bad;
  }
}

TEST(Address, LimitsMailboxCount) {
  std::string many;
  for (int i = 0; i < 40; ++i) many += "u" + std::to_string(i) + "@example.com,";
  auto r = parse_mailbox_list(many, 32);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::limit);
}

TEST(Address, ParsesSmtpPaths) {
  auto p = parse_path("<User@Example.COM>");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->local_part, "User");
  EXPECT_EQ(p->domain, "example.com");
  auto null_path = parse_path("<>");
  ASSERT_TRUE(null_path);
  EXPECT_TRUE(null_path->domain.empty());
  EXPECT_FALSE(parse_path("<a@b"));
  EXPECT_FALSE(parse_path("nodomain"));
  EXPECT_FALSE(parse_path("a@b@example.com"));  // unquoted '@' in the local part
  auto quoted = parse_path("<\"a@b\"@example.com>");
  ASSERT_TRUE(quoted);
  EXPECT_EQ(quoted->local_part, "a@b");
}

}  // namespace
}  // namespace mxsec::codec

#include "auth/spf/record.hpp"

#include <gtest/gtest.h>

#include <cstring>

namespace mxsec::auth::spf {
namespace {

TEST(SpfRecord, Selection) {
  // RFC 7208 §4.5: "v=spf1" (any case) followed by SP or the end.
  const struct {
    const char* txt;
    bool spf;
  } kCases[] = {{"v=spf1", true},         {"v=spf1 -all", true},  {"V=SpF1 ~all", true},     {"v=spf10", false},
                {"v=spf1-all", false},    {"v=spf2 -all", false}, {" v=spf1 -all", false},   {"spf2.0/pra", false},
                {"v=spf1\t-all", false},  {"", false},            {"v=spf", false}};
  for (const auto& c : kCases) EXPECT_EQ(is_spf_record(c.txt), c.spf) << c.txt;
}

TEST(SpfRecord, ParsesTermsQualifiersAndCidrs) {
  auto r = parse_record(
      "v=spf1  +a -mx:mail.example.com/24//64 ~ip4:192.0.2.0/24 ?ip6:2001:db8::/32 ptr exists:%{i}.bl.example.org "
      "include:_spf.example.net a//0 mx/16 all redirect=example.org exp=why.%{d} foo=bar  ");
  ASSERT_TRUE(r) << r.error().message;
  const auto& m = r->mechanisms;
  ASSERT_EQ(m.size(), 10u);
  EXPECT_EQ(m[0].kind, MechanismKind::a);
  EXPECT_EQ(m[0].qualifier, Verdict::pass);
  EXPECT_FALSE(m[0].has_domain_spec);
  EXPECT_EQ(m[1].kind, MechanismKind::mx);
  EXPECT_EQ(m[1].qualifier, Verdict::fail);
  EXPECT_TRUE(m[1].has_domain_spec);
  EXPECT_EQ(m[1].cidr4, 24);
  EXPECT_EQ(m[1].cidr6, 64);
  EXPECT_EQ(m[1].text, "-mx:mail.example.com/24//64");
  EXPECT_EQ(m[2].kind, MechanismKind::ip4);
  EXPECT_EQ(m[2].qualifier, Verdict::softfail);
  EXPECT_EQ(m[2].network, *IpAddress::parse("192.0.2.0"));
  EXPECT_EQ(m[2].cidr4, 24);
  EXPECT_EQ(m[3].kind, MechanismKind::ip6);
  EXPECT_EQ(m[3].qualifier, Verdict::neutral);
  EXPECT_EQ(m[3].cidr6, 32);
  EXPECT_EQ(m[4].kind, MechanismKind::ptr);
  EXPECT_EQ(m[5].kind, MechanismKind::exists);
  EXPECT_FALSE(m[5].domain_spec.constant);
  EXPECT_EQ(m[6].kind, MechanismKind::include);
  EXPECT_TRUE(m[6].domain_spec.constant);
  EXPECT_EQ(m[7].cidr4, 32);
  EXPECT_EQ(m[7].cidr6, 0);
  EXPECT_EQ(m[8].cidr4, 16);
  EXPECT_EQ(m[8].cidr6, 128);
  EXPECT_EQ(m[9].kind, MechanismKind::all);
  ASSERT_TRUE(r->redirect);
  EXPECT_EQ(r->redirect_text, "redirect=example.org");
  ASSERT_TRUE(r->exp);
  EXPECT_FALSE(r->exp->constant);
}

TEST(SpfRecord, DomainSpecMayContainSlashAndColon) {
  auto r = parse_record("v=spf1 a:foo:bar/baz.example.com mx:foo:bar/baz.example.com/30");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->mechanisms[0].cidr4, 32);
  EXPECT_EQ(r->mechanisms[1].cidr4, 30);
}

TEST(SpfRecord, SyntaxErrorsArePrecise) {
  const struct {
    const char* record;
    const char* reason;
  } kCases[] = {
      {"v=spf1 ip4:1.2.3", "syntax error at 'ip4:1.2.3': invalid ip4-network '1.2.3'"},
      {"v=spf1 ip4:1.2.3.4/33", "syntax error at 'ip4:1.2.3.4/33': invalid ip4-cidr-length '/33' (0..32)"},
      {"v=spf1 ip4:1.2.3.4/032", "invalid ip4-cidr-length '/032'"},
      {"v=spf1 ip4:01.2.3.4", "invalid ip4-network '01.2.3.4'"},
      {"v=spf1 ip4:1.2.3.4:8080", "invalid ip4-network '1.2.3.4:8080'"},
      {"v=spf1 ip4:1.2.3.4//32", "invalid ip4-cidr-length"},
      {"v=spf1 ip4", "ip4 needs ':' and a network"},
      {"v=spf1 ip6::CAFE::BABE", "invalid ip6-network ':CAFE::BABE'"},
      {"v=spf1 ip6:::1/129", "invalid ip6-cidr-length '/129' (0..128)"},
      {"v=spf1 ip6:1.2.3.4", "invalid ip6-network '1.2.3.4'"},
      {"v=spf1 a/33", "invalid ip4-cidr-length '/33'"},
      {"v=spf1 a//129", "invalid ip6-cidr-length '//129'"},
      {"v=spf1 a/24/64", "ip6-cidr-length must follow '//'"},
      {"v=spf1 a:", "empty domain-spec"},
      {"v=spf1 a:museum", "must end in '.' and a valid top label"},
      {"v=spf1 a:museum.", "must end in '.' and a valid top label"},
      {"v=spf1 a:111.222.33.44", "must end in '.' and a valid top label"},
      {"v=spf1 a:example.-com", "must end in '.' and a valid top label"},
      {"v=spf1 a:example.com:8080", "must end in '.' and a valid top label"},
      {"v=spf1 include", "include needs ':' and a domain-spec"},
      {"v=spf1 include:example.com/24", "must end in '.' and a valid top label"},
      {"v=spf1 exists", "exists needs ':' and a domain-spec"},
      {"v=spf1 ptr/0", "ptr takes no CIDR length"},
      {"v=spf1 -all.", "unknown mechanism 'all.'"},
      {"v=spf1 -all:foo", "'all' takes no argument"},
      {"v=spf1 -all/8", "'all' takes no argument"},
      {"v=spf1 ip4:1.2.3.4 -all moo", "syntax error at 'moo': unknown mechanism 'moo'"},
      {"v=spf1 redirect:example.com", "unknown mechanism 'redirect'"},
      {"v=spf1 1up=foo", "unknown mechanism '1up=foo'"},
      {"v=spf1 =all", "unknown mechanism '=all'"},
      {"v=spf1 -", "missing mechanism name"},
      {"v=spf1 redirect=a.example.com redirect=b.example.com", "redirect appears more than once"},
      {"v=spf1 exp=a.example.com exp=b.example.com", "exp appears more than once"},
      {"v=spf1 exp=", "empty domain-spec"},
      {"v=spf1 redirect=", "empty domain-spec"},
      {"v=spf1 exp=-all", "must end in '.' and a valid top label"},
      {"v=spf1 foo=%abc", "'%' at offset 0 must be followed by '{', '%', '_' or '-'"},
      {"v=spf1 exists:%{r}.example.com", "macro letter 'r' is allowed only in exp text"},
      {"v=spf1 a:ctrl.example.com\rptr", "control byte 0x0d at offset 18"},
      {"v=spf1 a:\xef\xbb\xbfgarbage.example.net", "non-ASCII byte at offset 2"},
      {"v=spf1 a:foo.example.com\x00", "control byte 0x00"},
      {"v=spf2 -all", "not an SPF record"},
  };
  for (const auto& c : kCases) {
    std::string_view text(c.record);
    if (std::string_view(c.reason) == "control byte 0x00") text = std::string_view(c.record, std::strlen(c.record) + 1);
    auto r = parse_record(text);
    ASSERT_FALSE(r) << c.record;
    EXPECT_EQ(r.error().code, Errc::parse) << c.record;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos) << c.record << " -> " << r.error().message;
  }
}

TEST(SpfRecord, AcceptedEdgeCases) {
  for (const char* ok : {"v=spf1", "v=spf1 ", "v=spf1  a  -all  ", "v=spf1 a:foo.example.xn--zckzah",
                         "v=spf1 moo.cow-far_out=man:dog/cat ip4:1.2.3.4 -all", "v=spf1 default=+",
                         "v=spf1 a:%{H}.bar", "v=spf1 include:o.spf.example.com.", "V=SPF1 INCLUDE:EXAMPLE.COM -ALL",
                         "v=spf1 a:macro%%percent%_%_space%-url-space.example.com", "v=spf1 ip4:0.0.0.0/0 ip6:::/0",
                         "v=spf1 exists:%{d}."})
    EXPECT_TRUE(parse_record(ok)) << ok << ": " << parse_record(ok).error().message;
}

TEST(SpfRecord, HostileRecordsHitNamedLimits) {
  std::string big = "v=spf1";
  while (big.size() <= limits::kSpfRecordBytes) big += " ip4:192.0.2.1";
  auto r = parse_record(big);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::limit);
  EXPECT_NE(r.error().message.find("more than the limit of 4096"), std::string::npos) << r.error().message;

  std::string many = "v=spf1";
  for (int i = 0; i < limits::kSpfTerms + 1; ++i) many += " a";
  ASSERT_LE(many.size(), limits::kSpfRecordBytes);
  r = parse_record(many);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "record has more than 256 terms");

  RecordLimits tight;
  tight.max_terms = 2;
  EXPECT_TRUE(parse_record("v=spf1 a mx", tight));
  EXPECT_FALSE(parse_record("v=spf1 a mx ptr", tight));
}

TEST(SpfRecord, CacheParsesOnceAndStaysBounded) {
  RecordCache cache(2);
  RecordLimits lim;
  auto a1 = cache.get("v=spf1 -all", lim);
  auto a2 = cache.get("v=spf1 -all", lim);
  EXPECT_EQ(a1.get(), a2.get());
  EXPECT_EQ(cache.hits(), 1u);
  auto bad = cache.get("v=spf1 moo", lim);
  EXPECT_FALSE(bad->has_value());
  EXPECT_EQ(cache.get("v=spf1 moo", lim).get(), bad.get());  // failures are cached too
  cache.get("v=spf1 +all", lim);
  EXPECT_LE(cache.size(), 2u);
  EXPECT_TRUE(a1->has_value());  // entries stay valid after eviction
}

}  // namespace
}  // namespace mxsec::auth::spf

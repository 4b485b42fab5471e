#include "auth/spf/macro.hpp"

#include <gtest/gtest.h>

namespace mxsec::auth::spf {
namespace {

MacroVars rfc_vars(const char* ip) {
  // RFC 7208 §7.4: <sender> strong-bad@email.example.com, <ip> 192.0.2.3 or 2001:db8::cb01.
  MacroVars v;
  v.sender = "strong-bad@email.example.com";
  v.local_part = "strong-bad";
  v.sender_domain = "email.example.com";
  v.domain = "email.example.com";
  v.ip = *IpAddress::parse(ip);
  v.helo = "mx.example.org";
  v.receiver = "mx.receiver.example";
  v.timestamp = 1700000000;
  return v;
}

TEST(SpfMacro, Rfc7208Section74Examples) {
  const struct {
    const char* in;
    const char* out;
  } kCases[] = {
      {"%{s}", "strong-bad@email.example.com"},
      {"%{o}", "email.example.com"},
      {"%{d}", "email.example.com"},
      {"%{d4}", "email.example.com"},
      {"%{d3}", "email.example.com"},
      {"%{d2}", "example.com"},
      {"%{d1}", "com"},
      {"%{dr}", "com.example.email"},
      {"%{d2r}", "example.email"},
      {"%{l}", "strong-bad"},
      {"%{l-}", "strong.bad"},
      {"%{lr}", "strong-bad"},
      {"%{lr-}", "bad.strong"},
      {"%{l1r-}", "strong"},
      {"%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com"},
      {"%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com"},
      {"%{lr-}.lp.%{ir}.%{v}._spf.%{d2}", "bad.strong.lp.3.2.0.192.in-addr._spf.example.com"},
      {"%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}", "3.2.0.192.in-addr.strong.lp._spf.example.com"},
      {"%{d2}.trusted-domains.example.net", "example.com.trusted-domains.example.net"},
  };
  for (const auto& c : kCases) {
    auto r = expand_text(c.in, MacroKind::domain_spec, rfc_vars("192.0.2.3"));
    ASSERT_TRUE(r) << c.in << ": " << r.error().message;
    EXPECT_EQ(*r, c.out) << c.in;
  }
  auto v6 = expand_text("%{ir}.%{v}._spf.%{d2}", MacroKind::domain_spec, rfc_vars("2001:db8::cb01"));
  ASSERT_TRUE(v6);
  EXPECT_EQ(*v6, "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
}

TEST(SpfMacro, ExplainOnlyLettersEscapesAndUrlEncoding) {
  const struct {
    const char* in;
    const char* out;
  } kCases[] = {
      {"%{c} is not one of %{d}'s designated mail servers.",
       "192.0.2.3 is not one of email.example.com's designated mail servers."},
      {"%{r} at %{t}", "mx.receiver.example at 1700000000"},
      {"%{h}", "mx.example.org"},
      {"%{p}", "unknown"},
      {"100%% sure%_%-", "100% sure %20"},
      {"http://example.com/why.html?l=%{L}", "http://example.com/why.html?l=strong-bad"},
      {"%{S}", "strong-bad%40email.example.com"},
      {"%{l2r+-}", "bad.strong"},
      {"%{d999}", "email.example.com"},
      {"%{dR}", "com.example.email"},
      {"This is a test.", "This is a test."},
  };
  for (const auto& c : kCases) {
    auto r = expand_text(c.in, MacroKind::explain, rfc_vars("192.0.2.3"));
    ASSERT_TRUE(r) << c.in << ": " << r.error().message;
    EXPECT_EQ(*r, c.out) << c.in;
  }
  MacroVars v = rfc_vars("2001:db8::cb01");
  v.local_part = "~jack&jill=up-a_b3.c";
  EXPECT_EQ(*expand_text("%{L} %{c}", MacroKind::explain, v), "~jack%26jill%3Dup-a_b3.c 2001:db8::cb01");
  v.validated_domain = "mx.example.org";
  EXPECT_EQ(*expand_text("%{p}", MacroKind::explain, v), "mx.example.org");
}

TEST(SpfMacro, SyntaxErrors) {
  const struct {
    const char* in;
    MacroKind kind;
    const char* reason;
  } kCases[] = {
      {"%", MacroKind::explain, "'%' at the end"},
      {"foo%(ir).sbl.example.com", MacroKind::domain_spec, "'%' at offset 3 must be followed by"},
      {"foo%.sbl.example.com", MacroKind::domain_spec, "'%' at offset 3 must be followed by"},
      {"%{", MacroKind::explain, "unterminated macro"},
      {"%{d", MacroKind::explain, "malformed macro '%{d'"},
      {"%{x}", MacroKind::explain, "unknown macro letter 'x'"},
      {"%{a}.example.com", MacroKind::domain_spec, "unknown macro letter 'a'"},
      {"%{d0}", MacroKind::explain, "must be nonzero"},
      {"%{d2x}", MacroKind::explain, "malformed macro"},
      {"%{c}.example.com", MacroKind::domain_spec, "macro letter 'c' is allowed only in exp text"},
      {"%{t}.example.com", MacroKind::domain_spec, "macro letter 't' is allowed only in exp text"},
      {"two words", MacroKind::domain_spec, "invalid byte 0x20 at offset 3"},
      {"", MacroKind::domain_spec, "empty domain-spec"},
      {"foo-bar", MacroKind::domain_spec, "must end in '.' and a valid top label"},
      {"%{d}com", MacroKind::domain_spec, "must end in '.' and a valid top label"},
      {"abc.123", MacroKind::domain_spec, "must end in '.' and a valid top label"},
      {"\x80", MacroKind::explain, "non-ASCII byte at offset 0"},
  };
  for (const auto& c : kCases) {
    auto r = parse_macro_string(c.in, c.kind);
    ASSERT_FALSE(r) << c.in;
    EXPECT_NE(r.error().message.find(c.reason), std::string::npos) << c.in << " -> " << r.error().message;
  }
  // Valid domain-ends.
  for (const char* ok : {"%{d}", "%{d}.", "a.b-c", "x.123-4", "foo.xn--zckzah", "%{ir}.%{v}.arpa", "a.b%%"})
    EXPECT_TRUE(parse_macro_string(ok, MacroKind::domain_spec)) << ok;
}

TEST(SpfMacro, ExpansionIsBounded) {
  std::string many;
  for (int i = 0; i < 200; ++i) many += "%{s}";
  auto ms = parse_macro_string(many, MacroKind::explain);
  ASSERT_TRUE(ms);
  std::string out;
  auto r = expand(*ms, rfc_vars("192.0.2.3"), out, 1024);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::limit);
  EXPECT_LE(out.size(), 1024u + 64);
}

TEST(SpfMacro, TargetNames) {
  const struct {
    std::string in;
    bool ok;
    std::string out;
  } kCases[] = {
      {"example.com.", true, "example.com"},
      {"mail.example...com", false, ""},
      {std::string(64, 'a') + ".example.com", false, ""},
      {std::string(63, 'a') + ".example.com", true, std::string(63, 'a') + ".example.com"},
      {"", false, ""},
      {".", false, ""},
  };
  for (auto c : kCases) {
    std::string n = c.in;
    EXPECT_EQ(to_target_name(n), c.ok) << c.in;
    if (c.ok) {
      EXPECT_EQ(n, c.out);
    }
  }
  // RFC 7208 §7.3: names over 253 octets lose labels from the left.
  std::string long_name;
  for (int i = 0; i < 8; ++i) long_name += "somewhat.long.exp.example.com.";
  long_name += "example.com";
  std::string n = long_name;
  ASSERT_TRUE(to_target_name(n));
  EXPECT_LE(n.size(), 253u);
  EXPECT_TRUE(long_name.ends_with(n));
  EXPECT_EQ(n.substr(0, 9), "somewhat.");
}

TEST(SpfMacro, InitialDomainCheck) {
  const struct {
    std::string d;
    bool ok;
  } kCases[] = {{"example.com", true},
                {"example.com.", true},
                {"_spf.example.com", true},
                {"A2345678", false},
                {"[1.2.3.5]", false},
                {"A...example.com", false},
                {"", false},
                {"a." + std::string(63, 'b') + ".com", true},
                {"a." + std::string(64, 'b') + ".com", false},
                {"bad name.com", false},
                {std::string(250, 'a') + ".com", false}};
  for (const auto& c : kCases) EXPECT_EQ(is_valid_spf_domain(c.d), c.ok) << c.d;
}

}  // namespace
}  // namespace mxsec::auth::spf

// Tests for policy/tlsrpt/record.cpp: the _smtp._tls TXT record (RFC 8460
// §3), the choice of one record from an RRset, and rua classification.
#include "policy/tlsrpt/record.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/limits.hpp"

namespace mxsec::policy::tlsrpt {
namespace {

using namespace std::string_literals;

struct GoodCase {
  const char* name;
  std::string txt;
  std::vector<std::string> rua;
};

TEST(TlsRptRecord, GoodRecords) {
  const std::vector<GoodCase> cases = {
      // RFC 8460 §3, "Report using MAILTO", verbatim.
      {"rfc8460_mailto", "v=TLSRPTv1;rua=mailto:reports@example.com", {"mailto:reports@example.com"}},
      // RFC 8460 §3, "Report using HTTPS" (the two zone-file lines joined).
      {"rfc8460_https", "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
       {"https://reporting.example.com/v1/tlsrpt"}},
      {"both", "v=TLSRPTv1; rua=mailto:reports@example.com,https://reporting.example.com/v1/tlsrpt",
       {"mailto:reports@example.com", "https://reporting.example.com/v1/tlsrpt"}},
      // tlsrpt-uri *(*WSP "," *WSP tlsrpt-uri)
      {"wsp_around_commas", "v=TLSRPTv1; rua=mailto:a@example.com ,\t https://r.example/x ;",
       {"mailto:a@example.com", "https://r.example/x"}},
      {"final_delim", "v=TLSRPTv1; rua=mailto:a@example.com;", {"mailto:a@example.com"}},
      {"wsp_before_first_delim", "v=TLSRPTv1 ;rua=mailto:a@example.com", {"mailto:a@example.com"}},
      {"trailing_wsp", "v=TLSRPTv1; rua=mailto:a@example.com  ", {"mailto:a@example.com"}},
      // Extensions are ignored wherever they are.
      {"extension_fields", "v=TLSRPTv1; ext=1; rua=mailto:a@example.com; x_y-z.w=!\"#$%&'()*+,-./:<>?@[\\]^_`{|}~",
       {"mailto:a@example.com"}},
      {"extension_named_v", "v=TLSRPTv1; v=TLSRPTv2; rua=mailto:a@example.com", {"mailto:a@example.com"}},
      {"upper_case_rua_is_extension", "v=TLSRPTv1; RUA=mailto:x@evil.example; rua=mailto:a@example.com",
       {"mailto:a@example.com"}},
      // The record level keeps URIs it cannot use; classify_rua() says why.
      {"unsupported_scheme_kept", "v=TLSRPTv1; rua=http://r.example/,mailto:a@example.com",
       {"http://r.example/", "mailto:a@example.com"}},
      {"malformed_uri_kept", "v=TLSRPTv1; rua=reports@example.com", {"reports@example.com"}},
      {"rua_with_equals_in_query", "v=TLSRPTv1; rua=https://r.example/in?a=b&c=d", {"https://r.example/in?a=b&c=d"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_TRUE(is_tlsrpt_record(c.txt));
    auto r = parse_record(c.txt);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->rua, c.rua);
  }
}

struct BadCase {
  const char* name;
  std::string txt;
  bool is_tlsrpt;  // passes the discovery filter
  Errc code;
};

TEST(TlsRptRecord, BadRecords) {
  const std::vector<BadCase> cases = {
      {"empty", "", false, Errc::parse},
      {"version_only", "v=TLSRPTv1", false, Errc::parse},
      {"version_and_delim", "v=TLSRPTv1;", true, Errc::parse},
      {"no_rua", "v=TLSRPTv1; ext=1", true, Errc::parse},
      {"rua_not_first_version_later", "rua=mailto:a@example.com; v=TLSRPTv1", false, Errc::parse},
      {"wrong_version", "v=TLSRPTv2; rua=mailto:a@example.com", false, Errc::parse},
      {"version_prefix", "v=TLSRPTv10; rua=mailto:a@example.com", false, Errc::parse},
      {"version_lower_case", "v=tlsrptv1; rua=mailto:a@example.com", false, Errc::parse},
      {"leading_space", " v=TLSRPTv1; rua=mailto:a@example.com", false, Errc::parse},
      {"dmarc_record", "v=DMARC1; p=none; rua=mailto:a@example.com", false, Errc::parse},
      {"rua_empty", "v=TLSRPTv1; rua=", true, Errc::parse},
      {"rua_empty_entry", "v=TLSRPTv1; rua=mailto:a@example.com,,mailto:b@example.com", true, Errc::parse},
      {"rua_trailing_comma", "v=TLSRPTv1; rua=mailto:a@example.com,", true, Errc::parse},
      {"rua_twice", "v=TLSRPTv1; rua=mailto:a@example.com; rua=mailto:b@example.com", true, Errc::parse},
      {"rua_spaces_around_eq", "v=TLSRPTv1; rua = mailto:a@example.com", true, Errc::parse},
      {"empty_field", "v=TLSRPTv1;; rua=mailto:a@example.com", true, Errc::parse},
      {"field_without_eq", "v=TLSRPTv1; rua=mailto:a@example.com; junk", true, Errc::parse},
      {"ext_value_with_space", "v=TLSRPTv1; rua=mailto:a@example.com; ext=a b", true, Errc::parse},
      {"ext_value_empty", "v=TLSRPTv1; rua=mailto:a@example.com; ext=", true, Errc::parse},
      {"ext_name_bad", "v=TLSRPTv1; rua=mailto:a@example.com; -x=1", true, Errc::parse},
      {"nul", "v=TLSRPTv1; rua=mailto:a@example.com\0"s, true, Errc::parse},
      {"nul_in_uri", "v=TLSRPTv1; rua=mailto:a@exam\0ple.com"s, true, Errc::parse},
      {"newline", "v=TLSRPTv1; rua=mailto:a@example.com\n", true, Errc::parse},
      {"non_ascii", "v=TLSRPTv1; rua=mailto:j\xc3\xb6rg@example.com", true, Errc::parse},
      {"too_long", "v=TLSRPTv1; rua=https://r.example/" + std::string(limits::kTlsRptRecordBytes, 'a'), true,
       Errc::limit},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    EXPECT_EQ(is_tlsrpt_record(c.txt), c.is_tlsrpt);
    auto r = parse_record(c.txt);
    ASSERT_FALSE(r) << "accepted with " << r->rua.size() << " rua";
    EXPECT_EQ(r.error().code, c.code) << r.error().message;
  }
}

// A record with `n` rua URIs.
std::string with_rua(int n) {
  std::string txt = "v=TLSRPTv1; rua=";
  for (int i = 0; i < n; ++i) txt += (i ? "," : "") + ("mailto:r" + std::to_string(i) + "@example.com");
  return txt;
}

TEST(TlsRptRecord, RuaLimitCounts) {
  auto at = parse_record(with_rua(limits::kTlsRptMaxRua));
  ASSERT_TRUE(at) << at.error().message;
  ASSERT_EQ(at->rua.size(), static_cast<std::size_t>(limits::kTlsRptMaxRua));
  EXPECT_EQ(at->rua.back(), "mailto:r" + std::to_string(limits::kTlsRptMaxRua - 1) + "@example.com");
  auto over = parse_record(with_rua(limits::kTlsRptMaxRua + 1));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::limit);
}

TEST(TlsRptRecord, SizeLimitBoundary) {
  std::string at = "v=TLSRPTv1; rua=https://r.example/";
  at += std::string(limits::kTlsRptRecordBytes - at.size(), 'a');
  ASSERT_EQ(at.size(), limits::kTlsRptRecordBytes);
  EXPECT_TRUE(parse_record(at));
  auto over = parse_record(at + "a");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::limit);
}

TEST(TlsRptRecord, SelectNone) {
  for (const std::vector<std::string>& rrset : std::vector<std::vector<std::string>>{
           {},
           {"v=spf1 -all"},
           {"v=TLSRPTv2; rua=mailto:a@example.com", "rua=mailto:a@example.com; v=TLSRPTv1", "", "v=TLSRPTv1"},
       }) {
    auto r = select_record(rrset);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_FALSE(r->has_value());
  }
}

TEST(TlsRptRecord, SelectTheOneRecord) {
  auto r = select_record({"v=spf1 -all", "v=TLSRPTv1;rua=mailto:reports@example.com", "v=TLSRPTv2; rua=x:y"});
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_TRUE(r->has_value());
  EXPECT_EQ((*r)->rua, std::vector<std::string>{"mailto:reports@example.com"});
}

TEST(TlsRptRecord, SelectFailsWhenNotExactlyOne) {
  // §3: "If the number of resulting records is not one, senders MUST assume
  // the recipient domain does not implement TLSRPT."
  for (const std::vector<std::string>& rrset : std::vector<std::vector<std::string>>{
           {"v=TLSRPTv1;rua=mailto:a@example.com", "v=TLSRPTv1;rua=mailto:b@example.com"},
           {"v=TLSRPTv1;rua=mailto:a@example.com", "v=TLSRPTv1;rua=mailto:a@example.com"},
           {"v=TLSRPTv1;rua=mailto:a@example.com", "v=TLSRPTv1;"},
           {"v=TLSRPTv1; ext=1"},
       }) {
    auto r = select_record(rrset);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, Errc::parse);
  }
}

struct RuaCase {
  std::string uri;
  RuaKind kind;
  std::string target;  // for mailto/https
};

TEST(TlsRptRecord, ClassifyRua) {
  const std::vector<RuaCase> cases = {
      {"mailto:reports@example.com", RuaKind::mailto, "reports@example.com"},
      {"MAILTO:Reports@Example.COM", RuaKind::mailto, "Reports@example.com"},
      {"mailto:tls%2Breports@example.com", RuaKind::mailto, "tls+reports@example.com"},
      {"mailto:tls+reports@example.com?subject=TLS%20report", RuaKind::mailto, "tls+reports@example.com"},
      {"mailto:%22a%20b%22@example.com", RuaKind::mailto, "\"a b\"@example.com"},
      {"mailto:first.last@sub.example.co.uk", RuaKind::mailto, "first.last@sub.example.co.uk"},
      {"https://reporting.example.com/v1/tlsrpt", RuaKind::https, "https://reporting.example.com/v1/tlsrpt"},
      {"HTTPS://reporting.example.com", RuaKind::https, "HTTPS://reporting.example.com"},
      {"https://r.example:8443/p?q=1#f", RuaKind::https, "https://r.example:8443/p?q=1#f"},
      {"https://r.example./", RuaKind::https, "https://r.example./"},
      {"https://192.0.2.1/r", RuaKind::https, "https://192.0.2.1/r"},
      {"https://[2001:db8::1]:443/r", RuaKind::https, "https://[2001:db8::1]:443/r"},
      {"https://r.example/a%20b/~c_d.e-f", RuaKind::https, "https://r.example/a%20b/~c_d.e-f"},
      {"http://r.example/", RuaKind::unsupported_scheme, ""},
      {"ftp://r.example/", RuaKind::unsupported_scheme, ""},
      {"tel:+1-201-555-0123", RuaKind::unsupported_scheme, ""},
      {"urn:ietf:rfc:8460", RuaKind::unsupported_scheme, ""},
      {"reports@example.com", RuaKind::malformed, ""},
      {"", RuaKind::malformed, ""},
      {":x", RuaKind::malformed, ""},
      {"1mailto:a@example.com", RuaKind::malformed, ""},
      {"mai lto:a@example.com", RuaKind::malformed, ""},
      {"mailto:", RuaKind::malformed, ""},
      {"mailto:?to=a@example.com", RuaKind::malformed, ""},
      {"mailto:noat.example.com", RuaKind::malformed, ""},
      {"mailto:@example.com", RuaKind::malformed, ""},
      {"mailto:a@", RuaKind::malformed, ""},
      {"mailto:a@example..com", RuaKind::malformed, ""},
      {"mailto:a@-example.com", RuaKind::malformed, ""},
      {"mailto:a@example.com.", RuaKind::malformed, ""},
      {"mailto:a@[192.0.2.1]", RuaKind::malformed, ""},
      {"mailto:.a@example.com", RuaKind::malformed, ""},
      {"mailto:a..b@example.com", RuaKind::malformed, ""},
      {"mailto:a@example.com%2Cb@example.com", RuaKind::malformed, ""},
      {"mailto:a@example.com!10m", RuaKind::malformed, ""},  // DMARC size suffix: "!" must be encoded
      {"mailto:a%4@example.com", RuaKind::malformed, ""},
      {"mailto:a%zz@example.com", RuaKind::malformed, ""},
      {"mailto:a%00@example.com", RuaKind::malformed, ""},
      {"mailto:a%0D%0ABcc:x@example.com", RuaKind::malformed, ""},
      {"mailto:j%C3%B6rg@example.com", RuaKind::malformed, ""},
      {"mailto:" + std::string(65, 'a') + "@example.com", RuaKind::malformed, ""},
      {"mailto:a b@example.com", RuaKind::malformed, ""},
      {"https:r.example/", RuaKind::malformed, ""},
      {"https://", RuaKind::malformed, ""},
      {"https:///path", RuaKind::malformed, ""},
      {"https://user:pw@r.example/", RuaKind::malformed, ""},
      {"https://r.example:99999/", RuaKind::malformed, ""},
      {"https://r.example:x/", RuaKind::malformed, ""},
      {"https://r_x.example/", RuaKind::malformed, ""},
      {"https://999.0.2.1/", RuaKind::malformed, ""},
      {"https://[2001:db8::1/", RuaKind::malformed, ""},
      {"https://[192.0.2.1]/", RuaKind::malformed, ""},
      {"https://[::1]x/", RuaKind::malformed, ""},
      {"https://r.example/a b", RuaKind::malformed, ""},
      {"https://r.example/a\"b", RuaKind::malformed, ""},
      {"https://r.example/a[b]", RuaKind::malformed, ""},
      {"https://r.example/p#a#b", RuaKind::malformed, ""},
      {"https://r.example/%", RuaKind::malformed, ""},
      {"https://r.example/!", RuaKind::malformed, ""},
      {"https://r.example/\x01", RuaKind::malformed, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.uri);
    const RuaCheck r = classify_rua(c.uri);
    EXPECT_EQ(r.kind, c.kind) << to_string(r.kind) << ": " << r.reason;
    EXPECT_EQ(r.target, c.target);
    // A reason exactly when the URI is not used.
    EXPECT_EQ(r.reason.empty(), c.kind == RuaKind::mailto || c.kind == RuaKind::https);
    EXPECT_EQ(r.reason.find('\n'), std::string::npos);
  }
}

TEST(TlsRptRecord, CheckRuaKeepsOrder) {
  auto r = parse_record("v=TLSRPTv1; rua=mailto:a@example.com,http://x.example/,https://r.example/,bogus");
  ASSERT_TRUE(r) << r.error().message;
  const auto checks = check_rua(*r);
  ASSERT_EQ(checks.size(), 4u);
  EXPECT_EQ(checks[0].kind, RuaKind::mailto);
  EXPECT_EQ(checks[1].kind, RuaKind::unsupported_scheme);
  EXPECT_EQ(checks[2].kind, RuaKind::https);
  EXPECT_EQ(checks[3].kind, RuaKind::malformed);
  EXPECT_EQ(std::string(to_string(RuaKind::unsupported_scheme)), "unsupported-scheme");
}

}  // namespace
}  // namespace mxsec::policy::tlsrpt

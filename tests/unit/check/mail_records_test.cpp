// Unit tests for check/mail_records.cpp: each finding code is triggered by a
// minimal zone (FakeResolver) and asserted by code and severity; a clean
// domain yields no warning or error; DNS failures are findings, never "not
// published"; the fixed JSON keys spf.record, dmarc.policy and tls_rpt.rua.
#include "check/mail_records.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <optional>
#include <string>
#include <vector>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::check {
namespace {

// Public keys (SubjectPublicKeyInfo, base64) made with openssl genpkey.
constexpr const char* kRsa512 =
    "MFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBANa4FkwKb9y9pwCv3+prEsx/Por2qFZ+S9TkUU5cNJPS7MH+KCA0bSlUzlJpt53+WhDzwwKIjhg27qhSr"
    "BaK1AUCAwEAAQ==";
constexpr const char* kRsa1024 =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDIBVhJOjNkyqlLCxENgaVS8GU8InRGnpp9iBVt2BUSfEDmX8LZolr2ofJ24eirG4nsS4V1zPBEh"
    "CERIq0J7XRaZ3ut14wWRdRBcf1ku7sxXZLcQr6BI3DsPemyV1KYvBxBiF3P8YaWPM7AzjtGZEIakRuzwxlZb4avf2bXNe8powIDAQAB";
constexpr const char* kRsa2048a = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA7OhEqrK3ufTxJpchyMtUGEhJPIQRirfAE32L5v5LIjXWVnScDq0EdMNace1XHja92ghff1cSYl5SARcIjGjY6EBw39SsK5w4sapYt/k8RTRzgjyHeJlaisPbJGBPp7gbz870itWK0fIfXNL/7vvxmFCJmELw";
constexpr const char* kRsa2048b = "z4uA5nVYob//iOKXHdvdDdAwIh/6tM1PmsVrXbV/SfLGnA9z8JSgsydqXZNz4aJd8iWlbbWYRyOdzXFEjD+AjGKOPNArrlEKlc7xm0qSHByyI45uPzQnnMrSohZmf4CD5lwU5jzW3nmodqcyym8G8/qGjmlmE3oMpVFhSlhKS6L0oyxfXBhnUJ3I3QIDAQAB";
constexpr const char* kRsa4608 =
    "MIICYjANBgkqhkiG9w0BAQEFAAOCAk8AMIICSgKCAkEAqAd+ly26w1qAvDGVNkysfDQDxdOpQCNeu/eJeLssOj3hAkBuhQ1YNgMJmRJx9ZVyhn"
    "4oQee5/EyMzha3OSk7AyiY/T8L4RUW/OtAuH9o6Ws/WM/cRUwuDYZltwHKMETyS09hfV9IebqlOYp2Xp24DkbvYnTIlXFwKekmtkiA9KFFYqH9"
    "4iman6wApHb0ahks9gADN0I19o5+Ji5AgIVxJ4nyexOabD/+EQqFVvxB/Dp9bsS/yY5kJQ50xL6CnZ9vGOVJwkkv0D32P+4sHLY8CnqSWhsNBK"
    "A9UKcfETMKVTz6TP/r0s5OGOkUHtuwKy0s+B19jCs4JJQ136qglegE+CkNOWkTOdrFUFQL5E0u9nZ091VzjsyeOIdvndOQdNmzzm+SmQmk+6mu"
    "93Np2aQ2rkgM6S1g5O/NTVq2zd2benRNCtDO0JUj8khzMEt7omErgPR+/iWPxqFMRqJvg/retrSw/vndWPC7OAJTD+ADkyURYcgzlksnDTo8hA"
    "5Ame2PGXeLQZvLffVBEvB9EsHt8mP524vMt5Xbmj7zmuxDVEzK4VBlT2jU2y1VRhO8uOpxv0/qVqAVwCmTa1eX9OIOqrMxy1G7nmcVTeul2tnq"
    "9qgUDC01wA6XfGJQ1SH+hBrlwd/JaLGXLNfKnTZZuBwgtlnv893uPWFQQ8FYVi5RuhLKhgt4+KorQS4lF74jGyF/FzC9+gB79ZN2NlNDXEuhFY"
    "lGRKRBnO7JxF54eMEs55Yfm4NUwrPvmDsUw3VwBf71AgMBAAE=";
constexpr const char* kEd25519 = "BqmjVEZAN8/hKEXpflDu+EvIzNQZ7OXesZy5bgfBCS4=";

std::string rsa2048_txt(const std::string& name, const std::string& tags = "v=DKIM1; k=rsa; ") {
  return name + " TXT \"" + tags + "p=" + kRsa2048a + "\" \"" + kRsa2048b + "\"\n";
}

// A zone line for a TXT record, the text split into character-strings of at
// most 200 octets.
std::string txt(const std::string& owner, const std::string& text) {
  std::string line = owner + " TXT";
  for (std::size_t i = 0; i < text.size(); i += 200) line += " \"" + text.substr(i, 200) + "\"";
  return line;
}

// A domain that does everything right.
std::string clean_zone() {
  return "example.com TXT \"v=spf1 ip4:192.0.2.0/24 include:_spf.example.net mx -all\"\n"
         "example.com MX 10 mx.example.com\n"
         "_spf.example.net TXT \"v=spf1 ip6:2001:db8::/32 -all\"\n"
         "_dmarc.example.com TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@example.com\"\n"
         "_smtp._tls.example.com TXT \"v=TLSRPTv1; rua=mailto:tls@example.com\"\n" +
         rsa2048_txt("s1._domainkey.example.com") +
         "s2._domainkey.example.com TXT \"v=DKIM1; k=ed25519; p=" + kEd25519 + "\"\n";
}

struct Checked {
  SpfSection spf;
  DmarcSection dmarc;
  DkimSection dkim;
  TlsRptSection tlsrpt;
  Findings findings;
  std::size_t queries = 0;
};

Checked check_all(dns::FakeResolver& dns, const std::string& domain = "example.com",
                  std::vector<std::string> selectors = {"s1", "s2"}, SpfWalkLimits limits = {}) {
  Checked c;
  asio::io_context io;
  c.spf = run_sync(io, check_spf(dns, domain, c.findings, limits));
  c.dmarc = run_sync(io, check_dmarc(dns, domain, c.findings));
  c.dkim = run_sync(io, check_dkim(dns, domain, selectors, c.findings));
  c.tlsrpt = run_sync(io, check_tlsrpt(dns, domain, c.findings));
  c.queries = dns.query_count();
  return c;
}

Checked check_zone(const std::string& zone, std::vector<std::string> selectors = {"s1", "s2"}) {
  dns::FakeResolver dns;
  auto loaded = dns.load_zone_text(zone);
  if (!loaded) ADD_FAILURE() << "zone does not load: " << loaded.error().message << "\n" << zone;
  return check_all(dns, "example.com", std::move(selectors));
}

std::string dump(const Findings& f) {
  std::string out;
  for (const Finding& x : f) out += std::string(to_string(x.severity)) + " " + x.code + ": " + x.message + "\n";
  return out;
}

const Finding* find(const Findings& f, const std::string& code) {
  for (const Finding& x : f)
    if (x.code == code) return &x;
  return nullptr;
}

int count(const Findings& f, const std::string& code) {
  int n = 0;
  for (const Finding& x : f) n += x.code == code;
  return n;
}

// The clean zone with the line that starts with `owner_type` replaced by
// `line` (removed when `line` is empty), and `extra` appended.
std::string clean_with(const std::string& owner_type, const std::string& line, const std::string& extra = "") {
  std::string zone = clean_zone(), out;
  std::size_t pos = 0;
  bool replaced = false;
  while (pos < zone.size()) {
    std::size_t end = zone.find('\n', pos);
    std::string l = zone.substr(pos, end - pos);
    pos = end + 1;
    if (!replaced && l.rfind(owner_type + " ", 0) == 0) {
      replaced = true;
      if (!line.empty()) out += line + "\n";
      continue;
    }
    out += l + "\n";
  }
  if (!replaced) ADD_FAILURE() << "no line " << owner_type << " in the clean zone";
  return out + extra;
}

TEST(MailRecords, CleanDomainHasNoWarningsOrErrors) {
  const Checked c = check_zone(clean_zone());
  for (const Finding& f : c.findings) EXPECT_EQ(f.severity, Severity::info) << dump(c.findings);
  EXPECT_EQ(c.spf.record, "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net mx -all");
  EXPECT_TRUE(c.spf.syntax_ok);
  EXPECT_EQ(c.spf.lookups, 2);  // include, mx
  EXPECT_TRUE(c.spf.lookups_exact);
  EXPECT_EQ(c.spf.void_lookups, 0);
  EXPECT_EQ(c.spf.all, "-all");
  EXPECT_EQ(c.dmarc.policy, "reject");
  EXPECT_EQ(c.dmarc.found_at, "domain");
  ASSERT_EQ(c.dkim.selectors.size(), 2u);
  EXPECT_EQ(c.dkim.selectors[0].bits, 2048);
  EXPECT_EQ(c.dkim.selectors[0].key_type, "rsa");
  EXPECT_EQ(c.dkim.selectors[1].key_type, "ed25519");
  EXPECT_EQ(c.dkim.selectors[1].bits, 256);
  ASSERT_EQ(c.tlsrpt.rua.size(), 1u);
  EXPECT_EQ(c.tlsrpt.rua[0].kind, "mailto");
  // Bounded work: SPF 3 (TXT, include TXT, MX), DMARC 1, DKIM 2, TLS-RPT 1.
  EXPECT_EQ(c.queries, 7u);
}

struct CodeCase {
  const char* name;
  std::string zone;
  const char* code;
  Severity severity;
};

std::vector<CodeCase> code_cases() {
  const std::string spf = "example.com TXT";
  const std::string dmarc = "_dmarc.example.com TXT";
  const std::string tls = "_smtp._tls.example.com TXT";
  const std::string s1 = "s1._domainkey.example.com TXT";
  std::string eleven = "v=spf1";
  std::string eleven_zone;
  for (int i = 0; i < 11; ++i) {
    eleven += " include:i" + std::to_string(i) + ".example.net";
    eleven_zone += "i" + std::to_string(i) + ".example.net TXT \"v=spf1 -all\"\n";
  }
  eleven += " -all";
  // 30 ip4 terms (about 500 bytes) in character-strings of at most 200.
  std::string text = "v=spf1";
  for (int i = 1; i <= 30; ++i) text += " ip4:198.51.100." + std::to_string(i);
  text += " -all";
  const std::string long_spf = txt("example.com", text);
  return {
      // SPF
      {"spf_missing", clean_with(spf, ""), "spf-missing", Severity::error},
      {"spf_multiple", clean_with(spf, spf + " \"v=spf1 -all\"", spf + " \"v=spf1 mx -all\"\n"), "spf-multiple",
       Severity::error},
      {"spf_syntax", clean_with(spf, spf + " \"v=spf1 ip4:192.0.2 -all\""), "spf-syntax", Severity::error},
      {"spf_plus_all", clean_with(spf, spf + " \"v=spf1 +all\""), "spf-plus-all", Severity::error},
      {"spf_bare_all_is_plus", clean_with(spf, spf + " \"v=spf1 mx all\""), "spf-plus-all", Severity::error},
      {"spf_neutral_all", clean_with(spf, spf + " \"v=spf1 mx ?all\""), "spf-neutral-all", Severity::warning},
      {"spf_softfail_all", clean_with(spf, spf + " \"v=spf1 mx ~all\""), "spf-softfail-all", Severity::info},
      {"spf_no_all", clean_with(spf, spf + " \"v=spf1 mx\""), "spf-no-all", Severity::warning},
      {"spf_too_many_lookups", clean_with(spf, txt("example.com", eleven), eleven_zone), "spf-too-many-lookups", Severity::error},
      {"spf_void_lookups",
       clean_with(spf, spf + " \"v=spf1 a:n1.example.com a:n2.example.com exists:n3.example.com -all\""),
       "spf-void-lookups", Severity::error},
      {"spf_ptr", clean_with(spf, spf + " \"v=spf1 ptr -all\""), "spf-ptr", Severity::warning},
      {"spf_ptr_in_include", clean_with("_spf.example.net TXT", "_spf.example.net TXT \"v=spf1 ptr:x.example -all\""),
       "spf-ptr", Severity::warning},
      {"spf_include_missing", clean_with("_spf.example.net TXT", ""), "spf-include-missing", Severity::error},
      {"spf_include_syntax", clean_with("_spf.example.net TXT", "_spf.example.net TXT \"v=spf1 foo -all\""),
       "spf-syntax", Severity::error},
      {"spf_include_multiple",
       clean_with("_spf.example.net TXT", "_spf.example.net TXT \"v=spf1 -all\"",
                  "_spf.example.net TXT \"v=spf1 ?all\"\n"),
       "spf-multiple", Severity::error},
      {"spf_redirect_missing", clean_with(spf, spf + " \"v=spf1 redirect=_spf.example.org\""),
       "spf-redirect-missing", Severity::error},
      {"spf_redirect_ignored", clean_with(spf, spf + " \"v=spf1 -all redirect=_spf.example.net\""),
       "spf-redirect-ignored", Severity::warning},
      {"spf_loop",
       clean_with(spf, spf + " \"v=spf1 include:a.example.org -all\"",
                  "a.example.org TXT \"v=spf1 include:b.example.org -all\"\n"
                  "b.example.org TXT \"v=spf1 include:a.example.org -all\"\n"),
       "spf-loop", Severity::error},
      {"spf_after_all", clean_with(spf, spf + " \"v=spf1 -all mx\""), "spf-after-all", Severity::warning},
      {"spf_exp_invalid", clean_with(spf, spf + " \"v=spf1 mx -all exp=explain.example.com\""), "spf-exp-invalid",
       Severity::warning},
      {"spf_record_long", clean_with(spf, long_spf), "spf-record-long", Severity::warning},
      {"spf_mx_too_many",
       clean_with(spf, spf + " \"v=spf1 mx:many.example.com -all\"",
                  "many.example.com MX 1 a.example\nmany.example.com MX 2 b.example\nmany.example.com MX 3 c.example\n"
                  "many.example.com MX 4 d.example\nmany.example.com MX 5 e.example\nmany.example.com MX 6 f.example\n"
                  "many.example.com MX 7 g.example\nmany.example.com MX 8 h.example\nmany.example.com MX 9 i.example\n"
                  "many.example.com MX 10 j.example\nmany.example.com MX 11 k.example\n"),
       "spf-mx-too-many", Severity::error},
      {"spf_txt_servfail", clean_with(spf, spf + " !servfail"), "dns-failure", Severity::error},
      {"spf_include_bogus", clean_with("_spf.example.net TXT", "_spf.example.net TXT !bogus"), "dns-failure",
       Severity::error},
      // DMARC
      {"dmarc_missing", clean_with(dmarc, ""), "dmarc-missing", Severity::error},
      {"dmarc_p_none", clean_with(dmarc, dmarc + " \"v=DMARC1; p=none; rua=mailto:d@example.com\""), "dmarc-p-none",
       Severity::warning},
      {"dmarc_sp_none", clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com\""),
       "dmarc-sp-none", Severity::warning},
      {"dmarc_np_none", clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; np=none; rua=mailto:d@example.com\""),
       "dmarc-np-none", Severity::warning},
      {"dmarc_syntax", clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; adkim=x; rua=mailto:d@example.com\""),
       "dmarc-syntax", Severity::error},
      {"dmarc_no_p_no_rua", clean_with(dmarc, dmarc + " \"v=DMARC1; adkim=s\""), "dmarc-syntax", Severity::error},
      {"dmarc_multiple",
       clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject\"", dmarc + " \"v=DMARC1; p=none\"\n"), "dmarc-multiple",
       Severity::error},
      {"dmarc_no_rua", clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject\""), "dmarc-no-rua", Severity::warning},
      {"dmarc_bad_report_uri",
       clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; rua=mailto:d@example.com,https://r.example.com/x\""),
       "dmarc-bad-report-uri", Severity::warning},
      {"dmarc_external_rua_unauthorized",
       clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; rua=mailto:d@reports.example.net\""),
       "dmarc-external-rua-unauthorized", Severity::warning},
      {"dmarc_external_ruf_unauthorized",
       clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; rua=mailto:d@example.com; ruf=mailto:f@reports.example.net\""),
       "dmarc-external-ruf-unauthorized", Severity::warning},
      {"dmarc_external_auth_servfail",
       clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; rua=mailto:d@reports.example.net\"",
                  "example.com._report._dmarc.reports.example.net TXT !servfail\n"),
       "dns-failure", Severity::error},
      {"dmarc_deprecated_pct",
       clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; pct=50; rua=mailto:d@example.com\""),
       "dmarc-deprecated-tag", Severity::warning},
      {"dmarc_deprecated_ri",
       clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; ri=3600; rua=mailto:d@example.com\""),
       "dmarc-deprecated-tag", Severity::info},
      {"dmarc_testing", clean_with(dmarc, dmarc + " \"v=DMARC1; p=reject; t=y; rua=mailto:d@example.com\""),
       "dmarc-testing", Severity::warning},
      {"dmarc_servfail", clean_with(dmarc, dmarc + " !servfail"), "dns-failure", Severity::error},
      {"dmarc_bogus", clean_with(dmarc, dmarc + " !bogus"), "dns-failure", Severity::error},
      {"dmarc_timeout", clean_with(dmarc, dmarc + " !timeout"), "dns-failure", Severity::error},
      // DKIM
      {"dkim_key_missing", clean_with(s1, ""), "dkim-key-missing", Severity::error},
      {"dkim_rsa_weak", clean_with(s1, s1 + " \"v=DKIM1; k=rsa; p=" + kRsa512 + "\""), "dkim-rsa-weak",
       Severity::error},
      {"dkim_rsa_short", clean_with(s1, s1 + " \"v=DKIM1; p=" + kRsa1024 + "\""), "dkim-rsa-short",
       Severity::warning},
      {"dkim_rsa_large", clean_with(s1, txt("s1._domainkey.example.com", std::string("v=DKIM1; p=") + kRsa4608)),
       "dkim-rsa-large", Severity::warning},
      {"dkim_testing", clean_with(s1, rsa2048_txt("s1._domainkey.example.com", "v=DKIM1; t=y; ")), "dkim-testing",
       Severity::warning},
      {"dkim_revoked", clean_with(s1, s1 + " \"v=DKIM1; k=rsa; p=\""), "dkim-revoked", Severity::warning},
      {"dkim_sha1_only", clean_with(s1, rsa2048_txt("s1._domainkey.example.com", "v=DKIM1; h=sha1; ")),
       "dkim-sha1-only", Severity::error},
      {"dkim_syntax_no_p", clean_with(s1, s1 + " \"v=DKIM1; k=rsa\""), "dkim-syntax", Severity::error},
      {"dkim_syntax_bad_key", clean_with(s1, s1 + " \"v=DKIM1; k=rsa; p=AAAA\""), "dkim-syntax", Severity::error},
      {"dkim_unknown_k", clean_with(s1, s1 + " \"v=DKIM1; k=dsa; p=AAAA\""), "dkim-key-unusable", Severity::error},
      {"dkim_multiple", clean_with(s1, rsa2048_txt("s1._domainkey.example.com"), s1 + " \"v=DKIM1; p=\"\n"),
       "dkim-multiple", Severity::warning},
      {"dkim_servfail", clean_with(s1, s1 + " !servfail"), "dns-failure", Severity::error},
      // TLS-RPT
      {"tlsrpt_missing", clean_with(tls, ""), "tlsrpt-missing", Severity::info},
      {"tlsrpt_multiple", clean_with(tls, tls + " \"v=TLSRPTv1; rua=mailto:a@example.com\"",
                                     tls + " \"v=TLSRPTv1; rua=mailto:b@example.com\"\n"),
       "tlsrpt-multiple", Severity::error},
      {"tlsrpt_syntax_no_rua", clean_with(tls, tls + " \"v=TLSRPTv1; ruf=mailto:a@example.com\""), "tlsrpt-syntax",
       Severity::error},
      {"tlsrpt_syntax_bad_version", clean_with(tls, tls + " \"v=TLSRPTv2; rua=mailto:a@example.com\""),
       "tlsrpt-syntax", Severity::error},
      {"tlsrpt_bad_rua", clean_with(tls, tls + " \"v=TLSRPTv1; rua=mailto:a@example.com,ftp://x.example.com/\""),
       "tlsrpt-bad-rua", Severity::warning},
      {"tlsrpt_no_usable_rua", clean_with(tls, tls + " \"v=TLSRPTv1; rua=ftp://x.example.com/\""),
       "tlsrpt-no-usable-rua", Severity::error},
      {"tlsrpt_servfail", clean_with(tls, tls + " !servfail"), "dns-failure", Severity::error},
  };
}

class FindingCode : public ::testing::TestWithParam<CodeCase> {};

TEST_P(FindingCode, IsReportedWithItsSeverity) {
  const CodeCase& c = GetParam();
  const Checked r = check_zone(c.zone);
  const Finding* f = find(r.findings, c.code);
  ASSERT_NE(f, nullptr) << "expected " << c.code << ", got:\n" << dump(r.findings);
  EXPECT_EQ(f->severity, c.severity) << f->message;
  EXPECT_FALSE(f->message.empty());
  // The clean zone does not produce it: the finding comes from the change.
  const Checked clean = check_zone(clean_zone());
  EXPECT_EQ(find(clean.findings, c.code), nullptr) << c.code;
}

INSTANTIATE_TEST_SUITE_P(Codes, FindingCode, ::testing::ValuesIn(code_cases()),
                         [](const ::testing::TestParamInfo<CodeCase>& i) { return std::string(i.param.name); });

// ---------------------------------------------------------------- SPF ---

TEST(Spf, LookupCountWalksTheWholeTreeAndIsNotCappedAtEleven) {
  std::string text = "v=spf1";
  for (int i = 0; i < 14; ++i) text += " include:i" + std::to_string(i) + ".example.net";
  std::string zone = txt("example.com", text + " -all") + "\n";
  for (int i = 0; i < 14; ++i) zone += "i" + std::to_string(i) + ".example.net TXT \"v=spf1 a mx -all\"\n"
                                       "i" + std::to_string(i) + ".example.net A 192.0.2.1\n"
                                       "i" + std::to_string(i) + ".example.net MX 1 mx.example.net\n";
  dns::FakeResolver dns;
  ASSERT_TRUE(dns.load_zone_text(zone));
  Findings f;
  asio::io_context io;
  const SpfSection s = run_sync(io, check_spf(dns, "example.com", f));
  EXPECT_EQ(s.lookups, 14 * 3);
  EXPECT_TRUE(s.lookups_exact);
  EXPECT_EQ(s.void_lookups, 0);
  const Finding* too_many = find(f, "spf-too-many-lookups");
  ASSERT_NE(too_many, nullptr);
  EXPECT_NE(too_many->message.find("42"), std::string::npos) << too_many->message;
}

TEST(Spf, WalkIsBoundedByRecordsFetched) {
  // A chain i0 -> i1 -> ... -> i59: the walk stops at max_records and says
  // the count is a lower bound.
  std::string zone = "example.com TXT \"v=spf1 include:i0.example.net -all\"\n";
  for (int i = 0; i < 60; ++i) {
    zone += "i" + std::to_string(i) + ".example.net TXT \"v=spf1 include:j" + std::to_string(i) +
            ".example.net include:i" + std::to_string(i + 1) + ".example.net -all\"\n";
    zone += "j" + std::to_string(i) + ".example.net TXT \"v=spf1 -all\"\n";
  }
  dns::FakeResolver dns;
  ASSERT_TRUE(dns.load_zone_text(zone));
  Findings f;
  asio::io_context io;
  SpfWalkLimits limits;
  limits.max_depth = 100;
  limits.max_records = 7;
  const SpfSection s = run_sync(io, check_spf(dns, "example.com", f, limits));
  EXPECT_FALSE(s.lookups_exact);
  EXPECT_LE(dns.query_count(), 1u + 7u);
  const Finding* inexact = find(f, "spf-lookups-inexact");
  ASSERT_NE(inexact, nullptr) << dump(f);
  EXPECT_EQ(inexact->severity, Severity::info);
  EXPECT_NE(inexact->message.find("more than 7 SPF records"), std::string::npos) << inexact->message;
}

TEST(Spf, DepthBoundStopsTheWalk) {
  std::string zone = "example.com TXT \"v=spf1 include:i0.example.net -all\"\n";
  for (int i = 0; i < 30; ++i)
    zone += "i" + std::to_string(i) + ".example.net TXT \"v=spf1 include:i" + std::to_string(i + 1) +
            ".example.net -all\"\n";
  dns::FakeResolver dns;
  ASSERT_TRUE(dns.load_zone_text(zone));
  Findings f;
  asio::io_context io;
  const SpfSection s = run_sync(io, check_spf(dns, "example.com", f));
  EXPECT_FALSE(s.lookups_exact);
  EXPECT_LE(dns.query_count(), 1u + static_cast<std::size_t>(limits::kSpfDnsTerms));
  EXPECT_NE(find(f, "spf-too-many-lookups"), nullptr) << dump(f);
}

TEST(Spf, AllComesFromTheRedirectTarget) {
  const Checked c = check_zone(clean_with("example.com TXT", "example.com TXT \"v=spf1 mx redirect=_spf.example.net\""));
  EXPECT_EQ(c.spf.all, "-all");
  EXPECT_EQ(c.spf.redirect, "_spf.example.net");
  EXPECT_EQ(c.spf.lookups, 2);  // mx, redirect
  EXPECT_EQ(find(c.findings, "spf-no-all"), nullptr) << dump(c.findings);
  const Checked plus = check_zone(clean_with("example.com TXT", "example.com TXT \"v=spf1 redirect=p.example.net\"",
                                             "p.example.net TXT \"v=spf1 +all\"\n"));
  EXPECT_EQ(plus.spf.all, "+all");
  EXPECT_NE(find(plus.findings, "spf-plus-all"), nullptr);
}

TEST(Spf, MacroTargetsCountButAreNotResolved) {
  dns::FakeResolver dns;
  ASSERT_TRUE(dns.load_zone_text("example.com TXT \"v=spf1 exists:%{i}.x.example.com include:%{d}.example.net -all\"\n"
                                 "example.com.example.net TXT \"v=spf1 -all\"\n"));
  Findings f;
  asio::io_context io;
  const SpfSection s = run_sync(io, check_spf(dns, "example.com", f));
  EXPECT_EQ(s.lookups, 2);
  EXPECT_FALSE(s.lookups_exact);  // exists:%{i}
  EXPECT_EQ(s.includes, std::vector<std::string>{"example.com.example.net"});  // %{d} is known
  EXPECT_EQ(dns.query_count(), 2u);
  EXPECT_NE(find(f, "spf-lookups-inexact"), nullptr) << dump(f);
}

TEST(Spf, VoidLookupsFromIncludeTargetsAndAddresses) {
  const Checked c = check_zone(clean_with(
      "example.com TXT", "example.com TXT \"v=spf1 a:gone.example.com mx:gone2.example.com include:nx.example.org -all\""));
  EXPECT_EQ(c.spf.void_lookups, 3);
  EXPECT_EQ(c.spf.lookups, 3);
  EXPECT_NE(find(c.findings, "spf-void-lookups"), nullptr);
  EXPECT_NE(find(c.findings, "spf-include-missing"), nullptr);
}

TEST(Spf, DnsFailureIsNotReportedAsMissing) {
  for (const char* outcome : {"!servfail", "!timeout", "!bogus"}) {
    const Checked c = check_zone(clean_with("example.com TXT", std::string("example.com TXT ") + outcome));
    EXPECT_EQ(find(c.findings, "spf-missing"), nullptr) << outcome;
    const Finding* f = find(c.findings, "dns-failure");
    ASSERT_NE(f, nullptr) << outcome;
    EXPECT_NE(f->message.find("example.com"), std::string::npos);
    EXPECT_FALSE(c.spf.dns_error.empty());
    EXPECT_FALSE(c.spf.record);
  }
  const Checked bogus = check_zone(clean_with("example.com TXT", "example.com TXT !bogus"));
  EXPECT_NE(find(bogus.findings, "dns-failure")->message.find("DNSSEC"), std::string::npos);
}

TEST(Spf, NonSpfTxtRecordsAreIgnored) {
  const Checked c = check_zone(clean_zone() + "example.com TXT \"google-site-verification=abc\"\n"
                                              "example.com TXT \"v=spf10 nope\"\n");
  EXPECT_EQ(count(c.findings, "spf-multiple"), 0) << dump(c.findings);
  EXPECT_TRUE(c.spf.record);
}

TEST(Spf, HostileRecordTextIsEscapedInMessages) {
  const Checked c = check_zone(clean_with("example.com TXT", "example.com TXT \"v=spf1 ip4:\\001\\n -all\""));
  const Finding* f = find(c.findings, "spf-syntax");
  ASSERT_NE(f, nullptr) << dump(c.findings);
  for (char ch : f->message) EXPECT_FALSE(static_cast<unsigned char>(ch) < 0x20) << f->message;
}

// -------------------------------------------------------------- DMARC ---

TEST(Dmarc, InheritedFromTheOrganizationalDomain) {
  dns::FakeResolver dns;
  ASSERT_TRUE(dns.load_zone_text("_dmarc.example.com TXT \"v=DMARC1; p=reject; sp=quarantine; rua=mailto:d@example.com\"\n"
                                 "sub.example.com A 192.0.2.1\n"));
  Findings f;
  asio::io_context io;
  const DmarcSection s = run_sync(io, check_dmarc(dns, "sub.example.com", f));
  EXPECT_EQ(s.found_at, "organizational_domain");
  EXPECT_EQ(s.record_domain, "example.com");
  EXPECT_EQ(s.policy, "quarantine");  // sp applies to the sub-domain
  EXPECT_EQ(s.p, "reject");
  EXPECT_EQ(s.sp, "quarantine");
  const Finding* inh = find(f, "dmarc-inherited");
  ASSERT_NE(inh, nullptr) << dump(f);
  EXPECT_EQ(inh->severity, Severity::info);
  for (const Finding& x : f) EXPECT_EQ(x.severity, Severity::info) << dump(f);
}

TEST(Dmarc, InheritedNoneIsStillMonitoringOnly) {
  dns::FakeResolver dns;
  ASSERT_TRUE(dns.load_zone_text("_dmarc.example.com TXT \"v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com\"\n"));
  Findings f;
  asio::io_context io;
  const DmarcSection s = run_sync(io, check_dmarc(dns, "sub.example.com", f));
  EXPECT_EQ(s.policy, "none");
  EXPECT_NE(find(f, "dmarc-p-none"), nullptr) << dump(f);
}

TEST(Dmarc, MultipleRecordsAreNotReportedAsMissing) {
  const Checked c = check_zone(clean_with("_dmarc.example.com TXT", "_dmarc.example.com TXT \"v=DMARC1; p=reject\"",
                                          "_dmarc.example.com TXT \"v=DMARC1; p=none\"\n"));
  EXPECT_TRUE(c.dmarc.multiple);
  EXPECT_EQ(find(c.findings, "dmarc-missing"), nullptr) << dump(c.findings);
  EXPECT_FALSE(c.dmarc.policy);
}

TEST(Dmarc, ExternalDestinations) {
  const Checked c = check_zone(clean_with(
      "_dmarc.example.com TXT",
      "_dmarc.example.com TXT \"v=DMARC1; p=reject; rua=mailto:a@example.com,mailto:b@ok.example.net,"
      "mailto:c@bad.example.org\"",
      "example.com._report._dmarc.ok.example.net TXT \"v=DMARC1\"\n"));
  ASSERT_EQ(c.dmarc.external_destinations.size(), 2u) << dump(c.findings);
  EXPECT_EQ(c.dmarc.external_destinations[0].uri, "mailto:b@ok.example.net");
  EXPECT_EQ(c.dmarc.external_destinations[0].authorization, "authorized");
  EXPECT_EQ(c.dmarc.external_destinations[1].authorization, "not-authorized");
  EXPECT_EQ(count(c.findings, "dmarc-external-rua-unauthorized"), 1);
  EXPECT_NE(find(c.findings, "dmarc-external-rua-unauthorized")->message.find("mailto:c@bad.example.org"),
            std::string::npos);
  const nlohmann::json j = c.dmarc.to_json();
  EXPECT_EQ(j["external_destinations"][0]["authorized"], true);
  EXPECT_EQ(j["external_destinations"][1]["authorized"], false);
}

TEST(Dmarc, DeprecatedTagsAreListed) {
  const Checked c = check_zone(clean_with(
      "_dmarc.example.com TXT", "_dmarc.example.com TXT \"v=DMARC1; p=reject; pct=100; rf=afrf; ri=86400; rua=mailto:d@example.com\""));
  EXPECT_EQ(c.dmarc.deprecated_tags, (std::vector<std::string>{"pct", "rf", "ri"}));
  EXPECT_EQ(count(c.findings, "dmarc-deprecated-tag"), 3);
}

TEST(Dmarc, TreeWalkFailureIsDnsFailure) {
  dns::FakeResolver dns;
  ASSERT_TRUE(dns.load_zone_text("_dmarc.example.com TXT !servfail\n"));
  Findings f;
  asio::io_context io;
  const DmarcSection s = run_sync(io, check_dmarc(dns, "sub.example.com", f));
  EXPECT_NE(find(f, "dns-failure"), nullptr) << dump(f);
  EXPECT_EQ(find(f, "dmarc-missing"), nullptr);
  EXPECT_FALSE(s.dns_error.empty());
}

// --------------------------------------------------------------- DKIM ---

TEST(Dkim, NoSelectorIsInfoAndAsksNothing) {
  dns::FakeResolver dns;
  Findings f;
  asio::io_context io;
  const DkimSection s = run_sync(io, check_dkim(dns, "example.com", {}, f));
  EXPECT_TRUE(s.selectors.empty());
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "dkim-no-selector");
  EXPECT_EQ(f[0].severity, Severity::info);
  EXPECT_EQ(dns.query_count(), 0u);
}

TEST(Dkim, KeySizes) {
  struct Case {
    const char* p;
    int bits;
    const char* code;
  };
  for (const Case& k : {Case{kRsa512, 512, "dkim-rsa-weak"}, Case{kRsa1024, 1024, "dkim-rsa-short"},
                        Case{kRsa4608, 4608, "dkim-rsa-large"}}) {
    const Checked c = check_zone(
        clean_with("s1._domainkey.example.com TXT", txt("s1._domainkey.example.com", std::string("v=DKIM1; p=") + k.p)),
        {"s1"});
    ASSERT_EQ(c.dkim.selectors.size(), 1u);
    EXPECT_TRUE(c.dkim.selectors[0].found);
    EXPECT_EQ(c.dkim.selectors[0].bits, k.bits);
    EXPECT_EQ(count(c.findings, k.code), 1) << dump(c.findings);
  }
}

TEST(Dkim, MissingAndFailedSelectorsAreDistinct) {
  const Checked c = check_zone(clean_zone() + "s3._domainkey.example.com TXT !timeout\n", {"s1", "nope", "s3", "bad..x"});
  ASSERT_EQ(c.dkim.selectors.size(), 4u);
  EXPECT_TRUE(c.dkim.selectors[0].found);
  EXPECT_FALSE(c.dkim.selectors[1].found);
  EXPECT_TRUE(c.dkim.selectors[1].dns_error.empty());
  EXPECT_FALSE(c.dkim.selectors[2].found);
  EXPECT_EQ(c.dkim.selectors[2].dns_error, "DNS timeout for TXT s3._domainkey.example.com");
  EXPECT_EQ(count(c.findings, "dkim-key-missing"), 1) << dump(c.findings);
  EXPECT_EQ(count(c.findings, "dns-failure"), 1);
  EXPECT_EQ(count(c.findings, "dkim-selector-invalid"), 1);
}

TEST(Dkim, RevokedKeyHasNoSize) {
  const Checked c = check_zone(clean_with("s1._domainkey.example.com TXT", "s1._domainkey.example.com TXT \"v=DKIM1; p=\""),
                               {"s1"});
  ASSERT_EQ(c.dkim.selectors.size(), 1u);
  EXPECT_TRUE(c.dkim.selectors[0].revoked);
  EXPECT_FALSE(c.dkim.selectors[0].bits);
}

// ------------------------------------------------------------ TLS-RPT ---

TEST(TlsRpt, RuaListIsClassified) {
  const Checked c = check_zone(clean_with(
      "_smtp._tls.example.com TXT",
      "_smtp._tls.example.com TXT \"v=TLSRPTv1; rua=mailto:a@example.com,https://r.example.com/tlsrpt\""));
  ASSERT_EQ(c.tlsrpt.rua.size(), 2u);
  EXPECT_EQ(c.tlsrpt.rua[0].kind, "mailto");
  EXPECT_EQ(c.tlsrpt.rua[1].kind, "https");
  EXPECT_EQ(count(c.findings, "tlsrpt-bad-rua"), 0);
}

TEST(TlsRpt, DnsFailureIsNotMissing) {
  const Checked c = check_zone(clean_with("_smtp._tls.example.com TXT", "_smtp._tls.example.com TXT !bogus"));
  EXPECT_EQ(find(c.findings, "tlsrpt-missing"), nullptr);
  EXPECT_NE(find(c.findings, "dns-failure"), nullptr);
  EXPECT_FALSE(c.tlsrpt.dns_error.empty());
}

// --------------------------------------------------------------- JSON ---

TEST(Json, FixedKeys) {
  const Checked c = check_zone(clean_zone());
  const nlohmann::json spf = c.spf.to_json();
  ASSERT_TRUE(spf.contains("record"));
  EXPECT_EQ(spf["record"], "v=spf1 ip4:192.0.2.0/24 include:_spf.example.net mx -all");
  EXPECT_EQ(spf["lookups"], 2);
  EXPECT_EQ(spf["void_lookups"], 0);
  EXPECT_EQ(spf["all"], "-all");
  const nlohmann::json dmarc = c.dmarc.to_json();
  EXPECT_EQ(dmarc["policy"], "reject");
  const nlohmann::json tls = c.tlsrpt.to_json();
  ASSERT_TRUE(tls["rua"].is_array());
  EXPECT_EQ(tls["rua"][0]["uri"], "mailto:tls@example.com");
  const nlohmann::json dkim = c.dkim.to_json();
  ASSERT_EQ(dkim["selectors"].size(), 2u);
  EXPECT_EQ(dkim["selectors"][0]["selector"], "s1");
  EXPECT_EQ(dkim["selectors"][0]["bits"], 2048);
  EXPECT_EQ(dkim["selectors"][0]["found"], true);
}

TEST(Json, NullsWhenNothingIsPublished) {
  dns::FakeResolver dns;
  const Checked c = check_all(dns, "example.com", {"s1"});
  EXPECT_TRUE(c.spf.to_json()["record"].is_null());
  EXPECT_TRUE(c.dmarc.to_json()["policy"].is_null());
  EXPECT_TRUE(c.tlsrpt.to_json()["rua"].is_array());
  EXPECT_TRUE(c.tlsrpt.to_json()["rua"].empty());
  EXPECT_EQ(c.dkim.to_json()["selectors"][0]["found"], false);
  EXPECT_TRUE(c.dkim.to_json()["selectors"][0]["bits"].is_null());
  EXPECT_EQ(count(c.findings, "spf-missing"), 1);
  EXPECT_EQ(count(c.findings, "dmarc-missing"), 1);
  EXPECT_EQ(count(c.findings, "dkim-key-missing"), 1);
  EXPECT_EQ(count(c.findings, "tlsrpt-missing"), 1);
  EXPECT_EQ(count(c.findings, "dns-failure"), 0);
}

}  // namespace
}  // namespace mxsec::check

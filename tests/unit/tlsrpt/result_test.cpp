// Tests for policy/tlsrpt/result.cpp: RFC 8460 §4.3/§4.4 spellings and the
// JSON "policy" object.
#include "policy/tlsrpt/result.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

namespace mxsec::policy::tlsrpt {
namespace {

TEST(TlsRptResult, ResultTypeSpellings) {
  // RFC 8460 §4.3.1, §4.3.2.1 and §4.3.2.2, in that order.
  const std::vector<std::pair<ResultType, std::string>> cases = {
      {ResultType::starttls_not_supported, "starttls-not-supported"},
      {ResultType::certificate_host_mismatch, "certificate-host-mismatch"},
      {ResultType::certificate_expired, "certificate-expired"},
      {ResultType::certificate_not_trusted, "certificate-not-trusted"},
      {ResultType::validation_failure, "validation-failure"},
      {ResultType::tlsa_invalid, "tlsa-invalid"},
      {ResultType::dnssec_invalid, "dnssec-invalid"},
      {ResultType::dane_required, "dane-required"},
      {ResultType::sts_policy_fetch_error, "sts-policy-fetch-error"},
      {ResultType::sts_policy_invalid, "sts-policy-invalid"},
      {ResultType::sts_webpki_invalid, "sts-webpki-invalid"},
  };
  std::set<std::string> seen;
  for (const auto& [type, name] : cases) {
    EXPECT_EQ(to_string(type), name);
    auto back = parse_result_type(name);
    ASSERT_TRUE(back) << name;
    EXPECT_EQ(*back, type);
    seen.insert(name);
  }
  EXPECT_EQ(seen.size(), 11u);
}

TEST(TlsRptResult, ParseRejectsOtherSpellings) {
  for (const char* s : {"", "STARTTLS-NOT-SUPPORTED", "starttls_not_supported", "starttls-not-supported ",
                        "sts-policy-fetch-error\n", "success", "no-policy-found", "sts", "validation-failure;",
                        "certificate-expire"}) {
    EXPECT_FALSE(parse_result_type(s)) << s;
  }
  EXPECT_FALSE(parse_result_type(std::string_view("tlsa-invalid\0", 13)));
}

TEST(TlsRptResult, PolicyTypeSpellings) {
  EXPECT_EQ(std::string(to_string(PolicyType::tlsa)), "tlsa");
  EXPECT_EQ(std::string(to_string(PolicyType::sts)), "sts");
  EXPECT_EQ(std::string(to_string(PolicyType::no_policy_found)), "no-policy-found");
}

TEST(TlsRptResult, StsPolicyBlockJson) {
  // RFC 8460 Appendix B example policy object.
  PolicyBlock b;
  b.type = PolicyType::sts;
  b.policy_string = {"version: STSv1", "mode: testing", "mx: *.mail.company-y.example", "max_age: 86400"};
  b.policy_domain = "company-y.example";
  b.mx_host = "*.mail.company-y.example";
  const auto expected = nlohmann::json::parse(R"({
    "policy-type": "sts",
    "policy-string": ["version: STSv1","mode: testing","mx: *.mail.company-y.example","max_age: 86400"],
    "policy-domain": "company-y.example",
    "mx-host": "*.mail.company-y.example"})");
  EXPECT_EQ(to_json(b), expected);
}

TEST(TlsRptResult, TlsaAndNoPolicyJson) {
  PolicyBlock t;
  t.type = PolicyType::tlsa;
  t.policy_string = {"3 1 1 0123456789abcdef"};
  t.policy_domain = "example.com";
  t.mx_host = "mx.example.com";
  const auto jt = to_json(t);
  EXPECT_EQ(jt["policy-type"], "tlsa");
  EXPECT_EQ(jt["policy-string"], nlohmann::json::array({"3 1 1 0123456789abcdef"}));
  EXPECT_EQ(jt["mx-host"], "mx.example.com");

  PolicyBlock n;
  n.policy_domain = "example.org";
  const auto jn = to_json(n);
  EXPECT_EQ(jn["policy-type"], "no-policy-found");
  EXPECT_EQ(jn["policy-domain"], "example.org");
  EXPECT_EQ(jn["policy-string"], nlohmann::json::array());
  EXPECT_FALSE(jn.contains("mx-host"));
  EXPECT_EQ(jn.size(), 3u);
}

TEST(TlsRptResult, JsonEscapesHostileStrings) {
  PolicyBlock b;
  b.type = PolicyType::sts;
  b.policy_string = {std::string("mx: a\"b\\c\n\0d", 12)};
  b.policy_domain = "example.com";
  const std::string text = to_json(b).dump();
  const auto back = nlohmann::json::parse(text);
  EXPECT_EQ(back["policy-string"][0].get<std::string>(), b.policy_string[0]);
}

}  // namespace
}  // namespace mxsec::policy::tlsrpt

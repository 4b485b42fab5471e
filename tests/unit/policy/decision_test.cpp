// Unit tests for policy/engine/decision.hpp: the stable names and the JSON
// shape that `mxsec policy --json` prints.
#include "policy/engine/decision.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

namespace mxsec::policy {
namespace {

TEST(Decision, VerdictNamesAreStable) {
  const std::pair<Verdict, const char*> names[] = {
      {Verdict::dane, "dane"},
      {Verdict::dane_unusable_tls_required, "dane-unusable-tls-required"},
      {Verdict::mta_sts, "mta-sts"},
      {Verdict::mta_sts_testing, "mta-sts-testing"},
      {Verdict::opportunistic, "opportunistic"},
      {Verdict::none, "none"},
      {Verdict::encrypt, "encrypt"},
      {Verdict::verify, "verify"},
      {Verdict::defer, "defer"},
  };
  std::set<std::string> seen;
  for (const auto& [v, name] : names) {
    EXPECT_STREQ(to_string(v), name);
    EXPECT_TRUE(seen.insert(name).second);
  }
}

TEST(Decision, RequirementsFailClosed) {
  EXPECT_FALSE(requirements(Verdict::defer).deliver);
  for (auto v : {Verdict::dane, Verdict::dane_unusable_tls_required, Verdict::mta_sts, Verdict::encrypt,
                 Verdict::verify})
    EXPECT_TRUE(requirements(v).tls_required) << to_string(v);
  EXPECT_EQ(requirements(Verdict::dane).authentication, Authentication::dane);
  EXPECT_EQ(requirements(Verdict::mta_sts).authentication, Authentication::webpki);
  EXPECT_EQ(requirements(Verdict::verify).authentication, Authentication::webpki);
  EXPECT_FALSE(requirements(Verdict::opportunistic).tls_required);
  EXPECT_FALSE(requirements(Verdict::mta_sts_testing).tls_required);
}

TEST(Decision, JsonCarriesTheStableKeys) {
  DomainDecision d;
  d.domain = "example.test";
  d.status = DomainStatus::ok;
  MxDecision m;
  m.host = "mx.example.test";
  m.preference = 10;
  m.verdict = Verdict::dane;
  m.source = Source::dane;
  m.reason = "1 usable TLSA record(s)";
  m.addresses.push_back(*IpAddress::parse("192.0.2.1"));
  m.tlsa.looked_up = true;
  m.tlsa.status = dns::Status::ok;
  m.tlsa.security = dns::Security::secure;
  m.tlsa.usable.push_back(dns::TlsaRecord{3, 1, 1, std::string(32, '\xab')});
  m.tlsrpt.type = tlsrpt::PolicyType::tlsa;
  m.tlsrpt.policy_domain = "example.test";
  m.tlsrpt.mx_host = "mx.example.test";
  d.mx.push_back(m);
  auto j = to_json(d);
  EXPECT_EQ(j["domain"], "example.test");
  EXPECT_EQ(j["status"], "ok");
  ASSERT_EQ(j["mx"].size(), 1u);
  EXPECT_EQ(j["mx"][0]["host"], "mx.example.test");
  EXPECT_EQ(j["mx"][0]["preference"], 10);
  EXPECT_EQ(j["mx"][0]["policy"], "dane");
  EXPECT_EQ(j["mx"][0]["reason"], "1 usable TLSA record(s)");
  EXPECT_EQ(j["mx"][0]["tls_required"], true);
  EXPECT_EQ(j["mx"][0]["authentication"], "dane");
  EXPECT_EQ(j["mx"][0]["addresses"][0], "192.0.2.1");
  EXPECT_EQ(j["mx"][0]["tlsa"]["usable"][0].get<std::string>().substr(0, 8), "3 1 1 AB");
  EXPECT_EQ(j["mx"][0]["tlsrpt_policy"]["policy-type"], "tlsa");
}

}  // namespace
}  // namespace mxsec::policy

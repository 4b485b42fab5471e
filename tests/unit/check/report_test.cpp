// Unit tests for check/report.hpp and check/transport.hpp: the grade, the
// stable JSON keys, the TLS-RPT upgrade, and the transport findings from a
// FakeResolver (no probing: options.probe = false).
#include "check/report.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::check {
namespace {

const char* kHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

Report with_findings(std::initializer_list<Severity> severities) {
  Report r;
  for (auto s : severities) r.findings.push_back(Finding{s, "x", "m", ""});
  return r;
}

TEST(Grade, FollowsTheDocumentedTable) {
  EXPECT_EQ(grade(with_findings({Severity::error})), "F");
  EXPECT_EQ(grade(with_findings({Severity::warning, Severity::error, Severity::info})), "F");
  EXPECT_EQ(grade(with_findings({})), "A");
  EXPECT_EQ(grade(with_findings({Severity::info, Severity::info})), "A");
  EXPECT_EQ(grade(with_findings({Severity::warning})), "B");
  EXPECT_EQ(grade(with_findings({Severity::warning, Severity::warning})), "B");
  EXPECT_EQ(grade(with_findings({Severity::warning, Severity::warning, Severity::warning})), "C");
  EXPECT_EQ(grade(with_findings({Severity::warning, Severity::warning, Severity::warning, Severity::warning,
                                 Severity::warning})),
            "C");
  EXPECT_EQ(grade(with_findings({Severity::warning, Severity::warning, Severity::warning, Severity::warning,
                                 Severity::warning, Severity::warning})),
            "D");
}

TEST(Grade, APlusNeedsAuthenticatedTlsAndStrongDmarc) {
  Report r;
  policy::MxDecision m;
  m.host = "mx.example.test";
  m.verdict = policy::Verdict::dane;
  r.transport.decision.mx.push_back(m);
  EXPECT_EQ(grade(r), "A") << "no DMARC policy";
  r.dmarc.policy = "none";
  EXPECT_EQ(grade(r), "A");
  r.dmarc.policy = "reject";
  EXPECT_EQ(grade(r), "A+");
  r.transport.decision.mx[0].verdict = policy::Verdict::opportunistic;
  EXPECT_EQ(grade(r), "A") << "opportunistic TLS is not authenticated";
  r.transport.mta_sts.lookup = policy::mtasts::StsLookup{};
  r.transport.mta_sts.lookup->state = policy::mtasts::StsLookup::State::policy;
  r.transport.mta_sts.lookup->policy = policy::mtasts::Policy{policy::mtasts::Mode::enforce, {"mx.example.test"}, 86400};
  EXPECT_EQ(grade(r), "A+");
  r.transport.mta_sts.lookup->policy->mode = policy::mtasts::Mode::testing;
  EXPECT_EQ(grade(r), "A");
}

class CheckTest : public ::testing::Test {
 protected:
  CheckTest() { dns.set_default_security(dns::Security::secure); }
  Report check(std::string domain, std::vector<std::string> selectors = {}) {
    CheckOptions o;
    o.transport.probe = false;
    o.transport.now = 1'800'000'000;
    o.dkim_selectors = std::move(selectors);
    return run_sync(io, run_check(dns, nullptr, std::move(domain), o));
  }
  static bool has(const Report& r, std::string_view code, Severity s) {
    for (const auto& f : r.findings)
      if (f.code == code && f.severity == s) return true;
    return false;
  }
  asio::io_context io;
  dns::FakeResolver dns;
};

TEST_F(CheckTest, WellConfiguredDaneDomainHasTheStableKeys) {
  ASSERT_TRUE(dns.load_zone_text(std::string("$SECURITY secure\n"
                                             "example.test MX 10 mx.example.test\n"
                                             "example.test TXT \"v=spf1 mx -all\"\n"
                                             "_dmarc.example.test TXT \"v=DMARC1; p=reject; rua=mailto:d@example.test\"\n"
                                             "_smtp._tls.example.test TXT \"v=TLSRPTv1; rua=mailto:t@example.test\"\n"
                                             "mx.example.test A 192.0.2.1\n"
                                             "_25._tcp.mx.example.test TLSA 3 1 1 ") +
                                 kHash + "\n_25._tcp.mx.example.test TLSA 2 1 1 " + kHash + "\n"));
  auto r = check("example.test");
  auto j = to_json(r);
  EXPECT_EQ(j["domain"], "example.test");
  EXPECT_EQ(j["dnssec"]["status"], "secure");
  ASSERT_EQ(j["mx"].size(), 1u);
  EXPECT_EQ(j["mx"][0]["host"], "mx.example.test");
  EXPECT_EQ(j["mx"][0]["policy"], "dane");
  EXPECT_TRUE(j["mx"][0]["starttls"].is_null()) << "not probed";
  EXPECT_TRUE(j["mx"][0]["tlsa"]["match"].is_null()) << "not probed";
  EXPECT_EQ(j["mx"][0]["tlsa"]["rollover_ready"], true);
  EXPECT_TRUE(j["mta_sts"]["mode"].is_null());
  EXPECT_EQ(j["tls_rpt"]["rua"][0]["uri"], "mailto:t@example.test");
  EXPECT_EQ(j["spf"]["record"], "v=spf1 mx -all");
  EXPECT_EQ(j["dmarc"]["policy"], "reject");
  ASSERT_TRUE(j["findings"].is_array());
  for (const auto& f : j["findings"]) {
    EXPECT_TRUE(f.contains("code") && f.contains("severity") && f.contains("message") && f.contains("fix"));
    EXPECT_NE(f["severity"], "error") << f.dump();
  }
  EXPECT_FALSE(has_error(r));
  EXPECT_FALSE(has(r, "tlsa-rollover-not-ready", Severity::warning));
  EXPECT_FALSE(has(r, "dnssec-unsigned", Severity::warning));
}

TEST_F(CheckTest, MissingTlsRptIsAWarningWhenDaneIsUsed) {
  ASSERT_TRUE(dns.load_zone_text(std::string("$SECURITY secure\n"
                                             "example.test MX 10 mx.example.test\n"
                                             "mx.example.test A 192.0.2.1\n"
                                             "_25._tcp.mx.example.test TLSA 3 1 1 ") +
                                 kHash + "\n"));
  auto r = check("example.test");
  EXPECT_TRUE(has(r, "tlsrpt-missing", Severity::warning));
  EXPECT_TRUE(has(r, "tlsa-rollover-not-ready", Severity::warning));

  dns::FakeResolver plain;
  ASSERT_TRUE(plain.load_zone_text("$SECURITY insecure\nplain.test MX 10 mx.plain.test\nmx.plain.test A 192.0.2.2\n"));
  CheckOptions o;
  o.transport.probe = false;
  auto p = run_sync(io, run_check(plain, nullptr, "plain.test", o));
  EXPECT_TRUE(has(p, "tlsrpt-missing", Severity::info));
  EXPECT_TRUE(has(p, "dnssec-unsigned", Severity::warning));
}

TEST_F(CheckTest, DnsFailuresAreErrorsNeverMissing) {
  ASSERT_TRUE(dns.load_zone_text("$SECURITY secure\n"
                                 "example.test MX 10 mx.example.test\n"
                                 "mx.example.test A 192.0.2.1\n"
                                 "_25._tcp.mx.example.test TLSA !bogus\n"
                                 "broken.test MX !servfail\n"
                                 "broken.test SOA !servfail\n"));
  auto r = check("example.test");
  EXPECT_TRUE(has(r, "tlsa-lookup-failed", Severity::error));
  EXPECT_TRUE(has(r, "mx-none-usable", Severity::error));
  EXPECT_EQ(grade(r), "F");
  auto b = check("broken.test");
  EXPECT_TRUE(has(b, "mx-lookup-failed", Severity::error));
  EXPECT_EQ(to_json(b)["dnssec"]["status"], "indeterminate");
}

TEST_F(CheckTest, FindingsAreSortedMostSevereFirst) {
  ASSERT_TRUE(dns.load_zone_text("$SECURITY insecure\nexample.test MX 10 mx.example.test\nmx.example.test A 192.0.2.1\n"));
  auto r = check("example.test");
  ASSERT_FALSE(r.findings.empty());
  for (std::size_t i = 1; i < r.findings.size(); ++i)
    EXPECT_GE(static_cast<int>(r.findings[i - 1].severity), static_cast<int>(r.findings[i].severity))
        << r.findings[i - 1].code << " before " << r.findings[i].code;
}

TEST_F(CheckTest, RenderEscapesHostileTextAndColoursOnlyOnRequest) {
  ASSERT_TRUE(dns.load_zone_text("$SECURITY secure\n"
                                 "example.test MX 10 mx.example.test\n"
                                 "mx.example.test A 192.0.2.1\n"
                                 "example.test TXT \"v=spf1 \\027[31mred -all\"\n"));
  auto r = check("example.test");
  const auto plain = render_text(r, false);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos) << "a record's ESC must not reach the terminal";
  EXPECT_NE(plain.find("grade"), std::string::npos);
  EXPECT_NE(plain.find("Findings"), std::string::npos);
  const auto coloured = render_text(r, true);
  EXPECT_NE(coloured.find("\x1b["), std::string::npos);
}

TEST(ProbeTargets, FirstOfEachFamily) {
  auto ip = [](const char* t) { return *IpAddress::parse(t); };
  EXPECT_TRUE(probe_targets({}).empty());
  EXPECT_EQ(probe_targets({ip("192.0.2.1"), ip("192.0.2.2")}), (std::vector<IpAddress>{ip("192.0.2.1")}));
  EXPECT_EQ(probe_targets({ip("2001:db8::1"), ip("192.0.2.1"), ip("2001:db8::2"), ip("192.0.2.2")}),
            (std::vector<IpAddress>{ip("192.0.2.1"), ip("2001:db8::1")}));
  EXPECT_EQ(probe_targets({ip("2001:db8::1")}), (std::vector<IpAddress>{ip("2001:db8::1")}));
}

}  // namespace
}  // namespace mxsec::check

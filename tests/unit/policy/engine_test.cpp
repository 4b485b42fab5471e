// Unit tests for policy/engine/engine.hpp: RFC 7672 §2.2, RFC 8461 §4-§5,
// RFC 7505, RFC 5321 §5.1 decisions over a FakeResolver.
#include "policy/engine/engine.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::policy {
namespace {

using dns::RrType;
using dns::Security;

const char* kHash = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

class FakeSts final : public mtasts::PolicySource {
 public:
  asio::awaitable<mtasts::StsLookup> lookup(std::string domain) override {
    ++calls;
    last_domain = domain;
    co_return result;
  }
  void set_policy(mtasts::Mode mode, std::vector<std::string> mx) {
    result.state = mtasts::StsLookup::State::policy;
    result.policy = mtasts::Policy{mode, std::move(mx), 86400};
    result.id = "20261128";
  }
  mtasts::StsLookup result;
  int calls = 0;
  std::string last_domain;
};

class EngineTest : public ::testing::Test {
 protected:
  // Questions without an entry (AAAA, TLSA) get a denial as secure as the
  // zone would give; most tests model a signed zone.
  EngineTest() { dns.set_default_security(Security::secure); }
  void zone(std::string_view text) { ASSERT_TRUE(dns.load_zone_text(text)) << text; }
  DomainDecision decide(std::string domain, const LocalPolicyMap* local = nullptr, EngineOptions options = {}) {
    PolicyEngine engine(dns, &sts, local, options);
    return run_sync(io, engine.decide(std::move(domain)));
  }
  static const MxDecision& host(const DomainDecision& d, std::string_view name) {
    for (const auto& m : d.mx)
      if (m.host == name) return m;
    ADD_FAILURE() << "no MX decision for " << name;
    static MxDecision none;
    return none;
  }
  asio::io_context io;
  dns::FakeResolver dns;
  FakeSts sts;
};

TEST_F(EngineTest, DaneEeSecureHostIsDane) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx.example.test\n"
                   "mx.example.test A 192.0.2.1\n"
                   "_25._tcp.mx.example.test TLSA 3 1 1 ") + kHash + "\n");
  auto d = decide("Example.TEST.");
  EXPECT_EQ(d.domain, "example.test");
  EXPECT_EQ(d.status, DomainStatus::ok);
  ASSERT_EQ(d.mx.size(), 1u);
  const auto& m = d.mx[0];
  EXPECT_EQ(m.verdict, Verdict::dane);
  EXPECT_EQ(m.source, Source::dane);
  EXPECT_EQ(m.address_security, Security::secure);
  ASSERT_EQ(m.tlsa.usable.size(), 1u);
  EXPECT_EQ(m.tlsrpt.type, tlsrpt::PolicyType::tlsa);
  ASSERT_EQ(m.tlsrpt.policy_string.size(), 1u);
  EXPECT_EQ(m.tlsrpt.policy_string[0].substr(0, 6), "3 1 1 ");
  EXPECT_EQ(m.tlsrpt.mx_host, "mx.example.test");
  EXPECT_EQ(m.tlsrpt.policy_domain, "example.test");
  // Reference identifiers: the MX host and the next-hop domain.
  EXPECT_EQ(m.reference_names, (std::vector<std::string>{"mx.example.test", "example.test"}));
  // DANE took the host: MTA-STS was never consulted.
  EXPECT_EQ(sts.calls, 0);
  EXPECT_TRUE(requirements(m.verdict).tls_required);
}

TEST_F(EngineTest, DaneTaIsUsablePkixUsagesAreNot) {
  zone(std::string("$SECURITY secure\n"
                   "a.test MX 10 mx.a.test\n"
                   "mx.a.test A 192.0.2.1\n"
                   "_25._tcp.mx.a.test TLSA 2 0 1 ") + kHash + "\n"
                   "_25._tcp.mx.a.test TLSA 1 1 1 " + kHash + "\n"
                   "b.test MX 10 mx.b.test\n"
                   "mx.b.test A 192.0.2.2\n"
                   "_25._tcp.mx.b.test TLSA 0 1 1 " + kHash + "\n"
                   "_25._tcp.mx.b.test TLSA 1 1 1 " + kHash + "\n"
                   "_25._tcp.mx.b.test TLSA 3 1 1 abcd\n");
  auto a = decide("a.test");
  ASSERT_EQ(a.mx.size(), 1u);
  EXPECT_EQ(a.mx[0].verdict, Verdict::dane);
  EXPECT_EQ(a.mx[0].tlsa.usable.size(), 1u);
  EXPECT_EQ(a.mx[0].tlsa.unusable.size(), 1u);

  auto b = decide("b.test");
  ASSERT_EQ(b.mx.size(), 1u);
  // RFC 7672 §2.2: records present but none usable -> TLS without authentication.
  EXPECT_EQ(b.mx[0].verdict, Verdict::dane_unusable_tls_required);
  EXPECT_EQ(b.mx[0].tlsa.unusable.size(), 3u);
  EXPECT_EQ(b.mx[0].tlsa.unusable_reasons.size(), 3u);
  EXPECT_TRUE(requirements(b.mx[0].verdict).tls_required);
  EXPECT_EQ(requirements(b.mx[0].verdict).authentication, Authentication::none);
  // a.test's usable record decided without MTA-STS; b.test's all-unusable
  // records ask whether an enforced policy takes over (it has none here).
  EXPECT_EQ(sts.calls, 1);
  EXPECT_EQ(sts.last_domain, "b.test");
}

TEST_F(EngineTest, TlsaFailureDefersAndNeverFallsBack) {
  for (auto outcome : {"!bogus", "!servfail", "!timeout"}) {
    dns::FakeResolver fresh;
    fresh.set_default_security(Security::secure);
    ASSERT_TRUE(fresh.load_zone_text(std::string("$SECURITY secure\n"
                                                 "x.test MX 10 mx.x.test\n"
                                                 "mx.x.test A 192.0.2.1\n"
                                                 "_25._tcp.mx.x.test TLSA ") + outcome + "\n"));
    sts.set_policy(mtasts::Mode::enforce, {"mx.x.test"});
    sts.calls = 0;
    PolicyEngine engine(fresh, &sts, nullptr);
    auto d = run_sync(io, engine.decide("x.test"));
    ASSERT_EQ(d.mx.size(), 1u) << outcome;
    EXPECT_EQ(d.mx[0].verdict, Verdict::defer) << outcome;
    EXPECT_EQ(d.mx[0].source, Source::dns) << outcome;
    EXPECT_NE(d.mx[0].reason.find("TLSA"), std::string::npos) << d.mx[0].reason;
    EXPECT_EQ(d.status, DomainStatus::no_usable_mx) << outcome;
    EXPECT_EQ(sts.calls, 0) << "a failed TLSA lookup must not fall back to MTA-STS (" << outcome << ")";
  }
}

TEST_F(EngineTest, InsecureAddressesSkipTlsaLookup) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx.example.test\n"
                   "$SECURITY insecure\n"
                   "mx.example.test A 192.0.2.1\n"
                   "_25._tcp.mx.example.test TLSA 3 1 1 ") + kHash + "\n");
  auto d = decide("example.test");
  ASSERT_EQ(d.mx.size(), 1u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::opportunistic);
  EXPECT_FALSE(d.mx[0].tlsa.looked_up);
  EXPECT_EQ(dns.query_count("_25._tcp.mx.example.test", RrType::tlsa), 0u);
  EXPECT_EQ(d.mx[0].tlsrpt.type, tlsrpt::PolicyType::no_policy_found);
  EXPECT_EQ(sts.calls, 1);
}

TEST_F(EngineTest, InsecureTlsaUnderSecureAddressesIsNotDane) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx.example.test\n"
                   "mx.example.test A 192.0.2.1\n"
                   "$SECURITY insecure\n"
                   "_25._tcp.mx.example.test TLSA 3 1 1 ") + kHash + "\n");
  auto d = decide("example.test");
  EXPECT_EQ(d.mx[0].verdict, Verdict::opportunistic);
  EXPECT_TRUE(d.mx[0].tlsa.looked_up);
  EXPECT_TRUE(d.mx[0].tlsa.usable.empty());
}

TEST_F(EngineTest, AddressFailureDefersHost) {
  zone("$SECURITY secure\n"
       "example.test MX 10 mx1.example.test\n"
       "example.test MX 20 mx2.example.test\n"
       "mx1.example.test A !bogus\n"
       "mx2.example.test A 192.0.2.2\n"
       "mx2.example.test AAAA !servfail\n");
  auto d = decide("example.test");
  ASSERT_EQ(d.mx.size(), 2u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::defer);
  EXPECT_NE(d.mx[0].reason.find("bogus"), std::string::npos);
  EXPECT_EQ(d.mx[0].address_security, Security::bogus);
  EXPECT_EQ(d.mx[1].verdict, Verdict::defer);
  EXPECT_NE(d.mx[1].reason.find("AAAA"), std::string::npos);
  EXPECT_EQ(d.status, DomainStatus::no_usable_mx);
  EXPECT_EQ(dns.query_count("_25._tcp.mx1.example.test", RrType::tlsa), 0u);
}

TEST_F(EngineTest, MxFailureDefersDomainWithoutFurtherLookups) {
  for (auto outcome : {"!bogus", "!servfail", "!timeout"}) {
    dns::FakeResolver fresh;
    fresh.set_default_security(Security::secure);
    ASSERT_TRUE(fresh.load_zone_text(std::string("example.test MX ") + outcome + "\n"));
    PolicyEngine engine(fresh, &sts, nullptr);
    auto d = run_sync(io, engine.decide("example.test"));
    EXPECT_EQ(d.status, DomainStatus::defer) << outcome;
    EXPECT_TRUE(d.mx.empty());
    EXPECT_EQ(fresh.query_count(), 1u) << "only the MX question";
  }
}

TEST_F(EngineTest, NxdomainNullMxAndImplicitMx) {
  zone("$SECURITY secure\n"
       "null.test MX 0 .\n"
       "mixed.test MX 0 .\n"
       "mixed.test MX 10 mx.mixed.test\n"
       "mx.mixed.test A 192.0.2.3\n"
       "implicit.test A 192.0.2.4\n"
       "implicit.test TXT \"v=spf1 -all\"\n");
  auto nx = decide("missing.test");
  EXPECT_EQ(nx.status, DomainStatus::nxdomain);
  EXPECT_TRUE(nx.mx.empty());

  auto null = decide("null.test");
  EXPECT_EQ(null.status, DomainStatus::null_mx);
  EXPECT_TRUE(null.mx.empty());
  EXPECT_EQ(dns.query_count("null.test", RrType::a), 0u);

  auto mixed = decide("mixed.test");
  EXPECT_EQ(mixed.status, DomainStatus::ok);
  ASSERT_EQ(mixed.mx.size(), 1u);
  EXPECT_EQ(mixed.mx[0].host, "mx.mixed.test");
  EXPECT_NE(mixed.reason.find("null MX"), std::string::npos);

  auto implicit = decide("implicit.test");
  ASSERT_EQ(implicit.mx.size(), 1u);
  EXPECT_TRUE(implicit.mx[0].implicit);
  EXPECT_EQ(implicit.mx[0].host, "implicit.test");
  EXPECT_EQ(implicit.mx[0].verdict, Verdict::opportunistic);
  // The next-hop domain is the host itself: listed once.
  EXPECT_EQ(implicit.mx[0].reference_names, (std::vector<std::string>{"implicit.test"}));
}

TEST_F(EngineTest, HostsWithoutAddressesAreDeferred) {
  zone("$SECURITY secure\n"
       "example.test MX 10 gone.example.test\n"
       "example.test MX 20 mx.example.test\n"
       "mx.example.test A 192.0.2.9\n");
  auto d = decide("example.test");
  ASSERT_EQ(d.mx.size(), 2u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::defer);
  EXPECT_EQ(d.mx[1].verdict, Verdict::opportunistic);
  EXPECT_EQ(d.status, DomainStatus::ok);
}

TEST_F(EngineTest, MtaStsEnforceTestingAndNone) {
  zone("$SECURITY insecure\n"
       "example.test MX 10 mx1.example.test\n"
       "example.test MX 20 other.example.net\n"
       "mx1.example.test A 192.0.2.1\n"
       "other.example.net A 192.0.2.2\n");
  sts.set_policy(mtasts::Mode::enforce, {"*.example.test"});
  auto d = decide("example.test");
  ASSERT_EQ(d.mx.size(), 2u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::mta_sts);
  EXPECT_EQ(d.mx[0].sts_mx_match, true);
  EXPECT_EQ(d.mx[0].tlsrpt.type, tlsrpt::PolicyType::sts);
  EXPECT_FALSE(d.mx[0].tlsrpt.policy_string.empty());
  EXPECT_EQ(requirements(d.mx[0].verdict).authentication, Authentication::webpki);
  EXPECT_EQ(d.mx[1].verdict, Verdict::defer);
  EXPECT_EQ(d.mx[1].sts_mx_match, false);
  EXPECT_EQ(d.status, DomainStatus::ok);
  EXPECT_EQ(sts.calls, 1) << "one MTA-STS lookup per decision";
  EXPECT_EQ(sts.last_domain, "example.test");
  ASSERT_TRUE(d.mta_sts.has_value());

  sts.set_policy(mtasts::Mode::testing, {"mx1.example.test"});
  auto t = decide("example.test");
  EXPECT_EQ(t.mx[0].verdict, Verdict::mta_sts_testing);
  EXPECT_EQ(t.mx[1].verdict, Verdict::mta_sts_testing);
  EXPECT_EQ(t.mx[1].sts_mx_match, false);
  EXPECT_TRUE(requirements(t.mx[1].verdict).deliver);

  sts.set_policy(mtasts::Mode::none, {});
  auto n = decide("example.test");
  EXPECT_EQ(n.mx[0].verdict, Verdict::opportunistic);
  EXPECT_EQ(n.mx[0].tlsrpt.type, tlsrpt::PolicyType::no_policy_found);

  sts.result = {};
  auto none = decide("example.test");
  EXPECT_EQ(none.mx[0].verdict, Verdict::opportunistic);
}

TEST_F(EngineTest, DanePrecedesMtaStsPerHost) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx1.example.test\n"
                   "example.test MX 20 mx2.example.test\n"
                   "mx1.example.test A 192.0.2.1\n"
                   "mx2.example.test A 192.0.2.2\n"
                   "_25._tcp.mx1.example.test TLSA 3 1 1 ") + kHash + "\n");
  sts.set_policy(mtasts::Mode::enforce, {"mx1.example.test", "mx2.example.test"});
  auto d = decide("example.test");
  ASSERT_EQ(d.mx.size(), 2u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::dane);
  EXPECT_EQ(d.mx[1].verdict, Verdict::mta_sts);
  EXPECT_EQ(sts.calls, 1);
}

TEST_F(EngineTest, OrderDuplicatesAndHostLimit) {
  zone("$SECURITY insecure\n"
       "example.test MX 30 c.example.test\n"
       "example.test MX 10 b.example.test\n"
       "example.test MX 10 a.example.test\n"
       "example.test MX 40 a.example.test\n"
       "a.example.test A 192.0.2.1\n"
       "b.example.test A 192.0.2.2\n"
       "c.example.test A 192.0.2.3\n");
  auto d = decide("example.test");
  ASSERT_EQ(d.mx.size(), 3u);
  EXPECT_EQ(d.mx[0].host, "a.example.test");
  EXPECT_EQ(d.mx[0].preference, 10);
  EXPECT_EQ(d.mx[1].host, "b.example.test");
  EXPECT_EQ(d.mx[2].host, "c.example.test");

  EngineOptions small;
  small.max_mx_hosts = 2;
  dns.reset_counts();
  auto limited = decide("example.test", nullptr, small);
  EXPECT_EQ(limited.mx.size(), 2u);
  EXPECT_EQ(dns.query_count("c.example.test", RrType::a), 0u);
}

TEST_F(EngineTest, TlsaRecordLimitDefers) {
  std::string z = "$SECURITY secure\nexample.test MX 10 mx.example.test\nmx.example.test A 192.0.2.1\n";
  for (int i = 0; i < 5; ++i) {
    std::string h = kHash;
    h[0] = static_cast<char>('0' + i);
    z += "_25._tcp.mx.example.test TLSA 3 1 1 " + h + "\n";
  }
  zone(z);
  EngineOptions o;
  o.max_tlsa_records = 4;
  auto d = decide("example.test", nullptr, o);
  EXPECT_EQ(d.mx[0].verdict, Verdict::defer);
  EXPECT_NE(d.mx[0].reason.find("limit"), std::string::npos);
  o.max_tlsa_records = 5;
  EXPECT_EQ(decide("example.test", nullptr, o).mx[0].verdict, Verdict::dane);
}

TEST_F(EngineTest, CnameExpansionTlsaAndReferenceNames) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx.example.test\n"
                   "mx.example.test CNAME real.hosting.test\n"
                   "real.hosting.test A 192.0.2.7\n"
                   "_25._tcp.real.hosting.test TLSA 3 1 1 ") + kHash + "\n");
  auto d = decide("example.test");
  ASSERT_EQ(d.mx.size(), 1u);
  const auto& m = d.mx[0];
  EXPECT_EQ(m.canonical_name, "real.hosting.test");
  EXPECT_EQ(m.verdict, Verdict::dane);
  EXPECT_EQ(m.tlsa.qname, "_25._tcp.real.hosting.test");
  // RFC 7672 §2.2.3/§3.2.2: the TLSA base domain (the CNAME target where the
  // records were found) comes first; it is also the SNI name (§8.1).
  EXPECT_EQ(m.reference_names,
            (std::vector<std::string>{"real.hosting.test", "mx.example.test", "example.test"}));
  EXPECT_EQ(dns.query_count("_25._tcp.mx.example.test", RrType::tlsa), 0u);
}

TEST_F(EngineTest, CnameTlsaFallsBackToOriginalName) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx.example.test\n"
                   "mx.example.test CNAME real.hosting.test\n"
                   "real.hosting.test A 192.0.2.7\n"
                   "_25._tcp.mx.example.test TLSA 3 1 1 ") + kHash + "\n");
  auto d = decide("example.test");
  EXPECT_EQ(d.mx[0].verdict, Verdict::dane);
  EXPECT_EQ(d.mx[0].tlsa.qname, "_25._tcp.mx.example.test");
  EXPECT_EQ(dns.query_count("_25._tcp.real.hosting.test", RrType::tlsa), 1u);
}

TEST_F(EngineTest, InsecureCnameMakesAddressesInsecure) {
  zone(std::string("$SECURITY insecure\n"
                   "mx.example.test CNAME real.hosting.test\n"
                   "$SECURITY secure\n"
                   "example.test MX 10 mx.example.test\n"
                   "real.hosting.test A 192.0.2.7\n"
                   "_25._tcp.real.hosting.test TLSA 3 1 1 ") + kHash + "\n");
  auto d = decide("example.test");
  EXPECT_EQ(d.mx[0].address_security, Security::insecure);
  EXPECT_EQ(d.mx[0].verdict, Verdict::opportunistic);
}

TEST_F(EngineTest, LocalPolicyOverridesBoth) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx.example.test\n"
                   "mx.example.test A 192.0.2.1\n"
                   "_25._tcp.mx.example.test TLSA 3 1 1 ") + kHash + "\n"
                   "nodane.test MX 10 mx.nodane.test\n"
                   "mx.nodane.test A 192.0.2.2\n");
  sts.set_policy(mtasts::Mode::enforce, {"mx.example.test", "mx.nodane.test"});
  struct Case {
    const char* level;
    const char* domain;
    Verdict want;
  } cases[] = {
      {"none", "example.test", Verdict::none},
      {"may", "example.test", Verdict::opportunistic},
      {"encrypt", "example.test", Verdict::encrypt},
      {"verify", "example.test", Verdict::verify},
      {"dane-only", "example.test", Verdict::dane},
      {"dane-only", "nodane.test", Verdict::defer},
  };
  for (const auto& c : cases) {
    auto map = parse_local_policy(std::string(c.domain) + " " + c.level + "\n");
    ASSERT_TRUE(map) << c.level;
    sts.calls = 0;
    dns.reset_counts();
    auto d = decide(c.domain, &*map);
    ASSERT_EQ(d.mx.size(), 1u);
    EXPECT_EQ(d.mx[0].verdict, c.want) << c.level << " " << c.domain << ": " << d.mx[0].reason;
    EXPECT_EQ(d.mx[0].source, c.want == Verdict::dane ? Source::dane : Source::local) << c.level;
    EXPECT_EQ(sts.calls, 0) << "a local policy is never mixed with MTA-STS (" << c.level << ")";
    const bool tlsa_expected = std::string(c.level) == "dane-only";
    EXPECT_EQ(dns.query_count("_25._tcp.mx." + std::string(c.domain), RrType::tlsa) > 0,
              tlsa_expected)
        << c.level;
  }
}

TEST_F(EngineTest, InvalidDomainIsDeferredWithoutQueries) {
  auto d = decide("bad..name");
  EXPECT_EQ(d.status, DomainStatus::defer);
  EXPECT_EQ(dns.query_count(), 0u);
}

TEST_F(EngineTest, QueriesAreBounded) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx1.example.test\n"
                   "example.test MX 20 mx2.example.test\n"
                   "mx1.example.test A 192.0.2.1\n"
                   "mx2.example.test A 192.0.2.2\n"
                   "_25._tcp.mx1.example.test TLSA 3 1 1 ") + kHash + "\n");
  decide("example.test");
  // MX + (A + AAAA + TLSA) per host.
  EXPECT_EQ(dns.query_count(), 1u + 2 * 3);
}

}  // namespace
}  // namespace mxsec::policy

namespace mxsec::policy {
namespace {

// RFC 7672 §2.2.1 / Postfix's default smtp_tls_dane_insecure_mx_policy: a
// host whose addresses and TLSA records are secure keeps DANE even when the
// MX RRset that named it is not signed; the reason says the name is forgeable.
TEST_F(EngineTest, InsecureMxRRsetKeepsDaneForSecureHosts) {
  zone(std::string("$SECURITY insecure\n"
                   "example.test MX 10 mx.hoster.test\n"
                   "$SECURITY secure\n"
                   "mx.hoster.test A 192.0.2.1\n"
                   "_25._tcp.mx.hoster.test TLSA 3 1 1 ") + kHash + "\n");
  auto d = decide("example.test");
  EXPECT_EQ(d.mx_security, Security::insecure);
  ASSERT_EQ(d.mx.size(), 1u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::dane);
  EXPECT_NE(d.mx[0].reason.find("not authenticated"), std::string::npos) << d.mx[0].reason;
}

}  // namespace
}  // namespace mxsec::policy

// ---- Corrections from review: each test is named after its rule. ----------

namespace mxsec::policy {
namespace {

// RFC 7672 §2.2.1 + RFC 8461 §4.1. The attacker forges the unsigned MX
// RRset of victim.test to name a host in their own signed zone, where they
// publish addresses and a TLSA record that matches their own certificate.
// victim.test's enforced MTA-STS policy lists only mail.victim.test: the
// attacker's host matches no mx pattern and must not be used, whatever its
// TLSA records say.
TEST_F(EngineTest, InsecureMxDaneHostOutsideEnforcedStsPolicyIsNotUsed) {
  zone(std::string("$SECURITY insecure\n"
                   "victim.test MX 10 mx.attacker.test\n"
                   "$SECURITY secure\n"
                   "mx.attacker.test A 192.0.2.66\n"
                   "_25._tcp.mx.attacker.test TLSA 3 1 1 ") + kHash + "\n");
  sts.set_policy(mtasts::Mode::enforce, {"mail.victim.test"});
  auto d = decide("victim.test");
  ASSERT_EQ(d.mx.size(), 1u);
  const auto& m = d.mx[0];
  EXPECT_EQ(m.verdict, Verdict::defer);
  EXPECT_EQ(m.defer_cause, DeferCause::sts_mx_mismatch);
  EXPECT_EQ(m.source, Source::mta_sts);
  EXPECT_EQ(m.sts_mx_match, false);
  EXPECT_EQ(m.tlsrpt.type, tlsrpt::PolicyType::sts);
  EXPECT_EQ(sts.calls, 1) << "the MTA-STS source must be asked for a DANE host under an insecure MX RRset";
  EXPECT_EQ(d.status, DomainStatus::no_usable_mx);
  EXPECT_EQ(d.defer_cause, DeferCause::no_usable_mx);
  EXPECT_FALSE(requirements(m.verdict).deliver);
}

// The same, for a host the policy lists: DANE still decides the
// certificate check; testing mode only reports a mismatch.
TEST_F(EngineTest, InsecureMxDaneHostInsideStsPolicyKeepsDane) {
  zone(std::string("$SECURITY insecure\n"
                   "victim.test MX 10 mail.victim.test\n"
                   "$SECURITY secure\n"
                   "mail.victim.test A 192.0.2.1\n"
                   "_25._tcp.mail.victim.test TLSA 3 1 1 ") + kHash + "\n");
  sts.set_policy(mtasts::Mode::enforce, {"mail.victim.test"});
  auto d = decide("victim.test");
  ASSERT_EQ(d.mx.size(), 1u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::dane);
  EXPECT_EQ(d.mx[0].sts_mx_match, true);
  EXPECT_EQ(d.mx[0].tlsrpt.type, tlsrpt::PolicyType::tlsa);

  sts.set_policy(mtasts::Mode::testing, {"other.victim.test"});
  auto t = decide("victim.test");
  EXPECT_EQ(t.mx[0].verdict, Verdict::dane) << "testing mode reports a mismatch, it does not defer";
  EXPECT_EQ(t.mx[0].sts_mx_match, false);

  // With a secure MX RRset, DANE alone decides and MTA-STS is not asked.
  dns::FakeResolver signed_zone;
  signed_zone.set_default_security(Security::secure);
  ASSERT_TRUE(signed_zone.load_zone_text(std::string("$SECURITY secure\n"
                                                     "victim.test MX 10 mx.elsewhere.test\n"
                                                     "mx.elsewhere.test A 192.0.2.1\n"
                                                     "_25._tcp.mx.elsewhere.test TLSA 3 1 1 ") + kHash + "\n"));
  sts.set_policy(mtasts::Mode::enforce, {"mail.victim.test"});
  sts.calls = 0;
  PolicyEngine engine(signed_zone, &sts, nullptr);
  auto s = run_sync(io, engine.decide("victim.test"));
  EXPECT_EQ(s.mx[0].verdict, Verdict::dane);
  EXPECT_EQ(sts.calls, 0);
}

// RFC 7672 §2.2 makes TLS mandatory for a host whose secure TLSA records are
// all unusable, but does not forbid authentication: an enforced MTA-STS
// policy decides such a host (WebPKI plus mx match) as it would a host with
// no TLSA records at all.
TEST_F(EngineTest, AllUnusableTlsaFallsThroughToEnforcedMtaSts) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx1.example.test\n"
                   "example.test MX 20 mx2.example.test\n"
                   "mx1.example.test A 192.0.2.1\n"
                   "mx2.example.test A 192.0.2.2\n"
                   "_25._tcp.mx1.example.test TLSA 1 1 1 ") + kHash + "\n"
                   "_25._tcp.mx2.example.test TLSA 1 1 1 " + kHash + "\n");
  sts.set_policy(mtasts::Mode::enforce, {"mx1.example.test"});
  auto d = decide("example.test");
  ASSERT_EQ(d.mx.size(), 2u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::mta_sts);
  EXPECT_EQ(requirements(d.mx[0].verdict).authentication, Authentication::webpki);
  EXPECT_EQ(d.mx[0].sts_mx_match, true);
  EXPECT_EQ(d.mx[0].tlsrpt_result, tlsrpt::ResultType::tlsa_invalid);
  EXPECT_EQ(d.mx[1].verdict, Verdict::defer) << "outside the enforced policy's mx patterns";
  EXPECT_EQ(d.mx[1].defer_cause, DeferCause::sts_mx_mismatch);
  // Reported under the MTA-STS policy that excluded it, not as its unusable
  // TLSA records (RFC 8460 §4.3.1 "validation-failure").
  EXPECT_EQ(d.mx[1].tlsrpt.type, tlsrpt::PolicyType::sts);
  EXPECT_EQ(d.mx[1].tlsrpt_result, tlsrpt::ResultType::validation_failure);

  // No policy, or a testing policy (which would drop the TLS requirement):
  // TLS stays mandatory and unauthenticated.
  for (auto mode : {std::optional<mtasts::Mode>{}, std::optional<mtasts::Mode>{mtasts::Mode::testing}}) {
    sts.result = {};
    if (mode) sts.set_policy(*mode, {"mx1.example.test"});
    auto n = decide("example.test");
    EXPECT_EQ(n.mx[0].verdict, Verdict::dane_unusable_tls_required);
    EXPECT_TRUE(requirements(n.mx[0].verdict).tls_required);
    EXPECT_EQ(n.mx[0].tlsrpt_result, tlsrpt::ResultType::tlsa_invalid);
    EXPECT_EQ(n.mx[1].verdict, Verdict::dane_unusable_tls_required);
  }
}

// In an unsigned zone a SERVFAIL for one address family must not hide the
// addresses the other family gave. Bogus answers, and failures in a signed
// zone, still defer.
TEST_F(EngineTest, FailedAddressFamilyInUnsignedZoneUsesTheOther) {
  zone("$SECURITY insecure\n"
       "example.test MX 10 mx1.example.test\n"
       "example.test MX 20 mx2.example.test\n"
       "example.test MX 30 mx3.example.test\n"
       "mx1.example.test A 192.0.2.1\n"
       "mx1.example.test AAAA !servfail\n"
       "mx2.example.test A !timeout\n"
       "mx2.example.test AAAA 2001:db8::2\n"
       "mx3.example.test A 192.0.2.3\n"
       "mx3.example.test AAAA !bogus\n");
  auto d = decide("example.test");
  ASSERT_EQ(d.mx.size(), 3u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::opportunistic);
  EXPECT_EQ(d.mx[0].addresses.size(), 1u);
  EXPECT_EQ(d.mx[0].address_security, Security::insecure);
  EXPECT_NE(d.mx[0].reason.find("AAAA"), std::string::npos) << d.mx[0].reason;
  EXPECT_EQ(d.mx[1].verdict, Verdict::opportunistic);
  EXPECT_EQ(d.mx[1].addresses.size(), 1u);
  EXPECT_EQ(d.mx[2].verdict, Verdict::defer) << "a bogus answer defers";
  EXPECT_EQ(d.mx[2].defer_cause, DeferCause::dnssec_bogus);
  EXPECT_EQ(d.status, DomainStatus::ok);

  // Signed zone: the failure could hide a DNSSEC problem; defer.
  dns::FakeResolver signed_zone;
  ASSERT_TRUE(signed_zone.load_zone_text("$SECURITY secure\n"
                                         "s.test MX 10 mx.s.test\n"
                                         "mx.s.test A 192.0.2.1\n"
                                         "mx.s.test AAAA !servfail\n"));
  PolicyEngine engine(signed_zone, &sts, nullptr);
  auto s = run_sync(io, engine.decide("s.test"));
  EXPECT_EQ(s.mx[0].verdict, Verdict::defer);
  EXPECT_EQ(s.mx[0].defer_cause, DeferCause::dns_failure);

  // Both families failed: defer.
  dns::FakeResolver both;
  ASSERT_TRUE(both.load_zone_text("b.test MX 10 mx.b.test\n"
                                  "mx.b.test A !servfail\n"
                                  "mx.b.test AAAA !servfail\n"));
  PolicyEngine engine2(both, &sts, nullptr);
  auto b = run_sync(io, engine2.decide("b.test"));
  EXPECT_EQ(b.mx[0].verdict, Verdict::defer);
  EXPECT_EQ(b.mx[0].defer_cause, DeferCause::dns_failure);
}

// RFC 7672 §8.1 and §2.2.3: SNI carries the TLSA base domain, which is the
// CNAME-expanded host name when the TLSA records were found there; it comes
// first among the reference identifiers (tls::dane::enable_dane takes the
// first as base domain and SNI).
TEST_F(EngineTest, SniIsTheTlsaBaseDomain) {
  zone(std::string("$SECURITY secure\n"
                   "example.test MX 10 mx.example.test\n"
                   "mx.example.test CNAME real.hosting.test\n"
                   "real.hosting.test A 192.0.2.7\n"
                   "_25._tcp.real.hosting.test TLSA 3 1 1 ") + kHash + "\n"
                   "other.test MX 10 mx.other.test\n"
                   "mx.other.test CNAME real2.hosting.test\n"
                   "real2.hosting.test A 192.0.2.8\n"
                   "_25._tcp.mx.other.test TLSA 3 1 1 " + kHash + "\n");
  auto d = decide("example.test");
  EXPECT_EQ(d.mx[0].sni_name(), "real.hosting.test");
  auto o = decide("other.test");
  EXPECT_EQ(o.mx[0].tlsa.qname, "_25._tcp.mx.other.test");
  EXPECT_EQ(o.mx[0].sni_name(), "mx.other.test");
  EXPECT_EQ(o.mx[0].reference_names,
            (std::vector<std::string>{"mx.other.test", "real2.hosting.test", "other.test"}));
}

// RFC 8460 §4.3.2.1: a bogus or failed TLSA lookup is reported under the
// "tlsa" policy type as "dnssec-invalid", not as "no-policy-found"; a local
// dane-only policy without TLSA records as "dane-required".
TEST_F(EngineTest, TlsaFailuresAndDaneOnlyReportTheirTlsRptResultTypes) {
  zone("$SECURITY secure\n"
       "x.test MX 10 mx.x.test\n"
       "mx.x.test A 192.0.2.1\n"
       "_25._tcp.mx.x.test TLSA !bogus\n"
       "y.test MX 10 mx.y.test\n"
       "mx.y.test A 192.0.2.2\n");
  auto x = decide("x.test");
  EXPECT_EQ(x.mx[0].defer_cause, DeferCause::tlsa_bogus);
  EXPECT_EQ(x.mx[0].tlsrpt.type, tlsrpt::PolicyType::tlsa);
  EXPECT_EQ(x.mx[0].tlsrpt_result, tlsrpt::ResultType::dnssec_invalid);

  auto local = parse_local_policy("y.test dane-only\n");
  ASSERT_TRUE(local) << local.error().message;
  auto y = decide("y.test", &*local);
  EXPECT_EQ(y.mx[0].verdict, Verdict::defer);
  EXPECT_EQ(y.mx[0].defer_cause, DeferCause::local_policy);
  EXPECT_EQ(y.mx[0].tlsrpt_result, tlsrpt::ResultType::dane_required);

  // A decision that implies no failure carries none.
  auto ok = decide("y.test");
  EXPECT_FALSE(ok.mx[0].tlsrpt_result.has_value());
}

// Every deferred host carries the RFC 8460 §4.3 result type it reports, set
// by the engine (the delivery agent records it as it is, and `policy --json`
// prints it): an MX outside an enforced MTA-STS policy is the general
// "validation-failure" (§4.3.1), a bogus address or TLSA RRset and a failed
// TLSA lookup "dnssec-invalid" (§4.3.2.1), an oversized TLSA RRset
// "tlsa-invalid"; DNS failures that say nothing about TLS report nothing.
TEST_F(EngineTest, DeferredHostsCarryTheirTlsRptResultTypes) {
  std::string big_tlsa;
  for (std::size_t i = 0; i <= limits::kDaneMaxTlsaRecords; ++i)
    big_tlsa += std::string("_25._tcp.mx.limit.test TLSA 3 1 1 ") + kHash + "\n";
  zone("$SECURITY secure\n"
       "sts.test MX 10 mx.sts.test\n"
       "mx.sts.test A 192.0.2.1\n"
       "bogus.test MX 10 mx.bogus.test\n"
       "mx.bogus.test A !bogus\n"
       "fail.test MX 10 mx.fail.test\n"
       "mx.fail.test A 192.0.2.3\n"
       "_25._tcp.mx.fail.test TLSA !servfail\n"
       "limit.test MX 10 mx.limit.test\n"
       "mx.limit.test A 192.0.2.4\n" +
       big_tlsa +
       "servfail.test MX 10 mx.servfail.test\n"
       "mx.servfail.test A !servfail\n"
       "noaddr.test MX 10 mx.noaddr.test\n"
       "mx.noaddr.test TXT \"no address\"\n");
  struct Case {
    const char* domain;
    DeferCause cause;
    std::optional<tlsrpt::ResultType> result;
  };
  const std::vector<Case> cases = {
      {"sts.test", DeferCause::sts_mx_mismatch, tlsrpt::ResultType::validation_failure},
      {"bogus.test", DeferCause::dnssec_bogus, tlsrpt::ResultType::dnssec_invalid},
      {"fail.test", DeferCause::tlsa_lookup_failure, tlsrpt::ResultType::dnssec_invalid},
      {"limit.test", DeferCause::tlsa_limit, tlsrpt::ResultType::tlsa_invalid},
      {"servfail.test", DeferCause::dns_failure, std::nullopt},
      {"noaddr.test", DeferCause::no_address, std::nullopt},
  };
  sts.set_policy(mtasts::Mode::enforce, {"mail.elsewhere.test"});
  for (const auto& c : cases) {
    auto d = decide(c.domain);
    ASSERT_EQ(d.mx.size(), 1u) << c.domain;
    EXPECT_EQ(d.mx[0].verdict, Verdict::defer) << c.domain;
    EXPECT_EQ(d.mx[0].defer_cause, c.cause) << c.domain << ": " << d.mx[0].reason;
    EXPECT_EQ(d.mx[0].tlsrpt_result, c.result) << c.domain;
    const auto j = to_json(d.mx[0]);
    if (c.result)
      EXPECT_EQ(j.at("tlsrpt_result"), tlsrpt::to_string(*c.result)) << c.domain;
    else
      EXPECT_FALSE(j.contains("tlsrpt_result")) << c.domain;
  }
}

// --- [outbound] switches: dane, default_tls -----------------------------------------

// A signed domain with DANE on mx.dane.test, and one without TLSA records.
const std::string kDaneAndPlainZones = std::string("$SECURITY secure\n"
                                                   "dane.test MX 10 mx.dane.test\n"
                                                   "mx.dane.test A 192.0.2.1\n"
                                                   "_25._tcp.mx.dane.test TLSA 3 1 1 ") + kHash + "\n"
                                       "plain.test MX 10 mx.plain.test\n"
                                       "mx.plain.test A 192.0.2.2\n";

// A local policy map from "domain level" lines; a parse error fails the test.
LocalPolicyMap local_map(std::string_view lines) {
  auto map = parse_local_policy(lines);
  EXPECT_TRUE(map) << map.error().message;
  return map ? *map : LocalPolicyMap{};
}

EngineOptions dane_off() {
  EngineOptions o;
  o.dane = false;
  return o;
}

EngineOptions default_encrypt() {
  EngineOptions o;
  o.default_tls = DefaultTls::encrypt;
  return o;
}

TEST_F(EngineTest, DaneOffDecidesADaneHostWithoutAskingForTlsa) {
  zone(kDaneAndPlainZones);
  const EngineOptions off = dane_off();
  auto d = decide("dane.test", nullptr, off);
  ASSERT_EQ(d.mx.size(), 1u);
  EXPECT_EQ(d.mx[0].verdict, Verdict::opportunistic);
  EXPECT_EQ(d.mx[0].source, Source::default_policy);
  EXPECT_FALSE(d.mx[0].tlsa.looked_up);
  EXPECT_NE(d.mx[0].reason.find("DANE disabled"), std::string::npos) << d.mx[0].reason;
  EXPECT_EQ(dns.query_count("_25._tcp.mx.dane.test", RrType::tlsa), 0u);
  EXPECT_EQ(sts.calls, 1);  // without DANE, MTA-STS is what is left to ask

  // The same host with DANE on: dane (the switch, not the zone, made the difference).
  auto on = decide("dane.test");
  EXPECT_EQ(on.mx[0].verdict, Verdict::dane);
  EXPECT_EQ(dns.query_count("_25._tcp.mx.dane.test", RrType::tlsa), 1u);
}

TEST_F(EngineTest, DefaultEncryptMakesTlsMandatoryWhereNothingElseDecides) {
  zone(kDaneAndPlainZones);
  const EngineOptions encrypt = default_encrypt();
  auto d = decide("plain.test", nullptr, encrypt);
  EXPECT_EQ(d.mx[0].verdict, Verdict::encrypt);
  EXPECT_EQ(d.mx[0].source, Source::default_policy);
  EXPECT_TRUE(requirements(d.mx[0].verdict).tls_required);
  EXPECT_EQ(requirements(d.mx[0].verdict).authentication, Authentication::none);
  EXPECT_NE(d.mx[0].reason.find("default TLS policy 'encrypt'"), std::string::npos) << d.mx[0].reason;
  EXPECT_EQ(d.mx[0].tlsrpt.type, tlsrpt::PolicyType::no_policy_found);
  // The default: opportunistic.
  EXPECT_EQ(decide("plain.test").mx[0].verdict, Verdict::opportunistic);

  // An unsigned zone (no DANE possible) and an MTA-STS policy in mode none
  // are "nothing else" too.
  dns::FakeResolver unsigned_dns;
  ASSERT_TRUE(unsigned_dns.load_zone_text("u.test MX 10 mx.u.test\nmx.u.test A 192.0.2.3\n"));
  PolicyEngine engine(unsigned_dns, &sts, nullptr, encrypt);
  EXPECT_EQ(run_sync(io, engine.decide("u.test")).mx[0].verdict, Verdict::encrypt);
  sts.set_policy(mtasts::Mode::none, {});
  EXPECT_EQ(decide("plain.test", nullptr, encrypt).mx[0].verdict, Verdict::encrypt);
}

// With MTA-STS in play: dane = "off" hands a DANE host to the policy, and
// default_tls is a floor for hosts without a policy, never a replacement
// for DANE or an enforced MTA-STS policy. RFC 8461 §5: a testing policy
// only asks for reports ("merely send a report"), so under default_tls
// encrypt its hosts still get mandatory TLS, never less than a host
// without any policy.
TEST_F(EngineTest, SwitchesWithMtaStsPolicies) {
  struct Case {
    mtasts::Mode mode;
    std::vector<std::string> mx;
    EngineOptions options;
    const char* domain;
    Verdict verdict;
    Source source;
    std::size_t tlsa_queries;
  };
  const std::vector<Case> cases = {
      {mtasts::Mode::enforce, {"mx.dane.test"}, dane_off(), "dane.test", Verdict::mta_sts, Source::mta_sts, 0},
      {mtasts::Mode::enforce, {"nothing.test"}, default_encrypt(), "dane.test", Verdict::dane, Source::dane, 1},
      {mtasts::Mode::enforce, {"mx.plain.test"}, default_encrypt(), "plain.test", Verdict::mta_sts, Source::mta_sts, 1},
      {mtasts::Mode::enforce, {"other.plain.test"}, default_encrypt(), "plain.test", Verdict::defer, Source::mta_sts, 1},
      {mtasts::Mode::testing, {"mx.plain.test"}, default_encrypt(), "plain.test", Verdict::encrypt, Source::mta_sts, 1},
      {mtasts::Mode::testing, {"other.plain.test"}, default_encrypt(), "plain.test", Verdict::encrypt, Source::mta_sts, 1},
      {mtasts::Mode::testing, {"mx.plain.test"}, {}, "plain.test", Verdict::mta_sts_testing, Source::mta_sts, 1},
      {mtasts::Mode::none, {}, default_encrypt(), "plain.test", Verdict::encrypt, Source::default_policy, 1},
  };
  zone(kDaneAndPlainZones);
  for (std::size_t i = 0; i < cases.size(); ++i) {
    const Case& c = cases[i];
    sts.set_policy(c.mode, c.mx);
    dns.reset_counts();
    auto d = decide(c.domain, nullptr, c.options);
    ASSERT_EQ(d.mx.size(), 1u) << i;
    const MxDecision& m = d.mx[0];
    EXPECT_EQ(m.verdict, c.verdict) << i << ": " << m.reason;
    EXPECT_EQ(m.source, c.source) << i;
    EXPECT_EQ(dns.query_count("_25._tcp.mx." + std::string(c.domain), RrType::tlsa), c.tlsa_queries) << i;
    // The TLS-RPT policy block names what decided: a testing policy still
    // gets its failures reported under "sts".
    const auto type = c.source == Source::mta_sts ? tlsrpt::PolicyType::sts
                      : c.source == Source::dane  ? tlsrpt::PolicyType::tlsa
                                                  : tlsrpt::PolicyType::no_policy_found;
    EXPECT_EQ(m.tlsrpt.type, type) << i;
    const bool tls_required = c.verdict != Verdict::mta_sts_testing && c.verdict != Verdict::defer;
    EXPECT_EQ(requirements(m.verdict).tls_required, tls_required) << i;
  }
}

// Only an entry for the domain itself (or a parent written ".parent") can
// lower what a DANE domain gets; entries for other names never reach it,
// and neither does default_tls. The other way round, a dane-only entry
// names DANE for its domain explicitly: dane = "off" does not take it away
// (and a host without TLSA stays deferred).
TEST_F(EngineTest, OnlyExplicitEntriesOverrideTheSwitches) {
  zone(kDaneAndPlainZones);
  const LocalPolicyMap others = local_map("plain.test none\n.dane.test none\nmx.dane.test none\nxdane.test none\n");
  const EngineOptions encrypt = default_encrypt();
  EXPECT_EQ(decide("dane.test", &others, encrypt).mx[0].verdict, Verdict::dane);

  const LocalPolicyMap explicit_may = local_map("dane.test may\n");
  auto m = decide("dane.test", &explicit_may, encrypt);
  EXPECT_EQ(m.mx[0].verdict, Verdict::opportunistic);  // the operator said so, for this domain
  EXPECT_EQ(m.mx[0].source, Source::local);

  const LocalPolicyMap dane_only = local_map("dane.test dane-only\nplain.test dane-only\n");
  dns.reset_counts();
  EXPECT_EQ(decide("dane.test", &dane_only, dane_off()).mx[0].verdict, Verdict::dane);
  EXPECT_EQ(dns.query_count("_25._tcp.mx.dane.test", RrType::tlsa), 1u);
  auto p = decide("plain.test", &dane_only, dane_off());
  EXPECT_EQ(p.mx[0].verdict, Verdict::defer);
  EXPECT_EQ(p.mx[0].defer_cause, DeferCause::local_policy);
}

// --- decide_relayhost ---------------------------------------------------------------------

class RelayhostTest : public EngineTest {
 protected:
  DomainDecision relay(RelayHost r, const LocalPolicyMap* local = nullptr, EngineOptions options = {}) {
    PolicyEngine engine(dns, &sts, local, options);
    return run_sync(io, engine.decide_relayhost(std::move(r)));
  }
  static RelayHost named(std::string host, std::uint16_t port = 25) {
    RelayHost r;
    r.host = std::move(host);
    r.port = port;
    return r;
  }
};

// The relay's name also has an MX record (pointing elsewhere) and an
// MTA-STS policy that lists no host: neither is consulted.
const std::string kRelayZone = std::string("$SECURITY secure\n"
                                           "relay.test MX 10 evil.attacker.test\n"
                                           "relay.test A 192.0.2.25\n"
                                           "_587._tcp.relay.test TLSA 3 1 1 ") + kHash + "\n";

TEST_F(RelayhostTest, BracketedHostIsDecidedWithoutMxLookupOrMtaSts) {
  zone(kRelayZone);
  sts.set_policy(mtasts::Mode::enforce, {"nothing.test"});
  auto d = relay(named("Relay.TEST.", 587));
  EXPECT_EQ(d.domain, "relay.test");
  EXPECT_EQ(d.status, DomainStatus::ok);
  ASSERT_EQ(d.mx.size(), 1u);
  const auto& m = d.mx[0];
  EXPECT_EQ(m.host, "relay.test");
  EXPECT_EQ(m.port, 587);
  EXPECT_EQ(m.verdict, Verdict::dane);
  EXPECT_EQ(m.tlsa.qname, "_587._tcp.relay.test");  // RFC 6698 §3: the port of the service
  EXPECT_EQ(m.reference_names, (std::vector<std::string>{"relay.test"}));
  ASSERT_EQ(m.addresses.size(), 1u);
  EXPECT_EQ(m.addresses[0].to_string(), "192.0.2.25");
  EXPECT_EQ(dns.query_count("relay.test", RrType::mx), 0u);
  EXPECT_EQ(sts.calls, 0);
  EXPECT_EQ(to_json(m)["port"], 587);
}

TEST_F(RelayhostTest, TlsaRecordsOfAnotherPortDoNotCount) {
  zone(std::string("$SECURITY secure\n"
                   "relay.test A 192.0.2.25\n"
                   "_25._tcp.relay.test TLSA 3 1 1 ") + kHash + "\n");
  auto d = relay(named("relay.test", 587));
  EXPECT_EQ(d.mx[0].verdict, Verdict::opportunistic);
  EXPECT_EQ(dns.query_count("_587._tcp.relay.test", RrType::tlsa), 1u);
  EXPECT_EQ(dns.query_count("_25._tcp.relay.test", RrType::tlsa), 0u);
  const EngineOptions encrypt = default_encrypt();
  EXPECT_EQ(relay(named("relay.test", 587), nullptr, encrypt).mx[0].verdict, Verdict::encrypt);
}

TEST_F(RelayhostTest, IpLiteralAsksNoDnsQuestion) {
  RelayHost r;
  r.address = IpAddress::parse("2001:db8::25");
  r.host = r.address->to_string();
  auto d = relay(r);
  EXPECT_EQ(d.status, DomainStatus::ok);
  ASSERT_EQ(d.mx.size(), 1u);
  ASSERT_EQ(d.mx[0].addresses.size(), 1u);
  EXPECT_EQ(d.mx[0].addresses[0], *r.address);
  EXPECT_EQ(d.mx[0].verdict, Verdict::opportunistic);
  EXPECT_FALSE(d.mx[0].tlsa.looked_up);
  EXPECT_EQ(dns.query_count(), 0u);
  EXPECT_EQ(sts.calls, 0);
  // RFC 6066 §3: no SNI for an address literal; `policy --json` says null.
  EXPECT_EQ(d.mx[0].sni_name(), "");
  EXPECT_TRUE(to_json(d.mx[0]).at("sni").is_null());
  EXPECT_EQ(relay(named("relay.test")).mx[0].sni_name(), "relay.test");
  const EngineOptions encrypt = default_encrypt();
  EXPECT_EQ(relay(r, nullptr, encrypt).mx[0].verdict, Verdict::encrypt);
  EXPECT_EQ(r.text(), "[IPv6:2001:db8::25]:25");
}

TEST_F(RelayhostTest, LocalPolicyForTheRelayNameApplies) {
  zone("$SECURITY secure\nrelay.test A 192.0.2.25\n");
  const LocalPolicyMap local = local_map("relay.test verify\n");
  auto d = relay(named("relay.test", 465), &local);
  EXPECT_EQ(d.mx[0].verdict, Verdict::verify);
  EXPECT_EQ(d.mx[0].source, Source::local);
}

TEST_F(RelayhostTest, FailuresDeferNeverDowngrade) {
  zone("$SECURITY secure\n"
       "bogus.test A !bogus\n"
       "tlsa.test A 192.0.2.26\n"
       "_25._tcp.tlsa.test TLSA !servfail\n");
  auto bogus = relay(named("bogus.test"));
  EXPECT_EQ(bogus.status, DomainStatus::no_usable_mx);
  EXPECT_EQ(bogus.defer_cause, DeferCause::no_usable_mx);
  EXPECT_EQ(bogus.mx[0].defer_cause, DeferCause::dnssec_bogus);
  auto tlsa = relay(named("tlsa.test"));
  EXPECT_EQ(tlsa.status, DomainStatus::no_usable_mx);
  EXPECT_EQ(tlsa.mx[0].defer_cause, DeferCause::tlsa_lookup_failure);
  auto invalid = relay(named("bad..name"));
  EXPECT_EQ(invalid.status, DomainStatus::defer);
  EXPECT_EQ(invalid.defer_cause, DeferCause::invalid_domain);
  EXPECT_TRUE(invalid.mx.empty());
}

TEST_F(RelayhostTest, UnbracketedHostIsADomainWhoseMxHostsAreUsed) {
  zone(std::string("$SECURITY secure\n"
                   "provider.test MX 10 smtp1.provider.test\n"
                   "provider.test MX 20 smtp2.provider.test\n"
                   "smtp1.provider.test A 192.0.2.31\n"
                   "smtp2.provider.test A 192.0.2.32\n"
                   "_2525._tcp.smtp1.provider.test TLSA 3 1 1 ") + kHash + "\n");
  RelayHost r = named("provider.test", 2525);
  r.mx_lookup = true;
  auto d = relay(r);
  EXPECT_EQ(d.status, DomainStatus::ok);
  ASSERT_EQ(d.mx.size(), 2u);
  EXPECT_EQ(d.mx[0].port, 2525);
  EXPECT_EQ(d.mx[1].port, 2525);
  EXPECT_EQ(d.mx[0].verdict, Verdict::dane);
  EXPECT_EQ(d.mx[1].verdict, Verdict::opportunistic);
  EXPECT_EQ(dns.query_count("provider.test", RrType::mx), 1u);
  EXPECT_EQ(r.text(), "provider.test:2525");
  EXPECT_EQ(named("relay.test", 587).text(), "[relay.test]:587");
}

TEST(DefaultTls, Names) {
  EXPECT_STREQ(to_string(DefaultTls::may), "may");
  EXPECT_STREQ(to_string(DefaultTls::encrypt), "encrypt");
  EXPECT_EQ(parse_default_tls("encrypt"), DefaultTls::encrypt);
  EXPECT_EQ(parse_default_tls("may"), DefaultTls::may);
  EXPECT_FALSE(parse_default_tls("Encrypt"));
  EXPECT_FALSE(parse_default_tls("verify"));
}

}  // namespace
}  // namespace mxsec::policy

#include "auth/spf/check_host.hpp"

#include <gtest/gtest.h>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::auth::spf {
namespace {

using dns::RrType;

class CheckHost : public ::testing::Test {
 protected:
  SpfResult mailfrom(const char* ip, const char* sender, const char* helo = "mail.example.org") {
    asio::io_context io;
    return run_sync(io, check_sender(dns_, *IpAddress::parse(ip), helo, sender, "mx.receiver.example", config_));
  }
  SpfResult run(const char* ip, const char* domain) {
    return mailfrom(ip, (std::string("user@") + domain).c_str());
  }

  dns::FakeResolver dns_;
  Config config_;
  FixedClock clock_{1700000000};
  void SetUp() override { config_.clock = &clock_; }
};

TEST_F(CheckHost, VerdictsFromQualifiers) {
  const struct {
    const char* record;
    Verdict verdict;
    const char* mechanism;
  } kCases[] = {{"v=spf1 ip4:192.0.2.0/24 -all", Verdict::pass, "ip4:192.0.2.0/24"},
                {"v=spf1 -ip4:192.0.2.1 +all", Verdict::fail, "-ip4:192.0.2.1"},
                {"v=spf1 ~all", Verdict::softfail, "~all"},
                {"v=spf1 ?all", Verdict::neutral, "?all"},
                {"v=spf1 ip4:198.51.100.1", Verdict::neutral, "default"},
                {"v=spf1 a -all", Verdict::pass, "a"},
                {"v=spf1 mx -all", Verdict::pass, "mx"},
                {"v=spf1 exists:%{i}.bl.example.com -all", Verdict::pass, "exists:%{i}.bl.example.com"}};
  dns_.add_a("example.com", "192.0.2.1");
  dns_.add_mx("example.com", 10, "mx.example.com");
  dns_.add_a("mx.example.com", "192.0.2.1");
  dns_.add_a("192.0.2.1.bl.example.com", "127.0.0.2");
  for (const auto& c : kCases) {
    dns::FakeResolver fresh = dns_;
    fresh.add_txt("example.com", {c.record});
    asio::io_context io;
    auto r = run_sync(io, check_sender(fresh, *IpAddress::parse("192.0.2.1"), "h.example.com", "u@example.com", "",
                                       config_));
    EXPECT_EQ(r.verdict, c.verdict) << c.record << ": " << r.reason;
    EXPECT_EQ(r.mechanism, c.mechanism) << c.record;
    EXPECT_EQ(r.record, c.record);
    EXPECT_EQ(r.identity, Identity::mailfrom);
    EXPECT_EQ(r.domain, "example.com");
  }
}

TEST_F(CheckHost, NoRecordIsNone) {
  dns_.add_txt("example.com", {"google-site-verification=abc"});
  EXPECT_EQ(run("192.0.2.1", "example.com").verdict, Verdict::none);
  EXPECT_EQ(run("192.0.2.1", "nxdomain.example").verdict, Verdict::none);
  EXPECT_EQ(run("192.0.2.1", "[192.0.2.1]").verdict, Verdict::none);
  EXPECT_EQ(dns_.query_count("[192.0.2.1]", RrType::txt), 0u);  // no query for a malformed domain
}

TEST_F(CheckHost, MultipleRecordsArePermerror) {
  dns_.add_txt("example.com", {"v=spf1 -all"});
  dns_.add_txt("example.com", {"v=spf1 +all"});
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::permerror);
  EXPECT_EQ(r.reason, "multiple SPF records at example.com (2)");
}

TEST_F(CheckHost, TxtStringsAreConcatenated) {
  dns_.add_txt("example.com", {"v=spf1 ip4:", "192.0.2.1 -all"});
  EXPECT_EQ(run("192.0.2.1", "example.com").verdict, Verdict::pass);
}

TEST_F(CheckHost, TooManyDnsTermsIsPermerror) {
  // A chain of 11 includes: the 11th DNS-querying term fails closed.
  for (int i = 0; i < 11; ++i)
    dns_.add_txt("i" + std::to_string(i) + ".example.com", {"v=spf1 include:i" + std::to_string(i + 1) + ".example.com"});
  dns_.add_txt("i11.example.com", {"v=spf1 +all"});
  auto r = run("192.0.2.1", "i0.example.com");
  EXPECT_EQ(r.verdict, Verdict::permerror);
  EXPECT_EQ(r.reason, "too many DNS lookups (11 > 10)");
  EXPECT_EQ(r.lookups, 11);
  EXPECT_EQ(dns_.query_count("i11.example.com", RrType::txt), 0u);
  EXPECT_EQ(dns_.query_count(), 11u);  // i0..i10, nothing after the limit
}

TEST_F(CheckHost, TenDnsTermsAreAllowed) {
  dns_.add_txt("example.com", {"v=spf1 a a a a a a a a a a ip4:192.0.2.1 -all"});
  dns_.add_a("example.com", "198.51.100.1");
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::pass);
  EXPECT_EQ(r.lookups, 10);
  dns_.add_txt("more.example.com", {"v=spf1 a a a a a a a a a a a ip4:192.0.2.1 -all"});
  dns_.add_a("more.example.com", "198.51.100.1");
  EXPECT_EQ(run("192.0.2.1", "more.example.com").verdict, Verdict::permerror);
}

TEST_F(CheckHost, VoidLookupLimit) {
  dns_.add_txt("example.com", {"v=spf1 a:n1.example.com mx:n2.example.com exists:n3.example.com +all"});
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::permerror);
  EXPECT_EQ(r.reason, "void lookup limit exceeded (3 > 2)");
  EXPECT_EQ(r.void_lookups, 3);
  dns_.add_txt("two.example.com", {"v=spf1 a:n1.example.com mx:n2.example.com +all"});
  r = run("192.0.2.1", "two.example.com");
  EXPECT_EQ(r.verdict, Verdict::pass);
  EXPECT_EQ(r.void_lookups, 2);
}

TEST_F(CheckHost, MxWithMoreThanTenHostsIsPermerrorWithoutAddressLookups) {
  dns_.add_txt("example.com", {"v=spf1 mx -all"});
  for (int i = 0; i < 11; ++i) {
    dns_.add_mx("example.com", static_cast<std::uint16_t>(i), "mx" + std::to_string(i) + ".example.com");
    dns_.add_a("mx" + std::to_string(i) + ".example.com", "192.0.2.1");
  }
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::permerror);
  EXPECT_EQ(r.reason, "too many MX records at example.com (11 > 10)");
  EXPECT_EQ(dns_.query_count(), 2u);  // TXT + MX, no A
}

TEST_F(CheckHost, PtrUsesOnlyTheFirstTenNames) {
  dns_.add_txt("example.com", {"v=spf1 ptr -all"});
  for (int i = 0; i < 10; ++i) dns_.add_ptr("1.2.0.192.in-addr.arpa", "h" + std::to_string(i) + ".example.net");
  dns_.add_ptr("1.2.0.192.in-addr.arpa", "mail.example.com");  // 11th: must be ignored
  dns_.add_a("mail.example.com", "192.0.2.1");
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::fail);
  EXPECT_EQ(dns_.query_count("mail.example.com", RrType::a), 0u);
}

TEST_F(CheckHost, PtrValidatesForward) {
  dns_.add_txt("example.com", {"v=spf1 ptr -all"});
  dns_.add_ptr("1.2.0.192.in-addr.arpa", "mail.example.com");
  dns_.add_a("mail.example.com", "192.0.2.99");  // does not point back
  EXPECT_EQ(run("192.0.2.1", "example.com").verdict, Verdict::fail);
  dns_.add_a("mail.example.com", "192.0.2.1");
  EXPECT_EQ(run("192.0.2.1", "example.com").verdict, Verdict::pass);
}

TEST_F(CheckHost, BogusAnswersAreTemperror) {
  dns_.add_txt("example.com", {"v=spf1 +all"});
  dns_.set_security("example.com", RrType::txt, dns::Security::bogus, "signature expired");
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::temperror);
  EXPECT_EQ(r.reason, "DNSSEC bogus answer for TXT example.com: signature expired");

  // Bogus data in a mechanism is never used, even when it would match.
  dns_.add_txt("a.example.com", {"v=spf1 a:host.example.com -all"});
  dns_.add_a("host.example.com", "192.0.2.1");
  dns_.set_security("host.example.com", RrType::a, dns::Security::bogus, "no signatures");
  r = run("192.0.2.1", "a.example.com");
  EXPECT_EQ(r.verdict, Verdict::temperror);
  EXPECT_NE(r.reason.find("DNSSEC bogus answer for A host.example.com"), std::string::npos);

  // A bogus NXDOMAIN is not a void lookup either.
  dns_.add_txt("n.example.com", {"v=spf1 exists:gone.example.com -all"});
  dns_.set_outcome("gone.example.com", RrType::a, dns::Status::nxdomain, dns::Security::bogus, "bad NSEC");
  EXPECT_EQ(run("192.0.2.1", "n.example.com").verdict, Verdict::temperror);
}

TEST_F(CheckHost, BogusPtrDoesNotMatchAndIsNotAnError) {
  // The client controls its reverse zone: a bogus PTR must neither match
  // nor turn the fail into temperror.
  dns_.add_txt("example.com", {"v=spf1 ptr -all"});
  dns_.add_ptr("1.2.0.192.in-addr.arpa", "mail.example.com");
  dns_.add_a("mail.example.com", "192.0.2.1");
  dns_.set_security("1.2.0.192.in-addr.arpa", RrType::ptr, dns::Security::bogus, "forged");
  EXPECT_EQ(run("192.0.2.1", "example.com").verdict, Verdict::fail);
}

TEST_F(CheckHost, DnsFailuresAreTemperror) {
  dns_.add_txt("example.com", {"v=spf1 include:broken.example.net -all"});
  dns_.set_outcome("broken.example.net", RrType::txt, dns::Status::servfail, dns::Security::indeterminate);
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::temperror);
  EXPECT_EQ(r.reason, "DNS servfail for TXT broken.example.net");
  dns_.set_outcome("t.example.com", RrType::txt, dns::Status::timeout, dns::Security::indeterminate);
  EXPECT_EQ(run("192.0.2.1", "t.example.com").verdict, Verdict::temperror);
}

TEST_F(CheckHost, AttackerIncludeCannotTurnErrorsIntoPass) {
  // include: of a domain that errors: the error wins, never the +all after it.
  dns_.add_txt("example.com", {"v=spf1 include:evil.example.net +all"});
  dns_.add_txt("evil.example.net", {"v=spf1 ip4:999.0.0.1 +all"});
  EXPECT_EQ(run("192.0.2.1", "example.com").verdict, Verdict::permerror);
  dns_.add_txt("none.example.com", {"v=spf1 include:nothing.example.net +all"});
  auto r = run("192.0.2.1", "none.example.com");
  EXPECT_EQ(r.verdict, Verdict::permerror);
  EXPECT_EQ(r.reason, "'include:nothing.example.net': no SPF record at nothing.example.net");
  // An include that passes only matches; its fail does not leak out.
  dns_.add_txt("f.example.com", {"v=spf1 include:fail.example.net ?all"});
  dns_.add_txt("fail.example.net", {"v=spf1 -all"});
  EXPECT_EQ(run("192.0.2.1", "f.example.com").verdict, Verdict::neutral);
}

TEST_F(CheckHost, LoopsAreCaught) {
  dns_.add_txt("a.example.com", {"v=spf1 include:b.example.com -all"});
  dns_.add_txt("b.example.com", {"v=spf1 include:A.example.com -all"});
  auto r = run("192.0.2.1", "a.example.com");
  EXPECT_EQ(r.verdict, Verdict::permerror);
  EXPECT_EQ(r.reason, "include loop at A.example.com");
  dns_.add_txt("r.example.com", {"v=spf1 redirect=r.example.com"});
  r = run("192.0.2.1", "r.example.com");
  EXPECT_EQ(r.verdict, Verdict::permerror);
  EXPECT_EQ(r.reason, "redirect loop at r.example.com");
  EXPECT_EQ(dns_.query_count("r.example.com", RrType::txt), 1u);
}

TEST_F(CheckHost, IPv4MappedClientIsIPv4) {
  dns_.add_txt("example.com", {"v=spf1 -ip4:192.0.2.1 ip6:::ffff:192.0.2.1 +all"});
  EXPECT_EQ(run("::ffff:192.0.2.1", "example.com").verdict, Verdict::fail);
}

TEST_F(CheckHost, ExplanationOnlyForFail) {
  dns_.add_txt("example.com", {"v=spf1 ip4:192.0.2.1 -all exp=why.%{d}"});
  dns_.add_txt("why.example.com", {"%{i} may not send for %{o} (", "%{l})"});
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::pass);
  EXPECT_TRUE(r.explanation.empty());
  EXPECT_EQ(dns_.query_count("why.example.com", RrType::txt), 0u);
  r = run("198.51.100.7", "example.com");
  EXPECT_EQ(r.verdict, Verdict::fail);
  EXPECT_EQ(r.explanation, "198.51.100.7 may not send for example.com (user)");
}

TEST_F(CheckHost, BrokenExplanationFallsBackToDefault) {
  config_.default_explanation = "DEFAULT %{d}";
  const char* kBroken[] = {"two", "none", "syntax", "servfail"};
  dns_.add_txt("two.example.com", {"one"});
  dns_.add_txt("two.example.com", {"two"});
  dns_.add_txt("syntax.example.com", {"The %{x}-files"});
  dns_.set_outcome("servfail.example.com", RrType::txt, dns::Status::servfail, dns::Security::indeterminate);
  for (const char* b : kBroken) {
    const std::string d = std::string("d") + b + ".example.com";
    dns_.add_txt(d, {std::string("v=spf1 -all exp=") + b + ".example.com"});
    auto r = run("192.0.2.1", d.c_str());
    EXPECT_EQ(r.verdict, Verdict::fail) << b;
    EXPECT_EQ(r.explanation, "DEFAULT " + d) << b;
    EXPECT_EQ(r.void_lookups, 0) << b;  // exp lookups never count as void
  }
}

TEST_F(CheckHost, EmptyMailFromChecksHelo) {
  dns_.add_txt("mail.example.org", {"v=spf1 a -all"});
  dns_.add_a("mail.example.org", "192.0.2.1");
  dns_.add_txt("mail.example.org.x", {"unused"});
  dns_.add_txt("e.example.org", {"v=spf1 -all exp=e.exp.example.org"});
  dns_.add_txt("e.exp.example.org", {"%{s} %{h}"});
  auto r = mailfrom("192.0.2.1", "", "mail.example.org");
  EXPECT_EQ(r.verdict, Verdict::pass);
  EXPECT_EQ(r.identity, Identity::helo);
  EXPECT_EQ(r.domain, "mail.example.org");
  r = mailfrom("192.0.2.1", "", "e.example.org");
  EXPECT_EQ(r.explanation, "postmaster@e.example.org e.example.org");
  r = mailfrom("192.0.2.1", "@e.example.org", "helo.example");
  EXPECT_EQ(r.explanation, "postmaster@e.example.org helo.example");  // §4.3: empty local part
}

TEST_F(CheckHost, PMacroPrefersSubdomainOfDomain) {
  dns_.add_txt("example.com", {"v=spf1 exists:%{p}.ok.example.com -all"});
  dns_.add_ptr("1.2.0.192.in-addr.arpa", "other.example.net");
  dns_.add_ptr("1.2.0.192.in-addr.arpa", "mail.example.com");
  dns_.add_a("other.example.net", "192.0.2.1");
  dns_.add_a("mail.example.com", "192.0.2.1");
  dns_.add_a("mail.example.com.ok.example.com", "127.0.0.2");
  EXPECT_EQ(run("192.0.2.1", "example.com").verdict, Verdict::pass);
}

class SteppingClock final : public Clock {
 public:
  std::int64_t now() const override { return t_ += 7; }

 private:
  mutable std::int64_t t_ = 0;
};

TEST_F(CheckHost, TimeLimitIsTemperror) {
  SteppingClock slow;  // every look at the clock costs 7 "seconds"
  config_.clock = &slow;
  dns_.add_txt("example.com", {"v=spf1 a:h1.example.com a:h2.example.com a:h3.example.com a:h4.example.com -all"});
  for (int i = 1; i <= 4; ++i) dns_.add_a("h" + std::to_string(i) + ".example.com", "198.51.100.1");
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::temperror);
  EXPECT_EQ(r.reason, "evaluation time limit exceeded (20 s)");
}

TEST_F(CheckHost, MacroBombIsPermerror) {
  std::string rec = "v=spf1 exists:";
  for (int i = 0; i < 300; ++i) rec += "%{s}";
  rec += " -all";
  dns_.add_txt("example.com", {rec.substr(0, 255), rec.substr(255, 255), rec.substr(510, 255), rec.substr(765, 255),
                               rec.substr(1020)});
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::permerror);
  EXPECT_EQ(r.reason, "macro expansion exceeds 1024 bytes");
}

TEST_F(CheckHost, CacheIsUsed) {
  RecordCache cache;
  config_.cache = &cache;
  dns_.add_txt("example.com", {"v=spf1 include:_spf.example.com -all"});
  dns_.add_txt("_spf.example.com", {"v=spf1 ip4:192.0.2.0/24 -all"});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(run("192.0.2.1", "example.com").verdict, Verdict::pass);
  EXPECT_EQ(cache.misses(), 2u);
  EXPECT_EQ(cache.hits(), 4u);
}

TEST_F(CheckHost, CountsQueries) {
  dns_.add_txt("example.com", {"v=spf1 mx include:_spf.example.com -all"});
  dns_.add_mx("example.com", 10, "mx1.example.com");
  dns_.add_mx("example.com", 20, "mx2.example.com");
  dns_.add_a("mx1.example.com", "198.51.100.1");
  dns_.add_a("mx2.example.com", "198.51.100.2");
  dns_.add_txt("_spf.example.com", {"v=spf1 ip4:192.0.2.0/24 -all"});
  auto r = run("192.0.2.1", "example.com");
  EXPECT_EQ(r.verdict, Verdict::pass);
  EXPECT_EQ(r.lookups, 2);
  EXPECT_EQ(r.dns_queries, 5);
  EXPECT_EQ(dns_.query_count(), 5u);
}

}  // namespace
}  // namespace mxsec::auth::spf

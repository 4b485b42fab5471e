// Tests for auth/dmarc/org_domain.cpp: _dmarc lookups, the DNS Tree Walk,
// Organizational Domain selection and the libpsl mode (publicsuffix-tests).
#include "auth/dmarc/org_domain.hpp"

#include <gtest/gtest.h>

#include <cctype>
#include <fstream>

#include "test_util.hpp"

namespace mxsec::auth::dmarc {
namespace {

using testing::run;
using testing::testdata;

// --- walk targets (pure) ---------------------------------------------------------

struct TargetsCase {
  std::string name, domain;
  std::vector<std::string> expected;
};

class TreeWalkTargets : public ::testing::TestWithParam<TargetsCase> {};

TEST_P(TreeWalkTargets, MatchTheRfc) {
  EXPECT_EQ(tree_walk_targets(GetParam().domain), GetParam().expected);
  EXPECT_LE(tree_walk_targets(GetParam().domain).size(), 8u);
}

INSTANTIATE_TEST_SUITE_P(
    Dmarc, TreeWalkTargets,
    ::testing::Values(
        TargetsCase{"four_labels", "a.mail.example.com", {"a.mail.example.com", "mail.example.com", "example.com", "com"}},
        TargetsCase{"tld", "com", {"com"}},
        TargetsCase{"normalized", "A.Example.COM.", {"a.example.com", "example.com", "com"}},
        // RFC 9989 §4.10: "a.b.c.d.e.f.g.h.i.j.mail.example.com ... would require the following eight queries"
        TargetsCase{"rfc9989_13_labels",
                    "a.b.c.d.e.f.g.h.i.j.mail.example.com",
                    {"a.b.c.d.e.f.g.h.i.j.mail.example.com", "g.h.i.j.mail.example.com", "h.i.j.mail.example.com",
                     "i.j.mail.example.com", "j.mail.example.com", "mail.example.com", "example.com", "com"}},
        // RFC 9989 §5.1 "A Note on Large, Complex Organizations": the psd=n node is never asked.
        TargetsCase{"rfc9989_zone_cut_note",
                    "mail.a.b.c.d.e.f.g.example.com",
                    {"mail.a.b.c.d.e.f.g.example.com", "c.d.e.f.g.example.com", "d.e.f.g.example.com",
                     "e.f.g.example.com", "f.g.example.com", "g.example.com", "example.com", "com"}},
        TargetsCase{"exactly_eight_labels",
                    "a.b.c.d.e.f.example.com",
                    {"a.b.c.d.e.f.example.com", "b.c.d.e.f.example.com", "c.d.e.f.example.com", "d.e.f.example.com",
                     "e.f.example.com", "f.example.com", "example.com", "com"}},
        TargetsCase{"empty", "", {}}),
    [](const auto& info) { return info.param.name; });

TEST(TreeWalkTargetsBudget, SmallerBudgetShortensTheSameWay) {
  EXPECT_EQ(tree_walk_targets("a.b.c.d.example.com", 3),
            (std::vector<std::string>{"a.b.c.d.example.com", "example.com", "com"}));
}

// --- tree walk through DNS -------------------------------------------------------

struct WalkEnv {
  dns::FakeResolver dns;
  DmarcLookup lookup{dns};
  OrgDomainFinder finder{lookup, OrgDomainMode::tree_walk, nullptr};
  Result<std::string> org(const std::string& d) { return run(finder.org_domain(d)); }
};

TEST(OrgDomainTreeWalk, Rfc9989FewestLabels) {
  // "If there are DMARC Policy Records published at "_dmarc.mail.example.com" and
  // "_dmarc.example.com", but not at ... "_dmarc.com", then the Organizational
  // Domain for this domain would be "example.com"."
  WalkEnv e;
  e.dns.add_txt("_dmarc.mail.example.com", {"v=DMARC1; p=none"});
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  auto o = e.org("a.mail.example.com");
  ASSERT_TRUE(o) << o.error().message;
  EXPECT_EQ(*o, "example.com");
  EXPECT_EQ(e.dns.query_count(), 4u);
}

TEST(OrgDomainTreeWalk, Rfc9989PsdN) {
  WalkEnv e;
  e.dns.add_txt("_dmarc.mail.example.com", {"v=DMARC1; p=none; psd=n"});
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  auto o = e.org("a.mail.example.com");
  ASSERT_TRUE(o);
  EXPECT_EQ(*o, "mail.example.com");
  EXPECT_EQ(e.dns.query_count(), 2u);  // the walk stops at psd=n
}

TEST(OrgDomainTreeWalk, Rfc9989PsdYAtTld) {
  WalkEnv e;
  e.dns.add_txt("_dmarc.com", {"v=DMARC1; p=reject; psd=y"});
  auto o = e.org("a.mail.example.com");
  ASSERT_TRUE(o);
  EXPECT_EQ(*o, "example.com");
  EXPECT_EQ(e.dns.query_count(), 4u);
}

TEST(OrgDomainTreeWalk, Rfc9989PsdExampleBank) {
  // RFC 9989 Appendix "Example with a PSD DMARC Policy Record".
  WalkEnv e;
  e.dns.add_txt("_dmarc.bank.example", {"v=DMARC1; p=reject; psd=y"});
  e.dns.add_txt("_dmarc.giant.bank.example", {"v=DMARC1; p=reject"});
  EXPECT_EQ(e.org("giant.bank.example").value_or(""), "giant.bank.example");
  EXPECT_EQ(e.org("mail.giant.bank.example").value_or(""), "giant.bank.example");
  EXPECT_EQ(e.org("mail.mega.bank.example").value_or(""), "mega.bank.example");
  // giant (2 names, stops at psd=y) + mail.giant (1 new) + mail.mega, mega (2 new).
  EXPECT_EQ(e.dns.query_count(), 5u);
  EXPECT_EQ(e.dns.query_count("_dmarc.example", dns::RrType::txt), 0u);  // never past psd=y
}

TEST(OrgDomainTreeWalk, Rfc9989DeepWalkIsEightQueries) {
  WalkEnv e;
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  e.dns.add_txt("_dmarc.signing.example.com", {"v=DMARC1; p=none"});
  EXPECT_EQ(e.org("a.b.c.d.e.f.g.h.i.j.k.example.com").value_or(""), "example.com");
  EXPECT_EQ(e.dns.query_count(), 8u);
  EXPECT_EQ(e.org("signing.example.com").value_or(""), "example.com");
  EXPECT_EQ(e.dns.query_count(), 9u);  // only _dmarc.signing.example.com was new
}

TEST(OrgDomainTreeWalk, PsdYAtStartIsIgnoredForSelection) {
  WalkEnv e;
  e.dns.add_txt("_dmarc.bank.example", {"v=DMARC1; p=reject; psd=y"});
  EXPECT_EQ(e.org("bank.example").value_or(""), "bank.example");
  EXPECT_EQ(e.dns.query_count(), 1u);
}

TEST(OrgDomainTreeWalk, NoRecordsMeansStartDomain) {
  WalkEnv e;
  EXPECT_EQ(e.org("x.y.example").value_or(""), "x.y.example");
  EXPECT_EQ(e.dns.query_count(), 3u);
}

TEST(OrgDomainTreeWalk, MultipleRecordsAreDiscarded) {
  WalkEnv e;
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=none"});
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  e.dns.add_txt("_dmarc.example.com", {"unrelated text"});
  EXPECT_EQ(e.org("a.example.com").value_or(""), "a.example.com");
  auto r = run(e.lookup.lookup("example.com"));
  EXPECT_EQ(r.kind, DmarcLookupResult::Kind::multiple);
}

TEST(OrgDomainTreeWalk, NonDmarcTxtIsIgnoredAndStringsAreJoined) {
  WalkEnv e;
  e.dns.add_txt("_dmarc.example.com", {"v=spf1 -all"});
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=", "reject"});
  auto r = run(e.lookup.lookup("example.com"));
  ASSERT_EQ(r.kind, DmarcLookupResult::Kind::single);
  EXPECT_EQ(r.record->p, Policy::reject);
}

struct FailCase {
  std::string name;
  dns::Status status;
  dns::Security security;
};

class OrgDomainWalkFailure : public ::testing::TestWithParam<FailCase> {};

TEST_P(OrgDomainWalkFailure, IsAnErrorNeverAGuess) {
  WalkEnv e;
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  e.dns.set_outcome("_dmarc.mail.example.com", dns::RrType::txt, GetParam().status, GetParam().security, "bad sig");
  auto o = e.org("a.mail.example.com");
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code, Errc::dns);
  EXPECT_EQ(e.dns.query_count(), 2u);  // stops at the failure
}

INSTANTIATE_TEST_SUITE_P(Dmarc, OrgDomainWalkFailure,
                         ::testing::Values(FailCase{"servfail", dns::Status::servfail, dns::Security::indeterminate},
                                           FailCase{"timeout", dns::Status::timeout, dns::Security::indeterminate},
                                           FailCase{"bogus", dns::Status::ok, dns::Security::bogus}),
                         [](const auto& info) { return info.param.name; });

TEST(OrgDomainTreeWalk, BogusRecordIsFailedWithReason) {
  WalkEnv e;
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=none"});
  e.dns.set_security("_dmarc.example.com", dns::RrType::txt, dns::Security::bogus, "RRSIG expired");
  auto r = run(e.lookup.lookup("example.com"));
  EXPECT_EQ(r.kind, DmarcLookupResult::Kind::failed);
  EXPECT_NE(r.reason.find("RRSIG expired"), std::string::npos);
  EXPECT_FALSE(r.record);
}

TEST(OrgDomainTreeWalk, QuotaFailsClosed) {
  dns::FakeResolver dns;
  LookupConfig cfg;
  cfg.max_queries = 2;
  DmarcLookup lookup(dns, cfg);
  OrgDomainFinder finder(lookup, OrgDomainMode::tree_walk, nullptr);
  auto o = run(finder.org_domain("a.b.example.com"));
  ASSERT_FALSE(o);
  EXPECT_NE(o.error().message.find("quota"), std::string::npos);
  EXPECT_EQ(dns.query_count(), 2u);
}

TEST(OrgDomainTreeWalk, OversizedRecordIsInvalid) {
  WalkEnv e;
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=none; x=", std::string(250, 'a'),
                                       std::string(250, 'b'), std::string(250, 'c'), std::string(250, 'd'),
                                       std::string(250, 'e'), std::string(250, 'f'), std::string(250, 'g'),
                                       std::string(250, 'h'), std::string(250, 'i'), std::string(250, 'j'),
                                       std::string(250, 'k'), std::string(250, 'l'), std::string(250, 'm'),
                                       std::string(250, 'n'), std::string(250, 'o'), std::string(250, 'p'),
                                       std::string(250, 'q')});
  auto r = run(e.lookup.lookup("example.com"));
  EXPECT_EQ(r.kind, DmarcLookupResult::Kind::invalid);
  auto o = e.org("a.example.com");
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code, Errc::limit);
}

// --- libpsl mode: publicsuffix-tests/tests.txt --------------------------------------

struct PslCase {
  int line = 0;
  std::string input, expected;  // "null" = none
};

std::vector<PslCase> LoadPslTests() {
  std::vector<PslCase> out;
  std::ifstream in(testdata("publicsuffix-tests/tests.txt"));
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line.rfind("//", 0) == 0) continue;
    const auto sp = line.find(' ');
    if (sp == std::string::npos) continue;
    out.push_back({n, line.substr(0, sp), line.substr(sp + 1)});
  }
  return out;
}

std::shared_ptr<const PublicSuffixList> Psl() {
  static auto psl = PublicSuffixList::load();
  return psl ? *psl : nullptr;
}

TEST(PublicSuffixTests, DataFileIsPresentAndComplete) {
  // A missing suite is a failure, not a skip: README says 78 active cases.
  EXPECT_EQ(LoadPslTests().size(), 78u) << testdata("publicsuffix-tests/tests.txt");
  ASSERT_NE(Psl(), nullptr);
}

class PublicSuffixTests : public ::testing::TestWithParam<PslCase> {};

TEST_P(PublicSuffixTests, RegistrableDomain) {
  const PslCase& c = GetParam();
  auto psl = Psl();
  ASSERT_NE(psl, nullptr);
  // "null null": no input at all; our API takes a string, the closest is "".
  const std::string input = c.input == "null" ? "" : c.input;
  auto got = psl->registrable_domain(input);
  if (c.expected == "null") {
    EXPECT_FALSE(got) << c.input << " -> " << got.value_or("");
  } else {
    ASSERT_TRUE(got) << c.input;
    EXPECT_EQ(*got, c.expected);
  }
}

INSTANTIATE_TEST_SUITE_P(PslTestsTxt, PublicSuffixTests, ::testing::ValuesIn(LoadPslTests()),
                         [](const auto& info) {
                           std::string name = "line" + std::to_string(info.param.line) + "_";
                           for (unsigned char ch : info.param.input) name += std::isalnum(ch) ? static_cast<char>(ch) : '_';
                           return name;
                         });

TEST(OrgDomainPsl, FinderUsesRegistrableDomainAndNoDns) {
  dns::FakeResolver dns;
  DmarcLookup lookup(dns);
  OrgDomainFinder finder(lookup, OrgDomainMode::psl, Psl());
  EXPECT_EQ(run(finder.org_domain("www.test.ac.jp")).value_or(""), "test.ac.jp");
  EXPECT_EQ(run(finder.org_domain("a.b.example.co.uk")).value_or(""), "example.co.uk");
  EXPECT_EQ(run(finder.org_domain("com")).value_or(""), "com");  // a public suffix is its own
  EXPECT_EQ(dns.query_count(), 0u);
}

TEST(OrgDomainPsl, LoadFailsForMissingExplicitFile) {
  auto psl = PublicSuffixList::load("/nonexistent/psl.dafsa");
  EXPECT_FALSE(psl);
}

}  // namespace
}  // namespace mxsec::auth::dmarc

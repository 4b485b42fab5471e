// Tests for auth/dmarc/evaluate.cpp: policy discovery, p/sp/np choice and the
// verdict, including cases built from mail-auth's DMARC aggregate reports.
#include "auth/dmarc/evaluate.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/strings.hpp"
#include "test_util.hpp"

namespace mxsec::auth::dmarc {
namespace {

using testing::run;
using testing::testdata;

Evaluation Eval(dns::FakeResolver& dns, EvaluationInput in, Config cfg = {}) {
  return run(evaluate(dns, cfg, std::move(in)));
}

using R = AuthResult;

EvaluationInput Input(std::string author, AuthResult spf_result, std::string spf_domain,
                      std::vector<DkimInput> dkim = {}) {
  return EvaluationInput{std::move(author), {spf_result, std::move(spf_domain)}, std::move(dkim)};
}

TEST(Evaluate, Rfc9989SmtpSessionExample) {
  // Author Domain example.com, SPF mail.example.com, DKIM example.com,
  // "v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com" -> pass.
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject; aspf=r;", " rua=mailto:dmarc-feedback@example.com"});
  Evaluation ev = Eval(dns, Input("example.com", R::pass, "mail.example.com", {{R::pass, "example.com", "s1"}}));
  EXPECT_EQ(ev.result, Verdict::pass) << ev.reason;
  EXPECT_TRUE(ev.dkim_aligned);
  EXPECT_EQ(ev.dns_queries, 1u);  // strict match of d= needs no walk
  EXPECT_EQ(dns.query_count(), 1u);

  Config all;
  all.check_all_identifiers = true;
  dns.reset_counts();
  Evaluation both = Eval(dns, Input("example.com", R::pass, "mail.example.com", {{R::pass, "example.com", "s1"}}), all);
  EXPECT_TRUE(both.spf_aligned);
  EXPECT_TRUE(both.dkim_aligned);
  EXPECT_EQ(dns.query_count(), 3u);  // + _dmarc.mail.example.com, _dmarc.com
}

TEST(Evaluate, Rfc9989SimpleOrganizationalExample) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  dns.add_txt("_dmarc.signing.example.com", {"v=DMARC1; p=none"});
  Evaluation ev = Eval(dns, Input("example.com", R::fail, "example.com", {{R::pass, "signing.example.com", "s"}}));
  EXPECT_EQ(ev.result, Verdict::pass) << ev.reason;
  EXPECT_TRUE(ev.dkim_aligned);
  EXPECT_FALSE(ev.spf_aligned);
  EXPECT_EQ(ev.discovery.policy_domain, "example.com");
}

TEST(Evaluate, Rfc9989DeepTreeWalkExample) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject; sp=quarantine; np=reject"});
  dns.add_txt("_dmarc.signing.example.com", {"v=DMARC1; p=none"});
  dns.add_a("a.b.c.d.e.f.g.h.i.j.k.example.com", "192.0.2.1");
  Evaluation ev = Eval(dns, Input("a.b.c.d.e.f.g.h.i.j.k.example.com", R::fail, "example.com",
                                  {{R::fail, "signing.example.com", "s"}}));
  EXPECT_EQ(ev.result, Verdict::fail);
  EXPECT_EQ(ev.discovery.policy_domain, "example.com");
  EXPECT_EQ(ev.discovery.org_domain, "example.com");
  EXPECT_EQ(ev.policy.source, PolicySource::sp);
  EXPECT_EQ(ev.policy.requested, Policy::quarantine);
  EXPECT_EQ(ev.policy.existence, DomainExistence::exists);
  EXPECT_EQ(dns.query_count(), 9u);  // 8 walk queries + 1 existence check (sp != np)
}

TEST(Evaluate, Rfc9989PsdExample) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.bank.example", {"v=DMARC1; p=reject; psd=y"});
  dns.add_txt("_dmarc.giant.bank.example", {"v=DMARC1; p=quarantine"});
  Evaluation ev = Eval(dns, Input("giant.bank.example", R::pass, "mail.giant.bank.example",
                                  {{R::pass, "mail.mega.bank.example", "s"}}));
  EXPECT_EQ(ev.result, Verdict::pass);
  EXPECT_TRUE(ev.spf_aligned);
  EXPECT_FALSE(ev.dkim_aligned);
}

// --- RFC 9989 §4.8: tag names and values are case-insensitive (consequences) ---

TEST(Rfc9989TagsAreCaseInsensitive, AdkimUpperSMeansStrict) {
  // Read as relaxed, mail.example.com would align with example.com.
  for (const char* rec : {"v=DMARC1; p=reject; adkim=S", "v=DMARC1; p=reject; ADKIM=s", "v=DMARC1; p=reject; AdKiM=S"}) {
    dns::FakeResolver dns;
    dns.add_txt("_dmarc.example.com", {rec});
    Evaluation ev = Eval(dns, Input("example.com", R::fail, "attacker.example", {{R::pass, "mail.example.com", "s"}}));
    EXPECT_EQ(ev.result, Verdict::fail) << rec << ": " << ev.reason;
    EXPECT_FALSE(ev.dkim_aligned) << rec;
    EXPECT_EQ(ev.policy.applied, Policy::reject) << rec;
  }
}

TEST(Rfc9989TagsAreCaseInsensitive, AspfUpperSMeansStrict) {
  for (const char* rec : {"v=DMARC1; p=reject; aspf=S", "v=DMARC1; p=reject; ASPF=S", "v=DMARC1; p=reject; aSpF=s"}) {
    dns::FakeResolver dns;
    dns.add_txt("_dmarc.example.com", {rec});
    Evaluation ev = Eval(dns, Input("example.com", R::pass, "bounce.example.com"));
    EXPECT_EQ(ev.result, Verdict::fail) << rec << ": " << ev.reason;
    EXPECT_FALSE(ev.spf_aligned) << rec;
  }
}

TEST(Rfc9989TagsAreCaseInsensitive, PsdUpperYIsHonoured) {
  // bank.example publishes psd=Y: its tenants are separate Organizational
  // Domains, so a signature of one tenant must not pass DMARC for another.
  // Read as psd=u, both would share the Organizational Domain bank.example.
  for (const char* rec : {"v=DMARC1; p=reject; psd=Y", "v=DMARC1; p=reject; PSD=y", "v=DMARC1; P=REJECT; PsD=Y"}) {
    dns::FakeResolver dns;
    dns.add_txt("_dmarc.bank.example", {rec});
    Evaluation ev =
        Eval(dns, Input("victim.bank.example", R::fail, "x.example", {{R::pass, "attacker.bank.example", "s"}}));
    EXPECT_EQ(ev.result, Verdict::fail) << rec << ": " << ev.reason;
    EXPECT_FALSE(ev.dkim_aligned) << rec;
    EXPECT_TRUE(ev.discovery.from_psd) << rec;
    EXPECT_EQ(ev.discovery.org_domain, "victim.bank.example") << rec;
    EXPECT_EQ(ev.policy.applied, Policy::reject) << rec;
  }
}

TEST(Rfc9989TagsAreCaseInsensitive, UpperPRejectGivesReject) {
  for (const char* rec : {"v=DMARC1; P=REJECT", "v=DMARC1; p=REJECT", "v=DMARC1; P=reject", "v=DMARC1; p=ReJeCt"}) {
    dns::FakeResolver dns;
    dns.add_txt("_dmarc.example.com", {rec});
    Evaluation ev = Eval(dns, Input("example.com", R::fail, "attacker.example"));
    EXPECT_EQ(ev.result, Verdict::fail) << rec << ": " << ev.reason;
    EXPECT_EQ(ev.policy.requested, Policy::reject) << rec;
    EXPECT_EQ(ev.policy.applied, Policy::reject) << rec;
    EXPECT_EQ(ev.policy.source, PolicySource::p) << rec;
  }
}

TEST(Rfc9989TagsAreCaseInsensitive, UpperTYLowersThePolicy) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; P=Reject; T=Y"});
  Evaluation ev = Eval(dns, Input("example.com", R::fail, "attacker.example"));
  EXPECT_EQ(ev.result, Verdict::fail);
  EXPECT_EQ(ev.policy.applied, Policy::quarantine);
}

TEST(Rfc9989TagsAreCaseInsensitive, UpperSpAndNpApplyBelowTheOrgDomain) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=none; SP=REJECT; NP=Quarantine"});
  dns.add_a("a.example.com", "192.0.2.1");
  Evaluation exists = Eval(dns, Input("a.example.com", R::fail, "attacker.example"));
  EXPECT_EQ(exists.policy.requested, Policy::reject);
  EXPECT_EQ(exists.policy.source, PolicySource::sp);
  Evaluation gone = Eval(dns, Input("gone.example.com", R::fail, "attacker.example"));
  EXPECT_EQ(gone.policy.requested, Policy::quarantine);
  EXPECT_EQ(gone.policy.source, PolicySource::np);
}

// --- RFC 9989 §5.3.1: a U-label Author Domain is looked up as A-labels ---

TEST(Rfc9989AuthorDomainIsConvertedToALabels, BuecherExample) {
  // From: joerg@bücher.example
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.xn--bcher-kva.example", {"v=DMARC1; p=reject"});
  Evaluation ev = Eval(dns, Input("b\xc3\xbc" "cher.example", R::fail, "attacker.example"));
  EXPECT_EQ(ev.result, Verdict::fail) << ev.reason;
  EXPECT_EQ(ev.discovery.author_domain, "xn--bcher-kva.example");
  EXPECT_EQ(ev.discovery.policy_domain, "xn--bcher-kva.example");
  EXPECT_EQ(ev.policy.applied, Policy::reject);
  EXPECT_EQ(dns.query_count("_dmarc.xn--bcher-kva.example", dns::RrType::txt), 1u);

  // A signature by the A-label domain aligns with the U-label author.
  Evaluation pass = Eval(dns, Input("B\xc3\x9c" "CHER.example", R::fail, "attacker.example",
                                    {{R::pass, "xn--bcher-kva.example", "s"}}));
  EXPECT_EQ(pass.result, Verdict::pass) << pass.reason;
  EXPECT_TRUE(pass.dkim_aligned);
}

TEST(Rfc9989AuthorDomainIsConvertedToALabels, InvalidULabelIsPermerrorWithoutQueries) {
  dns::FakeResolver dns;
  // Not UTF-8 at all, and a label IDNA 2008 disallows (U+2665 BLACK HEART SUIT).
  for (const char* bad : {"b\xfc" "cher.example", "\xe2\x99\xa5.example"}) {
    Evaluation ev = Eval(dns, Input(bad, R::pass, "example.com"));
    EXPECT_EQ(ev.result, Verdict::permerror) << bad;
    EXPECT_NE(ev.reason.find("invalid Author Domain"), std::string::npos) << ev.reason;
  }
  EXPECT_EQ(dns.query_count(), 0u);
}

// --- p / sp / np selection ---------------------------------------------------------

struct PolicyCase {
  std::string name;
  std::vector<std::pair<std::string, std::string>> txt;
  std::vector<std::pair<std::string, std::string>> a;  // existing names
  std::string author;
  Policy requested, applied;
  PolicySource source;
  DomainExistence existence;
  bool from_psd;
  std::size_t queries;
};

class PolicySelection : public ::testing::TestWithParam<PolicyCase> {};

TEST_P(PolicySelection, ChoosesTheRightTag) {
  const PolicyCase& c = GetParam();
  dns::FakeResolver dns;
  for (const auto& [n, v] : c.txt) dns.add_txt(n, {v});
  for (const auto& [n, v] : c.a) dns.add_a(n, v);
  Evaluation ev = Eval(dns, Input(c.author, R::fail, "attacker.example"));
  ASSERT_EQ(ev.result, Verdict::fail) << ev.reason;
  EXPECT_EQ(ev.policy.requested, c.requested);
  EXPECT_EQ(ev.policy.applied, c.applied);
  EXPECT_EQ(ev.policy.source, c.source);
  EXPECT_EQ(ev.policy.existence, c.existence);
  EXPECT_EQ(ev.discovery.from_psd, c.from_psd);
  EXPECT_EQ(dns.query_count(), c.queries);
  EXPECT_EQ(ev.dns_queries, c.queries);
}

using P = Policy;
using Src = PolicySource;
using Ex = DomainExistence;
const std::string kOrg = "_dmarc.example.com";

INSTANTIATE_TEST_SUITE_P(
    Dmarc, PolicySelection,
    ::testing::Values(
        PolicyCase{"author_record_uses_p", {{kOrg, "v=DMARC1; p=reject; sp=none; np=none"}}, {}, "example.com",
                   P::reject, P::reject, Src::p, Ex::not_checked, false, 1},
        PolicyCase{"existing_subdomain_uses_sp",
                   {{kOrg, "v=DMARC1; p=reject; sp=quarantine; np=none"}},
                   {{"mail.example.com", "192.0.2.1"}},
                   "mail.example.com", P::quarantine, P::quarantine, Src::sp, Ex::exists, false, 4},
        PolicyCase{"nonexistent_subdomain_uses_np",
                   {{kOrg, "v=DMARC1; p=none; sp=none; np=reject"}},
                   {},
                   "nx.example.com", P::reject, P::reject, Src::np, Ex::nonexistent, false, 4},
        PolicyCase{"nonexistent_without_np_uses_sp",
                   {{kOrg, "v=DMARC1; p=none; sp=quarantine"}},
                   {},
                   "nx.example.com", P::quarantine, P::quarantine, Src::sp, Ex::not_checked, false, 3},
        PolicyCase{"subdomain_without_sp_uses_p", {{kOrg, "v=DMARC1; p=reject"}}, {}, "nx.example.com", P::reject,
                   P::reject, Src::p, Ex::not_checked, false, 3},
        PolicyCase{"np_only_existing_uses_p",
                   {{kOrg, "v=DMARC1; p=quarantine; np=reject"}},
                   {{"www.example.com", "2001:db8::1"}},
                   "www.example.com", P::quarantine, P::quarantine, Src::p, Ex::exists, false, 4},
        PolicyCase{"testing_lowers_reject", {{kOrg, "v=DMARC1; p=reject; t=y"}}, {}, "example.com", P::reject,
                   P::quarantine, Src::p, Ex::not_checked, false, 1},
        PolicyCase{"pct0_lowers_quarantine", {{kOrg, "v=DMARC1; p=quarantine; pct=0"}}, {}, "example.com",
                   P::quarantine, P::none, Src::p, Ex::not_checked, false, 1},
        PolicyCase{"bad_sp_with_rua_acts_as_none",
                   {{kOrg, "v=DMARC1; p=reject; sp=x; rua=mailto:r@example.com"}},
                   {},
                   "example.com", P::none, P::none, Src::p, Ex::not_checked, false, 1},
        // PSD DMARC: no Organizational Domain record, the PSD's np applies.
        PolicyCase{"psd_np_for_nonexistent",
                   {{"_dmarc.bank.example", "v=DMARC1; p=none; np=reject; psd=y"}},
                   {},
                   "nx.mega.bank.example", P::reject, P::reject, Src::np, Ex::nonexistent, true, 4},
        PolicyCase{"psd_sp_for_existing",
                   {{"_dmarc.bank.example", "v=DMARC1; p=none; sp=quarantine; np=reject; psd=y"}},
                   {{"mega.bank.example", "192.0.2.9"}},
                   "mega.bank.example", P::quarantine, P::quarantine, Src::sp, Ex::exists, true, 3},
        // The Organizational Domain's own record beats the PSD's.
        PolicyCase{"org_record_beats_psd",
                   {{"_dmarc.bank.example", "v=DMARC1; p=reject; psd=y"}, {"_dmarc.mega.bank.example", "v=DMARC1; p=none"}},
                   {},
                   "x.mega.bank.example", P::none, P::none, Src::p, Ex::not_checked, false, 3},
        // Multiple records at the Author Domain are discarded; the walk goes on.
        PolicyCase{"multiple_at_author_discarded",
                   {{kOrg, "v=DMARC1; p=reject"}, {"_dmarc.a.example.com", "v=DMARC1; p=none"},
                    {"_dmarc.a.example.com", "v=DMARC1; p=quarantine"}},
                   {},
                   "a.example.com", P::reject, P::reject, Src::p, Ex::not_checked, false, 3}),
    [](const auto& info) { return info.param.name; });

// --- none / temperror / permerror ----------------------------------------------------

TEST(Evaluate, NoRecordIsNoneAfterTheWalk) {
  dns::FakeResolver dns;
  Evaluation ev = Eval(dns, Input("a.b.example.com", R::pass, "a.b.example.com"));
  EXPECT_EQ(ev.result, Verdict::none);
  EXPECT_EQ(dns.query_count(), 4u);
}

struct ErrorCase {
  std::string name, failing_name;
  dns::Status status;
  dns::Security security;
  Verdict expected;
};

class EvaluateDnsFailure : public ::testing::TestWithParam<ErrorCase> {};

TEST_P(EvaluateDnsFailure, NeverPasses) {
  const ErrorCase& c = GetParam();
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  dns.add_txt("_dmarc.mail.example.com", {"v=DMARC1; p=reject"});
  dns.set_outcome(c.failing_name, dns::RrType::txt, c.status, c.security, "broken");
  Evaluation ev = Eval(dns, Input("mail.example.com", R::pass, "mail.example.com", {{R::pass, "mail.example.com", "s"}}));
  EXPECT_EQ(ev.result, c.expected) << ev.reason;
  EXPECT_FALSE(ev.reason.empty());
}

INSTANTIATE_TEST_SUITE_P(
    Dmarc, EvaluateDnsFailure,
    ::testing::Values(
        ErrorCase{"servfail_at_author", "_dmarc.mail.example.com", dns::Status::servfail, dns::Security::indeterminate,
                  Verdict::temperror},
        ErrorCase{"timeout_at_author", "_dmarc.mail.example.com", dns::Status::timeout, dns::Security::indeterminate,
                  Verdict::temperror},
        ErrorCase{"bogus_at_author", "_dmarc.mail.example.com", dns::Status::ok, dns::Security::bogus,
                  Verdict::temperror}),
    [](const auto& info) { return info.param.name; });

TEST(Evaluate, WalkFailureAboveTheAuthorIsTemperror) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  dns.set_outcome("_dmarc.com", dns::RrType::txt, dns::Status::servfail, dns::Security::indeterminate);
  Evaluation ev = Eval(dns, Input("mail.example.com", R::fail, "x.example"));
  EXPECT_EQ(ev.result, Verdict::temperror);
  EXPECT_EQ(ev.discovery.outcome, PolicyDiscovery::Outcome::temperror);
}

TEST(Evaluate, ExistenceCheckFailureIsTemperror) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=none; np=reject"});
  for (auto t : {dns::RrType::a, dns::RrType::aaaa, dns::RrType::mx})
    dns.set_outcome("x.example.com", t, dns::Status::servfail, dns::Security::indeterminate);
  Evaluation ev = Eval(dns, Input("x.example.com", R::fail, "x.example"));
  EXPECT_EQ(ev.result, Verdict::temperror);
  EXPECT_EQ(ev.policy.existence, DomainExistence::unknown);
  EXPECT_EQ(dns.query_count("x.example.com", dns::RrType::mx), 1u);
}

TEST(Evaluate, ExistenceFallsBackToAaaaThenMx) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=none; np=reject"});
  dns.set_outcome("x.example.com", dns::RrType::a, dns::Status::timeout, dns::Security::indeterminate);
  dns.set_outcome("x.example.com", dns::RrType::aaaa, dns::Status::servfail, dns::Security::indeterminate);
  dns.add_mx("x.example.com", 10, "mx.example.com");
  Evaluation ev = Eval(dns, Input("x.example.com", R::fail, "x.example"));
  EXPECT_EQ(ev.result, Verdict::fail);
  EXPECT_EQ(ev.policy.existence, DomainExistence::exists);
  EXPECT_EQ(ev.policy.requested, Policy::none);
}

TEST(Evaluate, UnusableRecordIsPermerror) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=bogus"});
  Evaluation ev = Eval(dns, Input("example.com", R::fail, "x.example"));
  EXPECT_EQ(ev.result, Verdict::permerror);
  EXPECT_NE(ev.reason.find("no valid p"), std::string::npos);
}

TEST(Evaluate, InvalidAuthorDomainIsPermerror) {
  dns::FakeResolver dns;
  Evaluation ev = Eval(dns, Input("exa mple..com", R::pass, "example.com"));
  EXPECT_EQ(ev.result, Verdict::permerror);
  EXPECT_EQ(dns.query_count(), 0u);
}

TEST(Evaluate, AlignedTemperrorBlocksFailUnalignedDoesNot) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  Evaluation aligned = Eval(dns, Input("example.com", R::fail, "example.com", {{R::temperror, "example.com", "s"}}));
  EXPECT_EQ(aligned.result, Verdict::temperror);
  Evaluation unaligned =
      Eval(dns, Input("example.com", R::fail, "example.com", {{R::temperror, "attacker.example", "s"}}));
  EXPECT_EQ(unaligned.result, Verdict::fail);
  EXPECT_EQ(unaligned.policy.applied, Policy::reject);
}

// The same under one TLD: a spoofer adds a DKIM signature, or uses a MAIL
// FROM, in a domain whose DNS fails. It cannot align with example.com (whose
// Organizational Domain is known), so DMARC still fails with p=reject.
TEST(Evaluate, UnalignedTemperrorWithBrokenDnsUnderTheSameTld) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  dns.set_outcome("_dmarc.attacker.com", dns::RrType::txt, dns::Status::servfail, dns::Security::bogus);
  Evaluation dkim = Eval(dns, Input("example.com", R::fail, "example.com", {{R::temperror, "attacker.com", "s"}}));
  EXPECT_EQ(dkim.result, Verdict::fail) << dkim.reason;
  EXPECT_EQ(dkim.policy.applied, Policy::reject);
  Evaluation spf = Eval(dns, Input("example.com", R::temperror, "attacker.com"));
  EXPECT_EQ(spf.result, Verdict::fail) << spf.reason;
  EXPECT_EQ(spf.policy.applied, Policy::reject);
  EXPECT_EQ(dns.query_count("_dmarc.attacker.com", dns::RrType::txt), 0u);
  // An aligned identifier below example.com still blocks the fail.
  Evaluation aligned = Eval(dns, Input("example.com", R::temperror, "bounce.example.com"));
  EXPECT_EQ(aligned.result, Verdict::temperror) << aligned.reason;
}

TEST(Evaluate, StrictModeIgnoresParentDomains) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject; adkim=s; aspf=s"});
  Evaluation ev = Eval(dns, Input("example.com", R::pass, "bounce.example.com", {{R::pass, "sub.example.com", "s"}}));
  EXPECT_EQ(ev.result, Verdict::fail);
  EXPECT_EQ(dns.query_count(), 1u);  // strict needs no walk
}

TEST(Evaluate, QuotaExhaustionFailsClosed) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  Config cfg;
  cfg.max_queries = 3;
  std::vector<DkimInput> many;
  for (int i = 0; i < 10; ++i) many.push_back({R::pass, "s" + std::to_string(i) + ".other.example.com", "x"});
  Evaluation ev = Eval(dns, Input("a.example.com", R::fail, "x.example", many), cfg);
  EXPECT_NE(ev.result, Verdict::pass);
  EXPECT_LE(dns.query_count(), 3u);
}

TEST(Evaluate, PslModeRfc7489Discovery) {
  auto psl = PublicSuffixList::load();
  ASSERT_TRUE(psl);
  Config cfg;
  cfg.mode = OrgDomainMode::psl;
  cfg.psl = *psl;
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.co.uk", {"v=DMARC1; p=reject; sp=quarantine"});
  dns.add_a("a.b.example.co.uk", "192.0.2.1");
  Evaluation ev = Eval(dns, Input("a.b.example.co.uk", R::pass, "bounce.example.co.uk"), cfg);
  EXPECT_EQ(ev.result, Verdict::pass);  // relaxed: same registrable domain
  EXPECT_EQ(ev.discovery.org_domain, "example.co.uk");
  EXPECT_EQ(dns.query_count(), 2u);  // From domain, then Organizational Domain; no walk

  // RFC 7489 §6.6.3: multiple records at the From domain end discovery.
  dns::FakeResolver dns2;
  dns2.add_txt("_dmarc.example.co.uk", {"v=DMARC1; p=reject"});
  dns2.add_txt("_dmarc.example.co.uk", {"v=DMARC1; p=none"});
  Evaluation ev2 = Eval(dns2, Input("example.co.uk", R::fail, "x.example"), cfg);
  EXPECT_EQ(ev2.result, Verdict::none);
}

// --- cases from mail-auth's DMARC aggregate reports ------------------------------------
//
// Each report row says what its reporter concluded ("policy_evaluated": dkim
// and spf aligned-pass or fail) for the published policy and the raw
// auth_results. We publish that policy at _dmarc.<domain> and nothing else,
// feed the auth_results in, and compare the per-mechanism conclusions.

struct ReportCase {
  std::string id;
  std::string record;
  std::string policy_domain, author;
  SpfInput spf;
  std::vector<DkimInput> dkim;
  bool dkim_pass, spf_pass;
};

std::string PolicyWord(const nlohmann::json& j) {
  const std::string s = j.is_string() ? j.get<std::string>() : "";
  if (s == "None") return "none";
  if (s == "Quarantine") return "quarantine";
  if (s == "Reject") return "reject";
  return "";
}

// The reports carry RFC 8601 result words ("pass", "fail", "softfail", ...).
AuthResult Word(const nlohmann::json& j) {
  const auto r = parse_auth_result(j.get<std::string>());
  EXPECT_TRUE(r) << j;
  return r.value_or(AuthResult::none);
}

std::vector<ReportCase> LoadReports() {
  std::vector<ReportCase> out;
  const std::string dir = testdata("mail-auth/dmarc-feedback");
  for (const char* f : {"001", "002", "003", "004", "005", "100", "101", "102", "103", "104"}) {
    std::ifstream in(dir + "/" + f + ".json");
    if (!in) continue;  // counted below: a missing file fails DataPresent
    const auto j = nlohmann::json::parse(in);
    const auto& pp = j["policy_published"];
    std::string rec = "v=DMARC1; p=" + PolicyWord(pp["p"]);
    if (!PolicyWord(pp["sp"]).empty()) rec += "; sp=" + PolicyWord(pp["sp"]);
    if (pp.contains("np") && !PolicyWord(pp["np"]).empty()) rec += "; np=" + PolicyWord(pp["np"]);
    if (pp["adkim"] == "Strict") rec += "; adkim=s";
    if (pp["aspf"] == "Strict") rec += "; aspf=s";
    int row = 0;
    for (const auto& r : j["record"]) {
      ReportCase c;
      c.id = std::string("r") + f + "_row" + std::to_string(row++);
      c.record = rec;
      c.policy_domain = pp["domain"].get<std::string>();
      c.author = r["identifiers"]["header_from"].get<std::string>();
      for (const auto& s : r["auth_results"]["spf"])
        c.spf = {Word(s["result"]), s["domain"].get<std::string>()};
      for (const auto& d : r["auth_results"]["dkim"])
        c.dkim.push_back({Word(d["result"]), d["domain"].get<std::string>(),
                          d["selector"].is_string() ? d["selector"].get<std::string>() : ""});
      c.dkim_pass = r["row"]["policy_evaluated"]["dkim"] == "Pass";
      c.spf_pass = r["row"]["policy_evaluated"]["spf"] == "Pass";
      out.push_back(std::move(c));
    }
  }
  return out;
}

TEST(MailAuthReports, DataPresent) { EXPECT_EQ(LoadReports().size(), 13u) << testdata("mail-auth/dmarc-feedback"); }

class MailAuthReports : public ::testing::TestWithParam<ReportCase> {};

TEST_P(MailAuthReports, AlignmentMatchesReporter) {
  const ReportCase& c = GetParam();
  dns::FakeResolver dns;
  dns.add_txt("_dmarc." + c.policy_domain, {c.record});
  Config cfg;
  cfg.check_all_identifiers = true;
  Evaluation ev = Eval(dns, EvaluationInput{c.author, c.spf, c.dkim}, cfg);
  EXPECT_EQ(ev.dkim_aligned, c.dkim_pass) << ev.reason;
  EXPECT_EQ(ev.spf_aligned, c.spf_pass) << ev.reason;
  EXPECT_EQ(ev.result, (c.dkim_pass || c.spf_pass) ? Verdict::pass : Verdict::fail);
  EXPECT_LE(ev.dns_queries, 16u);
}

INSTANTIATE_TEST_SUITE_P(DmarcFeedback, MailAuthReports, ::testing::ValuesIn(LoadReports()),
                         [](const auto& info) { return info.param.id; });

}  // namespace
}  // namespace mxsec::auth::dmarc

// Tests for auth/dmarc/alignment.cpp: strict and relaxed Identifier Alignment.
#include "auth/dmarc/alignment.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace mxsec::auth::dmarc {
namespace {

using testing::run;

struct AlignCase {
  std::string name;
  AlignmentMode mode;
  std::string author, identifier;
  std::vector<std::pair<std::string, std::string>> txt;  // _dmarc records
  AlignmentOutcome expected;
  std::size_t queries;
};

constexpr auto kR = AlignmentMode::relaxed;
constexpr auto kS = AlignmentMode::strict;
using O = AlignmentOutcome;

class Alignment : public ::testing::TestWithParam<AlignCase> {};

TEST_P(Alignment, TreeWalkMode) {
  const AlignCase& c = GetParam();
  dns::FakeResolver dns;
  for (const auto& [name, value] : c.txt) dns.add_txt(name, {value});
  DmarcLookup lookup(dns);
  OrgDomainFinder finder(lookup, OrgDomainMode::tree_walk, nullptr);
  AlignmentCheck r = run(check_alignment(finder, c.mode, c.author, c.identifier));
  EXPECT_EQ(r.outcome, c.expected) << r.detail;
  EXPECT_EQ(dns.query_count(), c.queries);
}

const std::vector<std::pair<std::string, std::string>> kExample = {{"_dmarc.example.com", "v=DMARC1; p=reject"}};

INSTANTIATE_TEST_SUITE_P(
    Dmarc, Alignment,
    ::testing::Values(
        // RFC 9989 "Alignment Examples" table and Appendix examples.
        AlignCase{"rfc_relaxed_foo_news", kR, "news.example.com", "foo.example.com", kExample, O::aligned, 4},
        AlignCase{"rfc_strict_identical", kS, "news.example.com", "news.example.com", {}, O::aligned, 0},
        AlignCase{"rfc_none_other_org", kR, "news.example.com", "foo.example.net", kExample, O::not_aligned, 0},
        AlignCase{"rfc_spf_relaxed_parent", kR, "example.com", "child.example.com", kExample, O::aligned, 3},
        AlignCase{"rfc_spf_strict_fails", kS, "example.com", "child.example.com", kExample, O::not_aligned, 0},
        AlignCase{"case_and_dot", kS, "Example.COM.", "example.com", {}, O::aligned, 0},
        AlignCase{"empty_identifier", kR, "example.com", "", {}, O::not_aligned, 0},
        // No records at all: each name is its own Organizational Domain.
        AlignCase{"no_records_no_alignment", kR, "a.example.com", "b.example.com", {}, O::not_aligned, 3},
        // RFC 9989 §11.8: a TLD record without psd=y makes the TLD the
        // Organizational Domain for everything below it (why psd=y matters).
        AlignCase{"tld_record_without_psd", kR, "a.example", "b.other.example", {{"_dmarc.example", "v=DMARC1; p=none"}},
                  O::aligned, 4},
        AlignCase{"tld_record_with_psd_y", kR, "a.example", "b.other.example",
                  {{"_dmarc.example", "v=DMARC1; p=none; psd=y"}}, O::not_aligned, 2},
        // psd=n splits an organization.
        AlignCase{"psd_n_sub_org", kR, "x.dept.example.com", "example.com",
                  {{"_dmarc.example.com", "v=DMARC1; p=reject"}, {"_dmarc.dept.example.com", "v=DMARC1; p=none; psd=n"}},
                  O::not_aligned, 2},  // example.com is above dept.example.com: no walk of its own
        // d=com never aligns with example.com.
        AlignCase{"dkim_d_tld", kR, "example.com", "com", kExample, O::not_aligned, 2}),
    [](const auto& info) { return info.param.name; });

TEST(AlignmentErrors, WalkFailureIsTemperrorNeverAligned) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  dns.set_outcome("_dmarc.mail.example.com", dns::RrType::txt, dns::Status::servfail, dns::Security::indeterminate);
  DmarcLookup lookup(dns);
  OrgDomainFinder finder(lookup, OrgDomainMode::tree_walk, nullptr);
  AlignmentCheck r = run(check_alignment(finder, AlignmentMode::relaxed, "example.com", "mail.example.com"));
  EXPECT_EQ(r.outcome, AlignmentOutcome::temperror);
  EXPECT_FALSE(r.detail.empty());
}

// An Organizational Domain is the name or a parent of it: once the author's
// is known, an identifier outside it is not aligned without a walk of its
// own, so a DNS failure there cannot turn "not aligned" into temperror.
TEST(AlignmentErrors, IdentifierOutsideTheAuthorOrgIsNotWalked) {
  dns::FakeResolver dns;
  dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=reject"});
  dns.set_outcome("_dmarc.attacker.com", dns::RrType::txt, dns::Status::servfail, dns::Security::indeterminate);
  dns.set_outcome("_dmarc.mail.attacker.com", dns::RrType::txt, dns::Status::servfail, dns::Security::bogus);
  DmarcLookup lookup(dns);
  OrgDomainFinder finder(lookup, OrgDomainMode::tree_walk, nullptr);
  for (const char* id : {"attacker.com", "mail.attacker.com"}) {
    AlignmentCheck r = run(check_alignment(finder, AlignmentMode::relaxed, "news.example.com", id));
    EXPECT_EQ(r.outcome, AlignmentOutcome::not_aligned) << id << ": " << r.detail;
    EXPECT_EQ(r.author_org_domain, "example.com");
  }
  EXPECT_EQ(dns.query_count(), 3u);  // _dmarc.news.example.com, _dmarc.example.com, _dmarc.com
  EXPECT_EQ(dns.query_count("_dmarc.attacker.com", dns::RrType::txt), 0u);
}

TEST(AlignmentPsl, RelaxedUsesRegistrableDomains) {
  auto psl = PublicSuffixList::load();
  ASSERT_TRUE(psl);
  dns::FakeResolver dns;
  DmarcLookup lookup(dns);
  OrgDomainFinder finder(lookup, OrgDomainMode::psl, *psl);
  EXPECT_EQ(run(check_alignment(finder, AlignmentMode::relaxed, "news.example.co.uk", "bounce.example.co.uk")).outcome,
            AlignmentOutcome::aligned);
  EXPECT_EQ(run(check_alignment(finder, AlignmentMode::relaxed, "a.example.co.uk", "b.other.co.uk")).outcome,
            AlignmentOutcome::not_aligned);
  EXPECT_EQ(dns.query_count(), 0u);
}

TEST(AlignmentHelpers, ShareSuffix) {
  EXPECT_TRUE(share_suffix("a.example.com", "b.other.com"));
  EXPECT_FALSE(share_suffix("a.example.com", "a.example.net"));
  EXPECT_FALSE(share_suffix("", "com"));
  EXPECT_TRUE(strictly_aligned("EXAMPLE.com", "example.COM."));
  EXPECT_FALSE(strictly_aligned("", ""));
}

}  // namespace
}  // namespace mxsec::auth::dmarc

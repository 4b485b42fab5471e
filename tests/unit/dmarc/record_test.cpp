// Tests for auth/dmarc/record.cpp: DMARC Policy Record parsing.
#include "auth/dmarc/record.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxsec::auth::dmarc {
namespace {

struct RecordCase {
  std::string name;
  std::string txt;
  std::optional<Policy> p, sp, np;
  Usability usability;
  bool testing;
  AlignmentMode adkim, aspf;
  PsdFlag psd;
  std::size_t rua_valid;     // syntactically valid rua URIs
  std::size_t rua_actionable;
  std::vector<std::string> deprecated;
  bool warnings;             // at least one tolerated defect
};

using P = Policy;
constexpr auto R = AlignmentMode::relaxed;
constexpr auto S = AlignmentMode::strict;
constexpr auto U = PsdFlag::unspecified;

std::vector<RecordCase> Cases() {
  return {
      // RFC 7489 Appendix B.2.1 (and RFC 9989 "Entire Domain, Monitoring Mode").
      {"rfc7489_b21", "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", P::none, {}, {}, Usability::usable,
       false, R, R, U, 1, 1, {}, false},
      // RFC 7489 B.2.2: per-message failure reports.
      {"rfc7489_b22", "v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@example.com",
       P::none, {}, {}, Usability::usable, false, R, R, U, 1, 1, {}, false},
      // RFC 7489 B.2.4: pct=25 and an RFC 7489 size suffix.
      {"rfc7489_b24",
       "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; "
       "pct=25",
       P::quarantine, {}, {}, Usability::usable, false, R, R, U, 2, 2, {"pct"}, true},
      // RFC 7489 B.3.1 / RFC 9989 "SMTP Session Example".
      {"rfc7489_b31", "v=DMARC1; p=reject; aspf=r; rua=mailto:dmarc-feedback@example.com", P::reject, {}, {},
       Usability::usable, false, R, R, U, 1, 1, {}, false},
      // RFC 9989 "Subdomain, Testing, and Multiple Aggregate Report URIs".
      {"rfc9989_testing",
       "v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net; t=y",
       P::quarantine, {}, {}, Usability::usable, true, R, R, U, 2, 2, {}, false},
      // RFC 9989 third-party authorization record: no p, but a valid rua.
      {"rfc9989_override",
       "v=DMARC1; rua=mailto:aggregate-reports@thirdparty.example.net; ruf=mailto:failure-reports@thirdparty.example.net",
       {}, {}, {}, Usability::treated_as_none, false, R, R, U, 1, 1, {}, true},
      {"all_tags", "v=DMARC1;p=reject;sp=quarantine;np=reject;psd=n;adkim=s;aspf=s;fo=d:s;t=n", P::reject,
       P::quarantine, P::reject, Usability::usable, false, S, S, PsdFlag::no, 0, 0, {}, false},
      {"psd_y", "v=DMARC1; p=reject; psd=y", P::reject, {}, {}, Usability::usable, false, R, R, PsdFlag::yes, 0, 0, {},
       false},
      {"spaces_around_equals", "v = DMARC1 ;  p = reject ; sp = none", P::reject, P::none, {}, Usability::usable, false,
       R, R, U, 0, 0, {}, false},
      {"policy_case_insensitive", "v=DMARC1; p=REJECT", P::reject, {}, {}, Usability::usable, false, R, R, U, 0, 0, {},
       false},
      {"trailing_semicolon", "v=DMARC1; p=none;", P::none, {}, {}, Usability::usable, false, R, R, U, 0, 0, {}, false},
      {"unknown_tag_ignored", "v=DMARC1; p=none; foo=bar; zz=1", P::none, {}, {}, Usability::usable, false, R, R, U, 0,
       0, {}, false},
      {"pct_zero_is_testing", "v=DMARC1; p=reject; pct=0", P::reject, {}, {}, Usability::usable, true, R, R, U, 0, 0,
       {"pct"}, false},
      {"explicit_t_beats_pct", "v=DMARC1; p=reject; pct=0; t=n", P::reject, {}, {}, Usability::usable, false, R, R, U,
       0, 0, {"pct"}, false},
      {"rf_ri_deprecated", "v=DMARC1; p=none; rf=afrf; ri=86400", P::none, {}, {}, Usability::usable, false, R, R, U,
       0, 0, {"rf", "ri"}, false},
      // Invalid values fall back to defaults with a warning (RFC 9989 §4.7).
      {"bad_adkim_defaults", "v=DMARC1; p=none; adkim=x; aspf=strict", P::none, {}, {}, Usability::usable, false, R, R,
       U, 0, 0, {}, true},
      {"bad_psd_defaults", "v=DMARC1; p=none; psd=maybe", P::none, {}, {}, Usability::usable, false, R, R, U, 0, 0, {},
       true},
      {"repeated_tag_first_wins", "v=DMARC1; p=none; p=reject", P::none, {}, {}, Usability::usable, false, R, R, U, 0,
       0, {}, true},
      {"malformed_spec_skipped", "v=DMARC1; p=reject; garbage; sp=none", P::reject, P::none, {}, Usability::usable,
       false, R, R, U, 0, 0, {}, true},
      // §4.10.1: invalid p with a valid rua -> act as p=none; without -> unusable.
      {"bad_p_with_rua", "v=DMARC1; p=bogus; rua=mailto:r@example.com", {}, {}, {}, Usability::treated_as_none, false,
       R, R, U, 1, 1, {}, true},
      {"bad_p_without_rua", "v=DMARC1; p=bogus", {}, {}, {}, Usability::unusable, false, R, R, U, 0, 0, {}, true},
      {"missing_p_without_rua", "v=DMARC1; sp=reject", {}, P::reject, {}, Usability::unusable, false, R, R, U, 0, 0,
       {}, true},
      {"bad_sp_with_rua", "v=DMARC1; p=reject; sp=never; rua=mailto:r@example.com", P::reject, {}, {},
       Usability::treated_as_none, false, R, R, U, 1, 1, {}, true},
      {"bad_np_without_rua", "v=DMARC1; p=reject; np=0", P::reject, {}, {}, Usability::unusable, false, R, R, U, 0, 0,
       {}, true},
      // An https: rua is a valid URI (so it rescues p) but not actionable.
      {"bad_p_with_https_rua", "v=DMARC1; p=; rua=https://example.com/r", {}, {}, {}, Usability::treated_as_none, false,
       R, R, U, 1, 0, {}, true},
      {"bad_p_with_invalid_rua", "v=DMARC1; p=x; rua=not a uri", {}, {}, {}, Usability::unusable, false, R, R, U, 0, 0,
       {}, true},
  };
}

class RecordParse : public ::testing::TestWithParam<RecordCase> {};

TEST_P(RecordParse, Fields) {
  const RecordCase& c = GetParam();
  auto r = parse_record(c.txt);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->p, c.p);
  EXPECT_EQ(r->sp, c.sp);
  EXPECT_EQ(r->np, c.np);
  EXPECT_EQ(r->usability, c.usability);
  EXPECT_EQ(r->testing, c.testing);
  EXPECT_EQ(r->adkim, c.adkim);
  EXPECT_EQ(r->aspf, c.aspf);
  EXPECT_EQ(r->psd, c.psd);
  std::size_t valid = 0, actionable = 0;
  for (const auto& u : r->rua) {
    valid += u.valid;
    actionable += u.actionable;
  }
  EXPECT_EQ(valid, c.rua_valid);
  EXPECT_EQ(actionable, c.rua_actionable);
  EXPECT_EQ(r->deprecated_tags, c.deprecated);
  EXPECT_EQ(!r->warnings.empty(), c.warnings) << (r->warnings.empty() ? "" : r->warnings.front());
}

INSTANTIATE_TEST_SUITE_P(Dmarc, RecordParse, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

struct RejectCase {
  std::string name, txt;
  Errc code;
};

class RecordReject : public ::testing::TestWithParam<RejectCase> {};

TEST_P(RecordReject, IsNotADmarcRecord) {
  auto r = parse_record(GetParam().txt);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, GetParam().code);
  EXPECT_FALSE(r.error().message.empty());
}

INSTANTIATE_TEST_SUITE_P(Dmarc, RecordReject,
                         ::testing::Values(RejectCase{"empty", "", Errc::parse},
                                           RejectCase{"spf", "v=spf1 -all", Errc::parse},
                                           RejectCase{"lower_case_version", "v=dmarc1; p=none", Errc::parse},
                                           RejectCase{"version_not_first", "p=none; v=DMARC1", Errc::parse},
                                           RejectCase{"dmarc2", "v=DMARC2; p=none", Errc::parse},
                                           RejectCase{"glued", "v=DMARC1p=none", Errc::parse},
                                           RejectCase{"too_long", "v=DMARC1; p=none; x=" + std::string(5000, 'a'),
                                                      Errc::limit},
                                           RejectCase{"too_many_tags", [] {
                                                        std::string s = "v=DMARC1";
                                                        for (int i = 0; i < 100; ++i) s += "; x" + std::to_string(i) + "=1";
                                                        return s;
                                                      }(),
                                                      Errc::limit}),
                         [](const auto& info) { return info.param.name; });

TEST(RecordHelpers, IsDmarcRecord) {
  EXPECT_TRUE(is_dmarc_record("v=DMARC1"));
  EXPECT_TRUE(is_dmarc_record("v=DMARC1;"));
  EXPECT_TRUE(is_dmarc_record(" v =\tDMARC1 ; p=none"));
  EXPECT_FALSE(is_dmarc_record("v=DMARC10"));
  EXPECT_FALSE(is_dmarc_record("V=DMARC1"));
  EXPECT_FALSE(is_dmarc_record("x v=DMARC1"));
}

TEST(RecordHelpers, EffectivePolicyFallbacks) {
  auto only_p = parse_record("v=DMARC1; p=reject");
  ASSERT_TRUE(only_p);
  EXPECT_EQ(only_p->effective_sp(), Policy::reject);  // sp absent -> p
  EXPECT_EQ(only_p->effective_np(), Policy::reject);  // np absent -> sp -> p
  auto with_sp = parse_record("v=DMARC1; p=reject; sp=quarantine");
  ASSERT_TRUE(with_sp);
  EXPECT_EQ(with_sp->effective_np(), Policy::quarantine);  // np absent -> sp
  auto none_ = parse_record("v=DMARC1; p=reject; sp=bad; rua=mailto:a@example.com");
  ASSERT_TRUE(none_);
  EXPECT_EQ(none_->effective_p(), Policy::none);  // "act as if ... p=none"
  EXPECT_EQ(none_->effective_np(), Policy::none);
}

TEST(RecordHelpers, FailureOptions) {
  auto r = parse_record("v=DMARC1; p=none; fo=1:d");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->fo.all_fail);
  EXPECT_TRUE(r->fo.any_fail);
  EXPECT_TRUE(r->fo.dkim);
  EXPECT_FALSE(r->fo.spf);
  auto bad = parse_record("v=DMARC1; p=none; fo=2");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->fo, FailureOptions{});
  EXPECT_FALSE(bad->warnings.empty());
}

// --- RFC 9989 §4.8 / RFC 5234 §2.3: tag names and values are case-insensitive ---
//
// Every tag but v (whose DMARC1 is %s, case-sensitive) is written in lower,
// upper and mixed case, name and value alike; each spelling must parse to
// the same record, without a warning (a case variant is not a syntax error,
// so it can neither weaken the policy nor be discarded).

enum class Spelling { lower, upper, mixed };

std::string Spell(std::string_view s, Spelling how) {
  std::string out(s);
  for (std::size_t i = 0; i < out.size(); ++i) {
    const char c = out[i];
    const bool up = how == Spelling::upper || (how == Spelling::mixed && i % 2 == 0);
    if (c >= 'a' && c <= 'z' && up) out[i] = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// "v=DMARC1" followed by every other tag, names and values spelled `how`.
std::string AllTagsRecord(Spelling how) {
  const char* kTags[] = {"p=reject",  "sp=quarantine", "np=reject", "psd=y",  "adkim=s",
                         "aspf=s",    "fo=d:s:1",      "t=y",       "pct=50", "rf=afrf",
                         "ri=86400",  "rua=mailto:agg@example.com", "ruf=mailto:fail@example.com"};
  std::string rec = "v=DMARC1";
  for (const char* t : kTags) rec += "; " + Spell(t, how);
  return rec;
}

class Rfc9989TagsAreCaseInsensitive : public ::testing::TestWithParam<Spelling> {};

TEST_P(Rfc9989TagsAreCaseInsensitive, EveryTagInEverySpelling) {
  const std::string txt = AllTagsRecord(GetParam());
  auto r = parse_record(txt);
  ASSERT_TRUE(r) << txt << ": " << r.error().message;
  EXPECT_TRUE(r->warnings.empty()) << txt << ": " << r->warnings.front();
  EXPECT_EQ(r->p, Policy::reject);
  EXPECT_EQ(r->sp, Policy::quarantine);
  EXPECT_EQ(r->np, Policy::reject);
  EXPECT_EQ(r->psd, PsdFlag::yes);
  EXPECT_EQ(r->adkim, AlignmentMode::strict);
  EXPECT_EQ(r->aspf, AlignmentMode::strict);
  EXPECT_EQ(r->fo, (FailureOptions{false, true, true, true}));  // no "0" in fo=d:s:1
  EXPECT_TRUE(r->testing);
  EXPECT_FALSE(r->testing_from_pct);  // t= was read, so pct does not decide
  EXPECT_EQ(r->pct, 50);
  EXPECT_EQ(r->deprecated_tags, (std::vector<std::string>{"pct", "rf", "ri"}));
  ASSERT_EQ(r->rua.size(), 1u);
  EXPECT_TRUE(r->rua[0].actionable) << r->rua[0].note;
  ASSERT_EQ(r->ruf.size(), 1u);
  EXPECT_TRUE(r->ruf[0].actionable) << r->ruf[0].note;
  EXPECT_EQ(r->usability, Usability::usable);
  EXPECT_EQ(r->effective_p(), Policy::reject);
}

TEST_P(Rfc9989TagsAreCaseInsensitive, OtherValuesInEverySpelling) {
  // The values the record above does not use.
  const Spelling how = GetParam();
  auto r = parse_record("v=DMARC1; " + Spell("p=none; sp=reject; np=quarantine; psd=n; adkim=r; aspf=r; t=n", how));
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->warnings.empty()) << r->warnings.front();
  EXPECT_EQ(r->p, Policy::none);
  EXPECT_EQ(r->sp, Policy::reject);
  EXPECT_EQ(r->np, Policy::quarantine);
  EXPECT_EQ(r->psd, PsdFlag::no);
  EXPECT_EQ(r->adkim, AlignmentMode::relaxed);
  EXPECT_EQ(r->aspf, AlignmentMode::relaxed);
  EXPECT_FALSE(r->testing);
  auto u = parse_record("v=DMARC1; p=none; " + Spell("psd=u; adkim=s", how));
  ASSERT_TRUE(u);
  EXPECT_EQ(u->psd, PsdFlag::unspecified);
  EXPECT_EQ(u->adkim, AlignmentMode::strict);
  // pct=0 -> testing, whatever the case of the name.
  auto pct = parse_record("v=DMARC1; p=reject; " + Spell("pct=0", how));
  ASSERT_TRUE(pct);
  EXPECT_TRUE(pct->testing);
}

TEST_P(Rfc9989TagsAreCaseInsensitive, RepeatInAnotherCaseIsARepeat) {
  // "P=" repeats "p=": the first value stays, the repeat is a warning.
  auto r = parse_record("v=DMARC1; p=reject; " + Spell("p=none", GetParam()));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->p, Policy::reject);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_EQ(r->warnings[0], "repeated tag p ignored");
}

INSTANTIATE_TEST_SUITE_P(Dmarc, Rfc9989TagsAreCaseInsensitive,
                         ::testing::Values(Spelling::lower, Spelling::upper, Spelling::mixed),
                         [](const auto& info) {
                           return info.param == Spelling::lower ? std::string("lower")
                                  : info.param == Spelling::upper ? std::string("upper")
                                                                  : std::string("mixed");
                         });

TEST(Rfc9989TagsAreCaseInsensitive, VersionStaysCaseSensitive) {
  EXPECT_FALSE(is_dmarc_record("v=dmarc1; p=reject"));
  EXPECT_FALSE(parse_record("v=Dmarc1; P=REJECT"));
  EXPECT_TRUE(parse_record("v=DMARC1; P=REJECT"));
}

TEST(RecordHelpers, WarningsEscapeHostileText) {
  auto r = parse_record(std::string("v=DMARC1; p=\x01\x7f"));
  ASSERT_TRUE(r);
  ASSERT_FALSE(r->warnings.empty());
  for (const auto& w : r->warnings)
    for (char c : w) EXPECT_TRUE(c >= 0x20 && c < 0x7f) << w;
}

}  // namespace
}  // namespace mxsec::auth::dmarc

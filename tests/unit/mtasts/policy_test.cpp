// Tests for policy/mtasts/policy.cpp: the MTA-STS policy file (RFC 8461
// §3.2) and MX pattern matching (§4.1).
#include "policy/mtasts/policy.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/limits.hpp"

namespace mxsec::policy::mtasts {
namespace {

using namespace std::string_literals;

// RFC 8461 §3.2, the example policy, verbatim.
constexpr const char* kRfcExample =
    "version: STSv1\n"
    "mode: enforce\n"
    "mx: mail.example.com\n"
    "mx: *.example.net\n"
    "mx: backupmx.example.com\n"
    "max_age: 604800\n";

std::string crlf(std::string_view lf) {
  std::string out;
  for (char c : lf) {
    if (c == '\n') out += '\r';
    out += c;
  }
  return out;
}

TEST(MtaStsPolicy, Rfc8461Example) {
  for (const std::string& body : {std::string(kRfcExample), crlf(kRfcExample)}) {
    auto p = parse_policy(body);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->mode, Mode::enforce);
    EXPECT_EQ(p->mx, (std::vector<std::string>{"mail.example.com", "*.example.net", "backupmx.example.com"}));
    EXPECT_EQ(p->max_age, 604800u);
    EXPECT_TRUE(policy_matches_mx(*p, "mail.example.com"));
    EXPECT_TRUE(policy_matches_mx(*p, "mx1.example.net"));
    EXPECT_FALSE(policy_matches_mx(*p, "example.net"));
    EXPECT_FALSE(policy_matches_mx(*p, "mail.example.org"));
  }
}

TEST(MtaStsPolicy, CanonicalTextAndPolicyStrings) {
  auto p = parse_policy(kRfcExample);
  ASSERT_TRUE(p);
  // The RFC example is already in canonical order.
  EXPECT_EQ(to_text(*p), kRfcExample);
  EXPECT_EQ(policy_strings(*p),
            (std::vector<std::string>{"version: STSv1", "mode: enforce", "mx: mail.example.com", "mx: *.example.net",
                                      "mx: backupmx.example.com", "max_age: 604800"}));
  EXPECT_EQ(to_string(Mode::enforce), std::string("enforce"));
  EXPECT_EQ(to_string(Mode::testing), std::string("testing"));
  EXPECT_EQ(to_string(Mode::none), std::string("none"));
}

struct GoodCase {
  const char* name;
  std::string body;
  Mode mode;
  std::vector<std::string> mx;
  std::uint32_t max_age;
};

std::vector<GoodCase> good_cases() {
  return {
      {"testing", "version: STSv1\nmode: testing\nmx: mx.example.com\nmax_age: 86400\n", Mode::testing,
       {"mx.example.com"}, 86400},
      {"none_without_mx", "version: STSv1\nmode: none\nmax_age: 86400\n", Mode::none, {}, 86400},
      {"none_with_mx", "version: STSv1\nmode: none\nmx: a.example\nmax_age: 0\n", Mode::none, {"a.example"}, 0},
      {"no_final_newline", "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400", Mode::enforce, {"mail.loc"},
       86400},
      // The ABNF does not fix the order of fields.
      {"version_last", "mode: enforce\nmax_age: 1\nmx: mail.loc\nversion: STSv1\n", Mode::enforce, {"mail.loc"}, 1},
      {"mixed_line_ends", "version: STSv1\r\nmode: enforce\nmx: mail.loc\r\nmax_age: 86400\n", Mode::enforce,
       {"mail.loc"}, 86400},
      // sts-policy-field-delim = ":" *WSP, and *WSP after each field.
      {"whitespace", "version:STSv1\nmode:\t enforce \t\nmx:   mail.loc  \nmax_age: 86400\t\n", Mode::enforce,
       {"mail.loc"}, 86400},
      {"max_age_max", "version: STSv1\nmode: enforce\nmx: m.example\nmax_age: 31557600\n", Mode::enforce,
       {"m.example"}, 31557600},
      {"max_age_leading_zeros", "version: STSv1\nmode: enforce\nmx: m.example\nmax_age: 0000086400\n", Mode::enforce,
       {"m.example"}, 86400},
      {"mx_lower_cased_trailing_dot", "version: STSv1\nmode: enforce\nmx: MAIL.Example.COM.\nmx: *.MX.example.\nmax_age: 5\n",
       Mode::enforce, {"mail.example.com", "*.mx.example"}, 5},
      // §3.2: unknown fields are ignored, including UTF-8 values.
      {"extension_fields",
       "version: STSv1\nmode: enforce\nfoo_bar-1.x: some value with spaces\nnote: caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7\n"
       "mx: mail.loc\nmax_age: 86400\nMode: none\n",
       Mode::enforce, {"mail.loc"}, 86400},
      // §3.2: "If any non-repeated field ... is duplicated, all entries except
      // for the first SHOULD be ignored."
      {"duplicate_mode_first_wins", "version: STSv1\nmode: testing\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n",
       Mode::testing, {"mail.loc"}, 86400},
      {"duplicate_max_age_first_wins", "version: STSv1\nmode: enforce\nmax_age: 10\nmax_age: 99999999999\nmx: mail.loc\n",
       Mode::enforce, {"mail.loc"}, 10},
      {"duplicate_version_first_wins", "version: STSv1\nversion: STSv2\nmode: enforce\nmx: mail.loc\nmax_age: 1\n",
       Mode::enforce, {"mail.loc"}, 1},
      {"duplicate_mode_ignored_even_if_bad", "version: STSv1\nmode: none\nmode: doubt\nmax_age: 1\n", Mode::none, {}, 1},
      // "mx" repeats; every entry counts, duplicates included.
      {"mx_repeated", "version: STSv1\nmode: enforce\nmx: a.example\nmx: b.example\nmx: a.example\nmax_age: 1\n",
       Mode::enforce, {"a.example", "b.example", "a.example"}, 1},
      // Blank lines are outside the ABNF but harmless (docs/mta-sts.md).
      {"blank_lines", "\nversion: STSv1\n\r\n  \nmode: enforce\nmx: mail.loc\nmax_age: 86400\n\n\n", Mode::enforce,
       {"mail.loc"}, 86400},
      {"single_label_mx", "version: STSv1\nmode: enforce\nmx: localhost\nmax_age: 1\n", Mode::enforce, {"localhost"}, 1},
      {"digit_labels", "version: STSv1\nmode: enforce\nmx: 1mx.0-9.example\nmax_age: 1\n", Mode::enforce,
       {"1mx.0-9.example"}, 1},
  };
}

TEST(MtaStsPolicy, GoodPolicies) {
  for (const auto& c : good_cases()) {
    SCOPED_TRACE(c.name);
    auto p = parse_policy(c.body);
    ASSERT_TRUE(p) << p.error().message;
    EXPECT_EQ(p->mode, c.mode);
    EXPECT_EQ(p->mx, c.mx);
    EXPECT_EQ(p->max_age, c.max_age);
    // The canonical text re-parses to the same policy.
    auto again = parse_policy(to_text(*p));
    ASSERT_TRUE(again) << again.error().message;
    EXPECT_EQ(*again, *p);
  }
}

struct BadCase {
  const char* name;
  std::string body;
  Errc code;
};

std::vector<BadCase> bad_cases() {
  const std::string mx_ok = "version: STSv1\nmode: enforce\nmx: mail.loc\n";
  return {
      {"empty", "", Errc::parse},
      {"blank_only", "\n\r\n \n", Errc::parse},
      {"garbage", "garbage", Errc::parse},
      {"html", "<html><body>Not found</body></html>\n", Errc::parse},
      {"missing_version", "mode: enforce\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"wrong_version", "version: STSv2\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"version_lower_case", "version: stsv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"version_name_upper_case", "Version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"missing_mode", "version: STSv1\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"bad_mode", "version: STSv1\nmode: doubt\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"mode_upper_case", "version: STSv1\nmode: Enforce\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"mode_report_draft", "version: STSv1\nmode: report\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"missing_max_age", mx_ok, Errc::parse},
      {"max_age_non_digit", mx_ok + "max_age: xxx\n", Errc::parse},
      {"max_age_negative", mx_ok + "max_age: -1\n", Errc::parse},
      {"max_age_plus", mx_ok + "max_age: +86400\n", Errc::parse},
      {"max_age_eleven_digits", mx_ok + "max_age: 00000086400\n", Errc::parse},
      {"max_age_overflow_u64", mx_ok + "max_age: 99999999999999999999999\n", Errc::parse},
      {"max_age_decimal", mx_ok + "max_age: 86400.5\n", Errc::parse},
      {"max_age_inner_space", mx_ok + "max_age: 86 400\n", Errc::parse},
      {"max_age_empty", mx_ok + "max_age:\n", Errc::parse},
      {"enforce_without_mx", "version: STSv1\nmode: enforce\nmax_age: 86400\n", Errc::parse},
      {"testing_without_mx", "version: STSv1\nmode: testing\nmax_age: 86400\n", Errc::parse},
      {"mx_empty", "version: STSv1\nmode: enforce\nmx:\nmax_age: 1\n", Errc::parse},
      {"mx_wildcard_middle", "version: STSv1\nmode: enforce\nmx: mail.*.example\nmax_age: 1\n", Errc::parse},
      {"mx_wildcard_alone", "version: STSv1\nmode: enforce\nmx: *\nmax_age: 1\n", Errc::parse},
      {"mx_wildcard_dot_only", "version: STSv1\nmode: enforce\nmx: *.\nmax_age: 1\n", Errc::parse},
      {"mx_double_wildcard", "version: STSv1\nmode: enforce\nmx: *.*.example\nmax_age: 1\n", Errc::parse},
      {"mx_partial_wildcard", "version: STSv1\nmode: enforce\nmx: mx*.example\nmax_age: 1\n", Errc::parse},
      {"mx_empty_label", "version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 1\n", Errc::parse},
      {"mx_leading_dot", "version: STSv1\nmode: enforce\nmx: .example\nmax_age: 1\n", Errc::parse},
      {"mx_two_trailing_dots", "version: STSv1\nmode: enforce\nmx: a.example..\nmax_age: 1\n", Errc::parse},
      {"mx_hyphen_edge", "version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 1\n", Errc::parse},
      {"mx_underscore", "version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 1\n", Errc::parse},
      {"mx_ip_literal", "version: STSv1\nmode: enforce\nmx: [192.0.2.1]\nmax_age: 1\n", Errc::parse},
      {"mx_with_port", "version: STSv1\nmode: enforce\nmx: mail.loc:25\nmax_age: 1\n", Errc::parse},
      {"mx_two_names", "version: STSv1\nmode: enforce\nmx: a.example b.example\nmax_age: 1\n", Errc::parse},
      {"mx_utf8", "version: STSv1\nmode: enforce\nmx: b\xc3\xbc" "cher.example\nmax_age: 1\n", Errc::parse},
      {"mx_label_64", "version: STSv1\nmode: enforce\nmx: " + std::string(64, 'a') + ".example\nmax_age: 1\n",
       Errc::parse},
      {"mx_name_254", "version: STSv1\nmode: enforce\nmx: " + std::string(63, 'a') + "." + std::string(63, 'b') + "." +
                          std::string(63, 'c') + "." + std::string(62, 'd') + ".e\nmax_age: 1\n",
       Errc::parse},
      // A bad mx line voids the policy even when another one is fine.
      {"mx_one_bad", "version: STSv1\nmode: enforce\nmx: good.example\nmx: bad..example\nmax_age: 1\n", Errc::parse},
      {"line_without_colon", "version: STSv1\nmode: enforce\nmx mail.loc\nmax_age: 86400\n", Errc::parse},
      {"space_before_colon", "version: STSv1\nmode : enforce\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"leading_space", "version: STSv1\n mode: enforce\nmx: mail.loc\nmax_age: 86400\n", Errc::parse},
      {"key_value_equals", "version=STSv1\nmode=enforce\nmx=mail.loc\nmax_age=86400\n", Errc::parse},
      {"json", "{\"version\": \"STSv1\", \"mode\": \"enforce\"}\n", Errc::parse},
      {"ext_name_too_long", mx_ok + "max_age: 1\n" + std::string(33, 'x') + ": v\n", Errc::parse},
      {"ext_empty_value", mx_ok + "max_age: 1\nfoo:\n", Errc::parse},
      {"nul_in_value", "version: STSv1\nmode: enf\0rce\nmx: mail.loc\nmax_age: 1\n"s, Errc::parse},
      {"nul_in_mx", "version: STSv1\nmode: enforce\nmx: mail.loc\0.evil\nmax_age: 1\n"s, Errc::parse},
      {"nul_line", "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 1\n\0\n"s, Errc::parse},
      {"nul_in_ext", "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 1\nx: a\0b\n"s, Errc::parse},
      {"bare_cr_line_end", "version: STSv1\rmode: enforce\rmx: mail.loc\rmax_age: 1\r", Errc::parse},
      {"cr_inside_value", "version: STSv1\nmode: enforce\r\r\nmx: mail.loc\nmax_age: 1\n", Errc::parse},
      {"del_in_ext", mx_ok + "max_age: 1\nx: a\x7f\n", Errc::parse},
      {"bad_utf8_ext", mx_ok + "max_age: 1\nx: \xc3\n", Errc::parse},
      {"overlong_utf8_ext", mx_ok + "max_age: 1\nx: \xc0\xaf\n", Errc::parse},
      {"surrogate_utf8_ext", mx_ok + "max_age: 1\nx: \xed\xa0\x80\n", Errc::parse},
      {"latin1_ext", mx_ok + "max_age: 1\nx: caf\xe9\n", Errc::parse},
  };
}

TEST(MtaStsPolicy, BadPolicies) {
  for (const auto& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    auto p = parse_policy(c.body);
    ASSERT_FALSE(p) << "accepted: " << to_text(*p);
    EXPECT_EQ(p.error().code, c.code) << p.error().message;
    EXPECT_FALSE(p.error().message.empty());
  }
}

// A body with `n` mx lines.
std::string with_mx_lines(int n) {
  std::string body = "version: STSv1\nmode: enforce\nmax_age: 86400\n";
  for (int i = 0; i < n; ++i) body += "mx: mx" + std::to_string(i) + ".example.com\n";
  return body;
}

TEST(MtaStsPolicy, MxPatternLimitCounts) {
  auto at = parse_policy(with_mx_lines(limits::kStsMaxMxPatterns));
  ASSERT_TRUE(at) << at.error().message;
  EXPECT_EQ(at->mx.size(), static_cast<std::size_t>(limits::kStsMaxMxPatterns));
  EXPECT_EQ(at->mx.back(), "mx" + std::to_string(limits::kStsMaxMxPatterns - 1) + ".example.com");
  auto over = parse_policy(with_mx_lines(limits::kStsMaxMxPatterns + 1));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::limit);
}

// A valid policy padded with an extension line to exactly `size` octets.
std::string padded_policy(std::size_t size) {
  std::string body = "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400\nx: ";
  body += std::string(size - body.size() - 1, 'a');
  body += '\n';
  return body;
}

TEST(MtaStsPolicy, BodySizeLimit) {
  const std::string at = padded_policy(limits::kStsPolicyBytes);
  ASSERT_EQ(at.size(), limits::kStsPolicyBytes);
  auto ok = parse_policy(at);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(ok->mx, std::vector<std::string>{"mail.loc"});

  auto over = parse_policy(padded_policy(limits::kStsPolicyBytes + 1));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::limit);

  // Over the limit no matter how valid the first lines are, and no matter
  // how the bytes are split into lines.
  std::string many_lines = "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n";
  while (many_lines.size() <= limits::kStsPolicyBytes) many_lines += "\n";
  auto blank = parse_policy(many_lines);
  ASSERT_FALSE(blank);
  EXPECT_EQ(blank.error().code, Errc::limit);
}

TEST(MtaStsPolicy, OverlongLines) {
  // One long line within the body limit: an extension is fine, an mx or a
  // max_age that long is not.
  const std::string base = "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n";
  auto ext = parse_policy(base + "comment: " + std::string(60000, 'z') + "\n");
  EXPECT_TRUE(ext);
  std::string long_mx = "version: STSv1\nmode: enforce\nmax_age: 1\nmx: ";
  for (int i = 0; i < 1000; ++i) long_mx += "abcdefghij.";
  long_mx += "example\n";
  auto mx = parse_policy(long_mx);
  ASSERT_FALSE(mx);
  EXPECT_EQ(mx.error().code, Errc::parse);
  auto age = parse_policy("version: STSv1\nmode: enforce\nmx: a.example\nmax_age: " + std::string(5000, '1') + "\n");
  ASSERT_FALSE(age);
  EXPECT_EQ(age.error().code, Errc::parse);
}

TEST(MtaStsPolicy, ErrorMessagesEscapeInput) {
  auto p = parse_policy(std::string("version: STSv1\nmode: \x1b[31mevil\nmx: a\nmax_age: 1\n"));
  ASSERT_FALSE(p);
  EXPECT_EQ(p.error().message.find('\x1b'), std::string::npos) << p.error().message;
}

struct MatchCase {
  const char* pattern;
  const char* host;
  bool match;
};

TEST(MtaStsPolicy, MxPatternMatches) {
  const std::vector<MatchCase> cases = {
      // RFC 8461 §4.1: "*.example.com" matches "mail.example.com" but not
      // "example.com" or "foo.bar.example.com".
      {"*.example.com", "mail.example.com", true},
      {"*.example.com", "example.com", false},
      {"*.example.com", "foo.bar.example.com", false},
      {"*.example.com", "mx1.example.com", true},
      {"*.example.com", "a.b.example.com", false},
      // Case-insensitive, trailing dots ignored on either side.
      {"*.example.com", "MX1.Example.COM", true},
      {"*.example.com", "mx1.example.com.", true},
      {"*.example.com.", "mx1.example.com", true},
      {"mail.example.com", "MAIL.EXAMPLE.COM.", true},
      {"mail.example.com.", "mail.example.com", true},
      // Exact names match exactly.
      {"mail.example.com", "mail.example.com", true},
      {"mail.example.com", "mail2.example.com", false},
      {"mail.example.com", "x.mail.example.com", false},
      {"mail.example.com", "example.com", false},
      {"example.com", "mail.example.com", false},
      // Suffix must be whole labels.
      {"*.example.com", "mail.badexample.com", false},
      {"*.example.com", "mailexample.com", false},
      {"*.example.com", ".example.com", false},
      {"*.example.com", "..example.com", false},
      // Degenerate inputs never match.
      {"", "", false},
      {"", "mail.example.com", false},
      {"mail.example.com", "", false},
      {"*.", "a.", false},
      {"*.", "a.b", false},
      {".", ".", false},
      {"*", "mail", false},
      // A "*" anywhere but the whole left-most label is literal.
      {"mail.*.com", "mail.example.com", false},
      {"m*.example.com", "mx.example.com", false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(std::string(c.pattern) + " vs " + c.host);
    EXPECT_EQ(mx_pattern_matches(c.pattern, c.host), c.match);
  }
}

TEST(MtaStsPolicy, PolicyMatchesMx) {
  Policy p;
  p.mode = Mode::enforce;
  p.mx = {"mail.example.com", "*.example.net"};
  EXPECT_TRUE(policy_matches_mx(p, "mail.example.com"));
  EXPECT_TRUE(policy_matches_mx(p, "x.example.net"));
  EXPECT_FALSE(policy_matches_mx(p, "example.net"));
  EXPECT_FALSE(policy_matches_mx(p, "evil.example"));
  EXPECT_FALSE(policy_matches_mx(Policy{}, "mail.example.com"));
}

// RFC 8461 §3.2 caps max_age at 31557600. Refusing a policy over the cap
// would make the sender proceed as though the domain had no policy (fail
// open), so the value is clamped and the clamp is recorded for `check`.
TEST(MtaStsPolicy, MaxAgeAboveRfcMaximumIsClampedNotRefused) {
  const std::string head = "version: STSv1\nmode: enforce\nmx: mail.example\n";
  struct Case {
    const char* value;
    std::uint32_t max_age;
    bool clamped;
  };
  for (const Case& c : {Case{"31557600", 31557600, false}, Case{"31557601", 31557600, true},
                        Case{"4294967296", 31557600, true}, Case{"9999999999", 31557600, true},
                        Case{"86400", 86400, false}}) {
    auto p = parse_policy(head + "max_age: " + c.value + "\n");
    ASSERT_TRUE(p) << c.value << ": " << p.error().message;
    EXPECT_EQ(p->mode, Mode::enforce) << c.value;
    EXPECT_EQ(p->max_age, c.max_age) << c.value;
    EXPECT_EQ(p->max_age_clamped, c.clamped) << c.value;
  }
  // The ABNF still allows at most 10 digits.
  EXPECT_FALSE(parse_policy(head + "max_age: 10000000000\n"));
}

TEST(MtaStsPolicy, ModeNonePolicyStrings) {
  auto p = parse_policy("version: STSv1\nmode: none\nmax_age: 86400\n");
  ASSERT_TRUE(p);
  EXPECT_EQ(policy_strings(*p), (std::vector<std::string>{"version: STSv1", "mode: none", "max_age: 86400"}));
  EXPECT_EQ(to_text(*p), "version: STSv1\nmode: none\nmax_age: 86400\n");
}

}  // namespace
}  // namespace mxsec::policy::mtasts

#include "auth/spf/verdict.hpp"

#include <gtest/gtest.h>

namespace mxsec::auth::spf {
namespace {

TEST(SpfVerdict, Rfc7208Words) {
  const struct {
    Verdict v;
    const char* word;
  } kCases[] = {{Verdict::none, "none"},         {Verdict::neutral, "neutral"},
                {Verdict::pass, "pass"},         {Verdict::fail, "fail"},
                {Verdict::softfail, "softfail"}, {Verdict::temperror, "temperror"},
                {Verdict::permerror, "permerror"}};
  for (const auto& c : kCases) {
    EXPECT_STREQ(to_string(c.v), c.word);
    EXPECT_EQ(parse_verdict(c.word), c.v) << c.word;
  }
}

TEST(SpfVerdict, ParseAliasesAndRejects) {
  EXPECT_EQ(parse_verdict("PASS"), Verdict::pass);
  EXPECT_EQ(parse_verdict("unknown"), Verdict::permerror);  // RFC 4408 word
  EXPECT_EQ(parse_verdict("error"), Verdict::temperror);    // RFC 4408 word
  for (const char* bad : {"", "passed", "soft fail", "hardfail", "pass "}) EXPECT_FALSE(parse_verdict(bad)) << bad;
}

TEST(SpfVerdict, Identity) {
  EXPECT_STREQ(to_string(Identity::mailfrom), "mailfrom");
  EXPECT_STREQ(to_string(Identity::helo), "helo");
}

}  // namespace
}  // namespace mxsec::auth::spf

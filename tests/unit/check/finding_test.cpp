// Unit tests for check/finding.cpp: severity words and the JSON form of a
// finding.
#include "check/finding.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mxsec::check {
namespace {

TEST(Finding, SeverityWords) {
  struct Case {
    Severity s;
    const char* word;
  };
  for (const Case& c : {Case{Severity::info, "info"}, Case{Severity::warning, "warning"},
                        Case{Severity::error, "error"}})
    EXPECT_STREQ(to_string(c.s), c.word);
}

TEST(Finding, JsonHasExactlyTheFourKeys) {
  Findings f;
  add_finding(f, Severity::warning, "spf-ptr", "uses ptr", "remove ptr");
  add_finding(f, Severity::error, "dns-failure", "SERVFAIL \"x\"");
  ASSERT_EQ(f.size(), 2u);
  const nlohmann::json a = to_json(f[0]);
  EXPECT_EQ(a, (nlohmann::json{{"severity", "warning"}, {"code", "spf-ptr"}, {"message", "uses ptr"},
                               {"fix", "remove ptr"}}));
  const nlohmann::json b = to_json(f[1]);
  EXPECT_EQ(b.size(), 4u);
  EXPECT_EQ(b["severity"], "error");
  EXPECT_EQ(b["fix"], "");
  EXPECT_EQ(b["message"], "SERVFAIL \"x\"");
  // Round trip through text stays valid JSON.
  EXPECT_EQ(nlohmann::json::parse(b.dump()), b);
}

}  // namespace
}  // namespace mxsec::check

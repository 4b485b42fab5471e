// The MTA-STS vectors of tests/data/mta-sts (transcribed from
// postfix-mta-sts-resolver's fixtures, plus the RFC 8461 examples), run
// against the record and policy parsers: one test per upstream case.
//
// Only the parser layer is judged here. Cases whose outcome is decided by
// the HTTPS fetch (status, media type, certificate) or by next-hop
// normalisation are listed in kFetchLayer / kNotParser with the reason; for
// the fetch-layer ones we still assert that the parsers accept the record
// and the body, so the failure can only come from the fetch.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <cctype>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "policy/mtasts/policy.hpp"
#include "policy/mtasts/record.hpp"

namespace mxsec::policy::mtasts {
namespace {

std::string data_file() { return std::string(MXSEC_TESTDATA_DIR) + "/mta-sts/mta-sts-cases.yml"; }

YAML::Node load() { return YAML::LoadFile(data_file()); }

// Cases that a parser cannot judge, with why.
const std::map<std::string, std::string> kNotParser = {
    {"good.loc.", "same_as good.loc: trailing-dot normalisation of the queried domain, no data of its own"},
    {".good.loc", "not a domain name: rejected before any lookup, no data of its own"},
};
// Cases that fail in the fetch: record and body are fine.
const std::map<std::string, std::string> kFetchLayer = {
    {"bad-policy3.loc", "media type text/html (RFC 8461 §3.3)"},
    {"bad-policy4.loc", "HTTP status 404 (RFC 8461 §3.3)"},
    {"bad-cert1.loc", "untrusted certificate (RFC 8461 §3.3)"},
    {"bad-cert2.loc", "certificate name mismatch (RFC 8461 §3.3)"},
};

// Where mxsec deliberately disagrees with the suite, with why. The case must
// still behave as stated here, so the deviation cannot drift unnoticed.
// bad-policy6.loc: postfix-mta-sts-resolver refuses max_age 31557601; mxsec
// clamps it to 31557600 (RFC 8461 §3.2's maximum), because treating the
// domain as having no policy fails open.
const std::map<std::string, std::string> kClampedMaxAge = {
    {"bad-policy6.loc", "max_age above 31557600 is clamped, not refused (refusing fails open)"},
};

struct ResolveCase {
  std::string domain;
  std::optional<std::vector<std::string>> txt;
  std::optional<std::string> body;
  std::optional<std::string> note;
  std::string expect;
  std::string mode;
  std::vector<std::string> mx;
  std::optional<std::uint32_t> max_age;
};

std::vector<ResolveCase> resolve_cases() {
  std::vector<ResolveCase> out;
  for (const auto& n : load()["resolve"]) {
    ResolveCase c;
    c.domain = n["domain"].as<std::string>();
    if (n["txt"] && !n["txt"].IsNull()) c.txt = n["txt"].as<std::vector<std::string>>();
    if (n["http"] && n["http"]["body"]) c.body = n["http"]["body"].as<std::string>();
    if (n["http"] && n["http"]["note"]) c.note = n["http"]["note"].as<std::string>();
    c.expect = n["expect"].as<std::string>();
    if (n["mode"]) c.mode = n["mode"].as<std::string>();
    if (n["mx"]) c.mx = n["mx"].as<std::vector<std::string>>();
    if (n["max_age"]) c.max_age = n["max_age"].as<std::uint32_t>();
    out.push_back(std::move(c));
  }
  return out;
}

// Readable names in failure messages instead of a byte dump.
void PrintTo(const ResolveCase& c, std::ostream* os) { *os << c.domain; }

std::string case_name(const ::testing::TestParamInfo<ResolveCase>& info) {
  std::string s;
  for (char c : info.param.domain) s += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return s + "_" + std::to_string(info.index);
}

class Resolve : public ::testing::TestWithParam<ResolveCase> {};

TEST_P(Resolve, Parsers) {
  const ResolveCase& c = GetParam();
  if (auto it = kNotParser.find(c.domain); it != kNotParser.end()) GTEST_SKIP() << it->second;

  auto rec = select_sts_record(c.txt.value_or(std::vector<std::string>{}));
  if (c.expect == "NONE") {
    // No usable record: either none begins with v=STSv1, or it is invalid.
    EXPECT_FALSE(rec && rec->has_value());
    return;
  }
  ASSERT_TRUE(rec) << rec.error().message;
  ASSERT_TRUE(rec->has_value());

  std::string body;
  if (c.body) {
    body = *c.body;
  } else {
    // static-overlength: "a valid enforce policy (mx: mail.loc) followed by
    // 2049 x 64 'a' bytes"; chunked-overlength: "same over-long body".
    ASSERT_TRUE(c.note && (c.note->find("2049 x 64") != std::string::npos ||
                           c.note->find("same over-long body") != std::string::npos))
        << "case without a body";
    body = "version: STSv1\nmode: enforce\nmx: mail.loc\nmax_age: 86400\n" + std::string(2049 * 64, 'a');
  }
  auto policy = parse_policy(body);
  if (kClampedMaxAge.count(c.domain)) {
    ASSERT_EQ(c.expect, "FETCH_ERROR");
    ASSERT_TRUE(policy) << policy.error().message;
    EXPECT_EQ(policy->max_age, limits::kStsMaxAgeSeconds) << kClampedMaxAge.at(c.domain);
    EXPECT_TRUE(policy->max_age_clamped);
    return;
  }
  if (c.expect == "VALID" || kFetchLayer.count(c.domain)) {
    ASSERT_TRUE(policy) << policy.error().message;
    if (c.expect == "VALID") {
      EXPECT_EQ(to_string(policy->mode), c.mode);
      EXPECT_EQ(policy->mx, c.mx);
      ASSERT_TRUE(c.max_age);
      EXPECT_EQ(policy->max_age, *c.max_age);
    } else {
      EXPECT_EQ(c.expect, "FETCH_ERROR") << kFetchLayer.at(c.domain);
    }
    return;
  }
  ASSERT_EQ(c.expect, "FETCH_ERROR");
  ASSERT_FALSE(policy) << "accepted: " << to_text(*policy);
  if (!c.body) {
    EXPECT_EQ(policy.error().code, Errc::limit);
  }
}

INSTANTIATE_TEST_SUITE_P(PostfixMtaStsResolver, Resolve, ::testing::ValuesIn(resolve_cases()), case_name);

// The data file must be complete: a missing or truncated suite fails.
TEST(MtaStsVectors, CaseCounts) {
  const YAML::Node root = load();
  EXPECT_EQ(root["txt_record_parse"].size(), 9u);
  EXPECT_EQ(root["content_type"].size(), 11u);
  EXPECT_EQ(root["resolve"].size(), 23u);
  EXPECT_EQ(root["postfix_query_forms"].size(), 8u);
  EXPECT_EQ(root["rfc8461_examples"]["mx_match"].size(), 3u);
  // Every resolve case is judged or has a recorded reason.
  std::size_t judged = 0;
  for (const auto& c : resolve_cases()) judged += kNotParser.count(c.domain) == 0;
  EXPECT_EQ(judged, 21u);
  for (const auto& [domain, why] : kFetchLayer) {
    bool present = false;
    for (const auto& c : resolve_cases()) present |= c.domain == domain;
    EXPECT_TRUE(present) << "stale fetch-layer entry " << domain << " (" << why << ")";
  }
}

TEST(MtaStsVectors, TxtRecordParse) {
  std::size_t n = 0;
  for (const auto& c : load()["txt_record_parse"]) {
    ++n;
    const auto txt = c["record"].as<std::string>();
    SCOPED_TRACE(txt);
    auto r = parse_sts_record(txt);
    const bool lenient = c["lenient"] && c["lenient"].as<bool>();
    if (lenient) {
      // Outside the §3.1 ABNF (empty record, empty fields): we are strict.
      EXPECT_FALSE(r);
      continue;
    }
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(c["tags"]["v"].as<std::string>(), "STSv1");
    EXPECT_EQ(r->id, c["tags"]["id"].as<std::string>());
  }
  EXPECT_EQ(n, 9u);
}

TEST(MtaStsVectors, Rfc8461Examples) {
  const YAML::Node ex = load()["rfc8461_examples"];
  auto rec = parse_sts_record(ex["txt_record"]["record"].as<std::string>());
  ASSERT_TRUE(rec) << rec.error().message;
  EXPECT_EQ(rec->id, ex["txt_record"]["tags"]["id"].as<std::string>());

  auto pol = parse_policy(ex["policy"]["body"].as<std::string>());
  ASSERT_TRUE(pol) << pol.error().message;
  EXPECT_EQ(to_string(pol->mode), ex["policy"]["mode"].as<std::string>());
  EXPECT_EQ(pol->mx, ex["policy"]["mx"].as<std::vector<std::string>>());
  EXPECT_EQ(pol->max_age, ex["policy"]["max_age"].as<std::uint32_t>());

  std::size_t n = 0;
  for (const auto& m : ex["mx_match"]) {
    ++n;
    const auto pattern = m["pattern"].as<std::string>();
    const auto host = m["host"].as<std::string>();
    EXPECT_EQ(mx_pattern_matches(pattern, host), m["match"].as<bool>()) << pattern << " vs " << host;
  }
  EXPECT_EQ(n, 3u);
}

}  // namespace
}  // namespace mxsec::policy::mtasts

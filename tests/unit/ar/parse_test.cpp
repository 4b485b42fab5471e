// Tests for auth/ar/parse.cpp: RFC 8601 Appendix B vectors, malformed input,
// limits, and every truncation of the vectors ("parsegrind").
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/ar/auth_results.hpp"
#include "codec/message.hpp"
#include "core/strings.hpp"

namespace mxsec::auth::ar {
namespace {

std::string Data(const std::string& rel) { return std::string(MXSEC_TESTDATA_DIR) + "/auth-results/" + rel; }

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The Authentication-Results field values of a vector file, in order.
std::vector<std::string> ArFields(const std::string& bytes, std::string* raw_fields = nullptr) {
  std::vector<std::string> out;
  auto msg = codec::parse_message(bytes);
  if (!msg) return out;
  for (const auto& f : msg->headers) {
    if (!iequals(f.name, "Authentication-Results")) continue;
    out.emplace_back(f.value);
    if (raw_fields) *raw_fields += std::string(f.raw);
  }
  return out;
}

nlohmann::json ToJson(const AuthResults& ar) {
  nlohmann::json results = nlohmann::json::array();
  for (const auto& r : ar.results) {
    nlohmann::json props = nlohmann::json::array();
    for (const auto& p : r.props) props.push_back({p.ptype, p.property, p.value});
    results.push_back({{"method", r.method},
                       {"version", r.version ? nlohmann::json(*r.version) : nlohmann::json(nullptr)},
                       {"result", r.result},
                       {"reason", r.reason},
                       {"comment", r.comment},
                       {"props", props}});
  }
  return {{"authserv_id", ar.authserv_id},
          {"version", ar.version ? nlohmann::json(*ar.version) : nlohmann::json(nullptr)},
          {"results", results}};
}

const std::vector<std::string> kVectors = {"B.1", "B.2", "B.3", "B.4", "B.5", "B.6", "B.7"};

TEST(Rfc8601AppendixB, AllVectorFilesPresent) {
  for (const auto& v : kVectors) {
    const std::string input = v == "B.1" ? Data(v + ".eml") : Data(v + ".txt");
    EXPECT_FALSE(ReadFile(input).empty()) << input;
    EXPECT_FALSE(ReadFile(Data(v + ".json")).empty()) << Data(v + ".json");
  }
}

class Rfc8601AppendixB : public ::testing::TestWithParam<std::string> {};

TEST_P(Rfc8601AppendixB, ParsesToTheDescribedStructure) {
  const std::string v = GetParam();
  const std::string bytes = codec::normalize_crlf(ReadFile(v == "B.1" ? Data(v + ".eml") : Data(v + ".txt")));
  ASSERT_FALSE(bytes.empty());
  const auto expected = nlohmann::json::parse(ReadFile(Data(v + ".json")));
  nlohmann::json got = nlohmann::json::array();
  std::string raw;
  for (const std::string& value : ArFields(bytes, &raw)) {
    auto ar = parse_value(value);
    ASSERT_TRUE(ar) << ar.error().message << "\n" << value;
    got.push_back(ToJson(*ar));
  }
  EXPECT_EQ(got, expected) << got.dump(1);
}

TEST_P(Rfc8601AppendixB, EveryTruncationIsBoundedAndNeverCrashes) {
  const std::string v = GetParam();
  const std::string bytes = codec::normalize_crlf(ReadFile(v == "B.1" ? Data(v + ".eml") : Data(v + ".txt")));
  for (const std::string& value : ArFields(bytes)) {
    for (std::size_t n = 0; n <= value.size(); ++n) {
      auto ar = parse_value(value.substr(0, n));
      if (!ar) {
        EXPECT_FALSE(ar.error().message.empty());
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Ar, Rfc8601AppendixB, ::testing::ValuesIn(kVectors), [](const auto& info) {
  std::string n = info.param;
  for (char& c : n)
    if (c == '.') c = '_';
  return n;
});

struct GoodCase {
  std::string name, value;
  std::string authserv_id;
  std::size_t results;
  std::string check_ptype, check_property, check_value;  // optional property check on results[0]
};

class ParseAccepts : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ParseAccepts, Value) {
  const GoodCase& c = GetParam();
  auto ar = parse_value(c.value);
  ASSERT_TRUE(ar) << ar.error().message;
  EXPECT_EQ(ar->authserv_id, c.authserv_id);
  ASSERT_EQ(ar->results.size(), c.results);
  if (!c.check_ptype.empty()) {
    const Property* p = find_property(ar->results[0], c.check_ptype, c.check_property);
    ASSERT_NE(p, nullptr);
    EXPECT_EQ(p->value, c.check_value);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ar, ParseAccepts,
    ::testing::Values(
        GoodCase{"addr_spec_with_equals", "mx.google.com; spf=pass smtp.mailfrom=bounces+84=gmail.com@sg.github.com",
                 "mx.google.com", 1, "smtp", "mailfrom", "bounces+84=gmail.com@sg.github.com"},
        GoodCase{"base64_b_unquoted", "mx; dkim=pass header.b=gfT/i2HB", "mx", 1, "header", "b", "gfT/i2HB"},
        GoodCase{"quoted_value", "mx; dkim=pass header.d=\"github.com\"", "mx", 1, "header", "d", "github.com"},
        GoodCase{"quoted_local_part", "mx; spf=pass smtp.mailfrom=\"a b\"@example.com", "mx", 1, "smtp", "mailfrom",
                 "\"a b\"@example.com"},
        GoodCase{"ipv6", "mx; iprev=pass policy.iprev=2001:db8::1", "mx", 1, "policy", "iprev", "2001:db8::1"},
        GoodCase{"case_insensitive_keywords", "mx; SPF=PASS SMTP.MailFrom=example.net", "mx", 1, "smtp", "mailfrom",
                 "example.net"},
        GoodCase{"trailing_semicolon", "mx; spf=pass smtp.mailfrom=example.net;", "mx", 1, "smtp", "mailfrom",
                 "example.net"},
        GoodCase{"nested_comment", "(a (b) c) mx (x); dkim=pass (d (e)) header.d=example.com", "mx", 1, "header", "d",
                 "example.com"},
        GoodCase{"quoted_authserv_id", "\"mx example\"; none", "mx example", 0, "", "", ""},
        GoodCase{"method_named_none_with_result", "mx; none=pass", "mx", 1, "", "", ""},
        GoodCase{"utf8_value", "mx; dmarc=pass header.from=\xc3\xa9xample.com", "mx", 1, "header", "from",
                 "\xc3\xa9xample.com"},
        GoodCase{"crlf_folds", "mx;\r\n\tspf=pass\r\n smtp.mailfrom=example.net\r\n", "mx", 1, "smtp", "mailfrom",
                 "example.net"}),
    [](const auto& info) { return info.param.name; });

struct BadCase {
  std::string name, value, message_part;
  Errc code = Errc::parse;
};

class ParseRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(ParseRejects, WithAPreciseReason) {
  const BadCase& c = GetParam();
  auto ar = parse_value(c.value);
  ASSERT_FALSE(ar) << c.value;
  EXPECT_EQ(ar.error().code, c.code);
  EXPECT_NE(ar.error().message.find(c.message_part), std::string::npos) << ar.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Ar, ParseRejects,
    ::testing::Values(
        BadCase{"empty", "", "authserv-id"}, BadCase{"only_id", "example.com", "after the authserv-id"},
        BadCase{"only_semicolon", "example.com;", "after ';'"},
        BadCase{"none_then_more", "example.com; none; spf=pass", "'='"},
        BadCase{"missing_result", "example.com; spf=", "result keyword"},
        BadCase{"missing_equals", "example.com; spf pass", "'=' after the method"},
        BadCase{"bad_version", "example.com; dkim/x=pass", "method version"},
        BadCase{"unterminated_comment", "example.com; spf=pass (oops", "unterminated comment"},
        BadCase{"unterminated_quote", "example.com; spf=pass reason=\"oops", "unterminated quoted-string"},
        BadCase{"property_without_dot", "example.com; spf=pass smtp=x", "expected '.'"},
        BadCase{"property_without_value", "example.com; spf=pass smtp.mailfrom=", "property value"},
        BadCase{"glued_elements", "example.com; spf=pass\"x\"", "whitespace"},
        BadCase{"version_glued", "example.com1 ;spf=pass smtp.x=y ; x", "'='"},
        BadCase{"bare_lf_not_fold", "example.com; spf=pass\nX-Other: 1", "line break"},
        BadCase{"control_char", std::string("example.com; spf=pass reason=\"a\x01\""), "control character"},
        BadCase{"too_deep", "example.com; spf=pass ((((((((((x))))))))))", "nested", Errc::limit},
        BadCase{"too_long", "example.com; spf=pass reason=\"" + std::string(20000, 'a') + "\"", "exceeds", Errc::limit},
        BadCase{"too_many_results",
                [] {
                  std::string s = "mx";
                  for (int i = 0; i < 70; ++i) s += "; spf=pass";
                  return s;
                }(),
                "results", Errc::limit},
        BadCase{"too_many_props",
                [] {
                  std::string s = "mx; spf=pass";
                  for (int i = 0; i < 40; ++i) s += " a.b=c";
                  return s;
                }(),
                "properties", Errc::limit}),
    [](const auto& info) { return info.param.name; });

TEST(ParseField, NameAndColon) {
  EXPECT_TRUE(parse_field("Authentication-Results: mx; none\r\n"));
  EXPECT_TRUE(parse_field("authentication-results : mx; none"));
  EXPECT_FALSE(parse_field("Authentication-Result: mx; none"));
  EXPECT_FALSE(parse_field("Authentication-Results mx; none"));
}

TEST(ParseLimitsConfig, SmallerLimitsApply) {
  ParseLimits l;
  l.max_resinfo = 1;
  auto ar = parse_value("mx; spf=pass; dkim=pass", l);
  ASSERT_FALSE(ar);
  EXPECT_EQ(ar.error().code, Errc::limit);
}

}  // namespace
}  // namespace mxsec::auth::ar

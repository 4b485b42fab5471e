// Tests for auth/ar/generate.cpp: rendering, quoting, folding, round trips.
#include <gtest/gtest.h>

#include "auth/ar/auth_results.hpp"
#include "codec/message.hpp"

namespace mxsec::auth::ar {
namespace {

struct TokenCase {
  std::string value;
  bool token, keyword;
};

class Lexical : public ::testing::TestWithParam<TokenCase> {};

TEST_P(Lexical, TokenAndKeyword) {
  EXPECT_EQ(is_token(GetParam().value), GetParam().token) << GetParam().value;
  EXPECT_EQ(is_keyword(GetParam().value), GetParam().keyword) << GetParam().value;
}

INSTANTIATE_TEST_SUITE_P(Ar, Lexical,
                         ::testing::Values(TokenCase{"pass", true, true}, TokenCase{"example.com", true, false},
                                           TokenCase{"sender-id", true, true}, TokenCase{"-x", true, false},
                                           TokenCase{"x-", true, false}, TokenCase{"a@b", false, false},
                                           TokenCase{"a b", false, false}, TokenCase{"a/b", false, false},
                                           TokenCase{"a=b", false, false}, TokenCase{"", false, false},
                                           TokenCase{"\xc3\xa9", false, false}, TokenCase{"a;b", false, false}));

struct RenderCase {
  std::string name;
  AuthResults ar;
  std::string expected;
};

class Render : public ::testing::TestWithParam<RenderCase> {};

TEST_P(Render, Value) {
  auto v = generate_value(GetParam().ar);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(*v, GetParam().expected);
}

INSTANTIATE_TEST_SUITE_P(
    Ar, Render,
    ::testing::Values(
        RenderCase{"none", {"example.org", 1, {}}, "example.org 1; none"},
        RenderCase{"spf", {"mx.example.org", {}, {spf_result("pass", "sender@example.net", "mail.example.net")}},
                   "mx.example.org; spf=pass smtp.mailfrom=sender@example.net smtp.helo=mail.example.net"},
        RenderCase{"spf_domain_only", {"mx.example.org", {}, {spf_result("FAIL", "example.net", "")}},
                   "mx.example.org; spf=fail smtp.mailfrom=example.net"},
        RenderCase{"dkim_b_quoted_and_cut",
                   {"mx", {}, {dkim_result("pass", "example.com", "sel", "ab+/cd=efgh")}},
                   "mx; dkim=pass header.d=example.com header.s=sel header.b=\"ab+/cd=e\""},
        RenderCase{"dmarc_policy", {"mx", {}, {dmarc_result("fail", "example.com", "reject")}},
                   "mx; dmarc=fail header.from=example.com policy.dmarc=reject"},
        RenderCase{"comment_escaped", {"mx", {}, {dmarc_result("pass", "example.com", "", "p=(none) \\ ok\r\n")}},
                   "mx; dmarc=pass (p=\\(none\\) \\\\ ok  ) header.from=example.com"},
        RenderCase{"reason_quoted", {"mx", {}, {{"dkim", 1, "fail", "bad \"sig\"", "", {}}}},
                   "mx; dkim/1=fail reason=\"bad \\\"sig\\\"\""},
        RenderCase{"quoted_local_part", {"mx", {}, {spf_result("pass", "john smith@example.net", "")}},
                   "mx; spf=pass smtp.mailfrom=\"john smith@example.net\""},
        RenderCase{"at_domain_bare", {"mx", {}, {{"dkim", {}, "pass", "", "", {{"header", "i", "@example.com"}}}}},
                   "mx; dkim=pass header.i=@example.com"},
        RenderCase{"authserv_id_quoted", {"mx example", {}, {}}, "\"mx example\"; none"}),
    [](const auto& info) { return info.param.name; });

struct BadCase {
  std::string name;
  AuthResults ar;
};

class RenderRejects : public ::testing::TestWithParam<BadCase> {};

TEST_P(RenderRejects, InvalidInput) {
  auto v = generate_value(GetParam().ar);
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().code, Errc::invalid_argument);
  EXPECT_FALSE(generate_header(GetParam().ar));
}

INSTANTIATE_TEST_SUITE_P(
    Ar, RenderRejects,
    ::testing::Values(BadCase{"empty_id", {"", {}, {}}},
                      BadCase{"crlf_injection_in_value",
                              {"mx", {}, {spf_result("pass", "a@example.com\r\nX-Evil: 1", "")}}},
                      BadCase{"crlf_in_id", {"mx\r\nX-Evil: 1", {}, {}}},
                      BadCase{"bad_method", {"mx", {}, {{"sp f", {}, "pass", "", "", {}}}}},
                      BadCase{"bad_result", {"mx", {}, {{"spf", {}, "pass;", "", "", {}}}}},
                      BadCase{"bad_ptype", {"mx", {}, {{"spf", {}, "pass", "", "", {{"sm.tp", "x", "y"}}}}}}),
    [](const auto& info) { return info.param.name; });

TEST(Fold, LinesStayShortAndUnfoldToTheValue) {
  AuthResults ar{"mx.example.org", {}, {}};
  ar.results.push_back(spf_result("pass", "bounces+1234-abcd@mail.example.net", "outbound.mail.example.net"));
  ar.results.push_back(dkim_result("pass", "example.net", "selector2024", "AbCdEfGhIjKl"));
  ar.results.push_back(dkim_result("fail", "lists.example.org", "s1", "ZZZZ/+==", "body hash did not verify"));
  ar.results.push_back(dmarc_result("pass", "example.net", "reject", "p=reject sp=quarantine dis=none"));
  auto h = generate_header(ar);
  ASSERT_TRUE(h);
  ASSERT_GE(h->size(), 2u);
  EXPECT_EQ(h->substr(h->size() - 2), "\r\n");
  std::size_t start = 0, lines = 0;
  while (start < h->size()) {
    const std::size_t end = h->find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 78u) << h->substr(start, end - start);
    if (lines > 0) {
      EXPECT_EQ((*h)[start], ' ');  // continuation starts with WSP
    }
    start = end + 2;
    ++lines;
  }
  EXPECT_GT(lines, 2u);
  // Unfolding (RFC 5322 §2.2.3: remove CRLF before WSP) gives the value back.
  std::string unfolded = *h;
  for (std::size_t p; (p = unfolded.find("\r\n ")) != std::string::npos;) unfolded.erase(p, 2);
  auto v = generate_value(ar);
  ASSERT_TRUE(v);
  EXPECT_EQ(unfolded, "Authentication-Results: " + *v + "\r\n");
}

TEST(RoundTrip, GenerateParseSameStructure) {
  std::vector<AuthResults> cases;
  cases.push_back({"example.org", 1, {}});
  cases.push_back({"mx.example.org", {},
                   {spf_result("softfail", "sender@example.net", "helo.example.net", "not permitted"),
                    dkim_result("pass", "example.com", "s2024", "aB+/=0123456789"),
                    dmarc_result("fail", "example.com", "quarantine", "p=reject t=y")}});
  cases.push_back({"mx", 1, {{"dkim", 1, "neutral", "no key; (for) \"now\"", "", {{"header", "d", "x.example"}}}}});
  cases.push_back({"mx", {}, {spf_result("pass", "\"odd local\"@example.net", "")}});
  for (const AuthResults& ar : cases) {
    auto h = generate_header(ar, 40);  // force folding
    ASSERT_TRUE(h) << h.error().message;
    auto back = parse_field(*h);
    ASSERT_TRUE(back) << back.error().message << "\n" << *h;
    EXPECT_EQ(*back, ar) << *h;
  }
}

}  // namespace
}  // namespace mxsec::auth::ar

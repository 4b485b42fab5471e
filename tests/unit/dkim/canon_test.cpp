// Canonicalization (RFC 6376 §3.4), including the §3.4.5 examples.
#include "auth/dkim/canon.hpp"

#include <gtest/gtest.h>

#include <random>

#include "codec/message.hpp"
#include "dkim_test_util.hpp"

namespace mxsec::auth::dkim {
namespace {

std::string canon_headers(std::string_view message, Canon c) {
  auto msg = codec::parse_message(message);
  EXPECT_TRUE(msg);
  std::string out;
  for (const auto& h : msg->headers) canonicalize_header(h.name, h.value, h.raw, c, out);
  return out;
}

// RFC 6376 §3.4.5.
const std::string kExample = "A: X\r\nB : Y\t\r\n\tZ  \r\n\r\n C \r\nD \t E\r\n\r\n\r\n";

TEST(Canon, Rfc6376Section345Relaxed) {
  EXPECT_EQ(canon_headers(kExample, Canon::relaxed), "a:X\r\nb:Y Z\r\n");
  auto msg = codec::parse_message(kExample);
  ASSERT_TRUE(msg);
  EXPECT_EQ(canonical_body(msg->body, Canon::relaxed), " C\r\nD E\r\n");
}

TEST(Canon, Rfc6376Section345Simple) {
  EXPECT_EQ(canon_headers(kExample, Canon::simple), "A: X\r\nB : Y\t\r\n\tZ  \r\n");
  auto msg = codec::parse_message(kExample);
  ASSERT_TRUE(msg);
  EXPECT_EQ(canonical_body(msg->body, Canon::simple), " C \r\nD \t E\r\n");
}

struct BodyCase {
  std::string name, body, simple, relaxed;
};

class BodyCanon : public ::testing::TestWithParam<BodyCase> {};

TEST_P(BodyCanon, BothAlgorithms) {
  EXPECT_EQ(canonical_body(GetParam().body, Canon::simple), GetParam().simple);
  EXPECT_EQ(canonical_body(GetParam().body, Canon::relaxed), GetParam().relaxed);
}

INSTANTIATE_TEST_SUITE_P(
    Table, BodyCanon,
    ::testing::Values(
        // §3.4.3: "If there is no body or no CRLF at the end of the body, a
        // CRLF is added"; §3.4.4 (errata 3951): an empty body stays empty.
        BodyCase{"empty", "", "\r\n", ""},
        BodyCase{"only_crlfs", "\r\n\r\n\r\n", "\r\n", ""},
        BodyCase{"no_final_crlf", "abc", "abc\r\n", "abc\r\n"},
        BodyCase{"trailing_empty_lines", "abc\r\n\r\n\r\n", "abc\r\n", "abc\r\n"},
        BodyCase{"trailing_wsp_lines", "abc\r\n \t\r\n  \r\n", "abc\r\n \t\r\n  \r\n", "abc\r\n"},
        BodyCase{"inner_empty_lines_kept", "a\r\n\r\n \r\nb\r\n", "a\r\n\r\n \r\nb\r\n", "a\r\n\r\n\r\nb\r\n"},
        BodyCase{"wsp_runs", "a \t b\t\r\n  c  d  \r\n", "a \t b\t\r\n  c  d  \r\n", "a b\r\n c d\r\n"},
        BodyCase{"only_spaces", "   ", "   \r\n", ""},
        BodyCase{"final_wsp_no_crlf", "x  ", "x  \r\n", "x\r\n"},
        BodyCase{"bare_lf_is_data", "a\nb\r\n", "a\nb\r\n", "a\nb\r\n"}),
    [](const auto& info) { return info.param.name; });

struct HeaderCase {
  std::string name, field, relaxed;
};

class HeaderCanon : public ::testing::TestWithParam<HeaderCase> {};

TEST_P(HeaderCanon, Relaxed) {
  const std::string msg = GetParam().field + "\r\n";
  EXPECT_EQ(canon_headers(msg, Canon::relaxed), GetParam().relaxed);
  EXPECT_EQ(canon_headers(msg, Canon::simple), GetParam().field.substr(0, GetParam().field.size() - 2) + "\r\n");
}

INSTANTIATE_TEST_SUITE_P(
    Table, HeaderCanon,
    ::testing::Values(HeaderCase{"lower_name", "SUBJECT: Hello World\r\n", "subject:Hello World\r\n"},
                      HeaderCase{"space_before_colon", "Subject \t: x\r\n", "subject:x\r\n"},
                      HeaderCase{"folded", "Subject: a\r\n  b\r\n\tc \r\n", "subject:a b c\r\n"},
                      HeaderCase{"empty_value", "X-Empty:\r\n", "x-empty:\r\n"},
                      HeaderCase{"wsp_only_value", "X-Empty: \t \r\n", "x-empty:\r\n"},
                      HeaderCase{"case_of_value_kept", "To: Joe <JOE@Example.COM>\r\n",
                                 "to:Joe <JOE@Example.COM>\r\n"}),
    [](const auto& info) { return info.param.name; });

TEST(BodyHasher, LimitHashesPrefixCountsAll) {
  const std::string body = "hello world\r\nsecond line\r\n";
  BodyHasher limited(5);
  canonicalize_body(body, Canon::simple, limited);
  EXPECT_EQ(limited.canonical_length(), body.size());
  EXPECT_EQ(limited.hashed_length(), 5u);
  EXPECT_EQ(limited.finish(), ossl::sha256("hello"));
  BodyHasher zero(0);
  canonicalize_body(body, Canon::simple, zero);
  EXPECT_EQ(zero.finish(), ossl::sha256(""));
}

TEST(BodyHasher, StreamingEqualsWholeStringOnLargeBodies) {
  // Bodies far larger than the batch buffer, with many WSP runs and empty
  // lines, so chunk boundaries fall everywhere.
  std::mt19937 rng(42);
  const char alphabet[] = "ab \t\r\n";
  for (int round = 0; round < 20; ++round) {
    std::string body;
    const std::size_t n = 20000 + rng() % 50000;
    for (std::size_t i = 0; i < n; ++i) {
      const char c = alphabet[rng() % 6];
      if (c == '\n') body += "\r\n";
      else if (c != '\r') body += c;
    }
    for (Canon c : {Canon::simple, Canon::relaxed}) {
      const std::string whole = canonical_body(body, c);
      BodyHasher h;
      canonicalize_body(body, c, h);
      EXPECT_EQ(h.canonical_length(), whole.size());
      EXPECT_EQ(h.finish(), ossl::sha256(whole)) << "round " << round << " " << to_string(c);
    }
  }
}

TEST(BodyHasher, LinearTimeOnHostileBody) {
  // 8 MB of alternating WSP and CRLF: must finish quickly (no quadratic step).
  std::string body;
  body.reserve(8 << 20);
  while (body.size() < (8u << 20)) body += " \t\r\n";
  body += "x";
  BodyHasher h;
  canonicalize_body(body, Canon::relaxed, h);
  EXPECT_EQ(h.canonical_length(), canonical_body(body, Canon::relaxed).size());
  EXPECT_EQ(h.finish().size(), 32u);
}

}  // namespace
}  // namespace mxsec::auth::dkim

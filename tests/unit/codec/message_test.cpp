#include "codec/message.hpp"

#include <gtest/gtest.h>

namespace mxsec::codec {
namespace {

TEST(Message, SplitsHeaderAndBodyKeepingRawBytes) {
  const std::string m = "From: a@example.com\r\nSubject: hello\r\n  world\r\n\r\nbody line\r\n";
  auto r = parse_message(m);
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->headers.size(), 2u);
  EXPECT_EQ(r->headers[0].name, "From");
  EXPECT_EQ(r->headers[0].raw, "From: a@example.com\r\n");
  EXPECT_EQ(r->headers[1].raw, "Subject: hello\r\n  world\r\n");
  EXPECT_EQ(r->headers[1].value, " hello\r\n  world");
  EXPECT_EQ(unfold(r->headers[1].value), "hello  world");
  EXPECT_TRUE(r->has_body_separator);
  EXPECT_EQ(r->body, "body line\r\n");
}

TEST(Message, AcceptsBareLfAndSpaceBeforeColon) {
  auto r = parse_message("Subject : x\nTo: y\n\nbody\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers[0].name, "Subject");
  EXPECT_EQ(r->body, "body\n");
}

TEST(Message, HeaderOnlyMessageHasEmptyBody) {
  auto r = parse_message("From: a@b\r\n");
  ASSERT_TRUE(r);
  EXPECT_FALSE(r->has_body_separator);
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(r->headers.size(), 1u);
}

TEST(Message, RejectsMalformedHeaders) {
  for (const char* bad : {" leading continuation\r\n\r\n", "no colon here\r\n\r\n", ": empty name\r\n\r\n",
                          "Bad\x01Name: x\r\n\r\n", "From: a\r\nX\r"}) {
    auto r = parse_message(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::parse) << bad;
  }
}

TEST(Message, EnforcesLimits) {
  std::string many;
  for (int i = 0; i < 20; ++i) many += "X-H: v\r\n";
  MessageLimits lim;
  lim.max_header_fields = 10;
  auto r = parse_message(many + "\r\n", lim);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::limit);

  MessageLimits small;
  small.max_message_bytes = 16;
  auto big = parse_message(std::string(17, 'a'), small);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().code, Errc::limit);
}

// Parsegrind: every prefix of a valid message parses or fails cleanly, and a
// prefix that ends after the separator yields the matching body prefix.
TEST(Message, EveryPrefixIsHandled) {
  const std::string m = "From: a@example.com\r\nTo: b@example.com\r\n\tc@example.com\r\n\r\nline1\r\nline2\r\n";
  const std::size_t sep = m.find("\r\n\r\n") + 4;
  for (std::size_t n = 0; n <= m.size(); ++n) {
    auto r = parse_message(std::string_view(m).substr(0, n));
    if (n >= sep) {
      ASSERT_TRUE(r) << n;
      EXPECT_EQ(r->body, std::string_view(m).substr(sep, n - sep));
    }
  }
}

TEST(Message, NormalizeCrlf) {
  EXPECT_EQ(normalize_crlf("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
  EXPECT_EQ(normalize_crlf("\n"), "\r\n");
  EXPECT_EQ(normalize_crlf(""), "");
}

TEST(Message, FoldHeaderKeepsLinesShort) {
  std::string value;
  for (int i = 0; i < 30; ++i) value += " word" + std::to_string(i);
  const std::string folded = fold_header("X-Long", value, 40);
  std::size_t start = 0;
  while (start < folded.size()) {
    const std::size_t end = folded.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 40u);
    start = end + 2;
  }
  const std::string whole = folded + "\r\n";
  auto parsed = parse_message(whole);
  ASSERT_TRUE(parsed);
  ASSERT_EQ(parsed->headers.size(), 1u);
  // Folding only turns a space into CRLF+HTAB: unfolded, the words are intact.
  std::string unfolded = unfold(parsed->headers[0].value);
  for (char& c : unfolded)
    if (c == '\t') c = ' ';
  EXPECT_EQ(unfolded, value.substr(1));
}

}  // namespace
}  // namespace mxsec::codec

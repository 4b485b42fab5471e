// Tests for smtp/proto/reply.cpp: the SMTP reply push parser. Every input is
// parsegrinded (split at every offset and fed byte by byte).
#include "smtp/proto/reply.hpp"

#include <gtest/gtest.h>

#include "unit/smtp/parsegrind.hpp"

namespace mxsec::smtp {
namespace {

using State = ReplyParser::State;

struct GoodCase {
  std::string name;
  std::string input;
  int code;
  std::vector<std::string> lines;
  std::optional<EnhancedStatus> enhanced;
  std::size_t consumed;
};

std::vector<GoodCase> GoodCases() {
  return {
      {"banner", "220 mx.example.net ESMTP\r\n", 220, {"mx.example.net ESMTP"}, {}, 26},
      {"code_only", "250\r\n", 250, {""}, {}, 5},
      {"empty_text", "250 \r\n", 250, {""}, {}, 6},
      {"multiline", "250-mx.example.net\r\n250-PIPELINING\r\n250 STARTTLS\r\n", 250,
       {"mx.example.net", "PIPELINING", "STARTTLS"}, {}, 50},
      {"continuation_empty_text", "250-\r\n250 ok\r\n", 250, {"", "ok"}, {}, 14},
      {"bare_lf", "220 hi\n", 220, {"hi"}, {}, 7},
      {"mixed_line_ends", "250-a\n250 b\r\n", 250, {"a", "b"}, {}, 13},
      {"trailing_bytes_left", "220 ready\r\nRSET\r\n", 220, {"ready"}, {}, 11},
      {"enhanced", "250 2.1.0 Ok\r\n", 250, {"2.1.0 Ok"}, EnhancedStatus{2, 1, 0}, 14},
      {"enhanced_three_digits", "550 5.123.456 no\r\n", 550, {"5.123.456 no"}, EnhancedStatus{5, 123, 456}, 18},
      {"enhanced_alone", "454 4.7.0\r\n", 454, {"4.7.0"}, EnhancedStatus{4, 7, 0}, 11},
      {"enhanced_wrong_class", "250 5.1.0 odd\r\n", 250, {"5.1.0 odd"}, {}, 15},
      {"enhanced_too_many_digits", "250 2.1234.0 x\r\n", 250, {"2.1234.0 x"}, {}, 16},
      {"enhanced_no_space", "250 2.1.0x\r\n", 250, {"2.1.0x"}, {}, 12},
      {"enhanced_only_first_line", "250-text\r\n250 2.0.0 ok\r\n", 250, {"text", "2.0.0 ok"}, {}, 24},
      {"utf8_text", "220 h\xc3\xa9llo\r\n", 220, {"h\xc3\xa9llo"}, {}, 12},
      {"code_554", "554 no service\r\n", 554, {"no service"}, {}, 16},
  };
}

class ReplyGood : public ::testing::TestWithParam<GoodCase> {};

TEST_P(ReplyGood, Parses) {
  const auto& c = GetParam();
  auto o = test::parsegrind(c.input);
  ASSERT_EQ(o.state, State::done) << o.error;
  EXPECT_EQ(o.reply.code, c.code);
  EXPECT_EQ(o.reply.lines, c.lines);
  EXPECT_EQ(o.reply.enhanced, c.enhanced);
  EXPECT_EQ(o.consumed, c.consumed);
}

INSTANTIATE_TEST_SUITE_P(Rfc5321, ReplyGood, ::testing::ValuesIn(GoodCases()),
                         [](const auto& info) { return info.param.name; });

struct BadCase {
  std::string name;
  std::string input;
  State state;
  Errc code;
  ReplyLimits limits;
};

std::vector<BadCase> BadCases() {
  ReplyLimits small{16, 3};
  return {
      {"incomplete", "250-a\r\n250", State::need_more, Errc::parse, {}},
      {"empty", "", State::need_more, Errc::parse, {}},
      {"no_code", "hello\r\n", State::failed, Errc::parse, {}},
      {"short_code", "25\r\n", State::failed, Errc::parse, {}},
      {"code_1xx", "150 x\r\n", State::failed, Errc::parse, {}},
      {"code_6xx", "650 x\r\n", State::failed, Errc::parse, {}},
      {"code_260", "260 x\r\n", State::failed, Errc::parse, {}},
      {"code_alpha", "2x0 x\r\n", State::failed, Errc::parse, {}},
      {"bad_separator", "250_x\r\n", State::failed, Errc::parse, {}},
      {"four_digits", "2500 x\r\n", State::failed, Errc::parse, {}},
      {"code_changes", "250-a\r\n251 b\r\n", State::failed, Errc::parse, {}},
      {"bare_cr", "250 a\rb\r\n", State::failed, Errc::parse, {}},
      {"nul", std::string("250 a\0b\r\n", 9), State::failed, Errc::parse, {}},
      {"garbage_binary", std::string("\x16\x03\x01\x02\x00\x01\x00\n", 8), State::failed, Errc::parse, {}},
      {"line_at_limit_plus_one", "250 " + std::string(13, 'x') + "\r\n", State::failed, Errc::limit, small},
      {"line_no_end", "250 " + std::string(40, 'x'), State::failed, Errc::limit, small},
      {"too_many_lines", "250-a\r\n250-b\r\n250-c\r\n250 d\r\n", State::failed, Errc::limit, small},
  };
}

class ReplyBad : public ::testing::TestWithParam<BadCase> {};

TEST_P(ReplyBad, Fails) {
  const auto& c = GetParam();
  auto o = test::parsegrind(c.input, c.limits);
  EXPECT_EQ(o.state, c.state);
  auto whole = parse_reply(c.input, c.limits);
  ASSERT_FALSE(whole);
  EXPECT_EQ(whole.error().code, c.code) << whole.error().message;
}

INSTANTIATE_TEST_SUITE_P(Rfc5321, ReplyBad, ::testing::ValuesIn(BadCases()),
                         [](const auto& info) { return info.param.name; });

TEST(ReplyParser, LimitBoundaries) {
  ReplyLimits small{16, 3};
  // 16 octets of line (code + SP + 12) is accepted, 17 is not, with or
  // without the CR.
  for (const char* end : {"\r\n", "\n"}) {
    EXPECT_EQ(test::parsegrind("250 " + std::string(12, 'x') + end, small).state, State::done) << end;
    EXPECT_EQ(test::parsegrind("250 " + std::string(13, 'x') + end, small).state, State::failed) << end;
  }
  EXPECT_EQ(test::parsegrind("250-a\r\n250-b\r\n250 c\r\n", small).state, State::done);
}

TEST(ReplyParser, BufferStaysBounded) {
  ReplyParser p(ReplyLimits{64, 10});
  std::string junk(1000, 'x');
  p.push(junk.substr(0, 60));
  EXPECT_EQ(p.buffered(), 60u);
  p.push(junk);
  EXPECT_EQ(p.state(), State::failed);
  EXPECT_EQ(p.error().code, Errc::limit);
  EXPECT_EQ(p.buffered(), 0u);
  // Sticky: more input changes nothing.
  EXPECT_EQ(p.push("250 ok\r\n"), 0u);
  EXPECT_EQ(p.state(), State::failed);
  p.reset();
  p.push("250 ok\r\n");
  EXPECT_EQ(p.state(), State::done);
}

TEST(ReplyParser, SequentialRepliesWithTake) {
  // Pipelined replies: each push stops at the end of one reply.
  const std::string stream = "250-a\r\n250 b\r\n354 go\r\n221 bye\r\n";
  ReplyParser p;
  std::string_view rest = stream;
  std::vector<int> codes;
  while (!rest.empty()) {
    rest.remove_prefix(p.push(rest));
    ASSERT_EQ(p.state(), State::done);
    codes.push_back(p.take().code);
    EXPECT_EQ(p.state(), State::need_more);
  }
  EXPECT_EQ(codes, (std::vector<int>{250, 354, 221}));
}

TEST(ReplyParser, ParseReplyRejectsTrailingBytes) {
  auto r = parse_reply("220 a\r\n250 b\r\n");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::parse);
}

TEST(Reply, Helpers) {
  auto r = parse_reply("250-one\r\n250 two\x01\r\n");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->positive_completion());
  EXPECT_FALSE(r->transient_failure());
  EXPECT_EQ(r->to_log_string(), "250-one | 250 two\\x01");
  EXPECT_TRUE(parse_reply("451 x\r\n")->transient_failure());
  EXPECT_TRUE(parse_reply("554 x\r\n")->permanent_failure());
  EXPECT_EQ((EnhancedStatus{5, 7, 1}.to_string()), "5.7.1");
}

}  // namespace
}  // namespace mxsec::smtp

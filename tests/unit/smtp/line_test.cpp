// Tests for smtp/session/line.cpp: the sans-I/O line splitter, table-driven
// and parsegrinded (every input split at every offset and byte by byte).
#include "smtp/session/line.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxsec::smtp {
namespace {

struct Outcome {
  LineParser::State state = LineParser::State::need_more;
  Line line;
  std::string error;
  std::size_t consumed = 0;
};

Outcome push_chunks(std::string_view input, const std::vector<std::size_t>& cuts, std::size_t max) {
  LineParser p(max);
  Outcome out;
  std::size_t start = 0;
  std::vector<std::size_t> ends = cuts;
  ends.push_back(input.size());
  for (std::size_t end : ends) {
    if (p.state() != LineParser::State::need_more) break;
    out.consumed += p.push(input.substr(start, end - start));
    start = end;
  }
  out.state = p.state();
  if (out.state == LineParser::State::done) out.line = p.line();
  if (out.state == LineParser::State::failed) out.error = p.error().message;
  return out;
}

Outcome grind(std::string_view input, std::size_t max) {
  Outcome whole = push_chunks(input, {}, max);
  auto same = [&](const Outcome& o, const std::string& how) {
    EXPECT_EQ(o.state, whole.state) << how;
    EXPECT_EQ(o.line, whole.line) << how;
    EXPECT_EQ(o.error, whole.error) << how;
    if (whole.state == LineParser::State::done) {
      EXPECT_EQ(o.consumed, whole.consumed) << how;
    }
  };
  for (std::size_t i = 0; i <= input.size(); ++i) same(push_chunks(input, {i}, max), "split at " + std::to_string(i));
  std::vector<std::size_t> every;
  for (std::size_t i = 1; i < input.size(); ++i) every.push_back(i);
  same(push_chunks(input, every, max), "byte by byte");
  return whole;
}

struct Case {
  std::string name;
  std::string input;
  std::size_t max;
  LineParser::State state;
  std::string text;
  bool bare_lf;
  std::size_t consumed;  // when done
};

TEST(LineParser, Table) {
  using S = LineParser::State;
  const std::vector<Case> cases = {
      {"crlf", "EHLO client.example\r\n", 64, S::done, "EHLO client.example", false, 21},
      {"bare_lf", "MAIL FROM:<a@b>\n", 64, S::done, "MAIL FROM:<a@b>", true, 16},
      {"empty_line", "\r\n", 64, S::done, "", false, 2},
      {"empty_bare_lf", "\n", 64, S::done, "", true, 1},
      {"cr_inside_stays", "a\rb\r\n", 64, S::done, "a\rb", false, 5},
      {"cr_cr_lf", "a\r\r\n", 64, S::done, "a\r", false, 4},
      {"only_first_line", "RSET\r\nQUIT\r\n", 64, S::done, "RSET", false, 6},
      {"no_line_end", "NOOP", 64, S::need_more, "", false, 0},
      {"exactly_max", std::string(8, 'x') + "\r\n", 8, S::done, std::string(8, 'x'), false, 10},
      {"exactly_max_bare_lf", std::string(8, 'x') + "\n", 8, S::done, std::string(8, 'x'), true, 9},
      {"max_plus_one", std::string(9, 'x') + "\r\n", 8, S::failed, "", false, 0},
      {"max_then_cr_cr_lf", std::string(8, 'x') + "\r\r\n", 8, S::failed, "", false, 0},
      {"overlong_no_lf", std::string(100, 'x'), 8, S::failed, "", false, 0},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Outcome o = grind(c.input, c.max);
    EXPECT_EQ(o.state, c.state);
    if (c.state == S::done) {
      EXPECT_EQ(o.line.text, c.text);
      EXPECT_EQ(o.line.bare_lf, c.bare_lf);
      EXPECT_EQ(o.consumed, c.consumed);
    }
    if (c.state == S::failed) {
      EXPECT_EQ(o.error, "line longer than " + std::to_string(c.max) + " octets");
    }
  }
}

TEST(LineParser, BoundedWhileWaitingForLf) {
  LineParser p(16);
  for (int i = 0; i < 1000 && p.state() == LineParser::State::need_more; ++i) p.push("xxxx");
  EXPECT_EQ(p.state(), LineParser::State::failed);
  EXPECT_EQ(p.error().code, Errc::limit);
  EXPECT_LE(p.buffered(), 17u);
}

TEST(LineParser, StickyUntilReset) {
  LineParser p(4);
  p.push("xxxxxxxx");
  ASSERT_EQ(p.state(), LineParser::State::failed);
  EXPECT_EQ(p.push("\r\n"), 0u);
  p.reset();
  p.push("QUIT\r\n");
  ASSERT_EQ(p.state(), LineParser::State::done);
  EXPECT_EQ(p.take().text, "QUIT");
  EXPECT_EQ(p.state(), LineParser::State::need_more);
}

}  // namespace
}  // namespace mxsec::smtp

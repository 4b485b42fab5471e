// Tests for smtp/proto/data_encoder.cpp: dot-stuffing and line ends, every
// split of the input, a round trip through the server's DataDecoder, and an
// exhaustive search for a premature end of data, strict or lenient.
#include "smtp/proto/data_encoder.hpp"

#include <gtest/gtest.h>

#include "smtp/proto/data.hpp"

namespace mxsec::smtp {
namespace {

std::string encode(std::string_view text, std::size_t split = std::string_view::npos, std::uint64_t* bare = nullptr) {
  DataEncoder e;
  std::string out;
  if (split == std::string_view::npos || split > text.size()) split = text.size();
  e.push(text.substr(0, split), out);
  e.push(text.substr(split), out);
  e.finish(out);
  if (bare) *bare = e.bare_line_ends();
  return out;
}

struct Case {
  std::string text;
  std::string wire;
  std::uint64_t bare;
};

TEST(DataEncoder, StuffsDotsAndEndsTheData) {
  const std::vector<Case> cases = {
      {"", ".\r\n", 0},
      {"a\r\n", "a\r\n.\r\n", 0},
      {"a", "a\r\n.\r\n", 0},
      {".\r\n", "..\r\n.\r\n", 0},
      {".", "..\r\n.\r\n", 0},
      {"..x\r\n", "...x\r\n.\r\n", 0},
      {"a.b\r\n.c\r\n", "a.b\r\n..c\r\n.\r\n", 0},
      {"\r\n.\r\n", "\r\n..\r\n.\r\n", 0},
      {"a\n.\nb", "a\r\n..\r\nb\r\n.\r\n", 2},         // bare LF: written as CRLF, line start stuffed
      {"a\r.\rb", "a\r\n..\r\nb\r\n.\r\n", 2},         // bare CR likewise
      {"a\r", "a\r\n.\r\n", 1},                        // a CR left at the end
      {"a\r\r\n", "a\r\n\r\n.\r\n", 1},
      {"x\n\r\n", "x\r\n\r\n.\r\n", 1},
  };
  for (const auto& c : cases)
    for (std::size_t split = 0; split <= c.text.size(); ++split) {
      std::uint64_t bare = 0;
      EXPECT_EQ(encode(c.text, split, &bare), c.wire)
          << "text " << testing::PrintToString(c.text) << " split " << split;
      EXPECT_EQ(bare, c.bare) << testing::PrintToString(c.text);
    }
}

TEST(DataEncoder, RoundTripsThroughTheServerDecoder) {
  const std::vector<std::string> texts = {
      "Subject: x\r\n\r\n.\r\n..\r\n...\r\nend\r\n",
      "a\r\n.\r\nMAIL FROM:<evil@example>\r\n",
      std::string(3000, '.') + "\r\n.x\r\n",
  };
  for (const auto& text : texts) {
    const std::string wire = encode(text);
    DataDecoder d;
    std::string out;
    // The DATA command's CRLF comes first on the wire.
    const std::size_t used = d.push(wire, out);
    EXPECT_TRUE(d.done());
    EXPECT_EQ(used, wire.size()) << "the end mark came early";
    EXPECT_EQ(out, text);
    EXPECT_TRUE(d.counters().clean());
  }
}

// Every text of up to 8 octets from {'.', CR, LF, 'a'}: before the final
// ".\r\n", the output never holds a line that is only a dot, however a
// server reads line ends (CRLF, CR or LF), and every line end is CRLF.
TEST(DataEncoder, NoTextCanEndTheDataEarly) {
  const char alphabet[] = {'.', '\r', '\n', 'a'};
  std::size_t checked = 0;
  for (std::size_t len = 0; len <= 8; ++len) {
    std::size_t total = 1;
    for (std::size_t i = 0; i < len; ++i) total *= 4;
    for (std::size_t n = 0; n < total; ++n) {
      std::string text;
      for (std::size_t i = 0, k = n; i < len; ++i, k /= 4) text += alphabet[k % 4];
      const std::string wire = encode(text, len / 2);
      ASSERT_GE(wire.size(), 3u);
      ASSERT_EQ(wire.substr(wire.size() - 3), ".\r\n");
      const std::string body = "\r\n" + wire.substr(0, wire.size() - 3);  // the DATA command's line end first
      for (std::size_t i = 0; i + 1 < body.size(); ++i) {
        const bool after_line_end = body[i] == '\r' || body[i] == '\n';
        if (after_line_end && body[i + 1] == '.') {
          const bool ends_there = i + 2 >= body.size() || body[i + 2] == '\r' || body[i + 2] == '\n';
          ASSERT_FALSE(ends_there) << testing::PrintToString(text) << " -> " << testing::PrintToString(wire);
        }
        if (body[i] == '\r') {
          ASSERT_EQ(body[i + 1], '\n') << testing::PrintToString(text);
        }
        if (body[i + 1] == '\n') {
          ASSERT_EQ(body[i], '\r') << testing::PrintToString(text);
        }
      }
      ++checked;
    }
  }
  EXPECT_EQ(checked, 87381u);  // 4^0 + ... + 4^8
}

}  // namespace
}  // namespace mxsec::smtp

// Tests for smtp/proto/data.cpp: the DATA and BDAT text decoders, table-driven
// and parsegrinded (every input split at every offset and fed byte by byte:
// same text, same octets consumed, same counters). SMTP smuggling: no end of
// data but <CRLF>.<CRLF>, and every bare CR or LF counted and kept out of the
// text.
#include "smtp/proto/data.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "unit/smtp/parsegrind.hpp"

namespace mxsec::smtp {
namespace {

using namespace std::string_literals;

struct Outcome {
  std::string out;
  std::size_t consumed = 0;
  bool done = false;
  TextCounters counters;
  friend bool operator==(const Outcome&, const Outcome&) = default;
};

// Every chunk is pushed, also after the end of data (push() must then take
// nothing), so `consumed` is comparable across splits.
Outcome data_chunks(std::string_view input, const std::vector<std::size_t>& cuts, std::uint64_t max) {
  DataDecoder d(max);
  Outcome o;
  for (std::string_view chunk : test::chunks_at(input, cuts)) o.consumed += d.push(chunk, o.out);
  o.done = d.done();
  o.counters = d.counters();
  return o;
}

Outcome bdat_chunks(std::string_view input, const std::vector<std::size_t>& cuts, std::uint64_t max) {
  BdatDecoder d(max);
  Outcome o;
  for (std::string_view chunk : test::chunks_at(input, cuts)) {
    d.push(chunk, o.out);
    o.consumed += chunk.size();
  }
  d.finish(o.out);
  o.done = true;
  o.counters = d.counters();
  return o;
}

template <class Run>
Outcome grind(std::string_view input, std::uint64_t max, Run run) {
  const Outcome whole = run(input, {}, max);
  test::for_each_split(input, [&](const std::vector<std::size_t>& cuts, const std::string& how) {
    EXPECT_EQ(run(input, cuts, max), whole) << how;
  });
  return whole;
}

Outcome grind_data(std::string_view input, std::uint64_t max = limits::kMessageBytes) {
  return grind(input, max, data_chunks);
}
Outcome grind_bdat(std::string_view input, std::uint64_t max = limits::kMessageBytes) {
  return grind(input, max, bdat_chunks);
}

// Text a server may spool: CRLF line ends and no other CR or LF.
bool only_crlf_line_ends(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\r' && (i + 1 >= s.size() || s[i + 1] != '\n')) return false;
    if (s[i] == '\n' && (i == 0 || s[i - 1] != '\r')) return false;
  }
  return true;
}

struct DataCase {
  std::string name;
  std::string input;
  std::string out;
  std::size_t consumed;
  bool done;
  std::uint64_t bare_cr = 0, bare_lf = 0, nul = 0;
  bool long_line = false;
};

std::vector<DataCase> DataCases() {
  const std::string x998(998, 'x');
  return {
      {"message", "Subject: t\r\n\r\nbody\r\n.\r\n", "Subject: t\r\n\r\nbody\r\n", 23, true},
      {"empty_message", ".\r\n", "", 3, true},
      {"empty_line_then_end", "\r\n.\r\n", "\r\n", 5, true},
      {"stops_after_end", "a\r\n.\r\nMAIL FROM:<x@y>\r\n", "a\r\n", 6, true},
      {"stuffed_dot_line", "..\r\n.\r\n", ".\r\n", 7, true},
      {"stuffed_text", "a\r\n..b\r\n...\r\n.\r\n", "a\r\n.b\r\n..\r\n", 16, true},
      {"dot_inside_line", "a.b\r\n.\r\n", "a.b\r\n", 8, true},
      {"dot_space_is_text", "a\r\n. \r\n.\r\n", "a\r\n \r\n", 10, true},
      {"incomplete", "a\r\n.", "a\r\n", 4, false},
      {"incomplete_dot_cr", "a\r\n.\r", "a\r\n", 5, false},
      {"no_end_at_all", "abc", "abc", 3, false},
      {"bare_cr_and_lf_dropped", "a\rb\nc\r\n.\r\n", "abc\r\n", 10, true, 1, 1},
      {"cr_cr_lf", "a\r\r\n.\r\n", "a\r\n", 7, true, 1, 0},
      {"lf_only_message", "a\nb\n.\n", "ab.", 6, false, 0, 3},
      {"nul_kept_and_counted", "a\0b\0\r\n.\r\n"s, "a\0b\0\r\n"s, 9, true, 0, 0, 2},
      {"dot_nul_is_stuffing", "a\r\n.\0\r\n.\r\n"s, "a\r\n\0\r\n"s, 10, true, 0, 0, 1},
      {"line_of_1000_with_crlf", x998 + "\r\n.\r\n", x998 + "\r\n", 1003, true},
      {"line_of_1001_with_crlf", x998 + "y\r\n.\r\n", x998 + "y\r\n", 1004, true, 0, 0, 0, true},
      {"stuffing_dot_not_counted", "." + x998 + "\r\n.\r\n", x998 + "\r\n", 1004, true},
      {"bare_lf_does_not_end_a_line", "xx\n" + x998 + "\r\n.\r\n", "xx" + x998 + "\r\n", 1006, true, 0, 1, 0, true},
  };
}

class Data : public ::testing::TestWithParam<DataCase> {};

TEST_P(Data, DecodesTheSameHoweverSplit) {
  const auto& c = GetParam();
  const Outcome o = grind_data(c.input);
  EXPECT_EQ(o.out, c.out);
  EXPECT_EQ(o.consumed, c.consumed);
  EXPECT_EQ(o.done, c.done);
  EXPECT_EQ(o.counters.bare_cr, c.bare_cr);
  EXPECT_EQ(o.counters.bare_lf, c.bare_lf);
  EXPECT_EQ(o.counters.nul, c.nul);
  EXPECT_EQ(o.counters.long_line, c.long_line);
  EXPECT_EQ(o.counters.octets, c.out.size());
  EXPECT_FALSE(o.counters.overflow);
  EXPECT_TRUE(only_crlf_line_ends(o.out));
}

INSTANTIATE_TEST_SUITE_P(Rfc5321, Data, ::testing::ValuesIn(DataCases()),
                         [](const auto& info) { return info.param.name; });

// SMTP smuggling: a second transaction hidden behind an end-of-data look-alike.
// None of these ends the data; the decoder reads on to the real <CRLF>.<CRLF>,
// drops the bare CR / LF octets and counts them, so the server refuses the
// one message (554 5.6.0) and never sees the smuggled commands as commands.
struct SmuggleCase {
  std::string name;
  std::string separator;      // between "a" and the smuggled commands
  std::string separator_out;  // what of it is message text
  std::uint64_t bare_cr, bare_lf;
};

std::vector<SmuggleCase> SmuggleCases() {
  return {
      {"lf_dot_lf", "\n.\n", ".", 0, 2},
      {"cr_dot_cr", "\r.\r", ".", 2, 0},
      {"lf_dot_crlf", "\n.\r\n", ".\r\n", 0, 1},
      {"crlf_dot_lf", "\r\n.\n", "\r\n", 0, 1},
      {"cr_dot_crlf", "\r.\r\n", ".\r\n", 1, 0},
      {"crlf_dot_cr", "\r\n.\r", "\r\n", 1, 0},
      {"lf_dot_cr", "\n.\r", ".", 1, 1},
      {"cr_dot_lf", "\r.\n", ".", 1, 1},
      {"crlf_lf_dot_crlf", "\r\n\n.\r\n", "\r\n.\r\n", 0, 1},
      {"crlf_cr_dot_crlf", "\r\n\r.\r\n", "\r\n.\r\n", 1, 0},
      {"crlf_dot_cr_crlf", "\r\n.\r\r\n", "\r\n\r\n", 1, 0},
      {"crlf_dot_lf_crlf", "\r\n.\n\r\n", "\r\n\r\n", 0, 1},
      {"lf_lf_dot_lf_lf", "\n\n.\n\n", ".", 0, 4},
      {"cr_cr_dot_cr_cr", "\r\r.\r\r", ".", 4, 0},
      {"crlf_nul_dot_crlf", "\r\n\0.\r\n"s, "\r\n\0.\r\n"s, 0, 0},
      {"crlf_space_dot_crlf", "\r\n .\r\n", "\r\n .\r\n", 0, 0},
  };
}

class Smuggling : public ::testing::TestWithParam<SmuggleCase> {};

TEST_P(Smuggling, IsNotAnEndOfData) {
  const auto& c = GetParam();
  const std::string smuggled = "MAIL FROM:<x@y>\r\nRCPT TO:<v@z>\r\nDATA\r\nsmuggled\r\n";
  const std::string input = "a" + c.separator + smuggled + ".\r\nQUIT\r\n";
  const Outcome o = grind_data(input);
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, input.size() - 6) << "only QUIT is left for the command reader";
  EXPECT_EQ(o.out, "a" + c.separator_out + smuggled);
  EXPECT_EQ(o.counters.bare_cr, c.bare_cr);
  EXPECT_EQ(o.counters.bare_lf, c.bare_lf);
  EXPECT_EQ(o.counters.clean(), c.bare_cr + c.bare_lf == 0);
  EXPECT_TRUE(only_crlf_line_ends(o.out));
}

INSTANTIATE_TEST_SUITE_P(Rfc5321, Smuggling, ::testing::ValuesIn(SmuggleCases()),
                         [](const auto& info) { return info.param.name; });

TEST(Smuggling, BareCrBeforeARealEndIsCounted) {
  // <CR><CRLF>.<CRLF> holds a real <CRLF>.<CRLF>: it ends the data, and the
  // bare CR before it makes the message one the server refuses.
  const Outcome o = grind_data("a\r\r\n.\r\nMAIL FROM:<x@y>\r\n");
  EXPECT_TRUE(o.done);
  EXPECT_EQ(o.consumed, 7u);
  EXPECT_EQ(o.out, "a\r\n");
  EXPECT_EQ(o.counters.bare_cr, 1u);
  EXPECT_FALSE(o.counters.clean());
}

TEST(Data, SizeLimitCountsButDoesNotWrite) {
  struct Case {
    std::string name, input;
    std::uint64_t max;
    std::string out;
    std::uint64_t octets;
    bool overflow;
  };
  const std::vector<Case> cases = {
      {"under", "abc\r\n.\r\n", 10, "abc\r\n", 5, false},
      {"exactly", "abcdefgh\r\n.\r\n", 10, "abcdefgh\r\n", 10, false},
      {"over", "abcdefgh\r\nijk\r\n.\r\n", 10, "abcdefgh\r\n", 15, true},
      {"over_mid_line", "abcdefgh\r\n.\r\n", 5, "abcde", 10, true},
      {"zero", "a\r\n.\r\n", 0, "", 3, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Outcome o = grind_data(c.input, c.max);
    EXPECT_TRUE(o.done);
    EXPECT_EQ(o.consumed, c.input.size());
    EXPECT_EQ(o.out, c.out);
    EXPECT_EQ(o.counters.octets, c.octets);
    EXPECT_EQ(o.counters.overflow, c.overflow);
  }
}

TEST(Data, NothingIsTakenAfterTheEnd) {
  DataDecoder d;
  std::string out;
  EXPECT_EQ(d.push("a\r\n.\r\nRSET\r\n", out), 6u);
  EXPECT_TRUE(d.done());
  EXPECT_EQ(d.push("more\r\n.\r\n", out), 0u);
  EXPECT_EQ(out, "a\r\n");
  d.reset();
  EXPECT_FALSE(d.done());
  EXPECT_EQ(d.counters(), TextCounters{});
  out.clear();
  EXPECT_EQ(d.push(".\r\n", out), 3u) << "after reset the first line is a line start again";
  EXPECT_TRUE(d.done());
  EXPECT_EQ(out, "");
}

// Work stays linear in the input whatever its shape: megabytes of bare CRs or
// LFs (each one a place where the scan restarts) finish at once.
TEST(Data, LongRunsOfBareLineEndsAreLinear) {
  for (char c : {'\r', '\n'}) {
    const std::string input = std::string(4u << 20, c) + "\r\n.\r\n";
    DataDecoder d;
    std::string out;
    EXPECT_EQ(d.push(input, out), input.size());
    EXPECT_TRUE(d.done());
    EXPECT_EQ(out, "\r\n");
    EXPECT_EQ(c == '\r' ? d.counters().bare_cr : d.counters().bare_lf, 4u << 20);
  }
}

struct BdatCase {
  std::string name;
  std::vector<std::string> chunks;
  std::string out;
  std::uint64_t bare_cr = 0, bare_lf = 0;
};

TEST(Bdat, ChunksAreTakenAsTheyAre) {
  const std::vector<BdatCase> cases = {
      {"plain", {"Subject: t\r\n\r\nbody\r\n"}, "Subject: t\r\n\r\nbody\r\n"},
      {"crlf_across_chunks", {"a\r", "\nb\r\n"}, "a\r\nb\r\n"},
      {"cr_then_other_chunk", {"a\r", "b"}, "ab", 1, 0},
      {"dangling_cr_at_finish", {"a\r"}, "a", 1, 0},
      {"cr_then_empty_chunk_then_lf", {"a\r", "", "\n"}, "a\r\n"},
      {"bare_lf", {"a\nb"}, "ab", 0, 1},
      {"lf_first_in_chunk", {"a", "\nb"}, "ab", 0, 1},
      {"no_dot_unstuffing_no_end", {"a\r\n..b\r\n.\r\nMAIL FROM:<x@y>\r\n"}, "a\r\n..b\r\n.\r\nMAIL FROM:<x@y>\r\n"},
      {"smuggling_shapes_dropped", {"a\n.\n", "b\r.\r", "c\r\n"}, "a.b.c\r\n", 2, 2},
      {"no_final_crlf", {"a\r\nb"}, "a\r\nb"},
      {"empty", {}, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    BdatDecoder d;
    std::string out;
    std::string joined;
    for (const auto& chunk : c.chunks) {
      d.push(chunk, out);
      joined += chunk;
    }
    d.finish(out);
    EXPECT_EQ(out, c.out);
    EXPECT_EQ(d.counters().bare_cr, c.bare_cr);
    EXPECT_EQ(d.counters().bare_lf, c.bare_lf);
    EXPECT_EQ(d.counters().octets, c.out.size());
    EXPECT_TRUE(only_crlf_line_ends(out));
    // However the client cut the message into chunks, the result is the same.
    const Outcome g = grind_bdat(joined);
    EXPECT_EQ(g.out, c.out);
    EXPECT_EQ(g.counters, d.counters());
  }
}

TEST(Bdat, LimitsAsForData) {
  const Outcome over = grind_bdat("abcdefgh\r\nijk\r\n", 10);
  EXPECT_EQ(over.out, "abcdefgh\r\n");
  EXPECT_EQ(over.counters.octets, 15u);
  EXPECT_TRUE(over.counters.overflow);
  const Outcome nul = grind_bdat("a\0b"s);
  EXPECT_EQ(nul.out, "a\0b"s);
  EXPECT_EQ(nul.counters.nul, 1u);
  const Outcome long_line = grind_bdat(std::string(999, 'x') + "\r\n");
  EXPECT_TRUE(long_line.counters.long_line);
  EXPECT_FALSE(grind_bdat(std::string(998, 'x') + "\r\n").counters.long_line);
}

TEST(Bdat, ResetStartsAfresh) {
  BdatDecoder d(4);
  std::string out;
  d.push("abcdef\r", out);
  d.reset();
  out.clear();
  d.push("\nab", out);
  d.finish(out);
  EXPECT_EQ(out, "ab") << "the CR before reset is forgotten; the LF after it is bare";
  EXPECT_EQ(d.counters().bare_lf, 1u);
  EXPECT_EQ(d.counters().bare_cr, 0u);
  EXPECT_FALSE(d.counters().overflow);
}

}  // namespace
}  // namespace mxsec::smtp

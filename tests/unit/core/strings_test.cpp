// Tests for core/strings.hpp and core/core.cpp: the hex encoder and the log
// escape that uses it.
#include "core/strings.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace mxsec {
namespace {

TEST(Hex, LowerAndUpperCase) {
  struct Case {
    std::string in, lower, upper;
  };
  for (const Case& c : std::vector<Case>{{"", "", ""},
                                         {std::string("\x00", 1), "00", "00"},
                                         {"\xff\x10\xab", "ff10ab", "FF10AB"},
                                         {"AZ", "415a", "415A"}}) {
    EXPECT_EQ(to_hex(c.in), c.lower);
    EXPECT_EQ(to_hex(c.in, HexCase::upper), c.upper);
  }
}

TEST(Hex, DigitsAndAppend) {
  EXPECT_EQ(hex_digit(0), '0');
  EXPECT_EQ(hex_digit(10), 'a');
  EXPECT_EQ(hex_digit(15, HexCase::upper), 'F');
  EXPECT_EQ(hex_digit(0x1b), 'b');  // only the low nibble counts
  std::string out = "%";
  append_hex(out, 0x2f, HexCase::upper);
  EXPECT_EQ(out, "%2F");
}

TEST(EscapeForLog, ControlAndNonAsciiBytesAreHexEscaped) {
  EXPECT_EQ(escape_for_log("a\r\nb\\\xc3\xbc"), "a\\x0d\\x0ab\\x5c\\xc3\\xbc");
  EXPECT_EQ(escape_for_log("abcdef", 3), "abc...");
}

}  // namespace
}  // namespace mxsec

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

TEST(WipeSecret, ClearsTheWholeBuffer) {
  for (std::size_t n : {std::size_t{5}, std::size_t{100}}) {  // short-string buffer and heap buffer
    std::string secret(n, 's');
    const char* buffer = secret.data();
    const std::size_t capacity = secret.capacity();
    wipe_secret(secret);
    EXPECT_TRUE(secret.empty());
    EXPECT_EQ(secret.data(), buffer);  // clear() keeps the buffer, so it can be inspected
    EXPECT_EQ(std::string(buffer, capacity), std::string(capacity, '\0')) << n;
  }
}

}  // namespace
}  // namespace mxsec

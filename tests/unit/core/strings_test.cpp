// Tests for core/strings.hpp and core/core.cpp: the hex encoder and the log
// escape that uses it, the RFC 5321 Domain check and the UTF-8 sequence
// length.
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

TEST(LdhDomain, Rfc5321Domain) {
  struct Case {
    std::string name;
    bool ok;
  };
  const std::vector<Case> cases = {
      {"example.com", true},
      {"a", true},
      {"1-2.3com.example", true},
      {"xn--bcher-kva.example", true},
      {std::string(63, 'a') + ".example", true},
      {std::string(64, 'a') + ".example", false},
      {"", false},
      {"example.com.", false},
      {".example.com", false},
      {"example..com", false},
      {"-example.com", false},
      {"example-.com", false},
      {"_dmarc.example.com", false},
      {"exa mple.com", false},
      {"b\xc3\xbc" "cher.example", false},
  };
  for (const auto& c : cases) EXPECT_EQ(is_ldh_domain(c.name), c.ok) << c.name;
}

TEST(Utf8, SequenceLength) {
  struct Case {
    std::string bytes;
    std::size_t length;
  };
  const std::vector<Case> cases = {
      {"\xc3\xbc", 2},          // U+00FC
      {"\xc3\xbcx", 2},         // only the first character counts
      {"\xe2\x82\xac", 3},      // U+20AC
      {"\xf0\x9f\x98\x80", 4},  // U+1F600
      {"\xf4\x8f\xbf\xbf", 4},  // U+10FFFF
      {"a", 0},                 // ASCII is not a multi-octet sequence
      {"", 0},
      {"\x80", 0},               // stray continuation octet
      {"\xc0\xaf", 0},           // overlong "/"
      {"\xc1\xbf", 0},           // overlong
      {"\xe0\x80\xaf", 0},       // overlong
      {"\xed\xa0\x80", 0},       // surrogate U+D800
      {"\xf4\x90\x80\x80", 0},   // above U+10FFFF
      {"\xf5\x80\x80\x80", 0},
      {"\xc3", 0},               // cut short
      {"\xe2\x82", 0},
      {"\xc3(", 0},              // continuation missing
  };
  for (const auto& c : cases) EXPECT_EQ(utf8_sequence_length(c.bytes), c.length) << escape_for_log(c.bytes);
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

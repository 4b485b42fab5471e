// core/strings.hpp: ASCII string helpers shared by every parser.
//
// All functions are locale-independent and treat bytes >= 0x80 as opaque.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mxsec {

constexpr char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
constexpr bool is_alpha(char c) { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'); }
constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }
constexpr bool is_alnum(char c) { return is_alpha(c) || is_digit(c); }
constexpr bool is_wsp(char c) { return c == ' ' || c == '\t'; }

// The value 0..15 of a hexadecimal digit (either case), or -1.
constexpr int hex_digit_value(char c) {
  if (is_digit(c)) return c - '0';
  c = ascii_lower(c);
  return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

enum class HexCase { lower, upper };

// The hexadecimal digit of `nibble` (0..15). This and the two functions below
// are the only hex encoder in mxsec: escapes, %-encoding, DNS presentation
// form, certificate digests and reverse names all use them.
constexpr char hex_digit(unsigned nibble, HexCase hex_case = HexCase::lower) {
  return (hex_case == HexCase::upper ? "0123456789ABCDEF" : "0123456789abcdef")[nibble & 15u];
}
// Appends the two hex digits of `byte` (high nibble first).
inline void append_hex(std::string& out, unsigned char byte, HexCase hex_case = HexCase::lower) {
  out += hex_digit(byte >> 4, hex_case);
  out += hex_digit(byte & 15u, hex_case);
}
// Hex of every byte of `bytes`, two digits per byte.
std::string to_hex(std::string_view bytes, HexCase hex_case = HexCase::lower);

std::string to_lower(std::string_view s);
bool iequals(std::string_view a, std::string_view b);
bool istarts_with(std::string_view s, std::string_view prefix);
bool iends_with(std::string_view s, std::string_view suffix);

// Strips SP, HTAB, CR and LF from both ends.
std::string_view trim(std::string_view s);

// Splits on a single character; empty fields are kept.
std::vector<std::string_view> split(std::string_view s, char sep);

// Parses a non-negative decimal integer with no sign and no spaces; fails on
// overflow of `max` (so attacker-supplied numbers cannot wrap).
std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max = UINT64_MAX);

// Makes untrusted text safe for a log line or an error message: control bytes
// and non-ASCII become \xNN, and the result is cut at `max_len` with "...".
std::string escape_for_log(std::string_view s, std::size_t max_len = 200);

// Overwrites the whole buffer of a string that held a secret (a password),
// in a way the compiler may not optimise away, and empties it.
void wipe_secret(std::string& s);
// A string holding a secret, wiped when it goes; not copyable, so the secret
// is not copied by accident. (Moves of short strings leave a copy behind:
// wipe the moved-from string too.)
struct SecretString {
  std::string text;
  SecretString() = default;
  SecretString(const SecretString&) = delete;
  SecretString& operator=(const SecretString&) = delete;
  ~SecretString() { wipe_secret(text); }
};

// Domain-name helpers (presentation form, ASCII). A trailing dot is removed.
std::string normalize_domain(std::string_view name);
// True if `name` equals `parent` or is a subdomain of it (case-insensitive).
bool is_subdomain_of(std::string_view name, std::string_view parent);
// Syntax check of a host name as used in SPF/DKIM/DMARC: labels 1..63 octets,
// total <= 253, LDH plus '_' (underscore appears in _dmarc, _domainkey).
bool is_valid_domain_name(std::string_view name);
// RFC 5321 §4.1.2 Domain (sub-domain = Let-dig [Ldh-str]): one or more labels
// of letters, digits and '-', each 1..63 octets and beginning and ending with
// a letter or digit. No trailing dot, no '_', no length limit on the whole
// name (callers apply theirs: 253 for DNS, 255 for an SMTP path).
bool is_ldh_domain(std::string_view name);

// RFC 3629 §4: the length (2, 3 or 4) of the well-formed UTF-8 sequence that
// starts `s`, or 0 if there is none there: an ASCII byte, a stray
// continuation byte, an overlong form, a surrogate, a code point above
// U+10FFFF, or a sequence cut short.
std::size_t utf8_sequence_length(std::string_view s);
// True if `s` is well-formed UTF-8 throughout (ASCII is).
bool is_utf8(std::string_view s);

}  // namespace mxsec

#include <string.h>  // explicit_bzero

#include <chrono>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "core/strings.hpp"

namespace mxsec {

const char* errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument: return "invalid-argument";
    case Errc::parse: return "parse";
    case Errc::limit: return "limit";
    case Errc::io: return "io";
    case Errc::dns: return "dns";
    case Errc::crypto: return "crypto";
    case Errc::not_found: return "not-found";
    case Errc::timeout: return "timeout";
    case Errc::cancelled: return "cancelled";
    case Errc::unsupported: return "unsupported";
    case Errc::internal: return "internal";
  }
  return "unknown";
}

std::int64_t SystemClock::now() const {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string to_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  return true;
}

bool istarts_with(std::string_view s, std::string_view prefix) {
  return s.size() >= prefix.size() && iequals(s.substr(0, prefix.size()), prefix);
}

bool iends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && iequals(s.substr(s.size() - suffix.size()), suffix);
}

std::string_view trim(std::string_view s) {
  auto ws = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  std::size_t start = 0;
  for (;;) {
    std::size_t pos = s.find(sep, start);
    if (pos == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, pos - start));
    start = pos + 1;
  }
}

std::optional<std::uint64_t> parse_uint(std::string_view s, std::uint64_t max) {
  if (s.empty()) return std::nullopt;
  std::uint64_t v = 0;
  for (char c : s) {
    if (!is_digit(c)) return std::nullopt;
    const auto d = static_cast<std::uint64_t>(c - '0');
    if (v > (max - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

std::string to_hex(std::string_view bytes, HexCase hex_case) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) append_hex(out, static_cast<unsigned char>(c), hex_case);
  return out;
}

std::string escape_for_log(std::string_view s, std::size_t max_len) {
  std::string out;
  out.reserve(std::min(s.size(), max_len) + 8);
  for (unsigned char c : s) {
    if (out.size() >= max_len) {
      out += "...";
      break;
    }
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out += static_cast<char>(c);
    } else {
      out += "\\x";
      append_hex(out, c);
    }
  }
  return out;
}

void wipe_secret(std::string& s) {
  // data() holds capacity() + 1 octets, inline (short string) buffer included.
  ::explicit_bzero(s.data(), s.capacity());
  s.clear();
}

std::string normalize_domain(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  return to_lower(name);
}

bool is_subdomain_of(std::string_view name, std::string_view parent) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (!parent.empty() && parent.back() == '.') parent.remove_suffix(1);
  if (parent.empty()) return true;
  if (name.size() == parent.size()) return iequals(name, parent);
  if (name.size() < parent.size() + 1) return false;
  return name[name.size() - parent.size() - 1] == '.' && iends_with(name, parent);
}

bool is_valid_domain_name(std::string_view name) {
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return false;
  for (std::string_view label : split(name, '.')) {
    if (label.empty() || label.size() > 63) return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-' && c != '_') return false;
  }
  return true;
}

bool is_ldh_domain(std::string_view name) {
  if (name.empty()) return false;
  for (std::string_view label : split(name, '.')) {
    if (label.empty() || label.size() > 63 || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

std::size_t utf8_sequence_length(std::string_view s) {
  if (s.empty()) return 0;
  const auto c = static_cast<unsigned char>(s[0]);
  std::size_t len = 0;
  unsigned char lo = 0x80, hi = 0xbf;  // bounds of the second octet (RFC 3629 §4 UTF8-3, UTF8-4)
  if (c >= 0xc2 && c <= 0xdf) len = 2;
  else if (c == 0xe0) { len = 3; lo = 0xa0; }
  else if (c >= 0xe1 && c <= 0xec) len = 3;
  else if (c == 0xed) { len = 3; hi = 0x9f; }
  else if (c >= 0xee && c <= 0xef) len = 3;
  else if (c == 0xf0) { len = 4; lo = 0x90; }
  else if (c >= 0xf1 && c <= 0xf3) len = 4;
  else if (c == 0xf4) { len = 4; hi = 0x8f; }
  else return 0;
  if (s.size() < len) return 0;
  const auto c1 = static_cast<unsigned char>(s[1]);
  if (c1 < lo || c1 > hi) return 0;
  for (std::size_t k = 2; k < len; ++k) {
    const auto ck = static_cast<unsigned char>(s[k]);
    if (ck < 0x80 || ck > 0xbf) return 0;
  }
  return len;
}

bool is_utf8(std::string_view s) {
  for (std::size_t i = 0; i < s.size();) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = utf8_sequence_length(s.substr(i));
    if (n == 0) return false;
    i += n;
  }
  return true;
}

}  // namespace mxsec

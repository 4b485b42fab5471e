#include "codec/base64.hpp"

#include <array>

namespace mxsec::codec {
namespace {
constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<signed char, 256> make_table() {
  std::array<signed char, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(kAlphabet[i])] = static_cast<signed char>(i);
  return t;
}
constexpr auto kTable = make_table();
}  // namespace

std::string encode_base64(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (rest == 2) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

Result<std::string> decode_base64(std::string_view text) {
  // Written in place into a buffer sized for the whole input, then trimmed.
  std::string out(text.size() / 4 * 3 + 3, '\0');
  char* const o = out.data();
  std::size_t w = 0;
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const std::size_t n = text.size();
  std::size_t i = 0;
  unsigned acc = 0;
  int bits = 0;
  int pad = 0;
  std::size_t sextets = 0;
  while (i < n) {
    // Fast path: four alphabet characters at a group boundary (no folding
    // whitespace or padding inside), decoded at once.
    if (bits == 0 && pad == 0 && n - i >= 4) {
      const int a = kTable[p[i]], b = kTable[p[i + 1]], c = kTable[p[i + 2]], d = kTable[p[i + 3]];
      if ((a | b | c | d) >= 0) {
        const unsigned v = (static_cast<unsigned>(a) << 18) | (static_cast<unsigned>(b) << 12) |
                           (static_cast<unsigned>(c) << 6) | static_cast<unsigned>(d);
        o[w] = static_cast<char>((v >> 16) & 0xff);
        o[w + 1] = static_cast<char>((v >> 8) & 0xff);
        o[w + 2] = static_cast<char>(v & 0xff);
        w += 3;
        i += 4;
        sextets += 4;
        continue;
      }
    }
    const char ch = static_cast<char>(p[i++]);
    if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') continue;
    if (ch == '=') {
      ++pad;
      if (pad > 2) return make_error(Errc::parse, "base64: too much padding");
      continue;
    }
    if (pad > 0) return make_error(Errc::parse, "base64: data after padding");
    const int v = kTable[static_cast<unsigned char>(ch)];
    if (v < 0) return make_error(Errc::parse, "base64: invalid character");
    acc = (acc << 6) | static_cast<unsigned>(v);
    bits += 6;
    ++sextets;
    if (bits >= 8) {
      bits -= 8;
      o[w++] = static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((sextets + static_cast<std::size_t>(pad)) % 4 != 0) return make_error(Errc::parse, "base64: truncated input");
  if (sextets % 4 == 1) return make_error(Errc::parse, "base64: truncated input");
  out.resize(w);
  return out;
}

}  // namespace mxsec::codec

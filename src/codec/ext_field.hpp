// codec/ext_field.hpp: the extension fields that the MTA-STS TXT record
// (RFC 8461 §3.1) and the TLS-RPT TXT record (RFC 8460 §3) share, with the
// same ABNF in both:
//
//   ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//   ext-value = 1*(%x21-3A / %x3C / %x3E-7E)   ; VCHAR except ";" and "="
#pragma once

#include <string_view>

#include "core/strings.hpp"

namespace mxsec::codec {

inline bool is_ext_name(std::string_view n) {
  if (n.empty() || n.size() > 32 || !is_alnum(n.front())) return false;
  for (char c : n)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

inline bool is_ext_value(std::string_view v) {
  if (v.empty()) return false;
  for (char ch : v) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x21 || c > 0x7e || c == ';' || c == '=') return false;
  }
  return true;
}

}  // namespace mxsec::codec

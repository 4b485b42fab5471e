// smtp/proto/grammar.hpp: lexical rules of RFC 5321 that more than one parser
// of this module uses (EHLO replies, MAIL/RCPT parameters). Internal to
// smtp/proto; pure functions.
#pragma once

#include <string>
#include <string_view>

#include "core/strings.hpp"

namespace mxsec::smtp {

// esmtp-keyword (§4.1.2) and ehlo-keyword (§4.1.1.1), the same rule:
// (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
inline bool is_esmtp_keyword(std::string_view k) {
  if (k.empty() || !is_alnum(k.front())) return false;
  for (char c : k)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

// Keywords are matched case-insensitively and stored and shown upper case.
inline std::string ascii_upper(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  return out;
}

}  // namespace mxsec::smtp

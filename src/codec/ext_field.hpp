// codec/ext_field.hpp: what the MTA-STS TXT record (RFC 8461 §3.1) and the
// TLS-RPT TXT record (RFC 8460 §3) share: the choice of the one record in a
// TXT RRset, and the extension fields, with the same ABNF in both:
//
//   ext-name  = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
//   ext-value = 1*(%x21-3A / %x3C / %x3E-7E)   ; VCHAR except ";" and "="
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
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

// Both RFCs: TXT records that do not begin with the version tag are
// discarded; if the number of those left is not one, the domain has no
// usable record. Returns nullopt when none begins with it, an Errc::parse
// error when several do, and otherwise what `parse` makes of the one.
// `is_record` tells whether a TXT string begins with the version tag;
// `version` names it in the error.
template <class T, class IsRecord, class Parse>
Result<std::optional<T>> select_one_record(const std::vector<std::string>& txts, IsRecord is_record, Parse parse,
                                           std::string_view version) {
  const std::string* found = nullptr;
  std::size_t count = 0;
  for (const auto& t : txts) {
    if (!is_record(t)) continue;
    ++count;
    found = &t;
  }
  if (count == 0) return std::optional<T>{};
  if (count > 1)
    return make_error(Errc::parse, std::to_string(count) + " TXT records begin with " + std::string(version) +
                                       "; exactly one is allowed");
  auto rec = parse(*found);
  if (!rec) return rec.error();
  return std::optional<T>(std::move(rec).value());
}

}  // namespace mxsec::codec

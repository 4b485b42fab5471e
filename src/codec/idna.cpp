#include "codec/idna.hpp"

#include <idn2.h>

#include <cstdlib>
#include <memory>

#include "core/strings.hpp"

namespace mxsec::codec {
namespace {

constexpr std::size_t kMaxLabel = 63;
constexpr std::size_t kMaxName = 253;

struct Idn2Free {
  void operator()(char* p) const { idn2_free(p); }
};

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

Error bad_name(std::string_view name, const std::string& why) {
  return Error{Errc::parse, "invalid domain name " + escape_for_log(name, 80) + ": " + why};
}

}  // namespace

Result<std::string> to_a_label_domain(std::string_view name) {
  const std::string_view original = name;
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.empty()) return bad_name(original, "empty");
  std::string out;
  out.reserve(name.size() + 8);
  for (std::string_view label : split(name, '.')) {
    if (label.empty()) return bad_name(original, "empty label");
    if (!out.empty()) out += '.';
    if (is_ascii(label)) {
      out += to_lower(label);
      continue;
    }
    // One U-label at a time, so the ASCII labels around it keep their own
    // rules (libidn2 would reject "_dmarc"). The label is NUL-terminated for
    // libidn2; an embedded NUL is not valid UTF-8 for a host name anyway.
    if (label.find('\0') != std::string_view::npos) return bad_name(original, "NUL byte in a label");
    const std::string input(label);
    char* raw = nullptr;
    const int rc = idn2_lookup_u8(reinterpret_cast<const uint8_t*>(input.c_str()), reinterpret_cast<uint8_t**>(&raw),
                                  IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
    const std::unique_ptr<char, Idn2Free> a_label(raw);
    if (rc != IDN2_OK || !a_label) return bad_name(original, std::string("label is not IDNA 2008: ") + idn2_strerror(rc));
    // UTS #46 maps the ideographic full stops to '.', so one label of the
    // input may become several; each must fit.
    const std::string_view converted(a_label.get());
    for (std::string_view part : split(converted, '.'))
      if (part.empty() || part.size() > kMaxLabel) return bad_name(original, "label empty or longer than 63 octets");
    out += to_lower(converted);
  }
  if (out.size() > kMaxName) return bad_name(original, "longer than 253 octets");
  return out;
}

}  // namespace mxsec::codec

// Fuzz target: SPF macro-string parsing and expansion (RFC 7208 §7). The
// first byte picks the macro kind and feeds the variable values, so sender,
// local part and domain are attacker-shaped too.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "auth/spf/macro.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace mxsec::auth::spf;
  if (size == 0) return 0;
  const auto kind = static_cast<MacroKind>(data[0] % 3);
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  // Text after a NUL byte becomes the local part, so delimiters and
  // escapes in values get exercised.
  std::string_view local = "strong-bad";
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    local = text.substr(nul + 1);
    text = text.substr(0, nul);
  }
  auto ms = parse_macro_string(text, kind);
  if (!ms) {
    if (ms.error().message.empty()) std::abort();
    return 0;
  }
  MacroVars v;
  std::string sender = std::string(local) + "@email.example.com";
  v.sender = sender;
  v.local_part = local;
  v.sender_domain = "email.example.com";
  v.domain = "email.example.com";
  v.ip = (data[0] & 4) ? *mxsec::IpAddress::parse("192.0.2.3") : *mxsec::IpAddress::parse("2001:db8::cb01");
  v.helo = local;
  v.receiver = "mx.example.net";
  v.validated_domain = (data[0] & 8) ? std::string_view("mail.example.com") : std::string_view();
  v.timestamp = 1700000000;
  std::string out;
  const bool ok = static_cast<bool>(expand(*ms, v, out, 1024));
  if (ok && out.size() > 1024) std::abort();
  if (ok && kind == MacroKind::domain_spec && to_target_name(out) && (out.empty() || out.size() > 253)) std::abort();
  return 0;
}

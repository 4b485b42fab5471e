// Fuzz target: Authentication-Results parser and generator (auth/ar).
// Invariants: parsing is bounded; whatever parses and can be generated again
// parses back to the same methods, results, reasons and properties (comments
// are free text and may be normalised), and a generated header never
// contains a bare line break.
#include <cstdint>
#include <string_view>

#include "auth/ar/auth_results.hpp"

using namespace mxsec::auth::ar;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto ar = parse_value(in);
  if (!ar) return 0;
  if (static_cast<int>(ar->results.size()) > mxsec::limits::kAuthResultsResinfo) __builtin_trap();
  auto header = generate_header(*ar);
  if (!header) return 0;  // e.g. a TAB inside a quoted-string: refused, never emitted
  for (std::size_t i = 0; i < header->size(); ++i) {
    const char c = (*header)[i];
    if (c == '\n' && (i == 0 || (*header)[i - 1] != '\r')) __builtin_trap();
    if (c == '\r' && (i + 1 >= header->size() || (*header)[i + 1] != '\n')) __builtin_trap();
    if (c == '\n' && i + 1 < header->size() && (*header)[i + 1] != ' ') __builtin_trap();
  }
  ParseLimits roomy;
  roomy.max_bytes = 8 * header->size() + 64;
  auto back = parse_field(*header, roomy);
  if (!back) __builtin_trap();
  if (back->authserv_id != ar->authserv_id || back->version != ar->version) __builtin_trap();
  if (back->results.size() != ar->results.size()) __builtin_trap();
  for (std::size_t i = 0; i < ar->results.size(); ++i) {
    const auto& a = ar->results[i];
    const auto& b = back->results[i];
    if (a.method != b.method || a.version != b.version || a.result != b.result || a.reason != b.reason ||
        a.props != b.props)
      __builtin_trap();
  }
  return 0;
}

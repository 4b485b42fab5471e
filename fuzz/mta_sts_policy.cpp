// Fuzz target: MTA-STS policy parser and MX pattern matching
// (policy/mtasts/policy.hpp).
// Invariants checked: a parsed policy is within the limits and complete
// (mx present unless mode none); its canonical text re-parses to an equal
// policy; every stored pattern is lower case without a trailing dot and
// matches a host built from it; matching arbitrary bytes never crashes.
#include <cstdint>
#include <string>
#include <string_view>

#include "core/limits.hpp"
#include "policy/mtasts/policy.hpp"

using namespace mxsec::policy::mtasts;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  auto p = parse_policy(in);
  if (p) {
    if (in.size() > mxsec::limits::kStsPolicyBytes) __builtin_trap();
    if (p->max_age > mxsec::limits::kStsMaxAgeSeconds) __builtin_trap();
    if (p->mx.size() > static_cast<std::size_t>(mxsec::limits::kStsMaxMxPatterns)) __builtin_trap();
    if (p->mode != Mode::none && p->mx.empty()) __builtin_trap();
    auto again = parse_policy(to_text(*p));
    // The canonical text carries the clamped max_age, so it re-parses
    // without the clamp flag and otherwise equal.
    Policy canonical = *p;
    canonical.max_age_clamped = false;
    if (!again || !(*again == canonical) || again->max_age_clamped) __builtin_trap();
    if (policy_strings(*p).size() != p->mx.size() + 3) __builtin_trap();
    for (const auto& mx : p->mx) {
      if (mx.empty() || mx.back() == '.') __builtin_trap();
      for (char c : mx)
        if (c >= 'A' && c <= 'Z') __builtin_trap();
      const std::string host = mx.rfind("*.", 0) == 0 ? "x" + mx.substr(1) : mx;
      if (!mx_pattern_matches(mx, host) || !policy_matches_mx(*p, host)) __builtin_trap();
      if (mx_pattern_matches(mx, "a.b." + host) && mx.rfind("*.", 0) != 0) __builtin_trap();
    }
  }
  // The same bytes as "pattern\nhost" for the matcher.
  const auto nl = in.find('\n');
  const std::string_view pattern = in.substr(0, nl);
  const std::string_view host = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  const bool m = mx_pattern_matches(pattern, host);
  if (m && (pattern.empty() || host.empty())) __builtin_trap();
  Policy one;
  one.mx.emplace_back(pattern);
  if (policy_matches_mx(one, host) != m) __builtin_trap();
  return 0;
}

// policy/mtasts/policy.hpp: the MTA-STS policy file (RFC 8461 §3.2) and MX
// host matching (§4.1).
//
// Contract
// - parse_policy() reads the body fetched from
//   https://mta-sts.<domain>/.well-known/mta-sts.txt. It is strict where the
//   RFC is (version STSv1, a known mode, max_age a number no larger than
//   of at most 10 digits, at least one mx for enforce/testing) and tolerant where the RFC
//   says so (CRLF or LF line ends, unknown keys ignored, whitespace around
//   values). Any violation or a body over limits::kStsPolicyBytes or with
//   more than limits::kStsMaxMxPatterns mx lines is Errc::parse / Errc::limit:
//   the caller treats the policy as invalid (TLS-RPT sts-policy-invalid).
// - A max_age above 31557600 is clamped to it (max_age_clamped): refusing
//   the policy would fail open.
// - mx patterns are stored lower case without a trailing dot.
// - mx_pattern_matches() implements §4.1: a pattern "*.example.com" matches
//   exactly one extra left-most label; otherwise names compare equal, case
//   insensitively, ignoring a trailing dot.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mxsec::policy::mtasts {

enum class Mode { enforce, testing, none };
const char* to_string(Mode m);

struct Policy {
  Mode mode = Mode::none;
  std::vector<std::string> mx;  // patterns, lower case, no trailing dot
  std::uint32_t max_age = 0;    // seconds, at most limits::kStsMaxAgeSeconds
  // The published max_age was above limits::kStsMaxAgeSeconds (RFC 8461
  // §3.2's maximum) and was clamped to it rather than refused.
  bool max_age_clamped = false;
  friend bool operator==(const Policy&, const Policy&) = default;
};

Result<Policy> parse_policy(std::string_view body);

bool mx_pattern_matches(std::string_view pattern, std::string_view host);
// True if any of the policy's mx patterns matches `host`.
bool policy_matches_mx(const Policy& policy, std::string_view host);

// The policy in canonical text ("version: STSv1\nmode: ...\nmx: ...\nmax_age: ...\n"),
// as stored in the cache, and as the lines of a TLS-RPT "policy-string".
std::string to_text(const Policy& policy);
std::vector<std::string> policy_strings(const Policy& policy);

}  // namespace mxsec::policy::mtasts

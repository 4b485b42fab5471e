#include "policy/mtasts/policy.hpp"

#include <algorithm>
#include <optional>

#include "core/limits.hpp"
#include "core/strings.hpp"

namespace mxsec::policy::mtasts {
namespace {

std::string quote(std::string_view v) { return "\"" + escape_for_log(v, 60) + "\""; }

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

// sts-policy-ext-name = (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".")
bool is_field_name(std::string_view n) {
  if (n.empty() || n.size() > 32 || !is_alnum(n.front())) return false;
  for (char c : n)
    if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
  return true;
}

// sts-policy-ext-value: printable ASCII, SP and well-formed UTF-8 (RFC 3629
// UTF8-2/3/4: no overlongs, no surrogates, nothing above U+10FFFF); no CTLs.
// The caller has removed surrounding white space.
bool is_field_value(std::string_view v) {
  if (v.empty() || !is_utf8(v)) return false;
  for (char c : v)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return false;
  return true;
}

// sts-policy-mx-value = ["*."] Domain, Domain as in RFC 5321 §4.1.2: LDH
// labels that begin and end with a letter or digit. One trailing dot (an
// absolute name) is accepted and removed. Returns the pattern in lower case.
std::optional<std::string> parse_mx_pattern(std::string_view v) {
  std::string_view name = v;
  if (name.size() >= 2 && name.substr(0, 2) == "*.") name.remove_prefix(2);
  if (!name.empty() && name.back() == '.') name.remove_suffix(1);
  if (name.size() > 253 || !is_ldh_domain(name)) return std::nullopt;
  std::string out = v.substr(0, 2) == "*." ? "*." : "";
  out += to_lower(name);
  return out;
}

std::string_view strip_dot(std::string_view s) {
  if (!s.empty() && s.back() == '.') s.remove_suffix(1);
  return s;
}

}  // namespace

const char* to_string(Mode m) {
  switch (m) {
    case Mode::enforce: return "enforce";
    case Mode::testing: return "testing";
    case Mode::none: return "none";
  }
  return "?";
}

Result<Policy> parse_policy(std::string_view body) {
  if (body.size() > limits::kStsPolicyBytes)
    return make_error(Errc::limit, "MTA-STS policy of " + std::to_string(body.size()) +
                                       " octets exceeds the limit of " + std::to_string(limits::kStsPolicyBytes));
  Policy policy;
  bool have_version = false, have_mode = false, have_max_age = false;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < body.size()) {
    // sts-policy-term = LF / CRLF
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    const std::string where = "MTA-STS policy line " + std::to_string(line_no) + ": ";
    // Blank lines are outside the ABNF but carry no meaning; see
    // docs/mta-sts.md (deviations).
    if (trim_wsp(line).empty()) continue;
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return make_error(Errc::parse, where + "no \":\" in " + quote(line));
    const std::string_view name = line.substr(0, colon);
    // sts-policy-field-delim = ":" *WSP, and *WSP after each field.
    const std::string_view value = trim_wsp(line.substr(colon + 1));
    if (!is_field_name(name)) return make_error(Errc::parse, where + "invalid field name " + quote(name));
    if (!is_field_value(value))
      return make_error(Errc::parse, where + "empty value or a control or invalid UTF-8 octet in " + quote(line));

    // §3.2: "If any non-repeated field--i.e., all fields excluding "mx"--is
    // duplicated, all entries except for the first SHOULD be ignored."
    if (name == "version") {
      if (have_version) continue;
      // "Currently, only "STSv1" is supported." (%s: case-sensitive)
      if (value != "STSv1") return make_error(Errc::parse, where + "unsupported version " + quote(value));
      have_version = true;
    } else if (name == "mode") {
      if (have_mode) continue;
      if (value == "enforce") policy.mode = Mode::enforce;
      else if (value == "testing") policy.mode = Mode::testing;
      else if (value == "none") policy.mode = Mode::none;
      else return make_error(Errc::parse, where + "unknown mode " + quote(value));
      have_mode = true;
    } else if (name == "max_age") {
      if (have_max_age) continue;
      // sts-policy-max-age-value = 1*10DIGIT; "maximum value of 31557600".
      if (value.size() > 10 || !std::all_of(value.begin(), value.end(), is_digit))
        return make_error(Errc::parse, where + "max_age must be 1 to 10 digits: " + quote(value));
      const auto age = parse_uint(value, 9999999999ULL);
      if (!age) return make_error(Errc::parse, where + "max_age is not a number: " + quote(value));
      // A larger value is clamped, not refused: dropping the whole policy
      // would make the sender proceed as though the domain had none, which
      // fails open. `check` reports the clamp.
      policy.max_age_clamped = *age > limits::kStsMaxAgeSeconds;
      policy.max_age = static_cast<std::uint32_t>(std::min<std::uint64_t>(*age, limits::kStsMaxAgeSeconds));
      have_max_age = true;
    } else if (name == "mx") {
      if (policy.mx.size() >= static_cast<std::size_t>(limits::kStsMaxMxPatterns))
        return make_error(Errc::limit, where + "more than " + std::to_string(limits::kStsMaxMxPatterns) +
                                           " mx patterns");
      auto pattern = parse_mx_pattern(value);
      if (!pattern) return make_error(Errc::parse, where + "invalid mx pattern " + quote(value));
      policy.mx.push_back(std::move(*pattern));
    }
    // Any other field is an sts-policy-extension: syntax-checked above, then
    // ignored ("unknown fields SHOULD be ignored", §3.2).
  }
  // §3.2: "If any field is not specified, the policy SHALL be treated as
  // invalid" -- mx excepted for mode none (ABNF: "required at least once,
  // except when mode is "none"").
  if (!have_version) return make_error(Errc::parse, "MTA-STS policy without version");
  if (!have_mode) return make_error(Errc::parse, "MTA-STS policy without mode");
  if (!have_max_age) return make_error(Errc::parse, "MTA-STS policy without max_age");
  if (policy.mx.empty() && policy.mode != Mode::none)
    return make_error(Errc::parse, std::string("MTA-STS policy with mode ") + to_string(policy.mode) + " but no mx");
  return policy;
}

bool mx_pattern_matches(std::string_view pattern, std::string_view host) {
  pattern = strip_dot(pattern);
  host = strip_dot(host);
  if (pattern.empty() || host.empty()) return false;
  // §4.1: "the wildcard character "*" may only be used to match the entire
  // left-most label in the presented identifier".
  if (pattern.substr(0, 2) == "*.") {
    const std::string_view suffix = pattern.substr(2);
    const auto dot = host.find('.');
    if (suffix.empty() || dot == std::string_view::npos || dot == 0) return false;
    return iequals(host.substr(dot + 1), suffix);
  }
  return iequals(pattern, host);
}

bool policy_matches_mx(const Policy& policy, std::string_view host) {
  return std::any_of(policy.mx.begin(), policy.mx.end(),
                     [&](const std::string& p) { return mx_pattern_matches(p, host); });
}

std::vector<std::string> policy_strings(const Policy& policy) {
  std::vector<std::string> out;
  out.reserve(policy.mx.size() + 3);
  out.emplace_back("version: STSv1");
  out.push_back(std::string("mode: ") + to_string(policy.mode));
  for (const auto& mx : policy.mx) out.push_back("mx: " + mx);
  out.push_back("max_age: " + std::to_string(policy.max_age));
  return out;
}

std::string to_text(const Policy& policy) {
  std::string out;
  for (const auto& line : policy_strings(policy)) {
    out += line;
    out += '\n';
  }
  return out;
}

}  // namespace mxsec::policy::mtasts

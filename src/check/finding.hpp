// check/finding.hpp: what `mxsec check` tells a domain owner, one finding at
// a time.
//
// Contract
// - A Finding has a stable `code` (lower-case words joined by '-', e.g.
//   "spf-plus-all"; scripts and dashboards key on it, so codes are never
//   renamed), a severity, a one-line message that names the record or host
//   concerned, and a one-line `fix` telling the owner what to publish or
//   change. Attacker- or owner-controlled text in messages is escaped.
// - Severities:
//     error   - something is broken or unsafe: mail may be lost, forged or
//               readable by an attacker (exit code 1 of `mxsec check`).
//     warning - works today but weak, deprecated or fragile.
//     info    - worth knowing; no action needed.
#pragma once

#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

namespace mxsec::check {

enum class Severity { info, warning, error };
const char* to_string(Severity s);

struct Finding {
  Severity severity = Severity::info;
  std::string code;
  std::string message;
  std::string fix;
};

using Findings = std::vector<Finding>;

inline void add_finding(Findings& out, Severity s, std::string code, std::string message, std::string fix = {}) {
  out.push_back(Finding{s, std::move(code), std::move(message), std::move(fix)});
}

nlohmann::json to_json(const Finding& f);

}  // namespace mxsec::check

// check/record_util.hpp: helpers shared by the mail-record sections of
// `mxsec check` (spf_section.cpp, dmarc_section.cpp, dkim_section.cpp,
// tlsrpt_section.cpp). Internal to the check module.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "check/finding.hpp"
#include "core/strings.hpp"
#include "dns/types.hpp"

namespace mxsec::check::detail {

using nlohmann::json;

inline json opt_json(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

// Adds the dns-failure finding for a failed question and returns the problem
// text (dns::describe_failure, already escaped) for the section's `dns_error`.
template <class T>
std::string report_dns_failure(Findings& findings, const std::string& qname, const char* type, const dns::Answer<T>& a,
                               const std::string& what) {
  std::string problem = dns::describe_failure(std::string(type) + " " + qname, a);
  add_finding(findings, Severity::error, "dns-failure", problem + "; " + what + " cannot be checked",
              "fix the authoritative DNS servers (or DNSSEC signatures) for " + escape_for_log(qname));
  return problem;
}

inline std::vector<std::string> joined_txts(const dns::TxtAnswer& a) {
  std::vector<std::string> out;
  for (const dns::TxtRecord& r : a.records) out.push_back(r.joined());
  return out;
}

}  // namespace mxsec::check::detail

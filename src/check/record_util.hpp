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

// "SERVFAIL", "timeout", "DNSSEC validation failed (reason)", ...
template <class T>
std::string dns_problem(const dns::Answer<T>& a) {
  if (a.bogus()) return "DNSSEC validation failed" + (a.why_bogus.empty() ? "" : " (" + escape_for_log(a.why_bogus) + ")");
  switch (a.status) {
    case dns::Status::servfail: return "SERVFAIL";
    case dns::Status::timeout: return "timeout";
    case dns::Status::error: return "resolver error" + (a.error.empty() ? "" : ": " + escape_for_log(a.error));
    default: return dns::to_string(a.status);
  }
}

// Adds the dns-failure finding for a failed question and returns the problem
// text for the section's `dns_error`.
template <class T>
std::string report_dns_failure(Findings& findings, const std::string& qname, const char* type, const dns::Answer<T>& a,
                               const std::string& what) {
  std::string problem = dns_problem(a);
  add_finding(findings, Severity::error, "dns-failure",
              std::string(type) + " query for " + escape_for_log(qname) + " failed: " + problem + "; " + what +
                  " cannot be checked",
              "fix the authoritative DNS servers (or DNSSEC signatures) for " + escape_for_log(qname));
  return problem;
}

inline std::vector<std::string> joined_txts(const dns::TxtAnswer& a) {
  std::vector<std::string> out;
  for (const dns::TxtRecord& r : a.records) out.push_back(r.joined());
  return out;
}

}  // namespace mxsec::check::detail

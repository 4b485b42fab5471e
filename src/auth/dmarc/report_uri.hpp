// auth/dmarc/report_uri.hpp: DMARC reporting URIs (rua=, ruf=) and the
// external-destination check.
//
// Contract
// - parse_uri_list() splits a rua/ruf value (RFC 9989 §4.8 "dmarc-urilist":
//   URIs separated by "," with optional WSP) and classifies each URI. It never
//   fails as a whole: RFC 9989 §4.7 "Syntax errors in the remainder of the
//   record MUST be discarded in favor of default values (if any) or ignored
//   outright", so a bad URI is kept with `valid == false` and a `note`.
//   Only "mailto:" is actionable (RFC 9989 §4.7: "A Mail Receiver MUST
//   implement support for a "mailto:" URI"; "URIs involving schemes not
//   supported by Mail Receivers MUST be ignored").
// - The RFC 7489 size suffix ("!10m") is parsed into max_report_bytes and
//   otherwise ignored: RFC 9989 dropped it (its ABNF says "!" MUST be
//   encoded), RFC 7489 §6.4 defined it.
// - At most `max_uris` URIs are kept (limits::kDmarcReportUris); the rest are
//   dropped with a note. Dropping a destination can only mean fewer reports.
// - verify_report_destinations() implements the external-destination check
//   (RFC 9990 §3, RFC 7489 §7.1): when the Organizational Domain of the
//   report host differs from that of the policy domain, the TXT record
//   "<policy-domain>._report._dmarc.<report-host>" must start with v=DMARC1.
//   That record may override rua/ruf with URIs on the same host. The parser
//   lives in report_uri.cpp (sans-I/O); the DNS check in report_auth.cpp.
//   The caller owns everything returned; nothing points into the input.
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "dns/types.hpp"

namespace mxsec::dns {
class Resolver;
}

namespace mxsec::auth::dmarc {

class OrgDomainFinder;

struct ReportUri {
  std::string uri;                 // as published, surrounding WSP removed, size suffix removed
  std::string scheme;              // lower case; "" if the URI has none
  std::string address;             // mailto: the percent-decoded addr-spec
  std::string host;                // destination host: mailto domain, lower case
  std::optional<std::uint64_t> max_report_bytes;  // RFC 7489 "!size"; parsed, ignored
  bool valid = false;              // syntactically a URI (RFC 3986 scheme ":" ...)
  bool actionable = false;         // valid mailto: with a usable address
  std::string note;                // why not actionable, or what was ignored
};

std::vector<ReportUri> parse_uri_list(std::string_view value, int max_uris = limits::kDmarcReportUris);

// Parses one URI (no list separators). Exposed for tests and fuzzing.
ReportUri parse_report_uri(std::string_view text);

enum class ReportAuthorization {
  internal,        // same Organizational Domain: no check needed
  authorized,      // external, and the _report._dmarc record says yes
  not_authorized,  // external, and no v=DMARC1 record was found (or the name is too long)
  temperror,       // external, and the lookup failed (or was bogus): try later
  not_applicable,  // not an actionable URI (unsupported scheme, invalid)
};
const char* to_string(ReportAuthorization a);

struct ReportDestination {
  ReportUri uri;
  ReportAuthorization authorization = ReportAuthorization::not_applicable;
  std::string query_name;               // the _report._dmarc name asked, if any
  dns::Security security = dns::Security::indeterminate;  // of that answer
  std::vector<ReportUri> overrides;     // same-host URIs from the report host's record
  std::string note;
};

// `policy_domain` is the domain whose _dmarc record carried the URIs;
// `policy_org_domain` its Organizational Domain; `tag` is "rua" or "ruf"
// (selects which override tag is read). The finder supplies Organizational
// Domains of report hosts in the configured mode and counts DNS work.
asio::awaitable<std::vector<ReportDestination>> verify_report_destinations(
    dns::Resolver& resolver, OrgDomainFinder& finder, std::string policy_domain, std::string policy_org_domain,
    std::vector<ReportUri> uris, std::string tag);

}  // namespace mxsec::auth::dmarc

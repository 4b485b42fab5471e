// External-destination authorization for rua/ruf (RFC 9990 §3, RFC 7489
// §7.1). Kept apart from the URI parser (report_uri.cpp) so that the parser
// stays sans-I/O and coroutine-free: fuzz builds instrument it with
// SanitizerCoverage, which clang 14 cannot apply to coroutines.
#include <map>

#include "auth/dmarc/org_domain.hpp"
#include "auth/dmarc/record.hpp"
#include "auth/dmarc/report_uri.hpp"
#include "core/strings.hpp"
#include "dns/resolver.hpp"

namespace mxsec::auth::dmarc {

namespace {

// The answer at <policy domain>._report._dmarc.<host> (RFC 9990 §3) as the
// destination's authorization.
void judge_authorization(const dns::TxtAnswer& ans, const std::string& host, std::string_view tag,
                         ReportDestination& dest) {
  dest.security = ans.security;
  if (ans.failed()) {
    dest.authorization = ReportAuthorization::temperror;
    dest.note = dns::describe_failure("TXT " + dest.query_name, ans);
    return;
  }
  dest.authorization = ReportAuthorization::not_authorized;
  dest.note = "no v=DMARC1 record at " + dest.query_name;
  for (const dns::TxtRecord& txt : ans.records) {
    const std::string joined = txt.joined();
    if (!is_dmarc_record(joined)) continue;
    dest.authorization = ReportAuthorization::authorized;
    dest.note.clear();
    // "to prevent loops or indirect abuse, the overriding URI MUST use
    // the same destination host from the first step."
    if (auto rec = parse_record(joined)) {
      const std::vector<ReportUri>& over = tag == "ruf" ? rec->ruf : rec->rua;
      for (const ReportUri& o : over)
        if (o.actionable && o.host == host) dest.overrides.push_back(o);
    }
    return;
  }
}

}  // namespace

asio::awaitable<std::vector<ReportDestination>> verify_report_destinations(
    dns::Resolver& resolver, OrgDomainFinder& finder, std::string policy_domain, std::string policy_org_domain,
    std::vector<ReportUri> uris, std::string tag) {
  (void)resolver;  // all questions go through finder.lookup(), which counts them
  policy_domain = normalize_domain(policy_domain);
  policy_org_domain = normalize_domain(policy_org_domain);
  std::vector<ReportDestination> out;
  std::map<std::string, ReportDestination> by_host;  // one question per report host
  for (ReportUri& uri : uris) {
    ReportDestination dest;
    dest.uri = std::move(uri);
    if (!dest.uri.actionable) {
      dest.authorization = ReportAuthorization::not_applicable;
      dest.note = dest.uri.note;
      out.push_back(std::move(dest));
      continue;
    }
    const std::string host = dest.uri.host;
    // RFC 9990 §3: the check applies when "the Organizational Domain at which
    // that record was discovered is not identical to the Organizational
    // Domain of the host part of the authority component". A host outside
    // the policy's Organizational Domain cannot share it, so no DNS is needed
    // to call it external; a host inside may still be its own organization.
    bool external = !is_subdomain_of(host, policy_org_domain);
    if (!external && host != policy_org_domain) {
      auto org = co_await finder.org_domain(host);
      if (!org) {
        dest.authorization = ReportAuthorization::temperror;
        dest.note = "cannot determine the Organizational Domain of " + host + ": " + org.error().message;
        out.push_back(std::move(dest));
        continue;
      }
      external = *org != policy_org_domain;
    }
    if (!external) {
      dest.authorization = ReportAuthorization::internal;
      out.push_back(std::move(dest));
      continue;
    }
    if (auto it = by_host.find(host); it != by_host.end()) {
      ReportUri keep = std::move(dest.uri);
      dest = it->second;
      dest.uri = std::move(keep);
      out.push_back(std::move(dest));
      continue;
    }
    // "Prepend the string "_report._dmarc". Prepend the domain name from
    // which the policy was retrieved" ... "If the length of the constructed
    // name exceed DNS limits, a positive determination of the external
    // reporting relationship cannot be made; stop."
    dest.query_name = policy_domain + "._report._dmarc." + host;
    if (!is_valid_domain_name(dest.query_name)) {
      dest.authorization = ReportAuthorization::not_authorized;
      dest.note = "authorization name exceeds DNS limits";
    } else {
      judge_authorization(co_await finder.lookup().txt(dest.query_name), host, tag, dest);
    }
    by_host.emplace(host, dest);
    out.push_back(std::move(dest));
  }
  co_return out;
}

}  // namespace mxsec::auth::dmarc

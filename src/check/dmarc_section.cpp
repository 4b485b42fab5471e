// check/dmarc_section.cpp: the DMARC section (see mail_records.hpp).
#include "check/mail_records.hpp"

#include <algorithm>
#include <set>

#include "auth/dmarc/evaluate.hpp"
#include "auth/dmarc/org_domain.hpp"
#include "auth/dmarc/record.hpp"
#include "auth/dmarc/report_uri.hpp"
#include "core/strings.hpp"
#include "dns/resolver.hpp"

#include "check/record_util.hpp"

namespace mxsec::check {

using nlohmann::json;
using namespace detail;

namespace {

// --------------------------------------------------------------- DMARC --

bool is_uri_warning(const std::string& w) { return w.rfind("rua ", 0) == 0 || w.rfind("ruf ", 0) == 0; }

}  // namespace

json DmarcSection::to_json() const {
  json dests = json::array();
  for (const DmarcDestination& d : external_destinations) {
    json j{{"tag", d.tag},
           {"uri", d.uri},
           {"authorized", d.authorized},
           {"authorization", d.authorization}};
    if (!d.note.empty()) j["note"] = d.note;
    dests.push_back(std::move(j));
  }
  return json{{"domain", domain},
              {"record", opt_json(record)},
              {"record_domain", record_domain.empty() ? json(nullptr) : json(record_domain)},
              {"found_at", found_at.empty() ? json(nullptr) : json(found_at)},
              {"dns_error", dns_error.empty() ? json(nullptr) : json(dns_error)},
              {"multiple", multiple},
              {"policy", opt_json(policy)},
              {"p", opt_json(p)},
              {"sp", opt_json(sp)},
              {"np", opt_json(np)},
              {"testing", testing},
              {"rua", rua},
              {"ruf", ruf},
              {"external_destinations", dests},
              {"deprecated_tags", deprecated_tags},
              {"syntax_warnings", syntax_warnings}};
}


// --------------------------------------------------------------- DMARC --

namespace {

using namespace auth::dmarc;

// Step 1: the record at the domain itself, then RFC 9989 discovery. Adds the
// findings of a discovery that ends the section and returns nullopt then.
asio::awaitable<std::optional<PolicyDiscovery>> discover(DmarcLookup& lookup, OrgDomainFinder& finder,
                                                         const Config& config, DmarcSection& s, Findings& findings) {
  using Kind = DmarcLookupResult::Kind;
  const DmarcLookupResult first = co_await lookup.lookup(s.domain);
  if (first.kind == Kind::failed) {
    s.dns_error = escape_for_log(first.reason);
    add_finding(findings, Severity::error, "dns-failure",
                "TXT query for _dmarc." + s.domain + " failed: " + s.dns_error + "; the DMARC record cannot be checked",
                "fix the authoritative DNS servers (or DNSSEC signatures) for _dmarc." + s.domain);
    co_return std::nullopt;
  }
  if (first.kind == Kind::multiple) {
    s.multiple = true;
    add_finding(findings, Severity::error, "dmarc-multiple",
                "several DMARC records at _dmarc." + s.domain +
                    ": receivers discard them all (RFC 9989 §4.10 step 2) and look further up the tree",
                "keep exactly one v=DMARC1 record at _dmarc." + s.domain);
  }
  if (first.kind == Kind::invalid) {
    s.record = first.raw;
    s.record_domain = s.domain;
    s.found_at = "domain";
    add_finding(findings, Severity::error, "dmarc-syntax",
                "DMARC record at _dmarc." + s.domain + " is unusable: " + escape_for_log(first.reason),
                "publish a record within the limits, e.g. \"v=DMARC1; p=reject; rua=mailto:...\"");
    co_return std::nullopt;
  }

  PolicyDiscovery d = co_await discover_policy(lookup, finder, config, s.domain);
  if (d.outcome == PolicyDiscovery::Outcome::temperror) {
    s.dns_error = escape_for_log(d.error);
    add_finding(findings, Severity::error, "dns-failure",
                "DMARC discovery for " + s.domain + " failed: " + s.dns_error + "; the DMARC record cannot be checked",
                "fix the authoritative DNS servers (or DNSSEC signatures) of the _dmarc names");
    co_return std::nullopt;
  }
  if (d.outcome == PolicyDiscovery::Outcome::none) {
    if (!s.multiple)
      add_finding(findings, Severity::error, "dmarc-missing",
                  "no DMARC record at _dmarc." + s.domain + " or above it: receivers apply no DMARC policy, so "
                  "the domain in From: can be forged",
                  "publish \"v=DMARC1; p=none; rua=mailto:dmarc-reports@" + s.domain +
                      "\" at _dmarc." + s.domain + ", read the reports, then move to p=quarantine and p=reject");
    co_return std::nullopt;
  }
  if (!d.record) {  // permerror without a record (invalid Author Domain, a record over a limit up the tree)
    add_finding(findings, Severity::error, "dmarc-syntax", "DMARC discovery for " + s.domain + ": " +
                escape_for_log(d.error), "publish a valid v=DMARC1 record");
    co_return std::nullopt;
  }
  co_return d;
}

// Step 2: the record's facts into the section, and its syntax findings.
// False when the record is unusable (the section ends there).
bool take_record(DmarcSection& s, const PolicyDiscovery& d, Findings& findings) {
  const Record& rec = *d.record;
  s.record = d.raw_record;
  s.record_domain = d.policy_domain;
  s.found_at = d.policy_domain == s.domain ? "domain" : d.from_psd ? "public_suffix_domain" : "organizational_domain";
  if (rec.p) s.p = to_string(*rec.p);
  if (rec.sp) s.sp = to_string(*rec.sp);
  if (rec.np) s.np = to_string(*rec.np);
  s.testing = rec.testing;
  for (const ReportUri& u : rec.rua) s.rua.push_back(u.uri);
  for (const ReportUri& u : rec.ruf) s.ruf.push_back(u.uri);
  s.deprecated_tags = rec.deprecated_tags;
  const std::string where = "_dmarc." + s.record_domain;

  for (const std::string& w : rec.warnings) {
    if (is_uri_warning(w)) continue;  // reported per URI below
    s.syntax_warnings.push_back(w);
    add_finding(findings, Severity::error, "dmarc-syntax",
                "DMARC record at " + where + ": " + escape_for_log(w) +
                    "; receivers ignore the broken part (RFC 9989 §4.7) and use defaults",
                "correct the tag; see RFC 9989 §4.7 for the valid values");
  }
  if (d.outcome == PolicyDiscovery::Outcome::permerror) {
    add_finding(findings, Severity::error, "dmarc-syntax",
                "DMARC record at " + where + " has no valid p= and no valid rua=: receivers apply no DMARC "
                "processing (RFC 9989 §4.10.1)",
                "add p=none (or stronger) and a rua=mailto: address");
    return false;
  }
  return true;
}

// Step 3: the policy that applies to the domain, t=, deprecated tags.
void policy_findings(DmarcSection& s, const PolicyDiscovery& d, Findings& findings) {
  const Record& rec = *d.record;
  const bool inherited = s.found_at != "domain";
  const std::string where = "_dmarc." + s.record_domain;
  if (inherited)
    add_finding(findings, Severity::info, "dmarc-inherited",
                "no DMARC record at _dmarc." + s.domain + "; the record at " + where + " (" +
                    (d.from_psd ? "public suffix domain" : "organizational domain") + ") applies to it",
                "");

  const Policy applied = inherited ? rec.effective_sp() : rec.effective_p();
  s.policy = to_string(applied);
  if (applied == Policy::none) {
    add_finding(findings, Severity::warning, "dmarc-p-none",
                "DMARC policy for " + s.domain + " is none (" + (inherited ? "sp/p at " + where : "p=") +
                    "): monitoring only, forged mail is still delivered",
                "after checking the aggregate reports, move to p=quarantine and then p=reject");
  } else if (!inherited) {
    if (rec.sp && *rec.sp == Policy::none)
      add_finding(findings, Severity::warning, "dmarc-sp-none",
                  "DMARC record of " + s.domain + " has p=" + to_string(applied) +
                      " but sp=none: sub-domains can be forged",
                  "remove sp= or set it to quarantine or reject");
    if (rec.np && *rec.np == Policy::none)
      add_finding(findings, Severity::warning, "dmarc-np-none",
                  "DMARC record of " + s.domain + " has np=none: non-existent sub-domains can be forged",
                  "remove np= or set np=reject");
  }
  if (rec.testing)
    add_finding(findings, Severity::warning, "dmarc-testing",
                "DMARC record at " + where + (rec.testing_from_pct ? " has pct=0" : " has t=y") +
                    ": receivers apply one policy level lower (RFC 9989 §4.7)",
                rec.testing_from_pct ? "remove pct=" : "remove t=y");
  for (const std::string& tag : rec.deprecated_tags) {
    const bool pct = tag == "pct";
    add_finding(findings, pct ? Severity::warning : Severity::info, "dmarc-deprecated-tag",
                "DMARC record at " + where + " uses " + escape_for_log(tag) +
                    "=, deprecated in RFC 9989" +
                    (pct ? " (receivers now read only pct=0 and pct=100; use t=y for testing)"
                         : " (receivers ignore it)"),
                "remove " + escape_for_log(tag) + "= from the record");
  }
}

// Step 4: rua= and ruf= as published.
void report_uri_findings(const DmarcSection& s, const Record& rec, Findings& findings) {
  const std::string where = "_dmarc." + s.record_domain;
  if (!rec.has_valid_rua())
    add_finding(findings, Severity::warning, "dmarc-no-rua",
                "DMARC record at " + where + " has no usable rua=: you get no aggregate reports, so you cannot see "
                "who sends as " + s.domain,
                "add rua=mailto:dmarc-reports@" + s.record_domain);
  for (const auto* list : {&rec.rua, &rec.ruf}) {
    const char* tag = list == &rec.rua ? "rua" : "ruf";
    for (const ReportUri& u : *list)
      if (!u.actionable)
        add_finding(findings, Severity::warning, "dmarc-bad-report-uri",
                    std::string("DMARC ") + tag + " URI " + escape_for_log(u.uri) + " at " + where +
                        " is not usable" + (u.note.empty() ? "" : ": " + escape_for_log(u.note)),
                    "use a mailto: URI with a valid address (receivers send reports only by mail)");
  }
}

// One external destination's authorization finding (RFC 9990 §3).
void destination_finding(const std::string& tag, const ReportDestination& dest, const PolicyDiscovery& d,
                         const std::string& policy_org, Findings& findings) {
  if (dest.authorization == ReportAuthorization::not_authorized) {
    add_finding(findings, Severity::warning, "dmarc-external-" + tag + "-unauthorized",
                "DMARC " + tag + " destination " + escape_for_log(dest.uri.uri) + " is outside " + policy_org +
                    " and has not authorized reports for " + d.policy_domain + " (no v=DMARC1 TXT at " +
                    escape_for_log(dest.query_name) + "): receivers send it nothing (RFC 9990 §3)",
                "ask the operator of " + escape_for_log(dest.uri.host) + " to publish \"v=DMARC1\" at " +
                    escape_for_log(dest.query_name.empty() ? d.policy_domain + "._report._dmarc." + dest.uri.host
                                                           : dest.query_name) +
                    ", or use an address in your own domain");
  } else if (dest.authorization == ReportAuthorization::temperror) {
    add_finding(findings, Severity::error, "dns-failure",
                "TXT query for " + escape_for_log(dest.query_name) + " failed: " + escape_for_log(dest.note) +
                    "; the authorization of " + tag + " destination " + escape_for_log(dest.uri.uri) +
                    " cannot be checked",
                "fix the DNS servers of " + escape_for_log(dest.uri.host));
  }
}

// Step 5: external-destination authorization (RFC 9990 §3).
asio::awaitable<void> destination_findings(dns::Resolver& resolver, OrgDomainFinder& finder, const PolicyDiscovery& d,
                                           DmarcSection& s, Findings& findings) {
  const Record& rec = *d.record;
  // The Organizational Domain of the policy domain is needed only when a
  // report host lies outside the policy domain (a host inside it cannot be
  // external); the walk behind it costs DNS questions.
  std::string policy_org = d.policy_domain;
  bool need_org = false;
  for (const auto* list : {&rec.rua, &rec.ruf})
    for (const ReportUri& u : *list)
      if (u.actionable && !is_subdomain_of(u.host, d.policy_domain)) need_org = true;
  if (need_org) {
    auto org = co_await finder.org_domain(d.policy_domain);
    if (org) {
      policy_org = *org;
    } else {
      add_finding(findings, Severity::error, "dns-failure",
                  "cannot determine the organizational domain of " + d.policy_domain + ": " +
                      escape_for_log(org.error().message) + "; report destinations checked against " +
                      d.policy_domain,
                  "fix the DNS servers of the _dmarc names");
    }
  }
  for (const std::string tag : {"rua", "ruf"}) {
    const std::vector<ReportUri>& uris = tag == "rua" ? rec.rua : rec.ruf;
    if (uris.empty()) continue;
    std::vector<ReportDestination> dests =
        co_await verify_report_destinations(resolver, finder, d.policy_domain, policy_org, uris, tag);
    for (const ReportDestination& dest : dests) {
      if (dest.authorization == ReportAuthorization::internal ||
          dest.authorization == ReportAuthorization::not_applicable)
        continue;
      s.external_destinations.push_back(DmarcDestination{tag, dest.uri.uri, dest.uri.actionable,
                                                         to_string(dest.authorization), dest.note,
                                                         dest.authorization == ReportAuthorization::authorized});
      destination_finding(tag, dest, d, policy_org, findings);
    }
  }
}

}  // namespace

asio::awaitable<DmarcSection> check_dmarc(dns::Resolver& resolver, std::string domain, Findings& findings) {
  DmarcSection s;
  s.domain = normalize_domain(to_lower(domain));
  Config config;  // RFC 9989 tree walk
  DmarcLookup lookup(resolver);
  OrgDomainFinder finder(lookup, config.mode, nullptr, config.max_tree_walk_queries);

  const std::optional<PolicyDiscovery> d = co_await discover(lookup, finder, config, s, findings);
  if (!d || !take_record(s, *d, findings)) co_return s;
  policy_findings(s, *d, findings);
  report_uri_findings(s, *d->record, findings);
  co_await destination_findings(resolver, finder, *d, s, findings);
  co_return s;
}

}  // namespace mxsec::check

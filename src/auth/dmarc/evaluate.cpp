#include "auth/dmarc/evaluate.hpp"

#include "codec/idna.hpp"
#include "core/strings.hpp"
#include "dns/resolver.hpp"

namespace mxsec::auth::dmarc {

const char* to_string(AuthResult r) {
  switch (r) {
    case AuthResult::none: return "none";
    case AuthResult::pass: return "pass";
    case AuthResult::fail: return "fail";
    case AuthResult::softfail: return "softfail";
    case AuthResult::neutral: return "neutral";
    case AuthResult::policy: return "policy";
    case AuthResult::temperror: return "temperror";
    case AuthResult::permerror: return "permerror";
  }
  return "?";
}

std::optional<AuthResult> parse_auth_result(std::string_view word) {
  for (AuthResult r : {AuthResult::none, AuthResult::pass, AuthResult::fail, AuthResult::softfail,
                       AuthResult::neutral, AuthResult::policy, AuthResult::temperror, AuthResult::permerror})
    if (iequals(word, to_string(r))) return r;
  return std::nullopt;
}

const char* to_string(Mechanism m) { return m == Mechanism::spf ? "spf" : "dkim"; }

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::pass: return "pass";
    case Verdict::fail: return "fail";
    case Verdict::none: return "none";
    case Verdict::temperror: return "temperror";
    case Verdict::permerror: return "permerror";
  }
  return "?";
}

const char* to_string(PolicySource s) {
  switch (s) {
    case PolicySource::p: return "p";
    case PolicySource::sp: return "sp";
    case PolicySource::np: return "np";
    case PolicySource::none: return "none";
  }
  return "?";
}

const char* to_string(DomainExistence e) {
  switch (e) {
    case DomainExistence::exists: return "exists";
    case DomainExistence::nonexistent: return "nonexistent";
    case DomainExistence::unknown: return "unknown";
    case DomainExistence::not_checked: return "not-checked";
  }
  return "?";
}

const char* to_string(PolicyDiscovery::Outcome o) {
  switch (o) {
    case PolicyDiscovery::Outcome::found: return "found";
    case PolicyDiscovery::Outcome::none: return "none";
    case PolicyDiscovery::Outcome::temperror: return "temperror";
    case PolicyDiscovery::Outcome::permerror: return "permerror";
  }
  return "?";
}

namespace {

using Kind = DmarcLookupResult::Kind;

// Records the found record in `d` and judges its usability.
void take_record(PolicyDiscovery& d, const DmarcLookupResult& r, bool from_psd) {
  d.policy_domain = r.domain;
  d.from_psd = from_psd;
  d.record = r.record;
  d.raw_record = r.raw;
  d.security = r.security;
  switch (r.record->usability) {
    case Usability::usable:
      d.outcome = PolicyDiscovery::Outcome::found;
      break;
    case Usability::treated_as_none:
      d.outcome = PolicyDiscovery::Outcome::found;
      d.notes.push_back("record at _dmarc." + r.domain +
                        " has no valid p (or an invalid sp/np) but a valid rua: acting as p=none (RFC 9989 §4.10.1)");
      break;
    case Usability::unusable:
      d.outcome = PolicyDiscovery::Outcome::permerror;
      d.error = "record at _dmarc." + r.domain +
                " has no valid p (or an invalid sp/np) and no valid rua: no DMARC processing (RFC 9989 §4.10.1)";
      break;
  }
}

bool fail_on(PolicyDiscovery& d, const DmarcLookupResult& r) {
  if (r.kind == Kind::failed) {
    d.outcome = PolicyDiscovery::Outcome::temperror;
    d.error = r.reason;
    d.security = r.security;
    return true;
  }
  if (r.kind == Kind::invalid) {
    d.outcome = PolicyDiscovery::Outcome::permerror;
    d.error = "DMARC record at _dmarc." + r.domain + " unusable: " + r.reason;
    d.security = r.security;
    return true;
  }
  if (r.kind == Kind::multiple) d.notes.push_back(r.reason);
  return false;
}

Policy lower(Policy p) {
  switch (p) {
    case Policy::reject: return Policy::quarantine;
    case Policy::quarantine: return Policy::none;
    case Policy::none: return Policy::none;
  }
  return Policy::none;
}

AlignmentMode mode_for(const Record& rec, Mechanism m) { return m == Mechanism::spf ? rec.aspf : rec.adkim; }

}  // namespace

namespace {

// RFC 7489 §6.6.3 (PSL mode), after no single record at the Author Domain:
// multiple records there end discovery; an empty set sends us to the
// Organizational Domain.
asio::awaitable<void> discover_by_psl(DmarcLookup& lookup, OrgDomainFinder& finder, const DmarcLookupResult& first,
                                      PolicyDiscovery& d) {
  if (first.kind == Kind::multiple) {
    d.outcome = PolicyDiscovery::Outcome::none;
    d.error = "multiple DMARC records at _dmarc." + d.author_domain + " (RFC 7489 §6.6.3: no DMARC processing)";
    co_return;
  }
  auto org = co_await finder.org_domain(d.author_domain);
  d.org_domain = org ? *org : d.author_domain;
  if (d.org_domain == d.author_domain) {
    d.outcome = PolicyDiscovery::Outcome::none;
    co_return;
  }
  const DmarcLookupResult at_org = co_await lookup.lookup(d.org_domain);
  if (fail_on(d, at_org)) co_return;
  if (at_org.kind == Kind::single) take_record(d, at_org, false);
  else d.outcome = PolicyDiscovery::Outcome::none;
}

// RFC 9989 §4.10.1: "If no valid DMARC Policy Record is found by the first
// query, then perform a DNS Tree Walk to find the Author Domain's
// Organizational Domain or its Public Suffix Domain." The first step of the
// walk is the (cached) Author Domain answer.
asio::awaitable<void> discover_by_walk(DmarcLookup& lookup, const Config& config, PolicyDiscovery& d) {
  TreeWalk walk = co_await tree_walk(lookup, d.author_domain, config.max_tree_walk_queries);
  if (walk.failed) {
    d.outcome = PolicyDiscovery::Outcome::temperror;
    d.error = walk.error;
    for (const auto& v : walk.visited)
      if (v.kind == Kind::failed) d.security = v.security;
    co_return;
  }
  if (walk.invalid) {
    d.outcome = PolicyDiscovery::Outcome::permerror;
    d.error = walk.error;
    co_return;
  }
  for (std::size_t i = 1; i < walk.visited.size(); ++i)
    if (walk.visited[i].kind == Kind::multiple) d.notes.push_back(walk.visited[i].reason);

  const OrgDomainSelection sel = select_org_domain(d.author_domain, walk.visited);
  d.org_domain = sel.org_domain;
  d.notes.push_back(std::string("organizational domain ") + sel.org_domain + " (rule " + to_string(sel.rule) + ")");

  const DmarcLookupResult* at_org = nullptr;
  const DmarcLookupResult* at_psd = nullptr;
  for (const auto& v : walk.visited) {
    if (v.domain == sel.org_domain) at_org = &v;
    if (sel.psd_domain && v.domain == *sel.psd_domain) at_psd = &v;
  }
  DmarcLookupResult extra;
  if (!at_org && sel.org_domain != d.author_domain) {
    // The shortcut skipped the name one label below a psd=y record (the PSD
    // has 7 labels or more); ask for it, since RFC 9989 §4.10.1 prefers the
    // Organizational Domain's record over the PSD's. One extra question.
    extra = co_await lookup.lookup(sel.org_domain);
    if (fail_on(d, extra)) co_return;
    at_org = &extra;
  }
  if (at_org && at_org->kind == Kind::single) {
    take_record(d, *at_org, false);
  } else if (at_psd && at_psd->kind == Kind::single) {
    take_record(d, *at_psd, true);
  } else {
    d.outcome = PolicyDiscovery::Outcome::none;
  }
}

}  // namespace

asio::awaitable<PolicyDiscovery> discover_policy(DmarcLookup& lookup, OrgDomainFinder& finder, const Config& config,
                                                 std::string author_domain) {
  PolicyDiscovery d;
  // RFC 9989 §5.3.1: an Author Domain with U-labels is queried as A-labels.
  auto a_labels = codec::to_a_label_domain(author_domain);
  if (!a_labels) {
    d.outcome = PolicyDiscovery::Outcome::permerror;
    d.error = "invalid Author Domain: " + a_labels.error().message;
    co_return d;
  }
  d.author_domain = normalize_domain(*a_labels);
  if (!is_valid_domain_name(d.author_domain)) {
    d.outcome = PolicyDiscovery::Outcome::permerror;
    d.error = "invalid Author Domain " + escape_for_log(author_domain, 80);
    co_return d;
  }
  // "Policy discovery starts first with a query for a valid DMARC Policy
  // Record at the name created by prepending the label "_dmarc" to the
  // Author Domain" (RFC 9989 §4.10.1).
  const DmarcLookupResult first = co_await lookup.lookup(d.author_domain);
  if (fail_on(d, first)) co_return d;
  if (first.kind == Kind::single) {
    take_record(d, first, false);
    co_return d;
  }
  if (config.mode == OrgDomainMode::psl) co_await discover_by_psl(lookup, finder, first, d);
  else co_await discover_by_walk(lookup, config, d);
  co_return d;
}

asio::awaitable<PolicyChoice> choose_policy_impl(DmarcLookup& lookup, const Config& config,
                                                 const PolicyDiscovery& discovery, bool allow_dns) {
  PolicyChoice c;
  if (discovery.outcome != PolicyDiscovery::Outcome::found || !discovery.record) co_return c;
  const Record& rec = *discovery.record;
  const bool usable = rec.usability == Usability::usable;
  if (discovery.policy_domain == discovery.author_domain) {
    c.requested = rec.effective_p();
    c.source = PolicySource::p;
  } else {
    const Policy sp = rec.effective_sp(), np = rec.effective_np();
    DomainExistence existence = DomainExistence::not_checked;
    if (sp != np && config.check_nonexistent && allow_dns) {
      existence = DomainExistence::unknown;
      // RFC 9989 §3.2 (Non-existent Domains) / RFC 8020: NXDOMAIN for the
      // name means it does not exist; any other definite answer means it
      // does. Ask A, then AAAA, then MX, until one of them answers.
      dns::AddressAnswer a = co_await lookup.address(discovery.author_domain, dns::RrType::a);
      dns::Status status = a.status;
      bool failed = a.failed();
      if (failed) {
        dns::AddressAnswer aaaa = co_await lookup.address(discovery.author_domain, dns::RrType::aaaa);
        status = aaaa.status;
        failed = aaaa.failed();
      }
      if (failed) {
        dns::MxAnswer mx = co_await lookup.mx(discovery.author_domain);
        status = mx.status;
        failed = mx.failed();
      }
      if (!failed) existence = status == dns::Status::nxdomain ? DomainExistence::nonexistent : DomainExistence::exists;
      else c.error = "cannot tell whether " + discovery.author_domain + " exists (A, AAAA and MX lookups failed)";
    }
    c.existence = existence;
    if (existence == DomainExistence::nonexistent) {
      c.requested = np;
      c.source = !usable ? PolicySource::p : rec.np ? PolicySource::np : rec.sp ? PolicySource::sp : PolicySource::p;
    } else {
      c.requested = sp;
      c.source = !usable ? PolicySource::p : rec.sp ? PolicySource::sp : PolicySource::p;
    }
  }
  c.applied = rec.testing ? lower(c.requested) : c.requested;
  co_return c;
}

asio::awaitable<PolicyChoice> choose_policy(DmarcLookup& lookup, const Config& config, const PolicyDiscovery& discovery) {
  co_return co_await choose_policy_impl(lookup, config, discovery, true);
}

namespace {

// What the identifiers showed: an aligned pass, or a temporary failure that
// could hide one.
struct AlignmentFindings {
  bool pass = false;
  bool unknown = false;
  std::string unknown_detail;
};

asio::awaitable<AlignmentFindings> judge_identifiers(OrgDomainFinder& finder, const Config& config, const Record& rec,
                                                     const std::string& author, std::vector<IdentifierResult>& ids) {
  AlignmentFindings f;
  // Pass 1, no DNS: an identical passing identifier aligns in either mode.
  for (IdentifierResult& id : ids) {
    if (id.result != AuthResult::pass || id.domain.empty()) continue;
    id.considered = true;
    if (strictly_aligned(author, id.domain)) {
      id.alignment.outcome = AlignmentOutcome::aligned;
      f.pass = true;
    }
  }
  // Pass 2: relaxed alignment through Organizational Domains, until one aligns.
  for (IdentifierResult& id : ids) {
    if (f.pass && !config.check_all_identifiers) break;
    if (!id.considered || id.alignment.outcome == AlignmentOutcome::aligned) continue;
    id.alignment = co_await check_alignment(finder, mode_for(rec, id.mechanism), author, id.domain);
    if (id.alignment.outcome == AlignmentOutcome::aligned) f.pass = true;
    if (id.alignment.outcome == AlignmentOutcome::temperror) {
      f.unknown = true;
      if (f.unknown_detail.empty()) f.unknown_detail = id.alignment.detail;
    }
  }
  // RFC 7489 §6.6.2 / RFC 9989 §5.3.6: with no aligned pass, a temporary
  // failure of an underlying check means no conclusion. Only identifiers that
  // would align count, so a sender cannot dodge the policy by adding a
  // signature from a domain whose DNS it breaks on purpose.
  if (f.pass) co_return f;
  for (IdentifierResult& id : ids) {
    if (id.result != AuthResult::temperror || id.domain.empty()) continue;
    id.considered = true;
    id.alignment = co_await check_alignment(finder, mode_for(rec, id.mechanism), author, id.domain);
    if (id.alignment.outcome == AlignmentOutcome::aligned || id.alignment.outcome == AlignmentOutcome::temperror) {
      f.unknown = true;
      if (f.unknown_detail.empty())
        f.unknown_detail =
            std::string(to_string(id.mechanism)) + " temperror for aligned identifier " + escape_for_log(id.domain, 80);
    }
  }
  co_return f;
}

// The verdict when discovery found no record to apply; false if it did.
bool conclude_without_record(Evaluation& ev) {
  switch (ev.discovery.outcome) {
    case PolicyDiscovery::Outcome::none:
      ev.result = Verdict::none;
      ev.reason = ev.discovery.error.empty() ? "no DMARC policy record for " + ev.discovery.author_domain
                                             : ev.discovery.error;
      return true;
    case PolicyDiscovery::Outcome::temperror:
      ev.result = Verdict::temperror;
      ev.reason = ev.discovery.error;
      return true;
    case PolicyDiscovery::Outcome::permerror:
      ev.result = Verdict::permerror;
      ev.reason = ev.discovery.error;
      return true;
    case PolicyDiscovery::Outcome::found: break;
  }
  return false;
}

}  // namespace

asio::awaitable<Evaluation> evaluate(dns::Resolver& resolver, const Config& config, EvaluationInput input) {
  LookupConfig lc;
  lc.record_limits = config.record_limits;
  lc.max_queries = config.max_queries;
  DmarcLookup lookup(resolver, lc);
  OrgDomainFinder finder(lookup, config.mode, config.psl, config.max_tree_walk_queries);
  Evaluation ev;
  ev.discovery = co_await discover_policy(lookup, finder, config, input.author_domain);
  if (conclude_without_record(ev)) {
    ev.dns_queries = lookup.queries();
    co_return ev;
  }
  const std::string& author = ev.discovery.author_domain;
  const Record& rec = *ev.discovery.record;

  ev.identifiers.push_back({Mechanism::spf, normalize_domain(input.spf.domain), input.spf.result, {}, false});
  for (const DkimInput& k : input.dkim)
    ev.identifiers.push_back({Mechanism::dkim, normalize_domain(k.domain), k.result, {}, false});
  const AlignmentFindings f = co_await judge_identifiers(finder, config, rec, author, ev.identifiers);
  for (const IdentifierResult& id : ev.identifiers) {
    if (id.alignment.outcome != AlignmentOutcome::aligned || id.result != AuthResult::pass) continue;
    (id.mechanism == Mechanism::spf ? ev.spf_aligned : ev.dkim_aligned) = true;
  }

  if (f.pass) {
    ev.result = Verdict::pass;
    ev.reason = std::string("aligned pass (") + (ev.dkim_aligned ? "dkim" : "") +
                (ev.dkim_aligned && ev.spf_aligned ? "+" : "") + (ev.spf_aligned ? "spf" : "") + ")";
    ev.policy = co_await choose_policy_impl(lookup, config, ev.discovery, false);
  } else if (f.unknown) {
    ev.result = Verdict::temperror;
    ev.reason = "alignment could not be determined: " + f.unknown_detail;
    ev.policy = co_await choose_policy_impl(lookup, config, ev.discovery, false);
  } else {
    ev.policy = co_await choose_policy_impl(lookup, config, ev.discovery, true);
    if (!ev.policy.error.empty()) {
      // Cannot choose between sp and np: no conclusion, fail closed.
      ev.result = Verdict::temperror;
      ev.reason = ev.policy.error;
    } else {
      ev.result = Verdict::fail;
      ev.reason = std::string("no aligned pass; policy ") + to_string(ev.policy.applied) + " (" +
                  to_string(ev.policy.source) + "=" + to_string(ev.policy.requested) + " at _dmarc." +
                  ev.discovery.policy_domain + (rec.testing ? ", t=y" : "") + ")";
    }
  }
  ev.dns_queries = lookup.queries();
  co_return ev;
}

}  // namespace mxsec::auth::dmarc

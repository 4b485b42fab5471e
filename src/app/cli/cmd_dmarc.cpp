// `mxsec dmarc DOMAIN [--json] [--psl]`: the DMARC policy that applies to
// mail from DOMAIN (RFC 9989 policy discovery; --psl: RFC 7489 with the
// Debian public suffix list), where it was found, the Organizational Domain,
// the effective p/sp/np for DOMAIN (with the non-existence check), alignment
// modes, rua/ruf with their external-destination authorization, deprecated
// tags and the DNSSEC status of the record.
//
// Exit codes: 0 a usable policy record applies; 1 none applies, the record is
// unusable (permerror) or DNS failed (temperror); 2 bad input or resolver
// setup failure.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/command.hpp"
#include "auth/dmarc/dmarc.hpp"
#include "core/strings.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::cli {
namespace {

using namespace mxsec::auth::dmarc;

struct DmarcOptions {
  std::string domain;
  bool json = false;
  bool psl = false;
};

struct Report {
  PolicyDiscovery discovery;
  std::string org_domain;
  std::string org_error;
  PolicyChoice choice;
  std::vector<ReportDestination> rua, ruf;
  std::size_t queries = 0;
};

asio::awaitable<Report> inspect(dns::Resolver& resolver, Config config, std::string domain) {
  Report r;
  LookupConfig lc;
  lc.record_limits = config.record_limits;
  lc.max_queries = config.max_queries;
  DmarcLookup lookup(resolver, lc);
  OrgDomainFinder finder(lookup, config.mode, config.psl, config.max_tree_walk_queries);
  r.discovery = co_await discover_policy(lookup, finder, config, domain);
  if (!r.discovery.org_domain.empty()) {
    r.org_domain = r.discovery.org_domain;
  } else {
    auto org = co_await finder.org_domain(r.discovery.author_domain);
    if (org) r.org_domain = *org;
    else r.org_error = org.error().message;
  }
  if (r.discovery.outcome == PolicyDiscovery::Outcome::found) {
    r.choice = co_await choose_policy(lookup, config, r.discovery);
    std::string policy_org = r.org_domain;
    if (r.discovery.policy_domain != r.discovery.author_domain || policy_org.empty()) {
      auto o = co_await finder.org_domain(r.discovery.policy_domain);
      policy_org = o ? *o : r.discovery.policy_domain;
    }
    r.rua = co_await verify_report_destinations(resolver, finder, r.discovery.policy_domain, policy_org,
                                                r.discovery.record->rua, "rua");
    r.ruf = co_await verify_report_destinations(resolver, finder, r.discovery.policy_domain, policy_org,
                                                r.discovery.record->ruf, "ruf");
  }
  r.queries = lookup.queries();
  co_return r;
}

nlohmann::json destinations_json(const std::vector<ReportDestination>& list) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& d : list) {
    nlohmann::json j{{"uri", d.uri.uri},
                     {"actionable", d.uri.actionable},
                     {"authorization", to_string(d.authorization)}};
    if (!d.uri.address.empty()) j["address"] = d.uri.address;
    if (!d.query_name.empty()) {
      j["query"] = d.query_name;
      j["dnssec"] = dns::to_string(d.security);
    }
    if (d.uri.max_report_bytes) j["rfc7489_max_bytes"] = *d.uri.max_report_bytes;
    if (!d.note.empty()) j["note"] = d.note;
    if (!d.overrides.empty()) {
      nlohmann::json o = nlohmann::json::array();
      for (const auto& u : d.overrides) o.push_back(u.uri);
      j["overrides"] = o;
    }
    out.push_back(std::move(j));
  }
  return out;
}

void print_destinations(const char* tag, const std::vector<ReportDestination>& list) {
  if (list.empty()) {
    std::printf("%-13s (none)\n", tag);
    return;
  }
  bool first = true;
  for (const auto& d : list) {
    std::printf("%-13s %s  [%s%s%s]%s%s\n", first ? tag : "", escape_for_log(d.uri.uri).c_str(), to_string(d.authorization),
                d.query_name.empty() ? "" : ", dnssec ", d.query_name.empty() ? "" : dns::to_string(d.security),
                d.note.empty() ? "" : "  ", escape_for_log(d.note).c_str());
    for (const auto& o : d.overrides) std::printf("%-13s   override: %s\n", "", escape_for_log(o.uri).c_str());
    first = false;
  }
}

void run_dmarc(Context& ctx, const DmarcOptions& opts) {
  auto ascii = domain_argument(opts.domain, "DOMAIN");
  if (!ascii) return fail(ctx, "dmarc", ascii.error());
  const std::string domain = *ascii;
  Config config;
  if (opts.psl) {
    auto psl = PublicSuffixList::load();
    if (!psl) return fail(ctx, "dmarc", psl.error());
    config.mode = OrgDomainMode::psl;
    config.psl = *psl;
  }
  auto resolver = ctx.resolver();
  if (!resolver) return fail(ctx, "dmarc", resolver.error());
  const Report r = run_sync(ctx.io, inspect(**resolver, config, domain));
  const PolicyDiscovery& d = r.discovery;
  const bool found = d.outcome == PolicyDiscovery::Outcome::found;
  const Record* rec = d.record ? &*d.record : nullptr;

  if (opts.json || ctx.json) {
    nlohmann::json j{{"domain", domain},
                     {"mode", to_string(config.mode)},
                     {"outcome", to_string(d.outcome)},
                     {"organizational_domain", r.org_domain},
                     {"dns_queries", r.queries}};
    if (!r.org_error.empty()) j["organizational_domain_error"] = r.org_error;
    if (!d.error.empty()) j["error"] = d.error;
    if (!d.notes.empty()) j["notes"] = d.notes;
    if (rec) {
      j["record"] = d.raw_record;
      j["record_domain"] = d.policy_domain;
      j["from_psd"] = d.from_psd;
      j["dnssec"] = dns::to_string(d.security);
      j["usability"] = to_string(rec->usability);
      nlohmann::json tags{{"adkim", to_string(rec->adkim)}, {"aspf", to_string(rec->aspf)},
                          {"psd", to_string(rec->psd)}, {"t", rec->testing ? "y" : "n"}};
      if (rec->p) tags["p"] = to_string(*rec->p);
      if (rec->sp) tags["sp"] = to_string(*rec->sp);
      if (rec->np) tags["np"] = to_string(*rec->np);
      if (rec->pct) tags["pct"] = *rec->pct;
      j["tags"] = tags;
      j["deprecated_tags"] = rec->deprecated_tags;
      j["warnings"] = rec->warnings;
      j["rua"] = destinations_json(r.rua);
      j["ruf"] = destinations_json(r.ruf);
    }
    if (found) {
      j["policy"] = {{"requested", to_string(r.choice.requested)},
                     {"source", to_string(r.choice.source)},
                     {"applied_on_fail", to_string(r.choice.applied)},
                     {"domain_existence", to_string(r.choice.existence)}};
      if (!r.choice.error.empty()) j["policy"]["error"] = r.choice.error;
    }
    print_json(j);
  } else {
    std::printf("domain        %s\n", domain.c_str());
    std::printf("mode          %s\n", to_string(config.mode));
    std::printf("outcome       %s%s%s\n", to_string(d.outcome), d.error.empty() ? "" : ": ",
                escape_for_log(d.error, 300).c_str());
    std::printf("org domain    %s%s\n", r.org_domain.empty() ? "(unknown)" : r.org_domain.c_str(),
                r.org_error.empty() ? "" : ("  (" + escape_for_log(r.org_error) + ")").c_str());
    if (rec) {
      std::printf("record        %s\n", escape_for_log(d.raw_record, 1000).c_str());
      std::printf("found at      _dmarc.%s%s\n", d.policy_domain.c_str(), d.from_psd ? " (public suffix domain, psd=y)" : "");
      std::printf("dnssec        %s\n", dns::to_string(d.security));
      std::printf("usability     %s\n", to_string(rec->usability));
      std::printf("p / sp / np   %s / %s / %s\n", rec->p ? to_string(*rec->p) : "-", rec->sp ? to_string(*rec->sp) : "-",
                  rec->np ? to_string(*rec->np) : "-");
      std::printf("alignment     adkim=%s aspf=%s\n", to_string(rec->adkim), to_string(rec->aspf));
      std::printf("psd, t        psd=%s t=%s%s\n", to_string(rec->psd), rec->testing ? "y" : "n",
                  rec->testing_from_pct ? " (from pct)" : "");
      print_destinations("rua", r.rua);
      print_destinations("ruf", r.ruf);
      std::string dep;
      for (const auto& t : rec->deprecated_tags) dep += (dep.empty() ? "" : ", ") + t;
      std::printf("deprecated    %s\n", dep.empty() ? "(none)" : dep.c_str());
      for (const auto& w : rec->warnings) std::printf("warning       %s\n", escape_for_log(w, 300).c_str());
    }
    if (found) {
      std::printf("policy        %s (from %s; domain %s)%s%s\n", to_string(r.choice.requested), to_string(r.choice.source),
                  to_string(r.choice.existence), r.choice.error.empty() ? "" : "  ",
                  escape_for_log(r.choice.error).c_str());
      std::printf("on failure    %s%s\n", to_string(r.choice.applied), rec && rec->testing ? " (t=y: one level lower)" : "");
    }
    for (const auto& n : d.notes) std::printf("note          %s\n", escape_for_log(n, 300).c_str());
    std::printf("dns queries   %zu\n", r.queries);
  }
  ctx.exit_code = found ? kExitOk : kExitFinding;
}

void add_dmarc(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<DmarcOptions>();
  CLI::App* cmd = app.add_subcommand("dmarc", "Show the DMARC policy that applies to a domain (RFC 9989 / RFC 7489)");
  cmd->add_option("domain", opts->domain, "Author Domain (RFC5322.From domain, A-labels)")->required();
  cmd->add_flag("--psl", opts->psl, "RFC 7489 mode: Organizational Domain from the public suffix list, not the tree walk");
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output");
  cmd->callback([&ctx, opts] { run_dmarc(ctx, *opts); });
}

}  // namespace

MXSEC_REGISTER_COMMAND(add_dmarc);

}  // namespace mxsec::cli

// app/cli/cmd_policy.cpp: `mxsec policy` - the transport-security decision
// for a recipient domain (RFC 7672 DANE, RFC 8461 MTA-STS, RFC 7505 null MX).
//
//   mxsec policy DOMAIN [--json] [--local-policy FILE] [--sts-cache FILE] [--no-mta-sts]
//
// JSON (stable keys): domain, status (ok | null-mx | nxdomain | defer |
// no-usable-mx), reason, mx_security, mta_sts{...}, and mx: a list in
// delivery order of {host, preference, policy, reason, ...} where policy is
// one of dane, dane-unusable-tls-required, mta-sts, mta-sts-testing,
// opportunistic, none, encrypt, verify, defer (docs/policy.md).
// Exit codes: 0 some MX host may be used; 1 nothing can be delivered now
// (null MX, NXDOMAIN, deferred); 2 bad input or set-up failure.
#include <iostream>
#include <memory>

#include "app/cli/command.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"
#include "dns/run_sync.hpp"
#include "policy/engine/engine.hpp"

namespace mxsec::cli {
namespace {

struct PolicyOptions {
  std::string domain;
  std::string local_policy_file;
  std::string sts_cache;
  bool no_mta_sts = false;
  bool json = false;
};

void print_human(const policy::DomainDecision& d) {
  std::cout << "policy for " << d.domain << ": " << policy::to_string(d.status) << "\n";
  if (!d.reason.empty()) std::cout << "  " << d.reason << "\n";
  std::cout << "  MX RRset: " << dns::to_string(d.mx_security) << "\n";
  if (d.mta_sts) {
    const auto& s = *d.mta_sts;
    std::cout << "  MTA-STS: ";
    if (s.policy) {
      std::cout << policy::mtasts::to_string(s.policy->mode) << " (id " << escape_for_log(s.id) << ", max_age "
                << s.policy->max_age << (s.from_cache ? ", cached" : ", fetched") << ")";
    } else {
      std::cout << "no policy";
    }
    if (!s.detail.empty()) std::cout << " - " << escape_for_log(s.detail, 300);
    std::cout << "\n";
  }
  for (const auto& m : d.mx) {
    std::cout << "  " << m.preference << " " << m.host << (m.implicit ? " (implicit MX)" : "") << ": "
              << policy::to_string(m.verdict) << "\n"
              << "      " << m.reason << "\n";
    if (!m.addresses.empty()) {
      std::cout << "      addresses (" << dns::to_string(m.address_security) << "):";
      for (const auto& a : m.addresses) std::cout << " " << a.to_string();
      std::cout << "\n";
    }
  }
  std::cout.flush();
}

void run_policy(Context& ctx, PolicyOptions& o) {
  auto domain = domain_argument(o.domain, "DOMAIN");
  if (!domain) return fail(ctx, "policy", domain.error());
  o.domain = *domain;
  ctx.options.policy.local_policy_file = o.local_policy_file;
  ctx.options.mta_sts.cache_file = o.sts_cache;
  ctx.options.mta_sts.enabled = !o.no_mta_sts;
  auto rt = ctx.runtime();
  if (!rt) return fail(ctx, "policy", rt.error());
  const auto d = run_sync(ctx.io, (*rt)->policy_engine().decide(o.domain));
  if (ctx.json || o.json) {
    print_json(policy::to_json(d));
  } else {
    print_human(d);
  }
  ctx.exit_code = d.status == policy::DomainStatus::ok ? kExitOk : kExitFinding;
}

void add_policy(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<PolicyOptions>();
  CLI::App* cmd = app.add_subcommand("policy", "Decide per MX host how mail to DOMAIN must be protected (DANE, MTA-STS)");
  cmd->add_option("domain", opts->domain, "Recipient domain")->required()->type_name("DOMAIN");
  cmd->add_option("--local-policy", opts->local_policy_file,
                  "Per-domain overrides, lines \"domain level\" (none, may, encrypt, dane-only, verify)")
      ->type_name("FILE");
  cmd->add_option("--sts-cache", opts->sts_cache, "MTA-STS policy cache (SQLite file); default: this run only")
      ->type_name("FILE");
  cmd->add_flag("--no-mta-sts", opts->no_mta_sts, "Do not look up MTA-STS policies");
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output");
  cmd->callback([&ctx, opts] { run_policy(ctx, *opts); });
}

MXSEC_REGISTER_COMMAND(add_policy);

}  // namespace
}  // namespace mxsec::cli

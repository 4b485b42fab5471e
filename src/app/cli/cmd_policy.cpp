// app/cli/cmd_policy.cpp: `mxsec policy` - the transport-security decision
// for a recipient domain (RFC 7672 DANE, RFC 8461 MTA-STS, RFC 7505 null MX).
//
//   mxsec policy DOMAIN [--json] [--local-policy FILE] [--sts-cache FILE] [--no-mta-sts]
//   mxsec policy DOMAIN [--json] --config FILE
//
// With --config the decision is the one `mxsec serve` with that
// configuration would make: its [dns], [tls] ca_file, [mta_sts], [policy]
// and [outbound] build the runtime, and with an [outbound] relayhost the
// decision is the relay host's (PolicyEngine::decide_relayhost: all mail
// goes there; JSON key "relayhost"). The flags that set the same things
// (the global DNS/TLS flags, --local-policy, --sts-cache, --no-mta-sts) are
// refused alongside it rather than merged: one source for each setting.
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
#include <optional>

#include "app/cli/command.hpp"
#include "config/server_config.hpp"
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
  std::string config_file;
};

// --config: the server's runtime options replace the flags' (see the top).
// Returns the relay host the configuration names, if any.
Result<std::optional<policy::RelayHost>> use_server_config(const CLI::App& app, Context& ctx, const PolicyOptions& o) {
  for (const char* flag : {"--resolver", "--trust-anchor", "--private-zone", "--stub-zone", "--timeout", "--ca-file",
                           "--https-timeout"})
    if (app.get_option(flag)->count() > 0)
      return make_error(Errc::invalid_argument, std::string(flag) + " cannot be combined with --config (the "
                                                                    "configuration sets the resolver and TLS options)");
  if (!o.local_policy_file.empty() || !o.sts_cache.empty() || o.no_mta_sts)
    return make_error(Errc::invalid_argument, "--local-policy, --sts-cache and --no-mta-sts cannot be combined with "
                                              "--config (the configuration sets [policy], [mta_sts] and [outbound])");
  auto c = config::load_config(o.config_file);
  if (!c) return c.error();
  ctx.options = c->runtime;
  ctx.timeout_seconds = runtime::to_seconds(c->runtime.dns.timeout);
  ctx.https_timeout_seconds = runtime::to_seconds(c->runtime.mta_sts.fetch_timeout);
  return c->outbound.relay;
}

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

void run_policy(const CLI::App& app, Context& ctx, PolicyOptions& o) {
  auto domain = domain_argument(o.domain, "DOMAIN");
  if (!domain) return fail(ctx, "policy", domain.error());
  o.domain = *domain;
  std::optional<policy::RelayHost> relay;
  if (o.config_file.empty()) {
    ctx.options.policy.local_policy_file = o.local_policy_file;
    ctx.options.mta_sts.cache_file = o.sts_cache;
    ctx.options.mta_sts.enabled = !o.no_mta_sts;
  } else {
    auto server = use_server_config(app, ctx, o);
    if (!server) return fail(ctx, "policy", server.error());
    relay = *server;
  }
  auto rt = ctx.runtime();
  if (!rt) return fail(ctx, "policy", rt.error());
  const auto d = relay ? run_sync(ctx.io, (*rt)->policy_engine().decide_relayhost(*relay))
                       : run_sync(ctx.io, (*rt)->policy_engine().decide(o.domain));
  if (ctx.json || o.json) {
    auto j = policy::to_json(d);
    if (relay) j["relayhost"] = relay->text();
    print_json(j);
  } else {
    if (relay) std::cout << "mail to " << o.domain << " goes through the relay host " << relay->text() << "\n";
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
  cmd->add_option("--config", opts->config_file,
                  "Decide as `mxsec serve` with this TOML configuration would ([dns], [mta_sts], [policy], [outbound])")
      ->type_name("FILE");
  cmd->callback([&app, &ctx, opts] { run_policy(app, ctx, *opts); });
}

MXSEC_REGISTER_COMMAND(add_policy);

}  // namespace
}  // namespace mxsec::cli

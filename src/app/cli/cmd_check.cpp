// app/cli/cmd_check.cpp: `mxsec check` - one report of what a domain
// publishes for mail security and whether it works (docs/check.md).
//
//   mxsec check DOMAIN [--dkim-selector S]... [--no-probe] [--smtp-port N]
//               [--smtp-timeout SECONDS] [--ehlo NAME] [--sts-cache FILE] [--json]
//
// Exit codes: 0 no error-level finding; 1 at least one; 2 the check could not
// run (bad input, resolver or trust-anchor set-up failure).
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <memory>

#include "app/cli/command.hpp"
#include "check/report.hpp"
#include "core/strings.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::cli {
namespace {

struct CheckCliOptions {
  std::string domain;
  std::vector<std::string> selectors;
  bool no_probe = false;
  int smtp_port = 25;
  double smtp_timeout = 20;
  std::string ehlo;
  std::string sts_cache;
  bool json = false;
};

std::string local_host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  std::string name(buf);
  return is_valid_domain_name(name) ? name : "localhost";
}

void run_check_cmd(Context& ctx, CheckCliOptions& o) {
  auto domain = domain_argument(o.domain, "DOMAIN");
  if (!domain) return fail(ctx, "check", domain.error());
  o.domain = *domain;
  for (const auto& s : o.selectors)
    if (!is_valid_domain_name(s))
      return fail(ctx, "check", make_error(Errc::invalid_argument, "--dkim-selector '" + escape_for_log(s) + "' is not a selector"));
  if (o.smtp_port < 1 || o.smtp_port > 65535)
    return fail(ctx, "check", make_error(Errc::invalid_argument, "--smtp-port must be 1-65535"));
  if (o.smtp_timeout <= 0 || o.smtp_timeout > 600)
    return fail(ctx, "check", make_error(Errc::invalid_argument, "--smtp-timeout must be between 0 and 600 seconds"));
  if (!o.ehlo.empty() && !is_valid_domain_name(o.ehlo))
    return fail(ctx, "check", make_error(Errc::invalid_argument, "--ehlo '" + escape_for_log(o.ehlo) + "' is not a host name"));
  ctx.options.mta_sts.cache_file = o.sts_cache;
  auto rt = ctx.runtime();
  if (!rt) return fail(ctx, "check", rt.error());

  check::CheckOptions options;
  options.dkim_selectors = o.selectors;
  auto& t = options.transport;
  t.probe = !o.no_probe;
  t.smtp_port = static_cast<std::uint16_t>(o.smtp_port);
  t.ehlo_name = o.ehlo.empty() ? local_host_name() : o.ehlo;
  t.tls = (*rt)->tls_client_config();
  const auto step = std::chrono::milliseconds(static_cast<long>(o.smtp_timeout * 1000));
  t.timeouts.connect = step;
  t.timeouts.greeting = step;
  t.timeouts.command = step;
  t.timeouts.handshake = step;
  t.timeouts.total = 3 * step;
  t.now = (*rt)->clock().now();

  const auto report = run_sync(ctx.io, check::run_check((*rt)->resolver(), (*rt)->mta_sts(), o.domain, options));
  if (ctx.json || o.json) {
    print_json(check::to_json(report));
  } else {
    std::cout << check::render_text(report, ::isatty(STDOUT_FILENO) == 1) << std::flush;
  }
  ctx.exit_code = check::has_error(report) ? kExitFinding : kExitOk;
}

void add_check(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<CheckCliOptions>();
  CLI::App* cmd = app.add_subcommand("check", "Report what DOMAIN publishes for mail security and whether it works");
  cmd->add_option("domain", opts->domain, "Domain to check")->required()->type_name("DOMAIN");
  cmd->add_option("--dkim-selector", opts->selectors, "DKIM selector to check (repeatable)")
      ->type_name("S")
      ->allow_extra_args(false);
  cmd->add_flag("--no-probe", opts->no_probe, "Do not connect to the MX hosts (DNS and HTTPS checks only)");
  cmd->add_option("--smtp-port", opts->smtp_port, "SMTP port of the MX hosts")->capture_default_str();
  cmd->add_option("--smtp-timeout", opts->smtp_timeout, "Per-step SMTP/TLS timeout in seconds")->capture_default_str();
  cmd->add_option("--ehlo", opts->ehlo, "Name to send in EHLO (default: this host's name)")->type_name("NAME");
  cmd->add_option("--sts-cache", opts->sts_cache, "MTA-STS policy cache (SQLite file); default: this run only")
      ->type_name("FILE");
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output (schema: docs/check.md)");
  cmd->callback([&ctx, opts] { run_check_cmd(ctx, *opts); });
}

MXSEC_REGISTER_COMMAND(add_check);

}  // namespace
}  // namespace mxsec::cli

// mxsec: one binary, one subcommand per job. See README.md for usage.
#include <cstdio>
#include <exception>

#include "app/cli/command.hpp"

int main(int argc, char** argv) {
  using namespace mxsec::cli;
  Context ctx;
  CLI::App app{"mxsec: secure mail transport toolkit (SPF, DKIM, DMARC, DNSSEC, DANE, MTA-STS)", "mxsec"};
  app.require_subcommand(1);
  app.fallthrough();  // global options may also follow the subcommand
  app.set_version_flag("--version", "mxsec 0.1.0");
  app.add_option("--resolver", ctx.options.dns.forwarders, "Forward DNS queries to ADDR[:PORT] (repeatable); DNSSEC is still validated here")
      ->type_name("ADDR[:PORT]");
  app.add_option("--trust-anchor", ctx.options.dns.trust_anchor_files, "Extra DNSSEC trust anchor file, DS or DNSKEY lines (repeatable)")
      ->type_name("FILE");
  app.add_option("--private-zone", ctx.options.dns.private_zones, "Resolve this RFC 6761 special zone (e.g. test) instead of NXDOMAIN")
      ->type_name("ZONE");
  app.add_option("--stub-zone", ctx.options.dns.stub_zones, "Iterate to ADDR for ZONE instead of the normal path (repeatable)")
      ->type_name("ZONE=ADDR[:PORT]")
      ->allow_extra_args(false);  // one value per --stub-zone; positionals stay positional
  app.add_option("--timeout", ctx.timeout_seconds, "Per-query DNS timeout in seconds")->capture_default_str();
  app.add_option("--ca-file", ctx.options.tls.ca_file, "Extra trusted root certificates (PEM) for WebPKI checks (MTA-STS, verify)")
      ->type_name("FILE");
  app.add_option("--https-timeout", ctx.https_timeout_seconds, "Total timeout in seconds for an MTA-STS policy fetch")
      ->capture_default_str();
  app.add_flag("--json", ctx.json, "Machine-readable JSON output");
  for (CommandAdder add : command_registry()) add(app, ctx);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : kExitError;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mxsec: internal error: %s\n", e.what());
    return kExitError;
  }
  return ctx.exit_code;
}

// `mxsec dns NAME [TYPE]`: one validated DNS lookup, shown as the resolver
// saw it (status, DNSSEC security, why_bogus, TTL, records in zone-file form).
// `mxsec dns --self-test`: can the configured resolver path validate DNSSEC?
//
// Exit codes: 0 the question was answered (ok, nodata, nxdomain; secure or
// insecure) / the self-test says "validating"; 1 the answer is bogus or
// missing (servfail, timeout, resolver error) / the self-test says anything
// else; 2 bad arguments or resolver setup failure.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/command.hpp"
#include "dns/presentation.hpp"
#include "dns/run_sync.hpp"
#include "dns/unbound_resolver.hpp"

namespace mxsec::cli {
namespace {

struct DnsOptions {
  std::string name;
  std::string type = "A";
  bool self_test = false;
  bool json = false;
  std::string probe;
};

void run_self_test_cmd(Context& ctx, const DnsOptions& opts, dns::Resolver& resolver) {
  std::string probe = opts.probe;
  if (probe.empty()) {
    dns::ResolverConfig config;
    config.trust_anchor_files = ctx.options.dns.trust_anchor_files;
    auto p = dns::self_test_probe(config);
    if (!p) return fail(ctx, "dns --self-test", p.error());
    probe = *p;
  }
  const dns::SelfTest t = run_sync(ctx.io, dns::run_self_test(resolver, probe));
  if (opts.json || ctx.json) {
    print_json({{"outcome", dns::to_string(t.outcome)}, {"probe", t.probe_name}, {"message", t.message}});
  } else {
    std::printf("self-test: %s\n%s\n", dns::to_string(t.outcome), t.message.c_str());
  }
  ctx.exit_code = t.outcome == dns::SelfTest::Outcome::validating ? kExitOk : kExitFinding;
}

void run_dns(Context& ctx, const DnsOptions& opts) {
  // Live answers with their TTLs as served: the uncached resolver.
  auto rt = ctx.runtime();
  if (!rt) return fail(ctx, "dns", rt.error());
  dns::Resolver* resolver = &(*rt)->validating_resolver();
  if (opts.self_test) return run_self_test_cmd(ctx, opts, *resolver);
  if (opts.name.empty()) return fail(ctx, "dns", make_error(Errc::invalid_argument, "NAME is required (or --self-test)"));
  const auto type = dns::parse_rr_type(opts.type);
  if (!type) return fail(ctx, "dns", make_error(Errc::invalid_argument, "unknown record type '" + opts.type + "'"));

  dns::RawAnswer a = run_sync(ctx.io, resolver->resolve(opts.name, *type));
  std::vector<std::string> records;
  for (const auto& rd : a.rdata) {
    auto text = dns::rdata_to_text(*type, rd);
    if (!text) {
      // Same rule as the typed helpers: one malformed record spoils the answer.
      a.status = dns::Status::error;
      a.error = "malformed record: " + text.error().message;
      records.clear();
      break;
    }
    records.push_back(std::move(*text));
  }
  const std::string type_name = dns::rr_type_name(*type);
  const std::string qname = a.qname.empty() ? std::string(".") : a.qname + ".";
  if (opts.json || ctx.json) {
    nlohmann::json j{{"name", qname},
                     {"type", type_name},
                     {"status", dns::to_string(a.status)},
                     {"security", dns::to_string(a.security)},
                     {"why_bogus", a.why_bogus},
                     {"ttl", a.ttl},
                     {"records", records}};
    if (!a.canonical_name.empty()) j["canonical_name"] = a.canonical_name + ".";
    if (!a.error.empty()) j["error"] = a.error;
    print_json(j);
  } else {
    std::printf("%s %s\n", qname.c_str(), type_name.c_str());
    std::printf("  status:    %s\n", dns::to_string(a.status));
    std::printf("  security:  %s\n", dns::to_string(a.security));
    if (!a.why_bogus.empty()) std::printf("  why_bogus: %s\n", a.why_bogus.c_str());
    if (!a.error.empty()) std::printf("  error:     %s\n", a.error.c_str());
    if (!a.canonical_name.empty()) std::printf("  canonical: %s.\n", a.canonical_name.c_str());
    std::printf("  ttl:       %u\n", a.ttl);
    for (const auto& r : records) std::printf("  %s %s\n", type_name.c_str(), r.c_str());
  }
  const bool answered = (a.status == dns::Status::ok || a.status == dns::Status::nodata ||
                         a.status == dns::Status::nxdomain) &&
                        a.security != dns::Security::bogus;
  ctx.exit_code = answered ? kExitOk : kExitFinding;
}

void add_dns(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<DnsOptions>();
  CLI::App* cmd = app.add_subcommand("dns", "Look up one DNS record with DNSSEC validation, or run the resolver self-test");
  cmd->add_option("name", opts->name, "Domain name to look up");
  cmd->add_option("type", opts->type, "Record type: A AAAA MX TXT TLSA PTR CNAME NS SOA DS DNSKEY or TYPEnnn")
      ->capture_default_str();
  cmd->add_flag("--self-test", opts->self_test,
                "Check that the resolver path validates DNSSEC (exit 1 unless 'validating')");
  cmd->add_option("--probe", opts->probe,
                  "Self-test probe name (default: apex of the first --trust-anchor, else the root)");
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output");
  cmd->callback([&ctx, opts] { run_dns(ctx, *opts); });
}

}  // namespace

MXSEC_REGISTER_COMMAND(add_dns);

}  // namespace mxsec::cli

// app/cli/cmd_spf.cpp: `mxsec spf` - evaluate SPF (RFC 7208) for one SMTP
// transaction, as a receiving MTA would.
//
//   mxsec spf --ip IP --helo NAME [--sender ADDR] [--receiver NAME] [--json]
//
// An empty or absent --sender (or "<>") is the null reverse-path: the HELO
// identity is checked with postmaster@NAME (RFC 7208 §2.4).
// Exit codes: 0 pass, neutral or none; 1 fail, softfail, temperror or
// permerror; 2 bad input or no resolver.
// JSON keys: result, explanation, lookups, void_lookups, domain, identity,
// reason, mechanism, record, dns_queries.
#include <cstdio>
#include <iostream>
#include <memory>

#include "app/cli/command.hpp"
#include "app/cli/report_json.hpp"
#include "auth/spf/spf.hpp"
#include "codec/address.hpp"
#include "core/strings.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::cli {
namespace {

struct SpfOptions {
  std::string ip;
  std::string helo;
  std::string sender;
  std::string receiver;
  bool json = false;
};

bool printable_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) return false;
  return true;
}

// Checks the operator's input; SPF verdicts are left to check_host().
Result<void> validate(SpfOptions& o, IpAddress& ip) {
  auto parsed = IpAddress::parse(o.ip);
  if (!parsed) return make_error(Errc::invalid_argument, "--ip '" + escape_for_log(o.ip) + "' is not an IPv4 or IPv6 address");
  ip = *parsed;
  if (o.helo.empty() || o.helo.size() > 255 || !printable_ascii(o.helo))
    return make_error(Errc::invalid_argument, "--helo '" + escape_for_log(o.helo) + "' is not a HELO name");
  // RFC 5321 §4.5.3.1.3: a path is at most 256 octets.
  if (o.sender.size() > 256 || !printable_ascii(o.sender))
    return make_error(Errc::invalid_argument, "--sender '" + escape_for_log(o.sender) + "' is not a mail address");
  auto path = codec::parse_path(o.sender);
  if (!path)
    return make_error(Errc::invalid_argument, "--sender '" + escape_for_log(o.sender) + "': " + path.error().message);
  o.sender = path->domain.empty() ? std::string() : path->local_part + "@" + path->domain;
  if (!o.receiver.empty() && (!printable_ascii(o.receiver) || o.receiver.size() > 255))
    return make_error(Errc::invalid_argument, "--receiver '" + escape_for_log(o.receiver) + "' is not a host name");
  return {};
}

void print_human(const auth::spf::SpfResult& r, const std::string& ip) {
  std::cout << "spf: " << auth::spf::to_string(r.verdict) << "\n"
            << "  identity:     " << auth::spf::to_string(r.identity) << "\n"
            << "  domain:       " << escape_for_log(r.domain) << "\n"
            << "  client:       " << ip << "\n";
  if (!r.mechanism.empty()) std::cout << "  mechanism:    " << escape_for_log(r.mechanism) << "\n";
  if (!r.record.empty()) std::cout << "  record:       " << escape_for_log(r.record, 512) << "\n";
  if (!r.explanation.empty()) std::cout << "  explanation:  " << escape_for_log(r.explanation, 512) << "\n";
  if (!r.reason.empty()) std::cout << "  reason:       " << escape_for_log(r.reason, 512) << "\n";
  std::cout << "  lookups:      " << r.lookups << " DNS terms, " << r.void_lookups << " void, " << r.dns_queries
            << " queries" << std::endl;
}

void run_spf(Context& ctx, SpfOptions& o) {
  IpAddress ip;
  if (auto v = validate(o, ip); !v) return fail(ctx, "spf", v.error());
  auto resolver = ctx.resolver();
  if (!resolver) return fail(ctx, "spf", resolver.error());
  auth::spf::Config config;
  const auto r = run_sync(ctx.io, auth::spf::check_sender(**resolver, ip, o.helo, o.sender, o.receiver, config));
  if (ctx.json || o.json) {
    print_json(spf_json(r));
  } else {
    print_human(r, ip.to_string());
  }
  using auth::spf::Verdict;
  const bool negative = r.verdict == Verdict::fail || r.verdict == Verdict::softfail ||
                        r.verdict == Verdict::temperror || r.verdict == Verdict::permerror;
  ctx.exit_code = negative ? kExitFinding : kExitOk;
}

void add_spf(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<SpfOptions>();
  CLI::App* cmd = app.add_subcommand("spf", "Evaluate SPF (RFC 7208) for a client IP, HELO name and MAIL FROM");
  cmd->add_option("--ip", opts->ip, "SMTP client IP address (IPv4 or IPv6)")->required()->type_name("IP");
  cmd->add_option("--helo", opts->helo, "HELO/EHLO name the client gave")->required()->type_name("NAME");
  cmd->add_option("--sender", opts->sender, "MAIL FROM address; empty or <> checks postmaster@HELO")->type_name("ADDR");
  cmd->add_option("--receiver", opts->receiver, "this host's name, for %{r} in explanations")->type_name("NAME");
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output");
  cmd->callback([&ctx, opts] { run_spf(ctx, *opts); });
}

MXSEC_REGISTER_COMMAND(add_spf);

}  // namespace
}  // namespace mxsec::cli

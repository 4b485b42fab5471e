// `mxsec verify --ip IP --helo NAME --sender ADDR < message`: SPF, DKIM and
// DMARC on one message; prints the Authentication-Results header, or with
// --json every result. Exit 0 when the checks ran (whatever the verdicts),
// 2 when they could not (bad arguments, unreadable message, resolver set-up).
#include <unistd.h>

#include <cstdio>

#include "app/cli/command.hpp"
#include "app/cli/report_json.hpp"
#include "auth/verify/verify.hpp"
#include "codec/address.hpp"
#include "codec/message.hpp"
#include "core/strings.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::cli {
namespace {

struct VerifyOptions {
  std::string ip;
  std::string helo;
  std::string sender;
  std::string authserv_id;
  bool json = false;
};

std::string default_authserv_id() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "localhost";
  return host;
}

void run(Context& ctx, const VerifyOptions& o) {
  auth::VerifyInput input;
  auto ip = IpAddress::parse(o.ip);
  if (!ip) return fail(ctx, "verify", make_error(Errc::invalid_argument, "--ip is not an IPv4 or IPv6 address: " + escape_for_log(o.ip, 60)));
  input.ip = *ip;
  if (!is_valid_domain_name(o.helo) && !IpAddress::parse(o.helo))
    return fail(ctx, "verify", make_error(Errc::invalid_argument, "--helo is not a host name: " + escape_for_log(o.helo, 60)));
  input.helo = o.helo;
  if (auto path = codec::parse_path(o.sender); !path)
    return fail(ctx, "verify", make_error(Errc::invalid_argument, "--sender: " + path.error().message));
  input.mail_from = o.sender;
  input.authserv_id = o.authserv_id.empty() ? default_authserv_id() : o.authserv_id;
  input.receiver = input.authserv_id;

  auth::VerifyConfig config;
  auto raw = read_stdin(config.message.max_message_bytes);
  if (!raw) return fail(ctx, "verify", raw.error());
  const std::string message = codec::normalize_crlf(*raw);
  auto resolver = ctx.resolver();
  if (!resolver) return fail(ctx, "verify", resolver.error());

  SystemClock clock;
  auth::dkim::Verifier verifier;
  auto verdict = run_sync(ctx.io, auth::verify_message(**resolver, clock, verifier, message, input, config));
  if (!verdict) return fail(ctx, "verify: message", verdict.error());

  if (o.json || ctx.json) {
    nlohmann::json j{{"spf", spf_json(verdict->spf)},
                     {"dkim", dkim_json(verdict->dkim)},
                     {"dmarc", dmarc_json(verdict->dmarc, verdict->from_domain)},
                     {"authentication_results", std::string(trim(verdict->auth_results_header))}};
    if (!verdict->from_error.empty()) j["dmarc"]["from_error"] = verdict->from_error;
    print_json(j);
  } else {
    std::fputs(verdict->auth_results_header.c_str(), stdout);
  }
}

void add_verify(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<VerifyOptions>();
  auto* cmd = app.add_subcommand("verify", "Run SPF, DKIM and DMARC on a message from stdin; print Authentication-Results");
  cmd->add_option("--ip", opts->ip, "SMTP client IP address")->required();
  cmd->add_option("--helo", opts->helo, "HELO/EHLO name the client gave")->required();
  cmd->add_option("--sender", opts->sender, "MAIL FROM address (empty or <> for the null path)")->required();
  cmd->add_option("--authserv-id", opts->authserv_id, "authserv-id for Authentication-Results (default: host name)");
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output");
  cmd->callback([&ctx, opts] { run(ctx, *opts); });
}

MXSEC_REGISTER_COMMAND(add_verify);

}  // namespace
}  // namespace mxsec::cli

// app/cli/cmd_probe.cpp: `mxsec probe` - connect to one SMTP server, EHLO,
// STARTTLS (SNI = the host name), and show the protocol, cipher, certificate
// chain, whether the chain matches the host's TLSA records (DANE, RFC 7672)
// and whether it is WebPKI-valid for the name (MTA-STS, RFC 8461 §4.1).
// It sends no mail.
//
//   mxsec probe HOST[:PORT] [--address IP] [--domain D] [--ehlo NAME]
//               [--smtp-timeout SECONDS] [--json]
//
// HOST is the MX host name (its A/AAAA and TLSA records are looked up; TLSA
// only counts when the addresses and the TLSA RRset are DNSSEC-secure) or an
// IP literal (then no DANE, and WebPKI is judged for --domain's MX name if
// given). --domain D adds the next-hop domain as a DANE reference name and
// reports whether HOST matches D's MTA-STS policy.
// Exit codes: 0 TLS established and every applicable check passed (DANE
// when usable TLSA exist; WebPKI when D has an MTA-STS policy); 1 otherwise;
// 2 bad input or set-up failure.
#include <unistd.h>

#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "app/cli/command.hpp"
#include "check/transport.hpp"
#include "core/strings.hpp"
#include "dns/run_sync.hpp"
#include "policy/engine/engine.hpp"
#include "smtp/client/probe.hpp"
#include "tls/dane/tlsa.hpp"

namespace mxsec::cli {
namespace {

struct ProbeCliOptions {
  std::string target;
  std::string address;
  std::string domain;
  std::string ehlo;
  double smtp_timeout = 20;
  bool json = false;
};

struct Target {
  std::string host;
  std::uint16_t port = 25;
  std::optional<IpAddress> literal;
};

Result<Target> parse_target(const std::string& s) {
  Target t;
  std::string host = s;
  // "[v6]:port", "host:port", "v4:port", bare v6.
  if (!s.empty() && s.front() == '[') {
    auto close = s.find(']');
    if (close == std::string::npos) return make_error(Errc::invalid_argument, "unbalanced '[' in " + escape_for_log(s));
    host = s.substr(1, close - 1);
    if (close + 1 < s.size()) {
      if (s[close + 1] != ':') return make_error(Errc::invalid_argument, "expected :PORT after ] in " + escape_for_log(s));
      auto port = parse_uint(std::string_view(s).substr(close + 2), 65535);
      if (!port || *port == 0) return make_error(Errc::invalid_argument, "bad port in " + escape_for_log(s));
      t.port = static_cast<std::uint16_t>(*port);
    }
  } else if (std::count(s.begin(), s.end(), ':') == 1) {
    auto colon = s.find(':');
    host = s.substr(0, colon);
    auto port = parse_uint(std::string_view(s).substr(colon + 1), 65535);
    if (!port || *port == 0) return make_error(Errc::invalid_argument, "bad port in " + escape_for_log(s));
    t.port = static_cast<std::uint16_t>(*port);
  }
  t.literal = IpAddress::parse(host);
  if (t.literal) {
    t.host = host;
    return t;
  }
  auto name = domain_argument(host, "target");
  if (!name)
    return make_error(Errc::invalid_argument, "'" + escape_for_log(host) + "' is neither a host name nor an IP address");
  t.host = *name;
  return t;
}

// The TLSA records in JSON: the engine's view (qname, DNSSEC status, every
// record) plus whether DANE applies to this session.
nlohmann::json tlsa_json(const policy::MxDecision& m, bool dane) {
  nlohmann::json t = {{"looked_up", m.tlsa.looked_up}, {"address_security", dns::to_string(m.address_security)}};
  if (m.tlsa.looked_up) {
    t["qname"] = m.tlsa.qname;
    t["status"] = dns::to_string(m.tlsa.status);
    t["security"] = dns::to_string(m.tlsa.security);
    if (!m.tlsa.why_bogus.empty()) t["why_bogus"] = m.tlsa.why_bogus;
    nlohmann::json recs = nlohmann::json::array();
    for (const auto* set : {&m.tlsa.usable, &m.tlsa.unusable})
      for (const auto& r : *set) recs.push_back(tls::dane::to_text(r));
    t["records"] = std::move(recs);
  }
  t["usable"] = dane;
  return t;
}

// What one probe found: the target, the engine's decision for it, the
// session, and the checks that apply.
struct ProbeReport {
  Target target;
  IpAddress address;
  std::string name;  // the name WebPKI is judged for: HOST, or --domain for an IP literal
  std::optional<policy::MxDecision> decision;  // none for an IP literal
  std::optional<policy::mtasts::StsLookup> sts_lookup;  // --domain's MTA-STS policy
  smtp::ProbeResult result;
  std::int64_t now = 0;
  std::optional<bool> sts_match;  // the host matches an applicable MTA-STS policy
  bool ok = false;

  policy::Verdict verdict() const { return decision ? decision->verdict : policy::Verdict::opportunistic; }
  bool dane() const { return verdict() == policy::Verdict::dane; }
};

// --domain and --smtp-timeout; the target and --address are parsed apart.
Result<void> check_options(ProbeCliOptions& o) {
  if (!o.domain.empty()) {
    auto domain = domain_argument(o.domain, "--domain");
    if (!domain) return domain.error();
    o.domain = *domain;
  }
  if (o.smtp_timeout <= 0 || o.smtp_timeout > 600)
    return make_error(Errc::invalid_argument, "--smtp-timeout must be between 0 and 600 seconds");
  return Result<void>{};
}

// The session as a sender under the engine's decision would open it.
smtp::ProbeRequest probe_request(const ProbeReport& r, const ProbeCliOptions& o, const std::string& ca_file) {
  smtp::ProbeRequest req;
  req.address = r.address;
  req.port = r.target.port;
  req.ehlo_name = o.ehlo.empty() ? "localhost" : o.ehlo;
  req.mx_host = r.name;
  if (r.decision) {
    req.reference_names = r.decision->reference_names;
    if (r.dane()) req.tlsa = r.decision->tlsa.usable;
    // RFC 7672 §2.2: secure records, none usable: TLS without authentication.
    else if (r.verdict() == policy::Verdict::dane_unusable_tls_required) req.tlsa = std::vector<dns::TlsaRecord>{};
  }
  if (!ca_file.empty()) req.tls.ca_files.push_back(ca_file);
  const auto step = std::chrono::milliseconds(static_cast<long>(o.smtp_timeout * 1000));
  req.timeouts.connect = req.timeouts.greeting = req.timeouts.command = req.timeouts.handshake = step;
  req.timeouts.total = 3 * step;
  return req;
}

// The exit verdict: TLS, and the check that applies (DANE when usable TLSA
// records exist, else WebPKI and the mx patterns when an MTA-STS policy
// applies, RFC 8461 §4).
void assess(ProbeReport& r) {
  bool sts_applies = false;
  const auto& sts = r.sts_lookup;
  if (sts && sts->policy && sts->policy->mode != policy::mtasts::Mode::none) {
    sts_applies = true;
    r.sts_match = r.decision && r.decision->sts_mx_match ? *r.decision->sts_mx_match
                                                         : policy::mtasts::policy_matches_mx(*sts->policy, r.name);
  }
  const bool webpki_ok = r.result.webpki && r.result.webpki->verdict == tls::WebPkiVerdict::ok;
  // A host the engine defers gets no mail, whatever the session shows.
  r.ok = r.result.tls_established && r.verdict() != policy::Verdict::defer;
  if (r.dane()) r.ok = r.ok && r.result.dane.status == tls::dane::DaneStatus::matched;
  else if (sts_applies) r.ok = r.ok && webpki_ok && r.sts_match.value_or(false);
}

nlohmann::json report_json(const ProbeReport& r, const ProbeCliOptions& o) {
  nlohmann::json j = check::probe_json(r.result, r.now);
  j["host"] = r.target.host;
  j["address"] = r.address.to_string();
  j["port"] = r.target.port;
  j["name"] = r.name;
  if (r.decision) {
    j["policy"] = policy::to_string(r.decision->verdict);
    j["policy_reason"] = r.decision->reason;
    if (r.decision->defer_cause != policy::DeferCause::none)
      j["defer_cause"] = policy::to_string(r.decision->defer_cause);
    j["sni"] = r.decision->sni_name();
    j["tlsa"] = tlsa_json(*r.decision, r.dane());
  } else {
    j["tlsa"] = {{"looked_up", false}, {"usable", false}};
  }
  if (r.sts_lookup) {
    j["mta_sts"] = {{"domain", normalize_domain(o.domain)},
                    {"mode", r.sts_lookup->policy ? nlohmann::json(policy::mtasts::to_string(r.sts_lookup->policy->mode))
                                                  : nlohmann::json(nullptr)},
                    {"mx_match", r.sts_match ? nlohmann::json(*r.sts_match) : nlohmann::json(nullptr)}};
    if (!r.sts_lookup->detail.empty()) j["mta_sts"]["detail"] = r.sts_lookup->detail;
  }
  j["ok"] = r.ok;
  return j;
}

// The session: banner, STARTTLS, TLS parameters and the certificate chain.
void print_session(const ProbeReport& r) {
  const smtp::ProbeResult& result = r.result;
  std::cout << "probe " << r.target.host << " [" << r.address.to_string() << "]:" << r.target.port << "\n";
  if (result.banner) std::cout << "  banner:   " << escape_for_log(result.banner->to_log_string(), 200) << "\n";
  if (!result.connected) std::cout << "  connect:  failed\n";
  else std::cout << "  STARTTLS: " << (result.starttls_offered ? "offered" : "not offered") << "\n";
  if (result.tls_established) std::cout << "  TLS:      " << result.protocol << ", " << result.cipher << "\n";
  for (std::size_t i = 0; i < result.peer_chain.size(); ++i) {
    const auto& c = result.peer_chain[i];
    std::cout << "  cert[" << i << "]:  " << escape_for_log(c.subject, 160) << "\n"
              << "            issuer " << escape_for_log(c.issuer, 160) << ", " << c.key_type << " " << c.key_bits
              << ", SPKI SHA-256 " << c.spki_sha256_hex << "\n";
  }
}

// The policy, the DANE, WebPKI and MTA-STS checks, and the verdict.
void print_checks(const ProbeReport& r) {
  const smtp::ProbeResult& result = r.result;
  if (const auto& decision = r.decision) {
    std::cout << "  policy:   " << policy::to_string(decision->verdict) << " (" << escape_for_log(decision->reason, 300)
              << ")\n";
    if (decision->tlsa.looked_up) {
      std::cout << "  TLSA:     " << decision->tlsa.qname << " " << dns::to_string(decision->tlsa.status) << ", "
                << dns::to_string(decision->tlsa.security) << (r.dane() ? "" : " (not used for DANE)") << "\n";
      for (const auto* set : {&decision->tlsa.usable, &decision->tlsa.unusable})
        for (const auto& rec : *set) std::cout << "            " << tls::dane::to_text(rec) << "\n";
    }
  }
  if (result.dane.status != tls::dane::DaneStatus::not_requested)
    std::cout << "  DANE:     " << tls::dane::to_string(result.dane.status)
              << (result.dane.status == tls::dane::DaneStatus::matched
                      ? " (depth " + std::to_string(result.dane.matched_depth) + ")"
                      : " (" + result.dane.verify_error_text + ")")
              << "\n";
  if (result.webpki)
    std::cout << "  WebPKI:   " << tls::to_string(result.webpki->verdict) << " for " << r.name
              << (result.webpki->error_text.empty() ? "" : " (" + result.webpki->error_text + ")") << "\n";
  if (r.sts_lookup)
    std::cout << "  MTA-STS:  " << (r.sts_lookup->policy ? policy::mtasts::to_string(r.sts_lookup->policy->mode) : "no policy")
              << (r.sts_match ? (*r.sts_match ? ", host listed" : ", host NOT listed") : "") << "\n";
  if (result.failure)
    std::cout << "  error:    " << smtp::to_string(result.failure->stage) << ": "
              << escape_for_log(result.failure->error.message, 300) << "\n";
  if (result.tlsrpt_failure) std::cout << "  TLS-RPT:  " << policy::tlsrpt::to_string(*result.tlsrpt_failure) << "\n";
  std::cout << "  verdict:  " << (r.ok ? "ok" : "FAILED") << std::endl;
}

void run_probe(Context& ctx, ProbeCliOptions& o) {
  auto target = parse_target(o.target);
  if (!target) return fail(ctx, "probe", target.error());
  if (auto checked = check_options(o); !checked) return fail(ctx, "probe", checked.error());
  std::optional<IpAddress> address = target->literal;
  if (!o.address.empty()) {
    address = IpAddress::parse(o.address);
    if (!address) return fail(ctx, "probe", make_error(Errc::invalid_argument, "--address is not an IP address"));
  }
  auto rt = ctx.runtime();
  if (!rt) return fail(ctx, "probe", rt.error());

  ProbeReport r;
  r.target = *target;
  // One decision path: DNS facts, DANE and MTA-STS applicability come from
  // the policy engine, exactly as for `mxsec policy` and `mxsec check`.
  if (!target->literal) {
    r.decision = run_sync(ctx.io, (*rt)->policy_engine().decide_named_host(o.domain, target->host));
    if (!address) {
      if (r.decision->addresses.empty())
        return fail(ctx, "probe", make_error(Errc::dns, target->host + ": " + r.decision->reason));
      address = r.decision->addresses.front();
    }
  }
  r.address = *address;
  r.name = target->literal ? (o.domain.empty() ? target->host : o.domain) : target->host;

  // For an IP literal there is no host to decide; only the domain's MTA-STS
  // policy (with --domain) is consulted.
  if (!o.domain.empty() && (*rt)->mta_sts() != nullptr)
    r.sts_lookup = run_sync(ctx.io, (*rt)->mta_sts()->lookup(o.domain));

  r.result = run_sync(ctx.io, smtp::probe(probe_request(r, o, ctx.options.tls.ca_file)));
  r.now = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
              .count();
  assess(r);

  if (ctx.json || o.json) {
    print_json(report_json(r, o));
  } else {
    print_session(r);
    print_checks(r);
  }
  ctx.exit_code = r.ok ? kExitOk : kExitFinding;
}

void add_probe(CLI::App& app, Context& ctx) {
  auto opts = std::make_shared<ProbeCliOptions>();
  CLI::App* cmd = app.add_subcommand("probe", "Connect to an SMTP server, STARTTLS, and check its certificate (DANE, WebPKI)");
  cmd->add_option("target", opts->target, "MX host name or IP address, optionally :PORT (default 25)")
      ->required()
      ->type_name("HOST[:PORT]");
  cmd->add_option("--address", opts->address, "Connect to this address instead of HOST's A/AAAA")->type_name("IP");
  cmd->add_option("--domain", opts->domain, "Next-hop (recipient) domain: DANE reference name and MTA-STS policy")
      ->type_name("D");
  cmd->add_option("--ehlo", opts->ehlo, "Name to send in EHLO")->type_name("NAME");
  cmd->add_option("--smtp-timeout", opts->smtp_timeout, "Per-step SMTP/TLS timeout in seconds")->capture_default_str();
  cmd->add_flag("--json", opts->json, "Machine-readable JSON output");
  cmd->callback([&ctx, opts] { run_probe(ctx, *opts); });
}

MXSEC_REGISTER_COMMAND(add_probe);

}  // namespace
}  // namespace mxsec::cli

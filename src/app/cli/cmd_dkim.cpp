// `mxsec dkim keygen|sign|verify`: DKIM key generation, signing and
// verification (RFC 6376, RFC 8301, RFC 8463) on the command line.
//
//   mxsec dkim keygen --type rsa|ed25519 [--bits N] --domain D --selector S --out KEYFILE [--json]
//       writes the private key (PEM, mode 0600, never overwrites) and prints
//       the zone-file TXT record to publish.
//   mxsec dkim sign --domain D --selector S --key KEYFILE [--canon relaxed/relaxed] < msg > signed
//       LF line ends are turned into CRLF first; prints the DKIM-Signature
//       field followed by the message.
//   mxsec dkim verify [--json] [--txt-record NAME=VALUE]... [--txt-file NAME=FILE]... [--now UNIX] < msg
//       without --txt-record/--txt-file the key records come from DNS (the
//       global resolver options apply); with them, only those records exist
//       (every other name is NXDOMAIN), for tests without DNS.
//
// Exit codes: 0 keygen/sign succeeded or verify found a passing signature;
// 1 verify found none that passes (or the message is unsigned); 2 bad input.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "app/cli/command.hpp"
#include "core/file.hpp"
#include "app/cli/report_json.hpp"
#include "auth/dkim/dkim.hpp"
#include "codec/message.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"
#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::cli {
namespace {

using namespace mxsec::auth::dkim;

constexpr std::size_t kKeyFileBytes = 64 * 1024;

struct KeygenOptions {
  std::string type = "rsa";
  int bits = 2048;
  std::string domain, selector, out;
  bool json = false;
};

struct SignOptions {
  std::string domain, selector, key, canon = "relaxed/relaxed", identity;
  std::int64_t now = -1;
};

struct VerifyOptions {
  std::vector<std::string> txt_records;
  std::vector<std::string> txt_files;
  std::int64_t now = -1;
  std::string l_policy = "fail";
  bool json = false;
};

Result<std::pair<Canon, Canon>> parse_canon(const std::string& s) {
  const auto parts = split(s, '/');
  auto one = [](std::string_view p) -> std::optional<Canon> {
    if (p == "simple") return Canon::simple;
    if (p == "relaxed") return Canon::relaxed;
    return std::nullopt;
  };
  if (parts.size() > 2) return make_error(Errc::invalid_argument, "--canon must be HEADER/BODY, e.g. relaxed/relaxed");
  const auto h = one(parts[0]);
  const auto b = parts.size() == 2 ? one(parts[1]) : std::optional<Canon>(Canon::simple);
  if (!h || !b) return make_error(Errc::invalid_argument, "--canon: use simple or relaxed, e.g. relaxed/simple");
  return std::make_pair(*h, *b);
}

void run_keygen(Context& ctx, const KeygenOptions& o) {
  KeyType type;
  if (o.type == "rsa") type = KeyType::rsa;
  else if (o.type == "ed25519") type = KeyType::ed25519;
  else return fail(ctx, "dkim keygen", make_error(Errc::invalid_argument, "--type must be rsa or ed25519"));
  auto domain = domain_argument(o.domain, "--domain");
  if (!domain) return fail(ctx, "dkim keygen", domain.error());
  if (!is_valid_domain_name(o.selector))
    return fail(ctx, "dkim keygen", make_error(Errc::invalid_argument, "--selector is not a valid selector"));
  auto key = generate_key(type, o.bits);
  if (!key) return fail(ctx, "dkim keygen", key.error());
  if (auto w = write_private_key(o.out, key->private_pem); !w) return fail(ctx, "dkim keygen", w.error());
  const std::string record = key_record_text(type, key->public_b64);
  const std::string zone = zone_record(o.selector, *domain, record);
  if (o.json || ctx.json) {
    print_json({{"name", o.selector + "._domainkey." + *domain},
                {"type", to_string(type)},
                {"bits", key->bits},
                {"key_file", o.out},
                {"record", record},
                {"txt_strings", split_txt_strings(record)},
                {"zone", zone}});
  } else {
    std::printf("%s\n", zone.c_str());
  }
}

void run_sign(Context& ctx, const SignOptions& o) {
  auto canon = parse_canon(o.canon);
  if (!canon) return fail(ctx, "dkim sign", canon.error());
  auto key_bytes = read_file_bounded(o.key, kKeyFileBytes, "key file");
  if (!key_bytes) return fail(ctx, "dkim sign", key_bytes.error());
  SignerConfig config;
  config.domain = o.domain;
  config.selector = o.selector;
  config.identity = o.identity;
  config.header_canon = canon->first;
  config.body_canon = canon->second;
  auto signer = Signer::from_key_bytes(*key_bytes, std::move(config));
  if (!signer) return fail(ctx, "dkim sign", signer.error());
  auto input = read_stdin(limits::kMessageBytes);
  if (!input) return fail(ctx, "dkim sign", input.error());
  const std::string bytes = codec::normalize_crlf(*input);
  auto msg = codec::parse_message(bytes);
  if (!msg) return fail(ctx, "dkim sign: message", msg.error());
  SystemClock system_clock;
  FixedClock fixed(o.now);
  const Clock& clock = o.now >= 0 ? static_cast<const Clock&>(fixed) : system_clock;
  auto field = signer->sign(*msg, clock);
  if (!field) return fail(ctx, "dkim sign", field.error());
  std::fwrite(field->data(), 1, field->size(), stdout);
  std::fwrite(bytes.data(), 1, bytes.size(), stdout);
}

Result<void> load_records(dns::FakeResolver& fake, const VerifyOptions& o) {
  auto add = [&](std::string_view spec, bool from_file) -> Result<void> {
    const std::size_t eq = spec.find('=');
    if (eq == std::string_view::npos || eq == 0)
      return make_error(Errc::invalid_argument, std::string(from_file ? "--txt-file" : "--txt-record") +
                                                    " expects NAME=" + (from_file ? "FILE" : "VALUE"));
    const std::string name(spec.substr(0, eq));
    if (!is_valid_domain_name(normalize_domain(name)))
      return make_error(Errc::invalid_argument, "not a domain name: " + escape_for_log(name, 80));
    std::string value(spec.substr(eq + 1));
    if (from_file) {
      auto text = read_file_bounded(value, limits::kDkimKeyRecordBytes * 2, "key record file");
      if (!text) return text.error();
      value = std::string(trim(*text));
    }
    fake.add_txt(name, split_txt_strings(value));
    return {};
  };
  for (const auto& r : o.txt_records)
    if (auto x = add(r, false); !x) return x;
  for (const auto& r : o.txt_files)
    if (auto x = add(r, true); !x) return x;
  return {};
}

void run_verify(Context& ctx, const VerifyOptions& o) {
  Config config;
  if (o.l_policy == "fail") config.l_tag_policy = LTagPolicy::fail;
  else if (o.l_policy == "accept") config.l_tag_policy = LTagPolicy::accept;
  else return fail(ctx, "dkim verify", make_error(Errc::invalid_argument, "--l-policy must be fail or accept"));

  dns::FakeResolver fake;
  dns::Resolver* resolver = &fake;
  if (!o.txt_records.empty() || !o.txt_files.empty()) {
    if (auto r = load_records(fake, o); !r) return fail(ctx, "dkim verify", r.error());
  } else {
    auto real = ctx.resolver();
    if (!real) return fail(ctx, "dkim verify: resolver", real.error());
    resolver = *real;
  }
  auto input = read_stdin(limits::kMessageBytes);
  if (!input) return fail(ctx, "dkim verify", input.error());
  const std::string bytes = codec::normalize_crlf(*input);
  auto msg = codec::parse_message(bytes);
  if (!msg) return fail(ctx, "dkim verify: message", msg.error());

  SystemClock system_clock;
  FixedClock fixed(o.now);
  const Clock& clock = o.now >= 0 ? static_cast<const Clock&>(fixed) : system_clock;
  Verifier verifier(config);
  const VerifyResult r = run_sync(ctx.io, verifier.verify(*msg, *resolver, clock));

  if (o.json || ctx.json) {
    print_json(dkim_json(r));
  } else if (r.signatures.empty()) {
    std::printf("dkim=none (no DKIM-Signature field)\n");
  } else {
    for (const auto& s : r.signatures) {
      std::printf("dkim=%s header.d=%s header.s=%s header.a=%s header.b=%s%s%s%s\n", to_string(s.result),
                  s.domain.c_str(), s.selector.c_str(), s.algorithm.c_str(), s.header_b.c_str(),
                  s.reason.empty() ? "" : " (", escape_for_log(s.reason, 300).c_str(), s.reason.empty() ? "" : ")");
    }
  }
  ctx.exit_code = r.any_pass() ? kExitOk : kExitFinding;
}

void add_dkim(CLI::App& app, Context& ctx) {
  CLI::App* dkim = app.add_subcommand("dkim", "DKIM: generate keys, sign and verify messages (RFC 6376/8301/8463)");
  dkim->require_subcommand(1);

  auto keygen = std::make_shared<KeygenOptions>();
  CLI::App* kg = dkim->add_subcommand("keygen", "Generate a key pair; write the private key, print the TXT record");
  kg->add_option("--type", keygen->type, "rsa or ed25519")->capture_default_str();
  kg->add_option("--bits", keygen->bits, "RSA key size (1024..4096)")->capture_default_str();
  kg->add_option("--domain", keygen->domain, "Signing domain (d=)")->required();
  kg->add_option("--selector", keygen->selector, "Selector (s=)")->required();
  kg->add_option("--out", keygen->out, "Private key file to create (mode 0600; must not exist)")->required();
  kg->add_flag("--json", keygen->json, "JSON output");
  kg->callback([&ctx, keygen] { run_keygen(ctx, *keygen); });

  auto sign = std::make_shared<SignOptions>();
  CLI::App* sg = dkim->add_subcommand("sign", "Sign standard input; print DKIM-Signature + message");
  sg->add_option("--domain", sign->domain, "Signing domain (d=)")->required();
  sg->add_option("--selector", sign->selector, "Selector (s=)")->required();
  sg->add_option("--key", sign->key, "Private key: PEM (RSA/Ed25519) or base64 Ed25519 seed")->required();
  sg->add_option("--canon", sign->canon, "Canonicalization HEADER/BODY")->capture_default_str();
  sg->add_option("--identity", sign->identity, "Agent or user identifier (i=)");
  sg->add_option("--now", sign->now, "Signing time (Unix seconds) instead of the clock");
  sg->callback([&ctx, sign] { run_sign(ctx, *sign); });

  auto verify = std::make_shared<VerifyOptions>();
  CLI::App* vf = dkim->add_subcommand("verify", "Verify every DKIM-Signature of standard input");
  vf->add_option("--txt-record", verify->txt_records, "Use this key record instead of DNS: NAME=VALUE (repeatable)");
  vf->add_option("--txt-file", verify->txt_files, "Use the key record in FILE for NAME: NAME=FILE (repeatable)");
  vf->add_option("--now", verify->now, "Verification time (Unix seconds) instead of the clock");
  vf->add_option("--l-policy", verify->l_policy, "l= shorter than the body: fail or accept")->capture_default_str();
  vf->add_flag("--json", verify->json, "JSON output");
  vf->callback([&ctx, verify] { run_verify(ctx, *verify); });
}

}  // namespace

MXSEC_REGISTER_COMMAND(add_dkim);

}  // namespace mxsec::cli

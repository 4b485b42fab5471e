// check/transport.cpp: see transport.hpp.
#include "check/transport.hpp"

#include <nlohmann/json.hpp>

#include "core/limits.hpp"
#include "core/strings.hpp"
#include "policy/engine/engine.hpp"
#include "tls/webpki.hpp"

namespace mxsec::check {

namespace {

using policy::Verdict;
using S = Severity;

// Hands the engine the lookup this check already made, so the policy is
// fetched once and `check` reports exactly what the engine used.
class FixedSource final : public policy::mtasts::PolicySource {
 public:
  explicit FixedSource(policy::mtasts::StsLookup l) : lookup_(std::move(l)) {}
  asio::awaitable<policy::mtasts::StsLookup> lookup(std::string) override { co_return lookup_; }

 private:
  policy::mtasts::StsLookup lookup_;
};

std::string sec(dns::Security s) { return dns::to_string(s); }

void dnssec_findings(const std::string& domain, const DnssecSection& d, Findings& out) {
  switch (d.status) {
    case dns::Security::secure:
      break;
    case dns::Security::insecure:
      add_finding(out, S::warning, "dnssec-unsigned",
                  domain + " is not DNSSEC-signed: its MX records can be forged and DANE cannot protect it",
                  "sign the zone and publish the DS record at the parent");
      break;
    case dns::Security::bogus:
      add_finding(out, S::error, "dnssec-bogus",
                  domain + " fails DNSSEC validation (" + escape_for_log(d.why_bogus) +
                      "): validating senders cannot reach it",
                  "fix the signatures or the DS record at the parent");
      break;
    case dns::Security::indeterminate:
      add_finding(out, S::error, "dns-failure", "DNSSEC status of " + domain + " could not be determined",
                  "make sure the authoritative servers answer");
      break;
  }
  for (const auto& z : d.mx_hosts) {
    if (z.status == dns::Security::bogus)
      add_finding(out, S::error, "mx-dnssec-bogus", "the addresses of MX host " + z.host + " are DNSSEC-bogus (" +
                                                        escape_for_log(z.reason) + ")",
                  "fix the DNSSEC signatures of the MX host's zone");
  }
}

bool cert_expired(const tls::CertificateInfo& c, std::int64_t now) { return c.not_after < now; }

// Findings from one SMTP/TLS session with one address of the host. The
// address is named so an IPv6-only problem is told apart.
void probe_findings(const policy::MxDecision& m, const IpAddress& address, const smtp::ProbeResult& p,
                    const TransportOptions& o, Findings& out) {
  const std::string& host = m.host;
  const std::string label = "MX host " + host + " [" + address.to_string() + "]";
  const bool tls_required = policy::requirements(m.verdict).tls_required || m.verdict == Verdict::mta_sts_testing;
  if (!p.connected || (p.failure && !p.starttls_reply && !p.ehlo)) {
    const std::string why = p.failure ? p.failure->error.message : "no connection";
    add_finding(out, S::error, "mx-unreachable",
                label + ": " + escape_for_log(why, 300),
                "make port " + std::to_string(o.smtp_port) + " reachable and answering SMTP");
    return;
  }
  if (!p.starttls_offered) {
    if (m.verdict == Verdict::dane || m.verdict == Verdict::dane_unusable_tls_required)
      add_finding(out, S::error, "dane-no-starttls",
                  label + " publishes TLSA records but does not offer STARTTLS: DANE senders defer all mail",
                  "enable STARTTLS on the server, or withdraw the TLSA records first");
    else if (m.verdict == Verdict::mta_sts)
      add_finding(out, S::error, "mta-sts-no-starttls",
                  label + " does not offer STARTTLS but the MTA-STS policy is enforce: senders defer mail",
                  "enable STARTTLS with a certificate valid for " + host);
    else
      add_finding(out, tls_required ? S::error : S::warning, "starttls-missing",
                  label + " does not offer STARTTLS: mail to it travels in clear text",
                  "enable STARTTLS on the server");
    return;
  }
  if (!p.tls_established) {
    add_finding(out, S::error, "tls-handshake-failed",
                label + ": STARTTLS offered but the TLS handshake failed" +
                    (p.failure ? ": " + escape_for_log(p.failure->error.message, 300) : std::string()),
                "check the server's TLS configuration (protocols, ciphers, certificate)");
    return;
  }
  if (p.protocol == "TLSv1" || p.protocol == "TLSv1.1" || p.protocol == "SSLv3")
    add_finding(out, S::warning, "tls-old-protocol", label + " negotiated " + p.protocol,
                "enable TLS 1.2 and 1.3");
  if (!p.peer_chain.empty()) {
    const auto& leaf = p.peer_chain.front();
    const bool dane_ee_only = m.verdict == Verdict::dane;  // RFC 7672 §3.1.1: DANE-EE ignores dates
    if (cert_expired(leaf, o.now)) {
      add_finding(out, dane_ee_only ? S::warning : S::error, "cert-expired",
                  label + ": the certificate expired", "renew the certificate");
    } else if (leaf.not_after < o.now + o.expiry_warning_days * 86400) {
      add_finding(out, S::warning, "cert-expires-soon",
                  label + ": the certificate expires in " +
                      std::to_string((leaf.not_after - o.now) / 86400) + " day(s)",
                  "renew the certificate (and publish the next TLSA record first if you use DANE)");
    }
  }
  if (p.dane.status == tls::dane::DaneStatus::no_match)
    add_finding(out, S::error, "tlsa-mismatch",
                label + ": no TLSA record matches the certificate chain the server presents (" +
                    escape_for_log(p.dane.verify_error_text) + "): DANE senders defer all mail",
                "publish TLSA records for the certificate in use (e.g. \"3 1 1\" of its public key)");
  if (p.webpki && p.webpki->verdict != tls::WebPkiVerdict::ok) {
    const bool sts_enforce = m.verdict == Verdict::mta_sts || (m.source == policy::Source::mta_sts && m.verdict == Verdict::defer);
    const bool sts_testing = m.verdict == Verdict::mta_sts_testing;
    const std::string what = label + ": the certificate is not WebPKI-valid for the name (" +
                             tls::to_string(p.webpki->verdict) + ": " + escape_for_log(p.webpki->error_text) + ")";
    if (sts_enforce)
      add_finding(out, S::error, "mta-sts-cert-invalid", what + "; MTA-STS enforce senders defer mail",
                  "install a certificate from a public CA that covers " + host);
    else if (sts_testing)
      add_finding(out, S::warning, "mta-sts-cert-invalid", what + "; MTA-STS testing reports it",
                  "install a certificate from a public CA that covers " + host + " before switching to enforce");
    else if (m.verdict != Verdict::dane)
      add_finding(out, S::info, "cert-not-webpki", what, "a certificate from a public CA lets you adopt MTA-STS");
  }
}

void host_findings(const MxHostSection& h, const TransportOptions& o,
                   Findings& out) {
  const auto& m = h.decision;
  const std::string& host = m.host;
  if (m.verdict == Verdict::defer && m.source == policy::Source::dns) {
    const bool tlsa = m.defer_cause == policy::DeferCause::tlsa_bogus ||
                      m.defer_cause == policy::DeferCause::tlsa_lookup_failure ||
                      m.defer_cause == policy::DeferCause::tlsa_limit;
    add_finding(out, S::error, tlsa ? "tlsa-lookup-failed" : "mx-host-unusable",
                "MX host " + host + ": " + m.reason + "; senders defer mail to it",
                tlsa ? "make the TLSA RRset at _25._tcp." + host + " resolve and validate"
                     : "publish valid, DNSSEC-consistent A/AAAA records for " + host);
  }
  if (m.tlsa.secure()) {
    const auto& t = m.tlsa;
    if (t.usable.empty() && !t.unusable.empty())
      add_finding(out, S::warning, "tlsa-unusable",
                  "MX host " + host + ": no TLSA record is usable for SMTP (RFC 7672 §3.1), so TLS is mandatory but "
                  "unauthenticated",
                  "publish DANE-EE(3) or DANE-TA(2) records, e.g. \"3 1 1 <sha256 of the SPKI>\"");
    else if (!t.unusable.empty())
      add_finding(out, S::info, "tlsa-some-unusable",
                  "MX host " + host + ": " + std::to_string(t.unusable.size()) + " TLSA record(s) are unusable and ignored",
                  "remove PKIX-TA/PKIX-EE or malformed TLSA records");
    if (!t.usable.empty() && !t.rollover_ready)
      add_finding(out, S::warning, "tlsa-rollover-not-ready",
                  "MX host " + host + ": a single usable TLSA record; a key or certificate change will break DANE",
                  "publish a second record for the next key (or \"3 1 1\" plus \"2 1 1\") before rolling over");
  }
  if (m.address_security == dns::Security::secure && m.tlsa.looked_up && m.tlsa.usable.empty() &&
      m.tlsa.unusable.empty() && m.verdict != Verdict::defer)
    add_finding(out, S::info, "dane-absent", "MX host " + host + " is DNSSEC-signed but publishes no TLSA records",
                "publish \"3 1 1\" TLSA records at _25._tcp." + host + " to protect inbound mail with DANE");

  for (const auto& pr : h.probes) probe_findings(m, pr.address, pr.result, o, out);
}

void sts_findings(const std::string& domain, const MtaStsSection& s, const std::vector<MxHostSection>& mx, Findings& out) {
  if (!s.lookup) return;
  const auto& l = *s.lookup;
  if (l.record.empty() && !l.policy) {
    add_finding(out, S::info, "mta-sts-missing", domain + " publishes no MTA-STS policy",
                "publish _mta-sts." + domain + " TXT \"v=STSv1; id=...\" and https://mta-sts." + domain +
                    "/.well-known/mta-sts.txt");
    return;
  }
  if (l.failure) {
    const bool invalid = *l.failure == policy::tlsrpt::ResultType::sts_policy_invalid;
    add_finding(out, S::error, invalid ? "mta-sts-policy-invalid" : "mta-sts-fetch-failed",
                "MTA-STS: " + escape_for_log(l.detail, 400),
                invalid ? "fix the policy file syntax (RFC 8461 §3.2)"
                        : "serve the policy at https://mta-sts." + domain +
                              "/.well-known/mta-sts.txt with status 200, text/plain and a valid certificate, no redirects");
  }
  if (!l.policy) return;
  const auto& p = *l.policy;
  if (p.mode == policy::mtasts::Mode::testing)
    add_finding(out, S::info, "mta-sts-testing", "MTA-STS is in testing mode: failures are reported, not enforced",
                "switch to mode: enforce once TLS-RPT reports are clean");
  if (p.mode == policy::mtasts::Mode::none)
    add_finding(out, S::info, "mta-sts-mode-none", "the MTA-STS policy has mode none (withdrawn)", "");
  if (p.max_age_clamped)
    add_finding(out, S::warning, "mta-sts-max-age-clamped",
                "MTA-STS max_age is above the maximum of " + std::to_string(limits::kStsMaxAgeSeconds) +
                    " s (RFC 8461 §3.2): senders clamp it to that maximum",
                "publish a max_age of at most 31557600 (one year)");
  if (p.mode != policy::mtasts::Mode::none && p.max_age < 86400)
    add_finding(out, S::warning, "mta-sts-max-age-short",
                "MTA-STS max_age is " + std::to_string(p.max_age) + " s: a policy this short protects little",
                "use a max_age of weeks (RFC 8461 §3.2 suggests e.g. 604800 or more)");
  for (const auto& h : mx) {
    if (h.decision.sts_mx_match && !*h.decision.sts_mx_match)
      add_finding(out, p.mode == policy::mtasts::Mode::enforce ? S::error : S::warning, "mta-sts-mx-mismatch",
                  "MX host " + h.decision.host + " matches no mx pattern of the MTA-STS policy" +
                      (p.mode == policy::mtasts::Mode::enforce ? ": senders will not deliver to it" : ""),
                  "add \"mx: " + h.decision.host + "\" to the policy and change the TXT id");
  }
}

// The DNSSEC status of the domain's zone, from its SOA: a failed question
// leaves it indeterminate unless the validator found it bogus.
asio::awaitable<DnssecSection> zone_dnssec(dns::Resolver& resolver, const std::string& domain) {
  DnssecSection d;
  auto soa = co_await resolver.resolve(domain, dns::RrType::soa);
  d.status = soa.security;
  d.why_bogus = soa.why_bogus;
  if (soa.status == dns::Status::servfail || soa.status == dns::Status::timeout || soa.status == dns::Status::error)
    if (soa.security != dns::Security::bogus) d.status = dns::Security::indeterminate;
  co_return d;
}

// The STARTTLS session with one address of an MX host, as a sender under
// the engine's decision would open it (DANE: the usable TLSA records).
smtp::ProbeRequest probe_request(const policy::MxDecision& m, const IpAddress& address, const TransportOptions& o) {
  smtp::ProbeRequest req;
  req.address = address;
  req.port = o.smtp_port;
  req.ehlo_name = o.ehlo_name;
  req.mx_host = m.host;
  if (m.verdict == Verdict::dane) req.tlsa = m.tlsa.usable;
  req.reference_names = m.reference_names;
  req.tls = o.tls;
  req.timeouts = o.timeouts;
  return req;
}

// One MX host: the engine's decision and, when probing, one session per
// address family (probe_targets).
asio::awaitable<MxHostSection> probe_mx_host(const policy::MxDecision& m, const TransportOptions& o) {
  MxHostSection h;
  h.decision = m;
  std::vector<IpAddress> targets = o.probe ? probe_targets(m.addresses) : std::vector<IpAddress>{};
  for (const IpAddress& target : targets) {
    smtp::ProbeRequest req = probe_request(m, target, o);
    // (The result is awaited into a named local first: g++ 12 mishandles
    // temporaries that span a co_await inside a braced initializer.)
    smtp::ProbeResult result = co_await smtp::probe(std::move(req));
    h.probes.push_back(MxHostSection::AddressProbe{target, std::move(result)});
  }
  co_return h;
}

// RFC 8461 §4: whether every MX host matches the policy's mx patterns
// (§4.1) and every probed one presented a WebPKI-valid certificate (§4.2).
// Left unset when no policy applies (none, or mode none) or, for the
// certificates, when nothing was probed.
void sts_policy_validation(MtaStsSection& s, const std::vector<MxHostSection>& mx) {
  if (!s.lookup || !s.lookup->policy || s.lookup->policy->mode == policy::mtasts::Mode::none) return;
  bool all_match = true;
  bool all_valid = true;
  bool any_probe = false;
  for (const auto& h : mx) {
    if (!policy::mtasts::policy_matches_mx(*s.lookup->policy, h.decision.host)) all_match = false;
    for (const auto& pr : h.probes) {
      any_probe = true;
      if (!pr.result.tls_established || !pr.result.webpki || pr.result.webpki->verdict != tls::WebPkiVerdict::ok)
        all_valid = false;
    }
  }
  s.all_mx_match = all_match;
  if (any_probe) s.all_webpki_valid = all_valid;
}

// Findings on the domain as a whole: its MX RRset and the engine's status.
void domain_findings(const std::string& domain, const policy::DomainDecision& d, Findings& out) {
  switch (d.status) {
    case policy::DomainStatus::null_mx:
      add_finding(out, S::info, "mx-null", domain + " publishes a null MX (RFC 7505): it accepts no mail", "");
      break;
    case policy::DomainStatus::nxdomain:
      add_finding(out, S::error, "domain-nxdomain", domain + " does not exist", "");
      break;
    case policy::DomainStatus::defer:
      add_finding(out, S::error, "mx-lookup-failed", "MX lookup for " + domain + ": " + d.reason,
                  "make the MX RRset resolve and validate");
      break;
    case policy::DomainStatus::no_usable_mx:
      add_finding(out, S::error, "mx-none-usable", "no MX host of " + domain + " can be used: senders defer mail",
                  "see the per-host findings");
      break;
    case policy::DomainStatus::ok:
      break;
  }
  for (const auto& m : d.mx)
    if (m.implicit)
      add_finding(out, S::info, "mx-implicit", domain + " has no MX records; mail goes to its A/AAAA address",
                  "publish an MX record");
}

}  // namespace

std::vector<IpAddress> probe_targets(const std::vector<IpAddress>& addresses) {
  std::vector<IpAddress> targets;
  for (bool v6 : {false, true})
    for (const auto& a : addresses)
      if (a.is_v6() == v6) {
        targets.push_back(a);
        break;
      }
  return targets;
}

asio::awaitable<TransportSections> check_transport(dns::Resolver& resolver, policy::mtasts::PolicySource* sts,
                                                   std::string domain, TransportOptions options, Findings& findings) {
  TransportSections out;
  domain = normalize_domain(domain);
  out.dnssec = co_await zone_dnssec(resolver, domain);

  std::optional<FixedSource> fixed;
  if (sts != nullptr) {
    out.mta_sts.lookup = co_await sts->lookup(domain);
    fixed.emplace(*out.mta_sts.lookup);
  }
  policy::PolicyEngine engine(resolver, fixed ? &*fixed : nullptr, nullptr);
  out.decision = co_await engine.decide(domain);

  for (const auto& m : out.decision.mx) {
    out.dnssec.mx_hosts.push_back({m.host, m.address_security, m.address_security == dns::Security::bogus ? m.reason : ""});
    MxHostSection h = co_await probe_mx_host(m, options);
    out.mx.push_back(std::move(h));
  }
  sts_policy_validation(out.mta_sts, out.mx);

  dnssec_findings(domain, out.dnssec, findings);
  domain_findings(domain, out.decision, findings);
  for (const auto& h : out.mx) host_findings(h, options, findings);
  sts_findings(domain, out.mta_sts, out.mx, findings);
  co_return out;
}

nlohmann::json to_json(const DnssecSection& s) {
  nlohmann::json j = {{"status", sec(s.status)}};
  if (!s.why_bogus.empty()) j["why_bogus"] = s.why_bogus;
  nlohmann::json hosts = nlohmann::json::array();
  for (const auto& z : s.mx_hosts) {
    nlohmann::json h = {{"host", z.host}, {"status", sec(z.status)}};
    if (!z.reason.empty()) h["reason"] = z.reason;
    hosts.push_back(std::move(h));
  }
  j["mx_hosts"] = std::move(hosts);
  return j;
}

namespace {

nlohmann::json cert_json(const tls::CertificateInfo& c, std::int64_t now) {
  return {{"subject", c.subject},
          {"issuer", c.issuer},
          {"dns_names", c.dns_names},
          {"not_before", c.not_before},
          {"not_after", c.not_after},
          {"days_left", (c.not_after - now) / 86400},
          {"expired", c.not_after < now},
          {"key_type", c.key_type},
          {"key_bits", c.key_bits},
          {"signature_algorithm", c.signature_algorithm},
          {"sha256", c.sha256_hex},
          {"spki_sha256", c.spki_sha256_hex}};
}

}  // namespace

nlohmann::json probe_json(const smtp::ProbeResult& p, std::int64_t now) {
  nlohmann::json j = {{"connected", p.connected}, {"starttls", nullptr}, {"tls", nullptr}};
  if (p.banner) j["banner"] = p.banner->to_log_string();
  if (p.connected && (p.ehlo || p.starttls_offered)) j["starttls"] = p.starttls_offered;
  if (p.tls_established) {
    nlohmann::json t = {{"version", p.protocol}, {"cipher", p.cipher}};
    nlohmann::json chain = nlohmann::json::array();
    for (const auto& c : p.peer_chain) chain.push_back(cert_json(c, now));
    t["chain"] = std::move(chain);
    if (p.webpki)
      t["webpki"] = {{"valid", p.webpki->verdict == tls::WebPkiVerdict::ok},
                     {"verdict", tls::to_string(p.webpki->verdict)},
                     {"error", p.webpki->error_text}};
    j["tls"] = std::move(t);
  }
  nlohmann::json dane = {{"match", nullptr}};
  if (p.dane.status != tls::dane::DaneStatus::not_requested) {
    dane["match"] = p.dane.status == tls::dane::DaneStatus::matched;
    if (p.dane.matched_record) {
      dane["matched_record"] = tls::dane::to_text(*p.dane.matched_record);
      dane["matched_depth"] = p.dane.matched_depth;
    }
    if (p.dane.status != tls::dane::DaneStatus::matched && !p.dane.verify_error_text.empty())
      dane["error"] = p.dane.verify_error_text;
  }
  j["dane"] = std::move(dane);
  if (p.failure) j["error"] = {{"stage", smtp::to_string(p.failure->stage)}, {"message", p.failure->error.message}};
  j["tlsrpt_result"] =
      p.tlsrpt_failure ? nlohmann::json(policy::tlsrpt::to_string(*p.tlsrpt_failure)) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json to_json(const MxHostSection& s, std::int64_t now) {
  const auto& m = s.decision;
  nlohmann::json j = policy::to_json(m);
  // `tlsa` is replaced by the checker's view: records, usability, rollover
  // and whether they match the live certificate.
  nlohmann::json tlsa = {{"looked_up", m.tlsa.looked_up},
                         {"security", sec(m.tlsa.security)},
                         {"status", dns::to_string(m.tlsa.status)}};
  nlohmann::json records = nlohmann::json::array();
  for (const auto& r : m.tlsa.usable) records.push_back({{"record", tls::dane::to_text(r)}, {"usable", true}});
  for (std::size_t i = 0; i < m.tlsa.unusable.size(); ++i)
    records.push_back({{"record", tls::dane::to_text(m.tlsa.unusable[i])},
                       {"usable", false},
                       {"reason", i < m.tlsa.unusable_reasons.size() ? m.tlsa.unusable_reasons[i] : ""}});
  tlsa["records"] = std::move(records);
  tlsa["rollover_ready"] = m.tlsa.secure() ? nlohmann::json(m.tlsa.rollover_ready) : nlohmann::json(nullptr);
  tlsa["match"] = nullptr;
  j["starttls"] = nullptr;
  if (!s.probes.empty()) {
    // The first session's facts at the top level (stable keys); every
    // session, one per address family, under "probes".
    nlohmann::json all = nlohmann::json::array();
    for (const auto& pr : s.probes) {
      auto one = probe_json(pr.result, now);
      one["address"] = pr.address.to_string();
      all.push_back(std::move(one));
    }
    j["probes"] = std::move(all);
    auto p = probe_json(s.probes.front().result, now);
    for (const char* k : {"matched_record", "matched_depth", "error"})
      if (p["dane"].contains(k)) tlsa[k] = p["dane"][k];
    tlsa["match"] = p["dane"]["match"];
    j["probed_address"] = s.probes.front().address.to_string();
    j["connected"] = p["connected"];
    j["starttls"] = p["starttls"];
    j["tls"] = p["tls"];
    if (p.contains("error")) j["probe_error"] = p["error"];
    j["tlsrpt_result"] = p["tlsrpt_result"];
  }
  // A failure the decision itself implies (a bogus TLSA RRset, TLSA records
  // that are all unusable, DANE required) is what a TLS-RPT report carries
  // for this host, whatever the session then showed (RFC 8460 §4.3.2.1).
  if (m.tlsrpt_result) j["tlsrpt_result"] = policy::tlsrpt::to_string(*m.tlsrpt_result);
  j["tlsa"] = std::move(tlsa);
  return j;
}

nlohmann::json to_json(const MtaStsSection& s) {
  nlohmann::json j = {{"mode", nullptr}, {"record", nullptr}};
  if (!s.lookup) return j;
  const auto& l = *s.lookup;
  if (!l.record.empty()) j["record"] = l.record;
  if (!l.id.empty()) j["id"] = l.id;
  if (l.policy) {
    j["mode"] = policy::mtasts::to_string(l.policy->mode);
    j["mx"] = l.policy->mx;
    j["max_age"] = l.policy->max_age;
    j["from_cache"] = l.from_cache;
  }
  if (l.failure) j["failure"] = policy::tlsrpt::to_string(*l.failure);
  if (!l.detail.empty()) j["detail"] = l.detail;
  j["all_mx_match"] = s.all_mx_match ? nlohmann::json(*s.all_mx_match) : nlohmann::json(nullptr);
  j["all_webpki_valid"] = s.all_webpki_valid ? nlohmann::json(*s.all_webpki_valid) : nlohmann::json(nullptr);
  return j;
}

}  // namespace mxsec::check

// policy/engine/engine.cpp: see engine.hpp for the contract.
#include "policy/engine/engine.hpp"

#include <algorithm>
#include <optional>
#include <utility>

#include "core/strings.hpp"
#include "dns/presentation.hpp"
#include "dns/rdata.hpp"
#include "tls/dane/tlsa.hpp"

namespace mxsec::policy {

namespace {

// Secure only when every part is secure; a bogus or undetermined part
// poisons the whole.
dns::Security combine(dns::Security a, dns::Security b) {
  using S = dns::Security;
  if (a == S::bogus || b == S::bogus) return S::bogus;
  if (a == S::indeterminate || b == S::indeterminate) return S::indeterminate;
  if (a == S::insecure || b == S::insecure) return S::insecure;
  return S::secure;
}

std::vector<std::string> tlsa_strings(const std::vector<dns::TlsaRecord>& records) {
  std::vector<std::string> out;
  out.reserve(records.size());
  for (const auto& r : records) {
    auto text = dns::rdata_to_text(dns::RrType::tlsa, dns::encode_tlsa(r));
    out.push_back(text ? *text : std::string("?"));
  }
  return out;
}

void set_tlsrpt(const std::string& domain, MxDecision& mx, const std::optional<mtasts::StsLookup>& sts) {
  mx.tlsrpt = {};
  mx.tlsrpt.policy_domain = domain;
  mx.tlsrpt.mx_host = mx.host;
  const bool tlsa_failure = mx.defer_cause == DeferCause::tlsa_bogus ||
                            mx.defer_cause == DeferCause::tlsa_lookup_failure ||
                            mx.defer_cause == DeferCause::tlsa_limit;
  if (mx.source == Source::dane || tlsa_failure) {
    mx.tlsrpt.type = tlsrpt::PolicyType::tlsa;
    mx.tlsrpt.policy_string = tlsa_strings(mx.tlsa.usable);
    for (auto& s : tlsa_strings(mx.tlsa.unusable)) mx.tlsrpt.policy_string.push_back(std::move(s));
  } else if (mx.source == Source::mta_sts) {
    mx.tlsrpt.type = tlsrpt::PolicyType::sts;
    if (sts && sts->policy) mx.tlsrpt.policy_string = mtasts::policy_strings(*sts->policy);
  } else {
    mx.tlsrpt.type = tlsrpt::PolicyType::no_policy_found;
  }
}

// The RFC 8460 §4.3 result type a host deferred for `cause` reports, before
// any connection is made (MxDecision::tlsrpt_result):
// - dnssec-invalid (§4.3.2.1: "no valid records were returned from the
//   recursive resolver") for a bogus address or TLSA RRset, and for a TLSA
//   lookup that failed (RFC 7672 §2.2: not to be taken as "no TLSA");
// - tlsa-invalid (§4.3.2.1: "the TLSA record was invalid") for a TLSA RRset
//   over the limits or malformed;
// - dane-required (§4.3.2.1: "the sending system is configured to require
//   DANE TLSA records for all the MX hosts of the destination domain, but no
//   DNSSEC-validated TLSA records were present") for a local dane-only policy;
// - validation-failure (§4.3.1: "This indicates that a general failure for a
//   reason not matching a category above has occurred") for a host an
//   enforced MTA-STS policy does not list: the RFC has no type of its own for
//   an MX outside the policy.
// Nothing for DNS failures that are not about TLS (no address, SERVFAIL on
// the addresses): there is no TLS policy to report on.
std::optional<tlsrpt::ResultType> deferred_result(DeferCause cause) {
  switch (cause) {
    case DeferCause::dnssec_bogus:
    case DeferCause::tlsa_bogus:
    case DeferCause::tlsa_lookup_failure: return tlsrpt::ResultType::dnssec_invalid;
    case DeferCause::tlsa_limit: return tlsrpt::ResultType::tlsa_invalid;
    case DeferCause::local_policy: return tlsrpt::ResultType::dane_required;
    case DeferCause::sts_mx_mismatch: return tlsrpt::ResultType::validation_failure;
    case DeferCause::none:
    case DeferCause::invalid_domain:
    case DeferCause::dns_failure:
    case DeferCause::no_address:
    case DeferCause::no_usable_mx: break;
  }
  return std::nullopt;
}

void defer(MxDecision& mx, Source source, DeferCause cause, std::string reason) {
  mx.verdict = Verdict::defer;
  mx.source = source;
  mx.defer_cause = cause;
  mx.reason = std::move(reason);
  mx.tlsrpt_result = deferred_result(cause);
}

DeferCause dns_cause(const auto& answer) {
  return answer.bogus() ? DeferCause::dnssec_bogus : DeferCause::dns_failure;
}

void decide_local(MxDecision& mx, LocalLevel level) {
  mx.source = Source::local;
  switch (level) {
    case LocalLevel::none:
      mx.verdict = Verdict::none;
      mx.reason = "local policy 'none': clear text";
      break;
    case LocalLevel::may:
      mx.verdict = Verdict::opportunistic;
      mx.reason = "local policy 'may': opportunistic TLS";
      break;
    case LocalLevel::encrypt:
      mx.verdict = Verdict::encrypt;
      mx.reason = "local policy 'encrypt': TLS mandatory, unauthenticated";
      break;
    case LocalLevel::verify:
      mx.verdict = Verdict::verify;
      mx.reason = "local policy 'verify': TLS mandatory, certificate must be WebPKI-valid for " + mx.host;
      break;
    case LocalLevel::dane_only:
      break;  // decided by the DANE lookup
  }
}

}  // namespace

struct PolicyEngine::DomainState {
  std::string domain;
  dns::Security mx_security = dns::Security::indeterminate;
  std::optional<LocalLevel> local;
  std::optional<mtasts::StsLookup> sts;
  bool sts_done = false;
  bool sts_applicable = true;  // false for a relay host (no recipient domain's MX)
};

const char* to_string(DefaultTls d) { return d == DefaultTls::encrypt ? "encrypt" : "may"; }

std::optional<DefaultTls> parse_default_tls(std::string_view s) {
  for (auto d : {DefaultTls::may, DefaultTls::encrypt})
    if (s == to_string(d)) return d;
  return std::nullopt;
}

std::string RelayHost::text() const {
  std::string name = address && address->is_v6() ? "IPv6:" + host : host;
  if (!mx_lookup) name = "[" + name + "]";
  return name + ":" + std::to_string(port);
}

PolicyEngine::PolicyEngine(dns::Resolver& resolver, mtasts::PolicySource* sts, const LocalPolicyMap* local,
                           EngineOptions options)
    : resolver_(resolver), sts_(sts), local_(local), options_(options) {}

asio::awaitable<DomainDecision> PolicyEngine::decide(std::string domain_in) {
  const std::uint16_t port = 25;
  co_return co_await decide_domain(domain_in, port);
}

asio::awaitable<DomainDecision> PolicyEngine::decide_domain(std::string domain_in, std::uint16_t port) {
  DomainDecision d;
  d.domain = normalize_domain(domain_in);
  if (!is_valid_domain_name(d.domain)) {
    d.status = DomainStatus::defer;
    d.defer_cause = DeferCause::invalid_domain;
    d.reason = "not a valid domain name: " + escape_for_log(domain_in);
    co_return d;
  }
  DomainState state;
  state.domain = d.domain;
  if (local_ != nullptr) state.local = local_->find(d.domain);

  auto mx = co_await resolver_.mx(d.domain);
  d.mx_security = mx.security;
  state.mx_security = mx.security;
  if (mx.failed()) {
    // RFC 7672 §2.2.1: a bogus or failed MX lookup must not be treated as
    // "no MX"; the domain is deferred.
    d.status = DomainStatus::defer;
    d.defer_cause = dns_cause(mx);
    d.reason = dns::describe_failure("MX " + d.domain, mx);
    co_return d;
  }
  if (mx.status == dns::Status::nxdomain) {
    d.status = DomainStatus::nxdomain;
    d.reason = "the domain does not exist (NXDOMAIN)";
    co_return d;
  }

  if (mx.status == dns::Status::ok) {
    std::vector<dns::MxRecord> records = mx.records;
    const bool has_null = std::any_of(records.begin(), records.end(),
                                      [](const dns::MxRecord& r) { return r.exchange.empty(); });
    if (has_null && records.size() == 1) {
      // RFC 7505 §3: "a domain that advertises a null MX ... does not accept
      // email"; there is no host to deliver to.
      d.status = DomainStatus::null_mx;
      d.reason = "null MX (RFC 7505): the domain accepts no mail";
      co_return d;
    }
    std::erase_if(records, [](const dns::MxRecord& r) { return r.exchange.empty(); });
    // RFC 5321 §5.1: lowest preference first. Equal preferences are
    // randomised by the delivery layer; here the order is made stable.
    std::sort(records.begin(), records.end(), [](const dns::MxRecord& a, const dns::MxRecord& b) {
      return a.preference != b.preference ? a.preference < b.preference : a.exchange < b.exchange;
    });
    for (const auto& r : records) {
      const bool dup = std::any_of(d.mx.begin(), d.mx.end(), [&](const MxDecision& m) { return m.host == r.exchange; });
      if (dup) continue;
      if (static_cast<int>(d.mx.size()) >= options_.max_mx_hosts) {
        d.reason = "only the first " + std::to_string(options_.max_mx_hosts) + " MX hosts are considered";
        break;
      }
      MxDecision m;
      m.host = r.exchange;
      m.preference = r.preference;
      m.port = port;
      d.mx.push_back(std::move(m));
    }
    if (has_null) {
      d.reason += d.reason.empty() ? "" : "; ";
      d.reason += "a null MX record next to other MX records was ignored (RFC 7505 §3 forbids the mix)";
    }
  } else {
    // RFC 5321 §5.1: no MX RRset -> the domain itself is the implicit MX.
    MxDecision m;
    m.host = d.domain;
    m.preference = 0;
    m.port = port;
    m.implicit = true;
    d.mx.push_back(std::move(m));
  }

  for (auto& m : d.mx) co_await decide_host(state, m);

  d.mta_sts = std::move(state.sts);
  const bool any_usable =
      std::any_of(d.mx.begin(), d.mx.end(), [](const MxDecision& m) { return m.verdict != Verdict::defer; });
  d.status = any_usable ? DomainStatus::ok : DomainStatus::no_usable_mx;
  if (!any_usable) {
    d.defer_cause = DeferCause::no_usable_mx;
    d.reason += d.reason.empty() ? "" : "; ";
    d.reason += "no MX host can be used now: delivery defers";
  }
  co_return d;
}

asio::awaitable<MxDecision> PolicyEngine::decide_named_host(std::string domain_in, std::string host_in) {
  MxDecision m;
  m.host = normalize_domain(host_in);
  DomainState state;
  state.domain = domain_in.empty() ? m.host : normalize_domain(domain_in);
  if (!is_valid_domain_name(m.host) || !is_valid_domain_name(state.domain)) {
    defer(m, Source::dns, DeferCause::invalid_domain,
          "not a valid host or domain name: " + escape_for_log(host_in) + " / " + escape_for_log(domain_in));
    co_return m;
  }
  state.mx_security = dns::Security::secure;  // named by the operator, not by an MX answer
  if (local_ != nullptr) state.local = local_->find(state.domain);
  co_await decide_host(state, m);
  co_return m;
}

asio::awaitable<DomainDecision> PolicyEngine::decide_relayhost(RelayHost relay) {
  if (relay.mx_lookup) co_return co_await decide_domain(relay.host, relay.port);
  DomainDecision d;
  MxDecision m;
  m.host = relay.address ? relay.address->to_string() : normalize_domain(relay.host);
  m.port = relay.port;
  d.domain = m.host;
  if (relay.address) {
    // An IP literal: the operator gave the address itself. No DNS, so no
    // DNSSEC and no name to seek TLSA records at: no DANE.
    m.addresses = {*relay.address};
    m.address_security = dns::Security::insecure;
    apply_default(m, "relay host given as an IP address literal (no DNS, no DANE)");
    set_tlsrpt(d.domain, m, std::nullopt);
  } else if (!is_valid_domain_name(m.host)) {
    d.status = DomainStatus::defer;
    d.defer_cause = DeferCause::invalid_domain;
    d.reason = "relay host is not a valid host name: " + escape_for_log(relay.host);
    co_return d;
  } else {
    DomainState state;
    state.domain = m.host;
    // Named by the operator, not by an MX answer: as trustworthy as a host
    // of a secure MX RRset (RFC 7672 §2.2.1), see decide_named_host().
    state.mx_security = dns::Security::secure;
    state.sts_applicable = false;
    if (local_ != nullptr) state.local = local_->find(state.domain);
    co_await decide_host(state, m);
  }
  d.mx_security = dns::Security::secure;  // no MX RRset: the configuration names the host
  d.reason = "relay host " + relay.text() + " (no MX lookup)";
  const bool usable = m.verdict != Verdict::defer;
  d.status = usable ? DomainStatus::ok : DomainStatus::no_usable_mx;
  if (!usable) {
    d.defer_cause = DeferCause::no_usable_mx;
    d.reason += "; the relay host cannot be used now: delivery defers";
  }
  d.mx.push_back(std::move(m));
  co_return d;
}

namespace {

std::string tlsa_prefix(std::uint16_t port) { return "_" + std::to_string(port) + "._tcp."; }

// RFC 7672 §3.2.2 reference identifiers, the TLSA base domain first (it is
// also the SNI name, §8.1): with TLSA records found at the CNAME target,
// that target; otherwise the MX host name. Then the other of the two, then
// the next-hop domain.
void set_reference_names(const std::string& domain, MxDecision& mx) {
  const std::string prefix = tlsa_prefix(mx.port);
  std::string base = mx.host;
  if (mx.tlsa.secure() && mx.tlsa.qname.starts_with(prefix)) base = mx.tlsa.qname.substr(prefix.size());
  mx.reference_names = {base};
  for (const std::string& name : {mx.host, mx.canonical_name, domain})
    if (!name.empty() && std::find(mx.reference_names.begin(), mx.reference_names.end(), name) == mx.reference_names.end())
      mx.reference_names.push_back(name);
}

bool sts_enforced(const std::optional<mtasts::StsLookup>& sts) {
  return sts && sts->state == mtasts::StsLookup::State::policy && sts->policy &&
         sts->policy->mode == mtasts::Mode::enforce;
}

bool sts_applies(const std::optional<mtasts::StsLookup>& sts) {
  return sts && sts->state == mtasts::StsLookup::State::policy && sts->policy &&
         sts->policy->mode != mtasts::Mode::none;
}

}  // namespace

asio::awaitable<void> PolicyEngine::look_up_sts(DomainState& state) {
  if (sts_ != nullptr && state.sts_applicable && !state.sts_done) {
    state.sts = co_await sts_->lookup(state.domain);
    state.sts_done = true;
  }
}

asio::awaitable<void> PolicyEngine::decide_host(DomainState& state, MxDecision& mx) {
  const Addresses addresses = co_await resolve_addresses(mx);
  set_reference_names(state.domain, mx);
  if (!addresses.usable) {
    set_tlsrpt(state.domain, mx, state.sts);
    co_return;
  }
  co_await decide_addressed_host(state, mx);
  if (!addresses.note.empty()) mx.reason += "; " + addresses.note;
  set_tlsrpt(state.domain, mx, state.sts);
}

asio::awaitable<void> PolicyEngine::decide_addressed_host(DomainState& state, MxDecision& mx) {
  if (state.local && *state.local != LocalLevel::dane_only) {
    decide_local(mx, *state.local);
    co_return;
  }

  // RFC 7672 §2.2.2: TLSA records are looked up only when the address
  // records of the host are secure. With DANE switched off they are not
  // looked up at all, except for a domain whose local policy is dane-only:
  // that entry names DANE for this domain explicitly.
  const bool dane = options_.dane || state.local == LocalLevel::dane_only;
  TlsaOutcome tlsa = TlsaOutcome::absent;
  if (dane && mx.address_security == dns::Security::secure) tlsa = co_await lookup_tlsa(mx);
  set_reference_names(state.domain, mx);
  switch (tlsa) {
    case TlsaOutcome::failed:
      break;
    case TlsaOutcome::usable:
      co_await check_dane_host_name(state, mx);
      break;
    case TlsaOutcome::none_usable:
      // RFC 7672 §2.2 makes TLS mandatory for such a host but does not
      // forbid authenticating it: an enforced MTA-STS policy still decides
      // (WebPKI plus mx match), exactly as for a host without TLSA records.
      // Without one, TLS stays mandatory and unauthenticated. (A testing
      // policy would drop the TLS requirement, so it does not take over.)
      mx.tlsrpt_result = tlsrpt::ResultType::tlsa_invalid;
      co_await look_up_sts(state);
      if (sts_enforced(state.sts)) co_await apply_mta_sts(state, mx);
      break;
    case TlsaOutcome::absent:
      if (state.local == LocalLevel::dane_only) {
        defer(mx, Source::local, DeferCause::local_policy,
              mx.address_security == dns::Security::secure
                  ? "local policy 'dane-only': no secure TLSA records for this host"
                  : "local policy 'dane-only': the host's addresses are not DNSSEC-secure");
        // RFC 8460 §4.3.2.1 "dane-required" (deferred_result()).
      } else {
        co_await apply_mta_sts(state, mx);
      }
      break;
  }
}

asio::awaitable<void> PolicyEngine::check_dane_host_name(DomainState& state, MxDecision& mx) {
  if (state.mx_security == dns::Security::secure || mx.implicit) co_return;
  // With an insecure MX RRset the TLSA records still protect the connection
  // to this host (as Postfix's default smtp_tls_dane_insecure_mx_policy =
  // dane does), but RFC 7672 §2.2.1 leaves the host name itself
  // unauthenticated: an attacker who forges the MX RRset can name a host in
  // a signed zone of their own, with TLSA records of their own. RFC 8461
  // §4.1 ("senders MUST check that the MX host ... matches the policy")
  // still binds such a host, so an enforced MTA-STS policy's mx patterns
  // apply; DANE keeps deciding the certificate check for a listed host.
  mx.reason += " (MX RRset not DNSSEC-secure: the MX host name itself is not authenticated)";
  co_await look_up_sts(state);
  const auto& sts = state.sts;
  if (!sts_applies(sts)) co_return;
  const bool match = mtasts::policy_matches_mx(*sts->policy, mx.host);
  mx.sts_mx_match = match;
  if (!match && sts->policy->mode == mtasts::Mode::enforce)
    defer(mx, Source::mta_sts, DeferCause::sts_mx_mismatch,
          "MTA-STS enforce: " + mx.host +
              " matches no mx pattern of the policy, so it is not used; its TLSA records cannot vouch for a host "
              "name taken from an MX RRset that is not DNSSEC-secure (RFC 7672 §2.2.1, RFC 8461 §4.1)");
}

asio::awaitable<PolicyEngine::Addresses> PolicyEngine::resolve_addresses(MxDecision& mx) {
  std::optional<dns::AddressAnswer> a, aaaa;
  if (options_.ipv4) a = co_await resolver_.a(mx.host);
  if (options_.ipv6) aaaa = co_await resolver_.aaaa(mx.host);
  const dns::AddressAnswer* failed = nullptr;
  const dns::AddressAnswer* answered = nullptr;
  for (const auto* ans : {a ? &*a : nullptr, aaaa ? &*aaaa : nullptr}) {
    if (ans == nullptr) continue;
    if (ans->failed() && !failed) failed = ans;
    if (!ans->failed() && !answered) answered = ans;
  }
  auto what = [&](const dns::AddressAnswer* ans) {
    return std::string(ans == (a ? &*a : nullptr) ? "A " : "AAAA ") + mx.host;
  };
  if (failed) {
    // Fail closed: a bogus answer, or a failure in a signed zone (the other
    // family answered secure), never downgrades. In an unsigned zone one
    // failed family does not hide the addresses the other one gave: there
    // is no DANE to lose and nothing to authenticate.
    const bool bogus = (a && a->bogus()) || (aaaa && aaaa->bogus());
    const bool usable_other = !bogus && answered && answered->security != dns::Security::secure &&
                              answered->status == dns::Status::ok && !answered->records.empty();
    if (!usable_other) {
      const dns::AddressAnswer& culprit = bogus ? (a && a->bogus() ? *a : *aaaa) : *failed;
      defer(mx, Source::dns, dns_cause(culprit), dns::describe_failure(what(&culprit), culprit));
      mx.address_security = culprit.security;  // bogus, or indeterminate for SERVFAIL/timeouts
      co_return Addresses{false, {}};
    }
  }
  std::optional<dns::Security> security;
  for (const auto* ans : {a ? &*a : nullptr, aaaa ? &*aaaa : nullptr}) {
    if (ans == nullptr || ans->failed()) continue;
    security = security ? combine(*security, ans->security) : ans->security;
    if (mx.canonical_name.empty() && !ans->canonical_name.empty())
      mx.canonical_name = normalize_domain(ans->canonical_name);
    for (const auto& ip : ans->records) {
      if (static_cast<int>(mx.addresses.size()) >= options_.max_addresses_per_host) break;
      mx.addresses.push_back(ip);
    }
  }
  mx.address_security = security.value_or(dns::Security::indeterminate);
  if (mx.addresses.empty()) {
    defer(mx, Source::dns, DeferCause::no_address, "the host has no A/AAAA records");
    co_return Addresses{false, {}};
  }
  if (failed) {
    // Only reachable for an unsigned zone (see above): say what is missing.
    mx.address_security = dns::Security::insecure;
    co_return Addresses{true, dns::describe_failure(what(failed), *failed) + "; the host is used with the addresses of "
                                                                         "the other family (unsigned zone)"};
  }
  co_return Addresses{true, {}};
}

asio::awaitable<PolicyEngine::TlsaOutcome> PolicyEngine::lookup_tlsa(MxDecision& mx) {
  // RFC 7672 §2.2.3: with a secure CNAME expansion, TLSA records are first
  // sought at the expanded name, then at the original MX host name.
  std::vector<std::string> bases;
  if (!mx.canonical_name.empty() && mx.canonical_name != mx.host) bases.push_back(mx.canonical_name);
  bases.push_back(mx.host);
  mx.tlsa.looked_up = true;
  for (const auto& base : bases) {
    std::string qname = tlsa_prefix(mx.port) + base;
    auto t = co_await resolver_.tlsa(qname);
    mx.tlsa.qname = qname;
    mx.tlsa.status = t.status;
    mx.tlsa.security = t.security;
    mx.tlsa.why_bogus = t.why_bogus;
    if (t.failed()) {
      // RFC 7672 §2.2: a TLSA lookup that fails or is bogus must not be
      // taken as "no TLSA": the host is not used (no fallback to MTA-STS or
      // clear text). RFC 8460 §4.3.2.1 reports it as "dnssec-invalid" ("no
      // valid records were returned from the recursive resolver").
      defer(mx, Source::dns, t.bogus() ? DeferCause::tlsa_bogus : DeferCause::tlsa_lookup_failure,
            dns::describe_failure("TLSA " + qname, t));
      co_return TlsaOutcome::failed;
    }
    if (t.status != dns::Status::ok) continue;  // nodata / nxdomain: try the next base
    if (t.security != dns::Security::secure) {
      // Unsigned TLSA records carry no authority (RFC 7672 §2.2).
      mx.tlsa.unusable = t.records;
      mx.tlsa.unusable_reasons.assign(t.records.size(), "TLSA RRset is not DNSSEC-secure");
      continue;
    }
    if (t.records.size() > options_.max_tlsa_records) {
      defer(mx, Source::dns, DeferCause::tlsa_limit,
            "TLSA RRset " + qname + " has " + std::to_string(t.records.size()) + " records, over the limit of " +
                std::to_string(options_.max_tlsa_records));
      co_return TlsaOutcome::failed;
    }
    auto set = tls::dane::analyse(t.records);
    if (!set) {
      defer(mx, Source::dns, DeferCause::tlsa_limit, "TLSA RRset " + qname + ": " + set.error().message);
      co_return TlsaOutcome::failed;
    }
    mx.tlsa.usable = std::move(set->usable);
    mx.tlsa.unusable.clear();
    mx.tlsa.unusable_reasons.clear();
    for (auto& u : set->unusable) {
      mx.tlsa.unusable.push_back(std::move(u.record));
      mx.tlsa.unusable_reasons.push_back(std::move(u.reason));
    }
    mx.tlsa.rollover_ready = set->rollover_ready;
    mx.source = Source::dane;
    if (!mx.tlsa.usable.empty()) {
      mx.verdict = Verdict::dane;
      mx.reason = std::to_string(mx.tlsa.usable.size()) + " usable TLSA record(s) at " + qname;
      co_return TlsaOutcome::usable;
    }
    // RFC 7672 §2.2: "If TLSA records were found, but none are usable ...
    // the SMTP client MUST use TLS" without authentication.
    mx.verdict = Verdict::dane_unusable_tls_required;
    mx.reason = "secure TLSA records at " + qname + " but none usable: TLS mandatory, unauthenticated";
    co_return TlsaOutcome::none_usable;
  }
  // Securely absent (or not signed): no DANE for this host.
  co_return TlsaOutcome::absent;
}

asio::awaitable<void> PolicyEngine::apply_mta_sts(DomainState& state, MxDecision& mx) {
  co_await look_up_sts(state);
  const auto& sts = state.sts;
  if (!sts_applies(sts)) {
    std::string why = mx.tlsa.looked_up                              ? "no TLSA records and no MTA-STS policy"
                      : !options_.dane                               ? "DANE disabled by configuration and no MTA-STS policy"
                      : mx.address_security == dns::Security::secure ? "no DANE and no MTA-STS policy"
                                                                     : "no DANE (addresses not DNSSEC-secure) and no MTA-STS policy";
    if (sts && sts->policy && sts->policy->mode == mtasts::Mode::none) why = "MTA-STS policy mode none";
    apply_default(mx, std::move(why));
    co_return;
  }
  const auto& policy = *sts->policy;
  const bool match = mtasts::policy_matches_mx(policy, mx.host);
  const bool tlsa_unusable = mx.verdict == Verdict::dane_unusable_tls_required;
  mx.sts_mx_match = match;
  mx.source = Source::mta_sts;
  if (policy.mode == mtasts::Mode::enforce) {
    if (match) {
      mx.verdict = Verdict::mta_sts;
      mx.reason = "MTA-STS enforce: TLS with a WebPKI-valid certificate for " + mx.host;
      if (tlsa_unusable) mx.reason += " (its secure TLSA records are all unusable for SMTP)";
    } else {
      // RFC 8461 §4.1/§5: in enforce mode an MX host that matches no "mx"
      // pattern of the policy MUST NOT be used.
      defer(mx, Source::mta_sts, DeferCause::sts_mx_mismatch,
            "MTA-STS enforce: " + mx.host + " matches no mx pattern of the policy, so it is not used");
    }
  } else if (options_.default_tls == DefaultTls::encrypt) {
    // RFC 8461 §5: in testing mode sending MTAs "merely send a report
    // indicating policy application failures"; the policy requires
    // nothing, so the host gets what a host without a policy gets, and
    // the operator's default makes TLS mandatory. (XXX: the WebPKI check
    // whose failure testing mode would report is not asked for.)
    mx.verdict = Verdict::encrypt;
    mx.reason = std::string("MTA-STS testing") + (match ? "" : " (" + mx.host + " matches no mx pattern)") +
                ": default TLS policy 'encrypt': TLS mandatory, unauthenticated";
  } else {
    mx.verdict = Verdict::mta_sts_testing;
    mx.reason = match ? "MTA-STS testing: failures are reported, delivery proceeds"
                      : "MTA-STS testing: " + mx.host + " matches no mx pattern (reported, delivery proceeds)";
  }
}

void PolicyEngine::apply_default(MxDecision& mx, std::string why) const {
  mx.source = Source::default_policy;
  if (options_.default_tls == DefaultTls::encrypt) {
    mx.verdict = Verdict::encrypt;
    mx.reason = std::move(why) + ": default TLS policy 'encrypt': TLS mandatory, unauthenticated";
  } else {
    // RFC 7435 §1: opportunistic security "encrypt[s] when possible"
    // without requiring authentication.
    mx.verdict = Verdict::opportunistic;
    mx.reason = std::move(why) + ": opportunistic TLS";
  }
}

}  // namespace mxsec::policy

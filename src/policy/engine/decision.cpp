// policy/engine/decision.cpp: names and JSON of decisions (decision.hpp).
#include "policy/engine/decision.hpp"

#include <nlohmann/json.hpp>

#include "dns/presentation.hpp"
#include "dns/rdata.hpp"

namespace mxsec::policy {

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::dane: return "dane";
    case Verdict::dane_unusable_tls_required: return "dane-unusable-tls-required";
    case Verdict::mta_sts: return "mta-sts";
    case Verdict::mta_sts_testing: return "mta-sts-testing";
    case Verdict::opportunistic: return "opportunistic";
    case Verdict::none: return "none";
    case Verdict::encrypt: return "encrypt";
    case Verdict::verify: return "verify";
    case Verdict::defer: return "defer";
  }
  return "defer";
}

Requirements requirements(Verdict v) {
  switch (v) {
    case Verdict::dane: return {true, Authentication::dane, true};
    case Verdict::dane_unusable_tls_required: return {true, Authentication::none, true};
    case Verdict::mta_sts: return {true, Authentication::webpki, true};
    // RFC 8461 §5: in testing mode a failure is reported and delivery goes on.
    case Verdict::mta_sts_testing: return {false, Authentication::none, true};
    case Verdict::opportunistic: return {false, Authentication::none, true};
    case Verdict::none: return {false, Authentication::none, true};
    case Verdict::encrypt: return {true, Authentication::none, true};
    case Verdict::verify: return {true, Authentication::webpki, true};
    case Verdict::defer: return {false, Authentication::none, false};
  }
  return {false, Authentication::none, false};
}

std::string MxDecision::sni_name() const {
  const std::string& name = reference_names.empty() ? host : reference_names.front();
  return IpAddress::parse(name) ? std::string() : name;
}

const char* to_string(Source s) {
  switch (s) {
    case Source::dane: return "dane";
    case Source::mta_sts: return "mta-sts";
    case Source::local: return "local";
    case Source::default_policy: return "default";
    case Source::dns: return "dns";
  }
  return "default";
}

const char* to_string(DeferCause c) {
  switch (c) {
    case DeferCause::none: return "none";
    case DeferCause::invalid_domain: return "invalid-domain";
    case DeferCause::dnssec_bogus: return "dnssec-bogus";
    case DeferCause::dns_failure: return "dns-failure";
    case DeferCause::no_address: return "no-address";
    case DeferCause::tlsa_bogus: return "tlsa-bogus";
    case DeferCause::tlsa_lookup_failure: return "tlsa-lookup-failure";
    case DeferCause::tlsa_limit: return "tlsa-limit";
    case DeferCause::sts_mx_mismatch: return "sts-mx-mismatch";
    case DeferCause::local_policy: return "local-policy";
    case DeferCause::no_usable_mx: return "no-usable-mx";
  }
  return "none";
}

const char* to_string(DomainStatus s) {
  switch (s) {
    case DomainStatus::ok: return "ok";
    case DomainStatus::null_mx: return "null-mx";
    case DomainStatus::nxdomain: return "nxdomain";
    case DomainStatus::defer: return "defer";
    case DomainStatus::no_usable_mx: return "no-usable-mx";
  }
  return "defer";
}

namespace {

const char* to_string(Authentication a) {
  switch (a) {
    case Authentication::none: return "none";
    case Authentication::dane: return "dane";
    case Authentication::webpki: return "webpki";
  }
  return "none";
}

nlohmann::json tlsa_json(const dns::TlsaRecord& r) {
  auto text = dns::rdata_to_text(dns::RrType::tlsa, dns::encode_tlsa(r));
  return text ? nlohmann::json(*text) : nlohmann::json(nullptr);
}

}  // namespace

nlohmann::json to_json(const MxDecision& d) {
  const auto req = requirements(d.verdict);
  nlohmann::json j = {
      {"host", d.host},
      {"preference", d.preference},
      {"policy", to_string(d.verdict)},
      {"reason", d.reason},
      {"source", to_string(d.source)},
      {"implicit", d.implicit},
      {"tls_required", req.tls_required},
      {"authentication", to_string(req.authentication)},
      {"address_security", dns::to_string(d.address_security)},
  };
  if (d.port != 25) j["port"] = d.port;  // a relay host's port; absent means 25
  nlohmann::json addrs = nlohmann::json::array();
  for (const auto& a : d.addresses) addrs.push_back(a.to_string());
  j["addresses"] = std::move(addrs);
  if (!d.canonical_name.empty()) j["canonical_name"] = d.canonical_name;
  j["reference_names"] = d.reference_names;
  if (d.tlsa.looked_up) {
    nlohmann::json t = {{"qname", d.tlsa.qname},
                        {"status", dns::to_string(d.tlsa.status)},
                        {"security", dns::to_string(d.tlsa.security)}};
    if (!d.tlsa.why_bogus.empty()) t["why_bogus"] = d.tlsa.why_bogus;
    nlohmann::json usable = nlohmann::json::array();
    for (const auto& r : d.tlsa.usable) usable.push_back(tlsa_json(r));
    nlohmann::json unusable = nlohmann::json::array();
    for (std::size_t i = 0; i < d.tlsa.unusable.size(); ++i)
      unusable.push_back({{"record", tlsa_json(d.tlsa.unusable[i])},
                          {"reason", i < d.tlsa.unusable_reasons.size() ? d.tlsa.unusable_reasons[i] : ""}});
    t["usable"] = std::move(usable);
    t["unusable"] = std::move(unusable);
    j["tlsa"] = std::move(t);
  }
  if (d.defer_cause != DeferCause::none) j["defer_cause"] = to_string(d.defer_cause);
  const std::string sni = d.sni_name();
  j["sni"] = sni.empty() ? nlohmann::json(nullptr) : nlohmann::json(sni);  // null: no SNI (an IP literal)
  if (d.sts_mx_match) j["mta_sts_mx_match"] = *d.sts_mx_match;
  j["tlsrpt_policy"] = tlsrpt::to_json(d.tlsrpt);
  if (d.tlsrpt_result) j["tlsrpt_result"] = tlsrpt::to_string(*d.tlsrpt_result);
  return j;
}

nlohmann::json to_json(const DomainDecision& d) {
  nlohmann::json j = {{"domain", d.domain},
                      {"status", to_string(d.status)},
                      {"reason", d.reason},
                      {"mx_security", dns::to_string(d.mx_security)}};
  if (d.defer_cause != DeferCause::none) j["defer_cause"] = to_string(d.defer_cause);
  if (d.mta_sts) {
    const auto& s = *d.mta_sts;
    nlohmann::json m = {{"state", s.state == mtasts::StsLookup::State::policy ? "policy" : "no-policy"},
                        {"record", s.record},
                        {"id", s.id},
                        {"from_cache", s.from_cache}};
    if (s.policy) {
      m["mode"] = mtasts::to_string(s.policy->mode);
      m["mx"] = s.policy->mx;
      m["max_age"] = s.policy->max_age;
      m["expires_at"] = s.expires_at;
    }
    if (s.failure) m["failure"] = tlsrpt::to_string(*s.failure);
    if (!s.detail.empty()) m["detail"] = s.detail;
    j["mta_sts"] = std::move(m);
  }
  nlohmann::json mx = nlohmann::json::array();
  for (const auto& m : d.mx) mx.push_back(to_json(m));
  j["mx"] = std::move(mx);
  return j;
}

}  // namespace mxsec::policy

#include "app/cli/report_json.hpp"

namespace mxsec::cli {

nlohmann::json spf_json(const auth::spf::SpfResult& r) {
  return {{"result", auth::spf::to_string(r.verdict)},
          {"explanation", r.explanation},
          {"lookups", r.lookups},
          {"void_lookups", r.void_lookups},
          {"dns_queries", r.dns_queries},
          {"domain", r.domain},
          {"identity", auth::spf::to_string(r.identity)},
          {"reason", r.reason},
          {"mechanism", r.mechanism},
          {"record", r.record}};
}

nlohmann::json dkim_signature_json(const auth::dkim::SignatureResult& s) {
  nlohmann::json j{{"d", s.domain},
                   {"s", s.selector},
                   {"i", s.identity},
                   {"algorithm", s.algorithm},
                   {"canonicalization", s.canonicalization},
                   {"header_b", s.header_b},
                   {"result", auth::dkim::to_string(s.result)},
                   {"reason", s.reason},
                   {"key_security", dns::to_string(s.key_security)},
                   {"key_bits", s.key_bits},
                   {"testing", s.testing}};
  if (s.body_length) j["l"] = *s.body_length;
  return j;
}

nlohmann::json dkim_json(const auth::dkim::VerifyResult& r) {
  nlohmann::json list = nlohmann::json::array();
  if (r.signatures.empty()) list.push_back({{"result", "none"}, {"reason", "no DKIM-Signature field"}});
  for (const auto& s : r.signatures) list.push_back(dkim_signature_json(s));
  return {{"result", auth::dkim::to_string(r.summary())}, {"signatures", std::move(list)}};
}

nlohmann::json dmarc_json(const auth::dmarc::Evaluation& e, const std::string& author_domain) {
  using namespace auth::dmarc;
  nlohmann::json j{{"result", to_string(e.result)},
                   {"reason", e.reason},
                   {"author_domain", author_domain},
                   {"spf_aligned", e.spf_aligned},
                   {"dkim_aligned", e.dkim_aligned},
                   {"dns_queries", e.dns_queries}};
  const PolicyDiscovery& d = e.discovery;
  if (d.outcome == PolicyDiscovery::Outcome::found) {
    j["policy_domain"] = d.policy_domain;
    j["organizational_domain"] = d.org_domain;
    j["record"] = d.raw_record;
    j["dnssec"] = dns::to_string(d.security);
    j["policy"] = {{"requested", to_string(e.policy.requested)},
                   {"source", to_string(e.policy.source)},
                   {"applied", to_string(e.policy.applied)}};
  }
  nlohmann::json ids = nlohmann::json::array();
  for (const auto& id : e.identifiers)
    ids.push_back({{"mechanism", auth::dmarc::to_string(id.mechanism)},
                   {"domain", id.domain},
                   {"result", auth::dmarc::to_string(id.result)},
                   {"considered", id.considered}});
  j["identifiers"] = std::move(ids);
  return j;
}

}  // namespace mxsec::cli

#include "policy/tlsrpt/result.hpp"

#include <array>
#include <nlohmann/json.hpp>
#include <utility>

namespace mxsec::policy::tlsrpt {
namespace {

// RFC 8460 §4.3 spellings, in enum order.
constexpr std::array<std::pair<ResultType, const char*>, 11> kResultNames{{
    {ResultType::starttls_not_supported, "starttls-not-supported"},
    {ResultType::certificate_host_mismatch, "certificate-host-mismatch"},
    {ResultType::certificate_expired, "certificate-expired"},
    {ResultType::certificate_not_trusted, "certificate-not-trusted"},
    {ResultType::validation_failure, "validation-failure"},
    {ResultType::tlsa_invalid, "tlsa-invalid"},
    {ResultType::dnssec_invalid, "dnssec-invalid"},
    {ResultType::dane_required, "dane-required"},
    {ResultType::sts_policy_fetch_error, "sts-policy-fetch-error"},
    {ResultType::sts_policy_invalid, "sts-policy-invalid"},
    {ResultType::sts_webpki_invalid, "sts-webpki-invalid"},
}};

}  // namespace

const char* to_string(PolicyType t) {
  switch (t) {
    case PolicyType::tlsa: return "tlsa";
    case PolicyType::sts: return "sts";
    case PolicyType::no_policy_found: return "no-policy-found";
  }
  return "?";
}

const char* to_string(ResultType t) {
  for (const auto& [type, name] : kResultNames)
    if (type == t) return name;
  return "?";
}

std::optional<ResultType> parse_result_type(std::string_view s) {
  // The RFC spellings are lower case; report producers in the wild do not
  // vary them, so the comparison is exact.
  for (const auto& [type, name] : kResultNames)
    if (s == name) return type;
  return std::nullopt;
}

nlohmann::json to_json(const PolicyBlock& block) {
  nlohmann::json j = nlohmann::json::object();
  j["policy-type"] = to_string(block.type);
  j["policy-string"] = block.policy_string;
  j["policy-domain"] = block.policy_domain;
  if (!block.mx_host.empty()) j["mx-host"] = block.mx_host;
  return j;
}

}  // namespace mxsec::policy::tlsrpt

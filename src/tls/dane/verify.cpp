#include "tls/dane/verify.hpp"

#include <openssl/x509v3.h>

#include "core/limits.hpp"
#include "core/strings.hpp"

namespace mxsec::tls::dane {

const char* to_string(DaneStatus s) {
  switch (s) {
    case DaneStatus::not_requested: return "not-requested";
    case DaneStatus::matched: return "matched";
    case DaneStatus::no_match: return "no-match";
  }
  return "no-match";
}

Result<void> enable_dane(SSL* ssl, const std::vector<dns::TlsaRecord>& usable,
                         const std::vector<std::string>& reference_names) {
  if (!ssl) return make_error(Errc::invalid_argument, "no SSL handle");
  if (reference_names.empty() || reference_names.front().empty())
    return make_error(Errc::invalid_argument, "DANE needs the MX host name as first reference name");
  if (usable.empty()) return make_error(Errc::invalid_argument, "DANE needs at least one usable TLSA record");
  if (usable.size() > limits::kDaneMaxTlsaRecords)
    return make_error(Errc::limit, "more than " + std::to_string(limits::kDaneMaxTlsaRecords) + " TLSA records");

  const std::string base = normalize_domain(reference_names.front());
  if (SSL_dane_enable(ssl, base.c_str()) <= 0)
    return make_error(Errc::crypto, "SSL_dane_enable(" + escape_for_log(base) + ") failed: " + openssl_error_text());
  SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
  for (std::size_t i = 1; i < reference_names.size(); ++i) {
    const std::string name = normalize_domain(reference_names[i]);
    if (name.empty() || name == base) continue;
    if (SSL_add1_host(ssl, name.c_str()) != 1)
      return make_error(Errc::crypto, "SSL_add1_host(" + escape_for_log(name) + ") failed: " + openssl_error_text());
  }
  SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);

  int added = 0;
  for (const auto& r : usable) {
    int rc = SSL_dane_tlsa_add(ssl, r.usage, r.selector, r.matching_type,
                               reinterpret_cast<const unsigned char*>(r.data.data()), r.data.size());
    if (rc < 0) return make_error(Errc::crypto, "SSL_dane_tlsa_add failed: " + openssl_error_text());
    if (rc > 0) ++added;
  }
  openssl_error_text();  // records OpenSSL skipped leave reasons on the queue
  if (added == 0) return make_error(Errc::crypto, "OpenSSL found none of the TLSA records usable");
  return {};
}

DaneOutcome dane_outcome(SSL* ssl) {
  DaneOutcome out;
  long verify = SSL_get_verify_result(ssl);
  std::uint8_t usage = 0, selector = 0, mtype = 0;
  const unsigned char* data = nullptr;
  std::size_t dlen = 0;
  int depth = SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen);
  if (verify == X509_V_OK && depth >= 0) {
    out.status = DaneStatus::matched;
    out.matched_depth = depth;
    out.matched_record = dns::TlsaRecord{usage, selector, mtype,
                                         std::string(reinterpret_cast<const char*>(data), dlen)};
    return out;
  }
  out.status = DaneStatus::no_match;
  out.verify_error = verify == X509_V_OK ? X509_V_ERR_DANE_NO_MATCH : static_cast<int>(verify);
  out.verify_error_text = X509_verify_cert_error_string(out.verify_error);
  return out;
}

}  // namespace mxsec::tls::dane

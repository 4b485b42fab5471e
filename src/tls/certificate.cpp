#include "tls/certificate.hpp"

#include <openssl/x509v3.h>

#include <ctime>

#include "core/limits.hpp"
#include "core/strings.hpp"

namespace mxsec::tls {
namespace {

std::string name_text(const X509_NAME* name) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || !name) return {};
  if (X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return {};
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return len > 0 ? std::string(data, static_cast<std::size_t>(len)) : std::string();
}

std::int64_t unix_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&tm));
}

std::string sha256_hex(const std::string& der) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_Digest(der.data(), der.size(), md, &len, EVP_sha256(), nullptr) != 1) return {};
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), len));
}

std::vector<std::string> dns_sans(X509* cert) {
  std::vector<std::string> out;
  using Names = STACK_OF(GENERAL_NAME);
  std::unique_ptr<Names, void (*)(Names*)> names(
      static_cast<Names*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)),
      [](Names* n) { GENERAL_NAMES_free(n); });
  if (!names) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type != GEN_DNS) continue;
    const ASN1_IA5STRING* s = gn->d.dNSName;
    out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                     static_cast<std::size_t>(ASN1_STRING_length(s)));
  }
  return out;
}

}  // namespace

Result<std::string> certificate_der(X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509(cert, &buf);
  if (len <= 0) return make_error(Errc::crypto, "cannot DER-encode certificate: " + openssl_error_text());
  std::unique_ptr<unsigned char, OpenSslFree> owned(buf);
  return std::string(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
}

Result<std::string> spki_der(X509* cert) {
  unsigned char* buf = nullptr;
  int len = i2d_X509_PUBKEY(X509_get_X509_PUBKEY(cert), &buf);
  if (len <= 0) return make_error(Errc::crypto, "cannot DER-encode public key: " + openssl_error_text());
  std::unique_ptr<unsigned char, OpenSslFree> owned(buf);
  return std::string(reinterpret_cast<const char*>(buf), static_cast<std::size_t>(len));
}

Result<CertificateInfo> describe_certificate(X509* cert) {
  if (!cert) return make_error(Errc::invalid_argument, "no certificate");
  CertificateInfo info;
  info.subject = name_text(X509_get_subject_name(cert));
  info.issuer = name_text(X509_get_issuer_name(cert));
  info.dns_names = dns_sans(cert);
  info.not_before = unix_time(X509_get0_notBefore(cert));
  info.not_after = unix_time(X509_get0_notAfter(cert));
  if (EVP_PKEY* key = X509_get0_pubkey(cert)) {
    const char* type = EVP_PKEY_get0_type_name(key);
    info.key_type = type ? type : "unknown";
    info.key_bits = EVP_PKEY_get_bits(key);
  }
  int sig_nid = X509_get_signature_nid(cert);
  info.signature_algorithm = sig_nid != NID_undef ? OBJ_nid2ln(sig_nid) : "unknown";
  auto der = certificate_der(cert);
  if (!der) return der.error();
  auto spki = spki_der(cert);
  if (!spki) return spki.error();
  info.sha256_hex = sha256_hex(*der);
  info.spki_sha256_hex = sha256_hex(*spki);
  if (info.sha256_hex.empty() || info.spki_sha256_hex.empty())
    return make_error(Errc::crypto, "SHA-256 failed: " + openssl_error_text());
  return info;
}

Result<ChainInfo> describe_chain(STACK_OF(X509)* chain) {
  ChainInfo out;
  if (!chain) return out;
  int n = sk_X509_num(chain);
  for (int i = 0; i < n; ++i) {
    if (out.certificates.size() >= static_cast<std::size_t>(limits::kTlsMaxChainCertificates)) {
      out.truncated = true;
      break;
    }
    auto info = describe_certificate(sk_X509_value(chain, i));
    if (!info) return info.error();
    out.certificates.push_back(std::move(*info));
  }
  return out;
}

}  // namespace mxsec::tls

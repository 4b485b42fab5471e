// tls/certificate.hpp: facts about an X.509 certificate, for display and
// for TLSA record generation.
//
// Contract
// - describe_certificate() reads a certificate the caller owns and returns
//   plain values; nothing in CertificateInfo points into OpenSSL memory.
//   It fails (Errc::crypto) only when OpenSSL cannot encode or hash the
//   certificate (a malformed certificate that nonetheless parsed).
// - Names are RFC 2253 one-line strings. `dns_names` holds the dNSName
//   subjectAltName entries as published (other SAN types are ignored).
// - Times are seconds since the Unix epoch (UTC).
// - `sha256_hex` is SHA-256 over the DER certificate (TLSA selector 0,
//   matching type 1); `spki_sha256_hex` is SHA-256 over the DER
//   SubjectPublicKeyInfo (selector 1, matching type 1; RFC 6698 §2.1.2).
// - describe_chain() describes at most limits::kTlsMaxChainCertificates
//   certificates of a peer chain; `truncated` says whether more were sent.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "tls/handles.hpp"

namespace mxsec::tls {

struct CertificateInfo {
  std::string subject;
  std::string issuer;
  std::vector<std::string> dns_names;
  std::int64_t not_before = 0;
  std::int64_t not_after = 0;
  std::string key_type;             // "RSA", "EC", "ED25519", ...
  int key_bits = 0;
  std::string signature_algorithm;  // "sha256WithRSAEncryption", ...
  std::string sha256_hex;           // of the DER certificate
  std::string spki_sha256_hex;      // of the DER SubjectPublicKeyInfo
};

struct ChainInfo {
  std::vector<CertificateInfo> certificates;  // leaf first, as sent
  bool truncated = false;
};

Result<CertificateInfo> describe_certificate(X509* cert);
Result<ChainInfo> describe_chain(STACK_OF(X509)* chain);

// DER encodings, for TLSA association data (selector 0 / 1).
Result<std::string> certificate_der(X509* cert);
Result<std::string> spki_der(X509* cert);

}  // namespace mxsec::tls

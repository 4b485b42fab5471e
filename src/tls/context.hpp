// tls/context.hpp: client SSL_CTX for SMTP (STARTTLS, RFC 3207).
//
// Contract
// - make_client_context() returns a new SSL_CTX owned by the caller, set up
//   for an SMTP client:
//     * trust: the system store (SSL_CTX_set_default_verify_paths) unless
//       `system_trust` is false, plus every PEM file in `ca_files`; a file
//       that cannot be loaded is an error (Errc::crypto), never silently
//       skipped, because a missing anchor turns every WebPKI check into
//       "untrusted" for the wrong reason;
//     * protocol floor: TLS 1.2 unless `min_protocol` says otherwise
//       (RFC 8996 retires TLS 1.0/1.1);
//     * DANE: SSL_CTX_dane_enable() is called, so an SSL made from this
//       context can take TLSA records (tls/dane/verify.hpp);
//     * verification mode SSL_VERIFY_NONE: the handshake never aborts on a
//       certificate problem. Callers judge the outcome afterwards
//       (SSL_get_verify_result for DANE, tls::check_webpki for WebPKI), so one
//       connection reports both. A caller that must not send over an
//       unauthenticated channel checks those verdicts before sending.
//     * the peer chain accepted is capped by verify depth
//       limits::kTlsMaxChainCertificates.
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "tls/handles.hpp"

namespace mxsec::tls {

struct ClientContextConfig {
  bool system_trust = true;               // load the OpenSSL default CA paths
  std::vector<std::string> ca_files;      // extra PEM trust anchors
  int min_protocol = TLS1_2_VERSION;      // TLS1_2_VERSION or TLS1_3_VERSION
};

Result<SslCtxPtr> make_client_context(const ClientContextConfig& config);

// Server SSL_CTX for STARTTLS (RFC 3207) and implicit TLS (RFC 8314): the
// certificate chain and key from PEM files (checked to match), TLS 1.2 or
// newer (RFC 8996 retired 1.0 and 1.1), no client certificate requested,
// no session tickets' renegotiation. Errc::io / Errc::crypto name the file.
struct ServerContextConfig {
  std::string certificate_chain_file;
  std::string key_file;
  int min_protocol = TLS1_2_VERSION;
};
Result<SslCtxPtr> make_server_context(const ServerContextConfig& config);

// "TLSv1.3" etc. for an SSL after the handshake.
std::string protocol_name(const SSL* ssl);

}  // namespace mxsec::tls

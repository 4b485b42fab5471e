// tls/webpki.hpp: is a peer chain WebPKI-valid for a host name? (MTA-STS)
//
// Contract
// - check_webpki() runs OpenSSL's own path validation (X509_STORE_CTX with
//   the "ssl_server" purpose) over `leaf` plus the `untrusted` certificates
//   the peer sent, against the anchors in `trust`. Nothing here walks a chain
//   by hand. Anchors are self-signed roots: X509_V_FLAG_PARTIAL_CHAIN is not
//   set, so an intermediate in the store does not end a path by itself.
// - The reference identity is `host` (a trailing dot is ignored), checked by
//   X509_VERIFY_PARAM_set1_host with X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS and
//   X509_CHECK_FLAG_NEVER_CHECK_SUBJECT; a `host` that is an IP address
//   (a relay host given as an address literal) is checked against the
//   iPAddress subjectAltNames instead (X509_VERIFY_PARAM_set1_ip), never as
//   a DNS name. RFC 8461 §4.1 (MTA-STS) requires the
//   MX host name to match a DNS-ID of the certificate per RFC 6125, where a
//   wildcard is allowed only as the complete left-most label and matches
//   exactly one label ("*.example.com" matches "mx.example.com", not
//   "a.b.example.com" and not "example.com"); "f*.example.com" is never a
//   wildcard. The subject CN is not consulted (RFC 9525 retired CN-IDs).
// - `at` pins the verification time (seconds since the epoch, for tests and
//   replay); nullopt means now.
// - The verdict is a value. OpenSSL stops at the first error, in its own
//   order: an untrusted chain is reported before a name mismatch, and a name
//   mismatch before an expired certificate. `error_text` is
//   X509_verify_cert_error_string() of `error_code`; `error_depth` is the
//   chain depth OpenSSL blamed (0 = leaf).
// - Verdict meanings and their RFC 8460 §4.3.1 result types:
//     ok             - chain to a trusted anchor, name matches, dates valid.
//     host_mismatch  - "certificate-host-mismatch" (a DNS-ID or an IP-ID).
//     expired        - "certificate-expired" (a certificate in the chain).
//     not_yet_valid  - "validation-failure" (no better-fitting type).
//     untrusted      - "certificate-not-trusted" (no path to an anchor,
//                      self-signed leaf, ...).
//     other          - "validation-failure" (bad signature, bad purpose, ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "policy/tlsrpt/result.hpp"
#include "tls/handles.hpp"

namespace mxsec::tls {

enum class WebPkiVerdict { ok, host_mismatch, expired, not_yet_valid, untrusted, other };
const char* to_string(WebPkiVerdict v);
// RFC 8460 §4.3.1 result type for a failing verdict; nullopt for ok.
std::optional<policy::tlsrpt::ResultType> tlsrpt_result_type(WebPkiVerdict v);

struct WebPkiResult {
  WebPkiVerdict verdict = WebPkiVerdict::other;
  int error_code = 0;        // X509_V_ERR_*, 0 for ok
  std::string error_text;    // X509_verify_cert_error_string(error_code)
  int error_depth = 0;
};

WebPkiResult check_webpki(X509_STORE* trust, X509* leaf, STACK_OF(X509)* untrusted, std::string_view host,
                          std::optional<std::int64_t> at = std::nullopt);

// Maps an X509_V_ERR_* code onto a verdict (X509_V_OK -> ok).
WebPkiVerdict classify_verify_error(int x509_error);

}  // namespace mxsec::tls

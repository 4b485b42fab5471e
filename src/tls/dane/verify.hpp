// tls/dane/verify.hpp: DANE authentication of an SMTP server through
// OpenSSL's SSL_dane_* API (RFC 7672 §3, RFC 7671, RFC 6698).
//
// Contract
// - enable_dane() arms one SSL (made from a context on which
//   SSL_CTX_dane_enable() succeeded, e.g. tls::make_client_context) before
//   the handshake:
//     * SSL_dane_enable() with reference_names[0] (the MX host name) as base
//       domain; it also becomes the SNI name (RFC 7672 §8.1: a DANE client
//       sends SNI with the TLSA base domain, so a server with several
//       certificates can pick the one its TLSA records describe).
//     * SSL_add1_host() for every other reference name. RFC 7672 §3.2.2 lists
//       them for DANE-TA(2): the MX host name, the name it has after CNAME
//       expansion, and the next-hop domain. Wildcards only as a whole
//       left-most label (X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS).
//     * SSL_dane_set_flags(DANE_FLAG_NO_DANE_EE_NAMECHECKS): RFC 7672 §3.1.1
//       makes DANE-EE(3) a match on the key alone; names and validity dates
//       of the leaf are not checked.
//     * SSL_dane_tlsa_add() for each record of `usable` (pass
//       TlsaSet::usable from tls/dane/tlsa.hpp).
//   Errors: Errc::invalid_argument for no records or no reference name,
//   Errc::limit for more than limits::kDaneMaxTlsaRecords records,
//   Errc::crypto when OpenSSL refuses (including when it finds none of the
//   records usable).
// - dane_outcome() reads the result after the handshake. `matched` means the
//   chain verified under DANE (SSL_get_verify_result() == X509_V_OK) and
//   OpenSSL names the record that matched (SSL_get0_dane_tlsa) and its
//   depth (0 = leaf). Anything else is `no_match` with OpenSSL's verify error.
//   RFC 7672 §2.2: with usable TLSA records, a server that does not match
//   must not receive mail; the caller defers. TLS-RPT: "validation-failure"
//   (RFC 8460 §4.3.1; §4.3.2.1 "tlsa-invalid" is for records that are not
//   valid in themselves, which tlsa.hpp reports before any connection).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "dns/types.hpp"
#include "tls/handles.hpp"

namespace mxsec::tls::dane {

Result<void> enable_dane(SSL* ssl, const std::vector<dns::TlsaRecord>& usable,
                         const std::vector<std::string>& reference_names);

enum class DaneStatus { not_requested, matched, no_match };
const char* to_string(DaneStatus s);

struct DaneOutcome {
  DaneStatus status = DaneStatus::not_requested;
  std::optional<dns::TlsaRecord> matched_record;  // when matched
  int matched_depth = -1;                         // chain depth of the match
  int verify_error = 0;                           // X509_V_ERR_* (0 when matched)
  std::string verify_error_text;                  // X509_verify_cert_error_string
};

// Only meaningful for an SSL armed by enable_dane() whose handshake finished.
DaneOutcome dane_outcome(SSL* ssl);

}  // namespace mxsec::tls::dane

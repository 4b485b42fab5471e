// smtp/client/tls_judge.hpp: the judgement of one STARTTLS session against
// what the transport policy requires, shared by the probe (probe.hpp) and
// the delivery client (session.hpp).
//
// Contract
// - TlsExpectation says what the policy asks of the server: the verdict
//   (policy/engine/decision.hpp), the MX host name (the WebPKI reference
//   identity, RFC 8461 §4.1), the usable TLSA records and the RFC 7672
//   §3.2.2 reference names (the TLSA base domain first).
// - arm_tls() prepares an SSL after start_tls() and before the handshake:
//   SNI = the first reference name (RFC 7672 §8.1: the TLSA base domain; the
//   MX host when DANE does not apply), none when that is an IP address
//   literal (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not permitted
//   in "HostName""; WebPKI then checks the address as an IP-ID,
//   tls/webpki.hpp), the pinned verification time (tests),
//   and, for the `dane` verdict, OpenSSL's DANE check with the usable records
//   (tls/dane/verify.hpp). It returns whether DANE was armed. Errc::crypto /
//   Errc::invalid_argument / Errc::limit when OpenSSL refuses the records
//   (a `dane` verdict without a usable record is one): the caller treats that
//   as a TLS failure, never as "no DANE".
// - judge_tls() reads an established session (the handshake never aborts on
//   certificates: tls::make_client_context uses SSL_VERIFY_NONE) and judges
//   it as a value:
//     * DANE (armed): OpenSSL's verdict (SSL_get_verify_result), the record
//       that matched and its usage (SSL_get0_dane_tlsa): DANE-EE(3) or
//       DANE-TA(2). A non-match is named "TLSA mismatch" in `failure_reason`.
//     * `dane-unusable-tls-required`: TLSA records exist, none usable: DANE
//       no_match "no usable TLSA records" (RFC 7672 §2.2: TLS is still
//       mandatory, without authentication).
//     * WebPKI for mx_host (tls::check_webpki) on every session, so one
//       connection reports both verdicts.
//     * `authenticated`: the authentication requirements(verdict) asks for
//       held (DANE matched, or WebPKI ok); true when it asks for none.
//     * `tlsrpt_failure`, the RFC 8460 §4.3 result type of the policy that
//       applies: DANE no-match -> "validation-failure" (§4.3.1; "tlsa-invalid"
//       is for records invalid in themselves, §4.3.2.1), no usable records ->
//       "tlsa-invalid", WebPKI verdicts for mta-sts, mta-sts-testing and
//       verify (tls::tlsrpt_result_type: certificate-host-mismatch /
//       -expired / -not-trusted / validation-failure); nullopt when the
//       policy held, and for opportunistic, encrypt and none (no policy to
//       report on).
// - The log label (`tls=`), TlsLabel, says who authenticated the server:
//     dane-ee / dane-ta  DANE matched, by a DANE-EE(3) or DANE-TA(2) record;
//     mta-sts            an MTA-STS policy applies (enforce or testing) and
//                        the WebPKI check of the MX host name passed;
//     opportunistic      any other TLS session: unauthenticated, or
//                        authenticated only by a local `verify` policy (the
//                        label names a policy the recipient domain published;
//                        a local policy publishes none; `authenticated`
//                        still records that WebPKI held for `verify`);
//     none               clear text.
// - judge_clear() is the judgement of a session that stayed in clear text,
//   with the failure that kept TLS away (starttls-not-supported,
//   validation-failure after a failed handshake), reported only when the
//   policy has something to report (see tlsrpt_failure above).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/result.hpp"
#include "dns/types.hpp"
#include "policy/engine/decision.hpp"
#include "policy/tlsrpt/result.hpp"
#include "tls/certificate.hpp"
#include "tls/dane/verify.hpp"
#include "tls/handles.hpp"
#include "tls/webpki.hpp"

namespace mxsec::smtp {

enum class TlsLabel { none, opportunistic, mta_sts, dane_ee, dane_ta };
const char* to_string(TlsLabel l);  // "none", "opportunistic", "mta-sts", "dane-ee", "dane-ta"

struct TlsExpectation {
  policy::Verdict verdict = policy::Verdict::opportunistic;
  std::string mx_host;                         // WebPKI reference identity
  std::vector<dns::TlsaRecord> tlsa;           // usable records (verdict dane)
  std::vector<std::string> reference_names;    // TLSA base domain first; empty = {mx_host}
  std::optional<std::int64_t> verify_time;     // pinned time (tests); nullopt = now
};

// The expectation of a policy decision for one MX host.
TlsExpectation expectation_for(const policy::MxDecision& mx);

struct TlsJudgement {
  bool tls_established = false;
  std::string protocol;  // "TLSv1.3", ...
  std::string cipher;    // OpenSSL cipher name
  std::vector<tls::CertificateInfo> peer_chain;  // leaf first, as sent
  bool chain_truncated = false;
  tls::dane::DaneOutcome dane;                   // not_requested unless DANE applies
  std::optional<tls::WebPkiResult> webpki;       // after a handshake
  bool authenticated = false;
  std::optional<policy::tlsrpt::ResultType> tlsrpt_failure;
  std::string failure_reason;                    // "" when nothing failed
  TlsLabel label = TlsLabel::none;
};

Result<bool> arm_tls(SSL* ssl, const TlsExpectation& e);
TlsJudgement judge_tls(SSL* ssl, const TlsExpectation& e, bool dane_armed);
TlsJudgement judge_clear(const TlsExpectation& e, policy::tlsrpt::ResultType why, std::string reason);

}  // namespace mxsec::smtp

// smtp/client/probe.hpp: the STARTTLS probe behind `mxsec probe` (the
// posttls-finger of mxsec).
//
// Contract
// - probe() connects to one SMTP server address, reads the greeting, sends
//   EHLO, and, when STARTTLS is offered, STARTTLS (RFC 3207), the TLS
//   handshake (SNI = the first reference name: the TLSA base domain), EHLO again over TLS, then QUIT. It
//   sends nothing but EHLO, STARTTLS and QUIT: a probe never sends mail.
// - Verification never aborts the handshake (tls::make_client_context uses
//   SSL_VERIFY_NONE), so one connection yields both verdicts (judged by
//   smtp/client/tls_judge.hpp, as for the delivery client: the probe's
//   policy is `dane` with usable records, `dane-unusable-tls-required` with
//   an empty `tlsa`, `mta-sts` without `tlsa`):
//     * DANE (when `tlsa` holds usable records): OpenSSL's own DANE check
//       (tls/dane/verify.hpp), judged by SSL_get_verify_result();
//     * WebPKI for `mx_host` (MTA-STS, RFC 8461 §4.1): tls::check_webpki()
//       over the chain the server sent, against the context's trust store.
// - The dialogue runs over an smtp::Connection (smtp/session): every read,
//   write, connect and handshake has its own deadline (the `timeouts`), and
//   the whole session ends by `timeouts.total` (limits::kProbeTimeout). On a
//   deadline the socket is closed and the result says which stage timed out
//   (Errc::timeout). Cancelling the probe (Asio per-operation cancellation)
//   ends the current stage with Errc::cancelled.
// - Replies go through smtp::ReplyParser with `reply_limits`: an overlong
//   line, too many lines or bytes that are not SMTP end the session with a
//   clear error in `failure`, never a crash or an unbounded buffer.
// - RFC 3207 §5: bytes that follow the 220 reply to STARTTLS in the same read
//   were not protected by TLS; they are discarded and counted in
//   `plaintext_discarded`.
// - `tlsrpt_failure` is the RFC 8460 §4.3 result type this outcome maps to,
//   judged by the policy the request implies: DANE when `tlsa` is set,
//   otherwise WebPKI (MTA-STS). nullopt when TLS succeeded and authenticated,
//   and when the session failed before STARTTLS could be judged (connection
//   refused, timeout or junk before EHLO completed: not a TLS negotiation).
//   Values are policy::tlsrpt::ResultType; to_string() gives the RFC text:
//     "starttls-not-supported"    - EHLO refused, STARTTLS not offered, or
//                                   the STARTTLS command refused (§4.3.1);
//     "certificate-host-mismatch" / "certificate-expired" /
//     "certificate-not-trusted"   - WebPKI verdicts (§4.3.1);
//     "validation-failure"        - handshake failure, DANE no-match, other
//                                   WebPKI failures (§4.3.1 / §4.3.3: failures
//                                   that fit no other category). A DANE
//                                   mismatch is not "tlsa-invalid": §4.3.2.1
//                                   uses that for TLSA records that are
//                                   invalid in themselves.
// - Concurrency: the coroutine and its deadline timer share the executor it
//   runs on; run it on a single-threaded io_context or a strand.
// - The request is taken by value so a co_spawn'ed probe owns its inputs.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"
#include "dns/types.hpp"
#include "policy/tlsrpt/result.hpp"
#include "smtp/proto/ehlo.hpp"
#include "smtp/proto/reply.hpp"
#include "tls/certificate.hpp"
#include "tls/context.hpp"
#include "tls/dane/verify.hpp"
#include "tls/webpki.hpp"

namespace mxsec::smtp {

struct ProbeTimeouts {
  std::chrono::milliseconds connect = limits::kSmtpConnectTimeout;
  std::chrono::milliseconds greeting = limits::kSmtpGreetingTimeout;
  std::chrono::milliseconds command = limits::kSmtpCommandTimeout;  // each command's reply
  std::chrono::milliseconds handshake = limits::kTlsHandshakeTimeout;
  std::chrono::milliseconds total = limits::kProbeTimeout;          // whole session
};

struct ProbeRequest {
  IpAddress address;
  std::uint16_t port = 25;
  std::string ehlo_name;                        // our name in EHLO
  std::string mx_host;                          // SNI and WebPKI reference name
  std::optional<std::vector<dns::TlsaRecord>> tlsa;  // usable records; nullopt = no DANE
  // RFC 7672 §3.2.2 reference names, the TLSA base domain first; the first
  // is also the SNI name (§8.1). Empty = {mx_host}. (policy::MxDecision's
  // reference_names have this shape.)
  std::vector<std::string> reference_names;
  tls::ClientContextConfig tls;
  ProbeTimeouts timeouts;
  ReplyLimits reply_limits;
  std::optional<std::int64_t> verify_time;      // pinned WebPKI time (tests); nullopt = now
};

enum class ProbeStage { connect, greeting, ehlo, starttls, handshake, ehlo_tls, quit };
const char* to_string(ProbeStage s);

struct ProbeFailure {
  ProbeStage stage = ProbeStage::connect;
  Error error;
};

struct ProbeResult {
  bool connected = false;
  std::optional<Reply> banner;
  std::optional<Reply> ehlo_reply;
  std::optional<EhloCapabilities> ehlo;
  bool starttls_offered = false;
  std::optional<Reply> starttls_reply;
  std::size_t plaintext_discarded = 0;
  bool tls_established = false;
  std::string protocol;   // "TLSv1.3", ...
  std::string cipher;     // OpenSSL cipher name
  std::vector<tls::CertificateInfo> peer_chain;  // leaf first, as sent
  bool chain_truncated = false;
  tls::dane::DaneOutcome dane;                   // status not_requested without TLSA
  std::optional<tls::WebPkiResult> webpki;       // after a handshake
  std::optional<EhloCapabilities> ehlo_tls;      // EHLO after STARTTLS
  std::optional<Reply> quit_reply;
  std::size_t bytes_read = 0;                    // all octets received
  std::optional<ProbeFailure> failure;           // what ended the session early
  std::optional<policy::tlsrpt::ResultType> tlsrpt_failure;  // RFC 8460 §4.3 result type
};

asio::awaitable<ProbeResult> probe(ProbeRequest request);

}  // namespace mxsec::smtp

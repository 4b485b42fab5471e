// smtp/client/session.hpp: the outbound SMTP session to one address of one
// MX host, under the transport-security policy of that host (the wire half of
// secure delivery: RFC 5321, RFC 3207, RFC 7672, RFC 8461, RFC 8689).
//
// Contract
// - ClientSession::open() connects to one address (IPv4 or IPv6) of one MX
//   host, reads the greeting, sends EHLO <ehlo_name> (A-labels), STARTTLS as
//   the MX's policy::Verdict requires, the TLS handshake (SNI =
//   MxDecision::sni_name(), none for an IP address literal; DANE armed with
//   the usable TLSA records and the
//   reference names: smtp/client/tls_judge.hpp), judges the TLS session, and
//   sends EHLO again over TLS. The result is either an open session (with
//   its TlsJudgement and the capabilities of the last EHLO) or a HostFailure:
//   the caller tries the next address or MX host (RFC 5321 §5.1). start()
//   is the same from the greeting on, over a connection the caller made
//   (tests: the in-memory stream).
// - Policy on the wire, per verdict (requirements(verdict)):
//     dane  RFC 7672 §2.2: with usable TLSA records the client must use
//           STARTTLS and authenticate the server by those records; it never
//           falls back to clear text or to an unauthenticated session. No
//           STARTTLS in EHLO, STARTTLS refused, or a failed handshake:
//           HostFailure (TLS-RPT starttls-not-supported /
//           validation-failure). A chain that no usable TLSA record matches:
//           HostFailure naming the "TLSA mismatch", validation-failure, and
//           nothing but QUIT over that channel (RFC 3207 §4.1: "If the SMTP
//           client decides that the level of authentication or privacy is
//           not high enough for it to continue, it SHOULD issue an SMTP QUIT
//           command immediately after the TLS negotiation is complete"). No
//           MAIL FROM ever goes over an unverified or clear channel.
//     dane-unusable-tls-required, encrypt  TLS mandatory, no authentication
//           (RFC 7672 §2.2: secure TLSA records of which none is usable still
//           make TLS mandatory).
//     mta-sts, verify  TLS mandatory and the WebPKI chain valid for the MX
//           host name (tls::check_webpki, RFC 8461 §4.1), else HostFailure
//           with the WebPKI reason (certificate-host-mismatch / -expired /
//           -not-trusted): RFC 8461 §4.2 and §5, under an "enforce" policy a
//           host that fails TLS or certificate validation does not receive
//           the message.
//     mta-sts-testing  STARTTLS attempted; RFC 8461 §5, "testing" mode: a
//           failure is reported (TLS-RPT) and the message delivered anyway. It
//           is recorded in the judgement (tlsrpt_failure) and the session
//           goes on, in clear text when STARTTLS is not offered or refused.
//     opportunistic  STARTTLS when offered, any certificate; clear text when
//           not offered or refused (RFC 3207 §4.1 leaves that choice to the
//           client). A failed handshake leaves no usable
//           connection: HostFailure with retry_in_clear, and the caller may
//           connect once more with ClientOptions::clear_text_retry, which
//           does not attempt STARTTLS (Postfix does the same after a failed
//           opportunistic handshake). mta-sts-testing and a relaxed session
//           (TLS-Required: No) allow the same retry.
//     none  No STARTTLS.
//     defer  Never opened: open() refuses it (HostFailure, stage policy).
//   clear_text_retry under a verdict that makes TLS mandatory is refused.
// - RFC 3207 §5 (STARTTLS injection): bytes after the 220 reply to
//   STARTTLS are discarded (counted in plaintext_discarded()), and §4.2:
//   "the client MUST discard any knowledge obtained from the server, such as
//   the list of SMTP service extensions": only the EHLO over TLS counts.
// - A greeting other than 220, or a refused EHLO, is a HostFailure (RFC
//   5321 §5.1: try the next MX). When EHLO is refused with a 5xx and TLS is
//   not mandatory the client falls back to HELO (§3.2) with no extensions
//   (and so no STARTTLS, and clear text).
// - AUTH (RFC 4954), only with ClientOptions::credentials (a relay host's
//   user name and password): after the last EHLO, and only over TLS. A
//   session that is not on TLS sends no credential at all (HostFailure,
//   stage auth, 4.7.10, "relay host offers no TLS; not sending credentials
//   in clear"), nor does a relaxed one (the policy's verification failed:
//   4.7.5). Over TLS: PLAIN when offered, else LOGIN (smtp/client/auth.hpp);
//   neither offered is a HostFailure (4.7.0, "offers no AUTH ..."). A 4xx or
//   5xx to AUTH (535 5.7.8 for a wrong password) is a HostFailure with the
//   reply in its text and its own code in class 4: a misconfigured
//   password defers mail, never bounces it. A reply the exchange does not
//   allow (a 334 where 235 was due, a reply over the limits) closes the
//   connection (4.5.0) and no further credential is sent. No error text
//   holds a credential.
// - HostFailure::enhanced is class 4 always: a host failure defers, it never
//   bounces by itself; the caller decides when no host is left. 4.4.1 (no
//   connection), 4.4.2 (lost / timed out), 4.5.0 (bad reply, limit), 4.7.4
//   (STARTTLS required but not offered or refused), 4.7.5 (TLS handshake or
//   verification failure), the reply's own subject and detail with class 4
//   for a refused greeting or EHLO.
// - send() makes one mail transaction over the open session and returns one
//   RecipientOutcome per recipient, in order (smtp/client/transaction.hpp:
//   delivered / deferred / failed, reply text and RFC 3463 code). MAIL FROM
//   parameters only when the server offers them and the message needs them:
//   SIZE=<octets of text> when SIZE is offered (a message over the server's
//   fixed limit fails with 5.3.4 and nothing is sent, RFC 1870 §6),
//   BODY=8BITMIME and SMTPUTF8 as in transaction.hpp, RET=, ENVID= and per
//   RCPT NOTIFY= and ORCPT= (RFC 3461 §4) when DSN is offered, REQUIRETLS.
//   8-bit text to a server without 8BITMIME is converted to 7 bit, or its
//   recipients fail with 5.6.3 (decide_eight_bit(), transaction.hpp;
//   ClientOptions::downgrade_8bit), and SIZE= is the converted size.
//   RecipientOutcome::dsn_passed_on tells the caller, per delivered
//   recipient, whether the server offered DSN and so took over its NOTIFY
//   (RFC 3461 §5.2.1); when not, a NOTIFY=SUCCESS is the caller's to answer
//   with a "relayed" DSN (§5.2.2, delivery/notify.hpp).
//   RCPTs are pipelined in groups of kSmtpPipelineRcpts when PIPELINING is
//   offered (RFC 2920); one reply after "." for every accepted recipient
//   (RFC 5321 §4.1.1.4). A transaction refused before the text (MAIL, every
//   RCPT or DATA refused) is followed by RSET, so the session can carry the
//   next message; a completed transaction leaves it ready as it is
//   (connection reuse). A broken connection, or a refused RSET, makes the
//   session unusable: later send() calls defer every recipient.
// - REQUIRETLS (RFC 8689 §4.2): a message flagged requiretls is sent only
//   when the session was authenticated by DANE (verdict dane, a TLSA record
//   matched) or by MTA-STS (verdict mta-sts, WebPKI valid) and the EHLO
//   over TLS offers REQUIRETLS; its MAIL FROM then carries REQUIRETLS.
//   Otherwise no MAIL is sent and every recipient fails with 5.7.30
//   ("REQUIRETLS support required", RFC 8689 §5). REQUIRETLS wins over
//   TLS-Required: No (§4.1: the header field is ignored when REQUIRETLS is
//   given).
// - TLS-Required: No (RFC 8689 §4.1: the sender asks that the recipient
//   domain's TLS policy, DANE or MTA-STS, be ignored for this message): a session opened with
//   ClientOptions::tls_required_no treats every verdict but defer and none
//   as opportunistic (STARTTLS when offered, failures recorded, not fatal).
//   When the policy's own requirements were not met on such a session
//   (relaxed()), it carries only messages that say TLS-Required: No
//   (OutboundMessage::tls_required_no); any other message is deferred with
//   4.7.5 and nothing is sent. The caller opens relaxed sessions for those
//   messages only.
// - Limits: a deadline per step (ClientTimeouts, defaults RFC 5321
//   §4.5.3.2 in core/limits.hpp) and one for the whole session
//   (kSmtpClientSessionTimeout, however many messages); ReplyLimits bound
//   every reply. A command line that would carry CR, LF or NUL is never sent
//   (its recipients deferred, 4.5.0).
// - quit() sends QUIT when the session is in step, then closes.
// - reset() sends RSET (RFC 5321 §4.1.1.5) between transactions: the probe
//   that a cached connection is still alive before it carries the next
//   message. False, and the session unusable and closed, when the
//   connection fails or the reply is not 2xx (a server that closed an idle
//   connection, or answers 421).
// - Concurrency: one call at a time, on the executor the session was opened
//   on (single-threaded io_context or a strand). The MxDecision and options
//   are taken by value; send()'s caller keeps the message alive until it
//   completes.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"
#include "policy/engine/decision.hpp"
#include "policy/tlsrpt/result.hpp"
#include "smtp/client/auth.hpp"
#include "smtp/client/tls_judge.hpp"
#include "smtp/client/transaction.hpp"
#include "smtp/proto/command.hpp"
#include "smtp/proto/ehlo.hpp"
#include "smtp/proto/reply.hpp"
#include "smtp/session/connection.hpp"

namespace mxsec::smtp {

struct ClientTimeouts {
  std::chrono::milliseconds connect = limits::kSmtpConnectTimeout;
  std::chrono::milliseconds greeting = limits::kSmtpGreetingTimeout;  // §4.5.3.2.1
  std::chrono::milliseconds command = limits::kSmtpCommandTimeout;    // EHLO, HELO, STARTTLS, RSET, QUIT
  std::chrono::milliseconds handshake = limits::kTlsHandshakeTimeout;
  std::chrono::milliseconds mail = limits::kSmtpMailTimeout;
  std::chrono::milliseconds rcpt = limits::kSmtpRcptTimeout;
  std::chrono::milliseconds data = limits::kSmtpDataInitTimeout;
  std::chrono::milliseconds data_block = limits::kSmtpDataBlockTimeout;
  std::chrono::milliseconds data_done = limits::kSmtpDataDoneTimeout;
  std::chrono::milliseconds session = limits::kSmtpClientSessionTimeout;
};

struct ClientOptions {
  std::string ehlo_name;           // our host name, A-labels
  std::uint16_t port = 25;
  // From tls::make_client_context(); the caller keeps it alive while the
  // session lives. One context serves many sessions. Required unless the
  // verdict is none or this is a clear-text retry.
  SSL_CTX* tls_context = nullptr;
  ClientTimeouts timeouts;
  ReplyLimits reply_limits;
  std::optional<std::int64_t> verify_time;  // pinned WebPKI time (tests); nullopt = now
  bool clear_text_retry = false;  // the retry after HostFailure::retry_in_clear: no STARTTLS
  bool tls_required_no = false;   // for messages with "TLS-Required: No" (RFC 8689 §4.1)
  // AUTH to a relay host (see the contract); null = no AUTH. Shared, not
  // copied, so the password is held once.
  std::shared_ptr<const ClientCredentials> credentials;
  // A DKIM-signed message that needs converting to 7 bit (transaction.hpp).
  Downgrade8bit downgrade_8bit = Downgrade8bit::convert;
};

enum class OpenStage { policy, connect, greeting, ehlo, starttls, handshake, verification, ehlo_tls, auth };
// "policy", "connect", ..., "tls-handshake", "tls-verification", "ehlo-after-tls", "auth"
const char* to_string(OpenStage s);

struct HostFailure {
  OpenStage stage = OpenStage::connect;
  Error error;                    // what happened, for logs (peer and stage not included)
  std::optional<Reply> reply;     // the reply that refused, if one did
  EnhancedStatus enhanced{4, 4, 1};
  std::optional<policy::tlsrpt::ResultType> tlsrpt;  // RFC 8460 §4.3, when TLS failed
  bool retry_in_clear = false;    // a clear-text retry is allowed (see the contract)
  TlsJudgement tls;               // what was judged before the failure
  std::string text;               // "<peer>: <stage>: <error>", for Recipient::last_result
};

struct OutboundRecipient {
  std::string_view address;  // as queued; U-labels kept
  unsigned notify = 0;       // smtp::NotifyFlag bits, 0 = not given
  std::string_view orcpt;    // "rfc822;user@example" (xtext-decoded), "" = none
};

struct OutboundMessage {
  std::string_view reverse_path;  // "" = null sender
  std::vector<OutboundRecipient> recipients;
  std::vector<std::string_view> slices;  // the text, in order
  bool smtputf8 = false;          // received with SMTPUTF8
  bool requiretls = false;        // RFC 8689 REQUIRETLS
  bool tls_required_no = false;   // "TLS-Required: No" in the header (RFC 8689 §4.1)
  DsnRet ret = DsnRet::unspecified;
  std::string_view envid;         // xtext-decoded; "" = none
};

class ClientSession;

struct OpenResult {
  std::unique_ptr<ClientSession> session;  // set on success
  std::optional<HostFailure> failure;      // set otherwise
  bool ok() const { return session != nullptr; }
};

class ClientSession {
 public:
  static asio::awaitable<OpenResult> open(policy::MxDecision mx, IpAddress address, ClientOptions options);
  // From the greeting on over `conn`; `peer` names the server in reasons.
  static asio::awaitable<OpenResult> start(Connection conn, policy::MxDecision mx, std::string peer,
                                           ClientOptions options);

  ~ClientSession();
  ClientSession(const ClientSession&) = delete;
  ClientSession& operator=(const ClientSession&) = delete;

  asio::awaitable<std::vector<RecipientOutcome>> send(const OutboundMessage& message);
  asio::awaitable<void> quit();
  asio::awaitable<bool> reset();

  const TlsJudgement& tls() const;
  const EhloCapabilities& capabilities() const;  // of the last EHLO (over TLS when TLS)
  const std::string& peer() const;               // "mx.example[192.0.2.1]:25"
  bool usable() const;
  bool relaxed() const;                 // see TLS-Required: No in the contract
  std::size_t plaintext_discarded() const;  // RFC 3207 §5
  std::size_t messages_sent() const;    // transactions that reached "."
  SessionCounters counters() const;

  struct Impl;

 private:
  explicit ClientSession(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// "mx.example[192.0.2.1]:25", "mx.example[2001:db8::1]:25".
std::string peer_name(std::string_view host, const IpAddress& address, std::uint16_t port);

}  // namespace mxsec::smtp

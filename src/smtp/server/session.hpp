// smtp/server/session.hpp: one inbound SMTP session (RFC 5321), from the
// greeting to QUIT, over a smtp::Connection.
//
// Contract
// - run_session() speaks the server side of RFC 5321 with PIPELINING (RFC
//   2920), SIZE (1870), 8BITMIME (6152), SMTPUTF8 (6531), ENHANCEDSTATUSCODES
//   (2034, codes from 3463), CHUNKING/BDAT (3030), DSN (3461), STARTTLS (3207),
//   AUTH (4954) and REQUIRETLS (8689). It returns when the client quits, the
//   connection fails, a limit ends the session, or the task is cancelled.
//   It never throws for anything the client does.
// - Message text goes to the spool as it arrives (queue::MessageWriter);
//   the reply to the end of data is 250 only after queue::Spool::commit()
//   made the message durable. Any failure before that is a 4xx or 5xx and
//   the message is dropped; nothing is acknowledged that is not on disk.
// - End of data is <CRLF>.<CRLF> only (smtp::DataDecoder). A message with a
//   bare CR or bare LF in its text is refused (550 5.6.0) after the end of
//   data, so SMTP smuggling can neither start a second transaction here nor
//   carry such bytes to the next hop.
// - STARTTLS: RFC 3207 §4.2 "the server MUST discard any knowledge obtained
//   from the client, such as the argument to the EHLO command, which was not
//   obtained from the TLS negotiation itself": plaintext pipelined after
//   STARTTLS is dropped (Connection::start_tls) and the HELO, MAIL, RCPT
//   and AUTH state is reset.
// - Relay: a recipient in a local domain is accepted from anyone; any other
//   recipient only from a client in the relay networks or after AUTH
//   (554 5.7.1 otherwise). The domain compared is the A-label domain of the
//   final mailbox of the path (source routes discarded); address literals
//   are never local.
// - Submission (ListenerKind::submission, smtps): MAIL needs AUTH first
//   (530 5.7.0), and AUTH is offered only under TLS (RFC 8314 §3.3, RFC
//   4954 §4: 538 5.7.11 in plaintext). On port 25, AUTH is offered under TLS.
// - Limits (config::ServerLimits): line length (500 5.5.6), commands per
//   session (421 4.7.0), bad commands (421 4.7.0), recipients per message
//   (452 4.5.3), message size (552 5.3.4), command timeout and session time
//   (421 4.4.2), minimum data rate during DATA/BDAT (421 4.4.2), AUTH
//   failures (421 4.7.0). Each hit is logged with the client and the limit.
// - Inbound verification (when Services::inbound is set and the client is
//   neither authenticated nor in the relay networks): SPF at MAIL FROM, and
//   on the HELO identity when it is a domain (RFC 7208 §2.3, reported with
//   smtp.helo),
//   (spf_fail = reject: 550 5.7.23), DKIM and DMARC at the end of data on
//   the spooled text; the Authentication-Results header is prepended;
//   DMARC p=reject failures get 550 5.7.1 when dmarc_reject = reject;
//   quarantine (p=quarantine, or p=reject with dmarc_reject = quarantine)
//   adds "X-Mxsec-Quarantine:" and, with inbound.quarantine = hold, holds
//   the message in the queue. Each verdict goes to Services::on_verdict.
// - DKIM signing (config [[dkim]]): mail from an authenticated client or
//   from the relay networks (never from other clients) is signed at the
//   end of data, after every header field mxsec prepends, with each key
//   whose domain is the From domain or a parent of it; the DKIM-Signature
//   fields go on top (smtp/server/outbound_dkim.hpp). A failure to sign is
//   logged as an error and the message is accepted without the signature
//   that failed: it is never lost or deferred for it.
// - Counting (Services::counters, when set): each session, STARTTLS
//   handshake, accepted or refused message and recipient, limit hit and AUTH
//   outcome is counted once, where the reply is decided (Counters below).
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "auth/verify/verify.hpp"
#include "config/server_config.hpp"
#include "core/clock.hpp"
#include "core/ip_address.hpp"
#include "metrics/registry.hpp"
#include "queue/spool.hpp"
#include "smtp/server/sasl.hpp"
#include "smtp/server/users.hpp"
#include "smtp/session/connection.hpp"

namespace mxsec::smtp::server {

struct ClientInfo {
  IpAddress address;
  std::uint16_t port = 0;
  config::ListenerKind listener = config::ListenerKind::smtp;
  bool tls_on_connect = false;  // smtps: the TLS handshake already happened
};

// SPF, DKIM and DMARC for inbound mail; the server's implementation runs
// auth::verify_message on the validating resolver.
class InboundVerifier {
 public:
  virtual ~InboundVerifier() = default;
  virtual asio::awaitable<auth::spf::SpfResult> check_sender(IpAddress ip, std::string helo, std::string mail_from) = 0;
  virtual asio::awaitable<auth::spf::SpfResult> check_helo(IpAddress ip, std::string helo) = 0;
  virtual asio::awaitable<Result<auth::MessageVerdict>> check_message(std::string_view text, auth::VerifyInput input,
                                                                     auth::spf::SpfResult spf) = 0;
};

// Why a message was refused (mxsec_messages_rejected_total{reason}):
//   spf           MAIL FROM refused for SPF fail (inbound.spf_fail = reject)
//   dmarc         the end of data refused for DMARC p=reject
//   size          SIZE= at MAIL, or the text, over limits.message_bytes
//   recipients    DATA or BDAT with no accepted recipient
//   bare_newline  a bare CR or LF in the text (SMTP smuggling closed)
//   limit         the session was closed by a limit during the text
//                 (min_data_rate, or a timeout)
//   queue_error   the spool could not take the message (451)
enum class MessageRejection { spf, dmarc, size, recipients, bare_newline, limit, queue_error };
inline constexpr std::size_t kMessageRejections = 7;
const char* to_string(MessageRejection r);

// Why a recipient was refused (mxsec_recipients_rejected_total{reason}):
// relay access denied (554 5.7.1), a local part no Maildir may have (550
// 5.1.1), limits.recipients (452 4.5.3), or the RCPT command's syntax or
// parameters.
enum class RecipientRejection { relay, mailbox, limit, syntax };
inline constexpr std::size_t kRecipientRejections = 4;
const char* to_string(RecipientRejection r);

// The limits a client can hit (mxsec_limit_hits_total{limit}): the names of
// their [limits] keys; `timeout` is command_timeout or session_time.
enum class LimitName {
  line_bytes,
  commands_per_session,
  bad_commands,
  recipients,
  message_bytes,
  timeout,
  min_data_rate,
  auth_failures,
  max_sessions,
  max_sessions_per_client,
};
inline constexpr std::size_t kLimitNames = 10;
const char* to_string(LimitName l);

// How TLS started: STARTTLS (RFC 3207) or implicit TLS (RFC 8314 §3.3).
enum class TlsMode { starttls, implicit };
inline constexpr std::size_t kTlsModes = 2;
const char* to_string(TlsMode m);

inline constexpr std::size_t kListenerKinds = 3;  // config::ListenerKind
inline constexpr std::size_t kSaslMechanisms = 2;  // smtp::SaslMechanism

// What the server counts, shared by every worker (lock-free atomics; the
// Prometheus names are in docs/operations.md, the registration in
// daemon/metrics.cpp). Services::counters = nullptr counts nothing.
struct Counters {
  // Sessions that got their greeting, by listener kind, and those running.
  metrics::Labeled<config::ListenerKind, kListenerKinds> sessions;
  metrics::Labeled<config::ListenerKind, kListenerKinds, metrics::Gauge> sessions_active;
  metrics::Labeled<TlsMode, kTlsModes> tls_handshakes;
  metrics::Labeled<TlsMode, kTlsModes> tls_handshake_failures;
  metrics::Counter messages_accepted;  // committed, 250 sent
  metrics::Labeled<MessageRejection, kMessageRejections> messages_rejected;
  metrics::Labeled<RecipientRejection, kRecipientRejections> recipients_rejected;
  metrics::Labeled<LimitName, kLimitNames> limit_hits;
  // SMTP AUTH (RFC 4954) exchanges that ended with 235 / 535, by mechanism.
  metrics::Labeled<SaslMechanism, kSaslMechanisms> auth_successes;
  metrics::Labeled<SaslMechanism, kSaslMechanisms> auth_failures;
};

struct Services {
  const config::ServerConfig* config = nullptr;
  queue::Spool* spool = nullptr;
  SSL_CTX* tls = nullptr;             // nullptr: no STARTTLS
  const UserDb* users = nullptr;      // nullptr: no AUTH
  // Where password hashes are checked (yescrypt costs milliseconds of CPU,
  // which must not stall the event loop); nullptr: on the session's thread.
  asio::thread_pool* blocking = nullptr;
  InboundVerifier* inbound = nullptr; // nullptr: no SPF/DKIM/DMARC
  const Clock* clock = nullptr;
  Counters* counters = nullptr;
  // Called after a commit, with the new message's ID (delivery picks it up).
  std::function<void(const queue::Envelope&)> on_committed;
  // Called once per verified message with what was decided ("accept",
  // "quarantine", "reject"), for DMARC aggregate reports (RFC 9989 §5).
  std::function<void(const auth::MessageVerdict&, const ClientInfo&, std::string_view disposition)> on_verdict;
};

asio::awaitable<void> run_session(Connection connection, ClientInfo client, Services& services);

}  // namespace mxsec::smtp::server

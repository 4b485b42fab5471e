// delivery/lmtp.hpp: delivery to a mail store over LMTP (RFC 2033), the
// local mail transfer protocol of Dovecot, Cyrus and others.
//
// Contract
// - deliver_lmtp() makes one LMTP transaction for one message and the
//   recipients of one destination, and returns one LmtpOutcome per
//   recipient, in the order given. It blocks the calling thread (the queue
//   runner calls it from its pool): the dialogue runs as a coroutine on a
//   private io_context, and the call returns no later than
//   LmtpOptions::timeouts.session after it started, whatever the server does.
//   lmtp_dialogue() is the same dialogue on a connection the caller made
//   (tests run it over the in-memory stream).
// - The dialogue: read the 220 greeting, LHLO <lhlo_name> (RFC 2033 §4.1),
//   MAIL FROM, one RCPT TO per recipient, DATA, the text, ".", then one reply
//   per accepted recipient, then QUIT. RFC 2033 §4.2: "after the final ".",
//   the server returns one reply for each previously successful RCPT command
//   in the mail transaction, in the order that the RCPT commands were
//   issued." A recipient refused at RCPT has no reply after ".". With
//   PIPELINING (RFC 2920) in the LHLO reply, MAIL and the RCPTs go out in
//   groups of at most limits::kLmtpPipelineRcpts RCPTs per write; without it
//   every command waits for its reply.
// - MAIL parameters, only when the message needs them: BODY=8BITMIME when the
//   text holds an octet above 127 and the server offers 8BITMIME (RFC 6152);
//   SMTPUTF8 when the envelope holds a non-ASCII address, or the message was
//   received with SMTPUTF8 and its header holds a non-ASCII octet (RFC 6531
//   §3.4: "If the SMTPUTF8-aware SMTP client is aware that neither the
//   envelope nor the message being sent requires any of the SMTPUTF8
//   extension capabilities, it SHOULD NOT supply the SMTPUTF8 parameter").
//   If the message needs SMTPUTF8 and the server does not offer it, nothing
//   is sent and every recipient fails permanently (RFC 6531 §3.2: such a
//   client "SHOULD reject the message"; §3.5: X.6.7 for a non-ASCII address,
//   X.6.9 for a UTF-8 header).
//   8-bit text to a server without 8BITMIME (RFC 6152 §3) is converted to 7
//   bit (smtp::decide_eight_bit(): 8-bit body parts become
//   quoted-printable), or when it cannot be, every recipient fails with
//   5.6.3 and nothing is sent. Mail stores normally offer 8BITMIME.
// - The text is the slices in order, dot-stuffed with CRLF line ends
//   (smtp/proto/data_encoder.hpp: no line we send can end the data early),
//   written in blocks of limits::kLmtpDataBlockBytes.
// - MAIL, RCPT, DATA, the text and the replies after "." are the shared
//   client transaction (smtp/client/transaction.hpp), with one reply per
//   accepted recipient after ".".
// - Verdicts, per recipient (LmtpOutcome): a 2xx reply to its RCPT and then
//   2xx after "." is `delivered`; a 5xx reply to MAIL, to its RCPT, to DATA
//   or after "." is `failed` (permanent: the runner bounces it); a 4xx
//   reply, a reply code the protocol does not allow at that point, a
//   connection failure, a timeout, a reply over the ReplyLimits, or a reply
//   that is not SMTP is `deferred`, for that recipient and every recipient
//   still without a verdict. A greeting other than 220 and a refused LHLO
//   defer too, 5xx included: they speak about the store (down, or not an
//   LMTP server: a configuration mistake), not about the message, so the
//   mail waits until it is fixed instead of bouncing. A connection that
//   breaks after "." keeps the verdicts of the replies read before the
//   break: those copies are in the store.
// - LmtpOutcome::text is the reply that decided it, rendered for logs and
//   `queue show` (Reply::to_log_string: escaped, one line), e.g. "550 5.1.1
//   <u@example> User doesn't exist"; or our reason when no reply decided it,
//   naming the destination and the phase ("lost connection with
//   lmtp[127.0.0.1]:24 while sending the message text: ..."). `status` is
//   the RFC 3463 code: the reply's own when the server offered
//   ENHANCEDSTATUSCODES (RFC 2034) and sent one, otherwise X.0.0 of the
//   reply's class; for our reasons 4.4.1 (no connection), 4.4.2 (connection
//   lost or timed out), 4.5.0 (protocol error, limit), 5.6.7 / 5.6.9, 5.6.3.
// - Limits (LmtpOptions): a deadline per step (connect, each reply, each
//   block of text, each reply after ".") and one for the whole session;
//   ReplyLimits bound every reply (line length, lines). The defaults are in
//   core/limits.hpp (kLmtp*, kSmtpReply*). lhlo_name and the addresses must
//   not contain CR, LF or spaces outside quotes; a line that would carry CR
//   or LF is never sent (the recipients are deferred, Errc::invalid_argument).
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "smtp/client/transaction.hpp"
#include "smtp/proto/reply.hpp"
#include "smtp/session/connection.hpp"

namespace mxsec::delivery {

struct LmtpDestination {
  IpAddress address;
  std::uint16_t port = 24;
  std::string text() const;  // "lmtp[127.0.0.1]:24", "lmtp[::1]:24" (logs, Recipient::last_host)
};

struct LmtpTimeouts {
  std::chrono::milliseconds connect = limits::kLmtpConnectTimeout;
  std::chrono::milliseconds command = limits::kLmtpCommandTimeout;  // greeting and each reply before DATA's text
  std::chrono::milliseconds data = limits::kLmtpDataTimeout;        // each block of text
  std::chrono::milliseconds data_done = limits::kLmtpDataDoneTimeout;  // each reply after "."
  std::chrono::milliseconds session = limits::kLmtpSessionTimeout;     // the whole transaction
};

struct LmtpOptions {
  std::string lhlo_name;  // our host name, A-labels (RFC 6531 §3.7.1: ASCII in EHLO/LHLO)
  LmtpTimeouts timeouts;
  smtp::ReplyLimits reply_limits;
};

struct LmtpEnvelope {
  std::string_view reverse_path;             // "" = null sender
  std::vector<std::string_view> recipients;  // as received; U-labels kept
  bool smtputf8 = false;                     // the message was received with SMTPUTF8
};

// The outcome vocabulary is the shared one of smtp/client/transaction.hpp;
// to_string(LmtpStatus) gives "sent", "deferred", "bounced".
using LmtpStatus = smtp::RecipientStatus;
using LmtpOutcome = smtp::RecipientOutcome;
using smtp::to_string;

std::vector<LmtpOutcome> deliver_lmtp(const LmtpDestination& destination, const LmtpEnvelope& envelope,
                                      const std::vector<std::string_view>& slices, const LmtpOptions& options);

// From the greeting on, over `conn`, which it closes at the end; `peer` names
// the server in our reasons. The caller keeps envelope, slices and options
// alive until it completes.
asio::awaitable<std::vector<LmtpOutcome>> lmtp_dialogue(smtp::Connection& conn, std::string peer,
                                                        const LmtpEnvelope& envelope,
                                                        const std::vector<std::string_view>& slices,
                                                        const LmtpOptions& options);

}  // namespace mxsec::delivery

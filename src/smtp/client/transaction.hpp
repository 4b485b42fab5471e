// smtp/client/transaction.hpp: one mail transaction on the client side
// (MAIL, RCPT, DATA, the text, the replies after "."), shared by the SMTP
// client session (smtp/client/session.hpp, RFC 5321) and the LMTP client
// (delivery/lmtp.hpp, RFC 2033). What differs between the two (the
// greeting, EHLO or LHLO, STARTTLS, what happens after the transaction)
// stays in their modules.
//
// Contract
// - RecipientOutcome is the verdict for one recipient: `delivered` (2xx to
//   its RCPT and 2xx after "."), `failed` (a 5xx to MAIL, its RCPT, DATA or
//   after ".": permanent, the caller bounces), `deferred` (a 4xx, a reply
//   code the protocol does not allow at that point, a broken connection, a
//   timeout, a reply over the ReplyLimits or not SMTP). `text` is the reply
//   that decided it (Reply::to_log_string: escaped, one line), or our reason
//   naming the peer and the phase ("lost connection with <peer> while
//   sending the message text: ..."). `enhanced` is the RFC 3463 code: the
//   reply's own when the server offered ENHANCEDSTATUSCODES (RFC 2034 §3)
//   and sent one, otherwise X.0.0 of the reply's class; for our reasons
//   4.4.2 (connection lost or timed out), 4.5.0 (protocol error, limit,
//   a line we refuse to send).
// - TransactionVerdicts collects the outcomes as replies arrive; the first
//   verdict for a recipient is final.
// - message_needs() and mail_from_line(): MAIL parameters are sent only when
//   the message needs them and the server offers them. BODY=8BITMIME when
//   the text holds an octet above 127 and 8BITMIME is offered (RFC 6152);
//   SMTPUTF8 when the envelope holds a non-ASCII address, or the message was
//   received with SMTPUTF8 and its header holds a non-ASCII octet (RFC 6531
//   §3.4: the client "SHOULD NOT supply the SMTPUTF8 parameter" when
//   neither needs it). refuse_unsupported_utf8(): when the message needs
//   SMTPUTF8 and the server does not offer it, every recipient fails with
//   5.6.7 (address) or 5.6.9 (header) and nothing is sent (RFC 6531 §3.2,
//   §3.5). The SMTP session adds SIZE (RFC 1870), RET/ENVID (RFC 3461) and
//   REQUIRETLS (RFC 8689) through MailParameters.
// - decide_eight_bit(): 8-bit text to a server that does not offer
//   8BITMIME. RFC 6152 §3: "the client SMTP MUST NOT, under any
//   circumstances, attempt to transfer a content which contains characters
//   outside the US-ASCII octet range (hex 00-7F)"; it may convert the
//   message "into valid 7bit MIME" or treat it as a permanent error. The
//   text is converted (codec/mime_downgrade.hpp: 8-bit body parts become
//   quoted-printable, streamed from the slices, never held whole) and the
//   plan goes into TransactionPlan::downgrade; SIZE= is then the converted
//   size. When it cannot be converted (8-bit header, binary or message/*
//   part, a limit), or Downgrade8bit::bounce and the message carries a
//   DKIM-Signature (conversion breaks it: RFC 6376 signs the body), every
//   recipient fails with 5.6.3 (RFC 3463 X.6.3 "Conversion required but
//   not supported") and nothing is sent.
// - run_transaction(): every line is checked first; a line holding CR, LF
//   or NUL is never sent (every recipient deferred, 4.5.0, nothing
//   written). MAIL and the RCPTs go out in groups (RFC 2920 §3.1): with
//   `pipeline_group` > 1, MAIL plus that many RCPTs in the first write and
//   that many per later write, each write's replies read before the next;
//   with 1, every command waits for its reply. A refused MAIL decides for
//   every recipient (the RCPTs pipelined behind it were refused for lack of
//   a transaction). No accepted RCPT: no DATA. DATA's 354, then the text,
//   dot-stuffed with CRLF line ends (smtp/proto/data_encoder.hpp: no line we
//   send can end the data early), written in blocks of `block_bytes`, then
//   the replies after ".": one per accepted recipient in RCPT order
//   (FinalReplies::per_recipient, RFC 2033 §4.2), or one for the whole
//   transaction (FinalReplies::one, RFC 5321 §4.1.1.4). A connection that
//   breaks after "." keeps the verdicts of the replies read before it.
// - Deadlines (TransactionTimeouts): RFC 5321 §4.5.3.2: the reply to MAIL,
//   to each RCPT, to DATA, each block of text written, each reply after ".";
//   the connection's session deadline caps them all. The connection's read
//   and write timeouts are left at `restore` afterwards.
// - TransactionEnd: `done` (the replies after "." were read: the session is
//   ready for a new MAIL), `refused` (the server refused MAIL, every RCPT or
//   DATA, or a line was refused before sending: the session is in step, a
//   new transaction needs RSET first), `broken` (the connection failed: close
//   it).
#pragma once

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/ip_address.hpp"
#include "codec/mime_downgrade.hpp"
#include "core/result.hpp"
#include "smtp/proto/command.hpp"
#include "smtp/proto/ehlo.hpp"
#include "smtp/proto/reply.hpp"
#include "smtp/session/connection.hpp"

namespace mxsec::smtp {

enum class RecipientStatus { delivered, deferred, failed };
const char* to_string(RecipientStatus s);  // "sent", "deferred", "bounced" (Postfix's log words)

struct RecipientOutcome {
  RecipientStatus status = RecipientStatus::deferred;
  EnhancedStatus enhanced{4, 0, 0};
  std::string text;
  // Delivered to a server that offered DSN: the recipient's NOTIFY/ORCPT
  // went on with it (RFC 3461 §5.2.1). Set by the SMTP session only.
  bool dsn_passed_on = false;
};

class TransactionVerdicts {
 public:
  TransactionVerdicts(std::size_t recipients, std::string peer);

  void set_enhanced_codes(bool offered) { enhanced_codes_ = offered; }
  const std::string& peer() const { return peer_; }
  bool decided(std::size_t i) const { return decided_[i]; }
  std::size_t size() const { return out_.size(); }

  void decide(std::size_t i, RecipientStatus status, EnhancedStatus enhanced, std::string text);
  // A reply that is not the one the step expects (`step` names it in our
  // reason): 4xx defers, 5xx fails, any other code is a protocol error.
  void refused(std::size_t i, const Reply& r, std::string_view step);
  // The same, but a 5xx defers too (a refused session rather than a
  // refused message).
  void deferred(std::size_t i, const Reply& r, std::string_view step);
  // The reply after "." for one recipient.
  void final_reply(std::size_t i, const Reply& r);
  void refused_all(const Reply& r, std::string_view step);
  void deferred_all(const Reply& r, std::string_view step);
  void fail_all(EnhancedStatus enhanced, const std::string& text);
  void defer_all(EnhancedStatus enhanced, const std::string& text);
  // Connection trouble while `phase`: every recipient still open is deferred.
  void broken(const Error& e, std::string_view phase);

  std::vector<RecipientOutcome> take() { return std::move(out_); }

 private:
  EnhancedStatus status_of(const Reply& r) const;

  std::vector<RecipientOutcome> out_;
  std::vector<bool> decided_;
  std::string peer_;
  bool enhanced_codes_ = false;
};

struct MessageNeeds {
  bool eight_bit = false;      // an octet above 127 in the text
  bool envelope_utf8 = false;  // a non-ASCII address
  bool header_utf8 = false;    // received with SMTPUTF8, non-ASCII octet in the header
  bool smtputf8() const { return envelope_utf8 || header_utf8; }
};
MessageNeeds message_needs(std::string_view reverse_path, const std::vector<std::string_view>& recipients,
                           const std::vector<std::string_view>& slices, bool received_smtputf8);

// RFC 6531 §3.2: true when the message needs SMTPUTF8 and `caps` lack it;
// then every recipient of `v` has failed (5.6.7 / 5.6.9).
bool refuse_unsupported_utf8(const MessageNeeds& needs, const EhloCapabilities& caps, TransactionVerdicts& v);

// What to do with a DKIM-signed message that needs converting ([outbound]
// downgrade_8bit): convert it anyway, as Postfix does (the signature may
// then fail at the receiver), or return it (5.6.3). Unsigned messages are
// converted either way.
enum class Downgrade8bit { convert, bounce };
const char* to_string(Downgrade8bit d);  // "convert", "bounce"

struct EightBitDecision {
  bool refused = false;                    // every recipient of `v` has failed (5.6.3)
  std::optional<codec::DowngradePlan> plan;  // set when the text is sent converted
};
// See the contract; `slices` must outlive the plan.
EightBitDecision decide_eight_bit(const MessageNeeds& needs, const EhloCapabilities& caps,
                                  const std::vector<std::string_view>& slices, Downgrade8bit mode,
                                  TransactionVerdicts& v);

struct MailParameters {
  bool body_8bitmime = false;
  bool smtputf8 = false;
  std::optional<std::uint64_t> size;  // SIZE= (RFC 1870)
  DsnRet ret = DsnRet::unspecified;   // RET= (RFC 3461 §4.3)
  std::string envid;                  // ENVID= (RFC 3461 §4.4), xtext-encoded here; "" = none
  bool requiretls = false;            // REQUIRETLS (RFC 8689 §4.2)
};
// The parameters message_needs() calls for and `caps` allow (BODY, SMTPUTF8).
MailParameters basic_mail_parameters(const MessageNeeds& needs, const EhloCapabilities& caps);
std::string mail_from_line(std::string_view reverse_path, const MailParameters& p);

struct TransactionTimeouts {
  std::chrono::milliseconds mail;
  std::chrono::milliseconds rcpt;
  std::chrono::milliseconds data;   // the reply to DATA
  std::chrono::milliseconds block;  // each block of text written
  std::chrono::milliseconds done;   // each reply after "."
  std::chrono::milliseconds restore;  // read/write timeout left on the connection afterwards
};

enum class FinalReplies { per_recipient, one };

struct TransactionPlan {
  std::string mail;                // the MAIL FROM line
  std::vector<std::string> rcpts;  // one RCPT TO line per recipient, in order
  std::size_t pipeline_group = 1;  // RCPTs per write; 1 = no pipelining
  std::size_t block_bytes = 64 * 1024;
  FinalReplies final_replies = FinalReplies::one;
  TransactionTimeouts timeouts;
  // The 7-bit conversion the text goes out with (decide_eight_bit()); null
  // = as it is. The caller keeps it alive until the transaction completes.
  const codec::DowngradePlan* downgrade = nullptr;
};

enum class TransactionEnd { done, refused, broken };

// The caller keeps `conn`, `v` and `slices` alive until it completes.
asio::awaitable<TransactionEnd> run_transaction(Connection& conn, TransactionVerdicts& v, TransactionPlan plan,
                                                const std::vector<std::string_view>& slices);

// The session-layer settings of a client connection: connect, each reply
// and each write (`command`; steps change them as they go), the TLS
// handshake, and the whole session.
SessionConfig client_session_config(std::chrono::milliseconds connect, std::chrono::milliseconds command,
                                    std::chrono::milliseconds handshake, std::chrono::milliseconds session,
                                    ReplyLimits reply_limits);

// The TCP endpoint of an address and port.
asio::ip::tcp::endpoint endpoint_of(const IpAddress& address, std::uint16_t port);
// A name we put on the wire (EHLO argument, SNI) must not smuggle a second
// command (CR, LF) or split the argument (SP): 1 to 255 octets of "!".."~".
bool is_wire_name(std::string_view s);

// Sends the message text (converted by `downgrade` when not null) and the
// end mark, in blocks of `block_bytes`.
asio::awaitable<Result<void>> send_text(Connection& conn, const std::vector<std::string_view>& slices,
                                        std::size_t block_bytes, const codec::DowngradePlan* downgrade = nullptr);

}  // namespace mxsec::smtp

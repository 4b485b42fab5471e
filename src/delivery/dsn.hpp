// delivery/dsn.hpp: the delivery status notification (DSN) that tells a
// sender what became of a message, built as RFC 3464 defines it. No I/O:
// the queue runner decides when one is due (delivery/notify.hpp) and queues
// the text this module returns.
//
// Contract
// - build_dsn() returns one message (RFC 3464 §2, RFC 6522):
//     From: Mail Delivery System <MAILER-DAEMON@reporting_mta>
//     To: <sender>, Subject by action, Date (core/date.hpp), a Message-ID
//     of `message_id`, Auto-Submitted: auto-replied (RFC 3834 §5),
//     MIME-Version, Content-Type: multipart/report; report-type=delivery-status
//   with three parts:
//     1. text/plain: what happened and why, for the person (and the admin)
//        who reads it: one paragraph for the action, then each recipient
//        with the reason quoted from the server that gave it;
//     2. message/delivery-status (RFC 3464 §2.2, §2.3): Original-Envelope-Id
//        (with ENVID), Reporting-MTA: dns; <host>, Arrival-Date; per
//        recipient Original-Recipient (only with ORCPT: RFC 3461 §6.3 "If
//        no ORCPT parameter was provided for this recipient, the
//        Original-Recipient field MUST NOT appear"), Final-Recipient,
//        Action, Status, Remote-MTA, Diagnostic-Code ("smtp; <reply>" for a
//        server's reply, "X-mxsec; <text>" for our own reasons),
//        Last-Attempt-Date, Final-Log-ID (the original's queue ID),
//        Will-Retry-Until (delayed only);
//     3. the original: for a failed DSN the whole message as message/rfc822
//        with RET=FULL, its header as text/rfc822-headers with RET=HDRS,
//        and without RET the whole message up to
//        DsnOptions::full_return_bytes, the header above it (RFC 3461 §4.3
//        leaves that choice to the MTA). Delayed, delivered and relayed
//        DSNs carry the header only (RET is about failed DSNs: RFC 3461 §4.3), and so
//        does every DSN of a REQUIRETLS message (RFC 8689 §5: the server
//        "MUST behave as if RET=HDRS was present").
// - RFC 6533 (internationalized DSN): when the original came with SMTPUTF8
//   or any address in the report is UTF-8, the report is global: part 2 is
//   message/global-delivery-status with "utf-8" address types for UTF-8
//   addresses, part 3 message/global or message/global-headers, the text
//   part is charset=utf-8, and the DSN must be sent with SMTPUTF8
//   (DsnMessage::global). The multipart/report keeps
//   report-type=delivery-status.
// - Status: the recipient's own `status` when it is a valid X.Y.Z (RFC
//   3463), else the enhanced code of a reply in `diagnostic` ("550 5.1.1
//   ..."), else the reply's class with .0.0, else 5.0.0 (failed), 4.0.0
//   (delayed) or 2.0.0 (delivered, relayed).
// - Hostile text: every value that came from outside (diagnostics and
//   remote names quote other servers; addresses, ENVID and ORCPT came from
//   the client) is put on one line: control octets, CR and LF included,
//   become spaces, so no text can start a field or a part; outside a
//   global report non-ASCII octets become '?', inside one ill-formed UTF-8
//   does; diagnostics are cut at limits::kDsnDiagnosticBytes with "...".
//   Fields are folded at spaces; a word too long for a line is split with
//   a fold (it reads back with a space in it). Every line of the result
//   ends in CRLF and holds at most 998 octets (RFC 5322 §2.1.1).
// - The original is returned only if it is well-formed: CRLF line ends and
//   no line over 998 octets; otherwise its header alone, and if that is
//   not well-formed either, nothing, which the text part says. The MIME
//   boundary is chosen so that it occurs in none of the parts.
// - Pure function, thread-safe; the result is owned by the caller.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "smtp/proto/command.hpp"

namespace mxsec::delivery {

// RFC 3464 §2.3.3 (the actions mxsec reports). `relayed`: "the message
// has been relayed or gatewayed into an environment that does not accept
// responsibility for generating DSNs upon successful delivery" (a next hop
// without DSN, RFC 3461 §5.2.2).
enum class DsnAction { failed, delayed, delivered, relayed };
const char* to_string(DsnAction a);  // "failed", "delayed", "delivered", "relayed"

struct DsnRecipient {
  std::string address;        // as received (Final-Recipient)
  std::string orcpt;          // ORCPT as received, xtext-decoded: "rfc822;user@example"; "" = none
  std::string status;         // "4.4.7"; "" = from `diagnostic` (see the contract)
  std::string diagnostic;     // the server's reply or our reason; "" = none
  std::string remote_mta;     // host name of the server that replied; "" = none
  std::int64_t last_attempt = 0;  // unix seconds; 0 = none
};

struct DsnReport {
  DsnAction action = DsnAction::failed;
  std::string reporting_mta;  // our host name (A-labels)
  std::string queue_id;       // the original message's
  std::string sender;         // the original reverse-path: the DSN goes to it
  std::string envid;          // ENVID, xtext-decoded; "" = none
  std::int64_t arrival = 0;   // the original's arrival
  std::int64_t now = 0;       // Date of the DSN
  std::int64_t retry_until = 0;  // Will-Retry-Until (delayed)
  std::string message_id;     // unique token: Message-ID <message_id@reporting_mta>, MIME boundary
  bool smtputf8 = false;      // the original came with SMTPUTF8
  bool requiretls = false;    // the original came with REQUIRETLS (RFC 8689)
  smtp::DsnRet ret = smtp::DsnRet::unspecified;
  std::vector<DsnRecipient> recipients;
};

struct DsnOptions {
  std::size_t full_return_bytes = limits::kDsnReturnFullBytes;
};

enum class DsnReturned { message, headers, nothing };

struct DsnMessage {
  std::string text;
  bool global = false;     // RFC 6533 form: send with SMTPUTF8
  bool eight_bit = false;  // holds octets >= 0x80: send with BODY=8BITMIME
  DsnReturned returned = DsnReturned::nothing;
};

// The RFC 3463 status a reply reports ("550 5.1.1 ..." -> "5.1.1"): its
// enhanced code when that agrees with the reply code's class (RFC 2034 §4),
// else the class with ".0.0"; for our own reason led by a 4.x.x or 5.x.x
// code ("5.7.30 REQUIRETLS support required ...") that code; nullopt for
// any other text.
std::optional<std::string> reply_status(std::string_view reply);

// A reply as servers write it: "550 5.1.1 text", "550-...", "451".
bool is_smtp_reply(std::string_view s);

// `original` is the message as it was queued (our prepended fields, then
// the text).
DsnMessage build_dsn(const DsnReport& report, std::string_view original, const DsnOptions& options = {});

}  // namespace mxsec::delivery

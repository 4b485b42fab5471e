// delivery/notify.hpp: what the queue runner does after each attempt at a
// message, before it saves the message's state: give up on recipients that
// waited too long, and tell the sender what became of the others (RFC 3461
// DSNs, built by delivery/dsn.hpp and queued as new messages).
//
// Contract
// - expire(): every recipient still pending, tried at least once, of a
//   message that arrived `max_lifetime` or longer ago becomes `bounced`,
//   with last_result "message expired after <age> in the queue: <the last
//   reason>" (a recipient never tried gets its one attempt first; a
//   max_lifetime of 0 gives up after the first failed attempt).
// - notify_sender() runs expire() first, then compares the recipients with
//   their state before the attempt (Snapshot) and queues at most one DSN of
//   each kind:
//     failed     every recipient that became `bounced` in this attempt,
//                whoever bounced it (a delivery agent's permanent failure
//                or expire()), whose NOTIFY allows FAILURE; an expired
//                recipient's Status is that of its last reply, or 4.4.7
//                (RFC 3463 X.4.7) when the last reason was not a reply;
//     delayed    once per message (Envelope::delay_notified, kept in the
//                state file so a restart does not repeat it), when the
//                message has waited `delay_warning` and recipients are
//                still pending; it covers those whose NOTIFY allows DELAY
//                and says until when mxsec keeps trying (arrival +
//                max_lifetime);
//     delivered  every recipient of a local domain that was delivered into
//                its mailbox in this attempt with NOTIFY=SUCCESS (RFC 3461
//                §5.2.3: a delivery to the recipient's mailbox is reported
//                as "delivered" when SUCCESS was asked for);
//     relayed    every recipient of another domain that a server accepted in
//                this attempt with NOTIFY=SUCCESS, when that server did not
//                offer DSN (Recipient::dsn_passed_on false, set by the
//                outbound agent): RFC 3461 §5.2.2, the NOTIFY cannot go on
//                with the message, so the relaying MTA reports "relayed"
//                (RFC 3464 §2.3.3), Status 2.0.0, Remote-MTA the server. A
//                server that offered DSN got the NOTIFY and ORCPT with the
//                message (§5.2.1) and reports itself: nothing from us.
//   NOTIFY (RFC 3461 §4.1): not given = FAILURE and DELAY; NEVER = none.
// - Never to the null sender. RFC 5321 §6.1: "This notification MUST be
//   sent using a null ("<>") reverse-path in the envelope. The recipient of
//   this notification MUST be the address from the envelope return path ...
//   However, if this address is null ("<>"), the receiver-SMTP MUST NOT send
//   a notification." A message from <> gets a log line instead (that is
//   also what ends a loop: a DSN is itself from <>).
// - A DSN is a new message in the spool: reverse-path "", one recipient (the
//   original sender, NOTIFY not given), SMTPUTF8 when the DSN is in the RFC
//   6533 form, REQUIRETLS when the original had it. It is committed (durable,
//   spool.hpp) before notify_sender() returns, so before the caller saves
//   the original's state: a crash in between sends it again after the
//   restart (a duplicate), never not at all. If the DSN cannot be queued,
//   the recipients it was for are set back to pending (tried again after
//   `retry_after`; for a delay notice, delay_notified stays false), so the
//   notice is attempted again; a "delivered" or "relayed" notice that
//   cannot be queued is logged and dropped
//   (delivering again to report it would be worse).
// - Log lines, Postfix style: "ID: sender non-delivery notification: NEWID",
//   "ID: sender delay notification: NEWID", "ID: sender delivery status
//   notification: NEWID"; per expired recipient "ID: to=<...>, relay=none,
//   delay=N, status=bounced (...)".
// - Returns the queued DSNs' envelopes, for the runner to attempt.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>
#include <vector>

#include "config/server_config.hpp"
#include "queue/spool.hpp"

namespace mxsec::delivery {

// What notify_sender() compares against: each recipient before the attempt.
struct RecipientBefore {
  queue::RecipientState state = queue::RecipientState::pending;
  int attempts = 0;
};
using Snapshot = std::vector<RecipientBefore>;
Snapshot snapshot(const queue::Envelope& e);

// RFC 3461 §4.1 with the default above; `flag` is one smtp::NotifyFlag.
bool notify_allows(unsigned notify, unsigned flag);

struct NotifyOptions {
  std::chrono::seconds max_lifetime = config::QueueConfig{}.max_lifetime;
  std::chrono::seconds delay_warning = config::QueueConfig{}.delay_warning;
  std::chrono::seconds retry_after = config::QueueConfig{}.min_backoff;
};

// The indices of the recipients it bounced.
std::vector<std::size_t> expire(queue::Envelope& e, std::int64_t now, std::chrono::seconds max_lifetime);

// `original` is the message as delivery writes it out (slices, in order).
std::vector<queue::Envelope> notify_sender(queue::Spool& spool, const config::ServerConfig& config,
                                           queue::Envelope& e, const Snapshot& before,
                                           const std::vector<std::string_view>& original, std::int64_t now,
                                           const NotifyOptions& options);

}  // namespace mxsec::delivery

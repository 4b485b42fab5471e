// delivery/runner.hpp: the queue runner: hands every queued message to its
// delivery agents and keeps the queue's per-recipient state.
//
// Contract
// - submit() (thread-safe) takes a message the server has just committed;
//   start() takes every message already in the queue (after a restart).
//   Each message is attempted at once, on a pool of Options::threads
//   threads, because delivery agents do blocking file I/O with fsync; at
//   most Options::max_attempts attempts are under way at once (the others
//   wait their turn, in order). Relay groups do not hold a thread while
//   mail is on the wire: they go to the OutboundAgent asynchronously
//   (OutboundAgent::deliver_async), whose connection limits decide how many
//   run at once, and the attempt ends on a pool thread when the last group
//   has answered (settling its recipients, the DSNs, then the state).
// - Per recipient: a local domain with `maildir:` delivery gets a Maildir
//   delivery (delivery/maildir.hpp). The due recipients of `lmtp:` domains
//   are grouped by LMTP server, and each group gets one LMTP transaction per
//   attempt (delivery/lmtp.hpp), with a verdict per recipient. The outgoing
//   text is our prepended fields, then the message with forged
//   Authentication-Results removed (delivery/headers.hpp). Recipients that
//   cannot be delivered now stay pending, with the reason in `last_result`,
//   and are tried again after an exponential backoff with jitter
//   (Options::min_backoff doubling up to max_backoff). A recipient the LMTP
//   server refuses permanently (5xx) becomes `bounced`, with the server's
//   reply in `last_result` ("550 5.1.1 <u@example> User doesn't exist").
//   `last_host` is "maildir" or "lmtp[IP]:PORT".
//   Recipients outside the local domains are grouped by domain and each
//   group relayed with one attempt of the OutboundAgent
//   (delivery/outbound.hpp: policy, MX hosts, STARTTLS, verification), with
//   the message's "TLS-Required: No" field honoured (RFC 8689 §5). A relay
//   refused for good (5xx, null MX, no such domain) bounces; anything else
//   defers. `last_host` is the MX peer "mx.example[192.0.2.1]:25" (or
//   "none"), `last_policy` and `last_tls` the host's verdict and the
//   session's TLS. Without an agent they wait with "no delivery agent yet"
//   (and bounce when they expire).
// - Bounces and notices (delivery/notify.hpp): after each attempt, before
//   the message's state is saved, recipients still pending
//   Options::max_lifetime after the message's arrival bounce ("message
//   expired after ..."); then the sender gets at most one DSN (RFC 3464) per
//   kind: "failed" for every recipient that bounced in this attempt (an
//   LMTP refusal or expiry), "delayed" once per message after
//   Options::delay_warning, "delivered" for local deliveries with
//   NOTIFY=SUCCESS, "relayed" for recipients with NOTIFY=SUCCESS relayed to
//   a server that did not offer DSN (RFC 3461 §5.2.2), each as NOTIFY allows (RFC 3461) and never to the null
//   sender. A DSN is queued (durably) before the original's state is saved,
//   so a crash can repeat it but not lose it, and is attempted like any
//   other message. A held message is not attempted, so it neither expires
//   nor gets notices until released.
// - A message leaves the queue (Spool::remove) only when every recipient is
//   delivered or bounced, and a recipient counts as delivered only after
//   its copy is on stable storage. A crash in between delivers again on
//   restart: at least once, never lost. Under SyncMethod::fsync a Maildir
//   delivery fsyncs its file but leaves the fsync of new/ (its rename) to
//   the runner: a message done with every recipient goes to the removal
//   batch (removal_batch.hpp), which syncs each new/ directory once for
//   all the messages gathered and then removes them; a message that stays
//   queued has those directories synced before its state is saved. Until
//   its removal a message counts as in flight (wait_idle() waits for it,
//   flush() does not attempt it again).
// - Held messages (queue hold) are skipped until released and flushed.
// - One log line per recipient and attempt, Postfix style:
//   "ID: to=<user@example>, relay=maildir, delay=0, status=sent (...)",
//   "ID: to=<u@example>, relay=lmtp[127.0.0.1]:24, delay=0, status=bounced (550 5.1.1 ...)",
//   "ID: to=<u@example.de>, relay=mx.example.de[192.0.2.1]:25, delay=0, tls=dane-ee, status=sent (250 ...)";
//   status is sent, deferred or bounced; and one per notice: "ID: sender
//   non-delivery notification: NEWID".
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>

#include "config/server_config.hpp"
#include "policy/engine/decision.hpp"
#include "core/clock.hpp"
#include "core/limits.hpp"
#include "queue/spool.hpp"

namespace mxsec::delivery {

class OutboundAgent;

struct RunnerOptions {
  std::size_t threads = 4;
  std::chrono::seconds min_backoff = config::QueueConfig{}.min_backoff;
  std::chrono::seconds max_backoff = config::QueueConfig{}.max_backoff;
  bool fsync = true;
  SyncMethod sync = SyncMethod::fsync;  // of Maildir deliveries (the spool has its own)
  std::chrono::seconds max_lifetime = config::QueueConfig{}.max_lifetime;
  std::chrono::seconds delay_warning = config::QueueConfig{}.delay_warning;  // 0 = no delay notices
  // Relays recipients outside the local domains; null: they wait with "no
  // delivery agent yet" (tests of local delivery). Must outlive the runner.
  OutboundAgent* outbound = nullptr;
  std::size_t max_attempts = limits::kQueueAttemptsInFlight;  // attempts under way at once (at least 1)
};

// The options `serve` runs with: the [queue] section, the rest as default.
RunnerOptions runner_options(const config::QueueConfig& queue);

struct RunnerStats {
  std::uint64_t delivered = 0;
  std::uint64_t deferred = 0;
  std::uint64_t bounced = 0;  // refused for good by a delivery agent (5xx)
  std::uint64_t removed = 0;  // messages that left the queue
  std::uint64_t notices = 0;  // DSNs queued
  // Relayed recipients' attempts by the MX host's policy verdict (indexed by
  // policy::Verdict) and outcome (0 delivered, 1 deferred, 2 bounced).
  std::array<std::array<std::uint64_t, 3>, policy::kVerdictCount> relayed{};
};

class QueueRunner {
 public:
  QueueRunner(queue::Spool& spool, const config::ServerConfig& config, const Clock& clock, RunnerOptions options = {});
  ~QueueRunner();  // stop()
  QueueRunner(const QueueRunner&) = delete;
  QueueRunner& operator=(const QueueRunner&) = delete;

  void start();                           // every message already queued
  void submit(const queue::Envelope& e);  // a message just committed
  // SIGHUP: attempts that start from now on route with `config` (local
  // domains and their delivery, authserv-id); attempts running finish with
  // the configuration they started with.
  void reconfigure(std::shared_ptr<const config::ServerConfig> config);
  void flush();                           // attempt every deferred message now
  void stop();                            // finishes attempts in progress (and those queued), then returns
  RunnerStats stats() const;
  // Waits until no attempt is running or queued (tests, --once).
  void wait_idle();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxsec::delivery

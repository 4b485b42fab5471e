// delivery/runner.hpp: the queue runner: hands every queued message to its
// delivery agents and keeps the queue's per-recipient state.
//
// Contract
// - submit() (thread-safe) takes a message the server has just committed;
//   start() takes every message already in the queue (after a restart).
//   Each message is attempted at once, on a pool of Options::threads
//   threads, because delivery agents do blocking file I/O with fsync.
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
//   XXX Non-local recipients (relayed mail) wait in the queue with the
//   reason "no delivery agent yet"; outbound SMTP comes with the delivery
//   work.
// - A message leaves the queue (Spool::remove) only when every recipient is
//   delivered or bounced, and a recipient counts as delivered only after
//   the agent reported its copy on stable storage. A crash in between
//   delivers again on restart: at least once, never lost.
// - Held messages (queue hold) are skipped until released and flushed.
// - One log line per recipient and attempt, Postfix style:
//   "ID: to=<user@example>, relay=maildir, delay=0, status=sent (...)",
//   "ID: to=<u@example>, relay=lmtp[127.0.0.1]:24, delay=0, status=bounced (550 5.1.1 ...)";
//   status is sent, deferred or bounced.
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>

#include "config/server_config.hpp"
#include "core/clock.hpp"
#include "queue/spool.hpp"

namespace mxsec::delivery {

struct RunnerOptions {
  std::size_t threads = 4;
  std::chrono::seconds min_backoff{300};
  std::chrono::seconds max_backoff{4000};
  bool fsync = true;
};

struct RunnerStats {
  std::uint64_t delivered = 0;
  std::uint64_t deferred = 0;
  std::uint64_t removed = 0;  // messages that left the queue
};

class QueueRunner {
 public:
  QueueRunner(queue::Spool& spool, const config::ServerConfig& config, const Clock& clock, RunnerOptions options = {});
  ~QueueRunner();  // stop()
  QueueRunner(const QueueRunner&) = delete;
  QueueRunner& operator=(const QueueRunner&) = delete;

  void start();                           // every message already queued
  void submit(const queue::Envelope& e);  // a message just committed
  void flush();                           // attempt every deferred message now
  void stop();                            // finishes attempts in progress, then returns
  RunnerStats stats() const;
  // Waits until no attempt is running or queued (tests, --once).
  void wait_idle();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxsec::delivery

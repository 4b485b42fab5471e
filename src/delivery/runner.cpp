#include "delivery/runner.hpp"

#include <spdlog/spdlog.h>

#include <asio/post.hpp>
#include <asio/thread_pool.hpp>
#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "core/strings.hpp"
#include "delivery/headers.hpp"
#include "delivery/lmtp.hpp"
#include "delivery/maildir.hpp"
#include "delivery/notify.hpp"
#include "delivery/outbound.hpp"
#include "delivery/removal_batch.hpp"

namespace mxsec::delivery {
namespace {

constexpr std::chrono::seconds kTimerTick{1};

std::pair<std::string_view, std::string_view> split_address(std::string_view address) {
  const std::size_t at = address.rfind('@');
  if (at == std::string_view::npos) return {address, {}};
  return {address.substr(0, at), address.substr(at + 1)};
}

// What one attempt made of one recipient; the words are those of the log.
enum class Verdict { sent, deferred, bounced };  // the index of RunnerStats::relayed's outcomes

Verdict verdict_of(LmtpStatus s) {
  switch (s) {
    case LmtpStatus::delivered: return Verdict::sent;
    case LmtpStatus::failed: return Verdict::bounced;
    case LmtpStatus::deferred: break;
  }
  return Verdict::deferred;
}

const char* to_string(Verdict v) {
  switch (v) {
    case Verdict::sent: return "sent";
    case Verdict::deferred: return "deferred";
    case Verdict::bounced: return "bounced";
  }
  return "unknown";
}

// The due recipients of one attempt that go to one domain (relay).
struct RelayGroup {
  std::string domain;  // A-labels
  std::vector<queue::Recipient*> recipients;
};

// The due recipients of one attempt that go to one LMTP server.
struct LmtpGroup {
  LmtpDestination destination;
  std::vector<queue::Recipient*> recipients;
};

// One message's attempt, alive until its last relay group has answered
// (the recipients' pointers point into `envelope`, the slices into
// `message`).
struct Attempt {
  queue::QueueId id;
  queue::Envelope envelope;
  queue::Spool::Message message;
  std::shared_ptr<const config::ServerConfig> config;
  std::vector<std::string_view> slices;
  Snapshot before;
  std::set<std::string> unsynced;  // new/ directories of Maildir deliveries not yet synced
  std::vector<RelayGroup> relay;
  std::vector<std::vector<RelayOutcome>> outcomes;  // per relay group
  std::atomic<std::size_t> pending{0};               // relay groups still out
};

}  // namespace

struct QueueRunner::Impl {
  Impl(queue::Spool& s, const config::ServerConfig& c, const Clock& k, RunnerOptions o)
      : spool(s), config_now(std::make_shared<const config::ServerConfig>(c)), clock(k), options(o),
        pool(std::max<std::size_t>(o.threads, 1)),
        removals([this](const std::string& dir) { return maildirs.sync_directory(dir); },
                 [this](const queue::QueueId& id, const Result<void>& synced) {
                   removed(id, synced);
                   done(id);
                 }) {}

  queue::Spool& spool;
  // Each attempt routes with the configuration current when it starts
  // (reconfigure(): SIGHUP).
  mutable std::mutex config_mu;
  std::shared_ptr<const config::ServerConfig> config_now;
  const Clock& clock;
  RunnerOptions options;
  asio::thread_pool pool;
  MaildirShared maildirs;  // known Maildirs, one group fsync per new/
  // Delivered messages whose Maildir renames still need their new/ synced:
  // they leave the queue in batches (removal_batch.hpp). After `pool`: its
  // attempts add to it, and it is stopped after them.
  RemovalBatch removals;

  mutable std::mutex mu;
  std::condition_variable cv;  // idle waiters and the retry timer
  std::size_t running = 0;  // scheduled and not done (waiting included)
  std::size_t active = 0;   // begun and not done: at most options.max_attempts
  std::deque<std::pair<queue::QueueId, std::optional<queue::Envelope>>> waiting;
  bool stopping = false;
  std::set<queue::QueueId> in_flight;
  std::multimap<std::int64_t, queue::QueueId> retries;  // next attempt -> message
  RunnerStats stats;
  std::thread timer;
  std::mt19937_64 jitter{std::random_device{}()};

  void schedule(const queue::QueueId& id, std::optional<queue::Envelope> envelope) {
    {
      std::lock_guard lock(mu);
      if (stopping || !in_flight.insert(id).second) return;
      ++running;
      if (active >= std::max<std::size_t>(options.max_attempts, 1)) {  // limits::kQueueAttemptsInFlight: wait for a turn
        waiting.emplace_back(id, std::move(envelope));
        return;
      }
      ++active;
    }
    begin(id, std::move(envelope));
  }

  // Starts an attempt on the pool; done(id) ends it, on whichever thread
  // (a message handed to the removal batch stays in flight until it is
  // removed, so that no flush attempts it again meanwhile).
  void begin(const queue::QueueId& id, std::optional<queue::Envelope> envelope) {
    asio::post(pool, [this, id, envelope = std::move(envelope)]() mutable { attempt(id, std::move(envelope)); });
  }

  void done(const queue::QueueId& id) {
    std::optional<std::pair<queue::QueueId, std::optional<queue::Envelope>>> next;
    {
      std::lock_guard lock(mu);
      in_flight.erase(id);
      --running;
      if (!waiting.empty()) {
        next = std::move(waiting.front());
        waiting.pop_front();
      } else {
        --active;
      }
      cv.notify_all();
    }
    if (next) begin(next->first, std::move(next->second));
  }

  void run_timer() {
    std::unique_lock lock(mu);
    while (!stopping) {
      cv.wait_for(lock, kTimerTick);
      const std::int64_t now = clock.now();
      std::vector<queue::QueueId> due;
      while (!retries.empty() && retries.begin()->first <= now) {
        due.push_back(retries.begin()->second);
        retries.erase(retries.begin());
      }
      lock.unlock();
      for (const auto& id : due) schedule(id, std::nullopt);
      lock.lock();
    }
  }

  std::int64_t backoff(int attempts) {
    auto delay = options.min_backoff;
    for (int i = 1; i < attempts && delay < options.max_backoff; ++i) delay *= 2;
    delay = std::min(delay, options.max_backoff);
    std::uniform_real_distribution<double> spread(0.8, 1.2);  // jitter: retries of one burst spread out
    std::lock_guard lock(mu);
    return static_cast<std::int64_t>(static_cast<double>(delay.count()) * spread(jitter));
  }

  void wait_idle() {
    std::unique_lock lock(mu);
    cv.wait(lock, [this] { return running == 0; });
  }

  std::shared_ptr<const config::ServerConfig> current_config() const {
    std::lock_guard lock(config_mu);
    return config_now;
  }

  static const config::LocalDomain* local_domain(const config::ServerConfig& config, std::string_view domain) {
    for (const auto& d : config.domains)
      if (d.name_ascii == domain) return &d;
    return nullptr;
  }

  // Records what an attempt made of one recipient (r.attempts already
  // counted) and logs it.
  void settle(const queue::Envelope& e, queue::Recipient& r, std::string relay, Verdict verdict, std::string text,
              std::string tls = {}, std::string policy = {}) {
    const std::int64_t now = clock.now();
    r.last_host = std::move(relay);
    r.last_result = std::move(text);
    r.last_tls = std::move(tls);
    r.last_policy = std::move(policy);
    switch (verdict) {
      case Verdict::sent: r.state = queue::RecipientState::delivered; break;
      // The bounce (DSN) itself is made for every recipient that leaves an
      // attempt bounced; here it only changes state.
      case Verdict::bounced: r.state = queue::RecipientState::bounced; break;
      case Verdict::deferred: r.next_attempt = now + backoff(r.attempts); break;
    }
    {
      std::lock_guard lock(mu);
      if (verdict == Verdict::sent) ++stats.delivered;
      if (verdict == Verdict::deferred) ++stats.deferred;
      if (verdict == Verdict::bounced) ++stats.bounced;
    }
    const std::string tls_field = r.last_tls.empty() ? "" : ", tls=" + r.last_tls;
    spdlog::info("{}: to=<{}>, relay={}, delay={:.0f}{}, status={} ({})", e.id, escape_for_log(r.address), r.last_host,
                 static_cast<double>(now - e.arrival), tls_field, to_string(verdict), escape_for_log(r.last_result));
  }

  // One recipient, one attempt (Maildir, or no agent); updates its state.
  // A Maildir whose new/ still has to be synced goes into `unsynced`.
  void deliver(const config::ServerConfig& config, const queue::Envelope& e, queue::Recipient& r,
               const std::vector<std::string_view>& slices, std::set<std::string>& unsynced) {
    ++r.attempts;
    const auto* local = local_domain(config, r.domain_ascii);
    Result<std::string> delivered = make_error(Errc::unsupported, "no delivery agent yet for this destination");
    std::string relay = "none";
    if (local && local->delivery.kind == config::Delivery::Kind::maildir) {
      relay = "maildir";
      const auto [local_part, domain] = split_address(r.address);
      auto path = maildir_path(local->delivery.maildir, local_part, r.domain_ascii);
      // Under fsync the new/ directories are synced per batch of messages
      // (finish(), removal_batch.hpp), not per delivery.
      const bool batch_sync = options.fsync && options.sync == SyncMethod::fsync;
      MaildirOptions maildir{config.hostname_ascii, options.fsync, options.sync, &maildirs, !batch_sync};
      delivered = path ? deliver_maildir(*path, slices, maildir) : path.error();
      if (delivered && batch_sync) unsynced.insert(*path + "/new");
    }
    if (delivered)
      settle(e, r, std::move(relay), Verdict::sent, "delivered to " + *delivered);
    else
      settle(e, r, std::move(relay), Verdict::deferred, delivered.error().message);
  }

  // The recipients of one LMTP server, one transaction (delivery/lmtp.hpp).
  void deliver_lmtp_group(const config::ServerConfig& config, const queue::Envelope& e, const LmtpGroup& group,
                          const std::vector<std::string_view>& slices) {
    LmtpEnvelope envelope;
    envelope.reverse_path = e.reverse_path;
    envelope.smtputf8 = e.smtputf8;
    for (auto* r : group.recipients) {
      ++r->attempts;
      envelope.recipients.push_back(r->address);
    }
    LmtpOptions lmtp;
    lmtp.lhlo_name = config.hostname_ascii;
    auto outcomes = deliver_lmtp(group.destination, envelope, slices, lmtp);
    for (std::size_t i = 0; i < group.recipients.size(); ++i)
      settle(e, *group.recipients[i], group.destination.text(), verdict_of(outcomes[i].status),
             std::move(outcomes[i].text));
  }

  // The outcomes of one domain's relay attempt (delivery/outbound.hpp).
  void settle_relay_group(const queue::Envelope& e, const RelayGroup& group, std::vector<RelayOutcome>& outcomes) {
    for (std::size_t i = 0; i < group.recipients.size(); ++i) {
      const Verdict verdict = verdict_of(outcomes[i].status);
      if (const auto v = outcomes[i].verdict) {
        std::lock_guard lock(mu);
        ++stats.relayed[static_cast<std::size_t>(*v)][static_cast<std::size_t>(verdict)];
      }
      settle(e, *group.recipients[i], std::move(outcomes[i].relay), verdict, std::move(outcomes[i].text),
             std::move(outcomes[i].tls), std::move(outcomes[i].policy));
      group.recipients[i]->dsn_passed_on = outcomes[i].dsn_passed_on;  // for the "relayed" DSN (notify.hpp)
    }
  }

  // One attempt of one message, on a pool thread: local deliveries now;
  // relay groups handed to the agent, each finishing on the agent's thread;
  // the last one posts complete() back to the pool (file work: DSNs, state).
  void attempt(const queue::QueueId& id, std::optional<queue::Envelope> given) {
    auto a = std::make_shared<Attempt>();
    a->id = id;
    if (!prepare(*a, std::move(given))) return done(id);
    if (a->relay.empty()) {
      if (!complete(*a)) done(id);
      return;
    }
    a->outcomes.resize(a->relay.size());
    a->pending = a->relay.size();
    const bool relaxed = tls_required_no(a->message.text.view());
    for (std::size_t g = 0; g < a->relay.size(); ++g) {
      std::vector<const queue::Recipient*> recipients;
      for (auto* r : a->relay[g].recipients) {
        ++r->attempts;
        recipients.push_back(r);
      }
      options.outbound->deliver_async(a->envelope, a->relay[g].domain, std::move(recipients), a->slices, relaxed,
                                      [this, a, g](std::vector<RelayOutcome> out) {
                                        a->outcomes[g] = std::move(out);
                                        if (a->pending.fetch_sub(1) != 1) return;
                                        asio::post(pool, [this, a] {
                                          for (std::size_t k = 0; k < a->relay.size(); ++k)
                                            settle_relay_group(a->envelope, a->relay[k], a->outcomes[k]);
                                          if (!complete(*a)) done(a->id);
                                        });
                                      });
    }
  }

  // Loads the message, delivers to local recipients and groups the relay
  // ones; false when there is nothing to attempt (held, unreadable).
  bool prepare(Attempt& a, std::optional<queue::Envelope> given) {
    if (spool.held(a.id)) return false;
    auto envelope = given ? Result<queue::Envelope>(std::move(*given)) : spool.load(a.id);
    if (!envelope) {
      spdlog::error("{}: cannot load: {}", a.id, envelope.error().message);
      return false;
    }
    auto message = spool.open_message(a.id);
    if (!message) {
      spdlog::error("{}: cannot open: {}", a.id, message.error().message);
      return false;
    }
    a.envelope = std::move(*envelope);
    a.message = std::move(*message);
    a.config = current_config();
    const config::ServerConfig& config = *a.config;
    const std::string_view text = a.message.text.view();
    const std::string authserv =
        config.inbound.authserv_id.empty() ? config.hostname_ascii : config.inbound.authserv_id;
    a.slices = output_slices(a.message.prepend, text, forged_auth_results(text, authserv));
    const std::int64_t now = clock.now();
    a.before = snapshot(a.envelope);
    std::vector<LmtpGroup> lmtp;
    for (auto& r : a.envelope.recipients) {
      if (r.state != queue::RecipientState::pending || r.next_attempt > now) continue;
      const auto* local = local_domain(config, r.domain_ascii);
      if (!local && options.outbound) {
        auto it = std::find_if(a.relay.begin(), a.relay.end(),
                               [&r](const RelayGroup& g) { return g.domain == r.domain_ascii; });
        if (it == a.relay.end()) a.relay.push_back({r.domain_ascii, {&r}});
        else it->recipients.push_back(&r);
        continue;
      }
      if (!local || local->delivery.kind != config::Delivery::Kind::lmtp) {
        deliver(config, a.envelope, r, a.slices, a.unsynced);
        continue;
      }
      const LmtpDestination d{local->delivery.lmtp_address, local->delivery.lmtp_port};
      auto same = [&d](const LmtpGroup& g) {
        return g.destination.address == d.address && g.destination.port == d.port;
      };
      auto it = std::find_if(lmtp.begin(), lmtp.end(), same);
      if (it == lmtp.end()) lmtp.push_back({d, {&r}});
      else it->recipients.push_back(&r);
    }
    for (const auto& group : lmtp) deliver_lmtp_group(config, a.envelope, group, a.slices);
    return true;
  }

  // After every agent has answered: the sender's DSNs, then the state;
  // true when the message went to the removal batch (which then ends its
  // time in flight).
  bool complete(Attempt& a) {
    report_to_sender(*a.config, a.envelope, a.before, a.slices);
    return finish(a.envelope, a.unsynced);
  }

  // Expiry and the sender's DSNs (notify.hpp), before finish() saves the
  // state; the DSNs queued are attempted like any message.
  void report_to_sender(const config::ServerConfig& config, queue::Envelope& e, const Snapshot& before,
                        const std::vector<std::string_view>& slices) {
    const NotifyOptions o{options.max_lifetime, options.delay_warning, options.min_backoff};
    auto queued = notify_sender(spool, config, e, before, slices, clock.now(), o);
    {
      std::lock_guard lock(mu);
      stats.notices += queued.size();
    }
    for (auto& dsn : queued) {
      const queue::QueueId id = dsn.id;  // schedule() takes the ID by reference
      schedule(id, std::move(dsn));
    }
  }

  // The message leaves the queue (now, or through the removal batch once
  // the new/ directories of its Maildir deliveries are synced: true), or
  // its state is saved for the next attempt, after those directories are
  // synced (a state that says "delivered" must not outlive the delivery).
  bool finish(const queue::Envelope& e, const std::set<std::string>& unsynced) {
    std::optional<std::int64_t> next;
    for (const auto& r : e.recipients)
      if (r.state == queue::RecipientState::pending) next = next ? std::min(*next, r.next_attempt) : r.next_attempt;
    if (!next && !unsynced.empty()) {
      removals.add(e.id, {unsynced.begin(), unsynced.end()});
      return true;
    }
    if (!next) {
      removed(e.id, {});
      return false;
    }
    Result<void> synced;
    for (const std::string& dir : unsynced)
      if (auto r = maildirs.sync_directory(dir); !r && synced) synced = r;
    // Without the sync the old state stays: the delivered recipients are
    // delivered again (at least once), never lost.
    auto saved = synced ? spool.save_state(e) : Result<void>(synced.error());
    if (!saved) spdlog::error("{}: cannot save state: {}", e.id, saved.error().message);
    std::lock_guard lock(mu);
    retries.emplace(*next, e.id);
    return false;
  }

  // A message every recipient of which is done leaves the queue, unless
  // the sync of its deliveries failed (it stays, and is delivered again
  // after a restart or a flush).
  void removed(const queue::QueueId& id, const Result<void>& synced) {
    if (!synced) {
      spdlog::error("{}: delivered, but the Maildir could not be synced, so the message stays queued: {}", id,
                    synced.error().message);
    } else if (auto r = spool.remove(id); !r) {
      spdlog::error("{}: cannot remove: {}", id, r.error().message);
    } else {
      spdlog::info("{}: removed", id);
    }
    std::lock_guard lock(mu);
    if (synced) ++stats.removed;
  }
};

RunnerOptions runner_options(const config::QueueConfig& queue) {
  RunnerOptions o;
  o.min_backoff = queue.min_backoff;
  o.max_backoff = queue.max_backoff;
  o.max_lifetime = queue.max_lifetime;
  o.delay_warning = queue.delay_warning;
  o.sync = queue.sync;
  o.threads = static_cast<std::size_t>(queue.delivery_threads);
  return o;
}

QueueRunner::QueueRunner(queue::Spool& spool, const config::ServerConfig& config, const Clock& clock,
                         RunnerOptions options)
    : impl_(std::make_unique<Impl>(spool, config, clock, options)) {
  impl_->timer = std::thread([this] { impl_->run_timer(); });
}

QueueRunner::~QueueRunner() { stop(); }

void QueueRunner::start() {
  auto ids = impl_->spool.list();
  if (!ids) {
    spdlog::error("queue: {}", ids.error().message);
    return;
  }
  for (const auto& id : *ids) impl_->schedule(id, std::nullopt);
}

void QueueRunner::reconfigure(std::shared_ptr<const config::ServerConfig> config) {
  std::lock_guard lock(impl_->config_mu);
  impl_->config_now = std::move(config);
}

void QueueRunner::submit(const queue::Envelope& e) { impl_->schedule(e.id, e); }

void QueueRunner::flush() {
  // The whole queue, not only what waits for a retry: a released message
  // was skipped while held and waits for nothing.
  {
    std::lock_guard lock(impl_->mu);
    impl_->retries.clear();
  }
  auto ids = impl_->spool.list();
  if (!ids) {
    spdlog::error("queue: {}", ids.error().message);
    return;
  }
  for (const auto& id : *ids) {
    auto e = impl_->spool.load(id);
    if (!e) continue;
    for (auto& r : e->recipients) r.next_attempt = 0;
    impl_->schedule(id, std::move(*e));
  }
}

void QueueRunner::stop() {
  {
    std::lock_guard lock(impl_->mu);
    if (impl_->stopping) return;
    impl_->stopping = true;
    impl_->cv.notify_all();
  }
  if (impl_->timer.joinable()) impl_->timer.join();
  // Relay attempts finish on the agent and come back to the pool: wait for
  // every attempt (and those waiting their turn) before the pool goes.
  impl_->wait_idle();
  impl_->pool.join();
  impl_->removals.stop();  // the last removals, after the last attempts
}

RunnerStats QueueRunner::stats() const {
  std::lock_guard lock(impl_->mu);
  return impl_->stats;
}

void QueueRunner::wait_idle() { impl_->wait_idle(); }

}  // namespace mxsec::delivery

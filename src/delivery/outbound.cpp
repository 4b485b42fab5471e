// delivery/outbound.cpp: see outbound.hpp.
#include "delivery/outbound.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <future>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <mutex>
#include <random>
#include <thread>

#include <spdlog/spdlog.h>

#include "delivery/dsn.hpp"
#include "runtime/runtime.hpp"
#include "tls/context.hpp"

namespace mxsec::delivery {
namespace {

using smtp::RecipientStatus;

std::vector<RelayOutcome> every(std::size_t n, RecipientStatus status, const std::string& text) {
  RelayOutcome one;
  one.status = status;
  one.text = text;
  return std::vector<RelayOutcome>(n, one);
}

// RFC 5321 §5.1: hosts of equal preference in random order.
void shuffle_equal_preferences(std::vector<policy::MxDecision>& mx, std::mt19937_64& random) {
  for (auto first = mx.begin(); first != mx.end();) {
    auto last = std::find_if(first, mx.end(), [&](const auto& m) { return m.preference != first->preference; });
    std::shuffle(first, last, random);
    first = last;
  }
}

// A server's reply as it is; our own reason led by its RFC 3463 code, so the
// DSN and `queue show` carry the code ("5.7.30 REQUIRETLS support required").
std::string outcome_text(const smtp::RecipientOutcome& o) {
  return is_smtp_reply(o.text) ? o.text : o.enhanced.to_string() + " " + o.text;
}

// The RFC 8460 result type of a session that carried the message: the
// session's own failure (a testing policy that did not hold); else the
// domain's MTA-STS lookup failure (§4.3.2.2: sts-policy-fetch-error,
// sts-policy-invalid, sts-webpki-invalid) when it left the host without the
// policy its domain announced (a valid cached policy that still applied was
// enforced, so its sessions count as successes); else, for a session that stayed in clear text
// where TLS was only hoped for, starttls-not-supported (§4.3.1: "the
// recipient MX did not support STARTTLS"); else success.
std::optional<policy::tlsrpt::ResultType> session_failure(const policy::DomainDecision& d,
                                                          const policy::MxDecision& mx,
                                                          const smtp::TlsJudgement& judged) {
  if (judged.tlsrpt_failure) return judged.tlsrpt_failure;
  if (d.mta_sts && d.mta_sts->failure && d.mta_sts->state == policy::mtasts::StsLookup::State::no_policy)
    return d.mta_sts->failure;
  const bool hoped_for_tls =
      mx.verdict == policy::Verdict::opportunistic || mx.verdict == policy::Verdict::mta_sts_testing;
  if (!judged.tls_established && hoped_for_tls) return policy::tlsrpt::ResultType::starttls_not_supported;
  return std::nullopt;
}

// One TLS-RPT event for a session attempt (or a host the policy deferred).
void record_event(const RelayContext& context, const queue::Envelope& e, const policy::MxDecision& mx,
                  std::string receiving_ip, std::optional<policy::tlsrpt::ResultType> failure, std::string reason) {
  if (context.counters) {
    if (failure) context.counters->tls_failures[static_cast<std::size_t>(*failure)].fetch_add(1);
    else context.counters->tls_successes.fetch_add(1);
  }
  if (context.events == nullptr) return;
  reporting::TlsRptEvent event;
  event.time = context.clock ? context.clock->now() : SystemClock().now();
  event.policy = mx.tlsrpt;
  event.failure = failure;
  event.receiving_mx_hostname = mx.host;
  event.receiving_ip = std::move(receiving_ip);
  if (failure) event.failure_reason_code = std::move(reason);
  event.queue_id = e.id;
  if (auto r = context.events->record(event); !r)
    spdlog::error("{}: cannot record a TLS-RPT event for {}: {}", e.id, mx.host, r.error().message);
}

}  // namespace

asio::awaitable<std::vector<RelayOutcome>> relay_to_domain(RelayContext context, const queue::Envelope& e,
                                                         std::string domain,
                                                         const std::vector<const queue::Recipient*>& recipients,
                                                         const std::vector<std::string_view>& slices,
                                                         bool tls_required_no) {
  const std::size_t n = recipients.size();
  policy::DomainDecision decision;
  if (context.options.relayhost) {
    auto deciding = context.engine.decide_relayhost(*context.options.relayhost);
    decision = co_await std::move(deciding);
  } else {
    auto deciding = context.engine.decide(domain);
    decision = co_await std::move(deciding);
  }
  switch (decision.status) {
    case policy::DomainStatus::null_mx:
      co_return every(n, RecipientStatus::failed,
                      "556 5.1.10 " + domain + " accepts no mail: it publishes a null MX (RFC 7505)");
    case policy::DomainStatus::nxdomain:
      co_return every(n, RecipientStatus::failed, "550 5.1.2 " + domain + ": the domain does not exist");
    case policy::DomainStatus::defer:
      co_return every(n, RecipientStatus::deferred, domain + ": " + decision.reason);
    case policy::DomainStatus::no_usable_mx:  // every host is deferred: the walk below records each one's event
    case policy::DomainStatus::ok: break;
  }
  shuffle_equal_preferences(decision.mx, context.random);
  // The next-hop of the connection limits and the cache key: the relay
  // host, or the recipient domain.
  const std::string nexthop = context.options.relayhost ? context.options.relayhost->text() : domain;

  smtp::OutboundMessage message;
  message.reverse_path = e.reverse_path;
  message.slices = slices;
  message.smtputf8 = e.smtputf8;
  message.requiretls = e.requiretls;
  message.tls_required_no = tls_required_no;
  message.ret = static_cast<smtp::DsnRet>(e.dsn_ret);
  message.envid = e.envid;
  for (const queue::Recipient* r : recipients) message.recipients.push_back({r->address, r->notify, r->orcpt});

  std::string last = domain + ": no MX host to try";
  std::string last_policy;
  for (const policy::MxDecision& mx : decision.mx) {
    last_policy = policy::to_string(mx.verdict);
    if (mx.verdict == policy::Verdict::defer) {
      last = mx.host + ": " + mx.reason;
      if (mx.tlsrpt_result) record_event(context, e, mx, "", mx.tlsrpt_result, mx.reason);
      continue;
    }
    for (const IpAddress& address : mx.addresses) {
      smtp::ClientOptions o;
      o.ehlo_name = context.options.ehlo_name;
      o.port = context.options.relayhost ? mx.port : context.options.port;
      o.tls_context = context.tls;
      o.timeouts = context.options.timeouts;
      o.tls_required_no = tls_required_no;
      o.downgrade_8bit = context.options.downgrade_8bit;
      if (context.options.relayhost) o.credentials = context.relay_credentials;
      // A cached session for exactly this next-hop, host, address and
      // policy, or a slot for a new connection (session_cache.hpp).
      Lease lease;
      std::unique_ptr<smtp::ClientSession> cached;
      if (context.cache) {
        SessionKey key{nexthop, mx.host, address, o.port, policy_fingerprint(mx, tls_required_no),
                       credentials_fingerprint(o.credentials.get())};
        auto acquiring = context.cache->acquire(std::move(key));
        lease = co_await std::move(acquiring);
        cached = std::move(lease.session);
        if (cached) {
          // A cached session the server has closed (or answers RSET with
          // 421) is dropped without a trace: no failure, no TLS-RPT event.
          auto probing = cached->reset();
          const bool alive = co_await std::move(probing);
          if (!alive) {
            cached.reset();
            context.cache->reopened(lease);
          }
        }
      }
      smtp::OpenResult opened;
      if (cached) {
        opened.session = std::move(cached);
        if (context.counters) context.counters->sessions_reused.fetch_add(1);
      } else {
        auto opening = smtp::ClientSession::open(mx, address, o);
        opened = co_await std::move(opening);
        if (!opened.ok()) {
          const smtp::HostFailure& f = *opened.failure;
          if (f.tlsrpt) record_event(context, e, mx, address.to_string(), f.tlsrpt, f.error.message);
          if (f.retry_in_clear) {
            o.clear_text_retry = true;
            auto reopening = smtp::ClientSession::open(mx, address, o);
            opened = co_await std::move(reopening);
          }
        }
        if (!opened.ok()) {
          // Our reason, led by its RFC 3463 code ("4.7.8 relay[...]: auth: ...").
          last = opened.failure->enhanced.to_string() + " " + opened.failure->text;
          if (context.cache) context.cache->release(std::move(lease), nullptr);
          continue;
        }
        if (context.counters) context.counters->sessions_opened.fetch_add(1);
        // A clear-text retry's session reports nothing new: its failure was
        // recorded above. A reused session reported when it opened.
        if (!o.clear_text_retry) {
          const smtp::TlsJudgement& judged = opened.session->tls();
          const auto failure = session_failure(decision, mx, judged);
          std::string reason = judged.failure_reason;
          if (failure && reason.empty() && decision.mta_sts) reason = decision.mta_sts->detail;
          record_event(context, e, mx, address.to_string(), failure, std::move(reason));
        }
      }
      smtp::ClientSession& session = *opened.session;
      auto sending = session.send(message);
      std::vector<smtp::RecipientOutcome> outcomes = co_await std::move(sending);
      std::vector<RelayOutcome> out(n);
      for (std::size_t i = 0; i < n; ++i) {
        out[i].status = outcomes[i].status;
        out[i].text = outcome_text(outcomes[i]);
        out[i].relay = session.peer();
        out[i].tls = smtp::to_string(session.tls().label);
        out[i].policy = last_policy;
        out[i].verdict = mx.verdict;
        out[i].dsn_passed_on = outcomes[i].dsn_passed_on;
      }
      if (context.cache && !o.clear_text_retry) {
        context.cache->release(std::move(lease), std::move(opened.session));
      } else {
        auto quitting = session.quit();
        co_await std::move(quitting);
        if (context.cache) context.cache->release(std::move(lease), nullptr);
      }
      co_return out;
    }
  }
  auto out = every(n, RecipientStatus::deferred, last);
  for (auto& o : out) {
    o.policy = last_policy;
    if (!decision.mx.empty()) o.verdict = decision.mx.back().verdict;
  }
  co_return out;
}

struct OutboundAgent::Impl {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<runtime::Runtime> runtime;
  tls::SslCtxPtr tls;
  OutboundOptions options;
  std::mt19937_64 random{std::random_device{}()};  // used on the loop thread only
  reporting::TlsRptStore* events = nullptr;
  const Clock* clock = nullptr;
  OutboundCounters counters;
  std::mutex credentials_mu;
  std::shared_ptr<const smtp::ClientCredentials> relay_credentials;  // guarded by credentials_mu
  std::unique_ptr<SessionCache> cache;  // used on the loop thread only
  std::thread thread;

  RelayContext context() {
    std::shared_ptr<const smtp::ClientCredentials> credentials;
    {
      std::lock_guard lock(credentials_mu);
      credentials = relay_credentials;
    }
    return RelayContext{runtime->policy_engine(), tls.get(), options, random, events, clock,
                        &counters, std::move(credentials), cache.get()};
  }

  // QUIT the idle sessions (a peer that does not answer in time is cut
  // off with the loop), then stop the runtime.
  static asio::awaitable<void> shut_down(Impl* self) {
    bool all_quit = true;
    if (self->cache) {
      auto closing = self->cache->close_all(limits::kOutboundQuitOnStop);
      all_quit = co_await std::move(closing);
    }
    if (self->runtime) self->runtime->stop();
    if (!all_quit) self->io.stop();
  }

  ~Impl() {
    if (thread.joinable()) asio::co_spawn(io, shut_down(this), asio::detached);
    work.reset();
    if (thread.joinable()) thread.join();
  }
};

OutboundAgent::OutboundAgent(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OutboundAgent::~OutboundAgent() = default;

Result<std::unique_ptr<OutboundAgent>> OutboundAgent::create(const runtime::RuntimeOptions& runtime,
                                                             OutboundOptions options, reporting::TlsRptStore* events,
                                                             const Clock* clock) {
  auto impl = std::make_unique<Impl>();
  impl->options = std::move(options);
  impl->events = events;
  impl->clock = clock;
  auto rt = runtime::Runtime::create(impl->io, runtime, {}, clock);
  if (!rt) return rt.error();
  impl->runtime = std::move(*rt);
  auto ctx = tls::make_client_context(impl->runtime->tls_client_config());
  if (!ctx) return ctx.error();
  impl->tls = std::move(*ctx);
  impl->cache = std::make_unique<SessionCache>(impl->io.get_executor(), impl->options.connections);
  auto sweeping = impl->cache->sweep();
  asio::co_spawn(impl->io, std::move(sweeping), asio::detached);
  Impl* raw = impl.get();
  impl->thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<OutboundAgent>(new OutboundAgent(std::move(impl)));
}

const OutboundCounters& OutboundAgent::counters() const { return impl_->counters; }

void OutboundAgent::set_relay_credentials(std::shared_ptr<const smtp::ClientCredentials> credentials) {
  std::lock_guard lock(impl_->credentials_mu);
  impl_->relay_credentials = std::move(credentials);
}

std::vector<RelayOutcome> OutboundAgent::deliver(const queue::Envelope& envelope, const std::string& domain_ascii,
                                                 const std::vector<const queue::Recipient*>& recipients,
                                                 const std::vector<std::string_view>& slices, bool tls_required_no) {
  std::promise<std::vector<RelayOutcome>> promise;
  auto done = promise.get_future();
  deliver_async(envelope, domain_ascii, recipients, slices, tls_required_no,
                [&promise](std::vector<RelayOutcome> out) { promise.set_value(std::move(out)); });
  return done.get();
}

namespace {

// What one asynchronous attempt keeps alive until its callback.
struct AsyncAttempt {
  std::string domain;
  std::vector<const queue::Recipient*> recipients;
  std::vector<std::string_view> slices;
  OutboundAgent::RelayDone done;
};

}  // namespace

void OutboundAgent::deliver_async(const queue::Envelope& envelope, std::string domain_ascii,
                                  std::vector<const queue::Recipient*> recipients,
                                  std::vector<std::string_view> slices, bool tls_required_no, RelayDone done) {
  auto attempt = std::make_shared<AsyncAttempt>(
      AsyncAttempt{std::move(domain_ascii), std::move(recipients), std::move(slices), std::move(done)});
  auto relaying = relay_to_domain(impl_->context(), envelope, attempt->domain, attempt->recipients, attempt->slices,
                                  tls_required_no);
  asio::co_spawn(impl_->io, std::move(relaying),
                 [attempt](std::exception_ptr error, std::vector<RelayOutcome> out) {
                   if (error) {
                     // An attempt that threw (allocation failure, a bug) defers, never bounces.
                     std::string why = "internal error";
                     try {
                       std::rethrow_exception(error);
                     } catch (const std::exception& x) {
                       why = x.what();
                     } catch (...) {
                     }
                     out = every(attempt->recipients.size(), RecipientStatus::deferred,
                                 "internal error while relaying to " + attempt->domain + ": " + why);
                   }
                   attempt->done(std::move(out));
                 });
}

}  // namespace mxsec::delivery

#include "daemon/server.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <sys/stat.h>

#include <atomic>
#include <cerrno>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "core/file.hpp"
#include "daemon/inbound.hpp"
#include "daemon/metrics.hpp"
#include "daemon/reload.hpp"
#include "daemon/verdict_log.hpp"
#include "delivery/outbound.hpp"
#include "reporting/tlsrpt_store.hpp"
#include "delivery/runner.hpp"
#include "metrics/http_server.hpp"
#include "queue/spool.hpp"
#include "runtime/runtime.hpp"
#include "tls/context.hpp"

namespace mxsec::daemon {
namespace {

using asio::ip::tcp;

// After accept() fails for want of file descriptors, wait this long before
// the next accept instead of spinning.
constexpr std::chrono::milliseconds kAcceptBackoff{100};

IpAddress to_ip(const asio::ip::address& a) {
  if (a.is_v4()) return IpAddress::v4(a.to_v4().to_bytes());
  const auto v6 = a.to_v6();
  if (v6.is_v4_mapped()) return IpAddress::v4(asio::ip::make_address_v4(asio::ip::v4_mapped, v6).to_bytes());
  return IpAddress::v6(v6.to_bytes());
}

asio::ip::address to_asio(const IpAddress& ip) { return asio::ip::make_address(ip.to_string()); }

// Sessions in total and per client address (config.limits).
class Admission {
 public:
  explicit Admission(const config::ServerLimits& limits) { set_limits(limits); }
  // SIGHUP: sessions already admitted stay; the new limits apply from the
  // next connection on.
  void set_limits(const config::ServerLimits& limits) {
    std::lock_guard lock(mu_);
    max_total_ = limits.max_sessions;
    max_per_client_ = limits.max_sessions_per_client;
  }
  // The limit that refuses the client, or nullopt when it is admitted.
  std::optional<smtp::server::LimitName> admit(const std::string& client) {
    std::lock_guard lock(mu_);
    if (total_ >= max_total_) return smtp::server::LimitName::max_sessions;
    int& n = per_client_[client];
    if (n >= max_per_client_) {
      if (n == 0) per_client_.erase(client);
      return smtp::server::LimitName::max_sessions_per_client;
    }
    ++n;
    ++total_;
    return std::nullopt;
  }
  void release(const std::string& client) {
    std::lock_guard lock(mu_);
    --total_;
    if (--per_client_[client] <= 0) per_client_.erase(client);
  }
  int total() const {
    std::lock_guard lock(mu_);
    return total_;
  }

 private:
  mutable std::mutex mu_;
  int max_total_ = 0;
  int max_per_client_ = 0;
  std::unordered_map<std::string, int> per_client_;
  int total_ = 0;
};

// What a SIGHUP replaces as a whole (daemon/reload.hpp). A session keeps the
// generation it started under until it ends, so a reload drops nothing.
struct Generation {
  config::ServerConfig config;
  tls::SslCtxPtr tls;                // nullptr: no STARTTLS
  std::optional<smtp::UserDb> users;  // nullopt: no AUTH
};

// Everything a generation needs is read before it replaces the running
// one: a certificate or users file that fails to load keeps the old one.
Result<std::shared_ptr<const Generation>> load_generation(config::ServerConfig config) {
  auto g = std::make_shared<Generation>();
  g->config = std::move(config);
  const auto& c = g->config;
  if (!c.tls.certificate.empty()) {
    auto ctx = tls::make_server_context({c.tls.certificate, c.tls.key});
    if (!ctx) return ctx.error();
    g->tls = std::move(*ctx);
  }
  if (!c.relay.users_file.empty()) {
    auto users = smtp::UserDb::load(c.relay.users_file);
    if (!users) return users.error();
    g->users.emplace(std::move(*users));
  }
  return std::shared_ptr<const Generation>(std::move(g));
}

smtp::SessionConfig session_config(const config::ServerLimits& limits) {
  smtp::SessionConfig sc;
  sc.max_line_bytes = limits.line_bytes;
  sc.timeouts.read = limits.command_timeout;
  sc.timeouts.write = limits.command_timeout;
  sc.timeouts.session = limits.session_time;
  return sc;
}

struct Worker {
  asio::io_context io{1};
  std::unique_ptr<runtime::Runtime> runtime;
  std::unique_ptr<RuntimeVerifier> verifier;
  smtp::server::Services services;
  std::vector<std::unique_ptr<tcp::acceptor>> acceptors;  // one per listener
  std::thread thread;
};

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("session ended by an internal error: {}", x.what());
  }
}

}  // namespace

struct Server::Impl {
  Impl(config::ServerConfig c, std::shared_ptr<const Generation> g)
      : config(std::move(c)), generation(std::move(g)), admission(config.limits) {}

  // The configuration the server started with; its restart-only keys
  // (daemon/reload.hpp) hold for the whole run. Sessions read `generation`.
  config::ServerConfig config;
  mutable std::mutex generation_mu;
  std::shared_ptr<const Generation> generation;
  std::unique_ptr<queue::Spool> spool;
  // Password hashing (yescrypt) off the event loops.
  asio::thread_pool blocking{2};
  SystemClock clock;
  std::unique_ptr<reporting::TlsRptStore> tlsrpt;     // outlives the agent that records into it
  std::unique_ptr<delivery::OutboundAgent> outbound;  // outlives the runner that uses it
  std::unique_ptr<delivery::QueueRunner> runner;
  std::unique_ptr<VerdictLog> verdicts;
  std::unique_ptr<ServerMetrics> metrics;  // always; reads spool and runner when rendering
  Admission admission;
  std::vector<std::unique_ptr<Worker>> workers;
  std::vector<config::Listener> bound;
  // The /metrics endpoint when config.metrics.address is set; declared last
  // so it stops before what it renders goes away.
  std::unique_ptr<metrics::HttpServer> http;
  std::optional<config::Listener> metrics_bound;
  bool started = false;
  bool stopped = false;

  std::shared_ptr<const Generation> current() const {
    std::lock_guard lock(generation_mu);
    return generation;
  }

  asio::awaitable<void> refuse(tcp::socket socket) {
    // RFC 5321 §3.1: a server that cannot serve may greet with 421.
    const std::string line = "421 4.7.0 " + config.hostname_ascii + " Error: too many connections\r\n";
    std::error_code ec;
    co_await asio::async_write(socket, asio::buffer(line), asio::redirect_error(asio::use_awaitable, ec));
    socket.close(ec);
  }

  asio::awaitable<void> serve_client(Worker& w, tcp::socket socket, config::Listener listener) {
    std::error_code ec;
    const auto peer = socket.remote_endpoint(ec);
    if (ec) co_return;
    smtp::server::ClientInfo client{to_ip(peer.address()), peer.port(), listener.kind, false};
    const std::string key = client.address.to_string();
    if (const auto limit = admission.admit(key)) {
      metrics->smtp().limit_hits[*limit].inc();
      spdlog::warn("limit {} reached: refused [{}]", smtp::server::to_string(*limit), key);
      co_await refuse(std::move(socket));
      co_return;
    }
    struct Release {
      Admission& a;
      std::string key;
      ~Release() { a.release(key); }
    } release{admission, key};
    socket.set_option(tcp::no_delay(true), ec);
    const auto generation = current();  // held until the session ends
    smtp::server::Services services = w.services;
    services.config = &generation->config;
    services.tls = generation->tls.get();
    services.users = generation->users ? &*generation->users : nullptr;
    auto conn = smtp::Connection::over_tcp(std::move(socket), session_config(generation->config.limits));
    if (listener.kind == config::ListenerKind::smtps) {
      auto up = co_await conn.upgrade_tls(services.tls, smtp::TlsRole::server);
      if (!up) {
        metrics->smtp().tls_handshake_failures[smtp::server::TlsMode::implicit].inc();
        spdlog::info("TLS handshake with [{}] failed: {}", key, up.error().message);
        co_return;
      }
      client.tls_on_connect = true;
      metrics->smtp().tls_handshakes[smtp::server::TlsMode::implicit].inc();
    }
    co_await smtp::server::run_session(std::move(conn), std::move(client), services);
  }

  asio::awaitable<void> accept_loop(Worker& w, tcp::acceptor& acceptor, config::Listener listener) {
    for (;;) {
      std::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        spdlog::warn("accept on {}: {}", listener.text(), ec.message());
        asio::steady_timer pause(w.io, kAcceptBackoff);
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      asio::co_spawn(w.io, serve_client(w, std::move(socket), listener), log_exception);
    }
  }

  Result<std::unique_ptr<tcp::acceptor>> bind(Worker& w, const config::Listener& l) {
    const tcp::endpoint ep(to_asio(l.address), l.port);
    auto a = std::make_unique<tcp::acceptor>(w.io);
    std::error_code ec;
    a->open(ep.protocol(), ec);
    if (!ec) a->set_option(tcp::acceptor::reuse_address(true), ec);
    if (!ec) {
      const int one = 1;  // every worker accepts on the same port; the kernel spreads connections
      if (::setsockopt(a->native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0)
        ec = std::error_code(errno, std::generic_category());
    }
    if (!ec) a->bind(ep, ec);
    if (!ec) a->listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return make_error(Errc::io, "listen on " + l.text() + ": " + ec.message());
    return a;
  }

  Result<void> make_worker() {
    auto w = std::make_unique<Worker>();
    if (config.inbound.verify) {
      auto rt = runtime::Runtime::create(w->io, config.runtime, config::toml_option_names(), &clock, &metrics->dns());
      if (!rt) return rt.error();
      w->runtime = std::move(*rt);
      w->verifier = std::make_unique<RuntimeVerifier>(*w->runtime, config.hostname_ascii, &metrics->auth());
    }
    // config, tls and users: per session, from the current generation.
    w->services.spool = spool.get();
    w->services.blocking = &blocking;
    w->services.inbound = w->verifier.get();
    w->services.clock = &clock;
    w->services.counters = &metrics->smtp();
    w->services.on_committed = [this](const queue::Envelope& e) { runner->submit(e); };
    w->services.on_verdict = [this](const auth::MessageVerdict& v, const smtp::server::ClientInfo& c,
                                    std::string_view disposition) {
      verdicts->record(v, c, disposition, clock.now());
    };
    for (std::size_t i = 0; i < config.listeners.size(); ++i) {
      config::Listener l = config.listeners[i];
      if (!workers.empty()) l.port = bound[i].port;  // port 0: the one the first worker got
      auto a = bind(*w, l);
      if (!a) return a.error();
      if (workers.empty()) {
        l.port = (*a)->local_endpoint().port();
        bound.push_back(l);
      }
      w->acceptors.push_back(std::move(*a));
    }
    workers.push_back(std::move(w));
    return {};
  }
};

namespace {

// The relay host's credentials for the delivery agent; null without them.
std::shared_ptr<const smtp::ClientCredentials> relay_credentials(const config::OutboundConfig& o) {
  if (o.relayhost_username.empty() || !o.relayhost_password) return nullptr;
  return std::make_shared<const smtp::ClientCredentials>(
      smtp::ClientCredentials{o.relayhost_username, o.relayhost_password->text});
}

}  // namespace

Server::Server(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Server::~Server() { stop(std::chrono::milliseconds(0)); }

Result<std::unique_ptr<Server>> Server::create(config::ServerConfig config) {
  auto generation = load_generation(config);
  if (!generation) return generation.error();
  auto impl = std::make_unique<Impl>(std::move(config), std::move(*generation));
  const auto& c = impl->config;
  queue::Options spool_options{c.spool_dir};
  spool_options.sync = c.queue.sync;
  auto spool = queue::Spool::open(spool_options, queue::Mode::server);
  if (!spool) return spool.error();
  for (const std::string& line : (*spool)->recovery_report()) spdlog::warn("{}", line);
  impl->spool = std::move(*spool);
  const std::string reports = c.spool_dir + "/reports";
  if (::mkdir(reports.c_str(), 0700) != 0 && errno != EEXIST) return errno_error(reports, "mkdir");
  auto verdicts = VerdictLog::open(reports + "/dmarc.jsonl");
  if (!verdicts) return verdicts.error();
  impl->verdicts = std::move(*verdicts);
  delivery::OutboundOptions relay;
  relay.ehlo_name = c.hostname_ascii;
  relay.relayhost = c.outbound.relay;
  relay.downgrade_8bit = c.outbound.downgrade_8bit_bounce ? smtp::Downgrade8bit::bounce : smtp::Downgrade8bit::convert;
  relay.connections = delivery::cache_limits(c.outbound);
  auto events = reporting::TlsRptStore::open(c.reports.tlsrpt_db);
  if (!events) return events.error();
  impl->tlsrpt = std::move(*events);
  auto outbound = delivery::OutboundAgent::create(c.runtime, relay, impl->tlsrpt.get(), &impl->clock);
  if (!outbound) return outbound.error();
  impl->outbound = std::move(*outbound);
  impl->outbound->set_relay_credentials(relay_credentials(c.outbound));
  delivery::RunnerOptions run = delivery::runner_options(c.queue);
  run.outbound = impl->outbound.get();
  impl->runner = std::make_unique<delivery::QueueRunner>(*impl->spool, impl->config, impl->clock, run);
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  impl->metrics = std::make_unique<ServerMetrics>(
      ServerMetrics::Sources{impl->spool.get(), impl->runner.get(), std::chrono::duration<double>(now).count(),
                             impl->outbound.get()});
  return std::unique_ptr<Server>(new Server(std::move(impl)));
}

Result<void> Server::bind() {
  auto& s = *impl_;
  unsigned n = s.config.threads ? s.config.threads : std::max(1u, std::thread::hardware_concurrency());
  for (unsigned i = 0; i < n; ++i) {
    auto made = s.make_worker();
    if (!made) return made;
  }
  if (const auto& address = s.config.metrics.address) {
    auto http = metrics::HttpServer::bind(address->address, address->port,
                                          [m = s.metrics.get()] { return m->render(); });
    if (!http) return http.error();
    s.http = std::move(*http);
    s.metrics_bound = *address;
    s.metrics_bound->port = s.http->port();
  }
  return {};
}

Result<void> Server::run() {
  auto& s = *impl_;
  if (s.workers.empty()) return make_error(Errc::invalid_argument, "run() before bind()");
  for (auto& w : s.workers)
    for (std::size_t i = 0; i < w->acceptors.size(); ++i)
      asio::co_spawn(w->io, s.accept_loop(*w, *w->acceptors[i], s.bound[i]), log_exception);
  s.runner->start();
  for (auto& w : s.workers) w->thread = std::thread([&io = w->io] { io.run(); });
  if (s.http) s.http->start();
  s.started = true;
  for (const auto& l : s.bound) spdlog::info("listening on {} ({})", l.text(), config::to_string(l.kind));
  if (s.metrics_bound) spdlog::info("metrics on http://{}/metrics", s.metrics_bound->text());
  return {};
}

void Server::stop(std::chrono::milliseconds grace) {
  auto& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  if (s.http) s.http->stop();
  for (auto& w : s.workers)
    asio::post(w->io, [&w] {
      for (auto& a : w->acceptors) a->close();
    });
  const auto deadline = std::chrono::steady_clock::now() + grace;
  while (s.admission.total() > 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  for (auto& w : s.workers) {
    if (w->runtime) asio::post(w->io, [&w] { w->runtime->stop(); });
    w->io.stop();
  }
  for (auto& w : s.workers)
    if (w->thread.joinable()) w->thread.join();
  s.runner->stop();
  s.blocking.join();
  s.workers.clear();
}

Result<std::vector<std::string>> Server::reload(config::ServerConfig next) {
  auto& s = *impl_;
  auto plan = plan_reload(s.current()->config, std::move(next));
  if (!plan) return plan.error();
  auto generation = load_generation(std::move(plan->config));
  if (!generation) return generation.error();
  s.admission.set_limits((*generation)->config.limits);
  s.outbound->set_relay_credentials(relay_credentials((*generation)->config.outbound));
  s.runner->reconfigure(std::shared_ptr<const config::ServerConfig>(*generation, &(*generation)->config));
  {
    std::lock_guard lock(s.generation_mu);
    s.generation = std::move(*generation);
  }
  return std::move(plan->kept);
}

std::vector<config::Listener> Server::bound() const { return impl_->bound; }
const smtp::server::Counters& Server::counters() const { return impl_->metrics->smtp(); }
std::optional<config::Listener> Server::metrics_address() const { return impl_->metrics_bound; }
std::string Server::render_metrics() const { return impl_->metrics->render(); }
void Server::flush() { impl_->runner->flush(); }
void Server::wait_deliveries() { impl_->runner->wait_idle(); }

}  // namespace mxsec::daemon

// daemon/server.hpp: the mail server process behind `mxsec serve`.
//
// Contract
// - Server::create() checks everything that can be checked before a socket
//   is opened: the spool directory (opened in server mode, which removes
//   never-acknowledged files), the TLS certificate and key, the users file,
//   and the runtime options.
// - start() binds every listener, then starts `threads` worker event loops
//   (config.threads, 0 = one per core). Each worker has its own acceptor on
//   each listener (SO_REUSEPORT: the kernel spreads connections), its own
//   runtime (validating resolver and caches: nothing DNS-related is shared
//   between threads), and its own inbound verifier. Sessions are coroutines
//   on their worker's loop.
// - Admission: at most limits.max_sessions sessions in total and
//   limits.max_sessions_per_client per client address; a connection over
//   either gets "421 4.7.0" and is closed at once.
// - Committed messages go to the queue runner (delivery/runner.hpp), which
//   also takes every message found in the queue at start.
// - stop() closes the listeners, lets sessions finish for `grace`, then
//   cancels what is left and waits for the workers and the runner. A message
//   is acknowledged only after its commit, so stopping at any point loses
//   nothing that was acknowledged.
// - reload() (SIGHUP) applies a new configuration as daemon/reload.hpp
//   describes: the certificate and users file are loaded first, and if
//   anything fails the running configuration stays whole. Sessions that are
//   open keep the configuration they started with; new sessions get the new
//   one. It returns the restart-only keys whose change was not applied.
// - Addresses actually bound (port 0 in tests) are in bound().
// - Metrics (daemon/metrics.hpp) are counted always; with
//   config.metrics.address, bind() also opens the Prometheus endpoint
//   (metrics/http_server.hpp: its own thread, never a worker's) and run()
//   starts it; metrics_address() is where it listens. stop() stops it first.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "config/server_config.hpp"
#include "core/result.hpp"
#include "smtp/server/session.hpp"

namespace mxsec::daemon {

class Server {
 public:
  static Result<std::unique_ptr<Server>> create(config::ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // bind() opens every listener (as root if the ports need it); run()
  // starts the workers and the queue runner. Privileges are dropped between
  // the two, before any network byte is read.
  Result<void> bind();
  Result<void> run();
  Result<std::vector<std::string>> reload(config::ServerConfig next);
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  std::vector<config::Listener> bound() const;
  const smtp::server::Counters& counters() const;
  // The metrics endpoint's address (the port it got), if there is one.
  std::optional<config::Listener> metrics_address() const;
  // What GET /metrics answers with.
  std::string render_metrics() const;
  // Tries every queued message now (`mxsec queue flush`, SIGUSR1).
  void flush();
  // Blocks until every queued delivery attempt has run (tests, --once).
  void wait_deliveries();

 private:
  struct Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxsec::daemon

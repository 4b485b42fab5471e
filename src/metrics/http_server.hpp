// metrics/http_server.hpp: the Prometheus endpoint, a minimal HTTP/1.1
// server on a thread of its own.
//
// Contract
// - bind() opens the listening socket (so that `serve` can bind as root and
//   drop privileges afterwards); start() starts the server's thread, with
//   its own io_context: a slow client, a slow render() or a flood of
//   connections costs that thread only, never an SMTP worker's event loop.
//   stop() (also run by the destructor) closes the socket, abandons the
//   connections in progress and joins the thread.
// - One request per connection: the head is parsed by RequestHeadParser and
//   answered by metrics_response() (or error_response() for 400, 431, 505),
//   always with "Connection: close" (metrics/http.hpp). render() runs on the
//   server's thread, once per GET or HEAD /metrics.
// - Limits (HttpServerLimits, defaults in core/limits.hpp), each failing
//   closed:
//     head_bytes, head_fields  -> 431 and close
//     read_timeout             the whole head must arrive within it; a slow
//                              (or silent) client is closed without answer
//     write_timeout            a client that does not read its response is
//                              closed
//     connections              connections at once; one more is closed at
//                              once (logged), before any byte is read
//     linger_timeout/bytes     after the response the sending side is shut
//                              down and what the client still sends is read
//                              and dropped, within these bounds, before the
//                              close: closing a socket with unread input
//                              sends a TCP reset that can destroy the
//                              response (a 431 to an oversized head) before
//                              the client has read it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/ip_address.hpp"
#include "core/result.hpp"
#include "metrics/http.hpp"

namespace mxsec::metrics {

struct HttpServerLimits {
  HttpLimits head;
  std::chrono::milliseconds read_timeout = limits::kMetricsReadTimeout;
  std::chrono::milliseconds write_timeout = limits::kMetricsWriteTimeout;
  std::chrono::milliseconds linger_timeout = limits::kMetricsLingerTimeout;
  std::size_t linger_bytes = limits::kMetricsLingerBytes;
  std::size_t connections = limits::kMetricsConnections;
};

class HttpServer {
 public:
  using Render = std::function<std::string()>;

  // Port 0 picks a free port (tests); port() tells which.
  static Result<std::unique_ptr<HttpServer>> bind(const IpAddress& address, std::uint16_t port, Render render,
                                                  HttpServerLimits limits = {});
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  std::uint16_t port() const;
  void start();
  void stop();

 private:
  struct Impl;
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxsec::metrics

// metrics/http_server.cpp: see http_server.hpp.
#include "metrics/http_server.hpp"

#include <spdlog/spdlog.h>

#include <array>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <thread>

namespace mxsec::metrics {
namespace {

using asio::ip::tcp;

// After accept() fails (out of file descriptors), wait before trying again.
constexpr std::chrono::milliseconds kAcceptBackoff{100};
// Octets read from a client at a time.
constexpr std::size_t kReadChunkBytes = 1024;

// Closes the socket when the timer expires. The handler holds only a weak
// reference: a deadline that fires after its connection ended does nothing.
void arm(asio::steady_timer& timer, const std::shared_ptr<tcp::socket>& socket, std::chrono::milliseconds timeout) {
  timer.expires_after(timeout);
  timer.async_wait([weak = std::weak_ptr<tcp::socket>(socket)](const std::error_code& ec) {
    if (ec) return;
    if (auto s = weak.lock()) {
      std::error_code ignored;
      s->close(ignored);
    }
  });
}

std::string peer_text(const tcp::socket& socket) {
  std::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  return ec ? std::string("[?]") : "[" + peer.address().to_string() + "]";
}

void log_exception(std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    spdlog::error("metrics: request ended by an internal error: {}", x.what());
  }
}

}  // namespace

struct HttpServer::Impl {
  Impl(Render r, HttpServerLimits l) : render(std::move(r)), limits(l) {}
  // The io_context destroys the coroutine frames of abandoned connections,
  // which touch `active`: it goes while every member is still alive, and the
  // acceptor before it.
  ~Impl() {
    acceptor.reset();
    io.reset();
  }

  Render render;
  HttpServerLimits limits;
  std::unique_ptr<asio::io_context> io = std::make_unique<asio::io_context>(1);
  std::unique_ptr<tcp::acceptor> acceptor = std::make_unique<tcp::acceptor>(*io);
  std::thread thread;
  std::size_t active = 0;  // touched on the server's thread only
  bool started = false;
  bool stopped = false;

  asio::awaitable<void> accept_loop() {
    for (;;) {
      std::error_code ec;
      tcp::socket socket = co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec == asio::error::operation_aborted || !acceptor->is_open()) co_return;
      if (ec) {
        spdlog::warn("metrics: accept: {}", ec.message());
        asio::steady_timer pause(*io, kAcceptBackoff);
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (active >= limits.connections) {
        spdlog::warn("metrics: limit connections ({}) reached: closed {}", limits.connections, peer_text(socket));
        socket.close(ec);
        continue;
      }
      // Counted here, not when serve() starts, so that connections already
      // waiting to be accepted are judged against it.
      ++active;
      asio::co_spawn(*io, serve(std::move(socket)), log_exception);
    }
  }

  asio::awaitable<void> serve(tcp::socket accepted) {
    struct Slot {  // the connection counted by accept_loop()
      std::size_t& n;
      ~Slot() { --n; }
    } slot{active};
    const std::string peer = peer_text(accepted);
    auto socket = std::make_shared<tcp::socket>(std::move(accepted));
    asio::steady_timer deadline(*io);
    arm(deadline, socket, limits.read_timeout);

    RequestHeadParser parser(limits.head);
    std::array<char, kReadChunkBytes> buffer{};
    std::error_code ec;
    while (parser.state() == RequestHeadParser::State::need_more) {
      const std::size_t n = co_await socket->async_read_some(asio::buffer(buffer),
                                                             asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!socket->is_open()) spdlog::info("metrics: {} sent no complete request in time; closed", peer);
        co_return;
      }
      parser.push(std::string_view(buffer.data(), n));
    }
    std::string response;
    if (parser.state() == RequestHeadParser::State::done) {
      response = metrics_response(parser.head(), render);
    } else {
      spdlog::info("metrics: bad request from {}: {} ({})", peer, parser.status(), parser.error());
      response = error_response(parser.status());
    }

    arm(deadline, socket, limits.write_timeout);
    co_await asio::async_write(*socket, asio::buffer(response), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return;

    // Lingering close (see the contract): EOF, an error, the deadline or
    // the octet bound ends it.
    socket->shutdown(tcp::socket::shutdown_send, ec);
    arm(deadline, socket, limits.linger_timeout);
    std::size_t drained = 0;
    while (drained < limits.linger_bytes) {
      const std::size_t n = co_await socket->async_read_some(asio::buffer(buffer),
                                                             asio::redirect_error(asio::use_awaitable, ec));
      if (ec) break;
      drained += n;
    }
    deadline.cancel();
    socket->close(ec);
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() { stop(); }

Result<std::unique_ptr<HttpServer>> HttpServer::bind(const IpAddress& address, std::uint16_t port, Render render,
                                                     HttpServerLimits limits) {
  auto impl = std::make_unique<Impl>(std::move(render), limits);
  std::error_code ec;
  const auto ip = asio::ip::make_address(address.to_string(), ec);
  const tcp::endpoint ep(ip, port);
  if (!ec) impl->acceptor->open(ep.protocol(), ec);
  if (!ec) impl->acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl->acceptor->bind(ep, ec);
  if (!ec) impl->acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(Errc::io, "metrics: listen on " + ep.address().to_string() + ":" + std::to_string(port) +
                                          ": " + ec.message());
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

std::uint16_t HttpServer::port() const {
  std::error_code ec;
  const auto ep = impl_->acceptor->local_endpoint(ec);
  return ec ? 0 : ep.port();
}

void HttpServer::start() {
  auto& s = *impl_;
  if (s.started || s.stopped) return;
  s.started = true;
  asio::co_spawn(*s.io, s.accept_loop(), log_exception);
  s.thread = std::thread([&io = *s.io] { io.run(); });
}

void HttpServer::stop() {
  auto& s = *impl_;
  if (s.stopped) return;
  s.stopped = true;
  s.io->stop();
  if (s.thread.joinable()) s.thread.join();
  // The thread is gone: nothing else touches the acceptor now.
  std::error_code ignored;
  s.acceptor->close(ignored);
}

}  // namespace mxsec::metrics

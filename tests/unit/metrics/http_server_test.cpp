// metrics/http_server.hpp over loopback sockets: a scrape, the limits that
// fail closed (oversized head, slow client, connections at once), and that
// a client that holds its connection open does not hold up another.
#include "metrics/http_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <thread>

#include "core/unique_fd.hpp"

namespace mxsec::metrics {
namespace {

// A client read that waits longer than this is a failure (of the server to
// answer or to close), not a timing measurement.
constexpr int kClientWaitSeconds = 20;

UniqueFd connect_to(std::uint16_t port) {
  UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return fd;
  timeval tv{kClientWaitSeconds, 0};
  ::setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd.get(), reinterpret_cast<const sockaddr*>(&a), sizeof a) != 0) fd.reset();
  return fd;
}

bool send_all(const UniqueFd& fd, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::send(fd.get(), data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

struct Received {
  std::string data;
  bool eof = false;  // false: an error or kClientWaitSeconds passed
  int error = 0;     // errno of the failed recv()
  // The server closed the connection: an orderly EOF, or a reset (a close
  // with input left unread).
  bool closed() const { return eof || error == ECONNRESET; }
};

Received read_to_end(const UniqueFd& fd) {
  Received r;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::recv(fd.get(), buf, sizeof buf, 0);
    if (n == 0) {
      r.eof = true;
      return r;
    }
    if (n < 0) {
      r.error = errno;
      return r;
    }
    r.data.append(buf, static_cast<std::size_t>(n));
  }
}

Received exchange(std::uint16_t port, std::string_view request) {
  UniqueFd fd = connect_to(port);
  if (!fd || !send_all(fd, request)) return {};
  return read_to_end(fd);
}

constexpr std::string_view kScrape = "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

std::unique_ptr<HttpServer> start(HttpServerLimits limits = {}) {
  auto s = HttpServer::bind(*IpAddress::parse("127.0.0.1"), 0, [] { return std::string("mxsec_up 1\n"); }, limits);
  if (!s) {
    ADD_FAILURE() << s.error().message;
    return nullptr;
  }
  (*s)->start();
  return std::move(*s);
}

TEST(HttpServer, Scrape) {
  auto server = start();
  ASSERT_TRUE(server);
  ASSERT_NE(server->port(), 0);
  const Received r = exchange(server->port(), kScrape);
  EXPECT_TRUE(r.eof);
  EXPECT_TRUE(r.data.starts_with("HTTP/1.1 200 OK\r\n")) << r.data;
  EXPECT_TRUE(r.data.ends_with("\r\n\r\nmxsec_up 1\n")) << r.data;
}

TEST(HttpServer, BadRequestsGetTheirStatus) {
  auto server = start();
  ASSERT_TRUE(server);
  struct Case {
    std::string request, status_line;
  };
  for (const Case& c : std::vector<Case>{
           {"GET /other HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 "},
           {"DELETE /metrics HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 405 "},
           {"GET /metrics\r\n\r\n", "HTTP/1.1 400 "},
           {"GET /metrics HTTP/1.1\n\n", "HTTP/1.1 400 "},
           {"GET /metrics HTTP/3.0\r\nHost: x\r\n\r\n", "HTTP/1.1 505 "},
           // Over the 8 KiB head limit: 431, and the response is read in
           // full although the client is still sending (lingering close).
           {"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n", "HTTP/1.1 431 "},
       }) {
    const Received r = exchange(server->port(), c.request);
    EXPECT_TRUE(r.eof) << c.status_line;
    EXPECT_TRUE(r.data.starts_with(c.status_line)) << c.status_line << " got: " << r.data.substr(0, 80);
  }
}

TEST(HttpServer, OneRequestPerConnection) {
  auto server = start();
  ASSERT_TRUE(server);
  const Received r = exchange(server->port(), std::string(kScrape) + "GET /other HTTP/1.1\r\nHost: x\r\n\r\ngarbage\r\n");
  EXPECT_TRUE(r.eof);
  EXPECT_TRUE(r.data.starts_with("HTTP/1.1 200 OK\r\n"));
  EXPECT_EQ(r.data.find("HTTP/1.1", 1), std::string::npos) << "a second response: " << r.data;
}

TEST(HttpServer, SlowClientIsClosedWithoutAnswer) {
  HttpServerLimits limits;
  limits.read_timeout = std::chrono::milliseconds(100);
  auto server = start(limits);
  ASSERT_TRUE(server);
  UniqueFd slow = connect_to(server->port());
  ASSERT_TRUE(slow);
  ASSERT_TRUE(send_all(slow, "GET /metrics HT"));
  const Received r = read_to_end(slow);
  EXPECT_TRUE(r.eof) << "not closed";
  EXPECT_EQ(r.data, "");
}

TEST(HttpServer, SlowClientDoesNotHoldUpAnother) {
  HttpServerLimits limits;
  limits.read_timeout = std::chrono::seconds(3 * kClientWaitSeconds);  // the slow one stays
  auto server = start(limits);
  ASSERT_TRUE(server);
  UniqueFd slow = connect_to(server->port());
  ASSERT_TRUE(slow);
  ASSERT_TRUE(send_all(slow, "GET /metrics HTTP/1.1\r\nHost: x\r\n"));
  for (int i = 0; i < 3; ++i) {
    const Received r = exchange(server->port(), kScrape);
    EXPECT_TRUE(r.data.starts_with("HTTP/1.1 200 OK\r\n")) << "scrape " << i << " got: " << r.data;
  }
}

TEST(HttpServer, ConnectionsOverTheLimitAreClosedAtOnce) {
  HttpServerLimits limits;
  limits.connections = 2;
  limits.read_timeout = std::chrono::seconds(3 * kClientWaitSeconds);
  auto server = start(limits);
  ASSERT_TRUE(server);
  UniqueFd a = connect_to(server->port());
  UniqueFd b = connect_to(server->port());
  ASSERT_TRUE(a && b);
  const Received refused = exchange(server->port(), kScrape);
  EXPECT_EQ(refused.data, "") << "a third connection was served";
  // A freed slot serves again (once the server has seen the close).
  a.reset();
  bool served = false;
  for (int i = 0; i < 200 && !served; ++i) {
    served = exchange(server->port(), kScrape).data.starts_with("HTTP/1.1 200 OK");
    if (!served) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(served);
}

TEST(HttpServer, StopAbandonsOpenConnections) {
  auto server = start();
  ASSERT_TRUE(server);
  UniqueFd idle = connect_to(server->port());
  ASSERT_TRUE(idle);
  ASSERT_TRUE(send_all(idle, "GET /"));
  server.reset();
  const Received r = read_to_end(idle);
  EXPECT_TRUE(r.closed()) << "recv: " << r.error;
  EXPECT_EQ(r.data, "");
}

TEST(HttpServer, BindFailsOnAnAddressInUse) {
  auto first = start();
  ASSERT_TRUE(first);
  auto second = HttpServer::bind(*IpAddress::parse("127.0.0.1"), first->port(), [] { return std::string(); });
  ASSERT_FALSE(second);
  EXPECT_EQ(second.error().code, Errc::io);
  EXPECT_NE(second.error().message.find("metrics: listen on 127.0.0.1:"), std::string::npos);
}

}  // namespace
}  // namespace mxsec::metrics

// Shared by the delivery and SMTP client tests: a scripted LMTP server (RFC
// 2033) on the session layer, over the in-memory stream (serve_lmtp) or on
// 127.0.0.1 with its own thread (LmtpTestServer, for the blocking
// deliver_lmtp() and the queue runner). With `hello` = "EHLO" and
// `one_reply_after_dot` it plays an SMTP server (RFC 5321), with STARTTLS
// when given a TLS context (RFC 3207), and AUTH when given its replies. The
// script says what to answer; the log records what the client sent, so
// tests judge the client by its bytes.
#pragma once

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "smtp/session/connection.hpp"

namespace mxsec::test {

struct LmtpScript {
  std::string greeting = "220 store.test LMTP ready\r\n";
  std::string lhlo = "250-store.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250 SMTPUTF8\r\n";
  std::string mail = "250 2.1.0 OK\r\n";
  std::map<std::string, std::string> rcpt;   // address -> reply to its RCPT; default 250 2.1.5
  std::string data = "354 OK\r\n";
  std::map<std::string, std::string> after_dot;  // address -> its reply after "."; default 250 2.0.0 ... Saved
  bool close_mid_data = false;   // close the connection after the first line of text
  bool silent_after_dot = false;  // never answer after "."
  bool close_after_dot = false;   // close right after the replies to "."
  bool endless_lhlo_reply = false;  // answer LHLO with one line that never ends
  std::string hang_on;            // a command holding this text is never answered ("" = none)
  // --- SMTP (RFC 5321) ---
  std::string hello = "LHLO";      // the verb answered with `lhlo`
  std::string helo = "250 store.test\r\n";  // reply to HELO
  std::string ehlo_tls;            // reply to `hello` over TLS ("" = `lhlo`)
  std::string starttls = "220 2.0.0 Ready to start TLS\r\n";  // written in one write
  SSL_CTX* tls = nullptr;          // server context; nullptr = hang up after a 2xx to STARTTLS
  bool one_reply_after_dot = false;  // SMTP: one reply for the transaction
  std::string after_dot_all = "250 2.0.0 Ok: queued as 1234\r\n";
  std::string rset = "250 2.0.0 Ok\r\n";
  // AUTH (RFC 4954): the reply to the AUTH command, then one reply to each
  // client line while the last reply was a 334; empty = AUTH is unknown (500).
  std::vector<std::string> auth;
};

struct LmtpServerLog {
  int connections = 0;
  std::vector<std::string> commands;    // every command line, in order
  std::vector<bool> pipelined;          // per command: more octets were buffered behind it when it was read
  std::vector<std::string> text_lines;  // DATA lines as received (dot-stuffed), up to "."
  bool end_of_data = false;             // "." received
  bool quit = false;
  std::size_t endless_bytes = 0;  // octets of the endless reply written before the client closed
  std::vector<bool> over_tls;     // per command: it arrived over TLS
  bool tls = false;               // the TLS handshake completed
  std::string sni;                // the server name the client sent
  int transactions = 0;           // "." received
  int open = 0;                   // sessions being served now
  int max_open = 0;               // the most served at once
  int rsets = 0;                  // RSET commands
  std::vector<int> open_at_dot;   // per transaction: sessions open when its "." arrived
};

// Counts a session as open while it is served.
struct OpenSession {
  explicit OpenSession(LmtpServerLog& log) : log_(log) { log_.max_open = std::max(log_.max_open, ++log_.open); }
  ~OpenSession() { --log_.open; }
  OpenSession(const OpenSession&) = delete;
  OpenSession& operator=(const OpenSession&) = delete;

 private:
  LmtpServerLog& log_;
};

inline std::string address_of(const std::string& command) {
  const auto open = command.find('<');
  const auto close = command.rfind('>');
  if (open == std::string::npos || close == std::string::npos || close < open) return {};
  return command.substr(open + 1, close - open - 1);
}

inline bool starts_with_ci(const std::string& s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i)
    if (std::toupper(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  return true;
}

// Reads until the client closes (or the read fails).
inline asio::awaitable<void> drain(smtp::Connection& conn) {
  for (;;) {
    auto got = co_await conn.read_some();
    if (!got) co_return;
    conn.consume(got->size());
  }
}

// (g++ 12: no temporaries inside co_await expressions, so every string sent
// is a named copy first.)
inline asio::awaitable<bool> answer(smtp::Connection& conn, const std::string& text) {
  std::string copy = text;
  auto sent = co_await conn.send(std::move(copy));
  co_return static_cast<bool>(sent);
}

inline asio::awaitable<void> serve_lmtp(smtp::Connection conn, const LmtpScript& script, LmtpServerLog& log) {
  ++log.connections;
  const OpenSession open(log);
  if (!co_await answer(conn, script.greeting)) co_return;
  std::vector<std::string> accepted;
  for (;;) {
    auto line = co_await conn.read_line();
    if (!line) co_return;
    const std::string cmd = line->text;
    log.commands.push_back(cmd);
    log.pipelined.push_back(conn.buffered() > 0);
    log.over_tls.push_back(conn.tls_started());
    if (!script.hang_on.empty() && cmd.find(script.hang_on) != std::string::npos) {
      co_await drain(conn);  // until the client gives up
      co_return;
    }
    std::string reply;
    if (starts_with_ci(cmd, script.hello) && script.endless_lhlo_reply) {
      // One reply line without an end, until the client gives up.
      const std::string chunk = "250-" + std::string(4092, 'x');
      for (int i = 0; i < 4096; ++i) {  // 16 MiB at most, then stop
        if (!co_await answer(conn, chunk)) co_return;
        log.endless_bytes += chunk.size();
        if (!conn.is_open()) co_return;
      }
      co_await drain(conn);
      co_return;
    }
    if (starts_with_ci(cmd, script.hello)) {
      reply = conn.tls_started() && !script.ehlo_tls.empty() ? script.ehlo_tls : script.lhlo;
    } else if (starts_with_ci(cmd, "HELO")) {
      reply = script.helo;
    } else if (starts_with_ci(cmd, "STARTTLS")) {
      if (!co_await answer(conn, script.starttls)) co_return;
      if (script.starttls.front() != '2') continue;
      if (!script.tls) {
        conn.close();
        co_return;
      }
      if (!conn.start_tls(script.tls, smtp::TlsRole::server)) co_return;
      auto shaken = co_await conn.handshake();
      if (!shaken) co_return;
      log.tls = true;
      if (const char* sni = SSL_get_servername(conn.ssl(), TLSEXT_NAMETYPE_host_name)) log.sni = sni;
      accepted.clear();
      continue;
    } else if (starts_with_ci(cmd, "AUTH") && !script.auth.empty()) {
      // The client's lines in the exchange are logged as commands.
      for (std::size_t i = 0;; ++i) {
        if (!co_await answer(conn, script.auth[i])) co_return;
        if (script.auth[i].rfind("334", 0) != 0 || i + 1 == script.auth.size()) break;
        auto response = co_await conn.read_line();
        if (!response) co_return;
        log.commands.push_back(response->text);
        log.pipelined.push_back(conn.buffered() > 0);
        log.over_tls.push_back(conn.tls_started());
      }
      continue;
    } else if (starts_with_ci(cmd, "RSET")) {
      accepted.clear();
      ++log.rsets;
      reply = script.rset;
    } else if (starts_with_ci(cmd, "MAIL")) {
      reply = script.mail;
    } else if (starts_with_ci(cmd, "RCPT")) {
      const std::string rcpt = address_of(cmd);
      const auto it = script.rcpt.find(rcpt);
      reply = it == script.rcpt.end() ? "250 2.1.5 OK\r\n" : it->second;
      if (reply.front() == '2') accepted.push_back(rcpt);
    } else if (starts_with_ci(cmd, "DATA")) {
      if (!co_await answer(conn, script.data)) co_return;
      if (script.data.front() != '3') continue;
      for (;;) {
        auto text = co_await conn.read_line();
        if (!text) co_return;
        if (text->text == ".") break;
        log.text_lines.push_back(text->text);
        if (script.close_mid_data) {
          conn.close();
          co_return;
        }
      }
      log.end_of_data = true;
      ++log.transactions;
      log.open_at_dot.push_back(log.open);
      if (script.silent_after_dot) {
        co_await drain(conn);
        co_return;
      }
      if (script.one_reply_after_dot) reply = script.after_dot_all;
      for (std::size_t i = 0; !script.one_reply_after_dot && i < accepted.size(); ++i) {
        const auto it = script.after_dot.find(accepted[i]);
        reply += it == script.after_dot.end() ? "250 2.0.0 <" + accepted[i] + "> 1234 Saved\r\n" : it->second;
      }
      accepted.clear();
      if (script.close_after_dot) {
        co_await answer(conn, reply);
        conn.close();
        co_return;
      }
    } else if (starts_with_ci(cmd, "QUIT")) {
      log.quit = true;
      const std::string bye = "221 2.0.0 Bye\r\n";
      co_await answer(conn, bye);
      co_return;
    } else {
      reply = "500 5.5.1 Unknown command\r\n";
    }
    if (!co_await answer(conn, reply)) co_return;
  }
}

// The same server on 127.0.0.1:<ephemeral port>, on a thread of its own.
// stop() (or the destructor) stops accepting, waits for the sessions to end
// and joins; read log() after it.
class LmtpTestServer {
 public:
  // On `address`:`port` (0 = any free port).
  explicit LmtpTestServer(LmtpScript script, const char* address = "127.0.0.1", std::uint16_t port = 0)
      : script_(std::move(script)),
        acceptor_(io_, {asio::ip::make_address(address), port}),
        port_(acceptor_.local_endpoint().port()) {
    asio::co_spawn(io_, accept_loop(), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~LmtpTestServer() { stop(); }
  LmtpTestServer(const LmtpTestServer&) = delete;
  LmtpTestServer& operator=(const LmtpTestServer&) = delete;

  std::uint16_t port() const { return port_; }
  void stop() {
    if (!thread_.joinable()) return;
    asio::post(io_, [this] {
      std::error_code ignored;
      acceptor_.close(ignored);
    });
    thread_.join();
  }
  const LmtpServerLog& log() const { return log_; }

 private:
  asio::awaitable<void> accept_loop() {
    for (;;) {
      std::error_code ec;
      asio::ip::tcp::socket socket =
          co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return;
      smtp::SessionConfig config;
      config.timeouts.read = std::chrono::seconds(10);
      config.timeouts.session = std::chrono::seconds(20);
      asio::co_spawn(io_, serve_lmtp(smtp::Connection::over_tcp(std::move(socket), config), script_, log_),
                     asio::detached);
    }
  }

  LmtpScript script_;
  LmtpServerLog log_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::uint16_t port_;
  std::thread thread_;
};

}  // namespace mxsec::test

// Tests for smtp/session/connection.cpp over the in-memory pair: line and
// reply reading (every split of the input), limits, bare LF, deadlines,
// buffered and pipelined writes, STARTTLS in both roles with plaintext
// injection, cancellation, EOF and error propagation. No timing assertions:
// deadlines are short and only their outcome (Errc::timeout) is checked.
#include "smtp/session/connection.hpp"

#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/experimental/awaitable_operators.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <functional>
#include <variant>

#include "unit/tls/test_pki.hpp"
#include "unit/smtp/run_coroutines.hpp"

namespace mxsec::smtp {
namespace {

using asio::awaitable;
using asio::use_awaitable;
using Ms = std::chrono::milliseconds;

using test::run;

SessionConfig config(Ms step = Ms(5000)) {
  SessionConfig c;
  c.timeouts.read = step;
  c.timeouts.write = step;
  c.timeouts.handshake = step;
  c.timeouts.session = Ms(20000);
  return c;
}

struct Pair {
  Connection client;
  Connection server;
};

Pair make_pair(asio::io_context& io, SessionConfig cc = config(), SessionConfig sc = config(),
               MemoryFaults client_faults = {}, MemoryFaults server_faults = {}) {
  // clang 14 cannot capture structured bindings in lambdas: plain references.
  auto ends_c = make_memory_pair(io.get_executor());
  auto& c = ends_c.client;
  auto& s = ends_c.server;
  c.faults() = client_faults;
  s.faults() = server_faults;
  return Pair{Connection::over_memory(std::move(c), cc), Connection::over_memory(std::move(s), sc)};
}

// Yields until `conn` has received at least `n` octets.
awaitable<void> until_read(Connection& conn, std::size_t n) {
  while (conn.counters().bytes_read < n) co_await asio::post(co_await asio::this_coro::executor, use_awaitable);
}

// --- line reading ------------------------------------------------------------

// Every line read until the first error, rendered for comparison.
std::vector<std::string> read_all_lines(const std::string& input, std::size_t split, MemoryFaults reader_faults,
                                        std::size_t max_line) {
  asio::io_context io;
  SessionConfig sc = config();
  sc.max_line_bytes = max_line;
  auto ends = make_pair(io, config(), sc, {}, reader_faults);
  auto& client = ends.client;
  auto& server = ends.server;
  std::vector<std::string> out;
  run(io, {[&]() -> awaitable<void> {
             auto first = co_await client.send(input.substr(0, split));
             EXPECT_TRUE(first);
             co_await until_read(server, split);
             auto second = co_await client.send(input.substr(split));
             EXPECT_TRUE(second);
             client.close();
           },
           [&]() -> awaitable<void> {
             for (int i = 0; i < 100; ++i) {
               auto line = co_await server.read_line();
               if (!line) {
                 out.push_back(std::string("error ") + errc_name(line.error().code));
                 if (line.error().code != Errc::limit) break;
                 continue;
               }
               out.push_back((line->bare_lf ? "LF " : "CRLF ") + line->text);
             }
           }});
  return out;
}

TEST(Connection, ReadLineParsegrind) {
  const std::vector<std::pair<std::string, std::vector<std::string>>> cases = {
      {"EHLO client.example\r\nMAIL FROM:<a@example.com>\r\n",
       {"CRLF EHLO client.example", "CRLF MAIL FROM:<a@example.com>", "error io"}},
      {"RCPT TO:<b@example.net>\nDATA\r\n", {"LF RCPT TO:<b@example.net>", "CRLF DATA", "error io"}},
      {"\r\n\n\r\n", {"CRLF ", "LF ", "CRLF ", "error io"}},
      {"NOOP\r\n" + std::string(40, 'x') + "\r\nQUIT\r\n", {"CRLF NOOP", "error limit", "CRLF QUIT", "error io"}},
      {std::string(40, 'y') + "\nRSET\r\nQUI", {"error limit", "CRLF RSET", "error io"}},
  };
  for (const auto& [input, want] : cases) {
    for (std::size_t i = 0; i <= input.size(); ++i)
      EXPECT_EQ(read_all_lines(input, i, {}, 32), want) << "split at " << i << " of " << input;
    MemoryFaults one_byte;
    one_byte.max_read = 1;
    EXPECT_EQ(read_all_lines(input, input.size(), one_byte, 32), want) << "byte by byte: " << input;
  }
}

TEST(Connection, OverlongLineIsBoundedAndRecovers) {
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  auto& server = ends.server;
  const std::string huge(100000, 'x');
  std::optional<Result<Line>> first;
  run(io, {[&]() -> awaitable<void> {
             auto sent = co_await client.send(huge);
             EXPECT_TRUE(sent);
           },
           [&]() -> awaitable<void> {
             first = co_await server.read_line();
             // Bounded work: the limit plus one read, never the 100 kB sent.
             EXPECT_LE(server.counters().bytes_read, limits::kSmtpLineBytes + 2 * limits::kSmtpReadChunkBytes);
           }});
  ASSERT_TRUE(first && !*first);
  EXPECT_EQ(first->error().code, Errc::limit);

  asio::io_context io2;
  auto ends_c2 = make_pair(io2);
  auto& c2 = ends_c2.client;
  auto& s2 = ends_c2.server;
  std::vector<std::string> lines;
  run(io2, {[&]() -> awaitable<void> {
              auto sent = co_await c2.send(std::string(5000, 'x') + "\r\nQUIT\r\n");
              EXPECT_TRUE(sent);
            },
            [&]() -> awaitable<void> {
              auto a = co_await s2.read_line();
              EXPECT_FALSE(a);
              auto b = co_await s2.read_line();
              EXPECT_TRUE(b);
              if (b) lines.push_back(b->text);
            }});
  EXPECT_EQ(lines, std::vector<std::string>{"QUIT"});
}

TEST(Connection, BareLfIsReported) {
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  auto& server = ends.server;
  std::vector<Line> lines;
  run(io, {[&]() -> awaitable<void> { (void)co_await client.send("MAIL FROM:<a@b>\nRCPT TO:<c@d>\r\n"); },
           [&]() -> awaitable<void> {
             for (int i = 0; i < 2; ++i) {
               auto l = co_await server.read_line();
               if (l) lines.push_back(*l);
             }
           }});
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0], (Line{"MAIL FROM:<a@b>", true}));
  EXPECT_EQ(lines[1], (Line{"RCPT TO:<c@d>", false}));
}

// --- reply reading -----------------------------------------------------------

TEST(Connection, ReadsRepliesThroughReplyParser) {
  asio::io_context io;
  SessionConfig cc = config();
  cc.reply_limits.max_line_bytes = 64;
  auto ends = make_pair(io, cc, config(), MemoryFaults{1, 0, Ms(0), {}, {}});
  auto& client = ends.client;
  auto& server = ends.server;
  std::optional<Result<Reply>> ok, bad;
  run(io, {[&]() -> awaitable<void> {
             (void)co_await server.send("250-mx.example\r\n250-PIPELINING\r\n250 STARTTLS\r\n220 " +
                                        std::string(100, 'z') + "\r\n");
           },
           [&]() -> awaitable<void> {
             ok = co_await client.read_reply();
             bad = co_await client.read_reply();
           }});
  ASSERT_TRUE(ok && *ok);
  EXPECT_EQ((*ok)->code, 250);
  EXPECT_EQ((*ok)->lines, (std::vector<std::string>{"mx.example", "PIPELINING", "STARTTLS"}));
  ASSERT_TRUE(bad && !*bad);
  EXPECT_EQ(bad->error().code, Errc::limit);
}

// --- deadlines -----------------------------------------------------------------

TEST(Connection, SilentPeerTimesOut) {
  asio::io_context io;
  auto ends = make_pair(io, config(), config(Ms(50)));
  auto& server = ends.server;
  std::optional<Result<Line>> got;
  run(io, {[&]() -> awaitable<void> { got = co_await server.read_line(); }});
  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->error().code, Errc::timeout);
  EXPECT_EQ(server.timed_out(), Step::read);
  EXPECT_NE(got->error().message.find("read"), std::string::npos) << got->error().message;
  EXPECT_FALSE(server.is_open());
}

TEST(Connection, SessionDeadlineCapsEveryStep) {
  asio::io_context io;
  SessionConfig sc = config();  // 5 s per step
  sc.timeouts.session = Ms(50);
  auto ends = make_pair(io, config(), sc);
  auto& server = ends.server;
  std::optional<Result<Reply>> got;
  run(io, {[&]() -> awaitable<void> { got = co_await server.read_reply(); }});
  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->error().code, Errc::timeout);
  EXPECT_NE(got->error().message.find("session deadline"), std::string::npos) << got->error().message;
}

TEST(Connection, SlowWriteTimesOut) {
  asio::io_context io;
  MemoryFaults slow;
  slow.delay = std::chrono::hours(1);
  auto ends = make_pair(io, config(Ms(50)), config(), slow);
  auto& client = ends.client;
  std::optional<Result<void>> got;
  run(io, {[&]() -> awaitable<void> { got = co_await client.send("QUIT\r\n"); }});
  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->error().code, Errc::timeout);
  EXPECT_EQ(client.timed_out(), Step::write);
  EXPECT_EQ(client.counters().bytes_written, 0u);
}

// --- writing ---------------------------------------------------------------------

TEST(Connection, BufferedWritesGoOutInOneFlush) {
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  auto& server = ends.server;
  std::vector<int> codes;
  run(io, {[&]() -> awaitable<void> {
             server.queue("250 2.1.0 sender ok\r\n");
             server.queue("250 2.1.5 recipient ok\r\n");
             server.queue("354 go ahead\r\n");
             EXPECT_EQ(server.queued(), 21u + 24u + 14u);
             co_await asio::post(io, use_awaitable);
             EXPECT_EQ(client.counters().bytes_read, 0u);  // nothing sent before flush
             auto f = co_await server.flush();
             EXPECT_TRUE(f);
             EXPECT_EQ(server.queued(), 0u);
             EXPECT_EQ(server.counters().bytes_written, 59u);
           },
           [&]() -> awaitable<void> {
             for (int i = 0; i < 3; ++i) {
               auto r = co_await client.read_reply();
               if (r) codes.push_back(r->code);
             }
           }});
  EXPECT_EQ(codes, (std::vector<int>{250, 250, 354}));
}

TEST(Connection, PipelinedCommandsOneWriteRepliesInOrder) {
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  auto& server = ends.server;
  std::optional<Result<std::vector<Reply>>> replies;
  std::vector<std::string> seen;
  std::size_t buffered_after_first = 0;
  run(io, {[&]() -> awaitable<void> {
             std::vector<std::string> group{"MAIL FROM:<a@example.com>", "RCPT TO:<b@example.net>", "DATA"};
             replies = co_await client.pipeline(std::move(group));
           },
           [&]() -> awaitable<void> {
             for (int i = 0; i < 3; ++i) {
               auto l = co_await server.read_line();
               if (!l) co_return;
               if (i == 0) buffered_after_first = server.buffered();
               seen.push_back(l->text);
             }
             server.queue("250 ok\r\n");
             server.queue("550 no such user\r\n");
             server.queue("554 no valid recipients\r\n");
             (void)co_await server.flush();
           }});
  // The whole group arrived in the first read: one write (RFC 2920 §3.1).
  EXPECT_EQ(buffered_after_first, std::string("RCPT TO:<b@example.net>\r\nDATA\r\n").size());
  EXPECT_EQ(seen, (std::vector<std::string>{"MAIL FROM:<a@example.com>", "RCPT TO:<b@example.net>", "DATA"}));
  ASSERT_TRUE(replies && *replies);
  ASSERT_EQ((*replies)->size(), 3u);
  EXPECT_EQ((**replies)[0].code, 250);
  EXPECT_EQ((**replies)[1].code, 550);
  EXPECT_EQ((**replies)[2].code, 554);
}

TEST(Connection, CommandLinesCannotSmuggleCommands) {
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  std::optional<Result<Reply>> got;
  run(io, {[&]() -> awaitable<void> { got = co_await client.command("NOOP\r\nRSET"); }});
  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->error().code, Errc::invalid_argument);
  EXPECT_EQ(client.counters().bytes_written, 0u);
}

// --- STARTTLS ----------------------------------------------------------------------

struct Tls {
  test::KeyCert leaf = test::make_cert({"mx", {"mx.example.net"}}, nullptr);
  tls::SslCtxPtr server = test::make_server_context(leaf);
  tls::SslCtxPtr client{SSL_CTX_new(TLS_client_method())};
};

TEST(Connection, StarttlsClientDiscardsInjectedReply) {
  Tls t;
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  auto& server = ends.server;
  std::optional<Result<TlsUpgrade>> up;
  std::optional<Result<Reply>> ehlo;
  std::vector<std::string> server_seen;
  run(io, {[&]() -> awaitable<void> {
             auto r = co_await client.command("STARTTLS");
             EXPECT_TRUE(r && r->code == 220);
             up = co_await client.upgrade_tls(t.client.get(), TlsRole::client);
             if (*up) ehlo = co_await client.command("EHLO client.example");
           },
           [&]() -> awaitable<void> {
             auto l = co_await server.read_line();
             if (l) server_seen.push_back(l->text);
             // RFC 3207 §5: a man in the middle appends a reply after the 220.
             (void)co_await server.send("220 go ahead\r\n250 injected\r\n");
             auto s = co_await server.upgrade_tls(t.server.get(), TlsRole::server);
             EXPECT_TRUE(s);
             l = co_await server.read_line();
             if (l) server_seen.push_back(l->text);
             (void)co_await server.send("250 mx.example over TLS\r\n");
           }});
  ASSERT_TRUE(up && *up) << up->error().message;
  EXPECT_EQ((*up)->plaintext_discarded, std::string("250 injected\r\n").size());
  EXPECT_EQ(client.counters().plaintext_discarded, 14u);
  EXPECT_TRUE(client.tls_started());
  EXPECT_NE(client.ssl(), nullptr);
  ASSERT_TRUE(ehlo && *ehlo);
  EXPECT_EQ((*ehlo)->code, 250);  // the TLS reply, not the injected one
  EXPECT_EQ((*ehlo)->lines, std::vector<std::string>{"mx.example over TLS"});
  EXPECT_EQ(server_seen, (std::vector<std::string>{"STARTTLS", "EHLO client.example"}));
}

TEST(Connection, StarttlsServerDiscardsPipelinedCommand) {
  Tls t;
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  auto& server = ends.server;
  std::optional<Result<TlsUpgrade>> up;
  std::vector<std::string> server_seen;
  std::optional<Result<Reply>> after;
  run(io, {[&]() -> awaitable<void> {
             // Command injection: RSET rides in the same write as STARTTLS.
             (void)co_await client.send("STARTTLS\r\nRSET\r\n");
             auto r = co_await client.read_reply();
             EXPECT_TRUE(r && r->code == 220);
             auto c = co_await client.upgrade_tls(t.client.get(), TlsRole::client);
             EXPECT_TRUE(c);
             EXPECT_EQ(c ? c->plaintext_discarded : 99u, 0u);
             after = co_await client.command("EHLO client.example");
           },
           [&]() -> awaitable<void> {
             auto l = co_await server.read_line();
             if (l) server_seen.push_back(l->text);
             (void)co_await server.send("220 2.0.0 ready\r\n");
             up = co_await server.upgrade_tls(t.server.get(), TlsRole::server);
             l = co_await server.read_line();
             if (l) server_seen.push_back(l->text);
             (void)co_await server.send("250 hello\r\n");
           }});
  ASSERT_TRUE(up && *up) << up->error().message;
  EXPECT_EQ((*up)->plaintext_discarded, std::string("RSET\r\n").size());
  // RSET was never executed: the next command the server sees is EHLO, over TLS.
  EXPECT_EQ(server_seen, (std::vector<std::string>{"STARTTLS", "EHLO client.example"}));
  ASSERT_TRUE(after && *after);
  EXPECT_EQ((*after)->code, 250);
}

TEST(Connection, HandshakeTimesOutOnSilentPeer) {
  Tls t;
  asio::io_context io;
  auto ends = make_pair(io, config(Ms(50)));
  auto& client = ends.client;
  std::optional<Result<TlsUpgrade>> up;
  run(io, {[&]() -> awaitable<void> { up = co_await client.upgrade_tls(t.client.get(), TlsRole::client); }});
  ASSERT_TRUE(up && !*up);
  EXPECT_EQ(up->error().code, Errc::timeout);
  EXPECT_EQ(client.timed_out(), Step::handshake);
}

TEST(Connection, HandshakeFailsOnPlaintextPeer) {
  Tls t;
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  auto& server = ends.server;
  std::optional<Result<TlsUpgrade>> up;
  run(io, {[&]() -> awaitable<void> { up = co_await client.upgrade_tls(t.client.get(), TlsRole::client); },
           [&]() -> awaitable<void> {
             (void)co_await server.send("this is not a TLS ServerHello at all\r\n");
           }});
  ASSERT_TRUE(up && !*up);
  EXPECT_EQ(up->error().code, Errc::io);
}

TEST(Connection, StartTlsMisuse) {
  Tls t;
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  client.queue("QUIT\r\n");
  auto queued = client.start_tls(t.client.get(), TlsRole::client);
  ASSERT_FALSE(queued);
  EXPECT_EQ(queued.error().code, Errc::invalid_argument);
  asio::io_context io2;
  auto ends_c2 = make_pair(io2);
  auto& c2 = ends_c2.client;
  EXPECT_TRUE(c2.start_tls(t.client.get(), TlsRole::client));
  auto twice = c2.start_tls(t.client.get(), TlsRole::client);
  ASSERT_FALSE(twice);
  EXPECT_EQ(twice.error().code, Errc::invalid_argument);
}

// --- cancellation --------------------------------------------------------------------

TEST(Connection, CancelPendingReadEndsPromptly) {
  asio::io_context io;
  auto ends = make_pair(io);  // 5 s deadlines: only the cancel can end the read
  auto& server = ends.server;
  asio::cancellation_signal cancel;
  std::optional<Result<Line>> got;
  bool done = false;
  asio::co_spawn(io, [&]() -> awaitable<void> { got = co_await server.read_line(); },
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr) { done = true; }));
  io.poll();
  EXPECT_FALSE(done);
  const auto start = std::chrono::steady_clock::now();
  cancel.emit(asio::cancellation_type::terminal);
  io.run_for(std::chrono::seconds(4));
  EXPECT_TRUE(done);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(4));  // not by the deadline
  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->error().code, Errc::cancelled);
  EXPECT_FALSE(server.timed_out());
}

TEST(Connection, AwaitableOperatorCancelsReadAndKeepsConnection) {
  using namespace asio::experimental::awaitable_operators;
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  auto& server = ends.server;
  std::size_t winner = 99;
  std::optional<Result<Line>> later;
  run(io, {[&]() -> awaitable<void> {
    asio::steady_timer timer(io, Ms(20));
    auto r = co_await (server.read_line() || timer.async_wait(use_awaitable));
    winner = r.index();
    (void)co_await client.send("QUIT\r\n");
    later = co_await server.read_line();
  }});
  EXPECT_EQ(winner, 1u);
  ASSERT_TRUE(later && *later);
  EXPECT_EQ((*later)->text, "QUIT");
}

// --- EOF and errors ---------------------------------------------------------------------

TEST(Connection, EofPropagates) {
  asio::io_context io;
  auto ends = make_pair(io);
  auto& client = ends.client;
  auto& server = ends.server;
  std::optional<Result<Line>> got;
  run(io, {[&]() -> awaitable<void> {
             (void)co_await client.send("QUI");
             client.close();
           },
           [&]() -> awaitable<void> { got = co_await server.read_line(); }});
  ASSERT_TRUE(got && !*got);
  EXPECT_EQ(got->error().code, Errc::io);
  EXPECT_TRUE(server.eof());
  EXPECT_NE(got->error().message.find("closed by the peer"), std::string::npos) << got->error().message;
}

TEST(Connection, ErrorsPropagate) {
  asio::io_context io;
  MemoryFaults reset;
  reset.read_error = asio::error::connection_reset;
  reset.write_error = asio::error::connection_reset;
  auto ends = make_pair(io, config(), config(), reset);
  auto& client = ends.client;
  std::optional<Result<Reply>> read;
  std::optional<Result<void>> write;
  run(io, {[&]() -> awaitable<void> {
    read = co_await client.read_reply();
    write = co_await client.send("QUIT\r\n");
  }});
  ASSERT_TRUE(read && !*read);
  EXPECT_EQ(read->error().code, Errc::io);
  EXPECT_FALSE(client.eof());
  ASSERT_TRUE(write && !*write);
  EXPECT_EQ(write->error().code, Errc::io);
}

// --- TCP ---------------------------------------------------------------------------------

TEST(Connection, ConnectOverTcpAndRefused) {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto endpoint = acceptor.local_endpoint();
  std::optional<Result<Reply>> reply;
  run(io, {[&]() -> awaitable<void> {
             auto sock = co_await acceptor.async_accept(use_awaitable);
             auto conn = Connection::over_tcp(std::move(sock), config());
             (void)co_await conn.send("220 tcp.example ESMTP\r\n");
           },
           [&]() -> awaitable<void> {
             auto conn = co_await Connection::connect(endpoint, config());
             EXPECT_TRUE(conn);
             if (conn) reply = co_await conn->read_reply();
           }});
  ASSERT_TRUE(reply && *reply);
  EXPECT_EQ((*reply)->code, 220);

  acceptor.close();  // nothing listens there now
  asio::io_context io2;
  std::optional<Result<Connection>> refused;
  run(io2, {[&]() -> awaitable<void> { refused = co_await Connection::connect(endpoint, config()); }});
  ASSERT_TRUE(refused && !*refused);
  EXPECT_EQ(refused->error().code, Errc::io);
}

}  // namespace
}  // namespace mxsec::smtp

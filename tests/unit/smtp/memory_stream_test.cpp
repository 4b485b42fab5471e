// Tests for smtp/session/memory_stream.cpp: the in-memory stream pair is a
// faithful AsyncReadStream/AsyncWriteStream (short reads and writes, EOF,
// errors, close, per-operation cancellation) and carries TLS through
// asio::ssl::stream<MemoryStream&>.
#include "smtp/session/memory_stream.hpp"

#include <gtest/gtest.h>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <functional>

#include "unit/tls/test_pki.hpp"
#include "unit/smtp/run_coroutines.hpp"

namespace mxsec::smtp {
namespace {

using asio::awaitable;
using asio::use_awaitable;

using test::run;

TEST(MemoryStream, RoundTripAndCounters) {
  asio::io_context io;
  // clang 14 cannot capture structured bindings in lambdas: plain references.
  auto ends = make_memory_pair(io.get_executor());
  auto& a = ends.client;
  auto& b = ends.server;
  std::string got;
  run(io, {[&]() -> awaitable<void> {
             co_await asio::async_write(a, asio::buffer(std::string("hello\r\n")), use_awaitable);
           },
           [&]() -> awaitable<void> {
             got.resize(7);
             co_await asio::async_read(b, asio::buffer(got), use_awaitable);
           }});
  EXPECT_EQ(got, "hello\r\n");
  EXPECT_EQ(a.bytes_written(), 7u);
  EXPECT_EQ(b.bytes_read(), 7u);
}

TEST(MemoryStream, NeverCompletesInline) {
  asio::io_context io;
  auto ends = make_memory_pair(io.get_executor());
  auto& a = ends.client;
  bool completed = false;
  a.async_write_some(asio::buffer("x", 1), [&](std::error_code, std::size_t) { completed = true; });
  EXPECT_FALSE(completed);
  io.run();
  EXPECT_TRUE(completed);
}

TEST(MemoryStream, ShortReadsAndWrites) {
  asio::io_context io;
  auto ends = make_memory_pair(io.get_executor());
  auto& a = ends.client;
  auto& b = ends.server;
  a.faults().max_write = 3;
  b.faults().max_read = 2;
  const std::string msg = "EHLO client.example\r\n";
  std::vector<std::size_t> reads;
  std::string got;
  run(io, {[&]() -> awaitable<void> {
             std::size_t n = co_await a.async_write_some(asio::buffer(msg), use_awaitable);
             EXPECT_EQ(n, 3u);
             co_await asio::async_write(a, asio::buffer(msg.substr(3)), use_awaitable);
           },
           [&]() -> awaitable<void> {
             char buf[64];
             while (got.size() < msg.size()) {
               std::size_t n = co_await b.async_read_some(asio::buffer(buf), use_awaitable);
               reads.push_back(n);
               got.append(buf, n);
             }
           }});
  EXPECT_EQ(got, msg);
  for (std::size_t n : reads) EXPECT_LE(n, 2u);
}

TEST(MemoryStream, EofAfterBufferedBytes) {
  asio::io_context io;
  auto ends = make_memory_pair(io.get_executor());
  auto& a = ends.client;
  auto& b = ends.server;
  std::error_code last;
  std::string got;
  run(io, {[&]() -> awaitable<void> {
             co_await asio::async_write(a, asio::buffer(std::string("bye")), use_awaitable);
             a.shutdown_send();
           },
           [&]() -> awaitable<void> {
             char buf[8];
             for (;;) {
               std::size_t n = co_await b.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, last));
               if (last) break;
               got.append(buf, n);
             }
           }});
  EXPECT_EQ(got, "bye");
  EXPECT_EQ(last, asio::error::eof);
}

TEST(MemoryStream, CloseAbortsOwnReadAndPeerSeesEofAndBrokenPipe) {
  asio::io_context io;
  auto ends = make_memory_pair(io.get_executor());
  auto& a = ends.client;
  auto& b = ends.server;
  std::error_code own_read, peer_read, peer_write;
  run(io, {[&]() -> awaitable<void> {
             char buf[8];
             co_await a.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, own_read));
           },
           [&]() -> awaitable<void> {
             co_await asio::post(io, use_awaitable);
             a.close();
             char buf[8];
             co_await b.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, peer_read));
             co_await b.async_write_some(asio::buffer("x", 1), asio::redirect_error(use_awaitable, peer_write));
           }});
  EXPECT_EQ(own_read, asio::error::operation_aborted);
  EXPECT_EQ(peer_read, asio::error::eof);
  EXPECT_EQ(peer_write, asio::error::broken_pipe);
  EXPECT_FALSE(a.is_open());
}

TEST(MemoryStream, InjectedErrorsAreOneShot) {
  asio::io_context io;
  auto ends = make_memory_pair(io.get_executor());
  auto& a = ends.client;
  auto& b = ends.server;
  a.faults().write_error = asio::error::connection_reset;
  b.faults().read_error = asio::error::connection_aborted;
  std::error_code w1, w2, r1;
  run(io, {[&]() -> awaitable<void> {
    co_await a.async_write_some(asio::buffer("x", 1), asio::redirect_error(use_awaitable, w1));
    char buf[8];
    co_await b.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, r1));
    co_await a.async_write_some(asio::buffer("y", 1), asio::redirect_error(use_awaitable, w2));
  }});
  EXPECT_EQ(w1, asio::error::connection_reset);
  EXPECT_EQ(r1, asio::error::connection_aborted);
  EXPECT_FALSE(w2);
  EXPECT_EQ(a.bytes_written(), 1u);
}

TEST(MemoryStream, CancelPendingRead) {
  asio::io_context io;
  auto ends = make_memory_pair(io.get_executor());
  auto& b = ends.server;
  asio::cancellation_signal cancel;
  std::error_code ec;
  bool done = false;
  char buf[8];
  b.async_read_some(asio::buffer(buf), asio::bind_cancellation_slot(cancel.slot(), [&](std::error_code e, std::size_t) {
                      ec = e;
                      done = true;
                    }));
  io.poll();
  EXPECT_FALSE(done);
  cancel.emit(asio::cancellation_type::terminal);
  io.run_for(std::chrono::seconds(5));
  EXPECT_TRUE(done);
  EXPECT_EQ(ec, asio::error::operation_aborted);
}

TEST(MemoryStream, DelayCanBeCancelled) {
  asio::io_context io;
  auto ends = make_memory_pair(io.get_executor());
  auto& a = ends.client;
  a.faults().delay = std::chrono::hours(1);
  asio::cancellation_signal cancel;
  std::error_code ec;
  a.async_write_some(asio::buffer("x", 1),
                     asio::bind_cancellation_slot(cancel.slot(), [&](std::error_code e, std::size_t) { ec = e; }));
  io.poll();
  cancel.emit(asio::cancellation_type::terminal);
  io.run_for(std::chrono::seconds(5));
  EXPECT_EQ(ec, asio::error::operation_aborted);
  EXPECT_EQ(a.bytes_written(), 0u);
}

TEST(MemoryStream, CarriesTls) {
  auto leaf = test::make_cert({"mx", {"mx.example.net"}}, nullptr);
  asio::ssl::context server_ctx(test::make_server_context(leaf).release());
  asio::ssl::context client_ctx(asio::ssl::context::tls_client);
  asio::io_context io;
  auto ends = make_memory_pair(io.get_executor());
  auto& a = ends.client;
  auto& b = ends.server;
  a.faults().max_read = 7;  // TLS records arrive in pieces
  b.faults().max_write = 5;
  asio::ssl::stream<MemoryStream&> client(a, client_ctx);
  asio::ssl::stream<MemoryStream&> server(b, server_ctx);
  std::string got(5, '\0');
  run(io, {[&]() -> awaitable<void> {
             co_await client.async_handshake(asio::ssl::stream_base::client, use_awaitable);
             co_await asio::async_write(client, asio::buffer(std::string("hello")), use_awaitable);
           },
           [&]() -> awaitable<void> {
             co_await server.async_handshake(asio::ssl::stream_base::server, use_awaitable);
             co_await asio::async_read(server, asio::buffer(got), use_awaitable);
           }});
  EXPECT_EQ(got, "hello");
  EXPECT_GT(a.bytes_written(), 5u);  // records, not plaintext
}

}  // namespace
}  // namespace mxsec::smtp

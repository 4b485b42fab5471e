// smtp/session/connection.hpp: one SMTP connection's byte stream, for both
// roles: the STARTTLS probe and the delivery client read replies, the server
// reads command lines. Everything between the socket and the SMTP state
// machine lives here; the state machines stay in their own modules.
//
// Contract
// - Transport: a Connection owns one byte stream, plain TCP or an in-memory
//   MemoryStream (tests), and may upgrade it in place to TLS (STARTTLS, RFC
//   3207) as client or server. After the upgrade every read and write goes
//   through TLS on the same connection; there is no way back to plaintext.
// - Reading: one receive buffer feeds both readers. read_line() (server side)
//   splits lines with LineParser under `max_line_bytes`; read_reply() (client
//   side) parses replies with smtp::ReplyParser under `reply_limits`. A read
//   asks the transport for at most `read_chunk_bytes` and only when no
//   complete line or reply is buffered, so the buffer never holds more than
//   the limit plus one chunk, whatever the peer sends.
//   After an overlong line (Errc::limit) the next read_line() first skips the
//   rest of that line, up to and including its LF, so a server can answer
//   500 (RFC 5321 §4.5.3.1.4) and go on.
// - Writing: queue() appends to an output buffer, flush() writes all of it in
//   one write. pipeline() is RFC 2920 on the client side: the commands of one
//   group go out in one write, then their replies are read in order. The
//   caller forms groups (§3.1: the last command of a group is the one that
//   may change the session, e.g. DATA, EHLO, STARTTLS, QUIT); a command line
//   passed to command()/pipeline() must not contain CR or LF (no smuggling of
//   a second command) and gets CRLF appended.
// - Deadlines: every step (connect, read, write, TLS handshake) has its own
//   timeout from timeouts(), read when the step starts, and no step may run
//   past the session deadline (created + timeouts.session). On expiry the
//   transport is closed, the step ends with Errc::timeout, its message names
//   the step, and timed_out() says which step it was. The connection is
//   unusable afterwards.
// - STARTTLS: start_tls() discards every plaintext octet received and not yet
//   consumed, and reports how many. RFC 3207 §5 (client): the server's 220
//   may be followed by injected replies; §4.2 (server): "the server MUST
//   discard any knowledge obtained from the client" and commands pipelined
//   after STARTTLS (`STARTTLS\r\nRSET\r\n`) were never protected by TLS. The
//   caller must also forget EHLO/MAIL/RCPT state: that is protocol state and
//   not held here. Output still queued at start_tls() is a caller bug
//   (Errc::invalid_argument). After start_tls(), ssl() may be configured (SNI,
//   DANE, verify time) before handshake().
// - Cancellation: every step honours Asio per-operation cancellation through
//   the awaiting coroutine's cancellation state (co_spawn with a bound
//   cancellation slot, or awaitable_operators `||`). A cancelled step ends
//   promptly with Errc::cancelled. Bytes already received stay buffered; after
//   a cancelled write or TLS step the stream state is unspecified, so only
//   close() is sensible. Note Asio's default for coroutines: once cancelled,
//   the next co_await of an awaitable in the cancelled coroutine throws
//   (asio::this_coro::throw_if_cancelled).
// - Errors: Errc::timeout, Errc::cancelled, Errc::limit (line or reply too
//   long, too many reply lines), Errc::parse (not SMTP), Errc::io (peer
//   closed: eof() is then true; or a socket or TLS error), Errc::crypto
//   (SSL_new failed), Errc::invalid_argument (misuse).
// - Counters: bytes_read/bytes_written are application octets (after TLS
//   decryption, before encryption), for logs and metrics.
// - Concurrency: one step at a time, except that one read and one write may
//   overlap; all on one executor (single-threaded io_context or a strand).
//   A Connection is a movable handle; the deadline timer holds only a weak
//   reference, so a late timer never touches a closed connection.
#pragma once

#include <openssl/ssl.h>

#include <asio/awaitable.hpp>
#include <asio/ip/tcp.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"
#include "smtp/proto/reply.hpp"
#include "smtp/session/line.hpp"
#include "smtp/session/memory_stream.hpp"

namespace mxsec::smtp {

enum class TlsRole { client, server };

// The steps that have a deadline.
enum class Step { connect, read, write, handshake };
const char* to_string(Step s);

struct SessionTimeouts {
  std::chrono::milliseconds connect = limits::kSmtpConnectTimeout;
  std::chrono::milliseconds read = limits::kSmtpCommandTimeout;   // one line or one reply
  std::chrono::milliseconds write = limits::kSmtpCommandTimeout;  // one flush
  std::chrono::milliseconds handshake = limits::kTlsHandshakeTimeout;
  std::chrono::milliseconds session = limits::kSmtpSessionTimeout;  // whole connection
};

struct SessionConfig {
  SessionTimeouts timeouts;
  std::size_t max_line_bytes = limits::kSmtpLineBytes;
  ReplyLimits reply_limits;
  std::size_t read_chunk_bytes = limits::kSmtpReadChunkBytes;
};

struct SessionCounters {
  std::size_t bytes_read = 0;
  std::size_t bytes_written = 0;
  std::size_t plaintext_discarded = 0;  // at STARTTLS (RFC 3207 §4.2, §5)
};

struct TlsUpgrade {
  std::size_t plaintext_discarded = 0;
};

class Connection {
 public:
  // Connects to `endpoint` (timeouts.connect); the session deadline starts now.
  static asio::awaitable<Result<Connection>> connect(asio::ip::tcp::endpoint endpoint, SessionConfig config);
  // Takes a connected socket (an accepted one, for the server).
  static Connection over_tcp(asio::ip::tcp::socket socket, SessionConfig config);
  static Connection over_memory(MemoryStream stream, SessionConfig config);

  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;
  ~Connection();  // closes

  // --- reading ---------------------------------------------------------------
  asio::awaitable<Result<Line>> read_line();
  asio::awaitable<Result<Reply>> read_reply();
  // Raw octets (DATA and BDAT text): the received octets not consumed yet,
  // reading once (read deadline) when none are buffered. The view is valid
  // until the next call on the connection; consume() takes `n` octets off
  // the front. Must not be mixed with a read_line() that is still
  // mid-line (it never is after read_line() returned a line).
  asio::awaitable<Result<std::string_view>> read_some();
  // The line limit of read_line() from the next line on (the server raises
  // it for an AUTH exchange and puts it back after).
  void set_max_line_bytes(std::size_t max);
  std::size_t max_line_bytes() const;
  void consume(std::size_t n);

  // --- writing ---------------------------------------------------------------
  void queue(std::string_view bytes);
  std::size_t queued() const;
  asio::awaitable<Result<void>> flush();
  asio::awaitable<Result<void>> send(std::string bytes);  // queue + flush
  // Sends `line` + CRLF and reads its reply.
  asio::awaitable<Result<Reply>> command(std::string line);
  // RFC 2920: all of `lines` (each + CRLF) in one write, then one reply per
  // line, in order. Stops at the first read error. (XXX g++ 12 rejects a
  // braced list written inside the co_await expression: build the vector
  // first.)
  asio::awaitable<Result<std::vector<Reply>>> pipeline(std::vector<std::string> lines);

  // --- TLS (STARTTLS) ---------------------------------------------------------
  // Discards buffered plaintext and puts a new SSL (from `ctx`) in front of
  // the stream; ssl() may then be configured before handshake().
  Result<TlsUpgrade> start_tls(SSL_CTX* ctx, TlsRole role);
  asio::awaitable<Result<void>> handshake();
  // start_tls() + handshake().
  asio::awaitable<Result<TlsUpgrade>> upgrade_tls(SSL_CTX* ctx, TlsRole role);
  bool tls_started() const;
  SSL* ssl() const;  // nullptr before start_tls(); owned by the connection

  // --- state ------------------------------------------------------------------
  SessionTimeouts& timeouts();  // may be changed between steps; `session` counts from creation
  std::size_t buffered() const;  // received octets not consumed yet
  SessionCounters counters() const;
  std::optional<Step> timed_out() const;
  bool eof() const;  // the peer closed its side
  bool is_open() const;
  void close();

 private:
  struct Impl;
  explicit Connection(std::shared_ptr<Impl> impl);
  std::shared_ptr<Impl> impl_;
};

}  // namespace mxsec::smtp

#include "smtp/session/connection.hpp"

#include <asio/cancellation_state.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <algorithm>
#include <type_traits>

#include "tls/handles.hpp"

namespace mxsec::smtp {

const char* to_string(Step s) {
  switch (s) {
    case Step::connect: return "connect";
    case Step::read: return "read";
    case Step::write: return "write";
    case Step::handshake: return "tls-handshake";
  }
  return "unknown";
}

namespace {

using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// The byte stream under a Connection, with an optional TLS layer in front.
// Virtual so that Connection is one type whatever carries its bytes; each
// call is one Asio operation initiated with use_awaitable, so the awaiting
// coroutine's cancellation slot reaches the socket (or the memory stream)
// through asio::ssl::stream as well.
class Transport {
 public:
  virtual ~Transport() = default;
  virtual asio::any_io_executor executor() = 0;
  virtual asio::awaitable<void> connect(tcp::endpoint endpoint, std::error_code& ec) = 0;
  virtual asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, std::error_code& ec) = 0;
  virtual asio::awaitable<void> write(asio::const_buffer buffer, std::error_code& ec) = 0;
  virtual void start_tls(tls::SslPtr ssl) = 0;
  virtual asio::awaitable<void> handshake(TlsRole role, std::error_code& ec) = 0;
  virtual SSL* ssl() = 0;
  virtual bool is_open() = 0;
  virtual void close() = 0;
};

void close_stream(tcp::socket& s) {
  std::error_code ignored;
  s.close(ignored);
}
void close_stream(MemoryStream& s) { s.close(); }

template <class Stream>
class StreamTransport final : public Transport {
 public:
  explicit StreamTransport(Stream stream) : next_(std::move(stream)) {}

  asio::any_io_executor executor() override { return next_.get_executor(); }

  asio::awaitable<void> connect(tcp::endpoint endpoint, std::error_code& ec) override {
    if constexpr (std::is_same_v<Stream, tcp::socket>)
      co_await next_.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
    else
      ec = asio::error::operation_not_supported;
    co_return;
  }

  asio::awaitable<std::size_t> read_some(asio::mutable_buffer buffer, std::error_code& ec) override {
    if (tls_) co_return co_await tls_->async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
    co_return co_await next_.async_read_some(buffer, asio::redirect_error(asio::use_awaitable, ec));
  }

  asio::awaitable<void> write(asio::const_buffer buffer, std::error_code& ec) override {
    if (tls_)
      co_await asio::async_write(*tls_, buffer, asio::redirect_error(asio::use_awaitable, ec));
    else
      co_await asio::async_write(next_, buffer, asio::redirect_error(asio::use_awaitable, ec));
  }

  // asio::ssl::stream takes ownership of the SSL.
  void start_tls(tls::SslPtr ssl) override { tls_.emplace(next_, ssl.release()); }

  asio::awaitable<void> handshake(TlsRole role, std::error_code& ec) override {
    co_await tls_->async_handshake(
        role == TlsRole::client ? asio::ssl::stream_base::client : asio::ssl::stream_base::server,
        asio::redirect_error(asio::use_awaitable, ec));
  }

  SSL* ssl() override { return tls_ ? tls_->native_handle() : nullptr; }
  bool is_open() override { return next_.is_open(); }
  void close() override { close_stream(next_); }

 private:
  Stream next_;
  std::optional<asio::ssl::stream<Stream&>> tls_;  // declared after next_: destroyed first
};

bool is_cancelled(const asio::cancellation_state& cs) { return cs.cancelled() != asio::cancellation_type::none; }

// A command line must be one line: CR or LF would smuggle a second command.
bool is_one_line(std::string_view s) { return s.find_first_of("\r\n") == std::string_view::npos; }

// Far enough for any session, near enough that now + timeout cannot overflow.
constexpr Ms kLongestTimeout = std::chrono::hours(24 * 366);

}  // namespace

struct Connection::Impl : std::enable_shared_from_this<Impl> {
  Impl(std::unique_ptr<Transport> t, const SessionConfig& c)
      : transport(std::move(t)),
        config(c),
        timer(transport->executor()),
        session_deadline(SteadyClock::now() + std::min(c.timeouts.session, kLongestTimeout)),
        read_buffer(std::max<std::size_t>(c.read_chunk_bytes, 1)),
        line_parser(c.max_line_bytes),
        reply_parser(c.reply_limits) {}

  std::unique_ptr<Transport> transport;
  SessionConfig config;
  asio::steady_timer timer;
  SteadyClock::time_point session_deadline;
  unsigned generation = 0;
  std::optional<Step> timed_out;
  bool timed_out_by_session = false;
  Ms armed_timeout{0};
  bool armed_by_session = false;
  bool closed = false;
  bool eof = false;
  bool tls_started = false;
  TlsRole role = TlsRole::client;
  std::string in;   // received, not consumed
  std::string out;  // queued, not written
  std::vector<char> read_buffer;
  LineParser line_parser;
  ReplyParser reply_parser;
  bool skip_to_lf = false;  // the rest of an overlong line is still coming
  SessionCounters counters;

  // Everything the deadline handler may touch is reached through a weak_ptr
  // and checked against the generation, so a timer that fires after its
  // step ended (or after the connection is gone) does nothing.
  void arm(Step step, Ms timeout) {
    const auto now = SteadyClock::now();
    timeout = std::clamp(timeout, Ms(0), kLongestTimeout);
    armed_timeout = timeout;
    armed_by_session = session_deadline - now <= timeout;
    timer.expires_at(armed_by_session ? session_deadline : now + timeout);
    const unsigned gen = ++generation;
    const bool by_session = armed_by_session;
    timer.async_wait([weak = weak_from_this(), gen, step, by_session](const std::error_code& ec) {
      if (ec) return;
      auto live = weak.lock();
      if (!live || live->generation != gen) return;
      live->timed_out = step;
      live->timed_out_by_session = by_session;
      live->transport->close();
    });
  }

  void disarm() {
    ++generation;
    timer.cancel();
  }

  void close() {
    closed = true;
    transport->close();
    disarm();
  }

  Error error(Step step, const std::error_code& ec, bool cancelled) const {
    const std::string what = to_string(step);
    if (timed_out) {
      return make_error(Errc::timeout,
                        std::string(to_string(*timed_out)) + ": " +
                            (timed_out_by_session ? std::string("session deadline reached")
                                                  : "no progress within " + std::to_string(armed_timeout.count()) +
                                                        " ms"));
    }
    if (cancelled || (ec == asio::error::operation_aborted && !closed))
      return make_error(Errc::cancelled, what + ": cancelled");
    if (closed) return make_error(Errc::io, what + ": connection closed locally");
    if (ec == asio::error::eof) return make_error(Errc::io, what + ": connection closed by the peer");
    if (ec == asio::ssl::error::stream_truncated)
      return make_error(Errc::io, what + ": connection closed by the peer without TLS close_notify");
    return make_error(Errc::io, what + ": " + ec.message());
  }

  Error cancelled_error(Step step) const { return make_error(Errc::cancelled, std::string(to_string(step)) + ": cancelled"); }

  // One read from the transport into `in`. The caller has checked for
  // cancellation: Asio throws on co_await of an awaitable once the coroutine
  // is cancelled, and a step must end with a Result instead.
  asio::awaitable<Result<void>> fill(const asio::cancellation_state& cs) {
    if (timed_out || closed) co_return error(Step::read, asio::error::operation_aborted, false);
    std::error_code ec;
    const std::size_t n = co_await transport->read_some(asio::buffer(read_buffer), ec);
    if (ec) {
      if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) eof = true;
      co_return error(Step::read, ec, is_cancelled(cs));
    }
    counters.bytes_read += n;
    in.append(read_buffer.data(), n);
    co_return Result<void>{};
  }

  // The read loop of read_line() and read_reply(): takes the next item from
  // what is buffered and, only when nothing complete is buffered, reads one
  // more chunk under the read deadline. `take_buffered` returns the item or
  // its error, or nullopt when it needs more input. A step cancelled before
  // a chunk is asked for ends with Errc::cancelled; a failed read (timeout,
  // cancellation, eof, I/O error) ends it with fill()'s error.
  template <class T, class TakeBuffered>
  asio::awaitable<Result<T>> read_until_complete(TakeBuffered take_buffered) {
    auto self = shared_from_this();
    auto cs = co_await asio::this_coro::cancellation_state;
    arm(Step::read, config.timeouts.read);
    for (;;) {
      if (std::optional<Result<T>> taken = take_buffered()) {
        disarm();
        co_return std::move(*taken);
      }
      if (is_cancelled(cs)) {
        disarm();
        co_return cancelled_error(Step::read);
      }
      auto got = co_await fill(cs);
      if (!got) {
        disarm();
        co_return got.error();
      }
    }
  }

  // The next command line in `in`, or the error of an overlong one (whose
  // rest is then skipped up to its LF); nullopt while no line is complete.
  std::optional<Result<Line>> take_buffered_line() {
    if (line_parser.state() == LineParser::State::failed) line_parser.reset();
    if (skip_to_lf) {
      const std::size_t lf = in.find('\n');
      in.erase(0, lf == std::string::npos ? in.size() : lf + 1);
      skip_to_lf = lf == std::string::npos;
    }
    if (skip_to_lf || in.empty()) return std::nullopt;
    const std::size_t used = line_parser.push(in);
    const bool line_ended = used > 0 && in[used - 1] == '\n';
    in.erase(0, used);
    if (line_parser.state() == LineParser::State::done) return line_parser.take();
    if (line_parser.state() == LineParser::State::failed) {
      skip_to_lf = !line_ended;
      Error e = line_parser.error();
      line_parser.reset();
      return e;
    }
    return std::nullopt;
  }

  // The next reply in `in`, or its error; nullopt while no reply is
  // complete. A parser that failed in the previous step starts afresh.
  std::optional<Result<Reply>> take_buffered_reply() {
    if (reply_parser.state() == ReplyParser::State::failed) reply_parser.reset();
    if (in.empty()) return std::nullopt;
    in.erase(0, reply_parser.push(in));
    if (reply_parser.state() == ReplyParser::State::done) return reply_parser.take();
    if (reply_parser.state() == ReplyParser::State::failed) return reply_parser.error();
    return std::nullopt;
  }

  // Plain functions, not coroutines around a co_await: in a coroutine that
  // is already cancelled a nested co_await throws (throw_if_cancelled)
  // instead of ending the step with Errc::cancelled.
  asio::awaitable<Result<Line>> read_line() {
    return read_until_complete<Line>([this] { return take_buffered_line(); });
  }

  asio::awaitable<Result<Reply>> read_reply() {
    return read_until_complete<Reply>([this] { return take_buffered_reply(); });
  }

  asio::awaitable<Result<std::string_view>> read_some() {
    auto self = shared_from_this();
    auto cs = co_await asio::this_coro::cancellation_state;
    if (in.empty()) {
      if (is_cancelled(cs)) co_return cancelled_error(Step::read);
      arm(Step::read, config.timeouts.read);
      auto got = co_await fill(cs);
      disarm();
      if (!got) co_return got.error();
    }
    co_return std::string_view(in);
  }

  asio::awaitable<Result<void>> flush() {
    auto self = shared_from_this();
    auto cs = co_await asio::this_coro::cancellation_state;
    if (out.empty()) co_return Result<void>{};
    if (is_cancelled(cs)) co_return cancelled_error(Step::write);
    if (timed_out || closed) co_return error(Step::write, asio::error::operation_aborted, false);
    const std::string data = std::move(out);
    out.clear();
    arm(Step::write, config.timeouts.write);
    std::error_code ec;
    co_await transport->write(asio::buffer(data), ec);
    disarm();
    if (ec) co_return error(Step::write, ec, is_cancelled(cs));
    counters.bytes_written += data.size();
    co_return Result<void>{};
  }

  asio::awaitable<Result<void>> send(std::string bytes) {
    auto self = shared_from_this();
    auto cs = co_await asio::this_coro::cancellation_state;
    out += bytes;
    if (is_cancelled(cs)) co_return cancelled_error(Step::write);
    co_return co_await flush();
  }

  asio::awaitable<Result<std::vector<Reply>>> pipeline(std::vector<std::string> lines) {
    auto self = shared_from_this();
    auto cs = co_await asio::this_coro::cancellation_state;
    for (const auto& l : lines)
      if (!is_one_line(l)) co_return make_error(Errc::invalid_argument, "a command line must not contain CR or LF");
    for (const auto& l : lines) {
      out += l;
      out += "\r\n";
    }
    if (is_cancelled(cs)) co_return cancelled_error(Step::write);
    auto sent = co_await flush();
    if (!sent) co_return sent.error();
    std::vector<Reply> replies;
    replies.reserve(lines.size());
    while (replies.size() < lines.size()) {
      if (is_cancelled(cs)) co_return cancelled_error(Step::read);
      auto reply = co_await read_reply();
      if (!reply) co_return reply.error();
      replies.push_back(std::move(*reply));
    }
    co_return replies;
  }

  Result<TlsUpgrade> start_tls(SSL_CTX* ctx, TlsRole r) {
    if (tls_started) return make_error(Errc::invalid_argument, "TLS already started on this connection");
    if (!out.empty()) return make_error(Errc::invalid_argument, "output still queued at STARTTLS");
    if (!ctx) return make_error(Errc::invalid_argument, "no TLS context");
    tls::SslPtr ssl(SSL_new(ctx));
    if (!ssl) return make_error(Errc::crypto, "SSL_new: " + tls::openssl_error_text());
    // RFC 3207 §4.2 / §5: nothing received in plaintext survives the upgrade.
    const std::size_t discarded = in.size() + line_parser.buffered() + reply_parser.buffered();
    in.clear();
    line_parser.reset();
    reply_parser.reset();
    skip_to_lf = false;
    counters.plaintext_discarded += discarded;
    transport->start_tls(std::move(ssl));
    tls_started = true;
    role = r;
    return TlsUpgrade{discarded};
  }

  asio::awaitable<Result<void>> handshake() {
    auto self = shared_from_this();
    auto cs = co_await asio::this_coro::cancellation_state;
    if (!tls_started) co_return make_error(Errc::invalid_argument, "handshake before start_tls");
    if (is_cancelled(cs)) co_return cancelled_error(Step::handshake);
    if (timed_out || closed) co_return error(Step::handshake, asio::error::operation_aborted, false);
    arm(Step::handshake, config.timeouts.handshake);
    std::error_code ec;
    co_await transport->handshake(role, ec);
    disarm();
    tls::openssl_error_text();  // Asio copied what it needed into `ec`
    if (ec) co_return error(Step::handshake, ec, is_cancelled(cs));
    co_return Result<void>{};
  }

  asio::awaitable<Result<TlsUpgrade>> upgrade_tls(SSL_CTX* ctx, TlsRole r) {
    auto self = shared_from_this();
    auto cs = co_await asio::this_coro::cancellation_state;
    auto started = start_tls(ctx, r);
    if (!started) co_return started.error();
    if (is_cancelled(cs)) co_return cancelled_error(Step::handshake);
    auto shaken = co_await handshake();
    if (!shaken) co_return shaken.error();
    co_return *started;
  }
};

Connection::Connection(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&& other) noexcept {
  if (this != &other) {
    if (impl_) impl_->close();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
Connection::~Connection() {
  if (impl_) impl_->close();
}

asio::awaitable<Result<Connection>> Connection::connect(tcp::endpoint endpoint, SessionConfig config) {
  auto ex = co_await asio::this_coro::executor;
  auto cs = co_await asio::this_coro::cancellation_state;
  auto impl = std::make_shared<Impl>(std::make_unique<StreamTransport<tcp::socket>>(tcp::socket(ex)), config);
  if (is_cancelled(cs)) co_return impl->cancelled_error(Step::connect);
  impl->arm(Step::connect, config.timeouts.connect);
  std::error_code ec;
  co_await impl->transport->connect(endpoint, ec);
  impl->disarm();
  if (ec) {
    Error e = impl->error(Step::connect, ec, is_cancelled(cs));
    impl->close();
    co_return e;
  }
  co_return Connection(std::move(impl));
}

Connection Connection::over_tcp(tcp::socket socket, SessionConfig config) {
  return Connection(std::make_shared<Impl>(std::make_unique<StreamTransport<tcp::socket>>(std::move(socket)), config));
}

Connection Connection::over_memory(MemoryStream stream, SessionConfig config) {
  return Connection(
      std::make_shared<Impl>(std::make_unique<StreamTransport<MemoryStream>>(std::move(stream)), config));
}

asio::awaitable<Result<Line>> Connection::read_line() { return impl_->read_line(); }
asio::awaitable<Result<Reply>> Connection::read_reply() { return impl_->read_reply(); }
asio::awaitable<Result<std::string_view>> Connection::read_some() { return impl_->read_some(); }
void Connection::set_max_line_bytes(std::size_t max) { impl_->line_parser.set_max_line_bytes(max); }
std::size_t Connection::max_line_bytes() const { return impl_->line_parser.max_line_bytes(); }
void Connection::consume(std::size_t n) { impl_->in.erase(0, std::min(n, impl_->in.size())); }
void Connection::queue(std::string_view bytes) { impl_->out.append(bytes); }
std::size_t Connection::queued() const { return impl_->out.size(); }
asio::awaitable<Result<void>> Connection::flush() { return impl_->flush(); }
asio::awaitable<Result<void>> Connection::send(std::string bytes) { return impl_->send(std::move(bytes)); }

asio::awaitable<Result<Reply>> Connection::command(std::string line) {
  // XXX g++ 12 rejects an initializer list inside a co_await expression
  // ("array used as initializer"), so the vector is built first.
  std::vector<std::string> lines;
  lines.push_back(std::move(line));
  auto replies = co_await impl_->pipeline(std::move(lines));
  if (!replies) co_return replies.error();
  co_return std::move(replies->front());
}

asio::awaitable<Result<std::vector<Reply>>> Connection::pipeline(std::vector<std::string> lines) {
  return impl_->pipeline(std::move(lines));
}

Result<TlsUpgrade> Connection::start_tls(SSL_CTX* ctx, TlsRole role) { return impl_->start_tls(ctx, role); }
asio::awaitable<Result<void>> Connection::handshake() { return impl_->handshake(); }
asio::awaitable<Result<TlsUpgrade>> Connection::upgrade_tls(SSL_CTX* ctx, TlsRole role) {
  return impl_->upgrade_tls(ctx, role);
}
bool Connection::tls_started() const { return impl_->tls_started; }
SSL* Connection::ssl() const { return impl_->transport->ssl(); }
SessionTimeouts& Connection::timeouts() { return impl_->config.timeouts; }
std::size_t Connection::buffered() const { return impl_->in.size(); }
SessionCounters Connection::counters() const { return impl_->counters; }
std::optional<Step> Connection::timed_out() const { return impl_->timed_out; }
bool Connection::eof() const { return impl_->eof; }
bool Connection::is_open() const { return impl_ && !impl_->closed && impl_->transport->is_open(); }
void Connection::close() {
  if (impl_) impl_->close();
}

}  // namespace mxsec::smtp

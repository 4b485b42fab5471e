#include "smtp/client/probe.hpp"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>
#include <algorithm>
#include <cstring>
#include <memory>

#include "core/strings.hpp"

namespace mxsec::smtp {

const char* to_string(ProbeStage s) {
  switch (s) {
    case ProbeStage::connect: return "connect";
    case ProbeStage::greeting: return "greeting";
    case ProbeStage::ehlo: return "ehlo";
    case ProbeStage::starttls: return "starttls";
    case ProbeStage::handshake: return "tls-handshake";
    case ProbeStage::ehlo_tls: return "ehlo-after-tls";
    case ProbeStage::quit: return "quit";
  }
  return "unknown";
}

namespace {

using tcp = asio::ip::tcp;
using SteadyClock = std::chrono::steady_clock;
using Ms = std::chrono::milliseconds;

// Everything the deadline handler may touch lives here, owned by a
// shared_ptr; the handler holds only a weak_ptr and a generation number, so
// a timer that fires after its operation finished (or after the session
// ended) does nothing.
struct Session {
  Session(const asio::any_io_executor& ex, tls::SslCtxPtr ctx)
      : ssl_context(ctx.release()), stream(ex, ssl_context), timer(ex) {}

  asio::ssl::context ssl_context;  // before `stream`, which refers to it
  asio::ssl::stream<tcp::socket> stream;
  asio::steady_timer timer;
  SteadyClock::time_point overall;
  unsigned generation = 0;
  bool timed_out = false;
  Ms last_timeout{0};
  std::string pending;  // received, not yet parsed
  std::size_t bytes_read = 0;
};

void arm(const std::shared_ptr<Session>& s, Ms timeout) {
  s->last_timeout = timeout;
  s->timer.expires_at(std::min(SteadyClock::now() + timeout, s->overall));
  const unsigned gen = ++s->generation;
  std::weak_ptr<Session> weak = s;
  s->timer.async_wait([weak, gen](const std::error_code& ec) {
    if (ec) return;
    auto live = weak.lock();
    if (!live || live->generation != gen) return;
    live->timed_out = true;
    std::error_code ignored;
    live->stream.lowest_layer().close(ignored);
  });
}

void disarm(Session& s) {
  ++s.generation;
  s.timer.cancel();
}

Error io_error(const Session& s, const std::error_code& ec, const char* what) {
  if (s.timed_out)
    return make_error(Errc::timeout, std::string(what) + ": no progress before the deadline");
  if (ec == asio::error::eof) return make_error(Errc::io, std::string(what) + ": connection closed by the server");
  return make_error(Errc::io, std::string(what) + ": " + ec.message());
}

asio::awaitable<Result<Reply>> read_reply(std::shared_ptr<Session> s, bool over_tls, ReplyLimits limits,
                                          Ms timeout) {
  ReplyParser parser(limits);
  char buf[4096];
  arm(s, timeout);
  for (;;) {
    if (!s->pending.empty()) {
      const std::size_t used = parser.push(s->pending);
      s->pending.erase(0, used);
      if (parser.state() == ReplyParser::State::done) {
        disarm(*s);
        co_return parser.take();
      }
      if (parser.state() == ReplyParser::State::failed) {
        disarm(*s);
        co_return parser.error();
      }
    }
    std::error_code ec;
    std::size_t n = 0;
    if (over_tls)
      n = co_await s->stream.async_read_some(asio::buffer(buf), asio::redirect_error(asio::use_awaitable, ec));
    else
      n = co_await s->stream.next_layer().async_read_some(asio::buffer(buf),
                                                          asio::redirect_error(asio::use_awaitable, ec));
    if (ec) {
      disarm(*s);
      co_return io_error(*s, ec, "reading the reply");
    }
    s->bytes_read += n;
    s->pending.append(buf, n);
  }
}

asio::awaitable<Result<void>> send(std::shared_ptr<Session> s, bool over_tls, std::string command, Ms timeout) {
  std::error_code ec;
  arm(s, timeout);
  if (over_tls)
    co_await asio::async_write(s->stream, asio::buffer(command), asio::redirect_error(asio::use_awaitable, ec));
  else
    co_await asio::async_write(s->stream.next_layer(), asio::buffer(command),
                               asio::redirect_error(asio::use_awaitable, ec));
  disarm(*s);
  if (ec) co_return io_error(*s, ec, "sending the command");
  co_return Result<void>{};
}

// Sends `command` and reads its reply.
asio::awaitable<Result<Reply>> exchange(std::shared_ptr<Session> s, bool over_tls, std::string command,
                                        const ProbeRequest& req) {
  auto sent = co_await send(s, over_tls, std::move(command), req.timeouts.command);
  if (!sent) co_return sent.error();
  co_return co_await read_reply(s, over_tls, req.reply_limits, req.timeouts.command);
}

asio::ip::address to_asio(const IpAddress& a) {
  if (a.is_v4()) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), a.bytes(), b.size());
    return asio::ip::address_v4(b);
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), a.bytes(), b.size());
  return asio::ip::address_v6(b);
}

// A name we put on the wire must not smuggle a second command (CR, LF) or
// split the argument (SP).
bool is_wire_safe(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126; });
}

}  // namespace

asio::awaitable<ProbeResult> probe(ProbeRequest req) {
  ProbeResult r;
  auto fail = [&r](ProbeStage stage, Error e) {
    if (!r.failure) r.failure = ProbeFailure{stage, std::move(e)};
  };
  if (!is_wire_safe(req.ehlo_name) || !is_wire_safe(req.mx_host)) {
    fail(ProbeStage::connect, make_error(Errc::invalid_argument, "EHLO name and MX host must be printable, no spaces"));
    co_return r;
  }
  auto ctx = tls::make_client_context(req.tls);
  if (!ctx) {
    fail(ProbeStage::connect, ctx.error());
    co_return r;
  }
  auto ex = co_await asio::this_coro::executor;
  auto s = std::make_shared<Session>(ex, std::move(*ctx));
  s->overall = SteadyClock::now() + req.timeouts.total;

  auto finish = [&r, &s]() -> ProbeResult {
    r.bytes_read = s->bytes_read;
    std::error_code ignored;
    s->stream.lowest_layer().close(ignored);
    disarm(*s);
    return std::move(r);
  };

  // QUIT, best effort: its failure is recorded only if nothing failed before.
  auto quit = [&](bool over_tls) -> asio::awaitable<void> {
    auto reply = co_await exchange(s, over_tls, "QUIT\r\n", req);
    if (reply)
      r.quit_reply = std::move(*reply);
    else
      fail(ProbeStage::quit, reply.error());
  };

  // --- connect ------------------------------------------------------------
  {
    std::error_code ec;
    arm(s, req.timeouts.connect);
    co_await s->stream.next_layer().async_connect(tcp::endpoint(to_asio(req.address), req.port),
                                                  asio::redirect_error(asio::use_awaitable, ec));
    disarm(*s);
    if (ec) {
      fail(ProbeStage::connect, io_error(*s, ec, "connecting"));
      co_return finish();
    }
    r.connected = true;
  }

  // --- greeting (RFC 5321 §4.3.1: 220 or 554) ---------------------------------
  auto banner = co_await read_reply(s, false, req.reply_limits, req.timeouts.greeting);
  if (!banner) {
    fail(ProbeStage::greeting, banner.error());
    co_return finish();
  }
  r.banner = std::move(*banner);
  if (r.banner->code != 220) {
    fail(ProbeStage::greeting, make_error(Errc::unsupported, "server refused the session: " + r.banner->to_log_string()));
    co_await quit(false);
    co_return finish();
  }

  // --- EHLO -------------------------------------------------------------------
  auto ehlo = co_await exchange(s, false, "EHLO " + req.ehlo_name + "\r\n", req);
  if (!ehlo) {
    fail(ProbeStage::ehlo, ehlo.error());
    co_return finish();
  }
  r.ehlo_reply = std::move(*ehlo);
  r.ehlo = parse_ehlo(*r.ehlo_reply);
  if (!r.ehlo->ok) {
    fail(ProbeStage::ehlo, make_error(Errc::unsupported, "EHLO refused: " + r.ehlo_reply->to_log_string()));
    r.tlsrpt_failure = "starttls-not-supported";
    co_await quit(false);
    co_return finish();
  }
  r.starttls_offered = r.ehlo->starttls();
  if (!r.starttls_offered) {
    fail(ProbeStage::ehlo, make_error(Errc::unsupported, "the server does not offer STARTTLS"));
    r.tlsrpt_failure = "starttls-not-supported";
    co_await quit(false);
    co_return finish();
  }

  // --- STARTTLS (RFC 3207) ---------------------------------------------------------
  auto starttls = co_await exchange(s, false, "STARTTLS\r\n", req);
  if (!starttls) {
    fail(ProbeStage::starttls, starttls.error());
    co_return finish();
  }
  r.starttls_reply = std::move(*starttls);
  if (r.starttls_reply->code != 220) {
    fail(ProbeStage::starttls,
         make_error(Errc::unsupported, "STARTTLS refused: " + r.starttls_reply->to_log_string()));
    r.tlsrpt_failure = "starttls-not-supported";
    co_await quit(false);
    co_return finish();
  }
  // RFC 3207 §5: plaintext after the 220 could be an injected reply; drop it.
  r.plaintext_discarded = s->pending.size();
  s->pending.clear();

  SSL* ssl = s->stream.native_handle();
  if (req.verify_time) X509_VERIFY_PARAM_set_time(SSL_get0_param(ssl), static_cast<time_t>(*req.verify_time));
  const bool dane_requested = req.tlsa.has_value();
  bool dane_armed = false;
  if (dane_requested && !req.tlsa->empty()) {
    std::vector<std::string> names{req.mx_host};
    names.insert(names.end(), req.reference_names.begin(), req.reference_names.end());
    auto armed = tls::dane::enable_dane(ssl, *req.tlsa, names);
    if (!armed) {
      fail(ProbeStage::handshake, armed.error());
      r.tlsrpt_failure = "validation-failure";
      co_return finish();
    }
    dane_armed = true;
  } else if (SSL_set_tlsext_host_name(ssl, req.mx_host.c_str()) != 1) {
    fail(ProbeStage::handshake, make_error(Errc::crypto, "cannot set SNI: " + tls::openssl_error_text()));
    co_return finish();
  }

  // --- TLS handshake -----------------------------------------------------------------
  {
    std::error_code ec;
    arm(s, req.timeouts.handshake);
    co_await s->stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(asio::use_awaitable, ec));
    disarm(*s);
    tls::openssl_error_text();  // Asio copied what it needed into `ec`
    if (ec) {
      fail(ProbeStage::handshake, io_error(*s, ec, "TLS handshake"));
      r.tlsrpt_failure = "validation-failure";
      co_return finish();
    }
  }
  r.tls_established = true;
  r.protocol = tls::protocol_name(ssl);
  if (const char* c = SSL_get_cipher_name(ssl)) r.cipher = c;
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  if (auto described = tls::describe_chain(chain)) {
    r.peer_chain = std::move(described->certificates);
    r.chain_truncated = described->truncated;
  }
  r.webpki = tls::check_webpki(SSL_CTX_get_cert_store(SSL_get_SSL_CTX(ssl)), SSL_get0_peer_certificate(ssl), chain,
                               req.mx_host, req.verify_time);
  if (dane_armed) {
    r.dane = tls::dane::dane_outcome(ssl);
    if (r.dane.status != tls::dane::DaneStatus::matched) r.tlsrpt_failure = "validation-failure";
  } else if (dane_requested) {
    // RFC 7672 §2.2: TLSA records exist but none is usable: TLS without
    // authentication; RFC 8460 §4.3.2.1 reports that as "tlsa-invalid".
    r.dane.status = tls::dane::DaneStatus::no_match;
    r.dane.verify_error_text = "no usable TLSA records";
    r.tlsrpt_failure = "tlsa-invalid";
  } else if (const char* type = tls::tlsrpt_result_type(r.webpki->verdict)) {
    r.tlsrpt_failure = type;
  }

  // --- EHLO again over TLS (RFC 3207 §4.2: the server forgets what it knew) --------------
  auto ehlo_tls = co_await exchange(s, true, "EHLO " + req.ehlo_name + "\r\n", req);
  if (!ehlo_tls) {
    fail(ProbeStage::ehlo_tls, ehlo_tls.error());
    co_return finish();
  }
  r.ehlo_tls = parse_ehlo(*ehlo_tls);
  co_await quit(true);
  co_return finish();
}

}  // namespace mxsec::smtp

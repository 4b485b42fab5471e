#include "smtp/client/probe.hpp"

#include <asio/ip/tcp.hpp>
#include <algorithm>
#include <cstring>

#include "smtp/session/connection.hpp"

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
using policy::tlsrpt::ResultType;

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

  SessionConfig config;
  config.timeouts.connect = req.timeouts.connect;
  config.timeouts.read = req.timeouts.command;
  config.timeouts.write = req.timeouts.command;
  config.timeouts.handshake = req.timeouts.handshake;
  config.timeouts.session = req.timeouts.total;
  config.reply_limits = req.reply_limits;

  // --- connect ------------------------------------------------------------
  auto connected = co_await Connection::connect(tcp::endpoint(to_asio(req.address), req.port), config);
  if (!connected) {
    fail(ProbeStage::connect, connected.error());
    co_return r;
  }
  Connection conn = std::move(*connected);
  r.connected = true;

  auto finish = [&r, &conn]() -> ProbeResult {
    r.bytes_read = conn.counters().bytes_read;
    conn.close();
    return std::move(r);
  };

  // QUIT, best effort: its failure is recorded only if nothing failed before.
  auto quit = [&]() -> asio::awaitable<void> {
    auto reply = co_await conn.command("QUIT");
    if (reply)
      r.quit_reply = std::move(*reply);
    else
      fail(ProbeStage::quit, reply.error());
  };

  // --- greeting (RFC 5321 §4.3.1: 220 or 554) ---------------------------------
  conn.timeouts().read = req.timeouts.greeting;
  auto banner = co_await conn.read_reply();
  conn.timeouts().read = req.timeouts.command;
  if (!banner) {
    fail(ProbeStage::greeting, banner.error());
    co_return finish();
  }
  r.banner = std::move(*banner);
  if (r.banner->code != 220) {
    fail(ProbeStage::greeting, make_error(Errc::unsupported, "server refused the session: " + r.banner->to_log_string()));
    co_await quit();
    co_return finish();
  }

  // --- EHLO -------------------------------------------------------------------
  auto ehlo = co_await conn.command("EHLO " + req.ehlo_name);
  if (!ehlo) {
    fail(ProbeStage::ehlo, ehlo.error());
    co_return finish();
  }
  r.ehlo_reply = std::move(*ehlo);
  r.ehlo = parse_ehlo(*r.ehlo_reply);
  if (!r.ehlo->ok) {
    fail(ProbeStage::ehlo, make_error(Errc::unsupported, "EHLO refused: " + r.ehlo_reply->to_log_string()));
    r.tlsrpt_failure = ResultType::starttls_not_supported;
    co_await quit();
    co_return finish();
  }
  r.starttls_offered = r.ehlo->starttls();
  if (!r.starttls_offered) {
    fail(ProbeStage::ehlo, make_error(Errc::unsupported, "the server does not offer STARTTLS"));
    r.tlsrpt_failure = ResultType::starttls_not_supported;
    co_await quit();
    co_return finish();
  }

  // --- STARTTLS (RFC 3207) ---------------------------------------------------------
  auto starttls = co_await conn.command("STARTTLS");
  if (!starttls) {
    fail(ProbeStage::starttls, starttls.error());
    co_return finish();
  }
  r.starttls_reply = std::move(*starttls);
  if (r.starttls_reply->code != 220) {
    fail(ProbeStage::starttls,
         make_error(Errc::unsupported, "STARTTLS refused: " + r.starttls_reply->to_log_string()));
    r.tlsrpt_failure = ResultType::starttls_not_supported;
    co_await quit();
    co_return finish();
  }
  // RFC 3207 §5: plaintext after the 220 could be an injected reply; the
  // session layer drops it and counts it.
  auto started = conn.start_tls(ctx->get(), TlsRole::client);
  if (!started) {
    fail(ProbeStage::handshake, started.error());
    co_return finish();
  }
  r.plaintext_discarded = started->plaintext_discarded;

  SSL* ssl = conn.ssl();
  if (req.verify_time) X509_VERIFY_PARAM_set_time(SSL_get0_param(ssl), static_cast<time_t>(*req.verify_time));
  const bool dane_requested = req.tlsa.has_value();
  bool dane_armed = false;
  // RFC 7672 §8.1: SNI is the TLSA base domain, the first reference name.
  const std::vector<std::string> names =
      req.reference_names.empty() ? std::vector<std::string>{req.mx_host} : req.reference_names;
  if (dane_requested && !req.tlsa->empty()) {
    auto armed = tls::dane::enable_dane(ssl, *req.tlsa, names);
    if (!armed) {
      fail(ProbeStage::handshake, armed.error());
      r.tlsrpt_failure = ResultType::validation_failure;
      co_return finish();
    }
    dane_armed = true;
  } else if (SSL_set_tlsext_host_name(ssl, names.front().c_str()) != 1) {
    fail(ProbeStage::handshake, make_error(Errc::crypto, "cannot set SNI: " + tls::openssl_error_text()));
    co_return finish();
  }

  // --- TLS handshake -----------------------------------------------------------------
  auto handshake = co_await conn.handshake();
  if (!handshake) {
    fail(ProbeStage::handshake, handshake.error());
    r.tlsrpt_failure = ResultType::validation_failure;
    co_return finish();
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
    if (r.dane.status != tls::dane::DaneStatus::matched) r.tlsrpt_failure = ResultType::validation_failure;
  } else if (dane_requested) {
    // RFC 7672 §2.2: TLSA records exist but none is usable: TLS without
    // authentication; RFC 8460 §4.3.2.1 reports that as "tlsa-invalid".
    r.dane.status = tls::dane::DaneStatus::no_match;
    r.dane.verify_error_text = "no usable TLSA records";
    r.tlsrpt_failure = ResultType::tlsa_invalid;
  } else {
    r.tlsrpt_failure = tls::tlsrpt_result_type(r.webpki->verdict);
  }

  // --- EHLO again over TLS (RFC 3207 §4.2: the server forgets what it knew) --------------
  auto ehlo_tls = co_await conn.command("EHLO " + req.ehlo_name);
  if (!ehlo_tls) {
    fail(ProbeStage::ehlo_tls, ehlo_tls.error());
    co_return finish();
  }
  r.ehlo_tls = parse_ehlo(*ehlo_tls);
  co_await quit();
  co_return finish();
}

}  // namespace mxsec::smtp

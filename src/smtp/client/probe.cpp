#include "smtp/client/probe.hpp"

#include <asio/ip/tcp.hpp>

#include "smtp/client/tls_judge.hpp"
#include "smtp/client/transaction.hpp"
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

}  // namespace

asio::awaitable<ProbeResult> probe(ProbeRequest req) {
  ProbeResult r;
  auto fail = [&r](ProbeStage stage, Error e) {
    if (!r.failure) r.failure = ProbeFailure{stage, std::move(e)};
  };
  if (!is_wire_name(req.ehlo_name) || !is_wire_name(req.mx_host)) {
    fail(ProbeStage::connect, make_error(Errc::invalid_argument, "EHLO name and MX host must be printable, no spaces"));
    co_return r;
  }
  auto ctx = tls::make_client_context(req.tls);
  if (!ctx) {
    fail(ProbeStage::connect, ctx.error());
    co_return r;
  }

  const ProbeTimeouts& t = req.timeouts;
  const SessionConfig config = client_session_config(t.connect, t.command, t.handshake, t.total, req.reply_limits);

  // --- connect ------------------------------------------------------------
  auto connected = co_await Connection::connect(endpoint_of(req.address, req.port), config);
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

  // SNI and DANE (smtp/client/tls_judge.hpp). The probe judges by DANE when
  // TLSA records were given (none usable: dane-unusable-tls-required), else
  // by WebPKI, as an MTA-STS client would.
  TlsExpectation expect;
  expect.verdict = !req.tlsa ? policy::Verdict::mta_sts
                   : req.tlsa->empty() ? policy::Verdict::dane_unusable_tls_required
                                       : policy::Verdict::dane;
  expect.mx_host = req.mx_host;
  if (req.tlsa) expect.tlsa = *req.tlsa;
  expect.reference_names = req.reference_names;
  expect.verify_time = req.verify_time;
  SSL* ssl = conn.ssl();
  auto armed = arm_tls(ssl, expect);
  if (!armed) {
    fail(ProbeStage::handshake, armed.error());
    if (expect.verdict == policy::Verdict::dane) r.tlsrpt_failure = ResultType::validation_failure;
    co_return finish();
  }

  // --- TLS handshake -----------------------------------------------------------------
  auto handshake = co_await conn.handshake();
  if (!handshake) {
    fail(ProbeStage::handshake, handshake.error());
    r.tlsrpt_failure = ResultType::validation_failure;
    co_return finish();
  }
  TlsJudgement judged = judge_tls(ssl, expect, *armed);
  r.tls_established = true;
  r.protocol = std::move(judged.protocol);
  r.cipher = std::move(judged.cipher);
  r.peer_chain = std::move(judged.peer_chain);
  r.chain_truncated = judged.chain_truncated;
  r.dane = std::move(judged.dane);
  r.webpki = std::move(judged.webpki);
  r.tlsrpt_failure = judged.tlsrpt_failure;

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

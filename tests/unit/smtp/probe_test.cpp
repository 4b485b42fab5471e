// Tests for smtp/client/probe.cpp: the STARTTLS probe against a scripted
// SMTP server on 127.0.0.1 in the same io_context, with certificates made at
// test time. No timing assertions: deadlines are short and only their
// outcome (Errc::timeout) is checked.
#include "smtp/client/probe.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/redirect_error.hpp>
#include <asio/ssl.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/write.hpp>

#include "tls/certificate.hpp"
#include "tls/dane/tlsa.hpp"
#include "unit/tls/test_pki.hpp"

namespace mxsec::smtp {
namespace {

using tcp = asio::ip::tcp;
using policy::tlsrpt::ResultType;

enum class Mode {
  normal,
  no_starttls,
  starttls_refused,
  ehlo_refused,
  banner_554,
  overlong_banner,
  silent,
  garbage_banner,
  garbage_instead_of_tls,
  inject_after_220,
  silent_after_ehlo,
  endless_multiline,
};

struct Pki {
  test::KeyCert ca = test::make_cert({"Probe CA", {}, true, -10 * 86400, 100 * 86400}, nullptr);
  test::KeyCert leaf = test::make_cert({"mx", {"mx.example.net"}}, &ca);
  test::KeyCert expired = test::make_cert({"mx", {"mx.example.net"}, false, -3 * 86400, -86400}, &ca);
  test::TempFile ca_file{test::to_pem(ca.cert.get())};
};

Pki& pki() {
  static Pki p;
  return p;
}

struct ServerLog {
  std::vector<std::string> commands;
  std::string sni;
};

template <class Stream>
asio::awaitable<std::optional<std::string>> read_line(Stream& s, std::string& buf) {
  for (;;) {
    auto lf = buf.find('\n');
    if (lf != std::string::npos) {
      std::string line = buf.substr(0, lf);
      buf.erase(0, lf + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      co_return line;
    }
    char tmp[512];
    std::error_code ec;
    std::size_t n = co_await s.async_read_some(asio::buffer(tmp), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return std::nullopt;
    buf.append(tmp, n);
  }
}

template <class Stream>
asio::awaitable<void> write(Stream& s, std::string data) {
  std::error_code ec;
  co_await asio::async_write(s, asio::buffer(data), asio::redirect_error(asio::use_awaitable, ec));
}

template <class Stream>
asio::awaitable<void> drain(Stream& s) {
  char tmp[512];
  std::error_code ec;
  while (!ec) co_await s.async_read_some(asio::buffer(tmp), asio::redirect_error(asio::use_awaitable, ec));
}

asio::awaitable<void> serve(std::shared_ptr<tcp::acceptor> acceptor, Mode mode, const test::KeyCert* leaf,
                            bool send_ca, std::shared_ptr<ServerLog> log) {
  std::error_code ec;
  tcp::socket sock = co_await acceptor->async_accept(asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  switch (mode) {
    case Mode::silent: co_await drain(sock); co_return;
    case Mode::overlong_banner:
      co_await write(sock, "220 " + std::string(100000, 'x'));
      co_await drain(sock);
      co_return;
    case Mode::endless_multiline: {
      std::string many;
      for (int i = 0; i < 500; ++i) many += "220-still greeting\r\n";
      co_await write(sock, many);
      co_await drain(sock);
      co_return;
    }
    case Mode::garbage_banner:
      co_await write(sock, std::string("\x16\x03\x01\x00\x05hello\r\n", 12));
      co_await drain(sock);
      co_return;
    case Mode::banner_554: co_await write(sock, "554 5.3.2 no service\r\n"); break;
    default: co_await write(sock, "220 test.example ESMTP\r\n"); break;
  }
  std::string buf;
  for (;;) {
    auto line = co_await read_line(sock, buf);
    if (!line) co_return;
    log->commands.push_back(*line);
    const std::string verb = line->substr(0, 4);
    if (verb == "QUIT") {
      co_await write(sock, "221 2.0.0 bye\r\n");
      co_return;
    }
    if (verb == "EHLO") {
      if (mode == Mode::silent_after_ehlo) {
        co_await drain(sock);
        co_return;
      }
      if (mode == Mode::ehlo_refused) {
        co_await write(sock, "502 5.5.2 no EHLO here\r\n");
        continue;
      }
      co_await write(sock, std::string("250-test.example\r\n250-PIPELINING\r\n") +
                               (mode == Mode::no_starttls ? "" : "250-STARTTLS\r\n") + "250 8BITMIME\r\n");
      continue;
    }
    if (verb == "STAR") {
      if (mode == Mode::starttls_refused) {
        co_await write(sock, "454 4.7.0 TLS not available\r\n");
        continue;
      }
      if (mode == Mode::garbage_instead_of_tls) {
        co_await write(sock, "220 go ahead\r\n");
        co_await write(sock, "this is not a TLS ServerHello at all\r\n");
        co_await drain(sock);
        co_return;
      }
      co_await write(sock, mode == Mode::inject_after_220 ? "220 go ahead\r\n250 injected\r\n" : "220 go ahead\r\n");
      break;
    }
    co_await write(sock, "502 5.5.1 unexpected\r\n");
  }
  std::vector<const test::KeyCert*> extra;
  if (send_ca) extra.push_back(&pki().ca);
  asio::ssl::context ctx(test::make_server_context(*leaf, extra).release());
  asio::ssl::stream<tcp::socket> tls(std::move(sock), ctx);
  co_await tls.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
  if (ec) co_return;
  if (const char* sni = SSL_get_servername(tls.native_handle(), TLSEXT_NAMETYPE_host_name)) log->sni = sni;
  buf.clear();
  for (;;) {
    auto line = co_await read_line(tls, buf);
    if (!line) co_return;
    log->commands.push_back(*line);
    if (line->rfind("QUIT", 0) == 0) {
      co_await write(tls, "221 2.0.0 bye\r\n");
      co_return;
    }
    if (line->rfind("EHLO", 0) == 0) {
      co_await write(tls, "250-test.example\r\n250-PIPELINING\r\n250 SMTPUTF8\r\n");
      continue;
    }
    co_await write(tls, "502 5.5.1 unexpected\r\n");
  }
}

struct Run {
  ProbeResult result;
  std::shared_ptr<ServerLog> log;
};

ProbeRequest base_request() {
  ProbeRequest req;
  req.ehlo_name = "client.example";
  req.mx_host = "mx.example.net";
  req.tls.system_trust = false;
  req.tls.ca_files = {pki().ca_file.path()};
  // Generous for a loaded machine; HostileServers shortens them for the
  // servers that never answer.
  req.timeouts.greeting = std::chrono::milliseconds(5000);
  req.timeouts.command = std::chrono::milliseconds(5000);
  req.timeouts.total = std::chrono::milliseconds(20000);
  return req;
}

Run run(Mode mode, ProbeRequest req, const test::KeyCert* leaf = nullptr, bool send_ca = false) {
  if (!leaf) leaf = &pki().leaf;
  asio::io_context io;
  auto acceptor = std::make_shared<tcp::acceptor>(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  req.address = *IpAddress::parse("127.0.0.1");
  req.port = acceptor->local_endpoint().port();
  auto log = std::make_shared<ServerLog>();
  asio::co_spawn(io, serve(acceptor, mode, leaf, send_ca, log), asio::detached);
  std::optional<ProbeResult> out;
  asio::co_spawn(io, probe(std::move(req)), [&](std::exception_ptr e, ProbeResult r) {
    if (e) std::rethrow_exception(e);
    out = std::move(r);
    io.stop();
  });
  io.run();
  EXPECT_TRUE(out.has_value());
  return Run{out ? std::move(*out) : ProbeResult{}, log};
}

dns::TlsaRecord tlsa(int usage, X509* cert) {
  std::string spki = *tls::spki_der(cert);
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(spki.data()), spki.size(), md);
  return dns::TlsaRecord{static_cast<std::uint8_t>(usage), 1, 1, std::string(reinterpret_cast<char*>(md), 32)};
}

const std::vector<std::string> kFullDialogue = {"EHLO client.example", "STARTTLS", "EHLO client.example", "QUIT"};

TEST(Probe, DaneEeMatch) {
  auto req = base_request();
  req.tlsa = std::vector<dns::TlsaRecord>{tlsa(3, pki().leaf.cert.get())};
  auto [r, log] = run(Mode::normal, req);
  EXPECT_FALSE(r.failure) << r.failure->error.message;
  EXPECT_TRUE(r.connected);
  ASSERT_TRUE(r.banner);
  EXPECT_EQ(r.banner->code, 220);
  EXPECT_TRUE(r.starttls_offered);
  ASSERT_TRUE(r.starttls_reply);
  EXPECT_EQ(r.starttls_reply->code, 220);
  EXPECT_TRUE(r.tls_established);
  EXPECT_FALSE(r.protocol.empty());
  EXPECT_FALSE(r.cipher.empty());
  ASSERT_EQ(r.peer_chain.size(), 1u);
  EXPECT_EQ(r.peer_chain[0].dns_names, std::vector<std::string>{"mx.example.net"});
  EXPECT_EQ(r.dane.status, tls::dane::DaneStatus::matched);
  EXPECT_EQ(r.dane.matched_depth, 0);
  ASSERT_TRUE(r.dane.matched_record);
  EXPECT_EQ(r.dane.matched_record->usage, 3);
  ASSERT_TRUE(r.webpki);
  EXPECT_EQ(r.webpki->verdict, tls::WebPkiVerdict::ok);
  EXPECT_FALSE(r.tlsrpt_failure);
  ASSERT_TRUE(r.ehlo);
  EXPECT_TRUE(r.ehlo->starttls());
  ASSERT_TRUE(r.ehlo_tls);
  EXPECT_TRUE(r.ehlo_tls->smtputf8());
  EXPECT_FALSE(r.ehlo_tls->starttls());
  ASSERT_TRUE(r.quit_reply);
  EXPECT_EQ(r.quit_reply->code, 221);
  EXPECT_EQ(r.plaintext_discarded, 0u);
  // A probe sends only EHLO, STARTTLS and QUIT, with SNI = the MX host.
  EXPECT_EQ(log->commands, kFullDialogue);
  EXPECT_EQ(log->sni, "mx.example.net");
}

// RFC 7672 §8.1 / §2.2.3: with TLSA records found at the CNAME target, SNI
// carries that target (the TLSA base domain, first reference name), not the
// MX host name; DANE-EE still matches on the key.
TEST(Probe, SniIsTheTlsaBaseDomain) {
  auto req = base_request();
  req.tlsa = std::vector<dns::TlsaRecord>{tlsa(3, pki().leaf.cert.get())};
  req.reference_names = {"real.hosting.example", "mx.example.net", "example.net"};
  auto [r, log] = run(Mode::normal, req);
  EXPECT_TRUE(r.tls_established);
  EXPECT_EQ(r.dane.status, tls::dane::DaneStatus::matched);
  EXPECT_EQ(log->sni, "real.hosting.example");
}

TEST(Probe, DaneTaMatchWithChain) {
  auto req = base_request();
  req.tls.ca_files.clear();  // DANE-TA needs no WebPKI anchor
  req.tlsa = std::vector<dns::TlsaRecord>{tlsa(2, pki().ca.cert.get())};
  auto [r, log] = run(Mode::normal, req, &pki().leaf, true);
  EXPECT_TRUE(r.tls_established);
  EXPECT_EQ(r.peer_chain.size(), 2u);
  EXPECT_EQ(r.dane.status, tls::dane::DaneStatus::matched) << r.dane.verify_error_text;
  EXPECT_EQ(r.dane.matched_depth, 1);
  EXPECT_EQ(r.webpki->verdict, tls::WebPkiVerdict::untrusted);
  EXPECT_FALSE(r.tlsrpt_failure);  // judged by DANE
  EXPECT_EQ(log->commands, kFullDialogue);
}

TEST(Probe, TlsaMismatch) {
  auto req = base_request();
  req.tlsa = std::vector<dns::TlsaRecord>{dns::TlsaRecord{3, 1, 1, std::string(32, '\x5a')}};
  auto [r, log] = run(Mode::normal, req);
  EXPECT_TRUE(r.tls_established);
  EXPECT_EQ(r.dane.status, tls::dane::DaneStatus::no_match);
  EXPECT_EQ(r.dane.verify_error, X509_V_ERR_DANE_NO_MATCH);
  EXPECT_FALSE(r.dane.verify_error_text.empty());
  EXPECT_EQ(r.tlsrpt_failure, ResultType::validation_failure);
  EXPECT_EQ(r.webpki->verdict, tls::WebPkiVerdict::ok);  // both verdicts from one connection
  EXPECT_EQ(log->commands, kFullDialogue);
}

TEST(Probe, NoUsableTlsaRecords) {
  auto req = base_request();
  req.tlsa = std::vector<dns::TlsaRecord>{};
  auto [r, log] = run(Mode::normal, req);
  EXPECT_TRUE(r.tls_established);
  EXPECT_EQ(r.dane.status, tls::dane::DaneStatus::no_match);
  EXPECT_EQ(r.tlsrpt_failure, ResultType::tlsa_invalid);
}

struct WebPkiCase {
  std::string name;
  std::string mx_host;
  bool with_ca;
  bool expired_leaf;
  tls::WebPkiVerdict verdict;
  std::optional<ResultType> tlsrpt;
};

TEST(Probe, WebPki) {
  const std::vector<WebPkiCase> cases = {
      {"ok_extra_ca", "mx.example.net", true, false, tls::WebPkiVerdict::ok, std::nullopt},
      {"wrong_host", "other.example.net", true, false, tls::WebPkiVerdict::host_mismatch,
       ResultType::certificate_host_mismatch},
      {"untrusted_ca", "mx.example.net", false, false, tls::WebPkiVerdict::untrusted, ResultType::certificate_not_trusted},
      {"expired", "mx.example.net", true, true, tls::WebPkiVerdict::expired, ResultType::certificate_expired},
  };
  for (const auto& c : cases) {
    auto req = base_request();
    req.mx_host = c.mx_host;
    if (!c.with_ca) req.tls.ca_files.clear();
    auto [r, log] = run(Mode::normal, req, c.expired_leaf ? &pki().expired : &pki().leaf);
    EXPECT_TRUE(r.tls_established) << c.name;
    ASSERT_TRUE(r.webpki) << c.name;
    EXPECT_EQ(r.webpki->verdict, c.verdict) << c.name << ": " << r.webpki->error_text;
    EXPECT_EQ(r.tlsrpt_failure, c.tlsrpt) << c.name;
    EXPECT_EQ(r.dane.status, tls::dane::DaneStatus::not_requested) << c.name;
    EXPECT_EQ(log->sni, c.mx_host) << c.name;
    EXPECT_EQ(log->commands, kFullDialogue) << c.name;
  }
}

TEST(Probe, NoStarttls) {
  auto [r, log] = run(Mode::no_starttls, base_request());
  EXPECT_TRUE(r.connected);
  EXPECT_FALSE(r.starttls_offered);
  EXPECT_FALSE(r.tls_established);
  EXPECT_EQ(r.tlsrpt_failure, ResultType::starttls_not_supported);
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->stage, ProbeStage::ehlo);
  ASSERT_TRUE(r.quit_reply);
  EXPECT_EQ(log->commands, (std::vector<std::string>{"EHLO client.example", "QUIT"}));
}

TEST(Probe, StarttlsRefused) {
  auto [r, log] = run(Mode::starttls_refused, base_request());
  EXPECT_TRUE(r.starttls_offered);
  ASSERT_TRUE(r.starttls_reply);
  EXPECT_EQ(r.starttls_reply->code, 454);
  ASSERT_TRUE(r.starttls_reply->enhanced);
  EXPECT_EQ(r.starttls_reply->enhanced->to_string(), "4.7.0");
  EXPECT_FALSE(r.tls_established);
  EXPECT_EQ(r.tlsrpt_failure, ResultType::starttls_not_supported);
  EXPECT_EQ(r.failure->stage, ProbeStage::starttls);
  EXPECT_EQ(log->commands, (std::vector<std::string>{"EHLO client.example", "STARTTLS", "QUIT"}));
}

TEST(Probe, EhloRefused) {
  auto [r, log] = run(Mode::ehlo_refused, base_request());
  EXPECT_EQ(r.failure->stage, ProbeStage::ehlo);
  EXPECT_EQ(r.tlsrpt_failure, ResultType::starttls_not_supported);
  EXPECT_FALSE(r.ehlo->ok);
}

TEST(Probe, Banner554) {
  auto [r, log] = run(Mode::banner_554, base_request());
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->stage, ProbeStage::greeting);
  EXPECT_EQ(r.banner->code, 554);
  EXPECT_FALSE(r.tlsrpt_failure);
  EXPECT_EQ(log->commands, (std::vector<std::string>{"QUIT"}));
}

struct HostileCase {
  std::string name;
  Mode mode;
  ProbeStage stage;
  Errc code;
  std::optional<ResultType> tlsrpt;
};

TEST(Probe, HostileServers) {
  const std::vector<HostileCase> cases = {
      {"overlong_line", Mode::overlong_banner, ProbeStage::greeting, Errc::limit, std::nullopt},
      {"too_many_lines", Mode::endless_multiline, ProbeStage::greeting, Errc::limit, std::nullopt},
      {"never_answers", Mode::silent, ProbeStage::greeting, Errc::timeout, std::nullopt},
      {"silent_after_ehlo", Mode::silent_after_ehlo, ProbeStage::ehlo, Errc::timeout, std::nullopt},
      {"garbage_banner", Mode::garbage_banner, ProbeStage::greeting, Errc::parse, std::nullopt},
      {"garbage_instead_of_tls", Mode::garbage_instead_of_tls, ProbeStage::handshake, Errc::io,
       ResultType::validation_failure},
  };
  for (const auto& c : cases) {
    auto req = base_request();
    req.timeouts.greeting = std::chrono::milliseconds(300);
    req.timeouts.command = std::chrono::milliseconds(300);
    auto [r, log] = run(c.mode, req);
    ASSERT_TRUE(r.failure) << c.name;
    EXPECT_EQ(r.failure->stage, c.stage) << c.name << ": " << r.failure->error.message;
    EXPECT_EQ(r.failure->error.code, c.code) << c.name << ": " << r.failure->error.message;
    EXPECT_EQ(r.tlsrpt_failure, c.tlsrpt) << c.name;
    EXPECT_FALSE(r.tls_established) << c.name;
    // Bounded work: the reply limit plus one read buffer, never the 100 kB sent.
    EXPECT_LE(r.bytes_read, limits::kSmtpReplyLineBytes + 2 * 4096) << c.name;
  }
}

TEST(Probe, OverallDeadlineCapsEveryStep) {
  auto req = base_request();
  req.timeouts.total = std::chrono::milliseconds(300);  // per-step timeouts stay at 5 s
  auto [r, log] = run(Mode::silent, req);
  ASSERT_TRUE(r.failure);
  EXPECT_EQ(r.failure->stage, ProbeStage::greeting);
  EXPECT_EQ(r.failure->error.code, Errc::timeout);
}

TEST(Probe, PlaintextAfterStarttlsIsDiscarded) {
  auto [r, log] = run(Mode::inject_after_220, base_request());
  EXPECT_EQ(r.plaintext_discarded, std::string("250 injected\r\n").size());
  EXPECT_TRUE(r.tls_established);
  EXPECT_FALSE(r.failure) << r.failure->error.message;
  EXPECT_EQ(log->commands, kFullDialogue);
}

TEST(Probe, ConnectRefused) {
  auto req = base_request();
  std::uint16_t port = 0;
  {
    asio::io_context io;
    tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  asio::io_context io;
  req.address = *IpAddress::parse("127.0.0.1");
  req.port = port;
  std::optional<ProbeResult> out;
  asio::co_spawn(io, probe(req), [&](std::exception_ptr, ProbeResult r) { out = std::move(r); });
  io.run();
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->connected);
  ASSERT_TRUE(out->failure);
  EXPECT_EQ(out->failure->stage, ProbeStage::connect);
  EXPECT_EQ(out->failure->error.code, Errc::io);
  EXPECT_FALSE(out->tlsrpt_failure);
}

TEST(Probe, RejectsUnsafeNames) {
  for (auto [ehlo, mx] : std::vector<std::pair<std::string, std::string>>{
           {"a b", "mx.example.net"}, {"client\r\nMAIL FROM:<x>", "mx.example.net"}, {"", "mx.example.net"},
           {"client.example", ""}, {"client.example", "mx\n.example"}}) {
    auto req = base_request();
    req.ehlo_name = ehlo;
    req.mx_host = mx;
    asio::io_context io;
    std::optional<ProbeResult> out;
    asio::co_spawn(io, probe(req), [&](std::exception_ptr, ProbeResult r) { out = std::move(r); });
    io.run();
    ASSERT_TRUE(out);
    EXPECT_FALSE(out->connected);
    ASSERT_TRUE(out->failure);
    EXPECT_EQ(out->failure->error.code, Errc::invalid_argument);
  }
}

TEST(Probe, BadCaFileIsReported) {
  auto req = base_request();
  req.tls.ca_files = {"/nonexistent/ca.pem"};
  asio::io_context io;
  std::optional<ProbeResult> out;
  asio::co_spawn(io, probe(req), [&](std::exception_ptr, ProbeResult r) { out = std::move(r); });
  io.run();
  ASSERT_TRUE(out && out->failure);
  EXPECT_EQ(out->failure->error.code, Errc::crypto);
}

}  // namespace
}  // namespace mxsec::smtp

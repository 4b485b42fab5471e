// Shared by outbound_dkim_test.cpp and outbound_dkim_samples.cpp: a test
// server (session, spool, queue runner, Maildir) with [[dkim]] keys made at
// test time; a message is submitted over the in-memory stream pair, as a
// client of the relay networks, as a stranger, or as a stranger that logs
// in (STARTTLS + AUTH PLAIN), then delivered to a Maildir and read back.
#pragma once

#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/thread_pool.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "auth/dkim/keygen.hpp"
#include "auth/dkim/sign.hpp"
#include "codec/base64.hpp"
#include "delivery/runner.hpp"
#include "queue/spool.hpp"
#include "smtp/server/session.hpp"
#include "smtp/session/memory_stream.hpp"
#include "unit/config/test_server_config.hpp"
#include "unit/tls/test_pki.hpp"

namespace mxsec::smtp::server::test {

namespace fs = std::filesystem;

enum class Client { relay, stranger, authenticated };

struct Published {
  std::string name;    // sel._domainkey.example.com
  std::string record;  // v=DKIM1; k=...; p=...
};

struct Submission {
  std::vector<int> codes;      // every reply code, in order
  std::string delivered;       // the Maildir file of bob@example.test ("" if none)
};

class SigningBed {
 public:
  explicit SigningBed(std::int64_t now = 1796300000) : clock_(now) {
    dir_ = fs::temp_directory_path() / ("mxsec-dkim-sign-" + std::to_string(::getpid()) + "-" + std::to_string(++count_));
    fs::remove_all(dir_);
    config_ = mxsec::test::test_server_config(dir_);
    auto s = queue::Spool::open({dir_.string(), false}, queue::Mode::server);
    if (!s) throw std::runtime_error(s.error().message);
    spool_ = std::move(s.value());
  }
  ~SigningBed() { fs::remove_all(dir_); }
  SigningBed(const SigningBed&) = delete;
  SigningBed& operator=(const SigningBed&) = delete;

  // A [[dkim]] entry with a new key; its key record is published().
  void add_key(const std::string& domain, const std::string& selector, auth::dkim::KeyType type) {
    auto key = auth::dkim::generate_key(type, 2048);
    if (!key) throw std::runtime_error(key.error().message);
    auth::dkim::SignerConfig sc;
    sc.domain = domain;
    sc.selector = selector;
    auto signer = auth::dkim::Signer::from_pem(key->private_pem, sc);
    if (!signer) throw std::runtime_error(signer.error().message);
    config::DkimKey k;
    k.domain = k.domain_ascii = domain;
    k.selector = selector;
    k.key_file = "(test)";
    k.algorithm = signer->algorithm();
    k.signer = std::make_shared<const auth::dkim::Signer>(std::move(*signer));
    config_.dkim.push_back(std::move(k));
    published_.push_back({selector + "._domainkey." + domain, auth::dkim::key_record_text(type, key->public_b64)});
  }
  // An entry whose key is missing at run time (stands in for a key error).
  void add_broken_key(const std::string& domain, const std::string& selector) {
    config::DkimKey k;
    k.domain = k.domain_ascii = domain;
    k.selector = selector;
    config_.dkim.push_back(std::move(k));
  }

  const std::vector<Published>& published() const { return published_; }
  std::int64_t now() const { return clock_.now(); }

  // `message` in CRLF form, without the final ".".
  Submission submit(Client who, const std::string& message) {
    ClientInfo client{*IpAddress::parse(who == Client::relay ? "127.0.0.1" : "192.0.2.10"), 40000,
                      config::ListenerKind::smtp, false};
    Pki& p = pki();
    tls::SslCtxPtr server_tls = mxsec::test::make_server_context(p.leaf);
    tls::SslCtxPtr client_tls(SSL_CTX_new(TLS_client_method()));
    auto hash = UserDb::hash_password("secret");
    if (!hash) throw std::runtime_error(hash.error().message);
    auto users = UserDb::parse("alice:" + *hash + "\n", "users");
    if (!users) throw std::runtime_error(users.error().message);

    std::vector<queue::Envelope> committed;
    asio::thread_pool blocking(1);
    Services services;
    services.config = &config_;
    services.spool = spool_.get();
    services.tls = server_tls.get();
    services.users = &*users;
    services.blocking = &blocking;
    services.clock = &clock_;
    services.on_committed = [&](const queue::Envelope& e) { committed.push_back(e); };

    asio::io_context io;
    auto pair = make_memory_pair(io.get_executor());
    Connection client_conn = Connection::over_memory(std::move(pair.client), {});
    Submission out;
    asio::co_spawn(io, run_session(Connection::over_memory(std::move(pair.server), {}), client, services), asio::detached);
    asio::co_spawn(io, dialogue(client_conn, who, client_tls.get(), message, out.codes), asio::detached);
    io.run_for(std::chrono::seconds(30));

    delivery::QueueRunner runner(*spool_, config_, clock_, {1, std::chrono::seconds(300), std::chrono::seconds(4000), false});
    for (const auto& e : committed) runner.submit(e);
    runner.wait_idle();
    const fs::path box = dir_ / "maildir/example.test/bob/new";
    if (fs::is_directory(box))
      for (const auto& f : fs::directory_iterator(box)) {
        std::ifstream in(f.path(), std::ios::binary);
        std::stringstream ss;
        ss << in.rdbuf();
        out.delivered = ss.str();
        fs::remove(f.path());
      }
    return out;
  }

 private:
  struct Pki {
    mxsec::test::KeyCert ca = mxsec::test::make_cert({"Signing CA", {}, true, -10 * 86400, 100 * 86400}, nullptr);
    mxsec::test::KeyCert leaf = mxsec::test::make_cert({"mx", {"mx.example.test"}}, &ca);
  };
  static Pki& pki() {
    static Pki p;
    return p;
  }

  // A string_view parameter (no temporary in the co_await expressions
  // below: g++ 12 coroutine bug).
  static asio::awaitable<void> command(Connection& c, std::string_view line, std::vector<int>& codes) {
    std::string text(line);
    text += "\r\n";
    c.queue(text);
    auto sent = co_await c.flush();
    if (!sent) co_return;
    auto reply = co_await c.read_reply();
    codes.push_back(reply ? reply->code : -1);
  }

  static asio::awaitable<void> dialogue(Connection& c, Client who, SSL_CTX* client_tls, std::string message,
                                        std::vector<int>& codes) {
    auto greeting = co_await c.read_reply();
    codes.push_back(greeting ? greeting->code : -1);
    co_await command(c, "EHLO client.example.com", codes);
    if (who == Client::authenticated) {
      co_await command(c, "STARTTLS", codes);
      auto up = co_await c.upgrade_tls(client_tls, TlsRole::client);
      if (!up) codes.push_back(-2);
      co_await command(c, "EHLO client.example.com", codes);
      const std::string auth = "AUTH PLAIN " + codec::encode_base64(std::string_view("\0alice\0secret", 13));
      co_await command(c, auth, codes);
    }
    co_await command(c, "MAIL FROM:<alice@example.com>", codes);
    co_await command(c, "RCPT TO:<bob@example.test>", codes);
    co_await command(c, "DATA", codes);
    // Dot-stuffing: none of the test messages has a line starting with ".".
    const std::string text = message + ".";
    co_await command(c, text, codes);
    co_await command(c, "QUIT", codes);
    c.close();
  }

  static inline int count_ = 0;
  fs::path dir_;
  config::ServerConfig config_;
  std::unique_ptr<queue::Spool> spool_;
  FixedClock clock_;
  std::vector<Published> published_;
};

}  // namespace mxsec::smtp::server::test

// SMTP dialogue scripts (tests/data/smtp-dialogues/*.dlg) played against the
// server session over the in-memory stream pair, with a real spool in a
// temporary directory. The format is in tests/data/smtp-dialogues/README.md.
#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/thread_pool.hpp>
#include <asio/use_awaitable.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "config/server_config.hpp"
#include "core/strings.hpp"
#include "queue/spool.hpp"
#include "smtp/server/session.hpp"
#include "smtp/session/memory_stream.hpp"
#include "unit/tls/test_pki.hpp"
#include "unit/config/test_server_config.hpp"

namespace mxsec::smtp::server {
namespace {

namespace fs = std::filesystem;

struct Step {
  char kind;         // C (line), R (raw), S (reply), P (pause), Q (queued count), T/N (text has / has not), X (tls)
  std::string text;  // unescaped
  int line = 0;
};

struct Script {
  std::string name;
  std::vector<Step> steps;
  std::vector<std::pair<std::string, std::string>> settings;  // "@ key value"
};

std::string unescape(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 == s.size()) {
      out += s[i];
      continue;
    }
    const char c = s[++i];
    if (c == 'r') out += '\r';
    else if (c == 'n') out += '\n';
    else if (c == 't') out += '\t';
    else if (c == '0') out += '\0';
    else if (c == 'x' && i + 2 < s.size() + 0) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else out += c;
  }
  return out;
}

Script load(const fs::path& file) {
  Script script;
  script.name = file.stem().string();
  std::ifstream in(file);
  std::string line;
  int n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '@') {
      const auto rest = std::string(trim(std::string_view(line).substr(1)));
      const auto sp = rest.find(' ');
      script.settings.emplace_back(rest.substr(0, sp), sp == std::string::npos ? "" : rest.substr(sp + 1));
      continue;
    }
    if (line.size() < 2 || line[1] != ':') throw std::runtime_error(file.string() + ":" + std::to_string(n) + ": bad line");
    script.steps.push_back({line[0], unescape(trim(std::string_view(line).substr(2))), n});
  }
  return script;
}

// What the server side of a script runs with.
struct Bed {
  Bed() {
    dir = fs::temp_directory_path() / ("mxsec-dialogue-" + std::to_string(::getpid()) + "-" + std::to_string(++count));
    fs::remove_all(dir);
    config = test::test_server_config(dir);
    auto s = queue::Spool::open({dir.string(), false}, queue::Mode::server);
    if (!s) throw std::runtime_error(s.error().message);
    spool = std::move(s.value());
  }
  ~Bed() { fs::remove_all(dir); }
  static inline int count = 0;
  fs::path dir;
  config::ServerConfig config;
  std::unique_ptr<queue::Spool> spool;
  FixedClock clock{1796300000};
  Counters counters;
  std::vector<queue::Envelope> committed;
};

struct Pki {
  test::KeyCert ca = test::make_cert({"Dialogue CA", {}, true, -10 * 86400, 100 * 86400}, nullptr);
  test::KeyCert leaf = test::make_cert({"mx", {"mx.example.test"}}, &ca);
};
Pki& pki() {
  static Pki p;
  return p;
}

std::string render(const Reply& r) {
  std::string out;
  for (std::size_t i = 0; i < r.lines.size(); ++i)
    out += std::to_string(r.code) + (i + 1 < r.lines.size() ? "-" : " ") + r.lines[i] + (i + 1 < r.lines.size() ? "\n" : "");
  return out;
}

asio::awaitable<void> play(Script& script, Connection& client, Bed& bed, SSL_CTX* client_tls,
                           std::vector<std::string>& failures) {
  auto where = [&](const Step& s) { return script.name + ".dlg:" + std::to_string(s.line) + ": "; };
  for (const auto& step : script.steps) {
    switch (step.kind) {
      case 'C':
      case 'R': {
        client.queue(step.kind == 'C' ? step.text + "\r\n" : step.text);
        auto sent = co_await client.flush();
        if (!sent) failures.push_back(where(step) + "send failed: " + sent.error().message);
        break;
      }
      case 'S': {
        auto reply = co_await client.read_reply();
        if (step.text == "close") {
          if (reply) failures.push_back(where(step) + "expected the server to close, got " + render(*reply));
          break;
        }
        if (!reply) {
          failures.push_back(where(step) + "expected \"" + step.text + "\", got " + reply.error().message);
          co_return;
        }
        const std::string got = render(*reply);
        const std::string last = got.substr(got.rfind('\n') == std::string::npos ? 0 : got.rfind('\n') + 1);
        if (last.rfind(step.text, 0) != 0)
          failures.push_back(where(step) + "expected \"" + step.text + "\", got \"" + got + "\"");
        break;
      }
      case 'X': {
        auto up = co_await client.upgrade_tls(client_tls, TlsRole::client);
        if (!up) failures.push_back(where(step) + "TLS: " + up.error().message);
        break;
      }
      case 'P': {
        asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(std::stoi(step.text)));
        co_await t.async_wait(asio::use_awaitable);
        break;
      }
      case 'Q':
        if (bed.committed.size() != std::stoul(step.text))
          failures.push_back(where(step) + "expected " + step.text + " queued, have " +
                             std::to_string(bed.committed.size()));
        break;
      case 'T':
      case 'N': {
        if (bed.committed.empty()) {
          failures.push_back(where(step) + "no message queued");
          break;
        }
        auto m = bed.spool->open_message(bed.committed.back().id);
        const std::string all = m ? m->prepend + std::string(m->text.view()) : "";
        const bool has = all.find(step.text) != std::string::npos;
        if (has != (step.kind == 'T'))
          failures.push_back(where(step) + (step.kind == 'T' ? "missing: " : "unexpected: ") + escape_for_log(step.text) +
                             " in " + escape_for_log(all, 2000));
        break;
      }
      default: failures.push_back(where(step) + "unknown step");
    }
  }
  client.close();
}

std::vector<fs::path> scripts() {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(fs::path(MXSEC_TESTDATA_DIR) / "smtp-dialogues"))
    if (e.path().extension() == ".dlg") out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

// Stands in for SPF, DKIM and DMARC with fixed verdicts ("@ verifier
// spf=fail dmarc=reject"), so the scripts test what the session does with
// them; the verdicts themselves are tested in the auth modules.
class FixedVerifier final : public InboundVerifier {
 public:
  explicit FixedVerifier(const std::string& spec) {
    for (auto part : split(spec, ' ')) {
      const auto eq = part.find('=');
      const std::string key(part.substr(0, eq)), value(part.substr(eq + 1));
      if (key == "spf") spf_ = *auth::spf::parse_verdict(value);
      if (key == "dmarc") dmarc_ = value;
    }
  }
  asio::awaitable<auth::spf::SpfResult> check_sender(IpAddress, std::string, std::string mail_from) override {
    ++sender_checks;
    auth::spf::SpfResult r;
    r.verdict = spf_;
    r.domain = mail_from.substr(mail_from.find('@') + 1);
    co_return r;
  }
  asio::awaitable<auth::spf::SpfResult> check_helo(IpAddress, std::string helo) override {
    ++helo_checks;
    auth::spf::SpfResult r;
    r.verdict = auth::spf::Verdict::pass;
    r.identity = auth::spf::Identity::helo;
    r.domain = helo;
    co_return r;
  }
  asio::awaitable<Result<auth::MessageVerdict>> check_message(std::string_view text, auth::VerifyInput input,
                                                             auth::spf::SpfResult spf) override {
    auth::MessageVerdict v;
    v.spf = spf;
    v.helo_spf = input.helo_spf;
    v.from_domain = "example.org";
    v.dmarc.result = dmarc_ == "pass" ? auth::dmarc::Verdict::pass : auth::dmarc::Verdict::fail;
    v.dmarc.policy.applied = dmarc_ == "quarantine" ? auth::dmarc::Policy::quarantine : auth::dmarc::Policy::reject;
    v.auth_results_header = "Authentication-Results: " + input.authserv_id + "; spf=" +
                            auth::spf::to_string(spf.verdict) + (input.helo_spf ? " helo-checked" : "") +
                            "; dmarc=" + dmarc_ + "\r\n";
    co_return v;
  }
  int sender_checks = 0;
  int helo_checks = 0;

 private:
  auth::spf::Verdict spf_ = auth::spf::Verdict::pass;
  std::string dmarc_ = "pass";
};

// One series of a Labeled<> counter by its label value ("relay").
template <class E, std::size_t N, class M>
std::optional<std::int64_t> series(const metrics::Labeled<E, N, M>& counters, std::string_view label) {
  for (std::size_t i = 0; i < N; ++i)
    if (label == to_string(static_cast<E>(i))) return static_cast<std::int64_t>(counters.at(i).value());
  return std::nullopt;
}

// "@ expect_count recipients_rejected.relay 9": a Counters member and, for
// a labeled one, the label value; nullopt for anything else, so that a
// misspelt name fails the script instead of passing it.
std::optional<std::int64_t> count_of(const Counters& c, std::string_view key) {
  const std::size_t dot = key.find('.');
  const std::string_view name = key.substr(0, dot);
  const std::string_view label = dot == std::string_view::npos ? std::string_view() : key.substr(dot + 1);
  if (name == "messages_accepted" && dot == std::string_view::npos)
    return static_cast<std::int64_t>(c.messages_accepted.value());
  if (name == "sessions") return series(c.sessions, label);
  if (name == "sessions_active") return series(c.sessions_active, label);
  if (name == "tls_handshakes") return series(c.tls_handshakes, label);
  if (name == "tls_handshake_failures") return series(c.tls_handshake_failures, label);
  if (name == "messages_rejected") return series(c.messages_rejected, label);
  if (name == "recipients_rejected") return series(c.recipients_rejected, label);
  if (name == "limit_hits") return series(c.limit_hits, label);
  if (name == "auth_successes") return series(c.auth_successes, label);
  if (name == "auth_failures") return series(c.auth_failures, label);
  return std::nullopt;
}

class Dialogue : public ::testing::TestWithParam<fs::path> {};

TEST_P(Dialogue, Plays) {
  Script script = load(GetParam());
  Bed bed;
  ClientInfo client{*IpAddress::parse("192.0.2.10"), 40000, config::ListenerKind::smtp, false};
  SessionConfig sc;
  bool tls = false;
  std::optional<UserDb> users;
  std::optional<FixedVerifier> verifier;
  std::vector<std::string> dispositions;
  for (const auto& [k, v] : script.settings) {
    if (k == "client") client.address = *IpAddress::parse(v);
    else if (k == "listener") client.listener = v == "submission" ? config::ListenerKind::submission : config::ListenerKind::smtp;
    else if (k == "tls") tls = true;
    else if (k == "max_recipients") bed.config.limits.recipients = std::stoi(v);
    else if (k == "max_message_bytes") bed.config.limits.message_bytes = std::stoull(v);
    else if (k == "bad_commands") bed.config.limits.bad_commands = std::stoi(v);
    else if (k == "command_timeout_ms") sc.timeouts.read = std::chrono::milliseconds(std::stoi(v));
    else if (k == "line_bytes") sc.max_line_bytes = std::stoul(v);
    else if (k == "verifier") verifier.emplace(v);
    else if (k == "spf_fail") bed.config.inbound.spf_fail = v == "reject" ? config::SpfFailAction::reject : config::SpfFailAction::tag;
    else if (k == "dmarc_reject") bed.config.inbound.dmarc_reject = v == "quarantine" ? config::DmarcAction::quarantine : v == "none" ? config::DmarcAction::none : config::DmarcAction::reject;
    else if (k == "quarantine") bed.config.inbound.quarantine = v == "hold" ? config::QuarantineAction::hold : config::QuarantineAction::header;
    else if (k == "users") {
      const auto sp = v.find(' ');
      auto hash = UserDb::hash_password(v.substr(sp + 1));
      ASSERT_TRUE(hash);
      auto db = UserDb::parse(v.substr(0, sp) + ":" + *hash + "\n", "users");
      ASSERT_TRUE(db) << db.error().message;
      users.emplace(std::move(*db));
    }
    else if (k == "expect_dispositions" || k == "expect_held" || k == "expect_count") continue;  // checked after the script
    else FAIL() << "unknown setting " << k;
  }
  tls::SslCtxPtr server_tls = tls ? test::make_server_context(pki().leaf) : nullptr;
  tls::SslCtxPtr client_tls(SSL_CTX_new(TLS_client_method()));
  Services services;
  services.config = &bed.config;
  services.spool = bed.spool.get();
  services.tls = server_tls.get();
  services.clock = &bed.clock;
  services.users = users ? &*users : nullptr;
  services.inbound = verifier ? &*verifier : nullptr;
  services.on_verdict = [&](const auth::MessageVerdict&, const ClientInfo&, std::string_view d) {
    dispositions.emplace_back(d);
  };
  asio::thread_pool blocking(1);
  services.blocking = &blocking;
  services.counters = &bed.counters;
  services.on_committed = [&](const queue::Envelope& e) { bed.committed.push_back(e); };

  asio::io_context io;
  auto pair = make_memory_pair(io.get_executor());
  Connection client_conn = Connection::over_memory(std::move(pair.client), {});
  std::vector<std::string> failures;
  asio::co_spawn(io, run_session(Connection::over_memory(std::move(pair.server), sc), client, services), asio::detached);
  asio::co_spawn(io, play(script, client_conn, bed, client_tls.get(), failures), asio::detached);
  io.run_for(std::chrono::seconds(20));
  for (const auto& f : failures) ADD_FAILURE() << f;
  for (const auto& [k, v] : script.settings) {
    if (k == "expect_dispositions") {
      std::string got;
      for (const auto& d : dispositions) got += (got.empty() ? "" : " ") + d;
      EXPECT_EQ(got, v) << "verdicts recorded for DMARC reports";
    }
    if (k == "expect_held") {
      ASSERT_FALSE(bed.committed.empty());
      EXPECT_EQ(bed.spool->held(bed.committed.back().id), v == "yes");
    }
    if (k == "expect_count") {
      const auto sp = v.find(' ');
      const std::string key = v.substr(0, sp);
      const auto got = count_of(bed.counters, key);
      if (!got || sp == std::string::npos) {
        ADD_FAILURE() << "expect_count: unknown counter or no value: " << v;
        continue;
      }
      EXPECT_EQ(*got, std::stoll(v.substr(sp + 1))) << "counter " << key;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Scripts, Dialogue, ::testing::ValuesIn(scripts()),
                         [](const auto& info) {
                           std::string n = info.param.stem().string();
                           for (char& c : n)
                             if (!is_alnum(c)) c = '_';
                           return n;
                         });

}  // namespace
}  // namespace mxsec::smtp::server

// SIGHUP reload: what changes, what waits for a restart, and that a session
// open across a reload finishes under the configuration it started with.
#include "daemon/reload.hpp"

#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read_until.hpp>
#include <asio/write.hpp>
#include <filesystem>
#include <memory>
#include <fstream>
#include <string>

#include "daemon/server.hpp"
#include "../config/test_server_config.hpp"

namespace mxsec::daemon {
namespace {

namespace fs = std::filesystem;

config::LocalDomain maildir_domain(const std::string& name, const fs::path& dir) {
  config::LocalDomain d;
  d.name = d.name_ascii = name;
  d.delivery.maildir = (dir / "maildir/%d/%u").string();
  return d;
}

TEST(PlanReload, AppliesReloadableKeys) {
  const auto running = test::test_server_config("/tmp/x");
  auto next = running;
  next.domains.push_back(maildir_domain("new.test", "/tmp/x"));
  next.limits.recipients = 200;
  next.relay.networks.clear();
  next.log.level = "debug";
  config::DkimKey key;
  key.domain = key.domain_ascii = "example.test";
  key.selector = "rotated";
  next.dkim.push_back(key);
  auto plan = plan_reload(running, next);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->kept.empty());
  ASSERT_EQ(plan->config.dkim.size(), 1u);
  EXPECT_EQ(plan->config.dkim[0].selector, "rotated");
  ASSERT_EQ(plan->config.domains.size(), 2u);
  EXPECT_EQ(plan->config.domains[1].name_ascii, "new.test");
  EXPECT_EQ(plan->config.limits.recipients, 200);
  EXPECT_TRUE(plan->config.relay.networks.empty());
  EXPECT_EQ(plan->config.log.level, "debug");
}

TEST(PlanReload, KeepsRestartOnlyKeysAndNamesThem) {
  const auto running = test::test_server_config("/tmp/x");
  auto next = running;
  next.listeners[0].port = 2626;
  next.spool_dir = "/elsewhere";
  next.threads = 7;
  next.hostname = next.hostname_ascii = "other.example.test";
  next.runtime.dns.forwarders = {"127.0.0.53"};
  next.inbound.verify = !running.inbound.verify;
  next.log.format = config::LogConfig::Format::json;
  next.queue.max_lifetime = std::chrono::seconds(3600);
  next.reports.tlsrpt_db = "/elsewhere/tlsrpt.sqlite";
  auto plan = plan_reload(running, next);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->kept, (std::vector<std::string>{"listener", "spool_dir", "threads", "hostname",
                                                  "dns, mta_sts, policy, tls.ca_file", "inbound.verify",
                                                  "log.format", "queue", "reports.tlsrpt_db"}));
  EXPECT_EQ(plan->config.reports.tlsrpt_db, running.reports.tlsrpt_db);
  EXPECT_EQ(plan->config.queue, running.queue);
  EXPECT_EQ(plan->config.listeners[0].port, running.listeners[0].port);
  EXPECT_EQ(plan->config.spool_dir, running.spool_dir);
  EXPECT_EQ(plan->config.threads, running.threads);
  EXPECT_EQ(plan->config.hostname_ascii, "mx.example.test");
  EXPECT_TRUE(plan->config.runtime.dns.forwarders.empty());
  EXPECT_EQ(plan->config.inbound.verify, running.inbound.verify);
  EXPECT_EQ(plan->config.log.format, running.log.format);
}

// [outbound] is built into the runtime and the delivery agent once: a
// changed switch, per-domain policy or relay host waits for a restart.
TEST(PlanReload, KeepsOutboundKeysUntilRestart) {
  const auto running = test::test_server_config("/tmp/x");
  for (int change = 0; change < 4; ++change) {
    auto next = running;
    if (change == 0) next.runtime.outbound.dane = false;
    if (change == 1) next.runtime.outbound.default_tls = policy::DefaultTls::encrypt;
    if (change == 2) next.runtime.outbound.domain_policies = {{"a.example", "a.example", policy::LocalLevel::none}};
    if (change == 3) {
      next.outbound.relayhost = "[relay.example]:587";
      next.outbound.relay = policy::RelayHost{"relay.example", std::nullopt, 587, false};
    }
    next.limits.recipients = 300;  // reloadable, applied alongside
    auto plan = plan_reload(running, next);
    ASSERT_TRUE(plan) << plan.error().message;
    EXPECT_EQ(plan->kept, std::vector<std::string>{"outbound"}) << change;
    EXPECT_TRUE(plan->config.runtime.outbound.dane);
    EXPECT_EQ(plan->config.runtime.outbound.default_tls, policy::DefaultTls::may);
    EXPECT_TRUE(plan->config.runtime.outbound.domain_policies.empty());
    EXPECT_FALSE(plan->config.outbound.relay);
    EXPECT_EQ(plan->config.outbound.relayhost, "");
    EXPECT_EQ(plan->config.limits.recipients, 300);
  }
  // outbound.mta_sts is mta_sts.enabled: reported with the runtime options.
  auto next = running;
  next.runtime.mta_sts.enabled = false;
  auto plan = plan_reload(running, next);
  ASSERT_TRUE(plan);
  EXPECT_EQ(plan->kept, std::vector<std::string>{"dns, mta_sts, policy, tls.ca_file"});
  EXPECT_TRUE(plan->config.runtime.mta_sts.enabled);
}

// The relay host's credentials are reloadable (a rotated password file is
// read again by load_config), but only for the relay host that runs:
// credentials written for a new relay host must never reach the old one.
TEST(PlanReload, RelayCredentialsFollowTheRunningRelayHost) {
  auto with_relay = [](config::ServerConfig c, const std::string& host, const std::string& user,
                       const std::string& password) {
    c.outbound.relayhost = "[" + host + "]:587";
    c.outbound.relay = policy::RelayHost{host, std::nullopt, 587, false};
    c.outbound.relayhost_username = user;
    c.outbound.relayhost_password_file = "/etc/mxsec/" + user;
    auto secret = std::make_shared<SecretString>();
    secret->text = password;
    c.outbound.relayhost_password = std::move(secret);
    return c;
  };
  const auto running = with_relay(test::test_server_config("/tmp/x"), "relay.example", "old-user", "old-pw");

  // Same relay host, new user and password: applied, nothing reported.
  auto plan = plan_reload(running, with_relay(running, "relay.example", "new-user", "new-pw"));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->kept.empty()) << ::testing::PrintToString(plan->kept);
  EXPECT_EQ(plan->config.outbound.relayhost_username, "new-user");
  EXPECT_EQ(plan->config.outbound.relayhost_password_file, "/etc/mxsec/new-user");
  ASSERT_TRUE(plan->config.outbound.relayhost_password);
  EXPECT_EQ(plan->config.outbound.relayhost_password->text, "new-pw");

  // Another relay host with its own credentials: both wait for the restart.
  plan = plan_reload(running, with_relay(running, "other.example", "new-user", "new-pw"));
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_EQ(plan->kept, std::vector<std::string>{"outbound"});
  EXPECT_EQ(plan->config.outbound.relayhost, "[relay.example]:587");
  EXPECT_EQ(plan->config.outbound.relayhost_username, "old-user");
  EXPECT_EQ(plan->config.outbound.relayhost_password->text, "old-pw");

  // Credentials removed while the relay host stays: no AUTH from now on.
  auto without = running;
  without.outbound.relayhost_username.clear();
  without.outbound.relayhost_password_file.clear();
  without.outbound.relayhost_password.reset();
  plan = plan_reload(running, without);
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->kept.empty());
  EXPECT_FALSE(plan->config.outbound.relayhost_password);
}

TEST(PlanReload, EmptyHostnameMeansTheRunningOne) {
  const auto running = test::test_server_config("/tmp/x");
  auto next = running;
  next.hostname.clear();
  next.hostname_ascii.clear();
  auto plan = plan_reload(running, next);
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->kept.empty());
  EXPECT_EQ(plan->config.hostname_ascii, "mx.example.test");
}

TEST(PlanReload, RefusesToLeaveARunningSubmissionListenerWithoutCertificate) {
  auto running = test::test_server_config("/tmp/x");
  running.tls.certificate = "/etc/cert.pem";
  running.tls.key = "/etc/key.pem";
  config::Listener submission = running.listeners[0];
  submission.port = 587;
  submission.kind = config::ListenerKind::submission;
  running.listeners.push_back(submission);
  auto next = running;
  next.tls = {};
  next.listeners.resize(1);  // even if the file drops the listener: it is still bound
  auto plan = plan_reload(running, next);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code, Errc::invalid_argument);
  EXPECT_NE(plan.error().message.find("submission"), std::string::npos) << plan.error().message;
}

// A blocking SMTP client for the live reload test.
class Client {
 public:
  Client(asio::io_context& io, const config::Listener& l) : socket_(io) {
    socket_.connect({asio::ip::make_address(l.address.to_string()), l.port});
    read();
  }
  std::string command(const std::string& line) {
    asio::write(socket_, asio::buffer(line + "\r\n"));
    return read();
  }
  // The reply's last line (multi-line EHLO replies end with "250 ").
  std::string read() {
    for (;;) {
      const std::size_t n = asio::read_until(socket_, asio::dynamic_buffer(buffer_), "\r\n");
      const std::string line = buffer_.substr(0, n - 2);
      buffer_.erase(0, n);
      if (line.size() < 4 || line[3] != '-') return line;
    }
  }

 private:
  asio::ip::tcp::socket socket_;
  std::string buffer_;
};

class LiveReload : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("mxsec-reload-" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_ = test::test_server_config(dir_);
    config_.spool_dir = (dir_ / "spool").string();
    // The default store path is relative to the working directory, whose
    // ./mxsec-data/reports need not exist where the test runs.
    config_.reports.tlsrpt_db = (dir_ / "tlsrpt.sqlite").string();
    config_.listeners[0].port = 0;
    config_.relay.networks.clear();  // 127.0.0.1 is a stranger: only local domains
    config_.inbound.verify = false;
    config_.threads = 1;
    auto server = Server::create(config_);
    ASSERT_TRUE(server) << server.error().message;
    server_ = std::move(*server);
    ASSERT_TRUE(server_->bind());
    ASSERT_TRUE(server_->run());
    listener_ = server_->bound().at(0);
  }
  void TearDown() override {
    server_.reset();
    fs::remove_all(dir_);
  }

  static std::string code(const std::string& reply) { return reply.substr(0, 3); }

  // A new session, past EHLO and MAIL FROM.
  std::unique_ptr<Client> transaction() {
    auto c = std::make_unique<Client>(io_, listener_);
    EXPECT_EQ(code(c->command("EHLO client.test")), "250");
    EXPECT_EQ(code(c->command("MAIL FROM:<a@client.test>")), "250");
    return c;
  }

  fs::path dir_;
  config::ServerConfig config_;
  std::unique_ptr<Server> server_;
  config::Listener listener_;
  asio::io_context io_;
};

TEST_F(LiveReload, NewSessionsGetTheNewDomainsAnOpenSessionFinishesUnderItsOwn) {
  auto before = transaction();

  auto next = config_;
  next.domains = {maildir_domain("new.test", dir_)};
  auto kept = server_->reload(next);
  ASSERT_TRUE(kept) << kept.error().message;
  EXPECT_TRUE(kept->empty());

  // The open session still has example.test and not new.test ...
  EXPECT_EQ(code(before->command("RCPT TO:<u@example.test>")), "250");
  EXPECT_EQ(before->command("RCPT TO:<u@new.test>")[0], '5');
  ASSERT_EQ(code(before->command("DATA")), "354");
  EXPECT_EQ(code(before->command("Subject: t\r\n\r\nbody\r\n.")), "250");

  // ... and a new one has new.test and not example.test.
  auto after = transaction();
  EXPECT_EQ(code(after->command("RCPT TO:<u@new.test>")), "250");
  EXPECT_EQ(after->command("RCPT TO:<u@example.test>")[0], '5');
}

TEST_F(LiveReload, AFailedReloadKeepsTheRunningConfiguration) {
  auto next = config_;
  next.domains = {maildir_domain("new.test", dir_)};
  next.tls.certificate = (dir_ / "missing-cert.pem").string();
  next.tls.key = (dir_ / "missing-key.pem").string();
  auto kept = server_->reload(next);
  ASSERT_FALSE(kept);

  auto c = transaction();
  EXPECT_EQ(code(c->command("RCPT TO:<u@example.test>")), "250");
  EXPECT_EQ(c->command("RCPT TO:<u@new.test>")[0], '5');
}

TEST_F(LiveReload, NewLimitsApplyToNewSessions) {
  auto next = config_;
  next.limits.max_sessions_per_client = 1;
  ASSERT_TRUE(server_->reload(next));
  Client first(io_, listener_);
  asio::ip::tcp::socket second(io_);
  second.connect({asio::ip::make_address(listener_.address.to_string()), listener_.port});
  std::string greeting;
  asio::read_until(second, asio::dynamic_buffer(greeting), "\r\n");
  EXPECT_EQ(greeting.substr(0, 9), "421 4.7.0") << greeting;
}

}  // namespace
}  // namespace mxsec::daemon

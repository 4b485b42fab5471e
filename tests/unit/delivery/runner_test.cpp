#include "delivery/runner.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "unit/config/test_server_config.hpp"
#include "delivery/outbound.hpp"
#include "unit/delivery/lmtp_server.hpp"
#include "unit/delivery/relay_bed.hpp"

namespace mxsec::delivery {
namespace {

namespace fs = std::filesystem;

struct Bed {
  Bed() {
    dir = fs::temp_directory_path() / ("mxsec-runner-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
    fs::remove_all(dir);
    config = test::test_server_config(dir);
    auto opened = queue::Spool::open({dir.string(), false}, queue::Mode::server);
    if (!opened) throw std::runtime_error(opened.error().message);
    spool = std::move(opened.value());
  }
  ~Bed() { fs::remove_all(dir); }

  queue::Envelope commit(const std::vector<std::string>& rcpts, std::string text, std::string prepend = "") {
    auto w = spool->create();
    EXPECT_TRUE(w);
    EXPECT_TRUE(w->write(text));
    queue::Envelope e;
    e.id = w->id();
    e.reverse_path = "alice@example.org";
    for (const auto& r : rcpts) e.recipients.push_back(test::recipient_at(r));
    e.arrival = clock.now();
    e.text_bytes = text.size();
    asio::io_context io;
    auto f = asio::co_spawn(io, spool->commit(std::move(*w), e, prepend), asio::use_future);
    io.run();
    EXPECT_TRUE(f.get());
    return e;
  }

  std::vector<fs::path> mails(const std::string& user) const {
    std::vector<fs::path> out;
    const auto d = dir / "maildir/example.test" / user / "new";
    if (fs::is_directory(d))
      for (const auto& e : fs::directory_iterator(d)) out.push_back(e.path());
    return out;
  }

  static std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }

  static inline int n = 0;
  fs::path dir;
  config::ServerConfig config;
  std::unique_ptr<queue::Spool> spool;
  FixedClock clock{1796300000};
};

TEST(QueueRunner, DeliversLocalRecipientsAndRemovesTheMessage) {
  Bed bed;
  QueueRunner runner(*bed.spool, bed.config, bed.clock, {2, std::chrono::seconds(300), std::chrono::seconds(4000), false});
  auto e = bed.commit({"bob@example.test", "carol@example.test"},
                      "Authentication-Results: mx.example.test; dkim=pass\r\nSubject: hi\r\n\r\nbody\r\n",
                      "Received: by mx.example.test\r\n");
  runner.submit(e);
  runner.wait_idle();
  ASSERT_EQ(bed.mails("bob").size(), 1u);
  ASSERT_EQ(bed.mails("carol").size(), 1u);
  EXPECT_EQ(Bed::read(bed.mails("bob")[0]), "Received: by mx.example.test\r\nSubject: hi\r\n\r\nbody\r\n");
  EXPECT_TRUE(bed.spool->list()->empty());
  EXPECT_EQ(runner.stats().delivered, 2u);
  EXPECT_EQ(runner.stats().removed, 1u);
}

TEST(QueueRunner, KeepsWhatItCannotDeliverWithTheReasonAndABackoff) {
  Bed bed;
  QueueRunner runner(*bed.spool, bed.config, bed.clock, {1, std::chrono::seconds(300), std::chrono::seconds(4000), false});
  auto e = bed.commit({"bob@example.test", "dave@other.example"}, "Subject: x\r\n\r\n");
  runner.submit(e);
  runner.wait_idle();
  EXPECT_EQ(bed.mails("bob").size(), 1u);
  auto left = bed.spool->load(e.id);
  ASSERT_TRUE(left) << left.error().message;
  EXPECT_EQ(left->recipients[0].state, queue::RecipientState::delivered);
  EXPECT_EQ(left->recipients[1].state, queue::RecipientState::pending);
  EXPECT_EQ(left->recipients[1].attempts, 1);
  EXPECT_NE(left->recipients[1].last_result.find("no delivery agent"), std::string::npos);
  // 300 s with ±20 % jitter.
  EXPECT_GE(left->recipients[1].next_attempt, bed.clock.now() + 240);
  EXPECT_LE(left->recipients[1].next_attempt, bed.clock.now() + 360);
}

TEST(QueueRunner, StartPicksUpTheQueueAfterARestart) {
  Bed bed;
  auto e = bed.commit({"bob@example.test"}, "Subject: before the restart\r\n\r\n");
  QueueRunner runner(*bed.spool, bed.config, bed.clock, {1, std::chrono::seconds(300), std::chrono::seconds(4000), false});
  runner.start();
  runner.wait_idle();
  EXPECT_EQ(bed.mails("bob").size(), 1u);
  EXPECT_TRUE(bed.spool->list()->empty());
}

TEST(QueueRunner, HeldMessagesWait) {
  Bed bed;
  auto e = bed.commit({"bob@example.test"}, "Subject: held\r\n\r\n");
  ASSERT_TRUE(bed.spool->set_hold(e.id, true));
  QueueRunner runner(*bed.spool, bed.config, bed.clock, {1, std::chrono::seconds(300), std::chrono::seconds(4000), false});
  runner.submit(e);
  runner.wait_idle();
  EXPECT_TRUE(bed.mails("bob").empty());
  ASSERT_TRUE(bed.spool->set_hold(e.id, false));
  runner.submit(e);
  runner.wait_idle();
  EXPECT_EQ(bed.mails("bob").size(), 1u);
}

// "lmtp.test" delivers to the scripted LMTP server on 127.0.0.1:port.
config::LocalDomain lmtp_domain(std::uint16_t port) {
  config::LocalDomain d;
  d.name = d.name_ascii = "lmtp.test";
  d.delivery.kind = config::Delivery::Kind::lmtp;
  d.delivery.lmtp_address = *IpAddress::parse("127.0.0.1");
  d.delivery.lmtp_port = port;
  return d;
}

TEST(QueueRunner, LmtpRecipientsShareOneTransactionAndGetTheirOwnVerdicts) {
  test::LmtpScript script;
  script.rcpt["b@lmtp.test"] = "550 5.1.1 <b@lmtp.test> User unknown\r\n";
  script.after_dot["c@lmtp.test"] = "452 4.2.2 <c@lmtp.test> Mailbox full\r\n";
  test::LmtpTestServer server(script);
  Bed bed;
  bed.config.domains.push_back(lmtp_domain(server.port()));
  QueueRunner runner(*bed.spool, bed.config, bed.clock, {1, std::chrono::seconds(300), std::chrono::seconds(4000), false});
  auto e = bed.commit({"a@lmtp.test", "b@lmtp.test", "bob@example.test", "c@lmtp.test"},
                      "Authentication-Results: mx.example.test; dkim=pass\r\nSubject: hi\r\n\r\nbody\r\n",
                      "Received: by mx.example.test\r\n");
  runner.submit(e);
  runner.wait_idle();
  server.stop();

  EXPECT_EQ(server.log().connections, 1);
  const std::vector<std::string> text = {"Received: by mx.example.test", "Subject: hi", "", "body"};
  EXPECT_EQ(server.log().text_lines, text);  // our fields first, the forged Authentication-Results gone
  EXPECT_EQ(bed.mails("bob").size(), 1u);
  auto left = bed.spool->load(e.id);
  ASSERT_TRUE(left) << left.error().message;  // c waits for a retry
  const auto& r = left->recipients;
  const std::string host = "lmtp[127.0.0.1]:" + std::to_string(server.port());
  EXPECT_EQ(r[0].state, queue::RecipientState::delivered);
  EXPECT_EQ(r[0].last_host, host);
  EXPECT_EQ(r[1].state, queue::RecipientState::bounced);
  EXPECT_EQ(r[1].last_result, "550 5.1.1 <b@lmtp.test> User unknown");
  EXPECT_EQ(r[1].last_host, host);
  EXPECT_EQ(r[2].state, queue::RecipientState::delivered);
  EXPECT_EQ(r[2].last_host, "maildir");
  EXPECT_EQ(r[3].state, queue::RecipientState::pending);
  EXPECT_EQ(r[3].last_result, "452 4.2.2 <c@lmtp.test> Mailbox full");
  EXPECT_EQ(r[3].attempts, 1);
  EXPECT_GE(r[3].next_attempt, bed.clock.now() + 240);
  EXPECT_EQ(runner.stats().delivered, 2u);
  // c, and the bounce for b (delivery/notify.hpp), which waits for an
  // agent that can reach alice@example.org.
  EXPECT_EQ(runner.stats().deferred, 2u);
  EXPECT_EQ(runner.stats().notices, 1u);
}

TEST(QueueRunner, AMessageWhoseLmtpRecipientsAreDeliveredOrBouncedLeavesTheQueue) {
  test::LmtpScript script;
  script.after_dot["b@lmtp.test"] = "550 5.2.1 <b@lmtp.test> Mailbox disabled\r\n";
  test::LmtpTestServer server(script);
  Bed bed;
  bed.config.domains.push_back(lmtp_domain(server.port()));
  QueueRunner runner(*bed.spool, bed.config, bed.clock, {1, std::chrono::seconds(300), std::chrono::seconds(4000), false});
  auto e = bed.commit({"a@lmtp.test", "b@lmtp.test"}, "Subject: x\r\n\r\nbody\r\n");
  runner.submit(e);
  runner.wait_idle();
  server.stop();
  EXPECT_EQ(server.log().connections, 1);
  // The message left the queue; what waits there is the bounce for b, from
  // the null sender to alice@example.org.
  auto left = bed.spool->list();
  ASSERT_TRUE(left);
  ASSERT_EQ(left->size(), 1u);
  EXPECT_NE(left->front(), e.id);
  auto bounce = bed.spool->load(left->front());
  ASSERT_TRUE(bounce) << bounce.error().message;
  EXPECT_EQ(bounce->reverse_path, "");
  EXPECT_EQ(bounce->recipients.at(0).address, "alice@example.org");
  EXPECT_EQ(runner.stats().delivered, 1u);
  EXPECT_EQ(runner.stats().removed, 1u);
  EXPECT_EQ(runner.stats().notices, 1u);
}

TEST(QueueRunner, AnLmtpServerThatIsDownDefersItsRecipients) {
  std::uint16_t port = 0;
  {
    test::LmtpTestServer gone{test::LmtpScript{}};
    port = gone.port();
  }  // stopped: nothing listens there now
  Bed bed;
  bed.config.domains.push_back(lmtp_domain(port));
  QueueRunner runner(*bed.spool, bed.config, bed.clock, {1, std::chrono::seconds(300), std::chrono::seconds(4000), false});
  auto e = bed.commit({"a@lmtp.test", "b@lmtp.test"}, "Subject: x\r\n\r\n");
  runner.submit(e);
  runner.wait_idle();
  auto left = bed.spool->load(e.id);
  ASSERT_TRUE(left) << left.error().message;
  for (const auto& r : left->recipients) {
    EXPECT_EQ(r.state, queue::RecipientState::pending);
    EXPECT_NE(r.last_result.find("connect to lmtp[127.0.0.1]:" + std::to_string(port)), std::string::npos)
        << r.last_result;
  }
  EXPECT_EQ(runner.stats().deferred, 2u);
}

// --- relaying through the OutboundAgent -----------------------------------------------

using test::smtp_script;

// An agent that relays everything to the server on 127.0.0.2:port, named
// by address (relayhost "[127.0.0.2]:port": no DNS question is asked).
std::unique_ptr<OutboundAgent> relay_agent(std::uint16_t port, CacheLimits limits) {
  runtime::RuntimeOptions rt;
  rt.dns.forwarders = {"127.0.0.1"};
  rt.mta_sts.enabled = false;
  OutboundOptions o;
  o.ehlo_name = "mx.example.test";
  o.relayhost = policy::RelayHost{"127.0.0.2", IpAddress::parse("127.0.0.2"), port, false};
  o.timeouts.connect = std::chrono::seconds(5);
  o.timeouts.mail = std::chrono::seconds(5);
  o.connections = limits;
  auto agent = OutboundAgent::create(rt, o);
  if (!agent) throw std::runtime_error(agent.error().message);
  return std::move(*agent);
}

// One runner thread and a relay that hangs: the next message is relayed
// while the first still waits on the network (the thread is not held), and
// both end as they should: the hung one deferred, the other delivered.
TEST(QueueRunnerRelay, ARelayWaitingOnTheNetworkDoesNotHoldTheThread) {
  auto script = smtp_script();
  script.hang_on = "slow@remote.example";
  test::LmtpTestServer server(script, "127.0.0.2");
  Bed bed;
  auto agent = relay_agent(server.port(), CacheLimits{});
  RunnerOptions o{1, std::chrono::seconds(300), std::chrono::seconds(4000), false};
  o.outbound = agent.get();
  {
    QueueRunner runner(*bed.spool, bed.config, bed.clock, o);
    auto slow = bed.commit({"slow@remote.example"}, "Subject: slow\r\n\r\n");
    auto fast = bed.commit({"fast@remote.example"}, "Subject: fast\r\n\r\n");
    runner.submit(slow);
    runner.submit(fast);
    runner.wait_idle();
    EXPECT_FALSE(bed.spool->load(fast.id));  // delivered and removed
    auto left = bed.spool->load(slow.id);
    ASSERT_TRUE(left);
    EXPECT_EQ(left->recipients[0].state, queue::RecipientState::pending);
    EXPECT_EQ(left->recipients[0].attempts, 1);
    EXPECT_NE(left->recipients[0].last_result.find("[127.0.0.2]:" + std::to_string(server.port())), std::string::npos)
        << left->recipients[0].last_result;
    EXPECT_EQ(runner.stats().delivered, 1u);
    EXPECT_EQ(runner.stats().deferred, 1u);
  }
  agent.reset();  // QUITs the idle session
  server.stop();
  ASSERT_EQ(server.log().transactions, 1);
  EXPECT_EQ(server.log().open_at_dot[0], 2) << "the slow session was still open";
}

// Many messages, one thread: all relayed, within the connection limit
// (counted at the server), over reused connections.
TEST(QueueRunnerRelay, ManyMessagesShareFewConnectionsWithinTheLimit) {
  test::LmtpTestServer server(smtp_script(), "127.0.0.2");
  Bed bed;
  CacheLimits limits;
  limits.per_destination = 3;
  auto agent = relay_agent(server.port(), limits);
  RunnerOptions o{1, std::chrono::seconds(300), std::chrono::seconds(4000), false};
  o.outbound = agent.get();
  o.max_attempts = 8;  // the others wait their turn in the runner
  constexpr int kMessages = 40;
  {
    QueueRunner runner(*bed.spool, bed.config, bed.clock, o);
    for (int i = 0; i < kMessages; ++i) runner.submit(bed.commit({"u" + std::to_string(i) + "@remote.example"}, "Subject: x\r\n\r\n"));
    runner.wait_idle();
    EXPECT_TRUE(bed.spool->list()->empty());
    EXPECT_EQ(runner.stats().delivered, static_cast<std::uint64_t>(kMessages));
    EXPECT_EQ(runner.stats().removed, static_cast<std::uint64_t>(kMessages));
  }
  EXPECT_EQ(agent->counters().sessions_opened + agent->counters().sessions_reused, static_cast<std::uint64_t>(kMessages));
  agent.reset();
  server.stop();
  EXPECT_EQ(server.log().transactions, kMessages);
  EXPECT_LE(server.log().max_open, 3);
  EXPECT_LE(server.log().connections, 3);
}

}  // namespace
}  // namespace mxsec::delivery

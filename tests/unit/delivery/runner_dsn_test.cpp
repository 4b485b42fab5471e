// The queue runner's bounces and notices end to end on a spool and Maildirs,
// with a pinned clock: expiry after max_lifetime, one DSN to the sender
// (delivered into a local sender's Maildir, or waiting in the queue for a
// remote one), the null sender, NOTIFY=NEVER, the delay notice once across
// a restart, and NOTIFY=SUCCESS.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/date.hpp"
#include "delivery/runner.hpp"
#include "smtp/proto/command.hpp"
#include "unit/config/test_server_config.hpp"
#include "unit/delivery/dsn_reader.hpp"
#include "unit/queue/spool_test_util.hpp"

namespace mxsec::delivery {
namespace {

using namespace std::chrono_literals;
using test::one;

constexpr std::int64_t kStart = 1796300000;
constexpr std::int64_t kDay = 86400;

struct Sandbox {
  Sandbox() : config(mxsec::test::test_server_config(tmp.path())) {
    spool = queue::test::open_spool(queue::test::options_for(tmp.spool()));
  }

  // A message from `sender`; "dave@other.example" has no delivery agent, so
  // it stays pending until it expires.
  queue::Envelope commit(const std::string& sender, const std::string& to, unsigned notify = 0) {
    auto w = spool->create();
    EXPECT_TRUE(w);
    const std::string text = "From: " + sender + "\r\nSubject: for " + to + "\r\n\r\nhello\r\n";
    EXPECT_TRUE(w->write(text));
    queue::Envelope e;
    e.id = w->id();
    e.reverse_path = sender;
    queue::Recipient r;
    r.address = to;
    r.domain_ascii = to.substr(to.rfind('@') + 1);
    r.notify = notify;
    e.recipients.push_back(r);
    e.arrival = clock.now();
    e.text_bytes = text.size();
    EXPECT_TRUE(queue::test::commit_now(*spool, std::move(*w), e, ""));
    return e;
  }

  // Retries far beyond every test's clock: only flush() attempts again, so
  // no timer-driven attempt races the test.
  RunnerOptions options(std::chrono::seconds max_lifetime, std::chrono::seconds delay_warning) const {
    RunnerOptions o;
    o.threads = 2;
    o.min_backoff = 1000 * 24h;
    o.max_backoff = 1000 * 24h;
    o.fsync = false;
    o.max_lifetime = max_lifetime;
    o.delay_warning = delay_warning;
    return o;
  }

  // Commits, submits and waits until the runner is idle again.
  queue::Envelope submit(QueueRunner& runner, const std::string& sender, const std::string& to, unsigned notify = 0) {
    const queue::Envelope e = commit(sender, to, notify);
    runner.submit(e);
    runner.wait_idle();
    return e;
  }

  std::vector<std::string> mailbox(const std::string& user) const {
    std::vector<std::string> out;
    const auto dir = std::filesystem::path(tmp.path()) / "maildir/example.test" / user / "new";
    if (!std::filesystem::is_directory(dir)) return out;
    for (const auto& f : std::filesystem::directory_iterator(dir)) {
      std::ifstream in(f.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      out.push_back(ss.str());
    }
    return out;
  }

  std::vector<queue::Envelope> queued() const {
    std::vector<queue::Envelope> out;
    auto ids = spool->list();
    EXPECT_TRUE(ids);
    if (ids)
      for (const auto& id : *ids) out.push_back(*spool->load(id));
    return out;
  }

  queue::test::TempDir tmp;
  config::ServerConfig config;
  std::unique_ptr<queue::Spool> spool;
  FixedClock clock{kStart};
};

void run_now(QueueRunner& runner) {
  runner.flush();
  runner.wait_idle();
}

TEST(RunnerDsn, ExpiryBouncesAndALocalSenderGetsOneDsnInTheMaildir) {
  Sandbox s;
  QueueRunner runner(*s.spool, s.config, s.clock, s.options(std::chrono::seconds(kDay), 0s));
  const auto e = s.submit(runner, "alice@example.test", "dave@other.example");
  ASSERT_EQ(s.queued().size(), 1u);  // waiting: no delivery agent for other.example
  s.clock.set(kStart + kDay - 1);
  run_now(runner);
  EXPECT_TRUE(s.mailbox("alice").empty());
  ASSERT_EQ(s.queued().size(), 1u);

  s.clock.set(kStart + kDay);
  run_now(runner);
  EXPECT_TRUE(s.queued().empty());  // the original gave up, the DSN was delivered
  const auto mails = s.mailbox("alice");
  ASSERT_EQ(mails.size(), 1u);
  const auto d = test::read_dsn(mails[0]);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(one(d.fields, "to"), "<alice@example.test>");
  EXPECT_EQ(one(d.fields, "subject"), "Undelivered Mail Returned to Sender");
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[1], "final-recipient"), "rfc822; dave@other.example");
  EXPECT_EQ(one(d.status[1], "action"), "failed");
  EXPECT_EQ(one(d.status[1], "status"), "4.4.7");
  EXPECT_EQ(one(d.status[1], "final-log-id"), e.id);
  EXPECT_NE(one(d.status[1], "diagnostic-code").find("message expired after 1 day in the queue: no delivery agent"),
            std::string::npos);
  EXPECT_EQ(runner.stats().notices, 1u);
  // Nothing more on later runs.
  s.clock.set(kStart + 3 * kDay);
  run_now(runner);
  EXPECT_EQ(s.mailbox("alice").size(), 1u);
}

TEST(RunnerDsn, ARemoteSendersDsnWaitsInTheQueueFromTheNullSender) {
  Sandbox s;
  QueueRunner runner(*s.spool, s.config, s.clock, s.options(std::chrono::seconds(kDay), 0s));
  const auto e = s.submit(runner, "alice@other.example", "dave@other.example");
  s.clock.set(kStart + kDay);
  run_now(runner);
  const auto left = s.queued();
  ASSERT_EQ(left.size(), 1u);  // exactly one DSN, the original is gone
  EXPECT_NE(left[0].id, e.id);
  EXPECT_EQ(left[0].reverse_path, "");
  EXPECT_EQ(left[0].arrival, kStart + kDay);
  ASSERT_EQ(left[0].recipients.size(), 1u);
  EXPECT_EQ(left[0].recipients[0].address, "alice@other.example");
  EXPECT_EQ(left[0].recipients[0].state, queue::RecipientState::pending);
  EXPECT_EQ(left[0].recipients[0].attempts, 1);
  auto text = s.spool->open_message(left[0].id);
  ASSERT_TRUE(text);
  const auto d = test::read_dsn(text->text.view());
  EXPECT_EQ(one(d.fields, "to"), "<alice@other.example>");
  // The DSN expires in turn, and nothing is sent about it (its sender is
  // <>): a loop cannot start.
  s.clock.set(kStart + 2 * kDay);
  run_now(runner);
  EXPECT_TRUE(s.queued().empty());
  EXPECT_EQ(runner.stats().notices, 1u);
}

TEST(RunnerDsn, NoDsnToTheNullSender) {
  Sandbox s;
  QueueRunner runner(*s.spool, s.config, s.clock, s.options(0s, 0s));
  s.submit(runner, "", "dave@other.example");
  EXPECT_TRUE(s.queued().empty());
  EXPECT_EQ(runner.stats().notices, 0u);
}

TEST(RunnerDsn, NoDsnWithNotifyNever) {
  Sandbox s;
  QueueRunner runner(*s.spool, s.config, s.clock, s.options(0s, 0s));
  s.submit(runner, "alice@example.test", "dave@other.example", smtp::kNotifyNever);
  EXPECT_TRUE(s.queued().empty());
  EXPECT_TRUE(s.mailbox("alice").empty());
  EXPECT_EQ(runner.stats().notices, 0u);
}

TEST(RunnerDsn, TheDelayWarningIsSentOnceEvenAcrossARestart) {
  Sandbox s;
  const auto opts = s.options(std::chrono::seconds(5 * kDay), 4h);
  const auto e = s.commit("alice@example.test", "dave@other.example");
  {
    QueueRunner runner(*s.spool, s.config, s.clock, opts);
    runner.submit(e);
    runner.wait_idle();
    EXPECT_TRUE(s.mailbox("alice").empty());
    s.clock.set(kStart + 4 * 3600);
    run_now(runner);
    ASSERT_EQ(s.mailbox("alice").size(), 1u);
    auto kept = s.spool->load(e.id);
    ASSERT_TRUE(kept) << kept.error().message;
    EXPECT_TRUE(kept->delay_notified);
    s.clock.set(kStart + 6 * 3600);
    run_now(runner);
    EXPECT_EQ(s.mailbox("alice").size(), 1u);
  }
  {
    QueueRunner restarted(*s.spool, s.config, s.clock, opts);
    restarted.start();
    restarted.wait_idle();
    EXPECT_EQ(s.mailbox("alice").size(), 1u);
    EXPECT_EQ(restarted.stats().notices, 0u);
  }
  const auto d = test::read_dsn(s.mailbox("alice")[0]);
  EXPECT_EQ(one(d.fields, "subject"), "Delayed Mail (still being retried)");
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[1], "action"), "delayed");
  EXPECT_EQ(one(d.status[1], "will-retry-until"), rfc5322_date(kStart + 5 * kDay));
}

TEST(RunnerDsn, NotifySuccessOnALocalDeliveryGivesADeliveredDsn) {
  Sandbox s;
  QueueRunner runner(*s.spool, s.config, s.clock, s.options(std::chrono::seconds(5 * kDay), 4h));
  runner.submit(s.commit("alice@example.test", "bob@example.test", smtp::kNotifySuccess));
  runner.submit(s.commit("alice@example.test", "carol@example.test"));  // no SUCCESS asked
  runner.wait_idle();
  EXPECT_EQ(s.mailbox("bob").size(), 1u);
  EXPECT_EQ(s.mailbox("carol").size(), 1u);
  const auto mails = s.mailbox("alice");
  ASSERT_EQ(mails.size(), 1u);
  const auto d = test::read_dsn(mails[0]);
  EXPECT_EQ(one(d.fields, "subject"), "Successful Mail Delivery Report");
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[1], "final-recipient"), "rfc822; bob@example.test");
  EXPECT_EQ(one(d.status[1], "action"), "delivered");
  EXPECT_TRUE(s.queued().empty());
}

TEST(RunnerDsn, OptionsFromTheQueueSection) {
  config::QueueConfig q;
  q.max_lifetime = 3600s;
  q.delay_warning = 0s;
  q.min_backoff = 10s;
  q.max_backoff = 20s;
  const RunnerOptions o = runner_options(q);
  EXPECT_EQ(o.max_lifetime, 3600s);
  EXPECT_EQ(o.delay_warning, 0s);
  EXPECT_EQ(o.min_backoff, 10s);
  EXPECT_EQ(o.max_backoff, 20s);
  EXPECT_EQ(RunnerOptions{}.max_lifetime, config::QueueConfig{}.max_lifetime);
}

}  // namespace
}  // namespace mxsec::delivery

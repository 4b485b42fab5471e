// Tests for delivery/notify.hpp on a real spool: expiry, which recipients a
// DSN covers (NOTIFY, RFC 3461 §4.1), the null sender, the delay notice
// once, success notices, and a DSN that cannot be queued. A permanent
// failure is made the way a delivery agent makes it: the recipient is set
// `bounced` with the server's reply after the snapshot.
#include "delivery/notify.hpp"

#include <gtest/gtest.h>

#include "core/date.hpp"
#include "smtp/proto/command.hpp"
#include "unit/config/test_server_config.hpp"
#include "unit/delivery/dsn_reader.hpp"
#include "unit/queue/spool_test_util.hpp"

namespace mxsec::delivery {
namespace {

using namespace std::chrono_literals;
using test::one;

constexpr std::int64_t kNow = 1796300000;
const std::string kText = "From: alice@example.org\r\nSubject: hello\r\n\r\nbody\r\n";

queue::Recipient rcpt(const std::string& address, unsigned notify = 0) {
  queue::Recipient r;
  r.address = address;
  r.domain_ascii = address.substr(address.rfind('@') + 1);
  r.notify = notify;
  return r;
}

// What a delivery agent does with a permanent failure.
void agent_bounces(queue::Recipient& r, const std::string& reply) {
  ++r.attempts;
  r.state = queue::RecipientState::bounced;
  r.last_result = reply;
  r.last_host = "lmtp.example.test[192.0.2.24]:24";
}

// What a delivery agent does with a success.
void agent_delivers(queue::Recipient& r, const std::string& result, const std::string& host) {
  ++r.attempts;
  r.state = queue::RecipientState::delivered;
  r.last_result = result;
  r.last_host = host;
}

void agent_defers(queue::Recipient& r, const std::string& reason) {
  ++r.attempts;
  r.last_result = reason;
}

class Notify : public ::testing::Test {
 protected:
  Notify() : config_(mxsec::test::test_server_config(tmp_.path())) {
    spool_ = queue::test::open_spool(queue::test::options_for(tmp_.spool()));
  }

  queue::Envelope message(std::vector<queue::Recipient> recipients, std::string sender = "alice@example.org") {
    queue::Envelope e;
    e.id = "0HOQJ7K6VC6KO1KA";
    e.reverse_path = std::move(sender);
    e.recipients = std::move(recipients);
    e.arrival = kNow - 60;
    return e;
  }

  std::vector<queue::Envelope> notify(queue::Envelope& e, const Snapshot& before, const NotifyOptions& o = {}) {
    const std::vector<std::string_view> original{kText};
    return notify_sender(*spool_, config_, e, before, original, kNow, o);
  }

  // The DSN messages in the spool, read back.
  std::vector<test::ReadDsn> queued_dsns() {
    std::vector<test::ReadDsn> out;
    auto ids = spool_->list();
    EXPECT_TRUE(ids);
    for (const auto& id : ids ? *ids : std::vector<queue::QueueId>{}) {
      auto m = spool_->open_message(id);
      EXPECT_TRUE(m);
      if (m) out.push_back(test::read_dsn(m->text.view()));
    }
    return out;
  }

  queue::test::TempDir tmp_;
  config::ServerConfig config_;
  std::unique_ptr<queue::Spool> spool_;
};

TEST(NotifyAllows, Rfc3461Defaults) {
  using smtp::kNotifyDelay;
  using smtp::kNotifyFailure;
  using smtp::kNotifyNever;
  using smtp::kNotifySuccess;
  EXPECT_TRUE(notify_allows(0, kNotifyFailure));
  EXPECT_TRUE(notify_allows(0, kNotifyDelay));
  EXPECT_FALSE(notify_allows(0, kNotifySuccess));
  for (unsigned flag : {kNotifyFailure, kNotifyDelay, kNotifySuccess}) EXPECT_FALSE(notify_allows(kNotifyNever, flag));
  EXPECT_TRUE(notify_allows(kNotifySuccess, kNotifySuccess));
  EXPECT_FALSE(notify_allows(kNotifySuccess, kNotifyFailure));
  EXPECT_FALSE(notify_allows(kNotifyFailure, kNotifyDelay));
  EXPECT_TRUE(notify_allows(kNotifyFailure | kNotifyDelay, kNotifyDelay));
}

TEST(Expire, OnlyTriedRecipientsOfAnOldEnoughMessage) {
  queue::Envelope e;
  e.id = "0HOQJ7K6VC6KO1KA";
  e.arrival = kNow - 5 * 86400;
  e.recipients = {rcpt("a@x.example"), rcpt("b@x.example"), rcpt("c@x.example")};
  agent_defers(e.recipients[0], "451 4.3.0 try later");
  e.recipients[1].state = queue::RecipientState::delivered;
  e.recipients[1].attempts = 1;
  // c was never tried: it gets its attempt first.
  queue::Envelope young = e;
  EXPECT_TRUE(expire(young, kNow, std::chrono::seconds(5 * 86400 + 1)).empty());
  EXPECT_EQ(young.recipients[0].state, queue::RecipientState::pending);
  EXPECT_EQ(expire(e, kNow, std::chrono::seconds(5 * 86400)), std::vector<std::size_t>{0});
  EXPECT_EQ(e.recipients[0].state, queue::RecipientState::bounced);
  EXPECT_EQ(e.recipients[0].last_result, "message expired after 5 days in the queue: 451 4.3.0 try later");
  EXPECT_EQ(e.recipients[1].state, queue::RecipientState::delivered);
  EXPECT_EQ(e.recipients[2].state, queue::RecipientState::pending);
}

TEST(Expire, ZeroLifetimeGivesUpAfterTheFirstFailure) {
  queue::Envelope e;
  e.arrival = kNow - 90;
  e.recipients = {rcpt("a@x.example")};
  agent_defers(e.recipients[0], "no delivery agent yet for this destination");
  ASSERT_EQ(expire(e, kNow, 0s).size(), 1u);
  EXPECT_EQ(e.recipients[0].last_result,
            "message expired after 1 minute in the queue: no delivery agent yet for this destination");
}

TEST_F(Notify, AnAgentsPermanentFailuresGiveOneDsnForAllOfThem) {
  queue::Envelope e = message({rcpt("bob@example.test"), rcpt("carol@example.test"), rcpt("dave@example.test")});
  e.envid = "QQ314159";
  e.recipients[1].orcpt = "rfc822;Carol@Example.Test";
  const Snapshot before = snapshot(e);
  agent_bounces(e.recipients[0], "550 5.1.1 <bob@example.test> User unknown");
  agent_bounces(e.recipients[1], "552 5.2.2 <carol@example.test> Mailbox full");
  e.recipients[1].last_host = "lmtp[127.0.0.1]:24";  // the LMTP agent's form
  agent_defers(e.recipients[2], "451 4.3.0 try later");
  const auto queued = notify(e, before);
  ASSERT_EQ(queued.size(), 1u);
  const queue::Envelope& d = queued[0];
  EXPECT_EQ(d.reverse_path, "");
  ASSERT_EQ(d.recipients.size(), 1u);
  EXPECT_EQ(d.recipients[0].address, "alice@example.org");
  EXPECT_EQ(d.recipients[0].domain_ascii, "example.org");
  EXPECT_EQ(d.recipients[0].state, queue::RecipientState::pending);
  // Durable in the spool, with the envelope returned.
  auto loaded = spool_->load(d.id);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->reverse_path, "");
  EXPECT_EQ(loaded->text_bytes, d.text_bytes);

  const auto dsns = queued_dsns();
  ASSERT_EQ(dsns.size(), 1u);
  const auto& r = dsns[0];
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(one(r.fields, "to"), "<alice@example.org>");
  EXPECT_EQ(one(r.fields, "message-id"), "<" + d.id + "@mx.example.test>");
  ASSERT_EQ(r.status.size(), 3u);  // the message, bob, carol (dave is still pending)
  EXPECT_EQ(one(r.status[0], "original-envelope-id"), "QQ314159");
  EXPECT_EQ(one(r.status[0], "reporting-mta"), "dns; mx.example.test");
  EXPECT_EQ(one(r.status[1], "final-recipient"), "rfc822; bob@example.test");
  EXPECT_EQ(one(r.status[1], "status"), "5.1.1");
  EXPECT_EQ(one(r.status[1], "remote-mta"), "dns; lmtp.example.test");
  EXPECT_EQ(one(r.status[1], "diagnostic-code"), "smtp; 550 5.1.1 <bob@example.test> User unknown");
  EXPECT_EQ(one(r.status[1], "last-attempt-date"), rfc5322_date(kNow));
  EXPECT_EQ(one(r.status[2], "original-recipient"), "rfc822;Carol@Example.Test");
  EXPECT_EQ(one(r.status[2], "status"), "5.2.2");
  EXPECT_EQ(one(r.status[2], "remote-mta"), "dns; 127.0.0.1");
  EXPECT_EQ(r.parts.size(), 3u);
  EXPECT_EQ(r.parts[2].body, kText);
}

TEST_F(Notify, NotifyDecidesWhoIsReported) {
  queue::Envelope e = message({rcpt("never@example.test", smtp::kNotifyNever),
                               rcpt("success@example.test", smtp::kNotifySuccess),
                               rcpt("failure@example.test", smtp::kNotifyFailure | smtp::kNotifyDelay)});
  const Snapshot before = snapshot(e);
  for (auto& r : e.recipients) agent_bounces(r, "550 5.1.1 unknown");
  ASSERT_EQ(notify(e, before).size(), 1u);
  const auto dsns = queued_dsns();
  ASSERT_EQ(dsns.size(), 1u);
  ASSERT_EQ(dsns[0].status.size(), 2u);
  EXPECT_EQ(one(dsns[0].status[1], "final-recipient"), "rfc822; failure@example.test");
}

TEST_F(Notify, NotifyNeverForAllMeansNoDsn) {
  queue::Envelope e = message({rcpt("never@example.test", smtp::kNotifyNever)});
  const Snapshot before = snapshot(e);
  agent_bounces(e.recipients[0], "550 5.1.1 unknown");
  EXPECT_TRUE(notify(e, before).empty());
  EXPECT_TRUE(spool_->list()->empty());
  EXPECT_EQ(e.recipients[0].state, queue::RecipientState::bounced);
}

TEST_F(Notify, OnlyRecipientsBouncedInThisAttemptAreReported) {
  queue::Envelope e = message({rcpt("old@example.test"), rcpt("new@example.test")});
  agent_bounces(e.recipients[0], "550 5.1.1 reported before");
  const Snapshot before = snapshot(e);
  agent_bounces(e.recipients[1], "550 5.1.1 unknown");
  ASSERT_EQ(notify(e, before).size(), 1u);
  const auto dsns = queued_dsns();
  ASSERT_EQ(dsns[0].status.size(), 2u);
  EXPECT_EQ(one(dsns[0].status[1], "final-recipient"), "rfc822; new@example.test");
}

// RFC 5321 §6.1: never a notification to the null sender.
TEST_F(Notify, NeverToTheNullSender) {
  queue::Envelope e = message({rcpt("bob@example.test", smtp::kNotifyFailure | smtp::kNotifyDelay)}, "");
  e.arrival = kNow - 5 * 3600;
  const Snapshot before = snapshot(e);
  agent_defers(e.recipients[0], "451 4.3.0 try later");
  EXPECT_TRUE(notify(e, before, {5 * 24h, 4h, 300s}).empty());  // delay due, but to <>
  EXPECT_TRUE(e.delay_notified);
  const Snapshot again = snapshot(e);
  agent_bounces(e.recipients[0], "550 5.1.1 unknown");
  EXPECT_TRUE(notify(e, again).empty());
  EXPECT_TRUE(spool_->list()->empty());
}

// RFC 3463 X.4.7: the last problem's own code where there is one, else 4.4.7.
TEST_F(Notify, ExpiryReportsTheLastProblemsCodeElse447) {
  queue::Envelope e = message({rcpt("dave@other.example"), rcpt("erin@other.example")});
  e.arrival = kNow - 5 * 86400;
  const Snapshot before = snapshot(e);
  agent_defers(e.recipients[0], "451 4.4.1 connection timed out");
  agent_defers(e.recipients[1], "no delivery agent yet for this destination");
  ASSERT_EQ(notify(e, before).size(), 1u);
  EXPECT_EQ(e.recipients[0].state, queue::RecipientState::bounced);
  const auto dsns = queued_dsns();
  ASSERT_EQ(dsns.size(), 1u);
  ASSERT_EQ(dsns[0].status.size(), 3u);
  EXPECT_EQ(one(dsns[0].status[1], "action"), "failed");
  EXPECT_EQ(one(dsns[0].status[1], "status"), "4.4.1");
  EXPECT_EQ(one(dsns[0].status[1], "diagnostic-code"),
            "X-mxsec; message expired after 5 days in the queue: 451 4.4.1 connection timed out");
  EXPECT_EQ(one(dsns[0].status[2], "status"), "4.4.7");
}

TEST_F(Notify, TheDelayNoticeIsSentOnce) {
  queue::Envelope e = message({rcpt("bob@example.test"), rcpt("quiet@example.test", smtp::kNotifyFailure)});
  e.arrival = kNow - 4 * 3600;
  const NotifyOptions o{5 * 24h, 4h, 300s};
  // Not yet due a second earlier.
  queue::Envelope early = e;
  early.arrival += 1;
  EXPECT_TRUE(notify(early, snapshot(early), o).empty());
  EXPECT_FALSE(early.delay_notified);

  const Snapshot before = snapshot(e);
  agent_defers(e.recipients[0], "451 4.2.0 mailbox busy");
  ASSERT_EQ(notify(e, before, o).size(), 1u);
  EXPECT_TRUE(e.delay_notified);
  const auto dsns = queued_dsns();
  ASSERT_EQ(dsns.size(), 1u);
  EXPECT_EQ(one(dsns[0].fields, "subject"), "Delayed Mail (still being retried)");
  ASSERT_EQ(dsns[0].status.size(), 2u);  // quiet asked for FAILURE only
  EXPECT_EQ(one(dsns[0].status[1], "final-recipient"), "rfc822; bob@example.test");
  EXPECT_EQ(one(dsns[0].status[1], "action"), "delayed");
  EXPECT_EQ(one(dsns[0].status[1], "status"), "4.2.0");
  EXPECT_EQ(one(dsns[0].status[1], "will-retry-until"), rfc5322_date(e.arrival + 5 * 86400));
  EXPECT_EQ(one(dsns[0].parts[2].fields, "content-type"), "text/rfc822-headers");
  // Later attempts do not repeat it.
  EXPECT_TRUE(notify(e, snapshot(e), o).empty());
  EXPECT_EQ(spool_->list()->size(), 1u);
}

TEST_F(Notify, DelayNoticesCanBeTurnedOff) {
  queue::Envelope e = message({rcpt("bob@example.test")});
  e.arrival = kNow - 30 * 86400;
  EXPECT_TRUE(notify(e, snapshot(e), {365 * 24h, 0s, 300s}).empty());
  EXPECT_FALSE(e.delay_notified);
}

TEST_F(Notify, SuccessOnlyForLocalMailboxDeliveriesThatAskedForIt) {
  queue::Envelope e = message({rcpt("bob@example.test", smtp::kNotifySuccess),
                               rcpt("carol@example.test"), rcpt("relayed@other.example", smtp::kNotifySuccess)});
  const Snapshot before = snapshot(e);
  for (auto& r : e.recipients) agent_delivers(r, "delivered to /var/mail/example.test/x/new/1.M2P3Q4.mx", "maildir");
  // Relayed to a server that offered DSN: the NOTIFY went on, nothing from us.
  e.recipients[2].dsn_passed_on = true;
  ASSERT_EQ(notify(e, before).size(), 1u);
  const auto dsns = queued_dsns();
  ASSERT_EQ(dsns.size(), 1u);
  EXPECT_EQ(one(dsns[0].fields, "subject"), "Successful Mail Delivery Report");
  ASSERT_EQ(dsns[0].status.size(), 2u);
  EXPECT_EQ(one(dsns[0].status[1], "final-recipient"), "rfc822; bob@example.test");
  EXPECT_EQ(one(dsns[0].status[1], "action"), "delivered");
  EXPECT_EQ(one(dsns[0].status[1], "status"), "2.0.0");
  // The mailbox path is the server's business, not the sender's.
  EXPECT_FALSE(test::has(dsns[0].status[1], "diagnostic-code"));
  EXPECT_FALSE(test::has(dsns[0].status[1], "remote-mta"));
}

// RFC 3461 §5.2.2: relayed to a server that does not offer DSN, a recipient
// that asked for SUCCESS gets a "relayed" DSN from us; one whose server took
// its NOTIFY (§5.2.1), or that did not ask, gets none.
TEST_F(Notify, RelayedDsnWhenTheNextHopDidNotTakeTheNotify) {
  queue::Envelope e = message({rcpt("asked@other.example", smtp::kNotifySuccess | smtp::kNotifyFailure),
                               rcpt("passed@other.example", smtp::kNotifySuccess),
                               rcpt("silent@other.example"), rcpt("never@other.example", smtp::kNotifyNever)});
  e.recipients[0].orcpt = "rfc822;Asked@Other.Example";
  e.envid = "ENV-1";
  const Snapshot before = snapshot(e);
  for (auto& r : e.recipients) agent_delivers(r, "250 2.0.0 Ok: queued as 4711", "mx.other.example[192.0.2.25]:25");
  e.recipients[1].dsn_passed_on = true;
  ASSERT_EQ(notify(e, before).size(), 1u);
  const auto dsns = queued_dsns();
  ASSERT_EQ(dsns.size(), 1u);
  const auto& d = dsns[0];
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(one(d.fields, "subject"), "Successful Mail Delivery Report");
  EXPECT_EQ(one(d.fields, "to"), "<alice@example.org>");
  ASSERT_EQ(d.status.size(), 2u);  // the per-message group and one recipient
  EXPECT_EQ(one(d.status[0], "original-envelope-id"), "ENV-1");
  EXPECT_EQ(one(d.status[1], "final-recipient"), "rfc822; asked@other.example");
  EXPECT_EQ(one(d.status[1], "original-recipient"), "rfc822;Asked@Other.Example");
  EXPECT_EQ(one(d.status[1], "action"), "relayed");
  EXPECT_EQ(one(d.status[1], "status"), "2.0.0");
  EXPECT_EQ(one(d.status[1], "remote-mta"), "dns; mx.other.example");
  EXPECT_EQ(one(d.status[1], "diagnostic-code"), "smtp; 250 2.0.0 Ok: queued as 4711");
  EXPECT_EQ(one(d.parts[2].fields, "content-description"), "Relayed Message Headers");
  const std::string human = test::squeezed(d.parts[0].body);
  EXPECT_NE(human.find("does not offer delivery status notifications"), std::string::npos) << human;
  EXPECT_NE(human.find("<asked@other.example>: relayed"), std::string::npos) << human;
}

TEST_F(Notify, NoRelayedDsnForTheNullSenderOrARecipientStillPending) {
  queue::Envelope from_null = message({rcpt("asked@other.example", smtp::kNotifySuccess)}, "");
  const Snapshot before_null = snapshot(from_null);
  agent_delivers(from_null.recipients[0], "250 2.0.0 Ok", "mx.other.example[192.0.2.25]:25");
  EXPECT_TRUE(notify(from_null, before_null).empty());

  queue::Envelope deferred = message({rcpt("asked@other.example", smtp::kNotifySuccess)});
  const Snapshot before = snapshot(deferred);
  agent_defers(deferred.recipients[0], "451 4.3.0 later");
  EXPECT_TRUE(notify(deferred, before).empty());
  EXPECT_TRUE(queued_dsns().empty());
}

TEST_F(Notify, AUtf8SenderGetsAGlobalDsnRoutedByItsALabelDomain) {
  queue::Envelope e = message({rcpt("bob@example.test")}, "j\xc3\xb6rg@b\xc3\xbc\x63her.example");
  e.smtputf8 = true;
  e.requiretls = true;
  const Snapshot before = snapshot(e);
  agent_bounces(e.recipients[0], "550 5.1.1 unknown");
  const auto queued = notify(e, before);
  ASSERT_EQ(queued.size(), 1u);
  EXPECT_EQ(queued[0].recipients[0].address, "j\xc3\xb6rg@b\xc3\xbc\x63her.example");
  EXPECT_EQ(queued[0].recipients[0].domain_ascii, "xn--bcher-kva.example");
  EXPECT_TRUE(queued[0].smtputf8);
  EXPECT_TRUE(queued[0].requiretls);  // RFC 8689: the headers it returns stay under REQUIRETLS
}

// A DSN that cannot be queued (here: a sender that is not UTF-8, which the
// spool refuses) loses nothing: the recipients wait and try again.
TEST_F(Notify, ADsnThatCannotBeQueuedLeavesItsRecipientsPending) {
  queue::Envelope e = message({rcpt("bob@example.test"), rcpt("dave@other.example")}, "alice\xff@example.org");
  e.arrival = kNow - 5 * 86400;
  const Snapshot before = snapshot(e);
  agent_bounces(e.recipients[0], "550 5.1.1 unknown");
  agent_defers(e.recipients[1], "451 4.4.1 timed out");
  EXPECT_TRUE(notify(e, before, {5 * 24h, 4h, 600s}).empty());
  EXPECT_TRUE(spool_->list()->empty());
  for (const auto& r : e.recipients) {
    EXPECT_EQ(r.state, queue::RecipientState::pending) << r.address;
    EXPECT_EQ(r.next_attempt, kNow + 600) << r.address;
  }
  EXPECT_EQ(e.recipients[1].last_result, "451 4.4.1 timed out");  // not "expired ... : expired ..." next time
  EXPECT_FALSE(e.delay_notified);
}

}  // namespace
}  // namespace mxsec::delivery

// Tests for delivery/lmtp.cpp: the LMTP client against a scripted server
// (lmtp_server.hpp), over the in-memory stream for the dialogue and on
// 127.0.0.1 for the blocking deliver_lmtp(). The client is judged by the
// verdicts it returns and by the commands and text the server received. No
// timing assertions: deadlines are short and only their outcome is checked.
#include "delivery/lmtp.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstring>

#include "unit/delivery/lmtp_server.hpp"
#include "unit/smtp/run_coroutines.hpp"

namespace mxsec::delivery {
namespace {

using std::chrono::milliseconds;

LmtpOptions fast() {
  LmtpOptions o;
  o.lhlo_name = "mx.example.test";
  o.timeouts.command = milliseconds(5000);
  o.timeouts.data = milliseconds(5000);
  o.timeouts.data_done = milliseconds(5000);
  o.timeouts.session = milliseconds(20000);
  return o;
}

const std::string kText = "Received: by mx.example.test\r\nSubject: hi\r\n\r\nbody\r\n";

struct Talk {
  std::vector<LmtpOutcome> outcomes;
  test::LmtpServerLog log;
  std::size_t client_bytes_read = 0;
};

// One dialogue over the in-memory pair.
Talk talk_envelope(const test::LmtpScript& script, const LmtpEnvelope& envelope,
                   const std::vector<std::string_view>& slices, const LmtpOptions& options = fast()) {
  asio::io_context io;
  auto ends = smtp::make_memory_pair(io.get_executor());
  smtp::SessionConfig config;
  config.timeouts.session = milliseconds(20000);
  auto client = smtp::Connection::over_memory(std::move(ends.client), config);
  auto server = smtp::Connection::over_memory(std::move(ends.server), config);
  Talk t;
  test::run(io, {[&]() -> asio::awaitable<void> {
                   std::string peer = "lmtp[127.0.0.1]:24";
                   t.outcomes = co_await lmtp_dialogue(client, std::move(peer), envelope, slices, options);
                   t.client_bytes_read = client.counters().bytes_read;
                 },
                 [&]() -> asio::awaitable<void> { co_await test::serve_lmtp(std::move(server), script, t.log); }});
  EXPECT_EQ(t.outcomes.size(), envelope.recipients.size());
  return t;
}

Talk talk(const test::LmtpScript& script, std::vector<std::string_view> recipients,
          const std::vector<std::string_view>& slices = {kText}, bool smtputf8 = false) {
  LmtpEnvelope e;
  e.reverse_path = "alice@example.org";
  e.recipients = std::move(recipients);
  e.smtputf8 = smtputf8;
  return talk_envelope(script, e, slices);
}

bool has_command(const test::LmtpServerLog& log, std::string_view prefix) {
  for (const auto& c : log.commands)
    if (test::starts_with_ci(c, prefix)) return true;
  return false;
}

std::string status(const LmtpOutcome& o) { return to_string(o.status); }

// The verdicts, one "status enhanced-code text" line per recipient.
std::vector<std::string> verdicts(const Talk& t) {
  std::vector<std::string> out;
  for (const auto& o : t.outcomes) out.push_back(status(o) + " " + o.enhanced.to_string() + " " + o.text);
  return out;
}

TEST(LmtpClient, EachRecipientGetsTheVerdictOfItsOwnReply) {
  struct Case {
    const char* what;
    std::map<std::string, std::string> rcpt;       // replies to RCPT (default 250)
    std::map<std::string, std::string> after_dot;  // replies after "." (default 250)
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {"250, 450 and 552 after the dot",
       {},
       {{"b@store.test", "450 4.2.1 <b@store.test> Mailbox busy\r\n"},
        {"c@store.test", "552 5.2.2 <c@store.test> Quota exceeded\r\n"}},
       {"sent 2.0.0 250 2.0.0 <a@store.test> 1234 Saved", "deferred 4.2.1 450 4.2.1 <b@store.test> Mailbox busy",
        "bounced 5.2.2 552 5.2.2 <c@store.test> Quota exceeded"}},
      // RFC 2033 §4.2: replies after "." only for the successful RCPTs. The
      // server sends two; a client that waited for three would time out and
      // defer everyone.
      {"a RCPT refused at RCPT has no reply after the dot",
       {{"b@store.test", "550 5.1.1 <b@store.test> User unknown\r\n"}},
       {{"c@store.test", "452 4.2.2 <c@store.test> Mailbox full\r\n"}},
       {"sent 2.0.0 250 2.0.0 <a@store.test> 1234 Saved", "bounced 5.1.1 550 5.1.1 <b@store.test> User unknown",
        "deferred 4.2.2 452 4.2.2 <c@store.test> Mailbox full"}},
  };
  for (const auto& c : cases) {
    test::LmtpScript s;
    s.rcpt = c.rcpt;
    s.after_dot = c.after_dot;
    auto t = talk(s, {"a@store.test", "b@store.test", "c@store.test"});
    EXPECT_EQ(verdicts(t), c.want) << c.what;
    EXPECT_TRUE(t.log.end_of_data) << c.what;
    EXPECT_TRUE(t.log.quit) << c.what;
  }
}

TEST(LmtpClient, SpeaksLhloMailRcptDataQuit) {
  auto t = talk(test::LmtpScript{}, {"a@store.test", "b@store.test"});
  const std::vector<std::string> want = {"LHLO mx.example.test",   "MAIL FROM:<alice@example.org>",
                                         "RCPT TO:<a@store.test>", "RCPT TO:<b@store.test>",
                                         "DATA",                   "QUIT"};
  EXPECT_EQ(t.log.commands, want);
}

TEST(LmtpClient, NoAcceptedRecipientMeansNoData) {
  test::LmtpScript s;
  s.rcpt["a@store.test"] = "550 5.1.1 <a@store.test> User unknown\r\n";
  s.rcpt["b@store.test"] = "451 4.3.0 <b@store.test> Temporary failure\r\n";
  auto t = talk(s, {"a@store.test", "b@store.test"});
  EXPECT_EQ(status(t.outcomes[0]), "bounced");
  EXPECT_EQ(status(t.outcomes[1]), "deferred");
  EXPECT_FALSE(has_command(t.log, "DATA"));
  EXPECT_TRUE(t.log.quit);
}

TEST(LmtpClient, PipelinesMailAndRcptOnlyWhenOffered) {
  test::LmtpScript with;
  auto t = talk(with, {"a@store.test", "b@store.test"});
  ASSERT_GE(t.log.pipelined.size(), 4u);
  EXPECT_TRUE(t.log.pipelined[1]);   // MAIL had the RCPTs behind it
  EXPECT_FALSE(t.log.pipelined[0]);  // LHLO waits for its reply (RFC 2920 §3.1)

  test::LmtpScript without;
  without.lhlo = "250-store.test\r\n250 ENHANCEDSTATUSCODES\r\n";
  auto u = talk(without, {"a@store.test", "b@store.test"});
  EXPECT_EQ(status(u.outcomes[0]), "sent");
  EXPECT_EQ(status(u.outcomes[1]), "sent");
  ASSERT_FALSE(u.log.pipelined.empty());
  for (std::size_t i = 0; i < u.log.pipelined.size(); ++i)
    EXPECT_FALSE(u.log.pipelined[i]) << u.log.commands[i] << " was sent before the reply to the one before";
}

TEST(LmtpClient, PipelinedGroupsAreBounded) {
  test::LmtpScript s;
  std::vector<std::string> names;
  for (int i = 0; i < 250; ++i) names.push_back("r" + std::to_string(1000 + i) + "@store.test");
  std::vector<std::string_view> rcpts(names.begin(), names.end());
  s.rcpt[names[120]] = "550 5.1.1 unknown\r\n";
  auto t = talk(s, rcpts);
  ASSERT_EQ(t.outcomes.size(), 250u);
  for (std::size_t i = 0; i < 250; ++i) EXPECT_EQ(status(t.outcomes[i]), i == 120 ? "bounced" : "sent") << i;
  // MAIL + 100 RCPT, 100 RCPT, 50 RCPT: a group's last command is the only
  // one with nothing behind it.
  int group_ends = 0;
  for (std::size_t i = 0; i < t.log.commands.size(); ++i)
    if ((test::starts_with_ci(t.log.commands[i], "MAIL") || test::starts_with_ci(t.log.commands[i], "RCPT")) &&
        !t.log.pipelined[i])
      ++group_ends;
  EXPECT_EQ(group_ends, 3);
}

TEST(LmtpClient, DotStuffsAndEndsWithCrlfDotCrlf) {
  test::LmtpScript s;
  // A CRLF and a line start split across slices; a last line without CRLF.
  const std::vector<std::string_view> slices = {"Received: x\r", "\n.dot\r\n", "..two\r\n\r\n.\r\n", "a.b\r\n", "."};
  auto t = talk(s, {"a@store.test"}, slices);
  EXPECT_EQ(status(t.outcomes[0]), "sent");
  const std::vector<std::string> want = {"Received: x", "..dot", "...two", "", "..", "a.b", ".."};
  EXPECT_EQ(t.log.text_lines, want);
}

TEST(LmtpClient, ServerClosingMidDataDefersEveryoneAndDeliversNobody) {
  test::LmtpScript s;
  s.close_mid_data = true;
  auto t = talk(s, {"a@store.test", "b@store.test"});
  for (const auto& o : t.outcomes) {
    EXPECT_EQ(status(o), "deferred");
    EXPECT_NE(o.text.find("lost connection with lmtp[127.0.0.1]:24"), std::string::npos) << o.text;
  }
  EXPECT_FALSE(t.log.end_of_data);
}

TEST(LmtpClient, ConnectionLostAfterSomeRepliesKeepsThoseVerdicts) {
  test::LmtpScript s;
  // The server answers for a, then its reply for b is cut short.
  s.after_dot["b@store.test"] = "250 2.0.0 <b@store";
  s.close_after_dot = true;
  auto t = talk(s, {"a@store.test", "b@store.test"});
  EXPECT_EQ(status(t.outcomes[0]), "sent");
  EXPECT_EQ(status(t.outcomes[1]), "deferred");
}

TEST(LmtpClient, GreetingOtherThan220Defers) {
  for (const char* greeting : {"421 4.3.2 Service shutting down\r\n", "554 5.3.2 No service here\r\n"}) {
    test::LmtpScript s;
    s.greeting = greeting;
    auto t = talk(s, {"a@store.test", "b@store.test"});
    const std::string reply(greeting, std::strlen(greeting) - 2);
    for (const auto& o : t.outcomes) {
      EXPECT_EQ(status(o), "deferred") << greeting;
      EXPECT_NE(o.text.find(reply), std::string::npos) << o.text;
      EXPECT_EQ(o.enhanced.klass, 4);
    }
    EXPECT_FALSE(has_command(t.log, "MAIL"));
    EXPECT_TRUE(t.log.quit);
  }
  // A refused LHLO (an SMTP server on the LMTP port) defers as well.
  test::LmtpScript smtp_port;
  smtp_port.lhlo = "500 5.5.2 Error: command not recognized\r\n";
  auto u = talk(smtp_port, {"a@store.test"});
  EXPECT_EQ(status(u.outcomes[0]), "deferred");
  EXPECT_NE(u.outcomes[0].text.find("refused the session in its reply to LHLO: 500 5.5.2"), std::string::npos)
      << u.outcomes[0].text;
}

TEST(LmtpClient, EndlessReplyLineHitsTheLimitAndDefers) {
  test::LmtpScript s;
  s.endless_lhlo_reply = true;
  auto t = talk(s, {"a@store.test"});
  EXPECT_EQ(status(t.outcomes[0]), "deferred");
  EXPECT_NE(t.outcomes[0].text.find("bad reply"), std::string::npos) << t.outcomes[0].text;
  EXPECT_EQ(t.outcomes[0].enhanced, (smtp::EnhancedStatus{4, 5, 0}));
  EXPECT_FALSE(has_command(t.log, "MAIL"));
  // Read no further than the line limit and one read chunk, whatever was sent.
  EXPECT_LE(t.client_bytes_read, limits::kSmtpReplyLineBytes + 2 * limits::kSmtpReadChunkBytes);
  // The server stopped because the client closed, not at its own 16 MiB cap.
  EXPECT_LT(t.log.endless_bytes, 4096u * 4096u);
}

TEST(LmtpClient, TooManyReplyLinesHitTheLimitAndDefer) {
  test::LmtpScript s;
  s.lhlo.clear();
  for (int i = 0; i < 500; ++i) s.lhlo += "250-X-FILLER-" + std::to_string(i) + "\r\n";
  s.lhlo += "250 PIPELINING\r\n";
  auto t = talk(s, {"a@store.test"});
  EXPECT_EQ(status(t.outcomes[0]), "deferred");
  EXPECT_NE(t.outcomes[0].text.find("bad reply"), std::string::npos) << t.outcomes[0].text;
  EXPECT_FALSE(has_command(t.log, "MAIL"));
}

TEST(LmtpClient, SilentServerAfterTheDotTimesOut) {
  test::LmtpScript s;
  s.silent_after_dot = true;
  LmtpEnvelope e;
  e.reverse_path = "alice@example.org";
  e.recipients = {"a@store.test"};
  LmtpOptions o = fast();
  o.timeouts.data_done = milliseconds(200);
  auto t = talk_envelope(s, e, {kText}, o);
  EXPECT_EQ(status(t.outcomes[0]), "deferred");
  EXPECT_NE(t.outcomes[0].text.find("waiting for the replies after end of data"), std::string::npos)
      << t.outcomes[0].text;
}

TEST(LmtpClient, UnexpectedReplyCodesAreProtocolErrorsNotVerdicts) {
  test::LmtpScript s;
  s.after_dot["a@store.test"] = "354 what\r\n";
  auto t = talk(s, {"a@store.test"});
  EXPECT_EQ(status(t.outcomes[0]), "deferred");
  EXPECT_NE(t.outcomes[0].text.find("unexpected reply"), std::string::npos) << t.outcomes[0].text;
}

TEST(LmtpClient, RefusedMailDecidesForEveryRecipient) {
  test::LmtpScript s;
  s.mail = "550 5.7.1 Sender rejected\r\n";
  auto t = talk(s, {"a@store.test", "b@store.test"});
  for (const auto& o : t.outcomes) {
    EXPECT_EQ(status(o), "bounced");
    EXPECT_EQ(o.text, "550 5.7.1 Sender rejected");
  }
  EXPECT_FALSE(has_command(t.log, "DATA"));

  s.mail = "451 4.3.0 Try later\r\n";
  auto u = talk(s, {"a@store.test"});
  EXPECT_EQ(status(u.outcomes[0]), "deferred");
}

TEST(LmtpClient, RefusedDataKeepsTheRcptVerdicts) {
  test::LmtpScript s;
  s.rcpt["b@store.test"] = "450 4.2.1 busy\r\n";
  s.data = "554 5.6.0 Message refused\r\n";
  auto t = talk(s, {"a@store.test", "b@store.test"});
  EXPECT_EQ(status(t.outcomes[0]), "bounced");
  EXPECT_EQ(t.outcomes[0].text, "554 5.6.0 Message refused");
  EXPECT_EQ(status(t.outcomes[1]), "deferred");
  EXPECT_EQ(t.outcomes[1].text, "450 4.2.1 busy");
}

TEST(LmtpClient, EnhancedCodesCountOnlyWhenOffered) {
  test::LmtpScript s;
  s.lhlo = "250-store.test\r\n250 PIPELINING\r\n";
  s.rcpt["a@store.test"] = "550 5.1.1 unknown\r\n";
  auto t = talk(s, {"a@store.test"});
  EXPECT_EQ(status(t.outcomes[0]), "bounced");
  EXPECT_EQ(t.outcomes[0].enhanced, (smtp::EnhancedStatus{5, 0, 0}));
}

TEST(LmtpClient, Smtputf8NeededButNotOfferedFailsWithoutSending) {
  test::LmtpScript s;
  s.lhlo = "250-store.test\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n";
  auto t = talk(s, {"jösé@store.test", "a@store.test"}, {kText}, true);
  for (const auto& o : t.outcomes) {
    EXPECT_EQ(status(o), "bounced");
    EXPECT_EQ(o.enhanced, (smtp::EnhancedStatus{5, 6, 7}));
    EXPECT_NE(o.text.find("SMTPUTF8 is required"), std::string::npos);
  }
  EXPECT_FALSE(has_command(t.log, "MAIL"));
  EXPECT_TRUE(t.log.quit);

  // A UTF-8 header (RFC 6532) needs it too: X.6.9.
  const std::string utf8_header = "Subject: Grüße\r\n\r\nbody\r\n";
  auto u = talk(s, {"a@store.test"}, {utf8_header}, true);
  EXPECT_EQ(status(u.outcomes[0]), "bounced");
  EXPECT_EQ(u.outcomes[0].enhanced, (smtp::EnhancedStatus{5, 6, 9}));
}

TEST(LmtpClient, MailParametersOnlyWhenTheMessageNeedsThem) {
  test::LmtpScript s;  // offers 8BITMIME and SMTPUTF8
  // Received with SMTPUTF8, but all ASCII: neither parameter (RFC 6531 §3.4).
  auto t = talk(s, {"a@store.test"}, {kText}, true);
  EXPECT_EQ(t.log.commands.at(1), "MAIL FROM:<alice@example.org>");
  // 8-bit body: BODY=8BITMIME; non-ASCII recipient: SMTPUTF8 as well.
  const std::string eight_bit = "Subject: x\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n";
  auto u = talk(s, {"a@store.test"}, {eight_bit}, false);
  EXPECT_EQ(u.log.commands.at(1), "MAIL FROM:<alice@example.org> BODY=8BITMIME");
  auto v = talk(s, {"jösé@store.test"}, {eight_bit}, true);
  EXPECT_EQ(v.log.commands.at(1), "MAIL FROM:<alice@example.org> BODY=8BITMIME SMTPUTF8");
  EXPECT_EQ(v.log.commands.at(2), "RCPT TO:<jösé@store.test>");
  EXPECT_EQ(status(v.outcomes[0]), "sent");
  // An 8-bit body in a header-only scan must not count as a UTF-8 header.
  s.lhlo = "250-store.test\r\n250 8BITMIME\r\n";
  auto w = talk(s, {"a@store.test"}, {eight_bit}, true);
  EXPECT_EQ(status(w.outcomes[0]), "sent");
}

// RFC 6152 §3: a store without 8BITMIME never sees an 8-bit octet; the text
// is converted to quoted-printable, or the recipients fail with 5.6.3.
TEST(LmtpClient, EightBitTextToAStoreWithout8bitmime) {
  test::LmtpScript s;
  s.lhlo = "250-store.test\r\n250-PIPELINING\r\n250 ENHANCEDSTATUSCODES\r\n";
  const std::string eight_bit = "Subject: x\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n.dot\r\n";
  auto t = talk(s, {"a@store.test", "b@store.test"}, {eight_bit}, false);
  EXPECT_EQ(t.log.commands.at(1), "MAIL FROM:<alice@example.org>");
  EXPECT_EQ(t.log.text_lines,
            (std::vector<std::string>{"Subject: x", "MIME-Version: 1.0",
                                      "Content-Type: text/plain; charset=unknown-8bit",
                                      "Content-Transfer-Encoding: quoted-printable", "", "Gr=C3=BC=C3=9Fe", "..dot"}));
  for (const auto& line : t.log.text_lines)
    for (char c : line) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << line;
  EXPECT_EQ(status(t.outcomes[0]), "sent");
  EXPECT_EQ(status(t.outcomes[1]), "sent");

  const std::string binary =
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Transfer-Encoding: binary\r\n\r\n\xff\r\n--b--\r\n";
  auto u = talk(s, {"a@store.test"}, {binary}, false);
  EXPECT_EQ(status(u.outcomes[0]), "bounced");
  EXPECT_EQ(u.outcomes[0].enhanced, (smtp::EnhancedStatus{5, 6, 3}));
  EXPECT_NE(u.outcomes[0].text.find("binary"), std::string::npos) << u.outcomes[0].text;
  EXPECT_FALSE(has_command(u.log, "MAIL"));
  EXPECT_TRUE(u.log.quit);
}

TEST(LmtpClient, NullSenderAndALineWithCrLfAreHandled) {
  test::LmtpScript s;
  LmtpEnvelope e;
  e.reverse_path = "";
  e.recipients = {"a@store.test"};
  auto t = talk_envelope(s, e, {kText});
  EXPECT_EQ(t.log.commands.at(1), "MAIL FROM:<>");
  EXPECT_EQ(status(t.outcomes[0]), "sent");
  // A recipient that would smuggle a command is never sent.
  LmtpEnvelope bad;
  bad.reverse_path = "alice@example.org";
  bad.recipients = {"a@store.test>\r\nRCPT TO:<evil@store.test"};
  auto u = talk_envelope(s, bad, {kText});
  EXPECT_EQ(status(u.outcomes[0]), "deferred");
  EXPECT_FALSE(has_command(u.log, "RCPT"));
}

// --- the blocking call, on 127.0.0.1 ------------------------------------------

TEST(DeliverLmtp, DeliversOverTcp) {
  test::LmtpScript s;
  s.rcpt["b@store.test"] = "550 5.1.1 <b@store.test> User unknown\r\n";
  test::LmtpTestServer server(s);
  LmtpEnvelope e;
  e.reverse_path = "alice@example.org";
  e.recipients = {"a@store.test", "b@store.test"};
  const LmtpDestination d{*IpAddress::parse("127.0.0.1"), server.port()};
  auto out = deliver_lmtp(d, e, {kText}, fast());
  server.stop();
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(status(out[0]), "sent");
  EXPECT_EQ(status(out[1]), "bounced");
  EXPECT_EQ(server.log().connections, 1);
  EXPECT_TRUE(server.log().quit);
  EXPECT_EQ(d.text(), "lmtp[127.0.0.1]:" + std::to_string(server.port()));
}

TEST(DeliverLmtp, TheSessionDeadlineBoundsTheWholeTransaction) {
  // Every step would wait a minute; the whole transaction may take 300 ms.
  test::LmtpScript s;
  s.silent_after_dot = true;
  test::LmtpTestServer server(s);
  LmtpEnvelope e;
  e.reverse_path = "alice@example.org";
  e.recipients = {"a@store.test"};
  LmtpOptions o = fast();
  o.timeouts.command = o.timeouts.data = o.timeouts.data_done = milliseconds(60000);
  o.timeouts.session = milliseconds(300);
  auto out = deliver_lmtp({*IpAddress::parse("127.0.0.1"), server.port()}, e, {kText}, o);
  server.stop();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(status(out[0]), "deferred");
  EXPECT_NE(out[0].text.find("session deadline reached"), std::string::npos) << out[0].text;
  EXPECT_TRUE(server.log().end_of_data);
}

TEST(DeliverLmtp, NoServerMeansDeferred) {
  std::uint16_t port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: nothing listens there now
  LmtpEnvelope e;
  e.reverse_path = "alice@example.org";
  e.recipients = {"a@store.test", "b@store.test"};
  auto out = deliver_lmtp({*IpAddress::parse("127.0.0.1"), port}, e, {kText}, fast());
  ASSERT_EQ(out.size(), 2u);
  for (const auto& o : out) {
    EXPECT_EQ(status(o), "deferred");
    EXPECT_EQ(o.enhanced, (smtp::EnhancedStatus{4, 4, 1}));
    EXPECT_NE(o.text.find("connect to lmtp[127.0.0.1]:" + std::to_string(port)), std::string::npos) << o.text;
  }
}

}  // namespace
}  // namespace mxsec::delivery

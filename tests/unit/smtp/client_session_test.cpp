// Tests for smtp/client/session.cpp: the outbound SMTP session against the
// scripted server of tests/unit/delivery/lmtp_server.hpp playing SMTP, over
// the in-memory stream (with TLS over it, certificates made at test time)
// and once on 127.0.0.1. The client is judged by its verdicts and by what
// the server received. No timing assertions.
#include "smtp/client/session.hpp"

#include <gtest/gtest.h>

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <algorithm>
#include <functional>
#include <openssl/sha.h>

#include "tls/certificate.hpp"
#include "tls/context.hpp"
#include "unit/delivery/lmtp_server.hpp"
#include "unit/smtp/run_coroutines.hpp"
#include "unit/tls/test_pki.hpp"

namespace mxsec::smtp {
namespace {

using policy::Verdict;
using policy::tlsrpt::ResultType;
using std::chrono::milliseconds;

struct Pki {
  test::KeyCert ca = test::make_cert({"Client CA", {}, true, -10 * 86400, 100 * 86400}, nullptr);
  test::KeyCert leaf = test::make_cert({"mx", {"mx.example.net"}}, &ca);
  test::KeyCert self_signed = test::make_cert({"mx", {"mx.example.net"}}, nullptr);
  test::TempFile ca_file{test::to_pem(ca.cert.get())};
  tls::SslCtxPtr server = test::make_server_context(leaf);
  tls::SslCtxPtr server_with_ca = test::make_server_context(leaf, {&ca});
  tls::SslCtxPtr server_self_signed = test::make_server_context(self_signed);
  tls::SslCtxPtr client_trusting_ca = make_client(true);
  tls::SslCtxPtr client_trusting_nothing = make_client(false);

  tls::SslCtxPtr make_client(bool with_ca) {
    tls::ClientContextConfig c;
    c.system_trust = false;
    if (with_ca) c.ca_files = {ca_file.path()};
    auto ctx = tls::make_client_context(c);
    if (!ctx) throw std::runtime_error(ctx.error().message);
    return std::move(*ctx);
  }
};

Pki& pki() {
  static Pki p;
  return p;
}

dns::TlsaRecord tlsa(int usage, X509* cert) {
  std::string spki = *tls::spki_der(cert);
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(spki.data()), spki.size(), md);
  return dns::TlsaRecord{static_cast<std::uint8_t>(usage), 1, 1, std::string(reinterpret_cast<char*>(md), 32)};
}

const std::string kEhlo = "250-mx.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
                          "250 STARTTLS\r\n";
const std::string kEhloTls = "250-mx.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n"
                             "250-REQUIRETLS\r\n250 SMTPUTF8\r\n";

test::LmtpScript smtp_script(SSL_CTX* server_tls = pki().server.get()) {
  test::LmtpScript s;
  s.greeting = "220 mx.example.net ESMTP\r\n";
  s.hello = "EHLO";
  s.lhlo = kEhlo;
  s.ehlo_tls = kEhloTls;
  s.tls = server_tls;
  s.one_reply_after_dot = true;
  return s;
}

policy::MxDecision mx(Verdict v, std::vector<dns::TlsaRecord> usable = {}) {
  policy::MxDecision d;
  d.host = "mx.example.net";
  d.verdict = v;
  d.tlsa.usable = std::move(usable);
  d.reference_names = {"mx.example.net"};
  return d;
}

ClientOptions options(SSL_CTX* client_tls = pki().client_trusting_ca.get()) {
  ClientOptions o;
  o.ehlo_name = "out.example.org";
  o.tls_context = client_tls;
  o.timeouts.greeting = milliseconds(5000);
  o.timeouts.command = milliseconds(5000);
  o.timeouts.mail = milliseconds(5000);
  o.timeouts.rcpt = milliseconds(5000);
  o.timeouts.data = milliseconds(5000);
  o.timeouts.data_block = milliseconds(5000);
  o.timeouts.data_done = milliseconds(5000);
  return o;
}

const std::string kText = "From: a@example.org\r\nSubject: hi\r\n\r\nbody\r\n";

// `text` must outlive the message (literals and kText do).
OutboundMessage message(std::vector<std::string_view> rcpts = {"b@example.net"}, std::string_view text = kText) {
  OutboundMessage m;
  m.reverse_path = "a@example.org";
  for (auto r : rcpts) m.recipients.push_back(OutboundRecipient{r, 0, {}});
  m.slices = {text};
  return m;
}

struct Talk {
  std::optional<HostFailure> failure;
  TlsJudgement tls;
  EhloCapabilities caps;
  bool relaxed = false;
  std::size_t discarded = 0;
  std::size_t messages_sent = 0;
  bool usable_at_end = false;
  std::vector<std::vector<RecipientOutcome>> outcomes;
  test::LmtpServerLog log;

  bool server_saw(std::string_view verb) const {
    for (const auto& c : log.commands)
      if (test::starts_with_ci(c, verb)) return true;
    return false;
  }
};

Talk talk(const test::LmtpScript& script, policy::MxDecision decision, ClientOptions o,
          const std::vector<OutboundMessage>& messages = {message()}) {
  asio::io_context io;
  auto ends = make_memory_pair(io.get_executor());
  SessionConfig config;
  config.timeouts.read = milliseconds(5000);
  config.timeouts.session = milliseconds(20000);
  config.reply_limits = o.reply_limits;
  Talk t;
  auto client = Connection::over_memory(std::move(ends.client), config);
  auto server = Connection::over_memory(std::move(ends.server), config);
  test::run(io, {[&]() -> asio::awaitable<void> {
                   std::string peer = "mx.example.net[192.0.2.25]:25";
                   OpenResult opened =
                       co_await ClientSession::start(std::move(client), std::move(decision), std::move(peer), o);
                   if (!opened.ok()) {
                     t.failure = std::move(opened.failure);
                     co_return;
                   }
                   ClientSession& s = *opened.session;
                   t.tls = s.tls();
                   t.caps = s.capabilities();
                   t.relaxed = s.relaxed();
                   t.discarded = s.plaintext_discarded();
                   for (const auto& m : messages) {
                     auto out = co_await s.send(m);
                     EXPECT_EQ(out.size(), m.recipients.size());
                     t.outcomes.push_back(std::move(out));
                   }
                   t.messages_sent = s.messages_sent();
                   t.usable_at_end = s.usable();
                   co_await s.quit();
                 },
                 [&]() -> asio::awaitable<void> { co_await test::serve_lmtp(std::move(server), script, t.log); }});
  return t;
}

std::string verdict_line(const RecipientOutcome& o) {
  return std::string(to_string(o.status)) + " " + o.enhanced.to_string() + " " + o.text;
}

std::vector<std::string> mail_and_rcpt(const Talk& t) {
  std::vector<std::string> out;
  for (const auto& c : t.log.commands)
    if (test::starts_with_ci(c, "MAIL") || test::starts_with_ci(c, "RCPT")) out.push_back(c);
  return out;
}

// --- transactions -------------------------------------------------------------------

TEST(ClientSession, PerRecipientVerdictsWithOneReplyAfterTheDot) {
  auto s = smtp_script();
  s.rcpt["c@example.net"] = "450 4.2.1 <c@example.net> busy\r\n";
  s.rcpt["d@example.net"] = "550 5.1.1 <d@example.net> unknown\r\n";
  auto t = talk(s, mx(Verdict::opportunistic), options(), {message({"b@example.net", "c@example.net", "d@example.net",
                                                                     "e@example.net"})});
  ASSERT_FALSE(t.failure) << t.failure->text;
  ASSERT_EQ(t.outcomes.size(), 1u);
  const std::vector<std::string> want = {"sent 2.0.0 250 2.0.0 Ok: queued as 1234",
                                         "deferred 4.2.1 450 4.2.1 <c@example.net> busy",
                                         "bounced 5.1.1 550 5.1.1 <d@example.net> unknown",
                                         "sent 2.0.0 250 2.0.0 Ok: queued as 1234"};
  std::vector<std::string> got;
  for (const auto& o : t.outcomes[0]) got.push_back(verdict_line(o));
  EXPECT_EQ(got, want);
  EXPECT_EQ(t.log.transactions, 1);
  EXPECT_EQ(t.messages_sent, 1u);
  // MAIL and the four RCPTs went out in one write (PIPELINING offered).
  std::size_t pipelined = 0;
  for (std::size_t i = 0; i < t.log.commands.size(); ++i)
    if ((test::starts_with_ci(t.log.commands[i], "MAIL") || test::starts_with_ci(t.log.commands[i], "RCPT")) &&
        t.log.pipelined[i])
      ++pipelined;
  EXPECT_EQ(pipelined, 4u);
}

TEST(ClientSession, PermanentReplyAfterTheDotFailsEveryAcceptedRecipient) {
  auto s = smtp_script();
  s.after_dot_all = "554 5.7.1 spam\r\n";
  s.rcpt["c@example.net"] = "450 4.2.1 busy\r\n";
  auto t = talk(s, mx(Verdict::opportunistic), options(), {message({"b@example.net", "c@example.net"})});
  ASSERT_EQ(t.outcomes.size(), 1u);
  EXPECT_EQ(verdict_line(t.outcomes[0][0]), "bounced 5.7.1 554 5.7.1 spam");
  EXPECT_EQ(verdict_line(t.outcomes[0][1]), "deferred 4.2.1 450 4.2.1 busy");
}

TEST(ClientSession, WithoutPipeliningEachCommandWaits) {
  auto s = smtp_script();
  s.ehlo_tls = "250-mx.example.net\r\n250 8BITMIME\r\n";
  auto t = talk(s, mx(Verdict::opportunistic), options(), {message({"b@example.net", "c@example.net"})});
  ASSERT_FALSE(t.failure);
  for (std::size_t i = 0; i < t.log.pipelined.size(); ++i) EXPECT_FALSE(t.log.pipelined[i]) << t.log.commands[i];
  EXPECT_EQ(mail_and_rcpt(t).size(), 3u);
}

TEST(ClientSession, ParametersOnlyWhenOfferedAndNeeded) {
  OutboundMessage m = message({"b@example.net"}, "Subject: caf\xc3\xa9\r\n\r\n8 bit\r\n");
  m.recipients = {OutboundRecipient{"b@example.net", kNotifySuccess | kNotifyFailure, "rfc822;b+x@example.net"}};
  m.ret = DsnRet::hdrs;
  m.envid = "QID 1";
  m.smtputf8 = false;  // 8-bit body, ASCII envelope: BODY=8BITMIME, no SMTPUTF8

  auto offered = smtp_script();
  offered.ehlo_tls = "250-mx.example.net\r\n250-PIPELINING\r\n250-8BITMIME\r\n250-SIZE 1000000\r\n250 DSN\r\n";
  auto t = talk(offered, mx(Verdict::opportunistic), options(), {m});
  const std::string size = std::to_string(std::string_view(m.slices[0]).size());
  EXPECT_EQ(mail_and_rcpt(t),
            (std::vector<std::string>{"MAIL FROM:<a@example.org> SIZE=" + size + " BODY=8BITMIME RET=HDRS ENVID=QID+201",
                                      "RCPT TO:<b@example.net> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@example.net"}));
  EXPECT_EQ(to_string(t.outcomes.at(0).at(0).status), std::string("sent"));

  // Nothing offered: plain MAIL and RCPT; the 8-bit body goes converted
  // (no BODY=), a UTF-8 header cannot go at all.
  auto bare = smtp_script();
  bare.ehlo_tls = "250 mx.example.net\r\n";
  OutboundMessage body_only = message({"b@example.net"}, "Subject: cafe\r\n\r\n8 bit \xc3\xa9\r\n");
  body_only.recipients = m.recipients;
  auto u = talk(bare, mx(Verdict::opportunistic), options(), {body_only});
  EXPECT_EQ(mail_and_rcpt(u), (std::vector<std::string>{"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.net>"}));
  auto refused = talk(bare, mx(Verdict::opportunistic), options(), {m});
  EXPECT_EQ(refused.outcomes.at(0).at(0).enhanced, (EnhancedStatus{5, 6, 3}));
  EXPECT_FALSE(refused.server_saw("MAIL"));
  auto w = talk(offered, mx(Verdict::opportunistic), options(), {message()});
  EXPECT_EQ(mail_and_rcpt(w).at(0), "MAIL FROM:<a@example.org> SIZE=" + std::to_string(kText.size()));
}

TEST(ClientSession, MessageOverTheServersSizeLimitIsNotSent) {
  auto s = smtp_script();
  s.ehlo_tls = "250-mx.example.net\r\n250 SIZE 10\r\n";
  auto t = talk(s, mx(Verdict::opportunistic), options());
  ASSERT_EQ(t.outcomes.size(), 1u);
  EXPECT_EQ(t.outcomes[0][0].status, RecipientStatus::failed);
  EXPECT_EQ(t.outcomes[0][0].enhanced, (EnhancedStatus{5, 3, 4}));
  EXPECT_FALSE(t.server_saw("MAIL"));
}

TEST(ClientSession, RsetAfterARefusedTransactionThenTheNextMessage) {
  auto s = smtp_script();
  s.rcpt["x@example.net"] = "550 5.1.1 unknown\r\n";
  auto t = talk(s, mx(Verdict::opportunistic), options(), {message({"x@example.net"}), message({"b@example.net"})});
  ASSERT_EQ(t.outcomes.size(), 2u);
  EXPECT_EQ(t.outcomes[0][0].status, RecipientStatus::failed);
  EXPECT_EQ(t.outcomes[1][0].status, RecipientStatus::delivered);
  std::vector<std::string> after_tls;
  for (std::size_t i = 0; i < t.log.commands.size(); ++i)
    if (t.log.over_tls[i]) after_tls.push_back(t.log.commands[i]);
  EXPECT_EQ(after_tls, (std::vector<std::string>{"EHLO out.example.org", "MAIL FROM:<a@example.org>",
                                                 "RCPT TO:<x@example.net>", "RSET", "MAIL FROM:<a@example.org>",
                                                 "RCPT TO:<b@example.net>", "DATA", "QUIT"}));
  EXPECT_EQ(t.messages_sent, 1u);
  EXPECT_EQ(t.log.transactions, 1);
}

TEST(ClientSession, SeveralMessagesOverOneSession) {
  auto t = talk(smtp_script(), mx(Verdict::opportunistic), options(),
                {message({"b@example.net"}), message({"c@example.net"}), message({"d@example.net"})});
  ASSERT_EQ(t.outcomes.size(), 3u);
  for (const auto& o : t.outcomes) EXPECT_EQ(o.at(0).status, RecipientStatus::delivered);
  EXPECT_EQ(t.log.transactions, 3);
  EXPECT_EQ(t.messages_sent, 3u);
  EXPECT_FALSE(t.server_saw("RSET"));
  EXPECT_TRUE(t.log.quit);
}

TEST(ClientSession, DotStuffing) {
  auto t = talk(smtp_script(), mx(Verdict::opportunistic), options(),
                {message({"b@example.net"}, "Subject: x\r\n\r\n.\r\n..two\r\nend")});
  EXPECT_EQ(t.log.text_lines, (std::vector<std::string>{"Subject: x", "", "..", "...two", "end"}));
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
}

TEST(ClientSession, AddressWithCrLfIsNeverSent) {
  auto t = talk(smtp_script(), mx(Verdict::opportunistic), options(),
                {message({"b@example.net>\r\nRCPT TO:<evil@example.net"}), message({"c@example.net"})});
  ASSERT_EQ(t.outcomes.size(), 2u);
  EXPECT_EQ(t.outcomes[0][0].status, RecipientStatus::deferred);
  EXPECT_EQ(t.outcomes[0][0].enhanced, (EnhancedStatus{4, 5, 0}));
  for (const auto& c : t.log.commands) EXPECT_EQ(c.find("evil"), std::string::npos) << c;
  EXPECT_EQ(t.outcomes[1][0].status, RecipientStatus::delivered);  // the session goes on
}

TEST(ClientSession, Smtputf8NeededButNotOffered) {
  auto s = smtp_script();
  s.ehlo_tls = "250-mx.example.net\r\n250 8BITMIME\r\n";
  auto t = talk(s, mx(Verdict::opportunistic), options(), {message({"j\xc3\xb8rn@example.net"})});
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::failed);
  EXPECT_EQ(t.outcomes.at(0).at(0).enhanced, (EnhancedStatus{5, 6, 7}));
  EXPECT_FALSE(t.server_saw("MAIL"));
}

// --- 8-bit text to a server without 8BITMIME (RFC 6152 §3) ---------------------------------

const std::string kNo8bitmime = "250-mx.example.net\r\n250-PIPELINING\r\n250-SIZE 1000000\r\n250 ENHANCEDSTATUSCODES\r\n";

TEST(ClientSession, EightBitTextIsConvertedForAServerWithout8bitmime) {
  const std::string text =
      "From: a@example.org\r\nMIME-Version: 1.0\r\n"
      "Content-Type: multipart/alternative; boundary=\"b\"\r\n\r\n"
      "--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
      "caf\xc3\xa9\r\n.\r\n" + std::string(100, 'x') + "\xc3\xa9\r\n"
      "--b\r\nContent-Type: text/plain\r\n\r\nascii\r\n--b--\r\n";
  auto s = smtp_script();
  s.ehlo_tls = kNo8bitmime;
  auto t = talk(s, mx(Verdict::opportunistic), options(), {message({"b@example.net"}, text)});
  ASSERT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered) << t.outcomes[0][0].text;
  // No octet above 127 reached the server, octet by octet.
  std::size_t octets = 0;
  for (const auto& line : t.log.text_lines)
    for (char c : line) {
      EXPECT_LT(static_cast<unsigned char>(c), 0x80) << line;
      ++octets;
    }
  EXPECT_GT(octets, text.size() / 2);
  const std::vector<std::string> want = {
      "From: a@example.org", "MIME-Version: 1.0", "Content-Type: multipart/alternative; boundary=\"b\"", "",
      "--b", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
      "caf=C3=A9", "..", std::string(75, 'x') + "=", std::string(25, 'x') + "=C3=A9",
      "--b", "Content-Type: text/plain", "", "ascii", "--b--"};
  EXPECT_EQ(t.log.text_lines, want);
  // SIZE= is the converted size; no BODY= parameter.
  const std::vector<std::string_view> slices{text};
  const auto plan = codec::plan_downgrade(slices);
  ASSERT_TRUE(plan);
  EXPECT_EQ(mail_and_rcpt(t).at(0), "MAIL FROM:<a@example.org> SIZE=" + std::to_string(plan->output_bytes));
  EXPECT_NE(plan->output_bytes, text.size());
}

TEST(ClientSession, EightBitTextThatCannotBeConvertedFailsWith563) {
  const std::string message_part =
      "MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n"
      "Content-Type: message/rfc822\r\n\r\nSubject: x\r\n\r\n\xc3\xa9\r\n--b--\r\n";
  auto s = smtp_script();
  s.ehlo_tls = kNo8bitmime;
  auto t = talk(s, mx(Verdict::opportunistic), options(),
                {message({"b@example.net", "c@example.net"}, message_part), message({"d@example.net"})});
  ASSERT_EQ(t.outcomes.size(), 2u);
  for (const auto& o : t.outcomes[0]) {
    EXPECT_EQ(o.status, RecipientStatus::failed);
    EXPECT_EQ(o.enhanced, (EnhancedStatus{5, 6, 3}));
    EXPECT_NE(o.text.find("does not offer 8BITMIME"), std::string::npos) << o.text;
    EXPECT_NE(o.text.find("message/rfc822"), std::string::npos) << o.text;
  }
  EXPECT_EQ(t.outcomes[1][0].status, RecipientStatus::delivered);  // the session goes on
  EXPECT_EQ(t.log.transactions, 1);
  EXPECT_EQ(mail_and_rcpt(t).size(), 2u);  // only the second message's MAIL and RCPT
}

TEST(ClientSession, DkimSignedMessageIsConvertedOrReturnedAsConfigured) {
  const std::string signed_text =
      "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=s; h=from; bh=x; b=y\r\n"
      "From: a@example.org\r\n\r\nGr\xc3\xbc\xc3\x9f" "e\r\n";
  auto s = smtp_script();
  s.ehlo_tls = kNo8bitmime;
  ClientOptions bounce = options();
  bounce.downgrade_8bit = Downgrade8bit::bounce;
  auto returned = talk(s, mx(Verdict::opportunistic), bounce, {message({"b@example.net"}, signed_text)});
  EXPECT_EQ(returned.outcomes.at(0).at(0).status, RecipientStatus::failed);
  EXPECT_EQ(returned.outcomes[0][0].enhanced, (EnhancedStatus{5, 6, 3}));
  EXPECT_NE(returned.outcomes[0][0].text.find("DKIM-Signature"), std::string::npos);
  EXPECT_FALSE(returned.server_saw("MAIL"));
  // An unsigned message converts under "bounce" too; a signed one under "convert".
  auto unsigned_sent = talk(s, mx(Verdict::opportunistic), bounce,
                            {message({"b@example.net"}, std::string_view(signed_text).substr(signed_text.find("From:")))});
  EXPECT_EQ(unsigned_sent.outcomes.at(0).at(0).status, RecipientStatus::delivered);
  auto converted = talk(s, mx(Verdict::opportunistic), options(), {message({"b@example.net"}, signed_text)});
  EXPECT_EQ(converted.outcomes.at(0).at(0).status, RecipientStatus::delivered);
  EXPECT_EQ(converted.log.text_lines.back(), "Gr=C3=BC=C3=9Fe");
}

// RFC 3461 §5.2.1: a server that offers DSN takes the NOTIFY over; the
// outcome says so, for the "relayed" DSN decision (delivery/notify.hpp).
TEST(ClientSession, DsnPassedOnOnlyWhenTheServerOffersDsn) {
  OutboundMessage m = message({"b@example.net", "c@example.net"});
  m.recipients[0].notify = kNotifySuccess;
  auto with = smtp_script();
  with.ehlo_tls = "250-mx.example.net\r\n250 DSN\r\n";
  with.rcpt["c@example.net"] = "550 5.1.1 unknown\r\n";
  auto t = talk(with, mx(Verdict::opportunistic), options(), {m});
  EXPECT_TRUE(t.outcomes.at(0).at(0).dsn_passed_on);
  EXPECT_FALSE(t.outcomes[0][1].dsn_passed_on);  // refused: nothing was passed on
  EXPECT_EQ(mail_and_rcpt(t).at(1), "RCPT TO:<b@example.net> NOTIFY=SUCCESS");
  auto without = smtp_script();
  without.ehlo_tls = "250 mx.example.net\r\n";
  auto u = talk(without, mx(Verdict::opportunistic), options(), {m});
  EXPECT_EQ(u.outcomes.at(0).at(0).status, RecipientStatus::delivered);
  EXPECT_FALSE(u.outcomes[0][0].dsn_passed_on);
  EXPECT_EQ(mail_and_rcpt(u).at(1), "RCPT TO:<b@example.net>");
}

TEST(ClientSession, Utf8HeaderNeedsSmtputf8) {
  // RFC 6531 §3.2, §3.5: received with SMTPUTF8 and a UTF-8 header field,
  // to a server without SMTPUTF8: not downgraded, 5.6.9, nothing sent.
  OutboundMessage m = message({"b@example.net"}, "Subject: caf\xc3\xa9\r\n\r\nbody\r\n");
  m.smtputf8 = true;
  auto s = smtp_script();
  s.ehlo_tls = "250-mx.example.net\r\n250 8BITMIME\r\n";
  auto t = talk(s, mx(Verdict::opportunistic), options(), {m});
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::failed);
  EXPECT_EQ(t.outcomes[0][0].enhanced, (EnhancedStatus{5, 6, 9}));
  EXPECT_FALSE(t.server_saw("MAIL"));
}

// --- hostile servers ------------------------------------------------------------------

TEST(ClientSession, HostileReplies) {
  struct Case {
    const char* name;
    std::function<void(test::LmtpScript&)> edit;
    OpenStage stage;
    Errc code;
  };
  const std::vector<Case> cases = {
      {"overlong EHLO line", [](test::LmtpScript& s) { s.endless_lhlo_reply = true; }, OpenStage::ehlo, Errc::limit},
      {"too many lines",
       [](test::LmtpScript& s) {
         s.lhlo.clear();
         for (int i = 0; i < 500; ++i) s.lhlo += "250-X" + std::to_string(i) + "\r\n";
         s.lhlo += "250 STARTTLS\r\n";
       },
       OpenStage::ehlo, Errc::limit},
      {"junk greeting", [](test::LmtpScript& s) { s.greeting = std::string("\x16\x03\x01\x00\x05hello\r\n", 12); },
       OpenStage::greeting, Errc::parse},
  };
  for (const auto& c : cases) {
    auto s = smtp_script();
    c.edit(s);
    auto t = talk(s, mx(Verdict::opportunistic), options());
    ASSERT_TRUE(t.failure) << c.name;
    EXPECT_EQ(t.failure->stage, c.stage) << c.name << ": " << t.failure->text;
    EXPECT_EQ(t.failure->error.code, c.code) << c.name << ": " << t.failure->text;
    EXPECT_EQ(t.failure->enhanced, (EnhancedStatus{4, 5, 0})) << c.name;
    EXPECT_FALSE(t.server_saw("MAIL")) << c.name;
  }
}

TEST(ClientSession, ServerClosingMidDataDefersAndEndsTheSession) {
  auto s = smtp_script();
  s.close_mid_data = true;
  auto t = talk(s, mx(Verdict::opportunistic), options(), {message(), message({"c@example.net"})});
  ASSERT_EQ(t.outcomes.size(), 2u);
  EXPECT_EQ(t.outcomes[0][0].status, RecipientStatus::deferred);
  EXPECT_NE(t.outcomes[0][0].text.find("lost connection with mx.example.net[192.0.2.25]:25"), std::string::npos)
      << t.outcomes[0][0].text;
  EXPECT_EQ(t.outcomes[1][0].status, RecipientStatus::deferred);
  EXPECT_NE(t.outcomes[1][0].text.find("no longer usable"), std::string::npos) << t.outcomes[1][0].text;
  EXPECT_FALSE(t.usable_at_end);
  EXPECT_EQ(t.log.transactions, 0);
}

TEST(ClientSession, SilenceOrAWrongCodeAfterTheDot) {
  auto silent = smtp_script();
  silent.silent_after_dot = true;
  auto o = options();
  o.timeouts.data_done = milliseconds(200);
  auto t = talk(silent, mx(Verdict::opportunistic), o, {message(), message({"c@example.net"})});
  ASSERT_EQ(t.outcomes.size(), 2u);
  EXPECT_EQ(t.outcomes[0][0].status, RecipientStatus::deferred);
  EXPECT_NE(t.outcomes[0][0].text.find("waiting for the reply after end of data"), std::string::npos)
      << t.outcomes[0][0].text;
  EXPECT_EQ(t.outcomes[1][0].status, RecipientStatus::deferred);
  EXPECT_FALSE(t.usable_at_end);

  auto odd = smtp_script();
  odd.after_dot_all = "354 again?\r\n";
  auto u = talk(odd, mx(Verdict::opportunistic), options());
  EXPECT_EQ(u.outcomes.at(0).at(0).status, RecipientStatus::deferred);
  EXPECT_NE(u.outcomes.at(0).at(0).text.find("unexpected reply"), std::string::npos) << u.outcomes.at(0).at(0).text;
}

TEST(ClientSession, RefusedGreetingIsAHostFailure) {
  auto s = smtp_script();
  s.greeting = "554 5.3.2 go away\r\n";
  auto t = talk(s, mx(Verdict::opportunistic), options());
  ASSERT_TRUE(t.failure);
  EXPECT_EQ(t.failure->stage, OpenStage::greeting);
  ASSERT_TRUE(t.failure->reply);
  EXPECT_EQ(t.failure->reply->code, 554);
  EXPECT_EQ(t.failure->enhanced, (EnhancedStatus{4, 3, 2}));
  EXPECT_EQ(t.log.commands, (std::vector<std::string>{"QUIT"}));
}

TEST(ClientSession, RefusedEhloFallsBackToHeloOnlyWithoutRequiredTls) {
  auto s = smtp_script();
  s.lhlo = "502 5.5.2 no EHLO\r\n";
  auto t = talk(s, mx(Verdict::opportunistic), options());
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_EQ(t.tls.label, TlsLabel::none);
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
  EXPECT_TRUE(t.server_saw("HELO"));

  // A 4xx to EHLO is a refused session, not a server without EHLO.
  auto busy = smtp_script();
  busy.lhlo = "421 4.3.2 busy\r\n";
  auto v = talk(busy, mx(Verdict::opportunistic), options());
  ASSERT_TRUE(v.failure) << ::testing::PrintToString(v.log.commands);
  EXPECT_EQ(v.failure->stage, OpenStage::ehlo);
  EXPECT_EQ(v.failure->enhanced, (EnhancedStatus{4, 3, 2}));
  EXPECT_FALSE(v.server_saw("HELO"));

  auto u = talk(s, mx(Verdict::dane, {tlsa(3, pki().leaf.cert.get())}), options());
  ASSERT_TRUE(u.failure);
  EXPECT_EQ(u.failure->stage, OpenStage::ehlo);
  EXPECT_EQ(u.failure->tlsrpt, ResultType::starttls_not_supported);
  EXPECT_FALSE(u.server_saw("HELO"));
  EXPECT_FALSE(u.server_saw("MAIL"));
}

TEST(ClientSession, DeferVerdictIsNeverOpened) {
  auto t = talk(smtp_script(), mx(Verdict::defer), options());
  ASSERT_TRUE(t.failure);
  EXPECT_EQ(t.failure->stage, OpenStage::policy);
  EXPECT_TRUE(t.log.commands.empty());
}

// --- TLS under the policy ----------------------------------------------------------------

TEST(ClientSession, DaneEeMatchDelivers) {
  auto t = talk(smtp_script(), mx(Verdict::dane, {tlsa(3, pki().leaf.cert.get())}), options());
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_TRUE(t.tls.tls_established);
  EXPECT_EQ(t.tls.label, TlsLabel::dane_ee);
  EXPECT_STREQ(to_string(t.tls.label), "dane-ee");
  EXPECT_FALSE(t.tls.tlsrpt_failure);
  EXPECT_EQ(t.log.sni, "mx.example.net");
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
  // Every transaction command went over TLS; only EHLO and STARTTLS before.
  for (std::size_t i = 0; i < t.log.commands.size(); ++i)
    if (test::starts_with_ci(t.log.commands[i], "MAIL")) {
      EXPECT_TRUE(t.log.over_tls[i]);
    }
  EXPECT_EQ(t.log.commands.at(0), "EHLO out.example.org");
  EXPECT_EQ(t.log.commands.at(1), "STARTTLS");
  EXPECT_TRUE(t.caps.requiretls());  // the capabilities are those of the EHLO over TLS
  EXPECT_FALSE(t.caps.starttls());
}

// RFC 7672 §8.1: SNI carries the TLSA base domain (the CNAME target where
// the TLSA records were found), not the MX host name.
TEST(ClientSession, SniIsTheTlsaBaseDomain) {
  auto d = mx(Verdict::dane, {tlsa(3, pki().leaf.cert.get())});
  d.reference_names = {"real.hosting.example", "mx.example.net", "example.net"};
  auto t = talk(smtp_script(), d, options());
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_EQ(t.log.sni, "real.hosting.example");
  auto u = talk(smtp_script(), mx(Verdict::mta_sts), options());
  EXPECT_EQ(u.log.sni, "mx.example.net");
}

TEST(ClientSession, PeerNames) {
  EXPECT_EQ(peer_name("mx.example.net", *IpAddress::parse("192.0.2.1"), 25), "mx.example.net[192.0.2.1]:25");
  EXPECT_EQ(peer_name("mx.example.net", *IpAddress::parse("2001:db8::1"), 25), "mx.example.net[2001:db8::1]:25");
}

TEST(ClientSession, DaneTaMatchDelivers) {
  auto t = talk(smtp_script(pki().server_with_ca.get()), mx(Verdict::dane, {tlsa(2, pki().ca.cert.get())}),
                options(pki().client_trusting_nothing.get()));
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_EQ(t.tls.label, TlsLabel::dane_ta);
  EXPECT_EQ(t.tls.dane.matched_depth, 1);
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
}

TEST(ClientSession, DaneMismatchIsAHostFailureAndNoMailIsSent) {
  auto t = talk(smtp_script(), mx(Verdict::dane, {dns::TlsaRecord{3, 1, 1, std::string(32, '\x5a')}}), options());
  ASSERT_TRUE(t.failure);
  EXPECT_EQ(t.failure->stage, OpenStage::verification);
  EXPECT_NE(t.failure->text.find("TLSA mismatch"), std::string::npos) << t.failure->text;
  EXPECT_EQ(t.failure->tlsrpt, ResultType::validation_failure);
  EXPECT_EQ(t.failure->enhanced, (EnhancedStatus{4, 7, 5}));
  EXPECT_FALSE(t.failure->retry_in_clear);
  EXPECT_TRUE(t.log.tls);
  EXPECT_FALSE(t.server_saw("MAIL"));
  EXPECT_EQ(t.log.commands.back(), "QUIT");  // nothing but QUIT over the unverified channel
}

TEST(ClientSession, StrippedOrRefusedStarttlsUnderMandatoryTls) {
  struct Case {
    const char* name;
    Verdict verdict;
    bool strip;  // STARTTLS not offered (else answered 454)
    OpenStage stage;
  };
  const std::vector<Case> cases = {
      {"dane, stripped", Verdict::dane, true, OpenStage::ehlo},
      {"dane, 454", Verdict::dane, false, OpenStage::starttls},
      {"mta-sts, stripped", Verdict::mta_sts, true, OpenStage::ehlo},
      {"mta-sts, 454", Verdict::mta_sts, false, OpenStage::starttls},
      {"encrypt, stripped", Verdict::encrypt, true, OpenStage::ehlo},
  };
  for (const auto& c : cases) {
    auto s = smtp_script();
    if (c.strip)
      s.lhlo = "250-mx.example.net\r\n250 PIPELINING\r\n";
    else
      s.starttls = "454 4.7.0 TLS not available\r\n";
    auto t = talk(s, mx(c.verdict, {tlsa(3, pki().leaf.cert.get())}), options());
    ASSERT_TRUE(t.failure) << c.name;
    EXPECT_EQ(t.failure->stage, c.stage) << c.name << ": " << t.failure->text;
    EXPECT_EQ(t.failure->tlsrpt, ResultType::starttls_not_supported) << c.name;
    EXPECT_EQ(t.failure->enhanced, (EnhancedStatus{4, 7, 4})) << c.name;
    EXPECT_FALSE(t.failure->retry_in_clear) << c.name;
    EXPECT_FALSE(t.server_saw("MAIL")) << c.name;
    EXPECT_EQ(t.log.commands.back(), "QUIT") << c.name;
  }
}

TEST(ClientSession, WebPkiUnderMtaSts) {
  auto good = talk(smtp_script(), mx(Verdict::mta_sts), options());
  ASSERT_FALSE(good.failure) << good.failure->text;
  EXPECT_EQ(good.tls.label, TlsLabel::mta_sts);
  EXPECT_EQ(good.outcomes.at(0).at(0).status, RecipientStatus::delivered);

  struct Case {
    const char* name;
    std::string host;
    SSL_CTX* client;
    ResultType type;
  };
  const std::vector<Case> cases = {
      {"wrong CA", "mx.example.net", pki().client_trusting_nothing.get(), ResultType::certificate_not_trusted},
      {"wrong name", "other.example.net", pki().client_trusting_ca.get(), ResultType::certificate_host_mismatch},
  };
  for (const auto& c : cases) {
    auto d = mx(Verdict::mta_sts);
    d.host = c.host;
    d.reference_names = {c.host};
    auto t = talk(smtp_script(), d, options(c.client));
    ASSERT_TRUE(t.failure) << c.name;
    EXPECT_EQ(t.failure->stage, OpenStage::verification) << c.name;
    EXPECT_EQ(t.failure->tlsrpt, c.type) << c.name;
    EXPECT_NE(t.failure->text.find("certificate verification failed"), std::string::npos) << t.failure->text;
    EXPECT_FALSE(t.server_saw("MAIL")) << c.name;

    // mta-sts-testing: the failure is recorded, the mail delivered (RFC 8461 §5).
    d.verdict = Verdict::mta_sts_testing;
    auto u = talk(smtp_script(), d, options(c.client));
    ASSERT_FALSE(u.failure) << c.name << ": " << u.failure->text;
    EXPECT_EQ(u.tls.tlsrpt_failure, c.type) << c.name;
    EXPECT_EQ(u.tls.label, TlsLabel::opportunistic) << c.name;
    EXPECT_EQ(u.outcomes.at(0).at(0).status, RecipientStatus::delivered) << c.name;
  }
}

TEST(ClientSession, MtaStsTestingWithoutStarttlsDeliversInClear) {
  auto s = smtp_script();
  s.lhlo = "250-mx.example.net\r\n250 PIPELINING\r\n";
  auto t = talk(s, mx(Verdict::mta_sts_testing), options());
  ASSERT_FALSE(t.failure);
  EXPECT_EQ(t.tls.label, TlsLabel::none);
  EXPECT_EQ(t.tls.tlsrpt_failure, ResultType::starttls_not_supported);
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
}

TEST(ClientSession, OpportunisticAcceptsASelfSignedCertificate) {
  auto t = talk(smtp_script(pki().server_self_signed.get()), mx(Verdict::opportunistic), options());
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_TRUE(t.tls.tls_established);
  EXPECT_EQ(t.tls.label, TlsLabel::opportunistic);
  EXPECT_FALSE(t.tls.tlsrpt_failure);
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
}

TEST(ClientSession, FailedOpportunisticHandshakeAllowsOneClearTextRetry) {
  // The server says 220 to STARTTLS and then hangs up (a broken TLS stack).
  auto s = smtp_script(nullptr);
  auto t = talk(s, mx(Verdict::opportunistic), options());
  ASSERT_TRUE(t.failure);
  EXPECT_EQ(t.failure->stage, OpenStage::handshake);
  EXPECT_TRUE(t.failure->retry_in_clear);
  EXPECT_FALSE(t.server_saw("MAIL"));

  auto retry = options();
  retry.clear_text_retry = true;
  auto u = talk(s, mx(Verdict::opportunistic), retry);
  ASSERT_FALSE(u.failure) << u.failure->text;
  EXPECT_EQ(u.tls.label, TlsLabel::none);
  EXPECT_FALSE(u.server_saw("STARTTLS"));
  EXPECT_EQ(u.outcomes.at(0).at(0).status, RecipientStatus::delivered);

  // Never under a policy that makes TLS mandatory.
  auto w = talk(s, mx(Verdict::dane, {tlsa(3, pki().leaf.cert.get())}), retry);
  ASSERT_TRUE(w.failure);
  EXPECT_EQ(w.failure->stage, OpenStage::policy);
  EXPECT_TRUE(w.log.commands.empty());
  auto x = talk(s, mx(Verdict::dane, {tlsa(3, pki().leaf.cert.get())}), options());
  ASSERT_TRUE(x.failure);
  EXPECT_FALSE(x.failure->retry_in_clear);
}

TEST(ClientSession, NoneNeverStartsTls) {
  auto t = talk(smtp_script(), mx(Verdict::none), options(nullptr));
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_FALSE(t.server_saw("STARTTLS"));
  EXPECT_EQ(t.tls.label, TlsLabel::none);
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
}

TEST(ClientSession, InjectedRepliesAfterStarttlsAreDiscarded) {
  auto s = smtp_script();
  s.starttls = "220 ready\r\n250 evil\r\n";
  auto t = talk(s, mx(Verdict::dane, {tlsa(3, pki().leaf.cert.get())}), options());
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_EQ(t.discarded, std::string("250 evil\r\n").size());
  EXPECT_EQ(t.tls.label, TlsLabel::dane_ee);
  // The injected 250 was not taken as the reply to the EHLO over TLS (whose
  // capabilities include REQUIRETLS) or to MAIL.
  EXPECT_TRUE(t.caps.requiretls());
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
  EXPECT_EQ(t.outcomes.at(0).at(0).text, "250 2.0.0 Ok: queued as 1234");
}

// --- REQUIRETLS and TLS-Required: No (RFC 8689) ---------------------------------------------

TEST(ClientSession, RequireTls) {
  OutboundMessage m = message();
  m.requiretls = true;

  // Authenticated by DANE and offered: MAIL FROM carries REQUIRETLS.
  auto t = talk(smtp_script(), mx(Verdict::dane, {tlsa(3, pki().leaf.cert.get())}), options(), {m});
  EXPECT_EQ(mail_and_rcpt(t).at(0), "MAIL FROM:<a@example.org> REQUIRETLS");
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);

  // Authenticated by MTA-STS, but the server does not offer REQUIRETLS.
  auto no_offer = smtp_script();
  no_offer.ehlo_tls = "250-mx.example.net\r\n250 PIPELINING\r\n";
  auto u = talk(no_offer, mx(Verdict::mta_sts), options(), {m});
  ASSERT_FALSE(u.failure);
  EXPECT_EQ(u.outcomes.at(0).at(0).status, RecipientStatus::failed);
  EXPECT_EQ(u.outcomes.at(0).at(0).enhanced, (EnhancedStatus{5, 7, 30}));
  EXPECT_FALSE(u.server_saw("MAIL"));

  // Offered, but the session is only opportunistic.
  auto w = talk(smtp_script(), mx(Verdict::opportunistic), options(), {m});
  EXPECT_EQ(w.outcomes.at(0).at(0).status, RecipientStatus::failed);
  EXPECT_EQ(w.outcomes.at(0).at(0).enhanced, (EnhancedStatus{5, 7, 30}));
  EXPECT_NE(w.outcomes.at(0).at(0).text.find("REQUIRETLS"), std::string::npos);
  EXPECT_FALSE(w.server_saw("MAIL"));
}

TEST(ClientSession, TlsRequiredNoRelaxesTheSessionForThoseMessagesOnly) {
  auto relaxed = options(pki().client_trusting_nothing.get());
  relaxed.tls_required_no = true;
  OutboundMessage no = message({"b@example.net"});
  no.tls_required_no = true;
  OutboundMessage other = message({"c@example.net"});
  auto t = talk(smtp_script(), mx(Verdict::mta_sts), relaxed, {other, no});
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_TRUE(t.relaxed);
  EXPECT_EQ(t.tls.tlsrpt_failure, ResultType::certificate_not_trusted);
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::deferred);
  EXPECT_EQ(t.outcomes.at(0).at(0).enhanced, (EnhancedStatus{4, 7, 5}));
  EXPECT_EQ(t.outcomes.at(1).at(0).status, RecipientStatus::delivered);
  EXPECT_EQ(mail_and_rcpt(t), (std::vector<std::string>{"MAIL FROM:<a@example.org>", "RCPT TO:<b@example.net>"}));

  // Without the option the same host is a failure.
  auto u = talk(smtp_script(), mx(Verdict::mta_sts), options(pki().client_trusting_nothing.get()), {no});
  ASSERT_TRUE(u.failure);
  EXPECT_FALSE(u.server_saw("MAIL"));
}

// --- AUTH to a relay host (RFC 4954, RFC 4616) ----------------------------------------------

// The test server's EHLO over TLS offers `auth` ("" = no AUTH line).
test::LmtpScript auth_script(const std::string& auth, std::vector<std::string> replies) {
  auto s = smtp_script();
  s.ehlo_tls = "250-mx.example.net\r\n250-PIPELINING\r\n250-ENHANCEDSTATUSCODES\r\n" +
               (auth.empty() ? std::string() : "250-AUTH " + auth + "\r\n") + "250 8BITMIME\r\n";
  s.auth = std::move(replies);
  return s;
}

ClientOptions with_credentials(ClientOptions o = options()) {
  o.credentials = std::make_shared<const ClientCredentials>(ClientCredentials{"relay-user", "s3cret pw"});
  return o;
}

// base64("\0relay-user\0s3cret pw"), base64("relay-user"), base64("s3cret pw"),
// computed outside mxsec (Python's base64 module).
const std::string kPlain = "AHJlbGF5LXVzZXIAczNjcmV0IHB3";
const std::string kUser64 = "cmVsYXktdXNlcg==";
const std::string kPassword64 = "czNjcmV0IHB3";

// No command the server saw, and no text of the failure, holds the password
// or its base64 (alone or inside the PLAIN message).
void expect_no_credentials(const Talk& t, bool sent_to_server) {
  for (const auto& c : t.log.commands) {
    if (!sent_to_server) {
      EXPECT_EQ(c.find(kPlain), std::string::npos) << c;
      EXPECT_EQ(c.find(kPassword64), std::string::npos) << c;
      EXPECT_EQ(c.find(kUser64), std::string::npos) << c;
    }
    EXPECT_EQ(c.find("s3cret"), std::string::npos) << c;
  }
  if (!t.failure) return;
  for (const std::string& text : {t.failure->text, t.failure->error.message}) {
    EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
    EXPECT_EQ(text.find(kPlain), std::string::npos) << text;
    EXPECT_EQ(text.find(kPassword64), std::string::npos) << text;
  }
}

// Commands after the TLS handshake, in order.
std::vector<std::string> over_tls(const Talk& t) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < t.log.commands.size(); ++i)
    if (t.log.over_tls[i]) out.push_back(t.log.commands[i]);
  return out;
}

TEST(ClientAuth, PlainWithAnInitialResponseOverTls) {
  auto t = talk(auth_script("LOGIN PLAIN", {"235 2.7.0 Authentication successful\r\n"}), mx(Verdict::opportunistic),
                with_credentials());
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_TRUE(t.log.tls);
  EXPECT_EQ(over_tls(t), (std::vector<std::string>{"EHLO out.example.org", "AUTH PLAIN " + kPlain,
                                                   "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.net>", "DATA",
                                                   "QUIT"}));
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
  // Nothing about AUTH before TLS.
  for (std::size_t i = 0; i < t.log.commands.size(); ++i)
    if (!t.log.over_tls[i]) {
      EXPECT_FALSE(test::starts_with_ci(t.log.commands[i], "AUTH")) << t.log.commands[i];
    }
}

TEST(ClientAuth, LoginWhenPlainIsNotOffered) {
  auto t = talk(auth_script("login CRAM-MD5", {"334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "235 2.7.0 OK\r\n"}),
                mx(Verdict::opportunistic), with_credentials());
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_EQ(over_tls(t), (std::vector<std::string>{"EHLO out.example.org", "AUTH LOGIN", kUser64, kPassword64,
                                                   "MAIL FROM:<a@example.org>", "RCPT TO:<b@example.net>", "DATA",
                                                   "QUIT"}));
  EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered);
}

TEST(ClientAuth, RefusedCredentialsDeferWithTheReply) {
  for (const char* reply : {"535 5.7.8 Authentication credentials invalid\r\n", "454 4.7.0 Temporary failure\r\n"}) {
    auto t = talk(auth_script("PLAIN", {reply}), mx(Verdict::opportunistic), with_credentials());
    ASSERT_TRUE(t.failure) << reply;
    EXPECT_EQ(t.failure->stage, OpenStage::auth);
    ASSERT_TRUE(t.failure->reply);
    EXPECT_EQ(t.failure->enhanced.klass, 4) << "a wrong password must not bounce mail";
    EXPECT_EQ(t.failure->enhanced.subject, 7);
    const std::string code = std::string(reply).substr(0, 3);
    EXPECT_NE(t.failure->text.find("refused AUTH PLAIN: " + code), std::string::npos) << t.failure->text;
    EXPECT_FALSE(t.server_saw("MAIL"));
    EXPECT_EQ(t.log.commands.back(), "QUIT");
    expect_no_credentials(t, true);
  }
  auto login = talk(auth_script("LOGIN", {"334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n", "535 5.7.8 no\r\n"}),
                    mx(Verdict::opportunistic), with_credentials());
  ASSERT_TRUE(login.failure);
  EXPECT_EQ(login.failure->enhanced, (EnhancedStatus{4, 7, 8}));
  EXPECT_NE(login.failure->text.find("refused AUTH LOGIN password: 535 5.7.8 no"), std::string::npos)
      << login.failure->text;
  expect_no_credentials(login, true);
}

TEST(ClientAuth, NoAuthOfferedIsAPreciseDefer) {
  auto t = talk(auth_script("", {}), mx(Verdict::opportunistic), with_credentials());
  ASSERT_TRUE(t.failure);
  EXPECT_EQ(t.failure->stage, OpenStage::auth);
  EXPECT_EQ(t.failure->enhanced, (EnhancedStatus{4, 7, 0}));
  EXPECT_NE(t.failure->text.find("offers no AUTH over TLS"), std::string::npos) << t.failure->text;
  EXPECT_FALSE(t.server_saw("AUTH"));
  EXPECT_FALSE(t.server_saw("MAIL"));

  auto u = talk(auth_script("CRAM-MD5 GSSAPI", {}), mx(Verdict::opportunistic), with_credentials());
  ASSERT_TRUE(u.failure);
  EXPECT_NE(u.failure->text.find("offers AUTH CRAM-MD5 GSSAPI over TLS, but neither PLAIN nor LOGIN"),
            std::string::npos)
      << u.failure->text;
  EXPECT_FALSE(u.server_saw("AUTH"));
}

// The credentials never travel in clear text: not when STARTTLS is missing,
// refused, or the handshake failed (the clear-text retry), and not under
// verdict none; even though the same server offers AUTH PLAIN in clear.
TEST(ClientAuth, NeverInClearText) {
  auto no_tls = auth_script("PLAIN", {"235 2.7.0 OK\r\n"});
  no_tls.lhlo = "250-mx.example.net\r\n250-AUTH PLAIN LOGIN\r\n250 PIPELINING\r\n";
  auto refused = no_tls;
  refused.lhlo = "250-mx.example.net\r\n250-AUTH PLAIN LOGIN\r\n250 STARTTLS\r\n";
  refused.starttls = "454 4.7.0 TLS not available\r\n";
  auto retry = with_credentials();
  retry.clear_text_retry = true;
  struct Case {
    const char* name;
    test::LmtpScript script;
    Verdict verdict;
    ClientOptions o;
  };
  const std::vector<Case> cases = {
      {"no STARTTLS", no_tls, Verdict::opportunistic, with_credentials()},
      {"STARTTLS refused", refused, Verdict::opportunistic, with_credentials()},
      {"clear-text retry", refused, Verdict::opportunistic, retry},
      {"verdict none", no_tls, Verdict::none, with_credentials(options(nullptr))},
  };
  for (const auto& c : cases) {
    auto t = talk(c.script, mx(c.verdict), c.o);
    ASSERT_TRUE(t.failure) << c.name;
    EXPECT_EQ(t.failure->stage, OpenStage::auth) << c.name;
    EXPECT_EQ(t.failure->enhanced, (EnhancedStatus{4, 7, 10})) << c.name;
    EXPECT_NE(t.failure->text.find("relay host offers no TLS; not sending credentials in clear"), std::string::npos)
        << c.name << ": " << t.failure->text;
    EXPECT_FALSE(t.server_saw("AUTH")) << c.name;
    EXPECT_FALSE(t.server_saw("MAIL")) << c.name;
    expect_no_credentials(t, false);
  }
}

// A session whose policy verification failed (kept only for TLS-Required:
// No messages) is encrypted, but possibly to someone else: no credentials.
TEST(ClientAuth, NotOverARelaxedSession) {
  auto o = with_credentials(options(pki().client_trusting_nothing.get()));
  o.tls_required_no = true;
  auto t = talk(auth_script("PLAIN", {"235 2.7.0 OK\r\n"}), mx(Verdict::verify), o);
  ASSERT_TRUE(t.failure);
  EXPECT_EQ(t.failure->stage, OpenStage::auth);
  EXPECT_EQ(t.failure->enhanced, (EnhancedStatus{4, 7, 5}));
  EXPECT_NE(t.failure->text.find("not sending credentials"), std::string::npos) << t.failure->text;
  EXPECT_FALSE(t.server_saw("AUTH"));
  expect_no_credentials(t, false);
}

TEST(ClientAuth, HostileReplies) {
  struct Case {
    const char* name;
    std::string mechanisms;
    std::vector<std::string> replies;
    Errc code;
    bool password_sent;
  };
  const std::vector<Case> cases = {
      // A challenge longer than a reply line may be (ReplyLimits): the
      // connection is dropped before the user name or password goes out.
      {"over-long 334", "LOGIN", {"334 " + std::string(64 * 1024, 'A') + "\r\n"}, Errc::limit, false},
      // RFC 4954 §4: a challenge is one line.
      {"multi-line 334", "LOGIN", {"334-VXNlcm5hbWU6\r\n334 VXNlcm5hbWU6\r\n"}, Errc::parse, false},
      // PLAIN sent everything in its initial response: a 334 is not allowed,
      // and nothing is sent in answer to it.
      {"334 to PLAIN", "PLAIN", {"334 \r\n"}, Errc::parse, true},
      // LOGIN: success before the password was asked for.
      {"235 before the password", "LOGIN", {"334 VXNlcm5hbWU6\r\n", "235 2.7.0 OK\r\n"}, Errc::parse, false},
      {"not a reply code", "LOGIN", {"hello\r\n"}, Errc::parse, false},
  };
  for (const auto& c : cases) {
    auto t = talk(auth_script(c.mechanisms, c.replies), mx(Verdict::opportunistic), with_credentials());
    ASSERT_TRUE(t.failure) << c.name;
    EXPECT_EQ(t.failure->stage, OpenStage::auth) << c.name << ": " << t.failure->text;
    EXPECT_EQ(t.failure->error.code, c.code) << c.name << ": " << t.failure->text;
    EXPECT_EQ(t.failure->enhanced, (EnhancedStatus{4, 5, 0})) << c.name;
    EXPECT_FALSE(t.server_saw("MAIL")) << c.name;
    EXPECT_FALSE(t.server_saw("*")) << c.name;
    const auto sent = over_tls(t);
    // Nothing follows the reply that broke the exchange.
    ASSERT_FALSE(sent.empty()) << c.name;
    const bool password = std::find(sent.begin(), sent.end(), kPassword64) != sent.end() ||
                          std::find(sent.begin(), sent.end(), "AUTH PLAIN " + kPlain) != sent.end();
    EXPECT_EQ(password, c.password_sent) << c.name;
    EXPECT_TRUE(test::starts_with_ci(sent.back(), "AUTH") || sent.back() == kUser64 || sent.back() == kPassword64)
        << c.name << ": " << sent.back();
    expect_no_credentials(t, true);
  }
}

TEST(ClientAuth, MechanismChoice) {
  auto caps = [](const std::string& line) {
    Reply r;
    r.code = 250;
    r.lines = {"mx.example.net", line};
    return parse_ehlo(r);
  };
  EXPECT_EQ(choose_mechanism(caps("AUTH LOGIN PLAIN")), SaslMechanism::plain);
  EXPECT_EQ(choose_mechanism(caps("AUTH plain")), SaslMechanism::plain);
  EXPECT_EQ(choose_mechanism(caps("AUTH CRAM-MD5 LOGIN")), SaslMechanism::login);
  EXPECT_FALSE(choose_mechanism(caps("AUTH CRAM-MD5")));
  EXPECT_FALSE(choose_mechanism(caps("PIPELINING")));
  EXPECT_FALSE(choose_mechanism(caps("AUTH")));
  EXPECT_EQ(plain_message({"relay-user", "s3cret pw"}), kPlain);
}

// --- SNI (RFC 6066 §3) -------------------------------------------------------------------------

// "Literal IPv4 and IPv6 addresses are not permitted in "HostName"": a relay
// host given as an address literal is reached without SNI; a name is sent.
// The server side reads what arrived (SSL_get_servername).
TEST(ClientSession, NoSniForAnAddressLiteral) {
  for (const char* literal : {"192.0.2.25", "2001:db8::25"}) {
    policy::MxDecision d = mx(Verdict::encrypt);
    d.host = literal;
    d.reference_names.clear();  // as decide_relayhost() leaves an IP literal
    auto t = talk(smtp_script(), d, options());
    ASSERT_FALSE(t.failure) << literal << ": " << t.failure->text;
    EXPECT_TRUE(t.log.tls) << literal;
    EXPECT_EQ(t.log.sni, "") << literal;
    EXPECT_EQ(t.outcomes.at(0).at(0).status, RecipientStatus::delivered) << literal;
  }
  policy::MxDecision named = mx(Verdict::encrypt);
  named.host = "relay.example.net";
  named.reference_names.clear();
  auto u = talk(smtp_script(), named, options());
  ASSERT_FALSE(u.failure) << u.failure->text;
  EXPECT_EQ(u.log.sni, "relay.example.net");
}

// Where a policy asks for WebPKI, an address literal is checked as an IP-ID
// (iPAddress subjectAltName), never as a DNS name.
TEST(ClientSession, WebPkiChecksTheAddressOfAnAddressLiteral) {
  auto ip_leaf = test::make_cert({"relay", {"IP:192.0.2.25"}}, &pki().ca);
  auto dns_leaf = test::make_cert({"relay", {"192.0.2.25"}}, &pki().ca);
  auto ip_server = test::make_server_context(ip_leaf);
  auto dns_server = test::make_server_context(dns_leaf);
  policy::MxDecision d = mx(Verdict::verify);
  d.host = "192.0.2.25";
  d.reference_names.clear();
  auto t = talk(smtp_script(ip_server.get()), d, options());
  ASSERT_FALSE(t.failure) << t.failure->text;
  EXPECT_TRUE(t.tls.authenticated);
  EXPECT_EQ(t.log.sni, "");
  auto u = talk(smtp_script(dns_server.get()), d, options());
  ASSERT_TRUE(u.failure);
  EXPECT_EQ(u.failure->tlsrpt, ResultType::certificate_host_mismatch);
  EXPECT_FALSE(u.server_saw("MAIL"));
}

// --- open() over TCP ---------------------------------------------------------------------------

TEST(ClientSession, OpensOverTcp) {
  auto s = smtp_script();
  s.lhlo = "250-mx.example.net\r\n250 PIPELINING\r\n";
  test::LmtpTestServer server(s);
  asio::io_context io;
  std::vector<RecipientOutcome> out;
  std::string peer;
  std::optional<HostFailure> failure;
  auto d = mx(Verdict::opportunistic);
  auto o = options();
  o.port = server.port();
  test::run(io, {[&]() -> asio::awaitable<void> {
              const IpAddress address = *IpAddress::parse("127.0.0.1");
              OpenResult opened = co_await ClientSession::open(std::move(d), address, std::move(o));
              if (!opened.ok()) {
                failure = std::move(opened.failure);
                co_return;
              }
              peer = opened.session->peer();
              OutboundMessage m = message();
              out = co_await opened.session->send(m);
              co_await opened.session->quit();
            }});
  server.stop();
  ASSERT_FALSE(failure) << failure->text;
  EXPECT_EQ(peer, "mx.example.net[127.0.0.1]:" + std::to_string(server.port()));
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].status, RecipientStatus::delivered);
  EXPECT_TRUE(server.log().quit);
}

TEST(ClientSession, ConnectRefusedIsAHostFailure) {
  std::uint16_t port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor a(io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    port = a.local_endpoint().port();
  }
  asio::io_context io;
  std::optional<HostFailure> failure;
  auto d = mx(Verdict::opportunistic);
  auto o = options();
  o.port = port;
  test::run(io, {[&]() -> asio::awaitable<void> {
              const IpAddress address = *IpAddress::parse("127.0.0.1");
              OpenResult opened = co_await ClientSession::open(std::move(d), address, std::move(o));
              failure = std::move(opened.failure);
            }});
  ASSERT_TRUE(failure);
  EXPECT_EQ(failure->stage, OpenStage::connect);
  EXPECT_EQ(failure->enhanced, (EnhancedStatus{4, 4, 1}));
}

}  // namespace
}  // namespace mxsec::smtp

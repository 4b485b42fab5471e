// Tests for delivery/dsn.hpp: each DSN is read back with the project's
// message parser (dsn_reader.hpp) and checked part by part and field by
// field; RET, ENVID, ORCPT, the RFC 6533 form, status codes, and hostile
// text that tries to break out of its field or part.
#include "delivery/dsn.hpp"

#include <gtest/gtest.h>

#include "core/date.hpp"
#include "unit/delivery/dsn_reader.hpp"
#include "unit/delivery/dsn_sample.hpp"

namespace mxsec::delivery {
namespace {

using test::has;
using test::one;
using test::read_dsn;

constexpr std::int64_t kArrival = test::kSampleArrival;
constexpr std::int64_t kNow = test::kSampleNow;
const std::string& kOriginal = test::kSampleOriginal;

DsnReport failed_report() { return test::sample_failed_report(); }

TEST(Dsn, FailedDsnHasEveryFieldOfRfc3464) {
  DsnReport r = failed_report();
  r.envid = "QQ314159";
  r.recipients[0].orcpt = "rfc822;Bob@Example.Test";
  const DsnMessage m = build_dsn(r, kOriginal);
  ASSERT_TRUE(test::lines_well_formed(m.text)) << m.text;
  EXPECT_FALSE(m.global);
  EXPECT_FALSE(m.eight_bit);
  const auto d = read_dsn(m.text);
  ASSERT_TRUE(d.ok);

  EXPECT_EQ(one(d.fields, "from"), "Mail Delivery System <MAILER-DAEMON@mx.example.test>");
  EXPECT_EQ(one(d.fields, "to"), "<alice@example.org>");
  EXPECT_EQ(one(d.fields, "subject"), "Undelivered Mail Returned to Sender");
  EXPECT_EQ(one(d.fields, "date"), rfc5322_date(kNow));
  EXPECT_EQ(one(d.fields, "message-id"), "<0HOQJ7K6VC6KO2ZZ@mx.example.test>");
  EXPECT_EQ(one(d.fields, "auto-submitted"), "auto-replied");
  EXPECT_EQ(one(d.fields, "mime-version"), "1.0");
  EXPECT_EQ(one(d.fields, "content-type"),
            "multipart/report; report-type=delivery-status; boundary=\"" + d.boundary + "\"");
  EXPECT_TRUE(d.closed);

  ASSERT_EQ(d.parts.size(), 3u);
  EXPECT_EQ(one(d.parts[0].fields, "content-type"), "text/plain; charset=us-ascii");
  EXPECT_EQ(one(d.parts[1].fields, "content-type"), "message/delivery-status");
  EXPECT_EQ(one(d.parts[2].fields, "content-type"), "message/rfc822");
  // The human-readable part says what happened, to whom, and why.
  const std::string human = test::squeezed(d.parts[0].body);
  EXPECT_NE(human.find("could not be delivered"), std::string::npos) << human;
  EXPECT_NE(human.find("<bob@example.test>: failed"), std::string::npos) << human;
  EXPECT_NE(human.find("550 5.1.1 <bob@example.test> User unknown"), std::string::npos) << human;
  EXPECT_NE(human.find("0HOQJ7K6VC6KO1KA"), std::string::npos) << human;
  EXPECT_NE(human.find("Your message is attached."), std::string::npos) << human;

  ASSERT_EQ(d.status.size(), 2u);
  const auto& msg = d.status[0];
  EXPECT_EQ(one(msg, "original-envelope-id"), "QQ314159");
  EXPECT_EQ(one(msg, "reporting-mta"), "dns; mx.example.test");
  EXPECT_EQ(one(msg, "arrival-date"), rfc5322_date(kArrival));
  const auto& rcpt = d.status[1];
  EXPECT_EQ(one(rcpt, "original-recipient"), "rfc822;Bob@Example.Test");
  EXPECT_EQ(one(rcpt, "final-recipient"), "rfc822; bob@example.test");
  EXPECT_EQ(one(rcpt, "action"), "failed");
  EXPECT_EQ(one(rcpt, "status"), "5.1.1");
  EXPECT_EQ(one(rcpt, "remote-mta"), "dns; lmtp.example.test");
  EXPECT_EQ(one(rcpt, "diagnostic-code"), "smtp; 550 5.1.1 <bob@example.test> User unknown");
  EXPECT_EQ(one(rcpt, "last-attempt-date"), rfc5322_date(kNow));
  EXPECT_EQ(one(rcpt, "final-log-id"), "0HOQJ7K6VC6KO1KA");
  EXPECT_FALSE(has(rcpt, "will-retry-until"));

  // RET not given and the message small: returned whole.
  EXPECT_EQ(m.returned, DsnReturned::message);
  EXPECT_EQ(d.parts[2].body, kOriginal);
}

TEST(Dsn, WithoutEnvidAndOrcptThoseFieldsAreAbsent) {
  const auto d = read_dsn(build_dsn(failed_report(), kOriginal).text);
  ASSERT_TRUE(d.ok);
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_FALSE(has(d.status[0], "original-envelope-id"));
  // RFC 3461 §6.3: no ORCPT, no Original-Recipient.
  EXPECT_FALSE(has(d.status[1], "original-recipient"));
}

TEST(Dsn, RetHdrsReturnsTheHeaderOnly) {
  DsnReport r = failed_report();
  r.ret = smtp::DsnRet::hdrs;
  const DsnMessage m = build_dsn(r, kOriginal);
  EXPECT_EQ(m.returned, DsnReturned::headers);
  const auto d = read_dsn(m.text);
  ASSERT_TRUE(d.ok);
  ASSERT_EQ(d.parts.size(), 3u);
  EXPECT_EQ(one(d.parts[2].fields, "content-type"), "text/rfc822-headers");
  EXPECT_EQ(d.parts[2].body, kOriginal.substr(0, kOriginal.find("\r\n\r\n") + 2));
  EXPECT_EQ(m.text.find("only a full return carries"), std::string::npos);
  EXPECT_NE(test::squeezed(d.parts[0].body).find("The header of your message is attached."), std::string::npos);
}

TEST(Dsn, RetFullAndTheDefaultLimitForLargeMessages) {
  std::string large = kOriginal;
  while (large.size() <= 300) large += "more body text\r\n";
  DsnReport r = failed_report();
  const DsnOptions small{200};
  // No RET: over the limit only the header comes back, and the text says why.
  const DsnMessage by_default = build_dsn(r, large, small);
  EXPECT_EQ(by_default.returned, DsnReturned::headers);
  const auto d = read_dsn(by_default.text);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(one(d.parts[2].fields, "content-type"), "text/rfc822-headers");
  EXPECT_NE(test::squeezed(d.parts[0].body).find("larger than 200 octets"), std::string::npos) << d.parts[0].body;
  // RET=FULL: the sender asked for it, so the whole message.
  r.ret = smtp::DsnRet::full;
  const DsnMessage full = build_dsn(r, large, small);
  EXPECT_EQ(full.returned, DsnReturned::message);
  EXPECT_EQ(read_dsn(full.text).parts[2].body, large);
}

TEST(Dsn, RequireTlsReturnsTheHeaderOnlyEvenWithRetFull) {
  DsnReport r = failed_report();
  r.ret = smtp::DsnRet::full;
  r.requiretls = true;
  EXPECT_EQ(build_dsn(r, kOriginal).returned, DsnReturned::headers);
}

TEST(Dsn, DelayedDsnSaysUntilWhenAndReturnsTheHeader) {
  DsnReport r = failed_report();
  r.action = DsnAction::delayed;
  r.ret = smtp::DsnRet::full;  // RET is about failed DSNs only
  r.retry_until = kArrival + 5 * 86400;
  r.recipients[0].diagnostic = "451 4.2.0 mailbox busy";
  const DsnMessage m = build_dsn(r, kOriginal);
  EXPECT_EQ(m.returned, DsnReturned::headers);
  const auto d = read_dsn(m.text);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(one(d.fields, "subject"), "Delayed Mail (still being retried)");
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[1], "action"), "delayed");
  EXPECT_EQ(one(d.status[1], "status"), "4.2.0");
  EXPECT_EQ(one(d.status[1], "will-retry-until"), rfc5322_date(kArrival + 5 * 86400));
  const std::string human = test::squeezed(d.parts[0].body);
  EXPECT_NE(human.find("not yet been delivered"), std::string::npos) << human;
  EXPECT_NE(human.find("you do not need to send the message again"), std::string::npos) << human;
  EXPECT_EQ(one(d.parts[2].fields, "content-description"), "Undelivered Message Headers");
}

TEST(Dsn, DeliveredDsn) {
  DsnReport r = failed_report();
  r.action = DsnAction::delivered;
  r.recipients[0].diagnostic = "";
  r.recipients[0].remote_mta = "";
  const auto d = read_dsn(build_dsn(r, kOriginal).text);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(one(d.fields, "subject"), "Successful Mail Delivery Report");
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[1], "action"), "delivered");
  EXPECT_EQ(one(d.status[1], "status"), "2.0.0");
  EXPECT_FALSE(has(d.status[1], "diagnostic-code"));
  EXPECT_FALSE(has(d.status[1], "remote-mta"));
  EXPECT_EQ(one(d.parts[2].fields, "content-description"), "Delivered Message Headers");
}

TEST(Dsn, RelayedDsn) {
  DsnReport r = failed_report();
  r.action = DsnAction::relayed;
  r.recipients[0].status = "";
  r.recipients[0].diagnostic = "250 2.6.0 queued as X";
  r.recipients[0].remote_mta = "mx.example.net";
  const DsnMessage m = build_dsn(r, kOriginal);
  EXPECT_EQ(m.returned, DsnReturned::headers);  // not a failure: RET does not apply
  const auto d = read_dsn(m.text);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(one(d.fields, "subject"), "Successful Mail Delivery Report");
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[1], "action"), "relayed");
  EXPECT_EQ(one(d.status[1], "status"), "2.0.0");
  EXPECT_EQ(one(d.status[1], "remote-mta"), "dns; mx.example.net");
  EXPECT_EQ(one(d.status[1], "diagnostic-code"), "smtp; 250 2.6.0 queued as X");
  EXPECT_FALSE(has(d.status[1], "will-retry-until"));
  EXPECT_EQ(one(d.parts[2].fields, "content-description"), "Relayed Message Headers");
}

TEST(Dsn, StatusComesFromTheReply) {
  struct Case {
    DsnAction action;
    const char* given;
    const char* diagnostic;
    const char* want;
  };
  for (const Case& c : {
           Case{DsnAction::failed, "", "550 5.1.1 <u@d> User unknown", "5.1.1"},
           Case{DsnAction::failed, "", "550-5.7.1 policy", "5.7.1"},
           Case{DsnAction::failed, "", "552 5.3.4", "5.3.4"},
           Case{DsnAction::failed, "", "550 4.1.1 class differs", "5.0.0"},
           Case{DsnAction::failed, "", "550 5.1 half a code", "5.0.0"},
           Case{DsnAction::failed, "", "554 no enhanced code", "5.0.0"},
           Case{DsnAction::failed, "", "connection refused", "5.0.0"},
           Case{DsnAction::failed, "", "", "5.0.0"},
           Case{DsnAction::failed, "4.4.7", "message expired after 5 days in the queue: 451 4.3.0 x", "4.4.7"},
           Case{DsnAction::failed, "9.9.9", "550 5.1.1 x", "5.1.1"},  // not a status: the reply's
           Case{DsnAction::failed, "5.1234.1", "", "5.0.0"},
           Case{DsnAction::delayed, "", "451 4.3.0 try later", "4.3.0"},
           Case{DsnAction::delayed, "", "no delivery agent yet", "4.0.0"},
           Case{DsnAction::delivered, "", "250 2.1.5 ok", "2.0.0"},
           Case{DsnAction::relayed, "", "250 2.0.0 ok", "2.0.0"},
       }) {
    DsnReport r = failed_report();
    r.action = c.action;
    r.recipients[0].status = c.given;
    r.recipients[0].diagnostic = c.diagnostic;
    const auto d = read_dsn(build_dsn(r, kOriginal).text);
    ASSERT_EQ(d.status.size(), 2u) << c.diagnostic;
    EXPECT_EQ(one(d.status[1], "status"), c.want) << c.diagnostic;
  }
}

TEST(Dsn, ReplyStatus) {
  EXPECT_EQ(reply_status("550 5.1.1 <u@d> unknown"), "5.1.1");
  EXPECT_EQ(reply_status("  451 4.4.1 timed out"), "4.4.1");
  EXPECT_EQ(reply_status("451 timed out"), "4.0.0");
  EXPECT_EQ(reply_status("5.7.30 REQUIRETLS support required"), "5.7.30");  // our own reason, led by its code
  EXPECT_EQ(reply_status("2.0.0 fine"), std::nullopt);
  EXPECT_EQ(reply_status("451 5.4.1 class differs"), "4.0.0");
  EXPECT_EQ(reply_status("250 2.0.0 ok"), std::nullopt);
  EXPECT_EQ(reply_status("no delivery agent yet"), std::nullopt);
  EXPECT_EQ(reply_status("45"), std::nullopt);
  EXPECT_EQ(reply_status("4511 x"), std::nullopt);
}

TEST(Dsn, DiagnosticTypeIsSmtpOnlyForReplies) {
  DsnReport r = failed_report();
  r.recipients[0].diagnostic = "cannot create /var/mail/x: Permission denied";
  const auto d = read_dsn(build_dsn(r, kOriginal).text);
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[1], "diagnostic-code"), "X-mxsec; cannot create /var/mail/x: Permission denied");
}

TEST(Dsn, SeveralRecipientsEachHaveAGroup) {
  DsnReport r = failed_report();
  DsnRecipient carol;
  carol.address = "carol@example.test";
  carol.diagnostic = "552 5.2.2 mailbox full";
  r.recipients.push_back(carol);
  const auto d = read_dsn(build_dsn(r, kOriginal).text);
  ASSERT_EQ(d.status.size(), 3u);
  EXPECT_EQ(one(d.status[2], "final-recipient"), "rfc822; carol@example.test");
  EXPECT_EQ(one(d.status[2], "status"), "5.2.2");
  EXPECT_FALSE(has(d.status[2], "last-attempt-date"));
  EXPECT_NE(test::squeezed(d.parts[0].body).find("<carol@example.test>: failed"), std::string::npos);
}

// RFC 6533: SMTPUTF8 mail gets the global form, UTF-8 kept, "utf-8" types.
TEST(Dsn, Utf8MessagesGetTheGlobalForm) {
  DsnReport r = failed_report();
  r.smtputf8 = true;
  r.sender = "j\xc3\xb6rg@b\xc3\xbc\x63her.example";
  r.recipients[0].address = "\xc3\xa9lise@example.test";
  r.recipients[0].orcpt = "utf-8;\xc3\xa9lise@example.test";
  r.recipients[0].diagnostic = "550 5.1.1 \xc3\xa9lise inconnue";
  const std::string original = "Subject: caf\xc3\xa9\r\n\r\nbody\r\n";
  const DsnMessage m = build_dsn(r, original);
  EXPECT_TRUE(m.global);
  EXPECT_TRUE(m.eight_bit);
  ASSERT_TRUE(test::lines_well_formed(m.text));
  const auto d = read_dsn(m.text);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(one(d.fields, "to"), "<j\xc3\xb6rg@b\xc3\xbc\x63her.example>");
  EXPECT_EQ(one(d.fields, "content-transfer-encoding"), "8bit");
  ASSERT_EQ(d.parts.size(), 3u);
  EXPECT_EQ(one(d.parts[0].fields, "content-type"), "text/plain; charset=utf-8");
  EXPECT_EQ(one(d.parts[1].fields, "content-type"), "message/global-delivery-status");
  EXPECT_EQ(one(d.parts[1].fields, "content-transfer-encoding"), "8bit");
  EXPECT_EQ(one(d.parts[2].fields, "content-type"), "message/global");
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[1], "final-recipient"), "utf-8; \xc3\xa9lise@example.test");
  EXPECT_EQ(one(d.status[1], "original-recipient"), "utf-8;\xc3\xa9lise@example.test");
  EXPECT_EQ(one(d.status[1], "diagnostic-code"), "smtp; 550 5.1.1 \xc3\xa9lise inconnue");
  EXPECT_EQ(d.parts[2].body, original);
  // Headers only: message/global-headers.
  r.ret = smtp::DsnRet::hdrs;
  const auto h = read_dsn(build_dsn(r, original).text);
  ASSERT_EQ(h.parts.size(), 3u);
  EXPECT_EQ(one(h.parts[2].fields, "content-type"), "message/global-headers");
}

TEST(Dsn, AUtf8AddressAloneMakesItGlobal) {
  DsnReport r = failed_report();
  r.recipients[0].address = "\xc3\xa9lise@example.test";
  EXPECT_TRUE(build_dsn(r, kOriginal).global);
}

// Outside the global form, remote text is ASCII: other octets become '?'.
TEST(Dsn, NonAsciiDiagnosticsOfAnAsciiReportBecomeQuestionMarks) {
  DsnReport r = failed_report();
  r.recipients[0].diagnostic = "550 5.1.1 caf\xc3\xa9 \xff";
  const DsnMessage m = build_dsn(r, kOriginal);
  EXPECT_FALSE(m.global);
  EXPECT_FALSE(m.eight_bit);
  const auto d = read_dsn(m.text);
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[1], "diagnostic-code"), "smtp; 550 5.1.1 caf?? ?");
  // In the global form, well-formed UTF-8 stays and the rest does not.
  r.smtputf8 = true;
  const auto g = read_dsn(build_dsn(r, kOriginal).text);
  ASSERT_EQ(g.status.size(), 2u);
  EXPECT_EQ(one(g.status[1], "diagnostic-code"), "smtp; 550 5.1.1 caf\xc3\xa9 ?");
}

// A server's reply is text from outside: line breaks in it must not start
// a field, a part, or end the report.
TEST(Dsn, HostileReplyTextCannotInjectFieldsOrParts) {
  DsnReport r = failed_report();
  const std::string boundary_guess = "--=_mxsec_" + r.message_id + "_0";
  r.recipients[0].diagnostic = "550 5.1.1 no\r\nFrom: evil@attacker.example\r\n\r\n" + boundary_guess +
                               "\r\nContent-Type: text/html\r\n\r\n<script>\nBcc: x@y\rStatus: 2.0.0" +
                               std::string(1, '\0') + "\x1b[31m";
  r.recipients[0].remote_mta = "mx\r\nAction: delivered";
  r.envid = "id\r\nReporting-MTA: dns; evil";
  r.sender = "alice@example.org>\r\nBcc: victim@example.net";
  const DsnMessage m = build_dsn(r, kOriginal);
  ASSERT_TRUE(test::lines_well_formed(m.text));
  const auto d = read_dsn(m.text);
  ASSERT_TRUE(d.ok);
  EXPECT_FALSE(has(d.fields, "bcc"));
  EXPECT_EQ(d.fields.at("from").size(), 1u);
  ASSERT_EQ(d.parts.size(), 3u);
  EXPECT_TRUE(d.closed);
  ASSERT_EQ(d.status.size(), 2u);
  EXPECT_EQ(one(d.status[0], "reporting-mta"), "dns; mx.example.test");
  EXPECT_EQ(one(d.status[1], "action"), "failed");
  EXPECT_EQ(one(d.status[1], "status"), "5.1.1");
  EXPECT_FALSE(has(d.status[1], "from"));
  EXPECT_FALSE(has(d.status[1], "content-type"));
  const std::string diag = one(d.status[1], "diagnostic-code");
  EXPECT_TRUE(diag.starts_with("smtp; 550 5.1.1 no From: evil@attacker.example ")) << diag;
  EXPECT_EQ(diag.find('\x1b'), std::string::npos);
  EXPECT_EQ(m.text.find('\0'), std::string::npos);
}

TEST(Dsn, VeryLongReplyTextIsCutAndFoldedUnder998) {
  DsnReport r = failed_report();
  r.recipients[0].diagnostic = "550 5.1.1 " + std::string(100000, 'x') + " " + std::string(3000, 'y');
  r.recipients[0].remote_mta = std::string(5000, 'h');
  const DsnMessage m = build_dsn(r, kOriginal);
  ASSERT_TRUE(test::lines_well_formed(m.text));
  EXPECT_LT(m.text.size(), 20000u);
  const auto d = read_dsn(m.text);
  ASSERT_EQ(d.parts.size(), 3u);
  ASSERT_EQ(d.status.size(), 2u);
  const std::string diag = one(d.status[1], "diagnostic-code");
  EXPECT_TRUE(diag.ends_with("...")) << diag.substr(diag.size() - 20);
  EXPECT_LE(diag.size(), limits::kDsnDiagnosticBytes + 40);
}

// A long UTF-8 word is cut between characters, never inside one.
TEST(Dsn, LongUtf8WordsAreCutBetweenCharacters) {
  DsnReport r = failed_report();
  r.smtputf8 = true;
  std::string word = "a";  // so that a cut at a fixed offset would fall inside a character
  for (int i = 0; i < 1500; ++i) word += "\xc3\xa9";
  r.recipients[0].diagnostic = "550 5.1.1 " + word;
  const DsnMessage m = build_dsn(r, kOriginal);
  ASSERT_TRUE(test::lines_well_formed(m.text));
  EXPECT_TRUE(is_utf8(m.text));
}

TEST(Dsn, AnOriginalWithLongLinesIsReturnedAsItsHeader) {
  const std::string original = "Subject: long\r\n\r\n" + std::string(1200, 'b') + "\r\n";
  DsnReport r = failed_report();
  r.ret = smtp::DsnRet::full;
  const DsnMessage m = build_dsn(r, original);
  EXPECT_EQ(m.returned, DsnReturned::headers);
  ASSERT_TRUE(test::lines_well_formed(m.text));
  const auto d = read_dsn(m.text);
  EXPECT_NE(test::squeezed(d.parts[0].body).find("lines that are too long"), std::string::npos);
  // A header that is itself too long, or bare LFs: nothing is returned.
  for (const std::string& bad : {"Subject: " + std::string(1200, 'h') + "\r\n\r\nbody\r\n",
                                 std::string("Subject: bare\nline\r\n\r\nbody\r\n")}) {
    const DsnMessage none = build_dsn(r, bad);
    EXPECT_EQ(none.returned, DsnReturned::nothing);
    ASSERT_TRUE(test::lines_well_formed(none.text));
    const auto n = read_dsn(none.text);
    ASSERT_EQ(n.parts.size(), 2u);
    EXPECT_NE(test::squeezed(n.parts[0].body).find("is not attached"), std::string::npos);
  }
}

// The original may contain what looks like our boundary: another is chosen.
TEST(Dsn, TheBoundaryNeverOccursInTheReturnedMessage) {
  DsnReport r = failed_report();
  std::string original = "Subject: trap\r\n\r\n";
  for (int n = 0; n < 3; ++n) original += "--=_mxsec_" + r.message_id + "_" + std::to_string(n) + "--\r\n";
  const DsnMessage m = build_dsn(r, original);
  const auto d = read_dsn(m.text);
  ASSERT_TRUE(d.ok);
  EXPECT_EQ(d.boundary, "=_mxsec_" + r.message_id + "_3");
  ASSERT_EQ(d.parts.size(), 3u);
  EXPECT_EQ(d.parts[2].body, original);
  // An original with every boundary tried is left out.
  std::string all = "Subject: trap\r\n\r\n";
  for (int n = 0; n < 16; ++n) all += "--=_mxsec_" + r.message_id + "_" + std::to_string(n) + "\r\n";
  const DsnMessage left_out = build_dsn(r, all);
  EXPECT_EQ(left_out.returned, DsnReturned::nothing);
  const auto l = read_dsn(left_out.text);
  ASSERT_EQ(l.parts.size(), 2u);
  EXPECT_TRUE(l.closed);
}

TEST(Dsn, AnEmptyHeaderOrMessageReturnsNothing) {
  DsnReport r = failed_report();
  r.ret = smtp::DsnRet::hdrs;
  EXPECT_EQ(build_dsn(r, "\r\nbody only\r\n").returned, DsnReturned::nothing);
  EXPECT_EQ(build_dsn(r, "").returned, DsnReturned::nothing);
  ASSERT_TRUE(test::lines_well_formed(build_dsn(r, "").text));
}

}  // namespace
}  // namespace mxsec::delivery

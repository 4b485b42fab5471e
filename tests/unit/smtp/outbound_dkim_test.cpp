// DKIM signing of outbound mail through the server path: a message
// submitted to the session, committed to the spool, delivered by the queue
// runner into a Maildir, and the delivered file verified with mxsec's own
// Verifier against the published key records (outbound_dkim.hpp).
#include "smtp/server/outbound_dkim.hpp"

#include <gtest/gtest.h>

#include <string>

#include "unit/dkim/dkim_test_util.hpp"
#include "unit/smtp/outbound_dkim_bed.hpp"

namespace mxsec::smtp::server {
namespace {

using auth::dkim::KeyType;
using auth::dkim::Verdict;
using test::Client;
using test::SigningBed;

const std::string kMessage =
    "From: Alice <alice@example.com>\r\n"
    "To: Bob <bob@example.test>\r\n"
    "Subject: signed on the way out\r\n"
    "Date: Thu, 03 Dec 2026 18:00:00 +0000\r\n"
    "Message-ID: <outbound-1@example.com>\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "\r\n"
    "this message is signed by mxsec.\r\n";

std::string with_from(const std::string& from) {
  return "From: " + from + "\r\nTo: bob@example.test\r\nSubject: x\r\n\r\nbody\r\n";
}

auth::dkim::VerifyResult verify(const SigningBed& bed, const std::string& delivered) {
  dns::FakeResolver dns;
  for (const auto& p : bed.published()) auth::dkim::testing::add_key(dns, p.name, p.record);
  return auth::dkim::testing::verify_bytes(delivered, dns, bed.now());
}

std::size_t count(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The header of a delivered message, up to the empty line.
std::string header_of(const std::string& m) { return m.substr(0, m.find("\r\n\r\n") + 2); }

TEST(OutboundDkim, RelayClientMailGetsDualSignaturesThatVerify) {
  SigningBed bed;
  bed.add_key("example.com", "rsa2026", KeyType::rsa);
  bed.add_key("example.com", "ed2026", KeyType::ed25519);
  auto s = bed.submit(Client::relay, kMessage);
  ASSERT_EQ(s.codes, (std::vector<int>{220, 250, 250, 250, 354, 250, 221}));
  ASSERT_FALSE(s.delivered.empty());
  const std::string header = header_of(s.delivered);
  EXPECT_EQ(count(header, "DKIM-Signature:"), 2u) << header;
  // On top of the fields mxsec prepends.
  EXPECT_LT(header.find("DKIM-Signature:"), header.find("Received:")) << header;
  const auto r = verify(bed, s.delivered);
  ASSERT_EQ(r.signatures.size(), 2u);
  for (const auto& sig : r.signatures) {
    EXPECT_EQ(sig.result, Verdict::pass) << sig.reason;
    EXPECT_EQ(sig.domain, "example.com");
  }
  EXPECT_EQ(r.signatures[0].selector, "rsa2026");
  EXPECT_EQ(r.signatures[1].selector, "ed2026");
}

TEST(OutboundDkim, AuthenticatedClientMailIsSigned) {
  SigningBed bed;
  bed.add_key("example.com", "s1", KeyType::ed25519);
  auto s = bed.submit(Client::authenticated, kMessage);
  // greeting, EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA, ".", QUIT
  ASSERT_EQ(s.codes, (std::vector<int>{220, 250, 220, 250, 235, 250, 250, 354, 250, 221}));
  const auto r = verify(bed, s.delivered);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].result, Verdict::pass) << r.signatures[0].reason;
}

TEST(OutboundDkim, StrangerMailIsNotSigned) {
  SigningBed bed;
  bed.add_key("example.com", "s1", KeyType::rsa);
  auto s = bed.submit(Client::stranger, kMessage);
  ASSERT_EQ(s.codes, (std::vector<int>{220, 250, 250, 250, 354, 250, 221}));
  ASSERT_FALSE(s.delivered.empty());
  EXPECT_EQ(s.delivered.find("DKIM-Signature:"), std::string::npos) << s.delivered;
}

TEST(OutboundDkim, FromInADomainWithoutAKeyIsNotSigned) {
  SigningBed bed;
  bed.add_key("example.com", "s1", KeyType::rsa);
  // Neither another domain nor a name that only ends like one.
  for (const char* from : {"alice@example.org", "alice@badexample.com", "alice@com"}) {
    auto s = bed.submit(Client::relay, with_from(from));
    ASSERT_FALSE(s.delivered.empty()) << from;
    EXPECT_EQ(s.delivered.find("DKIM-Signature:"), std::string::npos) << from;
  }
}

TEST(OutboundDkim, SubdomainFromIsSignedWithTheParentDomain) {
  SigningBed bed;
  bed.add_key("example.com", "s1", KeyType::rsa);
  bed.add_key("other.example", "s1", KeyType::rsa);
  auto s = bed.submit(Client::relay, with_from("Alice <alice@lists.mail.example.com>"));
  const auto r = verify(bed, s.delivered);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].domain, "example.com");
  EXPECT_EQ(r.signatures[0].result, Verdict::pass) << r.signatures[0].reason;
}

TEST(OutboundDkim, NoFromOrSeveralFromIsNotSigned) {
  SigningBed bed;
  bed.add_key("example.com", "s1", KeyType::rsa);
  const std::string none = "To: bob@example.test\r\nSubject: no author\r\n\r\nbody\r\n";
  const std::string two = "From: alice@example.com\r\nFrom: eve@example.com\r\nTo: bob@example.test\r\n\r\nbody\r\n";
  for (const std::string& m : {none, two}) {
    auto s = bed.submit(Client::relay, m);
    ASSERT_EQ(s.codes.size(), 7u);
    EXPECT_EQ(s.codes[5], 250);  // accepted, unsigned
    ASSERT_FALSE(s.delivered.empty());
    EXPECT_EQ(s.delivered.find("DKIM-Signature:"), std::string::npos);
  }
}

// delivery/headers.hpp removes Authentication-Results fields that carry our
// authserv-id from the text before delivery; a signature made at the end
// of data must survive that removal.
TEST(OutboundDkim, RemovingForgedAuthenticationResultsKeepsTheSignatureValid) {
  SigningBed bed;
  bed.add_key("example.com", "s1", KeyType::rsa);
  const std::string forged = "Authentication-Results: mx.example.test; dkim=pass header.d=example.com\r\n" + kMessage;
  auto s = bed.submit(Client::relay, forged);
  ASSERT_FALSE(s.delivered.empty());
  EXPECT_EQ(s.delivered.find("Authentication-Results: mx.example.test"), std::string::npos)
      << "the runner no longer removes forged fields; this test no longer tests anything\n" << s.delivered;
  const auto r = verify(bed, s.delivered);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].result, Verdict::pass) << r.signatures[0].reason;
}

TEST(OutboundDkim, ASigningFailureAcceptsTheMessageWithTheOtherSignatures) {
  SigningBed bed;
  bed.add_broken_key("example.com", "broken");
  bed.add_key("example.com", "ed1", KeyType::ed25519);
  auto s = bed.submit(Client::relay, kMessage);
  ASSERT_EQ(s.codes, (std::vector<int>{220, 250, 250, 250, 354, 250, 221}));
  const auto r = verify(bed, s.delivered);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].selector, "ed1");
  EXPECT_EQ(r.signatures[0].result, Verdict::pass);
}

TEST(OutboundDkim, AMessageTheSignerRefusesIsAcceptedUnsigned) {
  SigningBed bed;
  bed.add_key("example.com", "s1", KeyType::rsa);
  // More Cc fields than a signature may list (limits::kDkimSignedHeaders):
  // Signer::sign() fails at run time.
  std::string m = "From: alice@example.com\r\n";
  for (int i = 0; i <= limits::kDkimSignedHeaders; ++i) m += "Cc: c" + std::to_string(i) + "@example.test\r\n";
  m += "\r\nbody\r\n";
  auto s = bed.submit(Client::relay, m);
  ASSERT_EQ(s.codes, (std::vector<int>{220, 250, 250, 250, 354, 250, 221}));
  ASSERT_FALSE(s.delivered.empty());
  EXPECT_EQ(s.delivered.find("DKIM-Signature:"), std::string::npos);
}

// --- sign_outbound() on its own -----------------------------------------------------

std::vector<config::DkimKey> one_key(KeyType type) {
  auto key = auth::dkim::generate_key(type, 2048);
  EXPECT_TRUE(key);
  auth::dkim::SignerConfig sc;
  sc.domain = "example.com";
  sc.selector = "s1";
  auto signer = auth::dkim::Signer::from_pem(key->private_pem, sc);
  EXPECT_TRUE(signer);
  config::DkimKey k;
  k.domain = k.domain_ascii = "example.com";
  k.selector = "s1";
  k.algorithm = signer->algorithm();
  k.signer = std::make_shared<const auth::dkim::Signer>(std::move(*signer));
  return {k};
}

TEST(SignOutbound, StatusesAndReasons) {
  const auto keys = one_key(KeyType::ed25519);
  FixedClock clock(1796300000);
  const std::string prepend = "Received: from a by b; Thu, 03 Dec 2026 18:00:00 +0000\r\n";
  auto s = sign_outbound(keys, prepend, kMessage, clock);
  EXPECT_EQ(s.status, DkimSigning::signed_);
  EXPECT_EQ(s.detail, "d=example.com s=s1 (ed25519-sha256)");
  EXPECT_EQ(s.fields.rfind("DKIM-Signature:", 0), 0u);
  // The From field may come from the prepend as well as from the text.
  s = sign_outbound(keys, "From: alice@example.com\r\n", "Subject: x\r\n\r\nbody\r\n", clock);
  EXPECT_EQ(s.status, DkimSigning::signed_);
  s = sign_outbound(keys, "From: alice@example.com\r\n", with_from("alice@example.com"), clock);
  EXPECT_EQ(s.status, DkimSigning::several_from);
  EXPECT_TRUE(s.fields.empty());
  s = sign_outbound(keys, prepend, "Subject: x\r\n\r\nbody\r\n", clock);
  EXPECT_EQ(s.status, DkimSigning::no_from);
  s = sign_outbound(keys, prepend, with_from("undisclosed-recipients:;"), clock);
  EXPECT_EQ(s.status, DkimSigning::bad_from);
  s = sign_outbound(keys, prepend, with_from("a@example.com, b@example.org"), clock);
  EXPECT_EQ(s.status, DkimSigning::bad_from);
  s = sign_outbound(keys, prepend, "no colon here\r\n\r\nbody\r\n", clock);
  EXPECT_EQ(s.status, DkimSigning::unparsable);
  s = sign_outbound(keys, prepend, with_from("alice@EXAMPLE.com."), clock);
  EXPECT_EQ(s.status, DkimSigning::signed_) << s.detail;
  s = sign_outbound(keys, prepend, with_from("alice@example.net"), clock);
  EXPECT_EQ(s.status, DkimSigning::no_key);
  EXPECT_EQ(s.detail, "no [[dkim]] key for the From domain example.net");
  s = sign_outbound({}, prepend, kMessage, clock);
  EXPECT_EQ(s.status, DkimSigning::no_key);
}

TEST(SignOutbound, AuthenticationResultsIsNeverSigned) {
  // The default header list, which every [[dkim]] key signs with.
  EXPECT_TRUE(check_signed_fields(auth::dkim::SignerConfig{}));
  auth::dkim::SignerConfig c;
  c.signed_if_present.push_back("authentication-results");
  EXPECT_FALSE(check_signed_fields(c));
  auth::dkim::SignerConfig o;
  o.oversigned.push_back("Authentication-Results");
  EXPECT_FALSE(check_signed_fields(o));
  // And the signature made over a message that has one does not list it.
  const auto keys = one_key(KeyType::rsa);
  FixedClock clock(1796300000);
  auto s = sign_outbound(keys, "Authentication-Results: mx.example.test; spf=pass\r\n", kMessage, clock);
  ASSERT_EQ(s.status, DkimSigning::signed_);
  const std::string h = s.fields.substr(s.fields.find("h="), s.fields.find(';', s.fields.find("h=")) - s.fields.find("h="));
  EXPECT_EQ(to_lower(h).find("authentication-results"), std::string::npos) << h;
  EXPECT_NE(to_lower(h).find("from"), std::string::npos) << h;
}

}  // namespace
}  // namespace mxsec::smtp::server

// Signing (RFC 6376 §5, RFC 8463): round trips for both algorithms and all
// canonicalizations, over-signing, the emitted field's shape, key errors.
#include "auth/dkim/sign.hpp"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "codec/tag_list.hpp"
#include "dkim_test_util.hpp"

namespace mxsec::auth::dkim {
namespace {

using testing::add_key;
using testing::read_testdata;
using testing::sign_bytes;
using testing::signer_config;
using testing::verify_bytes;

constexpr std::int64_t kNow = 1700000000;
const std::string kMessage =
    "From: Joe <joe@example.com>\r\n"
    "To: Suzie <suzie@example.net>\r\n"
    "Cc: Bob <bob@example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
    "Message-ID: <1@example.com>\r\n"
    "Received: from a by b\r\n"
    "X-Mailer: test\r\n"
    "\r\n"
    "Hi.\r\n  \r\n\tWe lost the game.  Are you hungry yet?  \r\n\r\nJoe.\r\n\r\n\r\n";

std::string key_file(const std::string& alg) {
  return alg == "rsa" ? read_testdata("dkimpy/test.private") : read_testdata("dkimpy/rfc8032_7_1.key");
}

struct RoundTrip {
  std::string alg;
  Canon header, body;
};

class SignRoundTrip : public ::testing::TestWithParam<RoundTrip> {};

TEST_P(SignRoundTrip, VerifiesAndTamperFails) {
  const auto& c = GetParam();
  auto signer = Signer::from_key_bytes(key_file(c.alg), signer_config("example.com", "sel", c.header, c.body));
  ASSERT_TRUE(signer) << signer.error().message;
  dns::FakeResolver dns;
  add_key(dns, "sel._domainkey.example.com",
          std::string("v=DKIM1; k=") + to_string(signer->key_type()) + "; p=" + *signer->public_key_b64());
  const std::string bytes = sign_bytes(*signer, kMessage, kNow);
  VerifyResult r = verify_bytes(bytes, dns, kNow);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].result, Verdict::pass) << r.signatures[0].reason;
  EXPECT_EQ(r.signatures[0].algorithm, c.alg == "rsa" ? "rsa-sha256" : "ed25519-sha256");
  EXPECT_EQ(r.signatures[0].canonicalization, std::string(to_string(c.header)) + "/" + to_string(c.body));
  std::string tampered = bytes;
  tampered.replace(tampered.find("hungry"), 6, "HUNGRY");
  r = verify_bytes(tampered, dns, kNow);
  EXPECT_EQ(r.signatures[0].reason, "body hash mismatch");
  tampered = bytes;
  tampered.replace(tampered.find("Suzie"), 5, "Susie");
  r = verify_bytes(tampered, dns, kNow);
  EXPECT_EQ(r.signatures[0].reason, "signature did not verify");
}

INSTANTIATE_TEST_SUITE_P(Matrix, SignRoundTrip,
                         ::testing::Values(RoundTrip{"rsa", Canon::simple, Canon::simple},
                                           RoundTrip{"rsa", Canon::simple, Canon::relaxed},
                                           RoundTrip{"rsa", Canon::relaxed, Canon::simple},
                                           RoundTrip{"rsa", Canon::relaxed, Canon::relaxed},
                                           RoundTrip{"ed25519", Canon::simple, Canon::simple},
                                           RoundTrip{"ed25519", Canon::simple, Canon::relaxed},
                                           RoundTrip{"ed25519", Canon::relaxed, Canon::simple},
                                           RoundTrip{"ed25519", Canon::relaxed, Canon::relaxed}),
                         [](const auto& info) {
                           return info.param.alg + "_" + to_string(info.param.header) + "_" +
                                  to_string(info.param.body);
                         });

// Parses the emitted field back into tags.
std::vector<std::pair<std::string, std::string>> tags_of(const std::string& field) {
  const std::string bytes = field + "\r\n";
  auto msg = codec::parse_message(bytes);
  EXPECT_TRUE(msg);
  auto tags = codec::parse_tag_list(msg->headers.at(0).value);
  EXPECT_TRUE(tags);
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& t : *tags) out.emplace_back(std::string(t.name), codec::strip_whitespace(t.value));
  return out;
}

std::string tag(const std::vector<std::pair<std::string, std::string>>& tags, const std::string& name) {
  for (const auto& [n, v] : tags)
    if (n == name) return v;
  return "<absent>";
}

TEST(Signer, FieldShapeAndTags) {
  auto signer = Signer::from_key_bytes(key_file("rsa"), signer_config("Example.COM", "Sel"));
  ASSERT_TRUE(signer);
  auto msg = codec::parse_message(kMessage);
  FixedClock clock(kNow);
  auto field = signer->sign(*msg, clock);
  ASSERT_TRUE(field) << field.error().message;
  ASSERT_EQ(field->rfind("DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=sel;", 0), 0u);
  ASSERT_GE(field->size(), 2u);
  EXPECT_EQ(field->substr(field->size() - 2), "\r\n");
  // Folded: every line short, continuation lines start with a TAB.
  std::size_t start = 0, lines = 0;
  while (start < field->size()) {
    const std::size_t eol = field->find("\r\n", start);
    ASSERT_NE(eol, std::string::npos);
    EXPECT_LE(eol - start, 78u) << field->substr(start, eol - start);
    if (start > 0) {
      EXPECT_EQ((*field)[start], '\t');
    }
    start = eol + 2;
    ++lines;
  }
  EXPECT_GE(lines, 3u);  // the 1024-bit b= alone needs two lines
  const auto tags = tags_of(*field);
  EXPECT_EQ(tag(tags, "t"), "1700000000");
  EXPECT_EQ(tag(tags, "x"), "<absent>");
  EXPECT_EQ(tag(tags, "l"), "<absent>");  // never l=
  EXPECT_EQ(tag(tags, "i"), "<absent>");
  // Over-signed: From, To, Subject, Date once more than they occur;
  // Content-Type absent -> listed once; Cc and Message-ID as often as they
  // occur; Received and X-Mailer not signed.
  EXPECT_EQ(tag(tags, "h"), "from:from:to:to:subject:subject:date:date:content-type:cc:message-id");
  EXPECT_EQ(tags.back().first, "b");  // b= last, so the signer's text equals the verifier's
}

TEST(Signer, OverSigningCountsOccurrences) {
  auto signer = Signer::from_key_bytes(key_file("ed25519"), signer_config("example.com", "sel"));
  ASSERT_TRUE(signer);
  const std::string two_to = "From: a@example.com\r\nTo: b@example.net\r\nTo: c@example.net\r\n"
                             "Content-Type: text/plain\r\nMIME-Version: 1.0\r\n\r\nbody\r\n";
  auto msg = codec::parse_message(two_to);
  FixedClock clock(kNow);
  auto field = signer->sign(*msg, clock);
  ASSERT_TRUE(field);
  EXPECT_EQ(tag(tags_of(*field), "h"),
            "from:from:to:to:to:subject:date:content-type:content-type:mime-version");
}

TEST(Signer, OptionalTags) {
  SignerConfig c = signer_config("example.com", "sel", Canon::simple, Canon::relaxed);
  c.identity = "joe@mail.example.com";
  c.expire_after = 86400;
  c.include_timestamp = true;
  auto signer = Signer::from_key_bytes(key_file("ed25519"), c);
  ASSERT_TRUE(signer) << signer.error().message;
  auto msg = codec::parse_message(kMessage);
  FixedClock clock(kNow);
  const auto tags = tags_of(*signer->sign(*msg, clock));
  EXPECT_EQ(tag(tags, "c"), "simple/relaxed");
  EXPECT_EQ(tag(tags, "a"), "ed25519-sha256");
  EXPECT_EQ(tag(tags, "i"), "joe@mail.example.com");
  EXPECT_EQ(tag(tags, "x"), "1700086400");
}

TEST(Signer, ConfigAndKeyErrors) {
  const std::string rsa = key_file("rsa");
  EXPECT_EQ(Signer::from_key_bytes(rsa, signer_config("not a domain", "sel")).error().message,
            "signing domain is not a domain name: not a domain");
  EXPECT_EQ(Signer::from_key_bytes(rsa, signer_config("example.com", "")).error().message, "selector is not valid: ");
  SignerConfig bad_i = signer_config("example.com", "sel");
  bad_i.identity = "joe@example.org";
  EXPECT_EQ(Signer::from_key_bytes(rsa, bad_i).error().message, "i= must be an address at d= or a subdomain of it");
  EXPECT_EQ(Signer::from_key_bytes("hello", signer_config("example.com", "sel")).error().message,
            "key is neither PEM nor a base64 32-byte Ed25519 seed");
  auto pem = Signer::from_key_bytes("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
                                    signer_config("example.com", "sel"));
  ASSERT_FALSE(pem);
  EXPECT_EQ(pem.error().message.rfind("cannot read private key PEM", 0), 0u);
}

TEST(Signer, RefusesMessageWithoutFrom) {
  auto signer = Signer::from_key_bytes(key_file("rsa"), signer_config("example.com", "sel"));
  ASSERT_TRUE(signer);
  auto msg = codec::parse_message("To: a@example.net\r\nSubject: x\r\n\r\nbody\r\n");
  FixedClock clock(kNow);
  auto field = signer->sign(*msg, clock);
  ASSERT_FALSE(field);
  EXPECT_EQ(field.error().message, "message has no From field (RFC 6376 §5.4: From MUST be signed)");
}

TEST(Signer, ReusableAndDeterministicForEd25519) {
  auto signer = Signer::from_key_bytes(key_file("ed25519"), signer_config("example.com", "sel"));
  ASSERT_TRUE(signer);
  auto msg = codec::parse_message(kMessage);
  FixedClock clock(kNow);
  auto a = signer->sign(*msg, clock);
  auto b = signer->sign(*msg, clock);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(*a, *b);  // Ed25519 is deterministic (RFC 8032)
  clock.set(kNow + 1);
  EXPECT_NE(*signer->sign(*msg, clock), *a);
}

// The header contract: one Signer may be shared by threads (sign() only
// duplicates the contexts prepared at construction).
TEST(Signer, SharedByThreads) {
  for (const std::string alg : {"rsa", "ed25519"}) {
    auto signer = Signer::from_key_bytes(key_file(alg), signer_config("example.com", "sel"));
    ASSERT_TRUE(signer);
    auto msg = codec::parse_message(kMessage);
    ASSERT_TRUE(msg);
    const FixedClock clock(kNow);
    const auto expected = signer->sign(*msg, clock);
    ASSERT_TRUE(expected);
    std::vector<std::vector<std::string>> fields(4);
    std::vector<std::thread> threads;
    for (auto& out : fields)
      threads.emplace_back([&signer, &msg, &clock, &out] {
        for (int i = 0; i < 10; ++i) {
          auto f = signer->sign(*msg, clock);
          out.push_back(f ? *f : "error: " + f.error().message);
        }
      });
    for (auto& t : threads) t.join();
    dns::FakeResolver dns;
    add_key(dns, "sel._domainkey.example.com",
            std::string("v=DKIM1; k=") + to_string(signer->key_type()) + "; p=" + *signer->public_key_b64());
    for (const auto& out : fields) {
      ASSERT_EQ(out.size(), 10u);
      for (const std::string& f : out) {
        // RSA PKCS#1 v1.5 and Ed25519 are both deterministic.
        EXPECT_EQ(f, *expected) << alg;
      }
    }
    const VerifyResult r = verify_bytes(*expected + kMessage, dns, kNow);
    ASSERT_EQ(r.signatures.size(), 1u);
    EXPECT_EQ(r.signatures[0].result, Verdict::pass) << alg << ": " << r.signatures[0].reason;
  }
}

TEST(Signer, EmptyBodyAndHeaderOnlyMessage) {
  auto signer = Signer::from_key_bytes(key_file("rsa"), signer_config("example.com", "sel", Canon::simple, Canon::simple));
  ASSERT_TRUE(signer);
  dns::FakeResolver dns;
  add_key(dns, "sel._domainkey.example.com", "v=DKIM1; p=" + *signer->public_key_b64());
  for (const std::string m : {"From: a@example.com\r\n\r\n", "From: a@example.com\r\n"}) {
    const VerifyResult r = verify_bytes(sign_bytes(*signer, m, kNow), dns, kNow);
    ASSERT_EQ(r.signatures.size(), 1u);
    EXPECT_EQ(r.signatures[0].result, Verdict::pass) << r.signatures[0].reason;
  }
}

}  // namespace
}  // namespace mxsec::auth::dkim

// Verification (RFC 6376 §6, RFC 8301, RFC 8463): tamper tests, DNS
// outcomes, key-record policies, x=/t=, l=, signature limits, hostile input.
#include "auth/dkim/verify.hpp"

#include <gtest/gtest.h>
#include <openssl/pem.h>

#include "codec/base64.hpp"
#include "dkim_test_util.hpp"

namespace mxsec::auth::dkim {
namespace {

using testing::add_key;
using testing::read_testdata;
using testing::sign_bytes;
using testing::signer_config;
using testing::verdicts;
using testing::verify_bytes;

constexpr std::int64_t kNow = 1700000000;
const std::string kKeyName = "test._domainkey.example.com";
const std::string kMessage =
    "From: Joe <joe@example.com>\r\n"
    "To: Suzie <suzie@example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n"
    "Message-ID: <1@example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

class VerifyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rsa_record_ = std::string(trim(read_testdata("dkimpy/test.txt")));
    auto s = Signer::from_key_bytes(read_testdata("dkimpy/test.private"), signer_config("example.com", "test"));
    ASSERT_TRUE(s) << s.error().message;
    rsa_.emplace(std::move(*s));
  }
  std::string signed_rsa(const std::string& msg = kMessage, std::int64_t when = kNow) const {
    return sign_bytes(*rsa_, msg, when);
  }
  SignatureResult one(const std::string& bytes, dns::FakeResolver& dns, std::int64_t now = kNow,
                      const Config& config = {}) {
    VerifyResult r = verify_bytes(bytes, dns, now, config);
    EXPECT_EQ(r.signatures.size(), 1u) << verdicts(r);
    return r.signatures.empty() ? SignatureResult{} : r.signatures.front();
  }
  dns::FakeResolver dns_with_key(const std::string& record) const {
    dns::FakeResolver dns;
    add_key(dns, kKeyName, record);
    return dns;
  }

  std::string rsa_record_;
  std::optional<Signer> rsa_;
};

std::string replace_once(std::string s, std::string_view from, std::string_view to) {
  const std::size_t pos = s.find(from);
  EXPECT_NE(pos, std::string::npos) << from;
  if (pos != std::string::npos) s.replace(pos, from.size(), to);
  return s;
}

TEST_F(VerifyTest, PassReportsFields) {
  auto dns = dns_with_key(rsa_record_);
  const std::string bytes = signed_rsa();
  const SignatureResult r = one(bytes, dns);
  EXPECT_EQ(r.result, Verdict::pass) << r.reason;
  EXPECT_EQ(r.reason, "");
  EXPECT_EQ(r.domain, "example.com");
  EXPECT_EQ(r.selector, "test");
  EXPECT_EQ(r.identity, "@example.com");
  EXPECT_EQ(r.algorithm, "rsa-sha256");
  EXPECT_EQ(r.canonicalization, "relaxed/relaxed");
  EXPECT_EQ(r.header_b.size(), 8u);
  EXPECT_EQ(bytes.find("b=" + r.header_b) != std::string::npos, true);
  EXPECT_EQ(r.key_bits, 1024);
  EXPECT_EQ(r.key_security, dns::Security::insecure);
  EXPECT_FALSE(r.testing);
  EXPECT_EQ(dns.query_count(), 1u);
}

TEST_F(VerifyTest, UnsignedMessageIsNone) {
  dns::FakeResolver dns;
  const VerifyResult r = verify_bytes(kMessage, dns, kNow);
  EXPECT_TRUE(r.signatures.empty());
  EXPECT_EQ(r.summary(), Verdict::none);
  EXPECT_FALSE(r.any_pass());
  EXPECT_EQ(dns.query_count(), 0u);
}

struct Tamper {
  std::string name, from, to;
  std::string reason;
};

class TamperTest : public VerifyTest, public ::testing::WithParamInterface<Tamper> {};

TEST_P(TamperTest, Fails) {
  auto dns = dns_with_key(rsa_record_);
  const std::string good = signed_rsa();
  ASSERT_EQ(one(good, dns).result, Verdict::pass);
  const std::string bad = replace_once(good, GetParam().from, GetParam().to);
  const SignatureResult r = one(bad, dns);
  EXPECT_EQ(r.result, Verdict::fail);
  EXPECT_EQ(r.reason, GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TamperTest,
    ::testing::Values(
        Tamper{"subject_changed", "Subject: Is dinner ready?", "Subject: Is lunch ready?", "signature did not verify"},
        Tamper{"from_changed", "From: Joe <joe@", "From: Jim <joe@", "signature did not verify"},
        Tamper{"date_removed", "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n", "", "signature did not verify"},
        // Over-signing: a second From (or Subject) added later breaks it.
        Tamper{"from_added", "To: Suzie", "From: evil@example.org\r\nTo: Suzie", "signature did not verify"},
        Tamper{"subject_added", "To: Suzie", "Subject: Free money\r\nTo: Suzie", "signature did not verify"},
        Tamper{"content_type_added", "To: Suzie", "Content-Type: text/html\r\nTo: Suzie", "signature did not verify"},
        Tamper{"body_changed", "We lost the game.", "We won the game.", "body hash mismatch"},
        Tamper{"body_appended", "Joe.\r\n", "Joe.\r\nP.S. send money\r\n", "body hash mismatch"},
        Tamper{"b_altered", "; b=", "; b=AAAA", "signature did not verify"},
        Tamper{"d_changed", "d=example.com", "d=example.com ", "signature did not verify"}),
    [](const auto& info) { return info.param.name; });

TEST_F(VerifyTest, ChangesThatRelaxedCanonicalizationAllows) {
  auto dns = dns_with_key(rsa_record_);
  const std::string good = signed_rsa();
  // Relaxed/relaxed tolerates case of header names, re-folding and WSP.
  EXPECT_EQ(one(replace_once(good, "Subject: Is dinner", "SUBJECT:   Is\r\n  dinner"), dns).result, Verdict::pass);
  EXPECT_EQ(one(replace_once(good, "We lost the game.  Are", "We lost the game. \t Are"), dns).result, Verdict::pass);
  EXPECT_EQ(one(good + "\r\n\r\n", dns).result, Verdict::pass);  // trailing empty lines
  // A field not in h= may be added.
  EXPECT_EQ(one(replace_once(good, "To: Suzie", "X-Spam: no\r\nTo: Suzie"), dns).result, Verdict::pass);
}

TEST_F(VerifyTest, SimpleCanonicalizationIsStrict) {
  auto s = Signer::from_key_bytes(read_testdata("dkimpy/test.private"),
                                  signer_config("example.com", "test", Canon::simple, Canon::simple));
  ASSERT_TRUE(s);
  auto dns = dns_with_key(rsa_record_);
  const std::string good = sign_bytes(*s, kMessage, kNow);
  EXPECT_EQ(one(good, dns).result, Verdict::pass);
  EXPECT_EQ(one(replace_once(good, "Subject: Is", "Subject:  Is"), dns).reason, "signature did not verify");
  EXPECT_EQ(one(replace_once(good, "game.  Are", "game. Are"), dns).reason, "body hash mismatch");
  EXPECT_EQ(one(good + "\r\n\r\n", dns).result, Verdict::pass);  // §3.4.3 ignores trailing empty lines
}

TEST_F(VerifyTest, KeyRevoked) {
  auto dns = dns_with_key("v=DKIM1; k=rsa; p=");
  const SignatureResult r = one(signed_rsa(), dns);
  EXPECT_EQ(r.result, Verdict::fail);
  EXPECT_EQ(r.reason, "key revoked (empty p=)");
}

struct DnsCase {
  std::string name;
  dns::Status status;
  dns::Security security;
  Verdict verdict;
  std::string reason;
};

class DnsOutcome : public VerifyTest, public ::testing::WithParamInterface<DnsCase> {};

TEST_P(DnsOutcome, MapsToVerdict) {
  dns::FakeResolver dns;
  if (GetParam().status == dns::Status::ok) {
    add_key(dns, kKeyName, rsa_record_);
    dns.set_security(kKeyName, dns::RrType::txt, GetParam().security, "signature expired");
  } else if (GetParam().status != dns::Status::nxdomain) {
    dns.set_outcome(kKeyName, dns::RrType::txt, GetParam().status, GetParam().security);
  }
  const SignatureResult r = one(signed_rsa(), dns);
  EXPECT_EQ(r.result, GetParam().verdict);
  EXPECT_EQ(r.reason, GetParam().reason);
  EXPECT_EQ(r.key_security, GetParam().security);
}

INSTANTIATE_TEST_SUITE_P(
    Table, DnsOutcome,
    ::testing::Values(
        DnsCase{"secure", dns::Status::ok, dns::Security::secure, Verdict::pass, ""},
        DnsCase{"insecure", dns::Status::ok, dns::Security::insecure, Verdict::pass, ""},
        DnsCase{"bogus", dns::Status::ok, dns::Security::bogus, Verdict::temperror,
                "key record unavailable: DNSSEC bogus answer for TXT test._domainkey.example.com: signature expired"},
        DnsCase{"servfail", dns::Status::servfail, dns::Security::indeterminate, Verdict::temperror,
                "key record unavailable: DNS servfail for TXT test._domainkey.example.com"},
        DnsCase{"timeout", dns::Status::timeout, dns::Security::indeterminate, Verdict::temperror,
                "key record unavailable: DNS timeout for TXT test._domainkey.example.com"},
        DnsCase{"resolver_error", dns::Status::error, dns::Security::indeterminate, Verdict::temperror,
                "key record unavailable: DNS error for TXT test._domainkey.example.com"},
        DnsCase{"nxdomain", dns::Status::nxdomain, dns::Security::insecure, Verdict::permerror,
                "no key for signature (NXDOMAIN at test._domainkey.example.com)"},
        DnsCase{"nodata", dns::Status::nodata, dns::Security::insecure, Verdict::permerror,
                "no key for signature (NODATA at test._domainkey.example.com)"}),
    [](const auto& info) { return info.param.name; });

TEST_F(VerifyTest, MultipleKeyRecordsArePermerror) {
  auto dns = dns_with_key(rsa_record_);
  add_key(dns, kKeyName, rsa_record_);
  const SignatureResult r = one(signed_rsa(), dns);
  EXPECT_EQ(r.result, Verdict::permerror);
  EXPECT_EQ(r.reason, "2 TXT records at test._domainkey.example.com (RFC 6376 §3.6.2.2: undefined)");
}

struct PolicyCase {
  std::string name, record_prefix;  // prepended to "p=..." of test.txt
  std::string identity;              // signer i=, empty for none
  Verdict verdict;
  std::string reason;
  bool testing;
};

class KeyPolicy : public VerifyTest, public ::testing::WithParamInterface<PolicyCase> {};

TEST_P(KeyPolicy, Applies) {
  const std::string p = rsa_record_.substr(rsa_record_.find("p="));
  auto dns = dns_with_key(GetParam().record_prefix + p);
  SignerConfig c = signer_config("example.com", "test");
  c.identity = GetParam().identity;
  auto s = Signer::from_key_bytes(read_testdata("dkimpy/test.private"), c);
  ASSERT_TRUE(s) << s.error().message;
  const SignatureResult r = one(sign_bytes(*s, kMessage, kNow), dns);
  EXPECT_EQ(r.result, GetParam().verdict);
  EXPECT_EQ(r.reason, GetParam().reason);
  EXPECT_EQ(r.testing, GetParam().testing);
}

INSTANTIATE_TEST_SUITE_P(
    Table, KeyPolicy,
    ::testing::Values(
        PolicyCase{"plain", "v=DKIM1; ", "", Verdict::pass, "", false},
        PolicyCase{"h_sha256", "v=DKIM1; h=sha1:sha256; ", "", Verdict::pass, "", false},
        PolicyCase{"h_sha1_only", "v=DKIM1; h=sha1; ", "", Verdict::permerror,
                   "inappropriate hash algorithm (key h= excludes sha256)", false},
        PolicyCase{"k_ed25519", "v=DKIM1; k=ed25519; ", "", Verdict::permerror,
                   "key type k=ed25519 does not match a=rsa-sha256", false},
        PolicyCase{"t_s_same_domain", "v=DKIM1; t=s; ", "joe@example.com", Verdict::pass, "", false},
        PolicyCase{"t_s_default_identity", "v=DKIM1; t=s; ", "", Verdict::pass, "", false},
        PolicyCase{"t_s_subdomain", "v=DKIM1; t=s; ", "joe@mail.example.com", Verdict::permerror,
                   "key t=s requires i= domain mail.example.com to equal d= example.com", false},
        PolicyCase{"no_t_s_subdomain", "v=DKIM1; ", "joe@mail.example.com", Verdict::pass, "", false},
        PolicyCase{"testing", "v=DKIM1; t=y; ", "", Verdict::pass, "key in testing mode (t=y)", true},
        PolicyCase{"service_email", "v=DKIM1; s=email; ", "", Verdict::pass, "", false},
        PolicyCase{"service_other", "v=DKIM1; s=tlsrpt; ", "", Verdict::permerror,
                   "key record: service type s=tlsrpt excludes email", false}),
    [](const auto& info) { return info.param.name; });

// The per-signature key checks still apply when the key comes from the
// Verifier's cache (keyed by record text) rather than a fresh parse.
TEST_P(KeyPolicy, SameVerdictWhenTheKeyIsCached) {
  const std::string p = rsa_record_.substr(rsa_record_.find("p="));
  auto dns = dns_with_key(GetParam().record_prefix + p);
  SignerConfig c = signer_config("example.com", "test");
  c.identity = GetParam().identity;
  auto s = Signer::from_key_bytes(read_testdata("dkimpy/test.private"), c);
  ASSERT_TRUE(s) << s.error().message;
  Verifier verifier;
  FixedClock clock(kNow);
  asio::io_context io;
  // Primes the cache whenever this record can pass at all (no i=).
  const std::string primer = signed_rsa();
  auto primer_msg = codec::parse_message(primer);
  ASSERT_TRUE(primer_msg);
  (void)run_sync(io, verifier.verify(*primer_msg, dns, clock));
  const std::string bytes = sign_bytes(*s, kMessage, kNow);
  auto msg = codec::parse_message(bytes);
  ASSERT_TRUE(msg);
  for (int round = 0; round < 2; ++round) {
    const VerifyResult r = run_sync(io, verifier.verify(*msg, dns, clock));
    ASSERT_EQ(r.signatures.size(), 1u);
    EXPECT_EQ(r.signatures[0].result, GetParam().verdict) << "round " << round;
    EXPECT_EQ(r.signatures[0].reason, GetParam().reason) << "round " << round;
    EXPECT_EQ(r.signatures[0].testing, GetParam().testing) << "round " << round;
  }
}

TEST_F(VerifyTest, SmallRsaKeyRefused) {
  tls::EvpPkeyPtr small(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(512)));
  ASSERT_TRUE(small);
  tls::BioPtr bio(BIO_new(BIO_s_mem()));
  ASSERT_EQ(PEM_write_bio_PrivateKey(bio.get(), small.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  // Our Signer refuses to sign with it (RFC 8301)...
  char* pem = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &pem);
  auto s = Signer::from_pem(std::string_view(pem, static_cast<std::size_t>(n)), signer_config("example.com", "test"));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().message, "RSA key 512 bits < 1024 (RFC 8301)");
  // ...and a record with a 512-bit key is refused before any crypto.
  unsigned char* der = nullptr;
  const int len = i2d_PUBKEY(small.get(), &der);
  const std::string spki(reinterpret_cast<char*>(der), static_cast<std::size_t>(len));
  OPENSSL_free(der);
  auto dns = dns_with_key("v=DKIM1; k=rsa; p=" + codec::encode_base64(spki));
  const SignatureResult r = one(signed_rsa(), dns);
  EXPECT_EQ(r.result, Verdict::permerror);
  EXPECT_EQ(r.reason, "RSA key 512 bits < 1024 (RFC 8301)");
}

// x= and t= against the clock, with limits::kDkimClockSkewSeconds (300 s).
struct TimeCase {
  std::string name;
  std::int64_t signed_at;
  std::optional<std::int64_t> expire_after;
  std::int64_t now;
  Verdict verdict;
  std::string reason;
};

class TimeChecks : public VerifyTest, public ::testing::WithParamInterface<TimeCase> {};

TEST_P(TimeChecks, AgainstClock) {
  SignerConfig c = signer_config("example.com", "test");
  c.expire_after = GetParam().expire_after;
  auto s = Signer::from_key_bytes(read_testdata("dkimpy/test.private"), c);
  ASSERT_TRUE(s);
  auto dns = dns_with_key(rsa_record_);
  const SignatureResult r = one(sign_bytes(*s, kMessage, GetParam().signed_at), dns, GetParam().now);
  EXPECT_EQ(r.result, GetParam().verdict);
  EXPECT_EQ(r.reason, GetParam().reason);
}

INSTANTIATE_TEST_SUITE_P(
    Table, TimeChecks,
    ::testing::Values(
        TimeCase{"fresh", kNow, 3600, kNow + 10, Verdict::pass, ""},
        TimeCase{"expired", kNow, 3600, kNow + 3600 + 301, Verdict::fail, "signature expired (x=1700003600)"},
        TimeCase{"expired_within_skew", kNow, 3600, kNow + 3600 + 300, Verdict::pass, ""},
        TimeCase{"future_t", kNow + 301, std::nullopt, kNow, Verdict::permerror,
                 "signature timestamp in the future (t=1700000301)"},
        TimeCase{"future_t_within_skew", kNow + 300, std::nullopt, kNow, Verdict::pass, ""},
        TimeCase{"old_without_x", kNow - 10 * 365 * 86400, std::nullopt, kNow, Verdict::pass, ""}),
    [](const auto& info) { return info.param.name; });

// Builds a relaxed/relaxed rsa-sha256 signature with extra tags (e.g. l=),
// which our Signer never emits; h=from:to:subject.
std::string craft_signed(const std::string& msg_bytes, const std::string& extra_tags, std::optional<std::uint64_t> l) {
  auto msg = codec::parse_message(msg_bytes);
  EXPECT_TRUE(msg);
  BodyHasher body(l.value_or(UINT64_MAX));
  canonicalize_body(msg->body, Canon::relaxed, body);
  std::string value = "v=1; a=rsa-sha256; c=relaxed/relaxed; d=example.com; s=test; " + extra_tags +
                      "h=from:to:subject; bh=" + codec::encode_base64(body.finish()) + "; b=";
  std::string data;
  for (const char* name : {"from", "to", "subject"})
    for (const auto& h : msg->headers)
      if (iequals(h.name, name)) canonicalize_header(h.name, h.value, h.raw, Canon::relaxed, data);
  canonicalize_header("DKIM-Signature", value, {}, Canon::relaxed, data);
  data.resize(data.size() - 2);
  const std::string pem = read_testdata("dkimpy/test.private");
  tls::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  tls::EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  tls::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  std::size_t len = 512;
  std::string sig(len, '\0');
  EXPECT_EQ(EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()), 1);
  EXPECT_EQ(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()),
            1);
  sig.resize(len);
  return "DKIM-Signature: " + value + codec::encode_base64(sig) + "\r\n" + msg_bytes;
}

TEST_F(VerifyTest, CraftedSignatureWithoutLPasses) {
  // Guards the helper: with no l= the crafted signature must pass.
  auto dns = dns_with_key(rsa_record_);
  EXPECT_EQ(one(craft_signed(kMessage, "", std::nullopt), dns).result, Verdict::pass);
}

TEST_F(VerifyTest, BodyLengthTag) {
  auto dns = dns_with_key(rsa_record_);
  const std::uint64_t full = canonical_body(codec::parse_message(kMessage)->body, Canon::relaxed).size();
  // l= equal to the body: nothing unsigned.
  const SignatureResult exact = one(craft_signed(kMessage, "l=" + std::to_string(full) + "; ", full), dns);
  EXPECT_EQ(exact.result, Verdict::pass) << exact.reason;
  EXPECT_EQ(exact.body_length, full);
  // l=10: the rest of the body is unsigned; default policy fails.
  const std::string short_l = craft_signed(kMessage, "l=10; ", 10);
  const SignatureResult f = one(short_l, dns);
  EXPECT_EQ(f.result, Verdict::fail);
  EXPECT_EQ(f.reason, "l= 10 shorter than body (unsigned content)");
  EXPECT_EQ(f.canonical_body_length, full);
  Config accept;
  accept.l_tag_policy = LTagPolicy::accept;
  const SignatureResult a = one(short_l, dns, kNow, accept);
  EXPECT_EQ(a.result, Verdict::pass);
  EXPECT_EQ(a.reason, "l= 10 shorter than body (unsigned content), accepted by policy");
  // Appending content after l= is exactly the attack: the accept policy
  // still passes, the default fails.
  const std::string appended = short_l + "Click here: http://evil.example/\r\n";
  EXPECT_EQ(one(appended, dns, kNow, accept).result, Verdict::pass);
  EXPECT_EQ(one(appended, dns).result, Verdict::fail);
  // Changing the signed prefix fails under either policy.
  EXPECT_EQ(one(replace_once(short_l, "\r\n\r\nHi.", "\r\n\r\nHo."), dns, kNow, accept).reason, "body hash mismatch");
  // l= longer than the body.
  const SignatureResult longer = one(craft_signed(kMessage, "l=100000; ", 100000), dns);
  EXPECT_EQ(longer.result, Verdict::fail);
  EXPECT_EQ(longer.reason, "l= 100000 longer than the canonical body (" + std::to_string(full) + " octets)");
}

TEST_F(VerifyTest, SignatureSyntaxErrorsAreNeutralOrPermerror) {
  auto dns = dns_with_key(rsa_record_);
  const std::string good = signed_rsa();
  SignatureResult r = one(replace_once(good, "; b=", "; b=!!!!"), dns);
  EXPECT_EQ(r.result, Verdict::neutral);
  EXPECT_EQ(r.reason, "b= is not valid base64 (base64: invalid character)");
  EXPECT_EQ(r.domain, "example.com");  // labels still reported
  r = one(replace_once(good, "a=rsa-sha256", "a=rsa-sha1"), dns);
  EXPECT_EQ(r.result, Verdict::permerror);
  EXPECT_EQ(r.reason, "rsa-sha1 not allowed (RFC 8301)");
  EXPECT_EQ(r.algorithm, "rsa-sha1");
  EXPECT_EQ(dns.query_count(), 0u);  // no DNS work for broken signatures
}

TEST_F(VerifyTest, SignatureCap) {
  // 12 signatures with distinct selectors; the default cap checks 10.
  dns::FakeResolver dns;
  std::string bytes = kMessage;
  for (int i = 0; i < 12; ++i) {
    const std::string sel = "s" + std::to_string(i);
    add_key(dns, sel + "._domainkey.example.com", rsa_record_);
    auto s = Signer::from_key_bytes(read_testdata("dkimpy/test.private"), signer_config("example.com", sel));
    ASSERT_TRUE(s);
    bytes = sign_bytes(*s, bytes, kNow);
  }
  const VerifyResult r = verify_bytes(bytes, dns, kNow);
  ASSERT_EQ(r.signatures.size(), 12u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r.signatures[i].result, Verdict::pass) << i << r.signatures[i].reason;
  for (int i = 10; i < 12; ++i) {
    EXPECT_EQ(r.signatures[i].result, Verdict::permerror);
    EXPECT_EQ(r.signatures[i].reason, "signature limit reached (10 checked)");
    EXPECT_EQ(r.signatures[i].domain, "example.com");
  }
  EXPECT_EQ(dns.query_count(), 10u);
  EXPECT_EQ(r.key_queries, 10u);
  EXPECT_EQ(r.summary(), Verdict::pass);

  Config two;
  two.max_signatures = 2;
  dns.reset_counts();
  const VerifyResult r2 = verify_bytes(bytes, dns, kNow, two);
  EXPECT_EQ(dns.query_count(), 2u);
  EXPECT_EQ(r2.signatures[2].reason, "signature limit reached (2 checked)");
}

TEST_F(VerifyTest, SameKeyIsFetchedOnce) {
  auto dns = dns_with_key(rsa_record_);
  std::string bytes = signed_rsa();
  bytes = signed_rsa(bytes);
  bytes = signed_rsa(bytes);
  const VerifyResult r = verify_bytes(bytes, dns, kNow);
  ASSERT_EQ(r.signatures.size(), 3u);
  for (const auto& s : r.signatures) EXPECT_EQ(s.result, Verdict::pass);
  EXPECT_EQ(dns.query_count(), 1u);
}

TEST_F(VerifyTest, HostileManyGarbageSignatures) {
  // 900 broken DKIM-Signature fields in front of a good one: bounded work,
  // the good one is beyond the cap and therefore not trusted.
  auto dns = dns_with_key(rsa_record_);
  std::string junk;
  for (int i = 0; i < 900; ++i) junk += "DKIM-Signature: v=1; a=rsa-sha256; d=x" + std::to_string(i) + ".example; b=@@\r\n";
  const VerifyResult r = verify_bytes(junk + signed_rsa(), dns, kNow);
  ASSERT_EQ(r.signatures.size(), 901u);
  EXPECT_EQ(dns.query_count(), 0u);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(r.signatures[i].result, Verdict::neutral);
  EXPECT_EQ(r.signatures.back().reason, "signature limit reached (10 checked)");
  EXPECT_FALSE(r.any_pass());
}

TEST_F(VerifyTest, HostileHugeHeaderList) {
  auto dns = dns_with_key(rsa_record_);
  std::string h = "from";
  for (int i = 0; i < 2000; ++i) h += ":received";
  const std::string bytes = replace_once(signed_rsa(), "h=from:", "h=" + h + ":");
  const SignatureResult r = one(bytes, dns);
  EXPECT_EQ(r.result, Verdict::permerror);
  EXPECT_EQ(r.reason, "DKIM-Signature longer than 8192 bytes");
  Config big;
  big.signature_limits.max_bytes = 1 << 20;
  const SignatureResult r2 = one(bytes, dns, kNow, big);
  EXPECT_EQ(r2.reason, "h= lists more than 64 fields");
}

TEST_F(VerifyTest, HostileKeyRecords) {
  // Bad base64, oversize record and garbage DER: permerror, never pass.
  for (const std::string& rec : {std::string("v=DKIM1; p=!!!"), "v=DKIM1; p=" + std::string(9000, 'A'),
                                 "v=DKIM1; p=" + codec::encode_base64(std::string(300, '\x30'))}) {
    auto dns = dns_with_key(rec);
    const SignatureResult r = one(signed_rsa(), dns);
    EXPECT_EQ(r.result, Verdict::permerror) << rec.substr(0, 40) << ": " << r.reason;
  }
}

TEST_F(VerifyTest, Ed25519AndRsaSignaturesOnOneMessage) {
  auto ed = Signer::from_key_bytes(read_testdata("dkimpy/rfc8032_7_1.key"), signer_config("example.com", "ed"));
  ASSERT_TRUE(ed);
  auto dns = dns_with_key(rsa_record_);
  add_key(dns, "ed._domainkey.example.com", "v=DKIM1; k=ed25519; p=" + *ed->public_key_b64());
  const std::string bytes = sign_bytes(*ed, signed_rsa(), kNow);
  const VerifyResult r = verify_bytes(bytes, dns, kNow);
  ASSERT_EQ(r.signatures.size(), 2u);
  EXPECT_EQ(r.signatures[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(r.signatures[0].result, Verdict::pass) << r.signatures[0].reason;
  EXPECT_EQ(r.signatures[1].algorithm, "rsa-sha256");
  EXPECT_EQ(r.signatures[1].result, Verdict::pass) << r.signatures[1].reason;
  // Tampering the body breaks both.
  const VerifyResult t = verify_bytes(replace_once(bytes, "hungry", "angry"), dns, kNow);
  EXPECT_EQ(t.signatures[0].reason, "body hash mismatch");
  EXPECT_EQ(t.signatures[1].reason, "body hash mismatch");
  EXPECT_EQ(t.summary(), Verdict::fail);
}

TEST_F(VerifyTest, KeyCacheReusedAcrossMessages) {
  auto dns = dns_with_key(rsa_record_);
  Verifier verifier;
  FixedClock clock(kNow);
  asio::io_context io;
  const std::string bytes = signed_rsa();
  auto msg = codec::parse_message(bytes);
  for (int i = 0; i < 3; ++i) {
    const VerifyResult r = run_sync(io, verifier.verify(*msg, dns, clock));
    ASSERT_EQ(r.signatures.size(), 1u);
    EXPECT_EQ(r.signatures[0].result, Verdict::pass);
  }
  // A revoked key published later is seen at once: the cache is keyed by
  // the record text, the DNS is asked every time.
  dns::FakeResolver revoked;
  add_key(revoked, kKeyName, "v=DKIM1; p=");
  EXPECT_EQ(run_sync(io, verifier.verify(*msg, revoked, clock)).signatures[0].reason, "key revoked (empty p=)");
  EXPECT_EQ(dns.query_count(), 3u);
}

// The verify contexts cached with a key keep working after a signature that
// does not verify, for RSA (context reused) and Ed25519 (copied per call).
TEST_F(VerifyTest, CachedContextsSurviveBadSignatures) {
  auto ed = Signer::from_key_bytes(read_testdata("dkimpy/rfc8032_7_1.key"), signer_config("example.com", "ed"));
  ASSERT_TRUE(ed);
  auto dns = dns_with_key(rsa_record_);
  add_key(dns, "ed._domainkey.example.com", "v=DKIM1; k=ed25519; p=" + *ed->public_key_b64());
  const std::string good_rsa = signed_rsa();
  const std::string good_ed = sign_bytes(*ed, kMessage, kNow);
  const std::string bad_rsa = replace_once(good_rsa, "dinner ready?", "dinner ready!");
  const std::string bad_ed = replace_once(good_ed, "dinner ready?", "dinner ready!");
  Verifier verifier;
  FixedClock clock(kNow);
  asio::io_context io;
  for (int round = 0; round < 3; ++round) {
    for (const std::string* bytes : {&good_rsa, &bad_rsa, &good_ed, &bad_ed}) {
      auto msg = codec::parse_message(*bytes);
      ASSERT_TRUE(msg);
      const VerifyResult r = run_sync(io, verifier.verify(*msg, dns, clock));
      ASSERT_EQ(r.signatures.size(), 1u);
      const bool good = bytes == &good_rsa || bytes == &good_ed;
      EXPECT_EQ(r.signatures[0].result, good ? Verdict::pass : Verdict::fail) << r.signatures[0].reason;
      EXPECT_EQ(r.signatures[0].reason, good ? "" : "signature did not verify");
    }
  }
}

}  // namespace
}  // namespace mxsec::auth::dkim

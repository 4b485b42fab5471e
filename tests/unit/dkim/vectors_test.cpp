// Third-party DKIM vectors: mail-auth (Stalwart) resources/dkim, dkimpy's
// test data and RFC 8463 Appendix A. One test instance per upstream vector;
// a missing file throws, so it fails instead of being skipped.
#include <gtest/gtest.h>

#include "codec/base64.hpp"
#include "dkim_test_util.hpp"

namespace mxsec::auth::dkim {
namespace {

using testing::add_key;
using testing::read_testdata;
using testing::verdicts;
using testing::verify_bytes;

// mail-auth checks all vectors at 1667843664; 005.txt (x=1667930064) needs
// that instant. 004.txt was signed later (t=1667862801), so checking it then
// would be "t= in the future"; the other vectors are checked at a fixed
// instant after every t=.
constexpr std::int64_t kMailAuthNow = 1667843664;
constexpr std::int64_t kLater = 1700000000;

struct MailAuthCase {
  std::string file;
  std::size_t signatures;  // DKIM-Signature fields in the message
  std::int64_t now;
};

class MailAuthDkim : public ::testing::TestWithParam<MailAuthCase> {};

TEST_P(MailAuthDkim, EverySignaturePasses) {
  const std::string text = read_testdata("mail-auth/dkim/" + GetParam().file);
  const std::size_t split = text.find("\n\n");
  ASSERT_NE(split, std::string::npos);
  dns::FakeResolver dns;
  std::size_t records = 0;
  for (std::string_view line : mxsec::split(std::string_view(text).substr(0, split), '\n')) {
    const std::size_t sp = line.find(' ');
    ASSERT_NE(sp, std::string_view::npos) << line;
    add_key(dns, line.substr(0, sp), line.substr(sp + 1));
    ++records;
  }
  ASSERT_GT(records, 0u);
  const std::string msg = codec::normalize_crlf(std::string_view(text).substr(split + 2));
  const VerifyResult r = verify_bytes(msg, dns, GetParam().now);
  ASSERT_EQ(r.signatures.size(), GetParam().signatures) << verdicts(r);
  for (const auto& s : r.signatures) {
    EXPECT_EQ(s.result, Verdict::pass) << s.domain << " " << s.selector << ": " << s.reason;
    EXPECT_EQ(s.key_security, dns::Security::insecure);
  }
  EXPECT_LE(r.key_queries, records);  // one query per distinct key name
}

INSTANTIATE_TEST_SUITE_P(Vectors, MailAuthDkim,
                         ::testing::Values(MailAuthCase{"001.txt", 2, kLater}, MailAuthCase{"002.txt", 1, kLater},
                                           MailAuthCase{"003.txt", 2, kLater}, MailAuthCase{"004.txt", 1, kLater},
                                           MailAuthCase{"005.txt", 1, kMailAuthNow},
                                           MailAuthCase{"006.txt", 1, kLater}),
                         [](const auto& info) { return "mail_auth_" + info.param.file.substr(0, 3); });

TEST(MailAuthDkimClock, Vector004BeforeItsTimestampIsRejected) {
  // At mail-auth's instant, 004's t= lies 19137 s ahead: beyond the skew.
  const std::string text = read_testdata("mail-auth/dkim/004.txt");
  const std::size_t split = text.find("\n\n");
  dns::FakeResolver dns;
  const std::string_view line = std::string_view(text).substr(0, text.find('\n'));
  add_key(dns, line.substr(0, line.find(' ')), line.substr(line.find(' ') + 1));
  const VerifyResult r = verify_bytes(codec::normalize_crlf(std::string_view(text).substr(split + 2)), dns, kMailAuthNow);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].result, Verdict::permerror);
  EXPECT_EQ(r.signatures[0].reason, "signature timestamp in the future (t=1667862801)");
  EXPECT_EQ(r.key_queries, 0u);  // rejected before any DNS work
}

TEST(MailAuthDkimClock, Vector005ExpiresAfterX) {
  // The same vector one day later: x= has passed, so it must fail "expired".
  const std::string text = read_testdata("mail-auth/dkim/005.txt");
  const std::size_t split = text.find("\n\n");
  dns::FakeResolver dns;
  const std::string_view line = std::string_view(text).substr(0, text.find('\n'));
  add_key(dns, line.substr(0, line.find(' ')), line.substr(line.find(' ') + 1));
  const std::string msg = codec::normalize_crlf(std::string_view(text).substr(split + 2));
  const VerifyResult r = verify_bytes(msg, dns, 1667930064 + 86400);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].result, Verdict::fail);
  EXPECT_EQ(r.signatures[0].reason, "signature expired (x=1667930064)");
}

// dkimpy static vectors (tests/data/dkimpy/README.md, "Case counts").
struct DkimpyStatic {
  std::string name, message, key_name, key_record_file, key_record;  // record inline or from file
  std::size_t signature_index;
  Verdict expected;
};

class DkimpyStaticVectors : public ::testing::TestWithParam<DkimpyStatic> {};

TEST_P(DkimpyStaticVectors, Verify) {
  const auto& c = GetParam();
  const std::string record =
      c.key_record_file.empty() ? c.key_record : std::string(trim(read_testdata("dkimpy/" + c.key_record_file)));
  dns::FakeResolver dns;
  add_key(dns, c.key_name, record);
  const std::string msg = codec::normalize_crlf(read_testdata("dkimpy/" + c.message));
  const VerifyResult r = verify_bytes(msg, dns, 1700000000);
  ASSERT_GT(r.signatures.size(), c.signature_index) << verdicts(r);
  EXPECT_EQ(r.signatures[c.signature_index].result, c.expected) << r.signatures[c.signature_index].reason;
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, DkimpyStaticVectors,
    ::testing::Values(
        DkimpyStatic{"rfc6376_signed_ed25519", "rfc6376.signed.msg", "brisbane._domainkey.football.example.com", "",
                     "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=", 0, Verdict::pass},
        DkimpyStatic{"rfc6376_signed_rsa", "rfc6376.signed.msg", "test._domainkey.football.example.com", "test.txt",
                     "", 1, Verdict::pass},
        DkimpyStatic{"exim_ed25519", "ed25519test2.msg", "sed._domainkey.test.ex", "eximtest.dns", "", 0,
                     Verdict::pass}),
    [](const auto& info) { return info.param.name; });

// dkimpy key-record cases: sign test.message with test.private, publish the
// record under test and expect the verdict and reason.
struct KeyRecordCase {
  std::string name, private_key, record_file;
  Verdict expected;
  std::string reason_prefix;
};

class DkimpyKeyRecords : public ::testing::TestWithParam<KeyRecordCase> {};

TEST_P(DkimpyKeyRecords, SignThenVerify) {
  const auto& c = GetParam();
  auto signer = Signer::from_key_bytes(read_testdata("dkimpy/" + c.private_key),
                                       testing::signer_config("example.com", "test"));
  ASSERT_TRUE(signer) << signer.error().message;
  const std::string signed_msg =
      testing::sign_bytes(*signer, codec::normalize_crlf(read_testdata("dkimpy/test.message")), 1700000000);
  dns::FakeResolver dns;
  add_key(dns, "test._domainkey.example.com", trim(read_testdata("dkimpy/" + c.record_file)));
  const VerifyResult r = verify_bytes(signed_msg, dns, 1700000000);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].result, c.expected) << r.signatures[0].reason;
  EXPECT_EQ(r.signatures[0].reason.substr(0, c.reason_prefix.size()), c.reason_prefix);
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, DkimpyKeyRecords,
    ::testing::Values(KeyRecordCase{"test_txt", "test.private", "test.txt", Verdict::pass, ""},
                      KeyRecordCase{"test2_txt", "test2.private", "test2.txt", Verdict::pass, ""},
                      KeyRecordCase{"test_bad", "test.private", "test_bad.txt", Verdict::permerror,
                                    "p= is not an RSA SubjectPublicKeyInfo"},
                      KeyRecordCase{"badversion", "test.private", "badversion.txt", Verdict::permerror,
                                    "key record: v= must be DKIM1"},
                      KeyRecordCase{"badk", "test.private", "badk.txt", Verdict::permerror,
                                    "key record: unknown key type k=ed25519-sha256"},
                      KeyRecordCase{"tlsrpt_service", "test.private", "test_tlsrpt.txt", Verdict::permerror,
                                    "key record: service type s=tlsrpt excludes email"}),
    [](const auto& info) { return info.param.name; });

// dkimpy sign-then-verify inputs: every canonicalization pair, both key types;
// changing the body afterwards must fail.
struct SignVerifyCase {
  std::string name, key_file, message, domain, selector, record;  // record: file name or inline "v=..."
  Canon header, body;
};

class DkimpySignVerify : public ::testing::TestWithParam<SignVerifyCase> {};

TEST_P(DkimpySignVerify, RoundTripAndTamper) {
  const auto& c = GetParam();
  auto signer = Signer::from_key_bytes(read_testdata("dkimpy/" + c.key_file),
                                       testing::signer_config(c.domain, c.selector, c.header, c.body));
  ASSERT_TRUE(signer) << signer.error().message;
  const std::string signed_msg =
      testing::sign_bytes(*signer, codec::normalize_crlf(read_testdata("dkimpy/" + c.message)), 1700000000);
  dns::FakeResolver dns;
  const std::string record =
      c.record.rfind("v=", 0) == 0 || c.record.rfind("k=", 0) == 0 ? c.record : std::string(trim(read_testdata("dkimpy/" + c.record)));
  add_key(dns, c.selector + "._domainkey." + c.domain, record);
  VerifyResult r = verify_bytes(signed_msg, dns, 1700000000);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].result, Verdict::pass) << r.signatures[0].reason;
  EXPECT_EQ(r.signatures[0].canonicalization,
            std::string(to_string(c.header)) + "/" + to_string(c.body));
  const std::string tampered = signed_msg + "tampered\r\n";
  r = verify_bytes(tampered, dns, 1700000000);
  ASSERT_EQ(r.signatures.size(), 1u);
  EXPECT_EQ(r.signatures[0].result, Verdict::fail);
  EXPECT_EQ(r.signatures[0].reason, "body hash mismatch");
}

INSTANTIATE_TEST_SUITE_P(
    Vectors, DkimpySignVerify,
    ::testing::Values(
        SignVerifyCase{"rsa_simple_simple", "test.private", "test.message", "example.com", "test", "test.txt",
                       Canon::simple, Canon::simple},
        SignVerifyCase{"rsa_simple_relaxed", "test.private", "test.message", "example.com", "test", "test.txt",
                       Canon::simple, Canon::relaxed},
        SignVerifyCase{"rsa_relaxed_simple", "test.private", "test.message", "example.com", "test", "test.txt",
                       Canon::relaxed, Canon::simple},
        SignVerifyCase{"rsa_relaxed_relaxed", "test.private", "test.message", "example.com", "test", "test.txt",
                       Canon::relaxed, Canon::relaxed},
        SignVerifyCase{"ed25519_rfc8032_brisbane", "rfc8032_7_1.key", "rfc6376.msg", "football.example.com",
                       "brisbane", "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=",
                       Canon::relaxed, Canon::relaxed},
        SignVerifyCase{"ed25519test_example_net", "ed25519test.key", "test.message", "example.net", "test",
                       "ed25519test.dns", Canon::relaxed, Canon::relaxed}),
    [](const auto& info) { return info.param.name; });

TEST(DkimpyVectors, SigningWithoutFromIsRefused) {
  auto signer = Signer::from_key_bytes(read_testdata("dkimpy/test.private"),
                                       testing::signer_config("example.com", "test"));
  ASSERT_TRUE(signer);
  const std::string bytes = codec::normalize_crlf(read_testdata("dkimpy/test_nofrom.message"));
  auto msg = codec::parse_message(bytes);
  ASSERT_TRUE(msg);
  FixedClock clock(1700000000);
  auto field = signer->sign(*msg, clock);
  ASSERT_FALSE(field);
  EXPECT_NE(field.error().message.find("no From field"), std::string::npos);
}

// RFC 8463 Appendix A.1: the keys give the A.2 public keys.
TEST(Rfc8463AppendixA, KeysMatchPublishedRecords) {
  auto ed = Signer::from_key_bytes(read_testdata("dkimpy/rfc8032_7_1.key"),
                                   testing::signer_config("football.example.com", "brisbane"));
  ASSERT_TRUE(ed) << ed.error().message;
  EXPECT_EQ(ed->algorithm(), Algorithm::ed25519_sha256);
  EXPECT_EQ(*ed->public_key_b64(), "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  auto rsa = Signer::from_key_bytes(read_testdata("dkimpy/test.private"),
                                    testing::signer_config("football.example.com", "test"));
  ASSERT_TRUE(rsa) << rsa.error().message;
  const std::string a2 = read_testdata("mail-auth/dkim/001.txt");
  const std::string p = *rsa->public_key_b64();
  EXPECT_NE(a2.find("test._domainkey.football.example.com v=DKIM1; k=rsa; p=" + p + "\n"), std::string::npos);
  // The same key and record also appear in dkimpy's test.txt.
  EXPECT_NE(read_testdata("dkimpy/test.txt").find("p=" + p), std::string::npos);
}

// RFC 8463 A.3 with the A.2 records, checked field by field (001.txt).
TEST(Rfc8463AppendixA, A3SignedMessage) {
  const std::string text = read_testdata("mail-auth/dkim/001.txt");
  const std::size_t split = text.find("\n\n");
  dns::FakeResolver dns;
  add_key(dns, "brisbane._domainkey.football.example.com",
          "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  add_key(dns, "test._domainkey.football.example.com", trim(read_testdata("dkimpy/test.txt")));
  const VerifyResult r = verify_bytes(codec::normalize_crlf(std::string_view(text).substr(split + 2)), dns, 1528637909);
  ASSERT_EQ(r.signatures.size(), 2u);
  EXPECT_EQ(r.signatures[0].algorithm, "ed25519-sha256");
  EXPECT_EQ(r.signatures[0].result, Verdict::pass) << r.signatures[0].reason;
  EXPECT_EQ(r.signatures[0].header_b, "/gCrinpc");
  EXPECT_EQ(r.signatures[0].identity, "@football.example.com");
  EXPECT_EQ(r.signatures[1].algorithm, "rsa-sha256");
  EXPECT_EQ(r.signatures[1].result, Verdict::pass) << r.signatures[1].reason;
  EXPECT_EQ(r.signatures[1].key_bits, 1024);
  EXPECT_EQ(r.key_queries, 2u);
}

}  // namespace
}  // namespace mxsec::auth::dkim

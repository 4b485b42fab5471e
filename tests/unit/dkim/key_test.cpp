// DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4.2) and public-key loading.
#include "auth/dkim/key.hpp"

#include <gtest/gtest.h>
#include <openssl/x509.h>

#include "codec/base64.hpp"
#include "dkim_test_util.hpp"

namespace mxsec::auth::dkim {
namespace {

// dkimpy test.txt key (1024-bit RSA, SubjectPublicKeyInfo).
const std::string kRsaP =
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB";
const std::string kEdP = "11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=";

struct RecordCase {
  std::string name, record;
  bool ok;
  std::string reason;  // exact error message when !ok
};

class KeyRecordErrors : public ::testing::TestWithParam<RecordCase> {};

TEST_P(KeyRecordErrors, Parse) {
  auto r = parse_key_record(GetParam().record);
  if (GetParam().ok) {
    EXPECT_TRUE(r) << r.error().message;
  } else {
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message, GetParam().reason);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Table, KeyRecordErrors,
    ::testing::Values(
        RecordCase{"minimal", "p=" + kRsaP, true, ""},
        RecordCase{"full", "v=DKIM1; h=sha256; k=rsa; n=notes; s=email; t=y; p=" + kRsaP, true, ""},
        RecordCase{"v_not_first", "k=rsa; v=DKIM1; p=" + kRsaP, false, "key record: v= is not the first tag"},
        RecordCase{"v_wrong", "v=DKIM2; p=" + kRsaP, false, "key record: v= must be DKIM1, got DKIM2"},
        RecordCase{"v_colon", "v=DKIM1: k=rsa; p=" + kRsaP, false, "key record: v= must be DKIM1, got DKIM1: k=rsa"},
        RecordCase{"k_unknown", "v=DKIM1; k=dsa; p=" + kRsaP, false, "key record: unknown key type k=dsa"},
        RecordCase{"s_tlsrpt", "v=DKIM1; s=tlsrpt; p=" + kRsaP, false,
                   "key record: service type s=tlsrpt excludes email"},
        RecordCase{"s_list", "v=DKIM1; s=tlsrpt:email; p=" + kRsaP, true, ""},
        RecordCase{"s_star", "v=DKIM1; s=*; p=" + kRsaP, true, ""},
        RecordCase{"no_p", "v=DKIM1; k=rsa", false, "key record: missing required tag p="},
        RecordCase{"bad_p", "v=DKIM1; p=MIGf!", false,
                   "key record: p= is not valid base64 (base64: invalid character)"},
        RecordCase{"dup_tag", "v=DKIM1; p=" + kRsaP + "; p=", false, "key record: duplicate tag p"},
        RecordCase{"syntax", "v=DKIM1; ;; p=" + kRsaP, false, "key record: empty tag-spec between ';'"},
        RecordCase{"too_long", "v=DKIM1; n=" + std::string(9000, 'x') + "; p=" + kRsaP, false,
                   "key record: longer than 8192 bytes"}),
    [](const auto& info) { return info.param.name; });

TEST(KeyRecord, Flags) {
  auto r = parse_key_record("v=DKIM1; t=y:s:zz; h=sha1:sha256; p=" + kRsaP);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->testing);
  EXPECT_TRUE(r->strict_identity);
  EXPECT_TRUE(r->sha256_allowed);
  EXPECT_EQ(r->type, KeyType::rsa);
  auto sha1_only = parse_key_record("v=DKIM1; h=sha1; p=" + kRsaP);
  ASSERT_TRUE(sha1_only);
  EXPECT_FALSE(sha1_only->sha256_allowed);
  auto unknown_flag = parse_key_record("t=q; p=" + kRsaP);
  ASSERT_TRUE(unknown_flag);
  EXPECT_FALSE(unknown_flag->testing);
  EXPECT_FALSE(unknown_flag->strict_identity);
}

TEST(KeyRecord, EmptyPMeansRevoked) {
  for (const char* rec : {"v=DKIM1; p=", "v=DKIM1; k=rsa; p= ;", "p="}) {
    auto r = parse_key_record(rec);
    ASSERT_TRUE(r) << rec;
    EXPECT_TRUE(r->revoked);
    auto k = PublicKey::load(*r);
    ASSERT_FALSE(k);
    EXPECT_EQ(k.error().message, "key revoked (empty p=)");
  }
}

TEST(PublicKey, LoadsRsaSpkiAndPkcs1) {
  auto rec = parse_key_record("v=DKIM1; k=rsa; p=" + kRsaP);
  ASSERT_TRUE(rec);
  auto k = PublicKey::load(*rec);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->bits(), 1024);
  // The same key as a bare RSAPublicKey (PKCS#1), as mail-auth 002 publishes.
  const std::string der = *codec::decode_base64(kRsaP);
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  tls::EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  ASSERT_TRUE(pkey);
  unsigned char* out = nullptr;
  const int len = i2d_PublicKey(pkey.get(), &out);
  ASSERT_GT(len, 0);
  const std::string pkcs1(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
  OPENSSL_free(out);
  auto rec2 = parse_key_record("v=DKIM1; p=" + codec::encode_base64(pkcs1));
  ASSERT_TRUE(rec2);
  auto k2 = PublicKey::load(*rec2);
  ASSERT_TRUE(k2) << k2.error().message;
  EXPECT_EQ(k2->bits(), 1024);
  // Trailing garbage after the DER is refused.
  auto rec3 = parse_key_record("v=DKIM1; p=" + codec::encode_base64(der + "x"));
  ASSERT_TRUE(rec3);
  EXPECT_FALSE(PublicKey::load(*rec3));
}

TEST(PublicKey, Rfc8301MinimumAndConfiguredMaximum) {
  tls::EvpPkeyPtr small(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(512)));
  ASSERT_TRUE(small);
  unsigned char* out = nullptr;
  const int len = i2d_PUBKEY(small.get(), &out);
  ASSERT_GT(len, 0);
  const std::string der(reinterpret_cast<char*>(out), static_cast<std::size_t>(len));
  OPENSSL_free(out);
  auto rec = parse_key_record("v=DKIM1; p=" + codec::encode_base64(der));
  ASSERT_TRUE(rec);
  auto k = PublicKey::load(*rec);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message, "RSA key 512 bits < 1024 (RFC 8301)");

  auto rec1024 = parse_key_record("p=" + kRsaP);
  auto capped = PublicKey::load(*rec1024, 512, 1000);
  ASSERT_FALSE(capped);
  EXPECT_EQ(capped.error().message, "RSA key 1024 bits > limit 1000");
}

TEST(PublicKey, Ed25519RawKey) {
  auto rec = parse_key_record("v=DKIM1; k=ed25519; p=" + kEdP);
  ASSERT_TRUE(rec);
  EXPECT_EQ(rec->type, KeyType::ed25519);
  auto k = PublicKey::load(*rec);
  ASSERT_TRUE(k) << k.error().message;
  EXPECT_EQ(k->type(), KeyType::ed25519);
  // An SPKI-wrapped Ed25519 key is 44 bytes: RFC 8463 wants the raw 32.
  auto spki = parse_key_record("k=ed25519; p=MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(spki);
  auto k2 = PublicKey::load(*spki);
  ASSERT_FALSE(k2);
  EXPECT_EQ(k2.error().message, "Ed25519 key is 44 bytes, RFC 8463 needs 32");
}

TEST(PublicKey, WrongKeyTypeInSpki) {
  // An Ed25519 SPKI published with k=rsa.
  auto rec = parse_key_record("k=rsa; p=MCowBQYDK2VwAyEA11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
  ASSERT_TRUE(rec);
  auto k = PublicKey::load(*rec);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message, "p= holds a non-RSA key but k=rsa");
}

TEST(PublicKey, GarbageDer) {
  auto rec = parse_key_record("p=" + codec::encode_base64("not a key at all"));
  ASSERT_TRUE(rec);
  auto k = PublicKey::load(*rec);
  ASSERT_FALSE(k);
  EXPECT_EQ(k.error().message, "p= is not an RSA SubjectPublicKeyInfo or RSAPublicKey");
}

TEST(KeyRecord, AlgorithmMatch) {
  EXPECT_TRUE(key_matches_algorithm(KeyType::rsa, Algorithm::rsa_sha256));
  EXPECT_TRUE(key_matches_algorithm(KeyType::ed25519, Algorithm::ed25519_sha256));
  EXPECT_FALSE(key_matches_algorithm(KeyType::rsa, Algorithm::ed25519_sha256));
  EXPECT_FALSE(key_matches_algorithm(KeyType::ed25519, Algorithm::rsa_sha256));
}

}  // namespace
}  // namespace mxsec::auth::dkim

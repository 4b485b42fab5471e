// Tests for tls/certificate.cpp: certificate facts.
#include "tls/certificate.hpp"

#include <gtest/gtest.h>

#include <ctime>

#include "core/limits.hpp"
#include "core/strings.hpp"
#include "unit/tls/test_pki.hpp"

namespace mxsec::tls {
namespace {

std::string sha256_of(const std::string& der) {
  unsigned char md[32];
  SHA256(reinterpret_cast<const unsigned char*>(der.data()), der.size(), md);
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

TEST(Certificate, DescribesLeaf) {
  auto ca = test::make_cert({"Test CA", {}, true}, nullptr);
  const std::int64_t before = std::time(nullptr);
  auto leaf = test::make_cert({"mx.example.net", {"mx.example.net", "*.example.org"}, false, -100, 1000}, &ca);
  const std::int64_t after = std::time(nullptr);
  auto info = describe_certificate(leaf.cert.get());
  ASSERT_TRUE(info) << info.error().message;
  EXPECT_EQ(info->subject, "CN=mx.example.net");
  EXPECT_EQ(info->issuer, "CN=Test CA");
  EXPECT_EQ(info->dns_names, (std::vector<std::string>{"mx.example.net", "*.example.org"}));
  EXPECT_GE(info->not_before, before - 100);
  EXPECT_LE(info->not_before, after - 100);
  EXPECT_EQ(info->not_after - info->not_before, 1100);
  EXPECT_EQ(info->key_type, "EC");
  EXPECT_EQ(info->key_bits, 256);
  EXPECT_EQ(info->signature_algorithm, "ecdsa-with-SHA256");
  // Independent paths: X509_digest for the certificate, i2d_PUBKEY of the
  // key pair for the SubjectPublicKeyInfo.
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  ASSERT_EQ(X509_digest(leaf.cert.get(), EVP_sha256(), md, &len), 1);
  EXPECT_EQ(info->sha256_hex, to_hex(std::string_view(reinterpret_cast<const char*>(md), len)));
  unsigned char* spki = nullptr;
  int n = i2d_PUBKEY(leaf.key.get(), &spki);
  ASSERT_GT(n, 0);
  std::string der(reinterpret_cast<char*>(spki), static_cast<std::size_t>(n));
  OPENSSL_free(spki);
  EXPECT_EQ(info->spki_sha256_hex, sha256_of(der));
  EXPECT_EQ(info->sha256_hex.size(), 64u);
  EXPECT_NE(info->sha256_hex, info->spki_sha256_hex);
}

TEST(Certificate, DerEncodings) {
  auto self = test::make_cert({"self", {"self.example"}, false}, nullptr);
  auto der = certificate_der(self.cert.get());
  ASSERT_TRUE(der);
  const auto* p = reinterpret_cast<const unsigned char*>(der->data());
  X509Ptr back(d2i_X509(nullptr, &p, static_cast<long>(der->size())));
  ASSERT_NE(back, nullptr);
  EXPECT_EQ(X509_cmp(back.get(), self.cert.get()), 0);
  auto spki = spki_der(self.cert.get());
  ASSERT_TRUE(spki);
  p = reinterpret_cast<const unsigned char*>(spki->data());
  EvpPkeyPtr key(d2i_PUBKEY(nullptr, &p, static_cast<long>(spki->size())));
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(EVP_PKEY_eq(key.get(), self.key.get()), 1);
}

TEST(Certificate, NoSanNoNames) {
  auto self = test::make_cert({"nosan", {}, false}, nullptr);
  auto info = describe_certificate(self.cert.get());
  ASSERT_TRUE(info);
  EXPECT_TRUE(info->dns_names.empty());
  EXPECT_EQ(info->subject, info->issuer);
}

TEST(Certificate, NullIsAnError) {
  auto info = describe_certificate(nullptr);
  ASSERT_FALSE(info);
  EXPECT_EQ(info.error().code, Errc::invalid_argument);
}

TEST(Certificate, ChainIsCapped) {
  auto ca = test::make_cert({"Test CA", {}, true}, nullptr);
  X509StackPtr chain(sk_X509_new_null());
  struct Case {
    int count;
    bool truncated;
  };
  for (Case c : {Case{0, false}, Case{1, false}, Case{limits::kTlsMaxChainCertificates, false},
                 Case{limits::kTlsMaxChainCertificates + 3, true}}) {
    X509StackPtr s(sk_X509_new_null());
    for (int i = 0; i < c.count; ++i) {
      X509_up_ref(ca.cert.get());
      sk_X509_push(s.get(), ca.cert.get());
    }
    auto info = describe_chain(s.get());
    ASSERT_TRUE(info);
    EXPECT_EQ(info->truncated, c.truncated) << c.count;
    EXPECT_EQ(static_cast<int>(info->certificates.size()),
              std::min(c.count, limits::kTlsMaxChainCertificates));
  }
  auto none = describe_chain(nullptr);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->certificates.empty());
}

}  // namespace
}  // namespace mxsec::tls

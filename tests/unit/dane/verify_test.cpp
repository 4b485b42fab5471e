// Tests for tls/dane/verify.cpp: DANE through OpenSSL's SSL_dane_* API, with
// real handshakes over an in-memory BIO pair.
#include "tls/dane/verify.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "core/limits.hpp"
#include "tls/certificate.hpp"
#include "tls/context.hpp"
#include "tls/dane/tlsa.hpp"
#include "unit/tls/test_pki.hpp"

namespace mxsec::tls::dane {
namespace {

std::string sha(const std::string& der, int bits) {
  unsigned char md[64];
  if (bits == 256) SHA256(reinterpret_cast<const unsigned char*>(der.data()), der.size(), md);
  else SHA512(reinterpret_cast<const unsigned char*>(der.data()), der.size(), md);
  return std::string(reinterpret_cast<char*>(md), bits / 8);
}

dns::TlsaRecord make(int usage, int selector, int mtype, X509* cert) {
  std::string data = selector == 0 ? *certificate_der(cert) : *spki_der(cert);
  if (mtype == 1) data = sha(data, 256);
  if (mtype == 2) data = sha(data, 512);
  return dns::TlsaRecord{static_cast<std::uint8_t>(usage), static_cast<std::uint8_t>(selector),
                         static_cast<std::uint8_t>(mtype), data};
}

struct Fixture {
  test::KeyCert ca = test::make_cert({"DANE CA", {}, true, -10 * 86400, 100 * 86400}, nullptr);
  test::KeyCert leaf = test::make_cert({"mx", {"mx.example.net"}}, &ca);
  test::KeyCert wildcard = test::make_cert({"wild", {"*.example.net"}}, &ca);
  test::KeyCert partial = test::make_cert({"partial", {"m*.example.net"}}, &ca);
  test::KeyCert expired = test::make_cert({"old", {"mx.example.net"}, false, -3 * 86400, -86400}, &ca);
};

Fixture& fx() {
  static Fixture f;
  return f;
}

struct HandshakeCase {
  std::string name;
  const test::KeyCert* server_leaf;
  bool send_ca;
  std::vector<dns::TlsaRecord> records;
  std::vector<std::string> names;
  DaneStatus status;
  int depth;  // matched depth, or -1
};

std::vector<HandshakeCase> Cases() {
  auto& f = fx();
  X509* leaf = f.leaf.cert.get();
  X509* ca = f.ca.cert.get();
  const dns::TlsaRecord wrong{3, 1, 1, std::string(32, '\x42')};
  const std::vector<std::string> mx{"mx.example.net"};
  return {
      {"ee_311", &f.leaf, true, {make(3, 1, 1, leaf)}, mx, DaneStatus::matched, 0},
      {"ee_301", &f.leaf, true, {make(3, 0, 1, leaf)}, mx, DaneStatus::matched, 0},
      {"ee_312", &f.leaf, false, {make(3, 1, 2, leaf)}, mx, DaneStatus::matched, 0},
      {"ee_300_full", &f.leaf, false, {make(3, 0, 0, leaf)}, mx, DaneStatus::matched, 0},
      {"ta_211_chain", &f.leaf, true, {make(2, 1, 1, ca)}, mx, DaneStatus::matched, 1},
      {"ta_201_chain", &f.leaf, true, {make(2, 0, 1, ca)}, mx, DaneStatus::matched, 1},
      {"ta_211_ca_not_sent", &f.leaf, false, {make(2, 1, 1, ca)}, mx, DaneStatus::no_match, -1},
      // RFC 7672 §3.2.2: DANE-TA(2) checks the names.
      {"ta_211_wrong_name", &f.leaf, true, {make(2, 1, 1, ca)}, {"other.example.net"}, DaneStatus::no_match, -1},
      {"ta_211_second_name", &f.leaf, true, {make(2, 1, 1, ca)}, {"other.example.net", "mx.example.net"},
       DaneStatus::matched, 1},
      {"ta_211_wildcard", &f.wildcard, true, {make(2, 1, 1, ca)}, mx, DaneStatus::matched, 1},
      {"ta_211_partial_wildcard", &f.partial, true, {make(2, 1, 1, ca)}, mx, DaneStatus::no_match, -1},
      // RFC 7672 §3.1.1: DANE-EE(3) ignores names and dates.
      {"ee_311_wrong_name", &f.leaf, false, {make(3, 1, 1, leaf)}, {"other.example.net"}, DaneStatus::matched, 0},
      {"ee_311_expired", &f.expired, false, {make(3, 1, 1, f.expired.cert.get())}, mx, DaneStatus::matched, 0},
      {"ta_211_expired_leaf", &f.expired, true, {make(2, 1, 1, ca)}, mx, DaneStatus::no_match, -1},
      {"mismatch", &f.leaf, true, {wrong}, mx, DaneStatus::no_match, -1},
      {"other_key", &f.leaf, true, {make(3, 1, 1, f.wildcard.cert.get())}, mx, DaneStatus::no_match, -1},
      {"rollover_second_matches", &f.leaf, true, {wrong, make(3, 1, 1, leaf)}, mx, DaneStatus::matched, 0},
  };
}

class DaneHandshake : public ::testing::TestWithParam<HandshakeCase> {};

TEST_P(DaneHandshake, Outcome) {
  const auto& c = GetParam();
  ClientContextConfig cfg;
  cfg.system_trust = false;
  auto cctx = make_client_context(cfg);
  ASSERT_TRUE(cctx);
  std::vector<const test::KeyCert*> extra;
  if (c.send_ca) extra.push_back(&fx().ca);
  auto sctx = test::make_server_context(*c.server_leaf, extra);
  SslPtr client(SSL_new(cctx->get()));
  SslPtr server(SSL_new(sctx.get()));
  auto armed = enable_dane(client.get(), c.records, c.names);
  ASSERT_TRUE(armed) << armed.error().message;
  EXPECT_STREQ(SSL_get_servername(client.get(), TLSEXT_NAMETYPE_host_name), c.names.front().c_str());
  // SSL_VERIFY_NONE: the handshake completes whatever DANE concludes.
  ASSERT_TRUE(test::memory_handshake(client.get(), server.get()));
  auto out = dane_outcome(client.get());
  EXPECT_EQ(out.status, c.status) << to_string(out.status) << ": " << out.verify_error_text;
  EXPECT_EQ(out.matched_depth, c.depth);
  if (c.status == DaneStatus::matched) {
    ASSERT_TRUE(out.matched_record);
    EXPECT_NE(std::find(c.records.begin(), c.records.end(), *out.matched_record), c.records.end());
    EXPECT_EQ(out.verify_error, 0);
  } else {
    EXPECT_FALSE(out.matched_record);
    EXPECT_NE(out.verify_error, 0);
    EXPECT_FALSE(out.verify_error_text.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(Rfc7672, DaneHandshake, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

TEST(EnableDane, ArgumentErrors) {
  ClientContextConfig cfg;
  cfg.system_trust = false;
  auto cctx = make_client_context(cfg);
  ASSERT_TRUE(cctx);
  const dns::TlsaRecord good{3, 1, 1, std::string(32, 'a')};
  struct Case {
    std::string name;
    bool null_ssl;
    std::vector<dns::TlsaRecord> records;
    std::vector<std::string> names;
    Errc code;
  };
  const std::vector<Case> cases = {
      {"null_ssl", true, {good}, {"mx.example.net"}, Errc::invalid_argument},
      {"no_records", false, {}, {"mx.example.net"}, Errc::invalid_argument},
      {"no_names", false, {good}, {}, Errc::invalid_argument},
      {"empty_base", false, {good}, {""}, Errc::invalid_argument},
      {"over_limit", false, std::vector<dns::TlsaRecord>(limits::kDaneMaxTlsaRecords + 1, good), {"mx.example.net"},
       Errc::limit},
      // Not filtered by classify(): OpenSSL refuses every record.
      {"openssl_refuses_all", false, {dns::TlsaRecord{9, 1, 1, std::string(32, 'a')}}, {"mx.example.net"},
       Errc::crypto},
  };
  for (const auto& c : cases) {
    SslPtr ssl(SSL_new(cctx->get()));
    auto r = enable_dane(c.null_ssl ? nullptr : ssl.get(), c.records, c.names);
    ASSERT_FALSE(r) << c.name;
    EXPECT_EQ(r.error().code, c.code) << c.name << ": " << r.error().message;
  }
}

TEST(EnableDane, ContextWithoutDaneFails) {
  SslCtxPtr plain(SSL_CTX_new(TLS_client_method()));
  SslPtr ssl(SSL_new(plain.get()));
  auto r = enable_dane(ssl.get(), {dns::TlsaRecord{3, 1, 1, std::string(32, 'a')}}, {"mx.example.net"});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::crypto);
}

}  // namespace
}  // namespace mxsec::tls::dane

// Tests for tls/context.cpp: the SMTP client SSL_CTX factory.
#include "tls/context.hpp"

#include <gtest/gtest.h>

#include "unit/tls/test_pki.hpp"

namespace mxsec::tls {
namespace {

TEST(ClientContext, DefaultsAreTls12FloorNoAbortDaneReady) {
  auto ctx = make_client_context({});
  ASSERT_TRUE(ctx) << ctx.error().message;
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->get()), TLS1_2_VERSION);
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx->get()), SSL_VERIFY_NONE);
  SslPtr ssl(SSL_new(ctx->get()));
  ASSERT_NE(ssl, nullptr);
  // SSL_dane_enable fails unless SSL_CTX_dane_enable ran on the context.
  EXPECT_GT(SSL_dane_enable(ssl.get(), "mx.example.net"), 0);
}

TEST(ClientContext, Tls13Floor) {
  ClientContextConfig cfg;
  cfg.min_protocol = TLS1_3_VERSION;
  auto ctx = make_client_context(cfg);
  ASSERT_TRUE(ctx);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx->get()), TLS1_3_VERSION);
}

TEST(ClientContext, RejectsOldProtocols) {
  for (int v : {TLS1_VERSION, TLS1_1_VERSION, 0, 12345}) {
    ClientContextConfig cfg;
    cfg.min_protocol = v;
    auto ctx = make_client_context(cfg);
    ASSERT_FALSE(ctx) << v;
    EXPECT_EQ(ctx.error().code, Errc::invalid_argument);
  }
}

TEST(ClientContext, ExtraCaFileIsTrusted) {
  auto ca = test::make_cert({"Test CA", {}, true}, nullptr);
  test::TempFile file(test::to_pem(ca.cert.get()));
  ClientContextConfig cfg;
  cfg.system_trust = false;
  cfg.ca_files = {file.path()};
  auto ctx = make_client_context(cfg);
  ASSERT_TRUE(ctx) << ctx.error().message;
  X509_STORE* store = SSL_CTX_get_cert_store(ctx->get());
  STACK_OF(X509_OBJECT)* objs = X509_STORE_get0_objects(store);
  ASSERT_EQ(sk_X509_OBJECT_num(objs), 1);
  EXPECT_EQ(X509_cmp(X509_OBJECT_get0_X509(sk_X509_OBJECT_value(objs, 0)), ca.cert.get()), 0);
}

TEST(ClientContext, UnreadableCaFileFails) {
  test::TempFile garbage("this is not a certificate\n");
  for (const std::string& path : {std::string("/nonexistent/mxsec-ca.pem"), garbage.path()}) {
    ClientContextConfig cfg;
    cfg.ca_files = {path};
    auto ctx = make_client_context(cfg);
    ASSERT_FALSE(ctx) << path;
    EXPECT_EQ(ctx.error().code, Errc::crypto);
    EXPECT_NE(ctx.error().message.find("CA file"), std::string::npos);
  }
}

}  // namespace
}  // namespace mxsec::tls

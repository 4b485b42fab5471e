// Tests for tls/handles.cpp: the OpenSSL error queue.
#include "tls/handles.hpp"

#include <gtest/gtest.h>
#include <openssl/err.h>

namespace mxsec::tls {
namespace {

TEST(Handles, ErrorQueueIsDrained) {
  EXPECT_EQ(openssl_error_text(), "");
  // A failed load leaves an error on the queue.
  X509Ptr cert(PEM_read_bio_X509(BioPtr(BIO_new_mem_buf("not pem", -1)).get(), nullptr, nullptr, nullptr));
  EXPECT_EQ(cert, nullptr);
  EXPECT_NE(openssl_error_text(), "");
  EXPECT_EQ(ERR_peek_error(), 0u);
  EXPECT_EQ(openssl_error_text(), "");
}

}  // namespace
}  // namespace mxsec::tls

#include "delivery/headers.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mxsec::delivery {
namespace {

std::string apply(std::string_view prepend, std::string_view text, std::string_view id) {
  std::string out;
  for (auto s : output_slices(prepend, text, forged_auth_results(text, id))) out += s;
  return out;
}

struct Case {
  const char* name;
  const char* text;
  const char* expected;
};

TEST(ForgedAuthResults, RemovesOnlyOurs) {
  const Case cases[] = {
      {"ours", "Authentication-Results: mx.example; spf=pass\r\nFrom: a@b\r\n\r\nbody\r\n", "From: a@b\r\n\r\nbody\r\n"},
      {"other ADMD kept", "Authentication-Results: other.example; spf=pass\r\n\r\nx\r\n",
       "Authentication-Results: other.example; spf=pass\r\n\r\nx\r\n"},
      {"case of the id and the name", "AUTHENTICATION-RESULTS: MX.EXAMPLE; dkim=pass\r\nSubject: s\r\n\r\n",
       "Subject: s\r\n\r\n"},
      {"folded field removed whole", "X: 1\r\nAuthentication-Results: mx.example;\r\n\tdkim=pass\r\n header.d=x\r\nY: 2\r\n\r\n",
       "X: 1\r\nY: 2\r\n\r\n"},
      {"comment before the id", "Authentication-Results: (forged) mx.example; dmarc=pass\r\n\r\n", "\r\n"},
      {"malformed, judged by its first token", "Authentication-Results: mx.example ;;; ((\r\n\r\n", "\r\n"},
      {"prefix of our id is not ours", "Authentication-Results: mx.example.evil; spf=pass\r\n\r\n",
       "Authentication-Results: mx.example.evil; spf=pass\r\n\r\n"},
      {"in the body it stays", "Subject: s\r\n\r\nAuthentication-Results: mx.example; spf=pass\r\n",
       "Subject: s\r\n\r\nAuthentication-Results: mx.example; spf=pass\r\n"},
      {"several", "Authentication-Results: mx.example; a=b\r\nAuthentication-Results: mx.example; c=d\r\n\r\n", "\r\n"},
      {"no header section end", "Authentication-Results: mx.example; a=b\r\n", ""},
  };
  for (const auto& c : cases) EXPECT_EQ(apply("", c.text, "mx.example"), c.expected) << c.name;
}

// RFC 8689 §5: "TLS-Required: No", in any case, folded or not; only in the
// header section, and only with the value No.
TEST(TlsRequiredNo, OnlyTheHeaderFieldWithTheValueNo) {
  EXPECT_TRUE(tls_required_no("From: a@example\r\nTLS-Required: No\r\n\r\nbody\r\n"));
  EXPECT_TRUE(tls_required_no("tls-required:no\r\n\r\n"));
  EXPECT_TRUE(tls_required_no("TLS-Required:\r\n  NO \r\nSubject: x\r\n\r\n"));
  EXPECT_FALSE(tls_required_no("TLS-Required: Yes\r\n\r\n"));
  EXPECT_FALSE(tls_required_no("TLS-Required: No thanks\r\n\r\n"));
  EXPECT_FALSE(tls_required_no("X-TLS-Required: No\r\n\r\n"));
  EXPECT_FALSE(tls_required_no("Subject: x\r\n\r\nTLS-Required: No\r\n"));  // in the body
  EXPECT_FALSE(tls_required_no(""));
}

TEST(OutputSlices, PrependComesFirst) {
  EXPECT_EQ(apply("Received: x\r\n", "Subject: s\r\n\r\nb\r\n", "mx.example"), "Received: x\r\nSubject: s\r\n\r\nb\r\n");
  EXPECT_EQ(apply("", "", "mx.example"), "");
}

}  // namespace
}  // namespace mxsec::delivery

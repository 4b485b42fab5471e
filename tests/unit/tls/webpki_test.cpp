// Tests for tls/webpki.cpp: OpenSSL path validation for an MX host name.
#include "tls/webpki.hpp"

#include <gtest/gtest.h>

#include <ctime>

#include "unit/tls/test_pki.hpp"

namespace mxsec::tls {
namespace {

struct Pki {
  test::KeyCert root = test::make_cert({"Root", {}, true, -10 * 86400, 100 * 86400}, nullptr);
  test::KeyCert inter = test::make_cert({"Intermediate", {}, true, -10 * 86400, 100 * 86400}, &root);
};

X509StorePtr store_with(X509* anchor) {
  X509StorePtr store(X509_STORE_new());
  if (anchor) X509_STORE_add_cert(store.get(), anchor);
  return store;
}

struct NameCase {
  std::string name;
  std::vector<std::string> sans;
  std::string host;
  WebPkiVerdict verdict;
};

class WebPkiNames : public ::testing::TestWithParam<NameCase> {};

TEST_P(WebPkiNames, Verdict) {
  static Pki pki;
  const auto& c = GetParam();
  auto leaf = test::make_cert({"leaf", c.sans}, &pki.inter);
  auto store = store_with(pki.root.cert.get());
  X509StackPtr untrusted(sk_X509_new_null());
  X509_up_ref(pki.inter.cert.get());
  sk_X509_push(untrusted.get(), pki.inter.cert.get());
  auto r = check_webpki(store.get(), leaf.cert.get(), untrusted.get(), c.host);
  EXPECT_EQ(r.verdict, c.verdict) << to_string(r.verdict) << ": " << r.error_text;
  if (c.verdict == WebPkiVerdict::ok) {
    EXPECT_EQ(r.error_code, 0);
    EXPECT_FALSE(tlsrpt_result_type(r.verdict));
  } else {
    EXPECT_NE(r.error_code, 0);
    EXPECT_FALSE(r.error_text.empty());
  }
}

// RFC 8461 §4.1 / RFC 6125 §6.4.3: a wildcard is a whole left-most label
// matching exactly one label.
INSTANTIATE_TEST_SUITE_P(
    Rfc8461, WebPkiNames,
    ::testing::Values(NameCase{"exact", {"mx.example.net"}, "mx.example.net", WebPkiVerdict::ok},
                      NameCase{"exact_trailing_dot", {"mx.example.net"}, "mx.example.net.", WebPkiVerdict::ok},
                      NameCase{"case_insensitive", {"MX.Example.NET"}, "mx.example.net", WebPkiVerdict::ok},
                      NameCase{"second_san", {"a.example.net", "mx.example.net"}, "mx.example.net",
                               WebPkiVerdict::ok},
                      NameCase{"wildcard_one_label", {"*.example.net"}, "mx.example.net", WebPkiVerdict::ok},
                      NameCase{"wildcard_two_labels", {"*.example.net"}, "a.mx.example.net",
                               WebPkiVerdict::host_mismatch},
                      NameCase{"wildcard_not_apex", {"*.example.net"}, "example.net", WebPkiVerdict::host_mismatch},
                      NameCase{"partial_wildcard", {"m*.example.net"}, "mx.example.net",
                               WebPkiVerdict::host_mismatch},
                      NameCase{"other_name", {"mail.example.net"}, "mx.example.net", WebPkiVerdict::host_mismatch},
                      NameCase{"suffix_only", {"example.net"}, "mx.example.net", WebPkiVerdict::host_mismatch},
                      NameCase{"no_san_cn_ignored", {}, "leaf", WebPkiVerdict::host_mismatch},
                      // An address literal is an IP-ID: iPAddress names only.
                      NameCase{"ip_literal", {"IP:192.0.2.1"}, "192.0.2.1", WebPkiVerdict::ok},
                      NameCase{"ipv6_literal", {"IP:2001:db8::1"}, "2001:db8::1", WebPkiVerdict::ok},
                      NameCase{"ip_other_address", {"IP:192.0.2.2"}, "192.0.2.1", WebPkiVerdict::host_mismatch},
                      NameCase{"ip_as_dns_name", {"192.0.2.1"}, "192.0.2.1", WebPkiVerdict::host_mismatch}),
    [](const auto& info) { return info.param.name; });

TEST(WebPki, ChainFailures) {
  Pki pki;
  const std::int64_t now = std::time(nullptr);
  auto good = test::make_cert({"leaf", {"mx.example.net"}}, &pki.inter);
  auto expired = test::make_cert({"leaf", {"mx.example.net"}, false, -3 * 86400, -86400}, &pki.inter);
  auto future = test::make_cert({"leaf", {"mx.example.net"}, false, 86400, 3 * 86400}, &pki.inter);
  auto self = test::make_cert({"leaf", {"mx.example.net"}}, nullptr);
  auto other_root = test::make_cert({"Other Root", {}, true}, nullptr);

  struct Case {
    std::string name;
    X509* leaf;
    bool send_intermediate;
    X509* anchor;
    std::optional<std::int64_t> at;
    std::string host;
    WebPkiVerdict verdict;
    const char* tlsrpt;
  };
  const std::vector<Case> cases = {
      {"ok", good.cert.get(), true, pki.root.cert.get(), {}, "mx.example.net", WebPkiVerdict::ok, nullptr},
      // Anchors are self-signed roots: no X509_V_FLAG_PARTIAL_CHAIN.
      {"intermediate_as_anchor", good.cert.get(), false, pki.inter.cert.get(), {}, "mx.example.net",
       WebPkiVerdict::untrusted, "certificate-not-trusted"},
      {"missing_intermediate", good.cert.get(), false, pki.root.cert.get(), {}, "mx.example.net",
       WebPkiVerdict::untrusted, "certificate-not-trusted"},
      {"wrong_root", good.cert.get(), true, other_root.cert.get(), {}, "mx.example.net", WebPkiVerdict::untrusted,
       "certificate-not-trusted"},
      {"empty_store", good.cert.get(), true, nullptr, {}, "mx.example.net", WebPkiVerdict::untrusted,
       "certificate-not-trusted"},
      {"self_signed", self.cert.get(), false, pki.root.cert.get(), {}, "mx.example.net", WebPkiVerdict::untrusted,
       "certificate-not-trusted"},
      {"expired", expired.cert.get(), true, pki.root.cert.get(), {}, "mx.example.net", WebPkiVerdict::expired,
       "certificate-expired"},
      {"expired_ok_at_pinned_time", expired.cert.get(), true, pki.root.cert.get(), now - 2 * 86400,
       "mx.example.net", WebPkiVerdict::ok, nullptr},
      {"not_yet_valid", future.cert.get(), true, pki.root.cert.get(), {}, "mx.example.net",
       WebPkiVerdict::not_yet_valid, "validation-failure"},
      {"good_later_expired", good.cert.get(), true, pki.root.cert.get(), now + 3 * 86400, "mx.example.net",
       WebPkiVerdict::expired, "certificate-expired"},
      {"mismatch", good.cert.get(), true, pki.root.cert.get(), {}, "other.example.net",
       WebPkiVerdict::host_mismatch, "certificate-host-mismatch"},
      // OpenSSL reports the missing path before the name.
      {"untrusted_and_mismatch", self.cert.get(), false, pki.root.cert.get(), {}, "other.example.net",
       WebPkiVerdict::untrusted, "certificate-not-trusted"},
      {"empty_host", good.cert.get(), true, pki.root.cert.get(), {}, "", WebPkiVerdict::other,
       "validation-failure"},
  };
  for (const auto& c : cases) {
    auto store = store_with(c.anchor);
    X509StackPtr untrusted(sk_X509_new_null());
    if (c.send_intermediate) {
      X509_up_ref(pki.inter.cert.get());
      sk_X509_push(untrusted.get(), pki.inter.cert.get());
    }
    auto r = check_webpki(store.get(), c.leaf, untrusted.get(), c.host, c.at);
    EXPECT_EQ(r.verdict, c.verdict) << c.name << ": " << r.error_text;
    const auto type = tlsrpt_result_type(r.verdict);
    if (c.tlsrpt) {
      ASSERT_TRUE(type) << c.name;
      EXPECT_STREQ(policy::tlsrpt::to_string(*type), c.tlsrpt) << c.name;
    } else {
      EXPECT_FALSE(type) << c.name;
    }
  }
}

TEST(WebPki, NullInputs) {
  Pki pki;
  auto store = store_with(pki.root.cert.get());
  EXPECT_EQ(check_webpki(nullptr, pki.inter.cert.get(), nullptr, "x").verdict, WebPkiVerdict::other);
  EXPECT_EQ(check_webpki(store.get(), nullptr, nullptr, "x").verdict, WebPkiVerdict::other);
}

TEST(WebPki, ClassifyErrors) {
  struct Case {
    int err;
    WebPkiVerdict v;
  };
  for (Case c : {Case{X509_V_OK, WebPkiVerdict::ok}, Case{X509_V_ERR_HOSTNAME_MISMATCH, WebPkiVerdict::host_mismatch},
                 Case{X509_V_ERR_CERT_HAS_EXPIRED, WebPkiVerdict::expired},
                 Case{X509_V_ERR_CERT_NOT_YET_VALID, WebPkiVerdict::not_yet_valid},
                 Case{X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, WebPkiVerdict::untrusted},
                 Case{X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, WebPkiVerdict::untrusted},
                 Case{X509_V_ERR_CERT_SIGNATURE_FAILURE, WebPkiVerdict::other},
                 Case{X509_V_ERR_INVALID_PURPOSE, WebPkiVerdict::other}}) {
    EXPECT_EQ(classify_verify_error(c.err), c.v) << c.err;
  }
}

}  // namespace
}  // namespace mxsec::tls

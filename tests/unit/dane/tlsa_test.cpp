// Tests for tls/dane/tlsa.cpp: TLSA usability for SMTP (RFC 7672).
#include "tls/dane/tlsa.hpp"

#include <gtest/gtest.h>

#include "core/limits.hpp"
#include "tls/certificate.hpp"
#include "unit/tls/test_pki.hpp"

namespace mxsec::tls::dane {
namespace {

dns::TlsaRecord rec(int u, int s, int m, std::string data) {
  return dns::TlsaRecord{static_cast<std::uint8_t>(u), static_cast<std::uint8_t>(s), static_cast<std::uint8_t>(m),
                         std::move(data)};
}

struct ClassifyCase {
  std::string name;
  dns::TlsaRecord record;
  bool usable;
  std::string reason;
};

std::vector<ClassifyCase> Cases() {
  static auto cert = test::make_cert({"mx", {"mx.example.net"}}, nullptr);
  const std::string der = *certificate_der(cert.cert.get());
  const std::string spki = *spki_der(cert.cert.get());
  const std::string d32(32, '\x11'), d64(64, '\x22');
  return {
      {"dane_ee_spki_sha256", rec(3, 1, 1, d32), true, ""},
      {"dane_ee_cert_sha256", rec(3, 0, 1, d32), true, ""},
      {"dane_ee_spki_sha512", rec(3, 1, 2, d64), true, ""},
      {"dane_ta_spki_sha256", rec(2, 1, 1, d32), true, ""},
      {"dane_ta_cert_sha512", rec(2, 0, 2, d64), true, ""},
      {"dane_ee_full_cert", rec(3, 0, 0, der), true, ""},
      {"dane_ee_full_spki", rec(3, 1, 0, spki), true, ""},
      {"dane_ta_full_cert", rec(2, 0, 0, der), true, ""},
      {"pkix_ta", rec(0, 1, 1, d32), false, "pkix-usage"},
      {"pkix_ee", rec(1, 1, 1, d32), false, "pkix-usage"},
      {"usage_4", rec(4, 1, 1, d32), false, "unknown-usage"},
      {"usage_255", rec(255, 1, 1, d32), false, "unknown-usage"},
      {"selector_2", rec(3, 2, 1, d32), false, "unknown-selector"},
      {"selector_255", rec(3, 255, 1, d32), false, "unknown-selector"},
      {"mtype_3", rec(3, 1, 3, d32), false, "unknown-matching-type"},
      {"mtype_255", rec(3, 1, 255, d32), false, "unknown-matching-type"},
      {"sha256_short", rec(3, 1, 1, std::string(31, 'a')), false, "bad-digest-length"},
      {"sha256_long", rec(3, 1, 1, std::string(33, 'a')), false, "bad-digest-length"},
      {"sha256_as_sha512", rec(3, 1, 2, d32), false, "bad-digest-length"},
      {"sha512_as_sha256", rec(3, 1, 1, d64), false, "bad-digest-length"},
      {"sha256_empty", rec(3, 1, 1, ""), false, "bad-digest-length"},
      {"full_empty", rec(3, 1, 0, ""), false, "empty-data"},
      {"full_garbage", rec(3, 0, 0, "garbage"), false, "malformed-data"},
      {"full_cert_trailing", rec(3, 0, 0, der + "x"), false, "malformed-data"},
      {"full_cert_truncated", rec(3, 0, 0, der.substr(0, der.size() - 1)), false, "malformed-data"},
      {"full_cert_given_as_spki", rec(3, 1, 0, der), false, "malformed-data"},
      {"full_spki_given_as_cert", rec(3, 0, 0, spki), false, "malformed-data"},
      {"full_too_long", rec(3, 0, 0, std::string(limits::kDaneMaxTlsaDataBytes + 1, '\x30')), false,
       "data-too-long"},
  };
}

class Classify : public ::testing::TestWithParam<ClassifyCase> {};

TEST_P(Classify, Verdict) {
  const auto& c = GetParam();
  auto got = classify(c.record);
  EXPECT_EQ(got.usable, c.usable);
  EXPECT_EQ(got.reason, c.reason);
}

INSTANTIATE_TEST_SUITE_P(Rfc7672, Classify, ::testing::ValuesIn(Cases()),
                         [](const auto& info) { return info.param.name; });

TEST(Analyse, SplitsAndRollover) {
  const std::string d32(32, '\x11'), e32(32, '\x12');
  struct Case {
    std::string name;
    std::vector<dns::TlsaRecord> records;
    std::size_t usable, unusable;
    bool rollover, all_unusable;
  };
  const std::vector<Case> cases = {
      {"empty", {}, 0, 0, false, false},
      {"single_311", {rec(3, 1, 1, d32)}, 1, 0, false, false},
      {"current_and_next_311", {rec(3, 1, 1, d32), rec(3, 1, 1, e32)}, 2, 0, true, false},
      {"ee_plus_ta", {rec(3, 1, 1, d32), rec(2, 1, 1, e32)}, 2, 0, true, false},
      {"one_usable_one_pkix", {rec(3, 1, 1, d32), rec(1, 1, 1, e32)}, 1, 1, false, false},
      {"only_pkix", {rec(0, 0, 1, d32), rec(1, 1, 1, e32)}, 0, 2, false, true},
      {"bad_length_only", {rec(3, 1, 1, "short")}, 0, 1, false, true},
  };
  for (const auto& c : cases) {
    auto set = analyse(c.records);
    ASSERT_TRUE(set) << c.name;
    EXPECT_EQ(set->usable.size(), c.usable) << c.name;
    EXPECT_EQ(set->unusable.size(), c.unusable) << c.name;
    EXPECT_EQ(set->rollover_ready, c.rollover) << c.name;
    EXPECT_EQ(set->all_unusable(), c.all_unusable) << c.name;
    for (const auto& u : set->unusable) EXPECT_FALSE(u.reason.empty()) << c.name;
  }
}

TEST(Analyse, LimitFailsClosed) {
  const std::string d32(32, '\x11');
  std::vector<dns::TlsaRecord> at_limit(limits::kDaneMaxTlsaRecords, rec(3, 1, 1, d32));
  auto ok = analyse(at_limit);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->usable.size(), limits::kDaneMaxTlsaRecords);
  at_limit.push_back(rec(3, 1, 1, d32));
  auto over = analyse(at_limit);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::limit);
}

TEST(Analyse, FromAnswer) {
  dns::TlsaAnswer answer;
  answer.status = dns::Status::ok;
  answer.security = dns::Security::secure;
  answer.records = {rec(3, 1, 1, std::string(32, 'a')), rec(2, 0, 1, std::string(31, 'a'))};
  auto set = analyse(answer);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->usable.size(), 1u);
  ASSERT_EQ(set->unusable.size(), 1u);
  EXPECT_EQ(set->unusable[0].reason, "bad-digest-length");
}

TEST(ToText, PresentationForm) {
  EXPECT_EQ(to_text(rec(3, 1, 1, "\x01\xab")), "3 1 1 01AB");
  EXPECT_EQ(to_text(rec(2, 0, 0, "")), "2 0 0");
}

}  // namespace
}  // namespace mxsec::tls::dane

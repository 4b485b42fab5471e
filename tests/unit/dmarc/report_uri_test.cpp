// Tests for auth/dmarc/report_uri.cpp: rua/ruf URI parsing and lists.
#include "auth/dmarc/report_uri.hpp"

#include <gtest/gtest.h>

namespace mxsec::auth::dmarc {
namespace {

struct UriCase {
  std::string name, text;
  bool valid, actionable;
  std::string scheme, address, host;
  std::optional<std::uint64_t> size;
};

class ReportUriParse : public ::testing::TestWithParam<UriCase> {};

TEST_P(ReportUriParse, Classifies) {
  const UriCase& c = GetParam();
  ReportUri u = parse_report_uri(c.text);
  EXPECT_EQ(u.valid, c.valid) << u.note;
  EXPECT_EQ(u.actionable, c.actionable) << u.note;
  EXPECT_EQ(u.scheme, c.scheme);
  EXPECT_EQ(u.address, c.address);
  EXPECT_EQ(u.host, c.host);
  EXPECT_EQ(u.max_report_bytes, c.size);
  if (!c.actionable) {
    EXPECT_FALSE(u.note.empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Dmarc, ReportUriParse,
    ::testing::Values(
        UriCase{"mailto", "mailto:dmarc-feedback@example.com", true, true, "mailto", "dmarc-feedback@example.com",
                "example.com", {}},
        UriCase{"mailto_upper_scheme_and_host", " MAILTO:r@Example.COM ", true, true, "mailto", "r@Example.COM",
                "example.com", {}},
        UriCase{"size_10m", "mailto:tld-test@thirdparty.example.net!10m", true, true, "mailto",
                "tld-test@thirdparty.example.net", "thirdparty.example.net", 10ULL << 20},
        UriCase{"size_plain", "mailto:a@example.com!500", true, true, "mailto", "a@example.com", "example.com", 500},
        UriCase{"percent_encoded", "mailto:a%2Bb@example.com", true, true, "mailto", "a+b@example.com", "example.com",
                {}},
        UriCase{"hfields_ignored", "mailto:a@example.com?subject=x", true, true, "mailto", "a@example.com",
                "example.com", {}},
        UriCase{"https_not_supported", "https://example.com/report", true, false, "https", "", "", {}},
        UriCase{"no_scheme", "dmarc@example.com", false, false, "", "", "", {}},
        UriCase{"bad_bang", "mailto:a@example.com!x", false, false, "", "", "", {}},
        UriCase{"size_overflow", "mailto:a@example.com!99999999999999999999t", false, false, "", "", "", {}},
        UriCase{"space_inside", "mailto:a b@example.com", false, false, "", "", "", {}},
        UriCase{"bad_percent", "mailto:a%zz@example.com", false, false, "", "", "", {}},
        UriCase{"no_at", "mailto:example.com", true, false, "mailto", "", "", {}},
        UriCase{"bad_domain", "mailto:a@exa_mple..com", true, false, "mailto", "", "", {}},
        UriCase{"two_addresses", "mailto:a@example.com%2Cb@example.org", true, false, "mailto", "", "", {}},
        UriCase{"control_after_decode", "mailto:a%0A@example.com", true, false, "mailto", "", "", {}},
        UriCase{"empty", "", false, false, "", "", "", {}}),
    [](const auto& info) { return info.param.name; });

TEST(ReportUriList, SplitsTrimsAndLimits) {
  auto list = parse_uri_list(" mailto:a@example.com , mailto:b@example.org,,https://x.example/", 8);
  ASSERT_EQ(list.size(), 3u);
  EXPECT_TRUE(list[0].actionable);
  EXPECT_TRUE(list[1].actionable);
  EXPECT_FALSE(list[2].actionable);

  std::string many;
  for (int i = 0; i < 12; ++i) many += (i ? "," : "") + std::string("mailto:r") + std::to_string(i) + "@example.com";
  auto limited = parse_uri_list(many, 8);
  ASSERT_EQ(limited.size(), 12u);
  int actionable = 0;
  for (const auto& u : limited) actionable += u.actionable;
  EXPECT_EQ(actionable, 8);  // the ones past the limit are kept only as notes
  EXPECT_NE(limited[11].note.find("dropped"), std::string::npos);
}

}  // namespace
}  // namespace mxsec::auth::dmarc

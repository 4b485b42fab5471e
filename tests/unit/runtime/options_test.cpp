// Tests for runtime/options.hpp: every option is checked before anything is
// built, and the error names the option as the user wrote it.
#include "runtime/options.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace mxsec::runtime {
namespace {

using namespace std::chrono_literals;

TEST(RuntimeOptions, DefaultsComeFromLimits) {
  RuntimeOptions o;
  EXPECT_EQ(o.dns.timeout, limits::kDnsQueryTimeout);
  EXPECT_EQ(o.mta_sts.fetch_timeout, limits::kStsFetchTimeout);
  EXPECT_TRUE(o.mta_sts.enabled);
  EXPECT_TRUE(o.dns.cache);
  EXPECT_TRUE(validate(o));
  EXPECT_DOUBLE_EQ(to_seconds(o.dns.timeout), 5.0);
}

TEST(RuntimeOptions, SecondsOptionRefusesOutOfRangeAndNaN) {
  EXPECT_EQ(*seconds_option(2.5, "--timeout"), 2500ms);
  EXPECT_EQ(*seconds_option(600, "--timeout"), 600000ms);
  EXPECT_EQ(*seconds_option(1.001, "--timeout"), 1001ms);  // 1000.999... in binary: rounded, not truncated
  EXPECT_EQ(*seconds_option(0.0006, "--timeout"), 1ms);
  for (double bad : {0.0, -1.0, 0.0004, 600.5, std::nan(""), std::numeric_limits<double>::infinity()}) {
    auto r = seconds_option(bad, "--timeout");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, Errc::invalid_argument);
    EXPECT_NE(r.error().message.find("--timeout"), std::string::npos) << r.error().message;
  }
}

TEST(RuntimeOptions, ErrorsNameTheOptionAsWrittenWhereItCameFrom) {
  RuntimeOptions o;
  o.dns.stub_zones = {"test.127.0.53.1"};
  auto cli = validate(o);
  ASSERT_FALSE(cli);
  EXPECT_NE(cli.error().message.find("--stub-zone"), std::string::npos) << cli.error().message;
  OptionNames toml{"dns.timeout", "dns.stub_zones", "mta_sts.fetch_timeout"};
  auto file = validate(o, toml);
  ASSERT_FALSE(file);
  EXPECT_NE(file.error().message.find("dns.stub_zones"), std::string::npos) << file.error().message;

  for (const char* bad : {"=127.0.0.1", "test=", "test"}) {
    o.dns.stub_zones = {bad};
    EXPECT_FALSE(validate(o)) << bad;
  }
  o.dns.stub_zones = {"test=127.0.53.1:5300"};
  auto config = resolver_config(o.dns);
  ASSERT_TRUE(config) << config.error().message;
  ASSERT_EQ(config->stub_zones.size(), 1u);
  EXPECT_EQ(config->stub_zones[0].first, "test");
  EXPECT_EQ(config->stub_zones[0].second, "127.0.53.1:5300");

  RuntimeOptions t;
  t.mta_sts.fetch_timeout = 0ms;
  auto fetch = validate(t);
  ASSERT_FALSE(fetch);
  EXPECT_NE(fetch.error().message.find("--https-timeout"), std::string::npos);
  t = {};
  t.dns.timeout = 11min;
  EXPECT_FALSE(validate(t));
}

}  // namespace
}  // namespace mxsec::runtime

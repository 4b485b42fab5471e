#include "app/cli/context.hpp"

#include <gtest/gtest.h>

namespace mxsec::cli {
namespace {

TEST(DomainArgument, ULabelsBecomeALabels) {
  EXPECT_EQ(*domain_argument("bücher.test", "DOMAIN"), "xn--bcher-kva.test");
  EXPECT_EQ(*domain_argument("Bücher.TEST.", "DOMAIN"), "xn--bcher-kva.test");
  EXPECT_EQ(*domain_argument("Example.COM", "DOMAIN"), "example.com");
  EXPECT_EQ(*domain_argument("xn--bcher-kva.test", "DOMAIN"), "xn--bcher-kva.test");
}

TEST(DomainArgument, RefusesWhatIsNotADomainAndNamesTheArgument) {
  for (const char* bad : {"", "a..b", "exa mple.com", "bücher..test", "\xff\xfe.test"}) {
    auto r = domain_argument(bad, "--domain");
    ASSERT_FALSE(r) << bad;
    EXPECT_NE(r.error().message.find("(--domain) is not a domain name"), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace mxsec::cli

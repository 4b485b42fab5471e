// Tests for auth/dmarc/report_auth.cpp: external report destination
// authorization through a fake DNS, with query counts.
#include <gtest/gtest.h>

#include "auth/dmarc/org_domain.hpp"
#include "auth/dmarc/report_uri.hpp"
#include "test_util.hpp"

namespace mxsec::auth::dmarc {
namespace {

using testing::run;

// --- external destination verification -------------------------------------------

struct Env {
  dns::FakeResolver dns;
  std::unique_ptr<DmarcLookup> lookup;
  std::unique_ptr<OrgDomainFinder> finder;
  Env() {
    lookup = std::make_unique<DmarcLookup>(dns);
    finder = std::make_unique<OrgDomainFinder>(*lookup, OrgDomainMode::tree_walk, nullptr);
  }
  std::vector<ReportDestination> verify(const std::string& record_domain, const std::string& org,
                                        const std::string& uris, const std::string& tag = "rua") {
    return run(verify_report_destinations(dns, *finder, record_domain, org, parse_uri_list(uris), tag));
  }
};

TEST(ReportAuthorization, InternalNeedsNoQuery) {
  Env e;
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=none"});
  auto d = e.verify("example.com", "example.com", "mailto:r@example.com");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].authorization, ReportAuthorization::internal);
  EXPECT_EQ(e.dns.query_count(), 0u);
}

TEST(ReportAuthorization, SubdomainHostWalksOnlyBelowTheOrgDomain) {
  Env e;
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=none"});
  auto d = e.verify("example.com", "example.com", "mailto:r@reports.example.com");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].authorization, ReportAuthorization::internal);
  // walk: _dmarc.reports.example.com, _dmarc.example.com, _dmarc.com
  EXPECT_EQ(e.dns.query_count(), 3u);
}

TEST(ReportAuthorization, SubOrganizationWithPsdNIsExternal) {
  Env e;
  e.dns.add_txt("_dmarc.example.com", {"v=DMARC1; p=none"});
  e.dns.add_txt("_dmarc.reports.example.com", {"v=DMARC1; p=none; psd=n"});
  auto d = e.verify("example.com", "example.com", "mailto:r@reports.example.com");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].authorization, ReportAuthorization::not_authorized);
  EXPECT_EQ(d[0].query_name, "example.com._report._dmarc.reports.example.com");
}

TEST(ReportAuthorization, Rfc9989ThirdPartyExample) {
  // RFC 9989 "Per-Message Failure Reports Directed to Third Party".
  Env e;
  e.dns.add_txt("example.com._report._dmarc.thirdparty.example.net", {"v=DMARC1;"});
  auto d = e.verify("example.com", "example.com", "mailto:auth-reports@thirdparty.example.net", "ruf");
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].authorization, ReportAuthorization::authorized);
  EXPECT_TRUE(d[0].overrides.empty());
  EXPECT_EQ(e.dns.query_count(), 1u);  // no walk for a host outside the org domain
}

TEST(ReportAuthorization, Rfc9989OverrideSameHostOnly) {
  Env e;
  e.dns.add_txt("example.com._report._dmarc.thirdparty.example.net",
                {"v=DMARC1; rua=mailto:aggregate-reports@thirdparty.example.net,mailto:evil@other.example; "
                 "ruf=mailto:failure-reports@thirdparty.example.net"});
  auto d = e.verify("example.com", "example.com", "mailto:auth-reports@thirdparty.example.net", "ruf");
  ASSERT_EQ(d.size(), 1u);
  ASSERT_EQ(d[0].overrides.size(), 1u);
  EXPECT_EQ(d[0].overrides[0].address, "failure-reports@thirdparty.example.net");
  auto a = e.verify("example.com", "example.com", "mailto:x@thirdparty.example.net", "rua");
  ASSERT_EQ(a[0].overrides.size(), 1u);  // the other.example URI is refused
  EXPECT_EQ(a[0].overrides[0].address, "aggregate-reports@thirdparty.example.net");
}

TEST(ReportAuthorization, NotAuthorizedWithoutRecordOrWithWrongRecord) {
  Env e;
  e.dns.add_txt("example.com._report._dmarc.other.example", {"v=spf1 -all"});
  auto d = e.verify("example.com", "example.com", "mailto:a@victim.example,mailto:b@other.example");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].authorization, ReportAuthorization::not_authorized);
  EXPECT_EQ(d[1].authorization, ReportAuthorization::not_authorized);
  EXPECT_EQ(e.dns.query_count(), 2u);
}

TEST(ReportAuthorization, FailureAndBogusAreTemperror) {
  Env e;
  e.dns.set_outcome("example.com._report._dmarc.a.example", dns::RrType::txt, dns::Status::servfail,
                    dns::Security::indeterminate);
  e.dns.add_txt("example.com._report._dmarc.b.example", {"v=DMARC1"});
  e.dns.set_security("example.com._report._dmarc.b.example", dns::RrType::txt, dns::Security::bogus, "sig expired");
  auto d = e.verify("example.com", "example.com", "mailto:x@a.example,mailto:y@b.example");
  ASSERT_EQ(d.size(), 2u);
  EXPECT_EQ(d[0].authorization, ReportAuthorization::temperror);
  EXPECT_EQ(d[1].authorization, ReportAuthorization::temperror);
  EXPECT_NE(d[1].note.find("sig expired"), std::string::npos);
}

TEST(ReportAuthorization, OneQueryPerHostAndNoneForUnsupported) {
  Env e;
  e.dns.add_txt("example.com._report._dmarc.t.example", {"v=DMARC1"});
  auto d = e.verify("example.com", "example.com", "mailto:a@t.example,mailto:b@t.example,https://t.example/x");
  ASSERT_EQ(d.size(), 3u);
  EXPECT_EQ(d[0].authorization, ReportAuthorization::authorized);
  EXPECT_EQ(d[1].authorization, ReportAuthorization::authorized);
  EXPECT_EQ(d[2].authorization, ReportAuthorization::not_applicable);
  EXPECT_EQ(e.dns.query_count(), 1u);
}

TEST(ReportAuthorization, OverlongNameIsNotAuthorizedWithoutQuery) {
  Env e;
  const std::string label(60, 'a');
  const std::string host = label + "." + label + "." + label + ".example";
  auto d = e.verify(label + "." + label + ".example.com", "example.com", "mailto:r@" + host);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].authorization, ReportAuthorization::not_authorized);
  EXPECT_EQ(e.dns.query_count(), 0u);
}

}  // namespace
}  // namespace mxsec::auth::dmarc

// Tests for dns/types.cpp: describe_failure(), the one describer of a failed
// DNS answer.
#include "dns/types.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace mxsec::dns {
namespace {

TEST(DescribeFailure, Table) {
  struct Case {
    const char* name;
    Status status;
    Security security;
    std::string why_bogus, error, want;
  };
  const std::vector<Case> cases = {
      {"servfail", Status::servfail, Security::indeterminate, "", "", "DNS servfail for TXT example.com"},
      {"timeout", Status::timeout, Security::indeterminate, "", "", "DNS timeout for TXT example.com"},
      {"error_text", Status::error, Security::indeterminate, "", "malformed rdata",
       "DNS error for TXT example.com: malformed rdata"},
      {"bogus", Status::servfail, Security::bogus, "signature expired", "",
       "DNSSEC bogus answer for TXT example.com: signature expired"},
      // A bogus NXDOMAIN is bogus first, whatever the rcode.
      {"bogus_nxdomain", Status::nxdomain, Security::bogus, "", "",
       "DNSSEC bogus answer for TXT example.com: validation failed"},
      {"nxdomain", Status::nxdomain, Security::insecure, "", "", "DNS nxdomain for TXT example.com"},
  };
  for (const Case& c : cases) {
    TxtAnswer a;
    a.status = c.status;
    a.security = c.security;
    a.why_bogus = c.why_bogus;
    a.error = c.error;
    EXPECT_EQ(describe_failure("TXT example.com", a), c.want) << c.name;
    RawAnswer raw;
    raw.status = c.status;
    raw.security = c.security;
    raw.why_bogus = c.why_bogus;
    raw.error = c.error;
    EXPECT_EQ(describe_failure("TXT example.com", raw), c.want) << c.name;
  }
}

TEST(DescribeFailure, WithoutWhat) {
  MxAnswer a;
  a.status = Status::timeout;
  EXPECT_EQ(describe_failure("", a), "DNS timeout");
  a.security = Security::bogus;
  a.why_bogus = "no DS";
  EXPECT_EQ(describe_failure("", a), "DNSSEC bogus answer: no DS");
}

TEST(DescribeFailure, UntrustedTextIsEscaped) {
  AddressAnswer a;
  a.security = Security::bogus;
  a.why_bogus = "bad\r\nInjected: yes";
  EXPECT_EQ(describe_failure("A evil\x07.example", a),
            "DNSSEC bogus answer for A evil\\x07.example: bad\\x0d\\x0aInjected: yes");
  a.security = Security::indeterminate;
  a.status = Status::error;
  a.why_bogus.clear();
  a.error = std::string(500, 'x');
  const std::string s = describe_failure("A x.example", a);
  EXPECT_LT(s.size(), 260u);  // the resolver's text is cut
  EXPECT_EQ(s.substr(s.size() - 3), "...");
}

}  // namespace
}  // namespace mxsec::dns

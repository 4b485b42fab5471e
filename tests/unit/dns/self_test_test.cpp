// dns/self_test.cpp: the four outcomes, driven by the fake resolver.
#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"
#include "dns/unbound_resolver.hpp"

namespace mxsec::dns {
namespace {

using Outcome = SelfTest::Outcome;

SelfTest run(FakeResolver& r, const std::string& probe) {
  asio::io_context io;
  return run_sync(io, run_self_test(r, probe));
}

TEST(SelfTest, SecureDnskeyIsValidating) {
  FakeResolver r;
  r.add_raw("test", RrType::dnskey, std::string("\x01\x01\x03\x0d\xaa", 5));
  r.set_security("test", RrType::dnskey, Security::secure);
  const SelfTest t = run(r, "test.");
  EXPECT_EQ(t.outcome, Outcome::validating);
  EXPECT_EQ(t.probe_name, "test.");
  EXPECT_EQ(r.query_count(), 1u);
  EXPECT_EQ(r.query_count("test", RrType::dnskey), 1u);
}

TEST(SelfTest, InsecureAnswerUnderAnAnchorIsNotValidating) {
  FakeResolver r;
  r.add_raw("test", RrType::dnskey, std::string("\x01\x01\x03\x0d\xaa", 5));  // insecure by default
  const SelfTest t = run(r, "test.");
  EXPECT_EQ(t.outcome, Outcome::not_validating);
  EXPECT_NE(t.message.find("insecure"), std::string::npos) << t.message;
}

TEST(SelfTest, InsecureNodataOrNxdomainIsNotValidating) {
  FakeResolver r;
  r.add_a("test", "192.0.2.1");
  EXPECT_EQ(run(r, "test.").outcome, Outcome::not_validating);  // NODATA for DNSKEY
  FakeResolver empty;
  EXPECT_EQ(run(empty, "test.").outcome, Outcome::not_validating);  // NXDOMAIN
}

TEST(SelfTest, SecureNodataIsNotEnough) {
  // A secure answer without the DNSKEY RRset proves nothing about the anchor.
  FakeResolver r;
  r.set_default_security(Security::secure);
  r.add_a("test", "192.0.2.1");
  EXPECT_EQ(run(r, "test.").outcome, Outcome::not_validating);
}

TEST(SelfTest, BogusCarriesTheReason) {
  FakeResolver r;
  r.set_outcome(".", RrType::dnskey, Status::servfail, Security::bogus, "no keys have a DS");
  const SelfTest t = run(r, ".");
  EXPECT_EQ(t.outcome, Outcome::bogus);
  EXPECT_NE(t.message.find("no keys have a DS"), std::string::npos) << t.message;
}

TEST(SelfTest, NoAnswerIsUnreachable) {
  for (Status s : {Status::servfail, Status::timeout, Status::error}) {
    FakeResolver r;
    r.set_outcome(".", RrType::dnskey, s, Security::indeterminate);
    const SelfTest t = run(r, ".");
    EXPECT_EQ(t.outcome, Outcome::unreachable) << to_string(s);
    EXPECT_NE(t.message.find(to_string(s)), std::string::npos) << t.message;
  }
}

TEST(SelfTest, EmptyProbeMeansRoot) {
  FakeResolver r;
  const SelfTest t = run(r, "");
  EXPECT_EQ(t.probe_name, ".");
  EXPECT_EQ(r.query_count("", RrType::dnskey), 1u);
}

TEST(SelfTest, OutcomeNames) {
  EXPECT_STREQ(to_string(Outcome::validating), "validating");
  EXPECT_STREQ(to_string(Outcome::not_validating), "not_validating");
  EXPECT_STREQ(to_string(Outcome::bogus), "bogus");
  EXPECT_STREQ(to_string(Outcome::unreachable), "unreachable");
}

}  // namespace
}  // namespace mxsec::dns

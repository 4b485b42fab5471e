// Unit tests for dns/caching_resolver.hpp.
#include "dns/caching_resolver.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::dns {
namespace {

class CachingResolverTest : public ::testing::Test {
 protected:
  RawAnswer ask(CachingResolver& c, std::string name, RrType type) { return run_sync(io, c.resolve(std::move(name), type)); }
  asio::io_context io;
  FakeResolver upstream;
  FixedClock clock{1'000'000};
};

TEST_F(CachingResolverTest, RepeatsComeFromCacheUntilTtlRunsOut) {
  ASSERT_TRUE(upstream.load_zone_text("$SECURITY secure\nmx.example.test A 192.0.2.1\n"));
  CachingResolver c(upstream, clock);
  auto first = ask(c, "mx.example.test", RrType::a);
  EXPECT_EQ(first.status, Status::ok);
  EXPECT_EQ(first.ttl, 300u);  // FakeResolver's TTL
  auto second = ask(c, "MX.Example.Test.", RrType::a);
  EXPECT_EQ(second.rdata, first.rdata);
  EXPECT_EQ(second.security, Security::secure);
  EXPECT_EQ(upstream.query_count(), 1u);
  EXPECT_EQ(c.hits(), 1u);
  EXPECT_EQ(c.misses(), 1u);

  clock.set(1'000'000 + 100);
  EXPECT_EQ(ask(c, "mx.example.test", RrType::a).ttl, 200u) << "TTL ages in the cache";
  clock.set(1'000'000 + 300);
  ask(c, "mx.example.test", RrType::a);
  EXPECT_EQ(upstream.query_count(), 2u) << "expired entries are asked again";
}

TEST_F(CachingResolverTest, TypesAreSeparate) {
  ASSERT_TRUE(upstream.load_zone_text("x.test A 192.0.2.1\nx.test TXT \"hello\"\n"));
  CachingResolver c(upstream, clock);
  ask(c, "x.test", RrType::a);
  ask(c, "x.test", RrType::txt);
  ask(c, "x.test", RrType::aaaa);
  EXPECT_EQ(upstream.query_count(), 3u);
  EXPECT_EQ(ask(c, "x.test", RrType::aaaa).status, Status::nodata);
  EXPECT_EQ(ask(c, "nope.test", RrType::a).status, Status::nxdomain);
  EXPECT_EQ(ask(c, "nope.test", RrType::a).status, Status::nxdomain);
  EXPECT_EQ(upstream.query_count(), 4u) << "negative answers are cached too";
}

TEST_F(CachingResolverTest, FailuresAreNotCachedBogusBriefly) {
  ASSERT_TRUE(upstream.load_zone_text("s.test A !servfail\nt.test A !timeout\nb.test A !bogus\n"));
  CacheOptions o;
  o.bogus_ttl = 60;
  CachingResolver c(upstream, clock, o);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(ask(c, "s.test", RrType::a).status, Status::servfail);
    EXPECT_EQ(ask(c, "t.test", RrType::a).status, Status::timeout);
  }
  EXPECT_EQ(upstream.query_count("s.test", RrType::a), 3u);
  EXPECT_EQ(upstream.query_count("t.test", RrType::a), 3u);
  EXPECT_EQ(ask(c, "b.test", RrType::a).security, Security::bogus);
  EXPECT_EQ(ask(c, "b.test", RrType::a).security, Security::bogus);
  EXPECT_EQ(upstream.query_count("b.test", RrType::a), 1u);
  clock.set(1'000'000 + 60);
  ask(c, "b.test", RrType::a);
  EXPECT_EQ(upstream.query_count("b.test", RrType::a), 2u);
}

TEST_F(CachingResolverTest, SizeIsBounded) {
  std::string zone;
  for (int i = 0; i < 50; ++i) zone += "h" + std::to_string(i) + ".test A 192.0.2.1\n";
  ASSERT_TRUE(upstream.load_zone_text(zone));
  CacheOptions o;
  o.max_entries = 10;
  CachingResolver c(upstream, clock, o);
  for (int i = 0; i < 50; ++i) ask(c, "h" + std::to_string(i) + ".test", RrType::a);
  EXPECT_LE(c.size(), 10u);
  // The newest entries survive.
  upstream.reset_counts();
  ask(c, "h49.test", RrType::a);
  EXPECT_EQ(upstream.query_count(), 0u);
  ask(c, "h0.test", RrType::a);
  EXPECT_EQ(upstream.query_count(), 1u);
}

TEST_F(CachingResolverTest, ZeroSizeCachesNothing) {
  ASSERT_TRUE(upstream.load_zone_text("x.test A 192.0.2.1\n"));
  CacheOptions o;
  o.max_entries = 0;
  CachingResolver c(upstream, clock, o);
  ask(c, "x.test", RrType::a);
  ask(c, "x.test", RrType::a);
  EXPECT_EQ(upstream.query_count(), 2u);
}

TEST(FakeResolverCname, FollowsChainsAndTakesTheWeakestSecurity) {
  asio::io_context io;
  FakeResolver r;
  ASSERT_TRUE(r.load_zone_text("$SECURITY secure\n"
                               "a.test CNAME b.test\n"
                               "b.test CNAME c.test\n"
                               "c.test A 192.0.2.5\n"
                               "$SECURITY insecure\n"
                               "x.test CNAME c.test\n"));
  auto a = r.lookup("a.test", RrType::a);
  EXPECT_EQ(a.status, Status::ok);
  EXPECT_EQ(a.canonical_name, "c.test");
  EXPECT_EQ(a.security, Security::secure);
  auto x = r.lookup("x.test", RrType::a);
  EXPECT_EQ(x.status, Status::ok);
  EXPECT_EQ(x.security, Security::insecure);
  auto cname = r.lookup("a.test", RrType::cname);
  EXPECT_EQ(cname.status, Status::ok);
  EXPECT_TRUE(cname.canonical_name.empty());
  auto nodata = r.lookup("a.test", RrType::txt);
  EXPECT_EQ(nodata.status, Status::nodata);
  EXPECT_EQ(nodata.canonical_name, "c.test");
}

TEST(FakeResolverCname, LoopsEnd) {
  FakeResolver r;
  ASSERT_TRUE(r.load_zone_text("l1.test CNAME l2.test\nl2.test CNAME l1.test\n"));
  auto a = r.lookup("l1.test", RrType::a);
  EXPECT_NE(a.status, Status::ok);
}

}  // namespace
}  // namespace mxsec::dns

// Unit tests for dns/observed_resolver.hpp: every answer reaches the
// observer unchanged, once; behind a cache, only the questions that left it.
#include "dns/observed_resolver.hpp"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <vector>

#include "dns/caching_resolver.hpp"
#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::dns {
namespace {

struct Seen final : QueryObserver {
  void answered(RrType type, const RawAnswer& answer) override { answers.push_back({type, answer}); }
  std::vector<std::pair<RrType, RawAnswer>> answers;
};

bool same(const RawAnswer& a, const RawAnswer& b) {
  return a.qname == b.qname && a.qtype == b.qtype && a.status == b.status && a.security == b.security &&
         a.why_bogus == b.why_bogus && a.ttl == b.ttl && a.rdata == b.rdata;
}

TEST(ObservedResolver, EveryAnswerIsReportedOnceAndPassedOnUnchanged) {
  asio::io_context io;
  FakeResolver upstream;
  ASSERT_TRUE(upstream.load_zone_text("example.test TXT \"v=spf1 -all\"\n"
                                      "broken.test TXT !servfail\n"
                                      "$SECURITY bogus\n"
                                      "bad.test MX 10 mx.bad.test\n"));
  Seen seen;
  ObservedResolver r(upstream, seen);
  const RawAnswer ok = run_sync(io, r.resolve("example.test", RrType::txt));
  const RawAnswer servfail = run_sync(io, r.resolve("broken.test", RrType::txt));
  const RawAnswer bogus = run_sync(io, r.resolve("bad.test", RrType::mx));
  const RawAnswer nx = run_sync(io, r.resolve("nothing.test", RrType::a));
  EXPECT_EQ(ok.status, Status::ok);
  EXPECT_EQ(servfail.status, Status::servfail);
  EXPECT_TRUE(bogus.bogus());
  EXPECT_EQ(nx.status, Status::nxdomain);
  ASSERT_EQ(seen.answers.size(), 4u);
  EXPECT_EQ(seen.answers[0].first, RrType::txt);
  EXPECT_TRUE(same(seen.answers[0].second, ok));
  EXPECT_TRUE(same(seen.answers[1].second, servfail));
  EXPECT_EQ(seen.answers[2].first, RrType::mx);
  EXPECT_TRUE(same(seen.answers[2].second, bogus));
  EXPECT_EQ(seen.answers[3].first, RrType::a);
  EXPECT_TRUE(same(seen.answers[3].second, nx));
  EXPECT_EQ(upstream.query_count(), 4u);
}

TEST(ObservedResolver, BehindACacheSeesOnlyTheQuestionsThatLeaveIt) {
  asio::io_context io;
  FakeResolver upstream;
  ASSERT_TRUE(upstream.load_zone_text("example.test TXT \"v=spf1 -all\"\nbroken.test TXT !servfail\n"));
  FixedClock clock{1'000'000};
  Seen seen;
  ObservedResolver observed(upstream, seen);
  CachingResolver cache(observed, clock);
  for (int i = 0; i < 3; ++i) {
    run_sync(io, cache.resolve("example.test", RrType::txt));
    run_sync(io, cache.resolve("broken.test", RrType::txt));  // failures are not cached
  }
  EXPECT_EQ(cache.hits(), 2u);
  ASSERT_EQ(seen.answers.size(), 4u);
  EXPECT_EQ(seen.answers.size(), upstream.query_count());
}

}  // namespace
}  // namespace mxsec::dns

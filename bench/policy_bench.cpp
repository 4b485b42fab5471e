// Transport-policy decisions per second from a warm cache: the DNS answers
// come from dns::CachingResolver (filled on the first decision) and the
// MTA-STS policy from CachingPolicySource's store, so this measures
// policy::PolicyEngine::decide() with the production cache in front of it.
// Shapes: a DANE domain (2 MX hosts with TLSA), an MTA-STS enforce domain
// (2 MX hosts, TLSA securely absent), an opportunistic one (insecure zone).
// Target (issue 3): >= 100k decisions/s on one core.
#include <benchmark/benchmark.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "dns/caching_resolver.hpp"
#include "dns/fake_resolver.hpp"
#include "policy/engine/engine.hpp"
#include "policy/mtasts/cache.hpp"
#include "policy/mtasts/fetch.hpp"
#include "policy/mtasts/source.hpp"

namespace {

using namespace mxsec;

const char* kZone =
    "$SECURITY secure\n"
    "dane.example MX 10 mx1.dane.example\n"
    "dane.example MX 20 mx2.dane.example\n"
    "mx1.dane.example A 192.0.2.1\n"
    "mx1.dane.example AAAA 2001:db8::1\n"
    "mx2.dane.example A 192.0.2.2\n"
    "_25._tcp.mx1.dane.example TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "_25._tcp.mx1.dane.example TLSA 2 1 1 abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n"
    "_25._tcp.mx2.dane.example TLSA 3 1 1 1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
    "sts.example MX 10 mx1.sts.example\n"
    "sts.example MX 20 mx2.sts.example\n"
    "mx1.sts.example A 192.0.2.3\n"
    "mx2.sts.example A 192.0.2.4\n"
    "_mta-sts.sts.example TXT \"v=STSv1; id=20261128\"\n"
    "$SECURITY insecure\n"
    "plain.example MX 10 mx.plain.example\n"
    "mx.plain.example A 192.0.2.5\n";

// Serves one policy; counts fetches so the benchmark can prove the cache held.
class OnePolicyFetcher final : public policy::mtasts::PolicyFetcher {
 public:
  asio::awaitable<policy::mtasts::FetchResult> fetch(std::string) override {
    ++fetches;
    policy::mtasts::FetchResult r;
    r.body = "version: STSv1\nmode: enforce\nmx: mx1.sts.example\nmx: *.sts.example\nmax_age: 604800\n";
    r.http_status = 200;
    co_return r;
  }
  int fetches = 0;
};

void BM_Decide(benchmark::State& state, const char* domain, policy::Verdict expect) {
  dns::FakeResolver zone;
  zone.set_default_security(dns::Security::secure);
  if (!zone.load_zone_text(kZone)) {
    state.SkipWithError("zone");
    return;
  }
  FixedClock clock(1'800'000'000);
  dns::CachingResolver cache(zone, clock);
  OnePolicyFetcher fetcher;
  policy::mtasts::MemoryPolicyStore store;
  policy::mtasts::CachingPolicySource sts(cache, fetcher, store, clock);
  policy::PolicyEngine engine(cache, &sts, nullptr);
  asio::io_context io;
  bool ok = true;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto warm = co_await engine.decide(domain);  // fills the caches
        if (warm.mx.empty() || warm.mx[0].verdict != expect) ok = false;
        const auto upstream_before = zone.query_count();
        for (auto _ : state) {
          auto d = co_await engine.decide(domain);
          benchmark::DoNotOptimize(d);
        }
        if (zone.query_count() != upstream_before) ok = false;  // everything came from the cache
      },
      asio::detached);
  io.run();
  if (!ok) state.SkipWithError("wrong verdict or cache miss");
  state.SetItemsProcessed(state.iterations());
  state.counters["fetches"] = fetcher.fetches;
}

BENCHMARK_CAPTURE(BM_Decide, dane, "dane.example", policy::Verdict::dane);
BENCHMARK_CAPTURE(BM_Decide, mta_sts, "sts.example", policy::Verdict::mta_sts);
BENCHMARK_CAPTURE(BM_Decide, opportunistic, "plain.example", policy::Verdict::opportunistic);

}  // namespace

BENCHMARK_MAIN();

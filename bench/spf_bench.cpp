// SPF evaluations per second with a warm cache: DNS answers come from memory
// (no I/O) and parsed records from a RecordCache, so this measures
// check_host() itself. bench/spf_pyspf.py runs pyspf on the
// same shapes with a stubbed resolver; bench/run_spf.sh prints the ratio.
// The shapes are in spf_shapes.hpp.
#include <benchmark/benchmark.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include "spf_shapes.hpp"

namespace {

using namespace mxsec;
using namespace mxsec::auth::spf;
using bench::Shape;
using bench::WarmCacheResolver;
using bench::kShapes;

void BM_SpfCheck(benchmark::State& state, const Shape& shape, bool use_cache, bool warm_resolver) {
  dns::FakeResolver fake;
  shape.zone(fake);
  WarmCacheResolver warm(fake);
  dns::Resolver& resolver = warm_resolver ? static_cast<dns::Resolver&>(warm) : fake;
  RecordCache cache;
  Config config;
  if (use_cache) config.cache = &cache;
  FixedClock clock(1700000000);
  config.clock = &clock;
  const IpAddress ip = *IpAddress::parse("192.0.2.55");
  asio::io_context io;
  bool wrong = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (auto _ : state) {
          SpfResult r = co_await check_sender(resolver, ip, "mail.example.com", "user@example.com", "", config);
          wrong |= r.verdict != shape.expect;
          benchmark::DoNotOptimize(r);
        }
      },
      asio::detached);
  io.run();
  if (wrong) state.SkipWithError("unexpected verdict");
  state.SetItemsProcessed(state.iterations());
}

const int kRegistered = [] {
  for (const Shape& s : kShapes) {
    // <shape>/warm: warm DNS cache + parsed-record cache (the headline);
    // <shape>/fake: FakeResolver + record cache; <shape>/parse: FakeResolver,
    // every record parsed again.
    benchmark::RegisterBenchmark((std::string("spf/") + s.name + "/warm").c_str(), BM_SpfCheck, s, true, true);
    benchmark::RegisterBenchmark((std::string("spf/") + s.name + "/fake").c_str(), BM_SpfCheck, s, true, false);
    benchmark::RegisterBenchmark((std::string("spf/") + s.name + "/parse").c_str(), BM_SpfCheck, s, false, false);
  }
  return 0;
}();

}  // namespace

BENCHMARK_MAIN();

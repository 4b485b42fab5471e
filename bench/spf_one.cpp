// bench/spf_one.cpp: N SPF checks of one shape after set-up, for callgrind.
//
// Usage: spf_one SHAPE warm|fake|parse N      (SHAPE as in spf_shapes.hpp)
//
// Set-up (zone, resolver, record cache, io_context and one checked warm-up
// check that fills the warm DNS cache and the record cache) is the same for
// every N, so under `valgrind --tool=callgrind` the instructions of one
// steady-state check are (Ir(N) - Ir(0)) / N; bench/spf_callgrind.sh prints
// that figure. Every check is checked; a wrong verdict exits with status 1.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "spf_shapes.hpp"

int main(int argc, char** argv) {
  using namespace mxsec;
  if (argc != 4) {
    std::fprintf(stderr, "usage: spf_one SHAPE warm|fake|parse N\n");
    return 2;
  }
  const std::string shape_name = argv[1];
  const std::string variant = argv[2];
  const long n = std::strtol(argv[3], nullptr, 10);
  const bench::Shape* shape = nullptr;
  for (const bench::Shape& s : bench::kShapes) {
    if (shape_name == s.name) shape = &s;
  }
  if (shape == nullptr || (variant != "warm" && variant != "fake" && variant != "parse") || n < 0) {
    std::fprintf(stderr, "spf_one: unknown shape or variant, or bad count\n");
    return 2;
  }
  dns::FakeResolver fake;
  shape->zone(fake);
  bench::WarmCacheResolver warm(fake);
  dns::Resolver& resolver = variant == "warm" ? static_cast<dns::Resolver&>(warm) : fake;
  auth::spf::RecordCache cache;
  auth::spf::Config config;
  if (variant != "parse") config.cache = &cache;
  FixedClock clock(1700000000);
  config.clock = &clock;
  const IpAddress ip = *IpAddress::parse("192.0.2.55");
  asio::io_context io;
  long wrong = -1;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        for (long i = -1; i < n; ++i) {  // i == -1: the warm-up check
          auth::spf::SpfResult r =
              co_await auth::spf::check_sender(resolver, ip, "mail.example.com", "user@example.com", "", config);
          if (r.verdict != shape->expect && wrong < 0) wrong = i + 1;
        }
      },
      asio::detached);
  io.run();
  if (wrong >= 0) {
    std::fprintf(stderr, "spf_one: %s/%s check %ld: unexpected verdict\n", shape->name, argv[2], wrong);
    return 1;
  }
  return 0;
}

// `mxsec check` cost on a test-bed domain: wall time and DNS queries per
// check, first cold, then repeated with the DNS answers and the MTA-STS
// policy served from the caches (dns::CachingResolver, CachingPolicySource).
// The validating libunbound resolver forwards to the test bed's Knot server;
// the MX hosts are probed (EHLO, STARTTLS, handshake) every time, as a
// checker must, so a warm check still costs one SMTP/TLS session per host.
//
//   check_bench RESOLVER TRUST_ANCHOR CA_FILE ROUNDS DOMAIN...
// Prints one JSON object per domain and round (bench/run_check.sh).
#include <asio/io_context.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "check/report.hpp"
#include "dns/caching_resolver.hpp"
#include "dns/run_sync.hpp"
#include "dns/unbound_resolver.hpp"
#include "policy/mtasts/cache.hpp"
#include "policy/mtasts/fetch.hpp"
#include "policy/mtasts/source.hpp"

using namespace mxsec;

int main(int argc, char** argv) {
  if (argc < 6) {
    std::fprintf(stderr, "usage: check_bench RESOLVER TRUST_ANCHOR CA_FILE ROUNDS DOMAIN...\n");
    return 2;
  }
  asio::io_context io;
  dns::ResolverConfig config;
  config.forwarders = {argv[1]};
  config.trust_anchor_files = {argv[2]};
  config.private_zones = {"test"};
  auto unbound = dns::UnboundResolver::create(io, config);
  if (!unbound) {
    std::fprintf(stderr, "check_bench: %s\n", unbound.error().message.c_str());
    return 2;
  }
  const int rounds = std::atoi(argv[4]);
  SystemClock clock;
  for (int d = 5; d < argc; ++d) {
    // A fresh cache per domain: round 1 is cold for the domain's names.
    dns::CachingResolver cache(**unbound, clock);
    policy::mtasts::FetcherConfig fc;
    fc.ca_file = argv[3];
    policy::mtasts::CurlPolicyFetcher fetcher(cache, fc);
    policy::mtasts::MemoryPolicyStore store;
    policy::mtasts::CachingPolicySource sts(cache, fetcher, store, clock);
    check::CheckOptions options;
    options.transport.tls.ca_files = {argv[3]};
    options.transport.now = clock.now();
    for (int round = 1; round <= rounds; ++round) {
      const auto misses = cache.misses();
      const auto hits = cache.hits();
      const auto t0 = std::chrono::steady_clock::now();
      auto report = run_sync(io, check::run_check(cache, &sts, argv[d], options));
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      std::printf("{\"domain\":\"%s\",\"round\":%d,\"ms\":%.2f,\"dns_queries\":%zu,\"cache_hits\":%zu,"
                  "\"findings\":%zu,\"grade\":\"%s\"}\n",
                  argv[d], round, ms, cache.misses() - misses, cache.hits() - hits, report.findings.size(),
                  report.grade.c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

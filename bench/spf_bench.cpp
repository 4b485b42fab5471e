// SPF evaluations per second with a warm cache: DNS answers come from memory
// (no I/O) and parsed records from a RecordCache, so this measures
// check_host() itself. bench/spf_pyspf.py runs pyspf on the
// same shapes with a stubbed resolver; bench/run_spf.sh prints the ratio.
// Keep kShapes in sync with SHAPES in spf_pyspf.py.
#include <benchmark/benchmark.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>

#include <unordered_map>

#include "auth/spf/spf.hpp"
#include "dns/fake_resolver.hpp"

namespace {

using namespace mxsec;
using namespace mxsec::auth::spf;

// A resolver with a warm cache and nothing else: one hash lookup and a copy
// of the cached answer per question, as a caching stub resolver would do.
// FakeResolver is built for tests (it normalises names, counts every
// question per name and type in std::maps) and costs more than the SPF
// evaluation itself; both are measured.
class WarmCacheResolver final : public dns::Resolver {
 public:
  explicit WarmCacheResolver(dns::FakeResolver& zone) : zone_(zone) {}
  asio::awaitable<dns::RawAnswer> resolve(std::string name, dns::RrType type) override {
    name += static_cast<char>(type);
    auto it = cache_.find(name);
    if (it == cache_.end()) {
      name.pop_back();
      dns::RawAnswer a = zone_.lookup(name, type);
      name += static_cast<char>(type);
      it = cache_.emplace(std::move(name), std::move(a)).first;
    }
    co_return it->second;
  }

 private:
  dns::FakeResolver& zone_;
  std::unordered_map<std::string, dns::RawAnswer> cache_;
};

struct Shape {
  const char* name;
  Verdict expect;
  void (*zone)(dns::FakeResolver&);
};

const Shape kShapes[] = {
    {"ip4", Verdict::pass,
     [](dns::FakeResolver& d) { d.add_txt("example.com", {"v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.0/24 -all"}); }},
    {"include", Verdict::pass,
     [](dns::FakeResolver& d) {
       d.add_txt("example.com", {"v=spf1 include:_spf.example.net -all"});
       d.add_txt("_spf.example.net", {"v=spf1 ip4:203.0.113.0/24 ip4:192.0.2.0/24 -all"});
     }},
    {"a_mx", Verdict::pass,
     [](dns::FakeResolver& d) {
       d.add_txt("example.com", {"v=spf1 a mx -all"});
       d.add_a("example.com", "198.51.100.1");
       d.add_mx("example.com", 10, "mail.example.com");
       d.add_a("mail.example.com", "192.0.2.55");
     }},
    {"fail_exp", Verdict::fail,
     [](dns::FakeResolver& d) {
       d.add_txt("example.com", {"v=spf1 ip4:198.51.100.0/24 -all exp=exp.example.com"});
       d.add_txt("exp.example.com", {"%{i} is not allowed to send mail for %{d}"});
     }},
    {"nested", Verdict::pass,
     [](dns::FakeResolver& d) {
       d.add_txt("example.com", {"v=spf1 ip4:198.51.100.7 include:_spf.mail.example include:spf.out.example ~all"});
       d.add_txt("_spf.mail.example", {"v=spf1 include:_nb1.mail.example include:_nb2.mail.example ~all"});
       d.add_txt("_nb1.mail.example",
                 {"v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip6:2001:4860:4000::/36 ~all"});
       d.add_txt("_nb2.mail.example", {"v=spf1 ip4:108.177.8.0/21 ip4:172.217.0.0/19 ip6:2404:6800:4000::/36 ~all"});
       d.add_txt("spf.out.example", {"v=spf1 ip4:40.92.0.0/15 ip4:192.0.2.0/24 ip6:2a01:111:f400::/48 -all"});
     }},
};

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

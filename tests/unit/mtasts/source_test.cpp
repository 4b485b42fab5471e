// policy/mtasts/source: CachingPolicySource (RFC 8461 §3, §5) with a
// FakeResolver, a fake fetcher that counts fetches, a pinned clock and an
// injected random source. Asserts the work done (TXT queries, fetches), not
// only the answer.
#include "policy/mtasts/source.hpp"

#include <gtest/gtest.h>

#include <thread>

#include <mutex>

#include <asio/bind_cancellation_slot.hpp>
#include <asio/cancellation_signal.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <exception>
#include <filesystem>
#include <functional>
#include <string>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::policy::mtasts {
namespace {

using tlsrpt::ResultType;
using State = StsLookup::State;

constexpr std::int64_t kT0 = 1'700'000'000;
constexpr const char* kTxtName = "_mta-sts.example.test";

std::string policy_body(const char* mode, std::uint32_t max_age) {
  std::string body = "version: STSv1\nmode: " + std::string(mode) + "\n";
  if (std::string(mode) != "none") body += "mx: mail.example.test\n";
  return body + "max_age: " + std::to_string(max_age) + "\n";
}

class FakeFetcher final : public PolicyFetcher {
 public:
  asio::awaitable<FetchResult> fetch(std::string policy_domain) override {
    ++calls;
    last_domain = policy_domain;
    if (on_fetch) on_fetch();
    if (hang_until_cancelled) {
      // Like a transfer that never ends; per-operation cancellation ends it
      // as CurlPolicyFetcher would.
      asio::steady_timer timer(co_await asio::this_coro::executor, std::chrono::hours(1));
      std::error_code ec;
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      FetchResult r;
      r.failure = FetchFailure::cancelled;
      r.detail = "HTTPS GET https://mta-sts.example.test/.well-known/mta-sts.txt: cancelled";
      co_return r;
    }
    co_return next;
  }
  void serve(std::string body) {
    next = FetchResult{};
    next.body = std::move(body);
    next.http_status = 200;
  }
  void fail(FetchFailure kind, std::string detail) {
    next = FetchResult{};
    next.failure = kind;
    next.detail = std::move(detail);
  }
  FetchResult next;
  int calls = 0;
  std::string last_domain;
  std::function<void()> on_fetch;     // called as each fetch begins
  bool hang_until_cancelled = false;  // then the fetch only ends when cancelled
};

class SourceTest : public ::testing::Test {
 protected:
  SourceTest() : clock_(kT0) { options_.random = [this] { return random_; }; }

  void publish(const std::string& txt) {
    resolver_ = std::make_unique<dns::FakeResolver>();
    resolver_->add_txt(kTxtName, {txt});
    source_.reset();
  }
  void publish_zone(const std::string& zone) {
    resolver_ = std::make_unique<dns::FakeResolver>();
    ASSERT_TRUE(resolver_->load_zone_text(zone));
    source_.reset();
  }
  StsLookup lookup(PolicyStore* store = nullptr) {
    PolicyStore& s = store != nullptr ? *store : *store_;
    source_ = std::make_unique<CachingPolicySource>(*resolver_, fetcher_, s, clock_, options_);
    asio::io_context io;
    return run_sync(io, source_->lookup("Example.Test."));
  }
  // Keeps the same source between lookups (its failure memory matters).
  StsLookup lookup_again() {
    asio::io_context io;
    return run_sync(io, source_->lookup("example.test"));
  }
  // A cached enforce policy with id "1", fetched at kT0, max_age 86400.
  void cache_enforce() {
    publish("v=STSv1; id=1;");
    fetcher_.serve(policy_body("enforce", 86400));
    const StsLookup r = lookup();
    ASSERT_EQ(r.state, State::policy);
    ASSERT_FALSE(r.from_cache);
  }

  std::unique_ptr<dns::FakeResolver> resolver_ = std::make_unique<dns::FakeResolver>();
  FakeFetcher fetcher_;
  std::unique_ptr<MemoryPolicyStore> store_ = std::make_unique<MemoryPolicyStore>();
  FixedClock clock_;
  double random_ = 0.5;
  SourceOptions options_;
  std::unique_ptr<CachingPolicySource> source_;
};

// A store that records the thread each call runs on.
class ThreadRecordingStore final : public PolicyStore {
 public:
  Result<std::optional<CacheEntry>> load(std::string_view d) override {
    record();
    return inner.load(d);
  }
  Result<void> store(const CacheEntry& e) override {
    record();
    return inner.store(e);
  }
  Result<void> erase(std::string_view d) override {
    record();
    return inner.erase(d);
  }
  void record() {
    std::lock_guard lock(mu);
    threads.push_back(std::this_thread::get_id());
  }
  MemoryPolicyStore inner;
  std::mutex mu;
  std::vector<std::thread::id> threads;
};

// The store may block on disk (SQLite): its reads and writes must never run
// on the thread that serves I/O.
TEST_F(SourceTest, StoreRunsOffTheIoThread) {
  publish("v=STSv1; id=1;");
  fetcher_.serve(policy_body("enforce", 86400));
  ThreadRecordingStore store;
  const StsLookup r = lookup(&store);  // runs the io_context on this thread
  EXPECT_EQ(r.state, State::policy);
  ASSERT_EQ(store.threads.size(), 2u) << "one load, one store";
  for (const auto& id : store.threads) EXPECT_NE(id, std::this_thread::get_id());
  ASSERT_TRUE(store.inner.load("example.test"));
  EXPECT_TRUE(*store.inner.load("example.test"));
}

TEST_F(SourceTest, FreshFetch) {
  publish("v=STSv1; id=20240101;");
  fetcher_.serve(policy_body("enforce", 86400));
  const StsLookup r = lookup();
  EXPECT_EQ(r.state, State::policy);
  ASSERT_TRUE(r.policy);
  EXPECT_EQ(r.policy->mode, Mode::enforce);
  EXPECT_EQ(r.policy->mx, std::vector<std::string>{"mail.example.test"});
  EXPECT_EQ(r.id, "20240101");
  EXPECT_FALSE(r.from_cache);
  EXPECT_EQ(r.expires_at, kT0 + 86400);
  EXPECT_EQ(r.record, "v=STSv1; id=20240101;");
  EXPECT_FALSE(r.failure);
  EXPECT_EQ(fetcher_.calls, 1);
  EXPECT_EQ(fetcher_.last_domain, "example.test");
  EXPECT_EQ(resolver_->query_count(kTxtName, dns::RrType::txt), 1u);
  auto cached = store_->load("example.test");
  ASSERT_TRUE(cached && cached->has_value());
  EXPECT_EQ((*cached)->id, "20240101");
  EXPECT_EQ((*cached)->fetched_at, kT0);
  EXPECT_EQ((*cached)->expires_at, kT0 + 86400);
  // random 0.5 -> 17.5 % of max_age before expiry.
  EXPECT_EQ((*cached)->refresh_at, kT0 + 86400 - 15120);
}

TEST_F(SourceTest, CacheHitDoesNotFetch) {
  cache_enforce();
  for (std::int64_t dt : {1, 3600, 60000}) {
    clock_.set(kT0 + dt);
    const StsLookup r = lookup();
    EXPECT_EQ(r.state, State::policy) << dt;
    EXPECT_TRUE(r.from_cache) << dt;
    EXPECT_EQ(r.id, "1");
    EXPECT_EQ(r.expires_at, kT0 + 86400);
    EXPECT_EQ(r.record, "v=STSv1; id=1;");
    EXPECT_FALSE(r.failure);
    EXPECT_EQ(r.detail, "");
  }
  EXPECT_EQ(fetcher_.calls, 1);
  // The TXT record is still checked on every lookup (§3: compare the id).
  EXPECT_EQ(resolver_->query_count(kTxtName, dns::RrType::txt), 4u);  // 1 to fill the cache + 3
}

TEST_F(SourceTest, NewIdRefetches) {
  cache_enforce();
  clock_.set(kT0 + 100);
  publish("v=STSv1; id=2;");
  fetcher_.serve(policy_body("testing", 3600));
  const StsLookup r = lookup();
  EXPECT_EQ(fetcher_.calls, 2);
  EXPECT_FALSE(r.from_cache);
  EXPECT_EQ(r.id, "2");
  ASSERT_TRUE(r.policy);
  EXPECT_EQ(r.policy->mode, Mode::testing);
  EXPECT_EQ(r.expires_at, kT0 + 100 + 3600);
  auto cached = store_->load("example.test");
  ASSERT_TRUE(cached && cached->has_value());
  EXPECT_EQ((*cached)->id, "2");
}

TEST_F(SourceTest, RefreshesAtTheRandomisedTime) {
  struct Case {
    double random;
    std::int64_t before_expiry;  // seconds before expiry, max_age 86400
  };
  const Case cases[] = {{0.0, 8640}, {0.5, 15120}, {0.999, 21587}};
  for (const auto& c : cases) {
    store_ = std::make_unique<MemoryPolicyStore>();
    random_ = c.random;
    fetcher_.calls = 0;
    clock_.set(kT0);
    cache_enforce();
    const std::int64_t refresh_at = kT0 + 86400 - c.before_expiry;
    auto cached = store_->load("example.test");
    ASSERT_TRUE(cached && cached->has_value());
    EXPECT_EQ((*cached)->refresh_at, refresh_at) << c.random;

    clock_.set(refresh_at - 1);
    EXPECT_TRUE(lookup().from_cache) << c.random;
    EXPECT_EQ(fetcher_.calls, 1) << c.random;

    clock_.set(refresh_at);
    fetcher_.serve(policy_body("enforce", 86400));
    const StsLookup r = lookup();
    EXPECT_FALSE(r.from_cache) << c.random;
    EXPECT_EQ(fetcher_.calls, 2) << c.random;
    EXPECT_EQ(r.expires_at, refresh_at + 86400) << c.random;
  }
}

TEST_F(SourceTest, RefreshTimeStaysInTheWindow) {
  CachingPolicySource source(*resolver_, fetcher_, *store_, clock_, options_);
  for (double r : {0.0, 0.01, 0.3, 0.7, 0.9999, 1.0, -5.0, 7.0}) {
    random_ = r;
    for (std::uint32_t max_age : {0u, 1u, 100u, 86400u, 31557600u}) {
      const std::int64_t t = source.refresh_time(kT0, max_age);
      EXPECT_GE(t, kT0 + max_age - static_cast<std::int64_t>(max_age * 0.25 + 0.5)) << r << " " << max_age;
      EXPECT_LE(t, kT0 + max_age - static_cast<std::int64_t>(max_age * 0.10)) << r << " " << max_age;
      EXPECT_LE(t, kT0 + static_cast<std::int64_t>(max_age));
      EXPECT_GE(t, kT0);
    }
  }
}

// RFC 8460 §4.3.2.2: a policy host whose certificate does not validate is
// reported as "sts-webpki-invalid"; other fetch failures (here a TLS
// handshake failure) as "sts-policy-fetch-error".
TEST_F(SourceTest, PolicyHostCertificateFailureIsStsWebpkiInvalid) {
  publish("v=STSv1; id=1;");
  fetcher_.fail(FetchFailure::tls, "TLS handshake failed: no shared cipher");
  StsLookup r = lookup();
  EXPECT_EQ(r.failure, ResultType::sts_policy_fetch_error);
  clock_.set(kT0 + 1000);
  fetcher_.fail(FetchFailure::certificate, "certificate verify failed");
  r = lookup_again();
  EXPECT_EQ(r.failure, ResultType::sts_webpki_invalid);
}

// A fetch cancelled by the caller is not the domain's failure: it is not
// remembered, so the next lookup fetches at once rather than being held off
// for retry_after (§3.3's five minutes are for failures of the domain).
TEST_F(SourceTest, CancelledFetchIsNotRememberedAsAFailure) {
  publish("v=STSv1; id=1;");
  fetcher_.fail(FetchFailure::cancelled, "HTTPS GET ...: cancelled after 0 body bytes");
  StsLookup r = lookup();
  EXPECT_EQ(r.state, State::no_policy);
  EXPECT_EQ(r.failure, ResultType::sts_policy_fetch_error);
  EXPECT_NE(r.detail.find("(cancelled)"), std::string::npos) << r.detail;
  EXPECT_EQ(fetcher_.calls, 1);

  clock_.set(kT0 + 1);  // well within retry_after
  fetcher_.serve(policy_body("enforce", 86400));
  r = lookup_again();
  EXPECT_EQ(fetcher_.calls, 2);
  EXPECT_EQ(r.state, State::policy);
  EXPECT_FALSE(r.from_cache);
  EXPECT_FALSE(r.failure);
  EXPECT_EQ(r.detail.find("not retried"), std::string::npos) << r.detail;
}

// The same when the lookup itself is cancelled (a bound cancellation slot)
// while its fetch runs: it completes with a value, not an exception, and
// nothing is remembered against the domain.
TEST_F(SourceTest, CancelledLookupCompletesAndIsNotRemembered) {
  publish("v=STSv1; id=1;");
  source_ = std::make_unique<CachingPolicySource>(*resolver_, fetcher_, *store_, clock_, options_);
  {
    asio::io_context io;
    asio::cancellation_signal signal;
    std::optional<StsLookup> result;
    std::exception_ptr error;
    fetcher_.hang_until_cancelled = true;
    // Emitted once the fetch is waiting: the post runs after it suspends.
    fetcher_.on_fetch = [&io, &signal] {
      asio::post(io, [&signal] { signal.emit(asio::cancellation_type::terminal); });
    };
    asio::co_spawn(io, source_->lookup("example.test"),
                   asio::bind_cancellation_slot(signal.slot(), [&](std::exception_ptr e, StsLookup r) {
                     error = e;
                     if (!e) result = std::move(r);
                   }));
    io.run();
    ASSERT_FALSE(error);
    ASSERT_TRUE(result);
    EXPECT_EQ(result->state, State::no_policy);
    EXPECT_EQ(result->failure, ResultType::sts_policy_fetch_error);
    EXPECT_NE(result->detail.find("(cancelled)"), std::string::npos) << result->detail;
    EXPECT_EQ(fetcher_.calls, 1);
  }
  fetcher_.hang_until_cancelled = false;
  fetcher_.on_fetch = nullptr;
  fetcher_.serve(policy_body("enforce", 86400));
  const StsLookup r = lookup_again();
  EXPECT_EQ(fetcher_.calls, 2);
  EXPECT_EQ(r.state, State::policy);
  EXPECT_FALSE(r.failure);
}

TEST_F(SourceTest, FailedRefreshKeepsTheCachedPolicyAndReports) {
  cache_enforce();
  clock_.set(kT0 + 80000);  // past refresh_at, before expiry
  fetcher_.fail(FetchFailure::certificate, "HTTPS GET ...: certificate verify failed: unable to get local issuer certificate");
  StsLookup r = lookup();
  EXPECT_EQ(r.state, State::policy);
  EXPECT_TRUE(r.from_cache);
  ASSERT_TRUE(r.policy);
  EXPECT_EQ(r.policy->mode, Mode::enforce);
  EXPECT_EQ(r.failure, ResultType::sts_webpki_invalid);
  EXPECT_NE(r.detail.find("certificate verify failed"), std::string::npos) << r.detail;
  EXPECT_NE(r.detail.find("cached policy"), std::string::npos) << r.detail;
  EXPECT_EQ(fetcher_.calls, 2);

  // §3.3: no new attempt for the same id within five minutes.
  clock_.set(kT0 + 80000 + 299);
  r = lookup_again();
  EXPECT_EQ(fetcher_.calls, 2);
  EXPECT_TRUE(r.from_cache);
  EXPECT_EQ(r.failure, ResultType::sts_webpki_invalid);
  EXPECT_NE(r.detail.find("not retried before"), std::string::npos) << r.detail;

  clock_.set(kT0 + 80000 + 300);
  fetcher_.serve(policy_body("enforce", 86400));
  r = lookup_again();
  EXPECT_EQ(fetcher_.calls, 3);
  EXPECT_FALSE(r.from_cache);
  EXPECT_FALSE(r.failure);
}

TEST_F(SourceTest, ExpiredCacheIsNeverUsed) {
  cache_enforce();
  clock_.set(kT0 + 86400);  // expires_at: no longer valid
  fetcher_.fail(FetchFailure::connect, "connection refused");
  StsLookup r = lookup();
  EXPECT_EQ(r.state, State::no_policy);
  EXPECT_FALSE(r.policy);
  EXPECT_EQ(r.failure, ResultType::sts_policy_fetch_error);
  EXPECT_NE(r.detail.find("connection refused"), std::string::npos);
  EXPECT_EQ(fetcher_.calls, 2);

  // Nor when DNS fails.
  publish_zone("_mta-sts.example.test TXT !servfail\n");
  r = lookup();
  EXPECT_EQ(r.state, State::no_policy);
  EXPECT_EQ(r.failure, ResultType::sts_policy_fetch_error);
}

TEST_F(SourceTest, ModeNoneReplacesAtOnce) {
  cache_enforce();
  clock_.set(kT0 + 10);
  publish("v=STSv1; id=2;");
  fetcher_.serve(policy_body("none", 86400));
  StsLookup r = lookup();
  EXPECT_EQ(r.state, State::policy);
  ASSERT_TRUE(r.policy);
  EXPECT_EQ(r.policy->mode, Mode::none);
  EXPECT_FALSE(r.from_cache);
  auto cached = store_->load("example.test");
  ASSERT_TRUE(cached && cached->has_value());
  EXPECT_EQ((*cached)->policy.mode, Mode::none);
  // And it is what the cache serves from then on.
  clock_.set(kT0 + 20);
  r = lookup();
  EXPECT_TRUE(r.from_cache);
  EXPECT_EQ(r.policy->mode, Mode::none);
  EXPECT_EQ(fetcher_.calls, 2);
}

struct DnsCase {
  const char* name;
  const char* zone;
  std::optional<ResultType> want_failure;
  bool fetches;
};

// What the _mta-sts lookup can find, with and without a cached policy.
const DnsCase kDnsCases[] = {
    {"servfail", "_mta-sts.example.test TXT !servfail\n", ResultType::sts_policy_fetch_error, false},
    {"timeout", "_mta-sts.example.test TXT !timeout\n", ResultType::sts_policy_fetch_error, false},
    {"bogus", "_mta-sts.example.test TXT !bogus\n", ResultType::sts_policy_fetch_error, false},
    {"bogus data", "$SECURITY bogus\n_mta-sts.example.test TXT \"v=STSv1; id=9;\"\n",
     ResultType::sts_policy_fetch_error, false},
    {"two records", "_mta-sts.example.test TXT \"v=STSv1; id=9;\"\n_mta-sts.example.test TXT \"v=STSv1; id=8;\"\n",
     ResultType::sts_policy_invalid, false},
    {"invalid record", "_mta-sts.example.test TXT \"v=STSv1; id=no-dashes;\"\n", ResultType::sts_policy_invalid, false},
    {"record without id", "_mta-sts.example.test TXT \"v=STSv1;\"\n", ResultType::sts_policy_invalid, false},
};

TEST_F(SourceTest, DnsProblemsWithoutCacheMeanNoPolicy) {
  for (const auto& c : kDnsCases) {
    publish_zone(c.zone);
    const StsLookup r = lookup();
    EXPECT_EQ(r.state, State::no_policy) << c.name;
    EXPECT_FALSE(r.policy) << c.name;
    EXPECT_EQ(r.failure, c.want_failure) << c.name;
    EXPECT_FALSE(r.detail.empty()) << c.name;
  }
  EXPECT_EQ(fetcher_.calls, 0);
}

TEST_F(SourceTest, DnsProblemsWithCacheKeepTheCachedPolicy) {
  for (const auto& c : kDnsCases) {
    store_ = std::make_unique<MemoryPolicyStore>();
    fetcher_.calls = 0;
    clock_.set(kT0);
    cache_enforce();
    clock_.set(kT0 + 1000);
    publish_zone(c.zone);
    const StsLookup r = lookup();
    EXPECT_EQ(r.state, State::policy) << c.name;
    EXPECT_TRUE(r.from_cache) << c.name;
    EXPECT_EQ(r.id, "1") << c.name;
    ASSERT_TRUE(r.policy) << c.name;
    EXPECT_EQ(r.policy->mode, Mode::enforce) << c.name;
    EXPECT_EQ(r.failure, c.want_failure) << c.name;
    EXPECT_NE(r.detail.find("cached policy"), std::string::npos) << c.name << ": " << r.detail;
    EXPECT_EQ(fetcher_.calls, 1) << c.name;
  }
}

TEST_F(SourceTest, MultipleRecordsAreReportedInRecord) {
  publish_zone("_mta-sts.example.test TXT \"v=STSv1; id=9;\"\n_mta-sts.example.test TXT \"v=STSv1; id=8;\"\n");
  const StsLookup r = lookup();
  EXPECT_NE(r.record.find("id=9"), std::string::npos) << r.record;
  EXPECT_NE(r.record.find("id=8"), std::string::npos) << r.record;
}

TEST_F(SourceTest, NoRecordNoCacheIsSilentNoPolicy) {
  for (const char* zone : {"other.example.test TXT \"x\"\n", "_mta-sts.example.test A 192.0.2.1\n",
                           "_mta-sts.example.test TXT \"v=spf1 -all\"\n"}) {
    publish_zone(zone);
    const StsLookup r = lookup();
    EXPECT_EQ(r.state, State::no_policy) << zone;
    EXPECT_FALSE(r.failure) << zone;
    EXPECT_EQ(r.detail, "") << zone;
  }
  EXPECT_EQ(fetcher_.calls, 0);
}

TEST_F(SourceTest, VanishedRecordKeepsTheCachedPolicy) {
  cache_enforce();
  clock_.set(kT0 + 500);
  publish_zone("other.example.test TXT \"x\"\n");  // _mta-sts: NXDOMAIN
  const StsLookup r = lookup();
  EXPECT_EQ(r.state, State::policy);
  EXPECT_TRUE(r.from_cache);
  EXPECT_EQ(r.failure, ResultType::sts_policy_fetch_error);
  EXPECT_NE(r.detail.find("no v=STSv1 record"), std::string::npos) << r.detail;
  EXPECT_EQ(fetcher_.calls, 1);
}

TEST_F(SourceTest, FetchedInvalidPolicy) {
  const char* bodies[] = {
      "version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 86400\n",
      "version: STSv1\nmode: enforce\nmax_age: 86400\n",  // enforce without mx
      "<html>hello</html>",
      "",
  };
  for (const char* body : bodies) {
    store_ = std::make_unique<MemoryPolicyStore>();
    publish("v=STSv1; id=1;");
    fetcher_.serve(body);
    StsLookup r = lookup();
    EXPECT_EQ(r.state, State::no_policy) << body;
    EXPECT_EQ(r.failure, ResultType::sts_policy_invalid) << body;
    EXPECT_NE(r.detail.find("fetched policy invalid"), std::string::npos) << r.detail;
    auto cached = store_->load("example.test");
    ASSERT_TRUE(cached);
    EXPECT_FALSE(cached->has_value()) << body;
  }
  // With a cached policy, the invalid new one does not replace it.
  store_ = std::make_unique<MemoryPolicyStore>();
  cache_enforce();
  clock_.set(kT0 + 50);
  publish("v=STSv1; id=2;");
  fetcher_.serve("version: STSv1\nmode: bogus\n");
  const StsLookup r = lookup();
  EXPECT_EQ(r.state, State::policy);
  EXPECT_TRUE(r.from_cache);
  EXPECT_EQ(r.id, "1");
  EXPECT_EQ(r.failure, ResultType::sts_policy_invalid);
}

TEST_F(SourceTest, NoCacheAndFailedFetchIsNoPolicy) {
  publish("v=STSv1; id=1;");
  fetcher_.fail(FetchFailure::redirect, "HTTP 301 redirect to https://x/ not followed (RFC 8461 §3.3)");
  const StsLookup r = lookup();
  EXPECT_EQ(r.state, State::no_policy);
  EXPECT_EQ(r.failure, ResultType::sts_policy_fetch_error);
  EXPECT_NE(r.detail.find("redirect"), std::string::npos);
  EXPECT_EQ(r.record, "v=STSv1; id=1;");
  EXPECT_EQ(fetcher_.calls, 1);
}

TEST_F(SourceTest, MaxAgeZeroAppliesOnceAndIsNotReused) {
  publish("v=STSv1; id=1;");
  fetcher_.serve(policy_body("enforce", 0));
  StsLookup r = lookup();
  EXPECT_EQ(r.state, State::policy);
  EXPECT_FALSE(r.from_cache);
  r = lookup();
  EXPECT_FALSE(r.from_cache);
  EXPECT_EQ(fetcher_.calls, 2);
}

TEST_F(SourceTest, CacheSurvivesARestart) {
  char tmpl[] = "/tmp/mxsec-mtasts-source-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  const std::string path = dir + "/sts.db";
  publish("v=STSv1; id=1;");
  fetcher_.serve(policy_body("enforce", 86400));
  {
    auto store = SqlitePolicyStore::open(path);
    ASSERT_TRUE(store) << store.error().message;
    const StsLookup r = lookup(store->get());
    EXPECT_FALSE(r.from_cache);
    source_.reset();
  }
  clock_.set(kT0 + 3600);
  {
    auto store = SqlitePolicyStore::open(path);
    ASSERT_TRUE(store) << store.error().message;
    const StsLookup r = lookup(store->get());
    EXPECT_TRUE(r.from_cache);
    EXPECT_EQ(r.state, State::policy);
    ASSERT_TRUE(r.policy);
    EXPECT_EQ(r.policy->mx, std::vector<std::string>{"mail.example.test"});
    EXPECT_EQ(r.expires_at, kT0 + 86400);
    source_.reset();
  }
  EXPECT_EQ(fetcher_.calls, 1);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

// A store that cannot be read still lets the lookup fetch and apply a policy.
class BrokenStore final : public PolicyStore {
 public:
  Result<std::optional<CacheEntry>> load(std::string_view) override { return make_error(Errc::io, "disk on fire"); }
  Result<void> store(const CacheEntry&) override { return make_error(Errc::io, "disk on fire"); }
  Result<void> erase(std::string_view) override { return make_error(Errc::io, "disk on fire"); }
};

TEST_F(SourceTest, BrokenStoreStillFetches) {
  BrokenStore broken;
  publish("v=STSv1; id=1;");
  fetcher_.serve(policy_body("enforce", 86400));
  const StsLookup r = lookup(&broken);
  EXPECT_EQ(r.state, State::policy);
  EXPECT_FALSE(r.from_cache);
  EXPECT_NE(r.detail.find("disk on fire"), std::string::npos);
}

}  // namespace
}  // namespace mxsec::policy::mtasts

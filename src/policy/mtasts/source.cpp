#include "policy/mtasts/source.hpp"

#include <asio/use_awaitable.hpp>

#include <asio/co_spawn.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <utility>

#include "core/strings.hpp"
#include "policy/mtasts/record.hpp"

namespace mxsec::policy::mtasts {
namespace {

using tlsrpt::ResultType;

std::function<double()> default_random() {
  struct Rng {
    std::mutex mu;
    std::mt19937_64 engine{std::random_device{}()};
  };
  auto rng = std::make_shared<Rng>();
  return [rng] {
    std::lock_guard lock(rng->mu);
    return std::uniform_real_distribution<double>(0.0, 1.0)(rng->engine);
  };
}

StsLookup from_entry(const CacheEntry& e, bool from_cache) {
  StsLookup r;
  r.state = StsLookup::State::policy;
  r.policy = e.policy;
  r.id = e.id;
  r.from_cache = from_cache;
  r.expires_at = e.expires_at;
  return r;
}


// The _mta-sts records as text, for StsLookup::record: the one beginning with
// v=STSv1 if there is one, else all of them joined with " | ".
std::string record_text(const std::vector<std::string>& txts) {
  std::string sts;
  int count = 0;
  for (const auto& t : txts) {
    if (t.rfind("v=STSv1", 0) == 0) {
      if (count++ > 0) sts += " | ";
      sts += t;
    }
  }
  if (count > 0) return sts;
  std::string all;
  for (const auto& t : txts) {
    if (!all.empty()) all += " | ";
    all += t;
  }
  return all;
}

}  // namespace

CachingPolicySource::CachingPolicySource(dns::Resolver& resolver, PolicyFetcher& fetcher, PolicyStore& store,
                                         const Clock& clock, SourceOptions options)
    : resolver_(resolver), fetcher_(fetcher), store_(store), clock_(clock), options_(std::move(options)) {
  if (!options_.random) options_.random = default_random();
  options_.refresh_window_min = std::clamp(options_.refresh_window_min, 0.0, 1.0);
  options_.refresh_window_max = std::clamp(options_.refresh_window_max, options_.refresh_window_min, 1.0);
}

std::int64_t CachingPolicySource::refresh_time(std::int64_t fetched_at, std::uint32_t max_age) const {
  const double r = std::clamp(options_.random(), 0.0, 1.0);
  const double fraction =
      options_.refresh_window_min + (options_.refresh_window_max - options_.refresh_window_min) * r;
  const auto before_expiry = static_cast<std::int64_t>(std::llround(static_cast<double>(max_age) * fraction));
  return fetched_at + static_cast<std::int64_t>(max_age) - std::clamp<std::int64_t>(before_expiry, 0, max_age);
}

std::optional<CachingPolicySource::FailedFetch> CachingPolicySource::recent_failure(const std::string& domain,
                                                                                   const std::string& id,
                                                                                   std::int64_t now) {
  std::lock_guard lock(mu_);
  auto it = failures_.find(domain);
  if (it == failures_.end() || it->second.id != id) return std::nullopt;
  if (now - it->second.at >= options_.retry_after || now < it->second.at) {
    failures_.erase(it);
    return std::nullopt;
  }
  return it->second;
}

void CachingPolicySource::remember_failure(const std::string& domain, FailedFetch f) {
  std::lock_guard lock(mu_);
  // Bounded: past the cap the memory is dropped wholesale, which only means
  // some domains may be retried sooner than retry_after.
  if (failures_.size() >= options_.max_failure_memory) failures_.clear();
  failures_[domain] = std::move(f);
}

void CachingPolicySource::forget_failure(const std::string& domain) {
  std::lock_guard lock(mu_);
  failures_.erase(domain);
}

CachingPolicySource::~CachingPolicySource() { store_pool_.join(); }

template <class F>
asio::awaitable<std::invoke_result_t<F&>> CachingPolicySource::off_loop(F work) {
  // The store may block (SQLite reads, writes and fsyncs): it runs on
  // store_pool_, and co_spawn resumes this coroutine on its own executor.
  // (std::optional because co_spawn's completion needs a default value.)
  using R = std::invoke_result_t<F&>;
  auto task = [](F fn) -> asio::awaitable<std::optional<R>> { co_return fn(); };
  std::optional<R> done = co_await asio::co_spawn(store_pool_, task(std::move(work)), asio::use_awaitable);
  co_return std::move(*done);
}

asio::awaitable<StsLookup> CachingPolicySource::lookup(std::string policy_domain) {
  const std::string domain = normalize_domain(policy_domain);
  const std::int64_t now = clock_.now();

  // The cache first: whatever DNS and HTTPS say below, an unexpired entry is
  // the fallback §3.3 requires.
  std::optional<CacheEntry> cached;
  std::string cache_problem;
  if (auto loaded = co_await off_loop([this, &domain] { return store_.load(domain); }); !loaded) {
    cache_problem = "cache unreadable (" + loaded.error().message + ")";
  } else if (*loaded && (*loaded)->expires_at > now) {
    cached = std::move(**loaded);
  }

  // Applies the cached policy if there is one (with `failure` reported), else
  // "no policy" (§3.3: "senders MUST continue with delivery as though the
  // domain has not implemented MTA-STS").
  auto fall_back = [&](std::optional<ResultType> failure, std::string detail, std::string record) {
    StsLookup r;
    if (cached) {
      r = from_entry(*cached, true);
      detail += "; applying the cached policy (id " + cached->id + ") until it expires (RFC 8461 §3.3)";
    } else if (!cache_problem.empty()) {
      detail += "; " + cache_problem;
    }
    r.failure = failure;
    r.detail = std::move(detail);
    r.record = std::move(record);
    return r;
  };

  const std::string qname = "_mta-sts." + domain;
  const dns::TxtAnswer txt = co_await resolver_.txt(qname);
  if (txt.failed()) {
    co_return fall_back(ResultType::sts_policy_fetch_error, dns::describe_failure("TXT " + qname, txt), "");
  }
  std::vector<std::string> txts;
  for (const auto& rec : txt.records) txts.push_back(rec.joined());
  const std::string record = escape_for_log(record_text(txts), limits::kStsRecordBytes);

  // §3.1: "If the number of resulting records is not one, or if the
  // resulting record is syntactically invalid, senders MUST assume the
  // recipient domain does not have an available MTA-STS Policy".
  auto selected = select_sts_record(txts);
  if (!selected) {
    co_return fall_back(ResultType::sts_policy_invalid,
                        "_mta-sts record unusable: " + selected.error().message + " (RFC 8461 §3.1)", record);
  }
  if (!*selected) {
    if (!cached) {
      StsLookup none;
      none.detail = cache_problem;
      co_return none;  // the common case: the domain has no MTA-STS
    }
    // The record vanished while a policy is cached: an attacker who can
    // suppress DNS answers must not be able to strip the policy (§10.2).
    co_return fall_back(ResultType::sts_policy_fetch_error, "no v=STSv1 record at " + qname, record);
  }
  const std::string id = (*selected)->id;

  if (cached && cached->id == id && now < cached->refresh_at) {
    StsLookup r = from_entry(*cached, true);
    r.record = record;
    co_return r;
  }

  // A new id, no usable entry, or time to refresh: fetch.
  if (auto earlier = recent_failure(domain, id, now)) {
    co_return fall_back(earlier->failure,
                        earlier->detail + " (at " + std::to_string(earlier->at) + "; not retried before " +
                            std::to_string(earlier->at + options_.retry_after) + ", RFC 8461 §3.3)",
                        record);
  }
  const FetchResult fetched = co_await fetcher_.fetch(domain);
  if (!fetched.ok()) {
    std::string detail = "policy fetch failed (" + std::string(to_string(*fetched.failure)) + "): " + fetched.detail;
    // RFC 8460 §4.3.2.2: a policy host whose certificate does not validate
    // is "sts-webpki-invalid"; every other failure to retrieve the policy is
    // "sts-policy-fetch-error".
    const ResultType type = *fetched.failure == FetchFailure::certificate ? ResultType::sts_webpki_invalid
                                                                          : ResultType::sts_policy_fetch_error;
    // A fetch our caller cancelled says nothing about the domain: it is not
    // remembered, so the next lookup fetches again at once instead of being
    // held off for retry_after.
    if (*fetched.failure != FetchFailure::cancelled) remember_failure(domain, FailedFetch{id, now, type, detail});
    co_return fall_back(type, std::move(detail), record);
  }
  auto parsed = parse_policy(fetched.body);
  if (!parsed) {
    std::string detail = "fetched policy invalid: " + parsed.error().message + " (RFC 8461 §3.2)";
    remember_failure(domain, FailedFetch{id, now, ResultType::sts_policy_invalid, detail});
    co_return fall_back(ResultType::sts_policy_invalid, std::move(detail), record);
  }
  forget_failure(domain);

  CacheEntry entry;
  entry.policy_domain = domain;
  entry.id = id;
  entry.policy = std::move(*parsed);
  entry.fetched_at = now;
  entry.expires_at = now + static_cast<std::int64_t>(entry.policy.max_age);
  entry.refresh_at = refresh_time(now, entry.policy.max_age);
  StsLookup r = from_entry(entry, false);
  r.record = record;
  // A fetched policy replaces the cached one at once, mode none included
  // (§8.3). If it cannot be stored it still applies to this delivery.
  if (auto stored = co_await off_loop([this, &entry] { return store_.store(entry); }); !stored) r.detail = "policy not cached: " + stored.error().message;
  co_return r;
}

}  // namespace mxsec::policy::mtasts

// policy/mtasts/source.hpp: where the decision engine gets a domain's
// MTA-STS policy (RFC 8461 §3, §5).
//
// Contract
// - PolicySource::lookup() always completes with an StsLookup; DNS, HTTPS
//   and cache problems are values in it, never exceptions.
// - state == policy means `policy` applies to this delivery, whether fetched
//   just now or taken from the cache; state == no_policy means "proceed as
//   though the domain has not implemented MTA-STS" (§5: no record and nothing
//   cached, or a record but no policy could be fetched and no unexpired
//   policy is cached).
// - `failure` is set whenever something went wrong on the way, also when a
//   cached policy still applies (the refresh failed): the TLS-RPT result type
//   (sts-policy-fetch-error or sts-policy-invalid) and a human `detail`.
// - A fetched policy with mode none is returned as a policy with Mode::none
//   (and replaces any cached one, §8.3); the engine treats it as no policy.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/thread_pool.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <type_traits>

#include "core/clock.hpp"
#include "dns/resolver.hpp"
#include "policy/mtasts/cache.hpp"
#include "policy/mtasts/fetch.hpp"
#include "policy/mtasts/policy.hpp"
#include "policy/tlsrpt/result.hpp"

namespace mxsec::policy::mtasts {

struct StsLookup {
  enum class State { no_policy, policy };
  State state = State::no_policy;
  std::optional<Policy> policy;  // set iff state == policy
  std::string id;                // id of the _mta-sts record the policy came with
  bool from_cache = false;       // the policy was not fetched during this lookup
  std::int64_t expires_at = 0;   // Unix time the policy stops applying
  // The _mta-sts TXT record as found ("" if none), for reports and `check`.
  std::string record;
  std::optional<tlsrpt::ResultType> failure;
  std::string detail;
};

class PolicySource {
 public:
  virtual ~PolicySource() = default;
  virtual asio::awaitable<StsLookup> lookup(std::string policy_domain) = 0;
};

// --- CachingPolicySource ------------------------------------------------------
//
// The production PolicySource: the _mta-sts TXT record through the validating
// resolver, the policy file through a PolicyFetcher, remembered in a
// PolicyStore.
// - A cached policy is used without fetching while it is unexpired, its id
//   equals the live record's id, and its refresh time has not come (§3: "the
//   sender need only check the TXT record's version "id" against the cached
//   value"). A new id, or a lookup after refresh_at, fetches again.
// - refresh_at = expires_at - max_age * f, with f drawn uniformly from
//   [refresh_window_min, refresh_window_max] through SourceOptions::random, so
//   many senders do not refresh one domain at the same instant (§3.3: "MTAs
//   SHOULD proactively refresh cached policies before they expire").
// - §3.3: "if no "live" policy can be discovered via DNS or fetched via HTTPS,
//   but a valid (non-expired) policy exists in the sender's cache, the sender
//   MUST apply that cached policy." This covers a failed or bogus TXT lookup,
//   a vanished, invalid or duplicated record, a failed fetch and an invalid
//   fetched policy: the lookup returns the cached policy (from_cache) and
//   still reports `failure` and `detail`. An expired entry is never applied.
// - A fetched policy, including one with mode none, replaces the cached one
//   at once (§8.3).
// - §3.3: "In the case that the HTTPS GET fails, implementers SHOULD limit
//   further attempts to a period of five minutes or longer per version ID":
//   after a failed fetch for (domain, id), no new fetch for the same pair is
//   made for SourceOptions::retry_after; the lookup reports the earlier
//   failure instead. This memory is per process and bounded. A fetch that
//   was cancelled (FetchFailure::cancelled: the lookup itself was cancelled)
//   is not the domain's failure and is not remembered; that lookup still
//   falls back as for any failed fetch.
// - The PolicyStore (an SQLite file may block on disk) is read and written
//   on a private worker thread, never on the thread that serves I/O; the
//   lookup resumes on its own executor.
struct SourceOptions {
  // Returns a number in [0, 1). Default: a std::mt19937_64 seeded from
  // std::random_device. Tests inject a fixed value.
  std::function<double()> random;
  double refresh_window_min = 0.10;  // fractions of max_age before expiry
  double refresh_window_max = 0.25;
  std::int64_t retry_after = 300;    // seconds between fetches of one (domain, id) after a failure
  std::size_t max_failure_memory = 10000;
};

class CachingPolicySource final : public PolicySource {
 public:
  CachingPolicySource(dns::Resolver& resolver, PolicyFetcher& fetcher, PolicyStore& store, const Clock& clock,
                      SourceOptions options = {});

  ~CachingPolicySource() override;
  CachingPolicySource(const CachingPolicySource&) = delete;
  CachingPolicySource& operator=(const CachingPolicySource&) = delete;

  asio::awaitable<StsLookup> lookup(std::string policy_domain) override;

  // The refresh instant for a policy fetched at `fetched_at` (exposed for tests).
  std::int64_t refresh_time(std::int64_t fetched_at, std::uint32_t max_age) const;

 private:
  struct FailedFetch {
    std::string id;
    std::int64_t at = 0;
    tlsrpt::ResultType failure = tlsrpt::ResultType::sts_policy_fetch_error;
    std::string detail;
  };
  std::optional<FailedFetch> recent_failure(const std::string& domain, const std::string& id, std::int64_t now);
  void remember_failure(const std::string& domain, FailedFetch f);
  void forget_failure(const std::string& domain);

  dns::Resolver& resolver_;
  PolicyFetcher& fetcher_;
  PolicyStore& store_;
  const Clock& clock_;
  SourceOptions options_;
  std::mutex mu_;  // guards failures_ (lookups may run on several threads)
  std::map<std::string, FailedFetch> failures_;
  // Store reads and writes run here, never on the thread serving I/O.
  asio::thread_pool store_pool_{1};
  template <class F>
  asio::awaitable<std::invoke_result_t<F&>> off_loop(F work);
};

}  // namespace mxsec::policy::mtasts

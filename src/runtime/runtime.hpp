// runtime/runtime.hpp: the objects every mxsec job is built on, made once
// from RuntimeOptions.
//
// Contract
// - Runtime::create() validates the options (options.hpp) and builds, in
//   this order: the validating libunbound resolver on `io` (with a TTL cache
//   in front unless disabled), the MTA-STS policy fetcher (libcurl on its own
//   small worker pool), the policy store (SQLite file or memory), the MTA-STS
//   source, the local TLS policy map (local_policy_file joined with
//   OutboundOptions::domain_policies; a domain in both is an error), and the
//   per-MX policy engine with the [outbound] dane and default_tls switches. Any
//   failure is returned with the option at fault named; nothing half-built
//   escapes.
// - Accessors return references owned by the Runtime; they stay valid until
//   the Runtime is destroyed, which must happen after every coroutine that
//   uses them has finished (stop() first).
// - One Runtime serves one io_context thread (the resolver and its cache are
//   not thread-safe). A daemon with several event loops makes one Runtime
//   per loop from the same options; the MTA-STS store may be shared through
//   its file.
// - stop() cancels every DNS question in flight (each completes at once as
//   cancelled) so that a shutdown does not wait out DNS timeouts.
// - The clock is injected so tests can pin time; by default the system clock.
// - An optional dns::QueryObserver sees every answer of the validating
//   resolver, i.e. every question the cache did not answer
//   (dns/observed_resolver.hpp); the daemon counts DNS queries with it.
#pragma once

#include <asio/io_context.hpp>
#include <memory>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "dns/caching_resolver.hpp"
#include "dns/observed_resolver.hpp"
#include "dns/unbound_resolver.hpp"
#include "policy/engine/engine.hpp"
#include "policy/engine/local_policy.hpp"
#include "policy/mtasts/cache.hpp"
#include "policy/mtasts/fetch.hpp"
#include "policy/mtasts/source.hpp"
#include "runtime/options.hpp"
#include "tls/context.hpp"

namespace mxsec::runtime {

class Runtime {
 public:
  // `clock` must outlive the Runtime; null means the process's system clock.
  // `dns_observer`, when set, must outlive it too.
  static Result<std::unique_ptr<Runtime>> create(asio::io_context& io, RuntimeOptions options,
                                                 const OptionNames& names = {}, const Clock* clock = nullptr,
                                                 dns::QueryObserver* dns_observer = nullptr);
  ~Runtime();
  Runtime(const Runtime&) = delete;
  Runtime& operator=(const Runtime&) = delete;

  const RuntimeOptions& options() const { return options_; }
  asio::io_context& io() { return io_; }
  const Clock& clock() const { return *clock_; }

  // The validating resolver, through the cache when one is configured.
  dns::Resolver& resolver();
  // The uncached validating resolver (the self-test must see live answers).
  dns::UnboundResolver& validating_resolver() { return *unbound_; }
  // Null when MTA-STS is disabled.
  policy::mtasts::PolicySource* mta_sts() { return sts_source_.get(); }
  const policy::LocalPolicyMap* local_policy() const { return local_.empty() ? nullptr : &local_; }
  policy::PolicyEngine& policy_engine() { return *engine_; }
  // Trust settings for SMTP client TLS contexts (system store plus ca_file).
  tls::ClientContextConfig tls_client_config() const;

  // Cancels every DNS question in flight.
  void stop();

 private:
  Runtime(asio::io_context& io, RuntimeOptions options, const Clock* clock);
  Result<void> build(const OptionNames& names, dns::QueryObserver* dns_observer);

  asio::io_context& io_;
  RuntimeOptions options_;
  SystemClock system_clock_;
  const Clock* clock_;
  std::unique_ptr<dns::UnboundResolver> unbound_;
  std::unique_ptr<dns::ObservedResolver> observed_;  // null without an observer
  std::unique_ptr<dns::CachingResolver> cache_;
  std::unique_ptr<policy::mtasts::PolicyFetcher> fetcher_;
  std::unique_ptr<policy::mtasts::PolicyStore> store_;
  std::unique_ptr<policy::mtasts::CachingPolicySource> sts_source_;
  policy::LocalPolicyMap local_;
  std::unique_ptr<policy::PolicyEngine> engine_;
};

}  // namespace mxsec::runtime

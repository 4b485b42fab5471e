// app/cli/transport.cpp: see transport.hpp.
#include "app/cli/transport.hpp"

#include <chrono>

namespace mxsec::cli {

Result<std::unique_ptr<StsSetup>> make_sts_source(Context& ctx, const std::string& cache_path) {
  auto resolver = ctx.resolver();
  if (!resolver) return resolver.error();
  if (ctx.https_timeout_seconds <= 0 || ctx.https_timeout_seconds > 600)
    return make_error(Errc::invalid_argument, "--https-timeout must be between 0 and 600 seconds");
  auto setup = std::make_unique<StsSetup>();
  policy::mtasts::FetcherConfig config;
  config.ca_file = ctx.ca_file;
  config.timeout = std::chrono::milliseconds(static_cast<long>(ctx.https_timeout_seconds * 1000));
  setup->fetcher = std::make_unique<policy::mtasts::CurlPolicyFetcher>(**resolver, config);
  if (cache_path.empty()) {
    setup->store = std::make_unique<policy::mtasts::MemoryPolicyStore>();
  } else {
    auto store = policy::mtasts::SqlitePolicyStore::open(cache_path);
    if (!store) return store.error();
    setup->store = std::move(*store);
  }
  setup->source = std::make_unique<policy::mtasts::CachingPolicySource>(**resolver, *setup->fetcher, *setup->store,
                                                                        setup->clock);
  return setup;
}

}  // namespace mxsec::cli

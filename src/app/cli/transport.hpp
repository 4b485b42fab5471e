// app/cli/transport.hpp: set-up shared by the transport-security commands
// (`policy`, `check`): the MTA-STS policy source with its HTTPS fetcher and
// cache, built from the global options.
#pragma once

#include <memory>
#include <string>

#include "app/cli/context.hpp"
#include "core/clock.hpp"
#include "policy/mtasts/cache.hpp"
#include "policy/mtasts/fetch.hpp"
#include "policy/mtasts/source.hpp"

namespace mxsec::cli {

struct StsSetup {
  SystemClock clock;
  std::unique_ptr<policy::mtasts::PolicyFetcher> fetcher;
  std::unique_ptr<policy::mtasts::PolicyStore> store;
  std::unique_ptr<policy::mtasts::CachingPolicySource> source;
};

// `cache_path` "" keeps policies in memory for this run only; otherwise an
// SQLite cache file that survives restarts (created mode 0600).
Result<std::unique_ptr<StsSetup>> make_sts_source(Context& ctx, const std::string& cache_path);

}  // namespace mxsec::cli

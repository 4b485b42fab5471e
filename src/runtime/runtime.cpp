// runtime/runtime.cpp: see runtime.hpp.
#include "runtime/runtime.hpp"

#include "core/file.hpp"
#include "core/strings.hpp"

namespace mxsec::runtime {

namespace {

// A local policy map is a handful of lines per domain; a megabyte is
// thousands of domains.
constexpr std::size_t kLocalPolicyFileBytes = 1024 * 1024;

}  // namespace

Runtime::Runtime(asio::io_context& io, RuntimeOptions options, const Clock* clock)
    : io_(io), options_(std::move(options)), clock_(clock != nullptr ? clock : &system_clock_) {}

Runtime::~Runtime() { stop(); }

Result<std::unique_ptr<Runtime>> Runtime::create(asio::io_context& io, RuntimeOptions options,
                                                 const OptionNames& names, const Clock* clock,
                                                 dns::QueryObserver* dns_observer) {
  if (auto ok = validate(options, names); !ok) return ok.error();
  std::unique_ptr<Runtime> rt(new Runtime(io, std::move(options), clock));
  if (auto ok = rt->build(names, dns_observer); !ok) return ok.error();
  return rt;
}

Result<void> Runtime::build(const OptionNames& names, dns::QueryObserver* dns_observer) {
  auto config = resolver_config(options_.dns, names);
  if (!config) return config.error();
  auto unbound = dns::UnboundResolver::create(io_, *config);
  if (!unbound) return unbound.error();
  unbound_ = std::move(*unbound);
  if (dns_observer) observed_ = std::make_unique<dns::ObservedResolver>(*unbound_, *dns_observer);
  dns::Resolver& validating = observed_ ? static_cast<dns::Resolver&>(*observed_) : *unbound_;
  if (options_.dns.cache) cache_ = std::make_unique<dns::CachingResolver>(validating, *clock_, options_.dns.cache_options);

  if (options_.mta_sts.enabled) {
    policy::mtasts::FetcherConfig fetch;
    fetch.ca_file = options_.tls.ca_file;
    fetch.timeout = options_.mta_sts.fetch_timeout;
    fetcher_ = std::make_unique<policy::mtasts::CurlPolicyFetcher>(resolver(), fetch);
    if (options_.mta_sts.cache_file.empty()) {
      store_ = std::make_unique<policy::mtasts::MemoryPolicyStore>();
    } else {
      auto store = policy::mtasts::SqlitePolicyStore::open(options_.mta_sts.cache_file);
      if (!store) return store.error();
      store_ = std::move(*store);
    }
    sts_source_ = std::make_unique<policy::mtasts::CachingPolicySource>(resolver(), *fetcher_, *store_, *clock_);
  }

  if (!options_.policy.local_policy_file.empty()) {
    const std::string& path = options_.policy.local_policy_file;
    auto text = read_file_bounded(path, kLocalPolicyFileBytes, "local policy file");
    if (!text) return text.error();
    auto map = policy::parse_local_policy(*text);
    if (!map) return make_error(Errc::parse, path + ": " + map.error().message);
    local_ = std::move(*map);
  }
  for (const auto& entry : options_.outbound.domain_policies) {
    // A domain in both places would leave the reader guessing which level
    // applies; a transport policy must never be weakened by such a guess.
    if (local_.contains(entry.domain_ascii))
      return make_error(Errc::invalid_argument, "'" + escape_for_log(entry.domain) + "' has a level in " +
                                                    options_.policy.local_policy_file +
                                                    " and in the configuration's per-domain policies; keep one");
    if (auto ok = local_.add(entry.domain_ascii, entry.level); !ok) return ok.error();
  }
  policy::EngineOptions engine_options;
  engine_options.dane = options_.outbound.dane;
  engine_options.default_tls = options_.outbound.default_tls;
  engine_ = std::make_unique<policy::PolicyEngine>(resolver(), sts_source_.get(), local_policy(), engine_options);
  return {};
}

dns::Resolver& Runtime::resolver() {
  if (cache_) return *cache_;
  if (observed_) return *observed_;
  return *unbound_;
}

tls::ClientContextConfig Runtime::tls_client_config() const {
  tls::ClientContextConfig c;
  if (!options_.tls.ca_file.empty()) c.ca_files.push_back(options_.tls.ca_file);
  return c;
}

void Runtime::stop() {
  if (unbound_) unbound_->cancel_all();
}

}  // namespace mxsec::runtime

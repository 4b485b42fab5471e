// runtime/options.cpp: see options.hpp.
#include "runtime/options.hpp"

#include <cmath>

#include "core/strings.hpp"

namespace mxsec::runtime {

namespace {

constexpr auto kMaxTimeout = std::chrono::minutes(10);

Result<void> check_timeout(std::chrono::milliseconds t, const std::string& name) {
  if (t.count() <= 0 || t > kMaxTimeout)
    return make_error(Errc::invalid_argument, name + " must be between 0 and 600 seconds");
  return {};
}

}  // namespace

Result<std::chrono::milliseconds> seconds_option(double seconds, std::string_view name, double max_seconds) {
  // Written as a negated range so NaN is refused too. Rounded, not
  // truncated: 1.001 * 1000 is 1000.999... in binary floating point, and a
  // value printed as 1.001 (`mxsec config show`) must read back as 1001 ms.
  // Less than half a millisecond would round to 0, which means "no timeout"
  // to nobody; it is refused with the same words.
  const long long ms = seconds > 0 && seconds <= max_seconds ? std::llround(seconds * 1000) : 0;
  if (ms <= 0)
    return make_error(Errc::invalid_argument,
                      std::string(name) + " must be between 0 and " + std::to_string(static_cast<int>(max_seconds)) +
                          " seconds");
  return std::chrono::milliseconds(ms);
}

Result<dns::ResolverConfig> resolver_config(const DnsOptions& options, const OptionNames& names) {
  if (auto ok = check_timeout(options.timeout, names.dns_timeout); !ok) return ok.error();
  dns::ResolverConfig config;
  config.forwarders = options.forwarders;
  config.trust_anchor_files = options.trust_anchor_files;
  config.private_zones = options.private_zones;
  config.timeout = options.timeout;
  for (const auto& stub : options.stub_zones) {
    const auto eq = stub.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == stub.size())
      return make_error(Errc::invalid_argument,
                        names.stub_zone + " '" + escape_for_log(stub, 80) + "': expected ZONE=ADDR[:PORT]");
    config.stub_zones.emplace_back(stub.substr(0, eq), stub.substr(eq + 1));
  }
  return config;
}

Result<void> validate(const RuntimeOptions& options, const OptionNames& names) {
  if (auto config = resolver_config(options.dns, names); !config) return config.error();
  if (auto ok = check_timeout(options.mta_sts.fetch_timeout, names.fetch_timeout); !ok) return ok.error();
  return {};
}

}  // namespace mxsec::runtime

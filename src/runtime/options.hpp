// runtime/options.hpp: the one typed description of how mxsec is wired,
// shared by every command and (next) by `mxsec serve`.
//
// Contract
// - RuntimeOptions says which resolver, which trust anchors, which MTA-STS
//   cache, which extra roots, which local TLS policy. The CLI fills it from
//   its global flags; `mxsec serve` will fill it from its TOML file. Both
//   build the runtime through Runtime::create() (runtime.hpp), so they cannot
//   wire things differently.
// - Every default is written once: here, taken from core/limits.hpp.
// - validate() checks every value before anything is built and names the
//   option at fault ("--timeout", "dns.timeout", ...) through `names`, so a
//   CLI flag and a TOML key get the same check and the same wording.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"
#include "dns/caching_resolver.hpp"
#include "dns/unbound_resolver.hpp"
#include "policy/engine/engine.hpp"
#include "policy/engine/local_policy.hpp"

namespace mxsec::runtime {

struct DnsOptions {
  // "ADDR[:PORT]": forward to these resolvers; empty = recurse from the root.
  // Answers are validated in-process either way.
  std::vector<std::string> forwarders;
  std::vector<std::string> trust_anchor_files;  // extra DS/DNSKEY anchors
  std::vector<std::string> private_zones;       // RFC 6761 names to resolve (e.g. "test")
  std::vector<std::string> stub_zones;          // "ZONE=ADDR[:PORT]"
  std::chrono::milliseconds timeout = limits::kDnsQueryTimeout;
  bool cache = true;                            // a TTL cache in front of the resolver
  dns::CacheOptions cache_options;
};

struct TlsOptions {
  std::string ca_file;  // extra trusted roots (PEM) for WebPKI checks; "" = system store only
};

struct MtaStsOptions {
  bool enabled = true;
  std::chrono::milliseconds fetch_timeout = limits::kStsFetchTimeout;
  std::string cache_file;  // SQLite policy cache; "" = in memory, this run only
};

struct PolicyOptions {
  std::string local_policy_file;  // "domain level" lines (none, may, encrypt, dane-only, verify)
};

// One per-domain override of the transport policy given in the
// configuration rather than in local_policy_file ([[outbound.policy]]).
struct DomainPolicy {
  std::string domain;        // as written (U-labels allowed; ".example" covers subdomains)
  std::string domain_ascii;  // A-labels, lower case, the leading dot kept
  policy::LocalLevel level = policy::LocalLevel::may;
  friend bool operator==(const DomainPolicy&, const DomainPolicy&) = default;
};

// How the policy engine decides for outgoing mail ([outbound]); MTA-STS is
// switched by MtaStsOptions::enabled.
struct OutboundOptions {
  bool dane = true;                                          // false: no TLSA lookups
  policy::DefaultTls default_tls = policy::DefaultTls::may;  // hosts without DANE or MTA-STS
  // Joined with local_policy_file's entries into one map; a domain given in
  // both is an error when the runtime is built (neither silently wins).
  std::vector<DomainPolicy> domain_policies;
};

struct RuntimeOptions {
  DnsOptions dns;
  TlsOptions tls;
  MtaStsOptions mta_sts;
  PolicyOptions policy;
  OutboundOptions outbound;
};

// How the options are called where they came from, for error messages.
struct OptionNames {
  std::string dns_timeout = "--timeout";
  std::string stub_zone = "--stub-zone";
  std::string fetch_timeout = "--https-timeout";
};

// Range and syntax checks of every option; the first problem, naming it.
Result<void> validate(const RuntimeOptions& options, const OptionNames& names = {});

// The libunbound configuration the options describe (validate() first).
Result<dns::ResolverConfig> resolver_config(const DnsOptions& options, const OptionNames& names = {});

// Seconds as given on a command line or in a file, checked to lie in
// (0, max_seconds] and rounded to the nearest millisecond (at least 1);
// `name` is quoted in the error.
Result<std::chrono::milliseconds> seconds_option(double seconds, std::string_view name, double max_seconds = 600);

// The inverse, for showing a default: 5000 ms -> 5.0.
inline double to_seconds(std::chrono::milliseconds ms) { return static_cast<double>(ms.count()) / 1000.0; }

}  // namespace mxsec::runtime

// policy/engine/engine.hpp: computes the DomainDecision for a recipient
// domain (RFC 7672 §2.2, RFC 8461 §4-§5, RFC 7505, RFC 5321 §5.1).
//
// Contract
// - decide() never throws for DNS, HTTPS or policy problems; they become
//   verdicts and reasons. It reaches DNS only through dns::Resolver and
//   MTA-STS only through mtasts::PolicySource (either may be a fake).
// - Fail closed: a SERVFAIL, timeout or bogus answer that a decision depends
//   on yields defer for the domain (MX) or the host (addresses, TLSA); it
//   never falls back to MTA-STS, opportunistic TLS or clear text.
// - Order of precedence for each host:
//     1. a local policy for the domain (LocalPolicyMap), if configured;
//     2. DANE, when the host's address records are secure and its TLSA
//        RRset is secure and non-empty (RFC 8461 §2: "senders who implement
//        DANE ... MUST treat DANE as taking precedence");
//     3. MTA-STS (enforce / testing) for hosts without usable DANE;
//     4. opportunistic TLS.
// - The MTA-STS policy is consulted at most once per decide() call and only
//   when some host is not covered by DANE or a local policy.
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <string>

#include "core/limits.hpp"
#include "dns/resolver.hpp"
#include "policy/engine/decision.hpp"
#include "policy/engine/local_policy.hpp"
#include "policy/mtasts/source.hpp"

namespace mxsec::policy {

struct EngineOptions {
  int max_mx_hosts = limits::kPolicyMaxMxHosts;
  int max_addresses_per_host = limits::kPolicyMaxAddressesPerHost;
  std::size_t max_tlsa_records = limits::kDaneMaxTlsaRecords;
  bool ipv4 = true;
  bool ipv6 = true;
};

class PolicyEngine {
 public:
  // `sts` and `local` may be null (no MTA-STS, no local policy). All
  // references must outlive the engine.
  PolicyEngine(dns::Resolver& resolver, mtasts::PolicySource* sts, const LocalPolicyMap* local,
               EngineOptions options = {});

  asio::awaitable<DomainDecision> decide(std::string domain);

 private:
  struct DomainState;
  asio::awaitable<void> decide_host(DomainState& state, MxDecision& mx);
  asio::awaitable<void> resolve_addresses(MxDecision& mx);
  asio::awaitable<void> lookup_tlsa(MxDecision& mx);
  asio::awaitable<void> apply_mta_sts(DomainState& state, MxDecision& mx);

  dns::Resolver& resolver_;
  mtasts::PolicySource* sts_;
  const LocalPolicyMap* local_;
  EngineOptions options_;
};

}  // namespace mxsec::policy

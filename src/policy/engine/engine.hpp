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
//        RRset is secure with a usable record (RFC 8461 §2: "senders who
//        implement DANE ... MUST treat DANE as taking precedence"). When the
//        MX RRset is not secure, the host name is not authenticated (RFC
//        7672 §2.2.1), so an enforced MTA-STS policy's mx patterns still
//        apply: a host outside them is deferred whatever its TLSA says;
//     3. MTA-STS enforce for hosts without usable DANE, including hosts
//        whose secure TLSA records are all unusable (otherwise those get
//        dane-unusable-tls-required); MTA-STS testing for hosts without
//        TLSA records;
//     4. opportunistic TLS.
// - Address lookups: a bogus answer, or a failed lookup in a signed zone,
//   defers the host; in an unsigned zone a failed A or AAAA lookup is
//   tolerated when the other family answered with addresses.
// - Every deferred host and domain carries a DeferCause; code branches on
//   it, `reason` is for people.
// - The MTA-STS policy is consulted at most once per decide() call and only
//   when some host needs it.
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <optional>
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

  // The decision for one host named by the operator rather than by DNS
  // (`mxsec probe HOST --domain D`): the same path as an MX host of
  // `domain` found in a secure MX RRset, since the name is not taken from
  // an answer an attacker could forge. When `domain` is empty the host is
  // its own next-hop domain. An invalid name is deferred (invalid_domain).
  asio::awaitable<MxDecision> decide_named_host(std::string domain, std::string host);

 private:
  struct DomainState;
  struct Addresses {
    bool usable = false;  // false: the host is deferred (mx says why)
    std::string note;     // a failed address family that was tolerated
  };
  enum class TlsaOutcome { absent, usable, none_usable, failed };

  asio::awaitable<void> decide_host(DomainState& state, MxDecision& mx);
  asio::awaitable<void> decide_addressed_host(DomainState& state, MxDecision& mx);
  asio::awaitable<Addresses> resolve_addresses(MxDecision& mx);
  asio::awaitable<TlsaOutcome> lookup_tlsa(MxDecision& mx);
  asio::awaitable<void> check_dane_host_name(DomainState& state, MxDecision& mx);
  asio::awaitable<void> apply_mta_sts(DomainState& state, MxDecision& mx);
  // The domain's MTA-STS lookup, made at most once per decide().
  asio::awaitable<void> look_up_sts(DomainState& state);

  dns::Resolver& resolver_;
  mtasts::PolicySource* sts_;
  const LocalPolicyMap* local_;
  EngineOptions options_;
};

}  // namespace mxsec::policy

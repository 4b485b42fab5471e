// daemon/metrics.hpp: what `mxsec serve` counts, named as Prometheus
// metrics (docs/operations.md describes each one).
//
// Contract
// - ServerMetrics owns the counters the server increments, all lock-free
//   atomics shared by the worker threads: smtp() for the sessions
//   (smtp::server::Counters, also counted by the server's admission and
//   implicit TLS), auth() for the inbound verifiers (AuthCounters) and dns()
//   for every worker's runtime (the DNS questions that left the cache,
//   dns/observed_resolver.hpp). It exists whether or not `[metrics]
//   address` is set: a count is one relaxed atomic increment.
// - render() is the exposition (text format 0.0.4, metrics/registry.hpp).
//   Values that are computed, not counted, are read at render time: the
//   queue length from Spool::list() (one directory scan), the delivery
//   attempts from QueueRunner::stats(). It runs on the caller's thread (the
//   metrics endpoint's), never on a worker's event loop.
// - Label values come from enums only (never from client input), so every
//   metric has a fixed set of series, present from the start at 0.
#pragma once

#include <cstddef>
#include <iterator>
#include <string>

#include "daemon/inbound.hpp"
#include "dns/observed_resolver.hpp"
#include "metrics/registry.hpp"
#include "smtp/server/session.hpp"

namespace mxsec::queue {
class Spool;
}
namespace mxsec::delivery {
class OutboundAgent;
class QueueRunner;
}

namespace mxsec::daemon {

// Why a DNS question failed (mxsec_dns_query_failures_total{reason}), as
// dns::RawAnswer::failed() judges it; a bogus answer counts as bogus
// whatever its rcode.
enum class DnsFailure { servfail, timeout, bogus, error };
inline constexpr std::size_t kDnsFailures = 4;
const char* to_string(DnsFailure f);

// The record types asked for, in the order of their label values.
inline constexpr dns::RrType kDnsTypes[] = {dns::RrType::a,    dns::RrType::aaaa, dns::RrType::mx,  dns::RrType::txt,
                                            dns::RrType::tlsa, dns::RrType::ptr,  dns::RrType::cname, dns::RrType::ns,
                                            dns::RrType::soa,  dns::RrType::ds,   dns::RrType::dnskey};
inline constexpr std::size_t kDnsTypeCount = std::size(kDnsTypes);

// Counts DNS answers by type and failure; thread-safe (atomics).
class DnsCounters final : public dns::QueryObserver {
 public:
  void answered(dns::RrType type, const dns::RawAnswer& answer) override;

  metrics::Labeled<std::size_t, kDnsTypeCount> queries;  // indexed as kDnsTypes
  metrics::Labeled<DnsFailure, kDnsFailures> failures;
};

class ServerMetrics {
 public:
  struct Sources {
    const queue::Spool* spool = nullptr;             // null: no queue length
    const delivery::QueueRunner* runner = nullptr;   // null: no delivery attempts
    double start_time = 0;                           // unix seconds
    const delivery::OutboundAgent* outbound = nullptr;  // null: no TLS session counts
  };
  explicit ServerMetrics(Sources sources);
  ServerMetrics(const ServerMetrics&) = delete;
  ServerMetrics& operator=(const ServerMetrics&) = delete;

  smtp::server::Counters& smtp() { return smtp_; }
  const smtp::server::Counters& smtp() const { return smtp_; }
  AuthCounters& auth() { return auth_; }
  DnsCounters& dns() { return dns_; }

  std::string render() const { return registry_.render(); }

 private:
  void register_all();

  Sources sources_;
  smtp::server::Counters smtp_;
  AuthCounters auth_;
  DnsCounters dns_;
  metrics::Registry registry_;  // last: it points at the members above
};

}  // namespace mxsec::daemon

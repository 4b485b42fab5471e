// dns/unbound_resolver.hpp: the production Resolver, on libunbound.
//
// Contract
// - Asynchronous and thread-free: queries go through ub_resolve_async and the
//   context's fd (ub_fd) is watched from the Asio io_context; ub_process()
//   delivers the callbacks. No call blocks the event loop.
// - DNSSEC is validated in-process. The default is full recursion from the
//   root with the root trust anchor of Debian's dns-root-data package. With
//   forwarders, answers are still validated here; an upstream AD bit is never
//   trusted (libunbound sets CD and validates itself).
// - A trust-anchor file that does not load is an error from create(), never a
//   silent "insecure".
// - Each query has its own timeout; a late answer is dropped and the query
//   completes as Status::timeout / Security::indeterminate.
// - The object must outlive every pending resolve(); destroying it cancels
//   outstanding queries, which then complete with Status::error.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"
#include "dns/resolver.hpp"

namespace mxsec::dns {

struct ResolverConfig {
  // Forward all queries to these resolvers ("ADDR", "ADDR:PORT", "[V6]:PORT").
  // Empty: full recursion from the root.
  std::vector<std::string> forwarders;
  // Extra trust anchors: files of DS or DNSKEY zone-file lines.
  std::vector<std::string> trust_anchor_files;
  // The root anchor (RFC 5011-free, read-only copy from dns-root-data).
  bool use_root_anchor = true;
  std::string root_anchor_file = "/usr/share/dns/root.key";
  // Private zones (e.g. "test") that unbound would otherwise answer itself as
  // RFC 6761 special names; they are made transparent so queries go out.
  std::vector<std::string> private_zones;
  // Stub zones: resolve `zone` by asking `address` ("ADDR[:PORT]") directly.
  std::vector<std::pair<std::string, std::string>> stub_zones;
  std::chrono::milliseconds timeout = limits::kDnsQueryTimeout;
};

class UnboundResolver final : public Resolver {
 public:
  static Result<std::unique_ptr<UnboundResolver>> create(asio::io_context& io, const ResolverConfig& config);
  ~UnboundResolver() override;
  UnboundResolver(const UnboundResolver&) = delete;
  UnboundResolver& operator=(const UnboundResolver&) = delete;

  asio::awaitable<RawAnswer> resolve(std::string name, RrType type) override;

  struct Impl;

 private:
  explicit UnboundResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Start-up self-test: can this resolver validate DNSSEC at all?
//
// It asks for a name that must be secure under the configured anchors (the
// root DNSKEY, or the apex of the first extra trust anchor) and reports:
//   validating      - a secure answer came back;
//   not_validating  - answers come back insecure although an anchor covers
//                     them (e.g. a forwarder strips RRSIGs / no DO support);
//   bogus           - the anchor does not match what is served (broken or
//                     stale anchor, or a forwarder that mangles answers);
//   unreachable     - no answer at all (network, forwarder down).
struct SelfTest {
  enum class Outcome { validating, not_validating, bogus, unreachable } outcome = Outcome::unreachable;
  std::string probe_name;
  std::string message;  // one line for the operator
};
const char* to_string(SelfTest::Outcome o);
asio::awaitable<SelfTest> run_self_test(Resolver& resolver, std::string probe_name);

}  // namespace mxsec::dns

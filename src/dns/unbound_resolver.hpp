// dns/unbound_resolver.hpp: the production Resolver, on libunbound.
//
// Contract
// - Asynchronous and free of blocking calls: queries go through
//   ub_resolve_async and the context's fd (ub_fd) is watched from the Asio
//   io_context; ub_process() delivers the callbacks on the io_context's
//   thread. mxsec starts no thread of its own; libunbound runs its resolver in
//   its own background worker (ub_ctx_async(ctx, 1)), which never touches our
//   state: results come back only through the fd.
// - DNSSEC is validated in-process. The default is full recursion from the
//   root with the root trust anchor of Debian's dns-root-data package. With
//   forwarders, answers are still validated here; an upstream AD bit is never
//   trusted (libunbound sets CD and validates itself).
// - A trust-anchor file that does not load is an error from create(), never a
//   silent "insecure": create() checks each file itself (exists, readable,
//   at least one usable DS/DNSKEY line, nothing malformed) and then makes
//   libunbound load its configuration, so a file unbound rejects fails too.
// - Each query has its own timeout; a late answer is dropped and the query
//   completes as Status::timeout / Security::indeterminate.
// - How a ub_result becomes a RawAnswer (to_raw_answer):
//     bogus                  -> Status::servfail, Security::bogus, why_bogus,
//                               and no rdata. In forwarding mode unbound hands
//                               the bogus data back with rcode 0 (CD is set);
//                               in recursion mode it answers SERVFAIL. Both
//                               look the same here, and bogus data can never
//                               be half-used.
//     NOERROR with data      -> ok;  NOERROR without -> nodata;
//     NXDOMAIN               -> nxdomain; any other rcode -> servfail.
//     secure flag            -> secure; otherwise insecure for ok / nodata /
//                               nxdomain, indeterminate for servfail.
//   Security is judged by unbound's secure/bogus flags, never by the rcode.
// - The object must outlive every pending resolve(); destroying it cancels
//   outstanding queries, which then complete with Status::error.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"
#include "dns/resolver.hpp"

struct ub_result;  // libunbound's answer (unbound.h)

namespace mxsec::dns {

// The error text of an answer that ended because its task was cancelled.
inline constexpr std::string_view kCancelled = "cancelled";

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
  // Validates `config` and sets up libunbound. Errors (Errc::invalid_argument
  // for a bad setting, Errc::io for an unreadable anchor file, Errc::dns when
  // libunbound rejects its configuration) name the offending setting.
  static Result<std::unique_ptr<UnboundResolver>> create(asio::io_context& io, const ResolverConfig& config);
  ~UnboundResolver() override;
  UnboundResolver(const UnboundResolver&) = delete;
  UnboundResolver& operator=(const UnboundResolver&) = delete;

  // Cancellation: resolve() honours the awaiting coroutine's cancellation
  // slot (co_spawn with a bound cancellation_signal, or an awaitable
  // operator ||): the question is ub_cancel()led and completes at once as
  // Status::error with the text kCancelled; a coroutine already cancelled
  // asks nothing more.
  asio::awaitable<RawAnswer> resolve(std::string name, RrType type) override;

  // Ends every question in flight at once (Status::error, kCancelled), for a
  // shutdown that must not wait out DNS timeouts.
  void cancel_all();

  // Questions currently waiting for libunbound (for tests).
  std::size_t pending() const;

  struct Impl;

 private:
  explicit UnboundResolver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Maps one libunbound result to a RawAnswer as described in the contract
// (exposed for unit tests; the ub_result stays owned by the caller).
RawAnswer to_raw_answer(const ub_result& result, std::string_view qname, RrType qtype);

// --- configuration helpers (exposed for tests) -----------------------------

// A DNS server address as given on the command line.
struct ServerAddress {
  IpAddress address;
  std::uint16_t port = 53;
  bool is_loopback() const;       // 127.0.0.0/8 or ::1
  std::string to_unbound() const;  // "ADDR@PORT", the form ub_ctx_set_fwd/stub take
};
// Accepts "ADDR", "ADDR:PORT", "[V6]" and "[V6]:PORT" (a bare IPv6 address
// without brackets has no port). Host names are not accepted: unbound needs
// addresses, and resolving a forwarder's name would need a resolver.
Result<ServerAddress> parse_server_address(std::string_view text);

// Checks a trust-anchor file the way create() does and returns the owner
// name of its first usable anchor (lower case, no trailing dot; "" for the
// root). Errors: Errc::io (missing, unreadable, too large), Errc::parse (a
// malformed DS/DNSKEY line, or no usable anchor at all).
Result<std::string> check_trust_anchor_file(const std::string& path);

// Start-up self-test: can this resolver validate DNSSEC at all?
//
// It asks for the DNSKEY RRset of a name that must be secure under the
// configured anchors (the root, or the apex of the first extra trust anchor;
// see self_test_probe) and reports:
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
// The probe name for `config`: the apex of the first extra trust anchor if
// there is one, else the root ("."). Fails like check_trust_anchor_file.
Result<std::string> self_test_probe(const ResolverConfig& config);

}  // namespace mxsec::dns

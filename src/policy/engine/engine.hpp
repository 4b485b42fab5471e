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
//     4. the default for hosts with neither: EngineOptions::default_tls,
//        opportunistic TLS (RFC 7435: "encrypt when possible, without
//        requiring authentication") or TLS mandatory without
//        authentication (encrypt). The default never replaces DANE or an
//        enforced MTA-STS policy: only a local policy names a domain
//        explicitly and may do that (1.). A testing MTA-STS policy only
//        asks for reports (RFC 8461 §5: sending MTAs "merely send a
//        report"), so with default_tls encrypt its hosts are encrypt.
// - EngineOptions::dane false ([outbound] dane = "off"): no TLSA record is
//   looked up or used, every host is decided as if it had none (MTA-STS,
//   then the default), except for a domain whose local policy is
//   dane-only, which names DANE explicitly and keeps it. This gives up the
//   protection RFC 7672 §2.2 describes ("a secure TLSA RRset ... the SMTP
//   client MUST use TLS"), so it is the operator's explicit choice, never
//   a default.
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
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "dns/resolver.hpp"
#include "policy/engine/decision.hpp"
#include "policy/engine/local_policy.hpp"
#include "policy/mtasts/source.hpp"

namespace mxsec::policy {

// What a host with neither DANE nor MTA-STS gets ([outbound] default_tls).
enum class DefaultTls {
  may,      // opportunistic TLS (RFC 7435), Verdict::opportunistic
  encrypt,  // TLS mandatory, unauthenticated, Verdict::encrypt
};
const char* to_string(DefaultTls d);  // "may", "encrypt"
std::optional<DefaultTls> parse_default_tls(std::string_view s);

// The smarthost all outgoing mail goes through ([outbound] relayhost), in
// Postfix's syntax: "[host]:port" names the host itself (no MX lookup),
// "host:port" a domain whose MX hosts are used. Built by the configuration
// reader, which checks the syntax (config/server_config.hpp).
struct RelayHost {
  std::string host;                // A-labels in lower case, or the address text of an IP literal
  std::optional<IpAddress> address;  // set for an IP literal: "[192.0.2.1]", "[IPv6:2001:db8::1]"
  std::uint16_t port = 25;
  bool mx_lookup = false;          // written without brackets
  std::string text() const;        // "[relay.example]:587", "[IPv6:2001:db8::1]:25", "relay.example:25"
  friend bool operator==(const RelayHost&, const RelayHost&) = default;
};

struct EngineOptions {
  int max_mx_hosts = limits::kPolicyMaxMxHosts;
  int max_addresses_per_host = limits::kPolicyMaxAddressesPerHost;
  std::size_t max_tlsa_records = limits::kDaneMaxTlsaRecords;
  bool ipv4 = true;
  bool ipv6 = true;
  bool dane = true;                          // false: no TLSA lookups (see the contract)
  DefaultTls default_tls = DefaultTls::may;  // hosts without DANE or MTA-STS
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

  // The decision for the relay host all mail is sent to, shaped like a
  // domain's so the delivery agent treats it as an MX list (`domain` is the
  // relay's name, every MxDecision has `port` = relay.port, and the TLSA
  // records are sought at _<port>._tcp.<host>, RFC 6698 §3):
  // - "[host]:port": one MxDecision, decided as decide_named_host(): the
  //   name comes from the configuration, not from an MX answer an attacker
  //   could forge, so DANE applies when the host's addresses and TLSA
  //   records are secure (RFC 7672 §2.2.1), then a local policy for the
  //   host name, then the default. MTA-STS is not consulted: it protects
  //   the MX hosts of a recipient domain (RFC 8461 §4.1), and a relay host
  //   is none. A local policy for the host name applies first, as for any
  //   domain.
  // - "[192.0.2.1]:port" (an IP literal): its own address, no DNS question
  //   at all; no DANE (there is no name to find TLSA records at): a local
  //   policy cannot name it, so the default applies. Its `host` is the
  //   address text and reference_names is empty: a client must not send it
  //   as SNI (RFC 6066 §3: "Literal IPv4 and IPv6 addresses are not
  //   permitted in HostName").
  // - For the bracketed forms the DomainDecision's mx_security is secure:
  //   there is no MX RRset, and the host name comes from the configuration,
  //   which no DNS answer can forge.
  // - "host:port": exactly decide(host), MX lookup and MTA-STS included,
  //   with the TLSA records sought for `port`.
  // Status ok with one usable host, no_usable_mx when it is deferred,
  // defer (invalid_domain) for a name that is not a domain name.
  asio::awaitable<DomainDecision> decide_relayhost(RelayHost relay);

 private:
  struct DomainState;
  struct Addresses {
    bool usable = false;  // false: the host is deferred (mx says why)
    std::string note;     // a failed address family that was tolerated
  };
  enum class TlsaOutcome { absent, usable, none_usable, failed };

  asio::awaitable<DomainDecision> decide_domain(std::string domain, std::uint16_t port);
  asio::awaitable<void> decide_host(DomainState& state, MxDecision& mx);
  asio::awaitable<void> decide_addressed_host(DomainState& state, MxDecision& mx);
  asio::awaitable<Addresses> resolve_addresses(MxDecision& mx);
  asio::awaitable<TlsaOutcome> lookup_tlsa(MxDecision& mx);
  asio::awaitable<void> check_dane_host_name(DomainState& state, MxDecision& mx);
  asio::awaitable<void> apply_mta_sts(DomainState& state, MxDecision& mx);
  void apply_default(MxDecision& mx, std::string why) const;
  // The domain's MTA-STS lookup, made at most once per decide().
  asio::awaitable<void> look_up_sts(DomainState& state);

  dns::Resolver& resolver_;
  mtasts::PolicySource* sts_;
  const LocalPolicyMap* local_;
  EngineOptions options_;
};

}  // namespace mxsec::policy

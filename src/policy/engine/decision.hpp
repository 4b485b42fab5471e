// policy/engine/decision.hpp: the transport-security decision for one
// recipient domain, as values (RFC 7672 §2, RFC 8461 §4-§5, RFC 7505).
//
// Contract
// - A DomainDecision lists the MX hosts in delivery order, each with a
//   Verdict that says whether TLS is mandatory and how the server is
//   authenticated. The names returned by to_string(Verdict) are stable:
//   scripts read them from `mxsec policy --json`.
//     dane                        TLS mandatory, authenticated by the usable
//                                 TLSA records (DANE-EE/DANE-TA) of this host.
//     dane-unusable-tls-required  secure TLSA records exist but none is usable
//                                 (RFC 7672 §2.2: TLS mandatory, no
//                                 authentication).
//     mta-sts                     TLS mandatory, WebPKI certificate valid for
//                                 the MX name (MTA-STS enforce, RFC 8461 §4.2).
//     mta-sts-testing             as mta-sts, but a failure is reported via
//                                 TLS-RPT and delivery proceeds (§5).
//     opportunistic               STARTTLS when offered, unauthenticated; clear
//                                 text when not offered.
//     none                        clear text (local policy "none").
//     encrypt                     TLS mandatory, unauthenticated (local policy).
//     verify                      TLS mandatory, WebPKI-valid for the MX name
//                                 (local policy).
//     defer                       do not deliver to this host now: a DNS answer
//                                 it depends on failed or was bogus, or an
//                                 enforced MTA-STS policy excludes it.
// - Domain-level outcomes (DomainStatus) cover what has no MX host to speak
//   of: null MX (RFC 7505: mail is not accepted), a non-existent domain, or
//   an MX lookup that failed (defer the whole domain, never downgrade).
// - Every decision carries the TLS-RPT policy block (RFC 8460 §4.4) that a
//   report of its outcome must quote.
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/ip_address.hpp"
#include "dns/types.hpp"
#include "policy/mtasts/source.hpp"
#include "policy/tlsrpt/result.hpp"

namespace mxsec::policy {

enum class Verdict {
  dane,
  dane_unusable_tls_required,
  mta_sts,
  mta_sts_testing,
  opportunistic,
  none,
  encrypt,
  verify,
  defer,
};
const char* to_string(Verdict v);
inline constexpr std::size_t kVerdictCount = static_cast<std::size_t>(Verdict::defer) + 1;

// What the client must do on the wire for a verdict.
enum class Authentication { none, dane, webpki };
struct Requirements {
  bool tls_required = false;
  Authentication authentication = Authentication::none;
  bool deliver = true;  // false for defer
};
Requirements requirements(Verdict v);

// Where the verdict came from.
enum class Source { dane, mta_sts, local, default_policy, dns };
const char* to_string(Source s);

// Why a host (or the whole domain) is deferred: the retry and bounce logic
// and the TLS-RPT failure details branch on this, never on `reason` text.
// Stable names (to_string) appear in `mxsec policy --json` as "defer_cause".
enum class DeferCause {
  none,                 // not deferred
  invalid_domain,       // the recipient domain is not a domain name
  dnssec_bogus,         // the MX or address RRset failed DNSSEC validation
  dns_failure,          // the MX or address lookup failed (SERVFAIL, timeout, error)
  no_address,           // the host has no A/AAAA records
  tlsa_bogus,           // the TLSA RRset failed DNSSEC validation
  tlsa_lookup_failure,  // the TLSA lookup failed (SERVFAIL, timeout, error)
  tlsa_limit,           // the TLSA RRset is over limits::kDaneMaxTlsaRecords or malformed
  sts_mx_mismatch,      // an enforced MTA-STS policy does not list the host
  local_policy,         // the local policy forbids this host (dane-only without DANE)
  no_usable_mx,         // domain level: every MX host is deferred
};
const char* to_string(DeferCause c);

struct TlsaFacts {
  bool looked_up = false;       // false when the addresses were not secure
  std::string qname;            // "_<port>._tcp.<base>" that answered
  dns::Status status = dns::Status::error;
  dns::Security security = dns::Security::indeterminate;
  std::string why_bogus;
  std::vector<dns::TlsaRecord> usable;
  std::vector<dns::TlsaRecord> unusable;
  std::vector<std::string> unusable_reasons;  // parallel to `unusable`
  // At least two usable records (tls/dane: RFC 7671 §8.1); meaningful when
  // secure() holds.
  bool rollover_ready = false;
  // A secure, non-empty TLSA RRset was found and analysed.
  bool secure() const { return looked_up && security == dns::Security::secure && status == dns::Status::ok; }
};

struct MxDecision {
  std::string host;                  // as in the MX record (or the domain, implicit MX)
  std::uint16_t preference = 0;
  // The TCP port to connect to: 25 (RFC 5321), or a relay host's port. The
  // TLSA records are those of _<port>._tcp.<host> (RFC 6698 §3).
  std::uint16_t port = 25;
  bool implicit = false;             // RFC 5321 §5.1 implicit MX (no MX RRset)
  Verdict verdict = Verdict::defer;
  Source source = Source::default_policy;
  DeferCause defer_cause = DeferCause::none;  // set iff verdict == defer
  std::string reason;                // one sentence, for humans and logs
  std::string canonical_name;        // after CNAME expansion ("" if none)
  std::vector<IpAddress> addresses;
  dns::Security address_security = dns::Security::indeterminate;
  TlsaFacts tlsa;
  // RFC 7672 §3.2.2 reference identifiers for DANE-TA. The first is the
  // TLSA base domain (§2.2.3: the CNAME-expanded name when the TLSA records
  // were found there, else the MX host name), which is also the SNI name
  // (§8.1); then the other of host and expansion, then the next-hop domain.
  std::vector<std::string> reference_names;
  // The name a DANE client sends as SNI: the TLSA base domain (RFC 7672
  // §8.1); the MX host name when DANE does not apply; "" (no SNI) for a
  // host that is an IP address literal (a relay host "[192.0.2.1]"): RFC
  // 6066 §3, "Literal IPv4 and IPv6 addresses are not permitted in
  // "HostName"."
  std::string sni_name() const;
  std::optional<bool> sts_mx_match;  // set when an MTA-STS policy applied
  tlsrpt::PolicyBlock tlsrpt;
  // The RFC 8460 §4.3 failure this decision reports before any connection
  // is made: dnssec-invalid (bogus address or TLSA RRset, failed TLSA
  // lookup), tlsa-invalid (secure TLSA records, none usable, or over the
  // limits), dane-required (local dane-only without DANE),
  // validation-failure (a host an enforced MTA-STS policy does not list).
  // nullopt when the decision itself implies no failure. The delivery agent
  // records it for a deferred host, and `mxsec policy --json` and
  // `mxsec check` print it, so all three report the same type.
  std::optional<tlsrpt::ResultType> tlsrpt_result;
};

enum class DomainStatus { ok, null_mx, nxdomain, defer, no_usable_mx };
const char* to_string(DomainStatus s);

struct DomainDecision {
  std::string domain;
  DomainStatus status = DomainStatus::defer;
  DeferCause defer_cause = DeferCause::none;  // set when status is defer or no_usable_mx
  std::string reason;
  dns::Security mx_security = dns::Security::indeterminate;
  std::optional<mtasts::StsLookup> mta_sts;  // set when MTA-STS was consulted
  std::vector<MxDecision> mx;                // delivery order
};

nlohmann::json to_json(const MxDecision& d);
nlohmann::json to_json(const DomainDecision& d);

}  // namespace mxsec::policy

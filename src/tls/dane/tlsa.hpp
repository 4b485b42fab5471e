// tls/dane/tlsa.hpp: which TLSA records an SMTP client can use (RFC 7672).
//
// Contract
// - classify() judges one record by its own fields; it never looks at DNSSEC
//   status (the caller only hands over records from a secure answer, RFC 7672
//   §2.2). A record is unusable when (reason in parentheses):
//     * its usage is PKIX-TA(0) or PKIX-EE(1) ("pkix-usage"): RFC 7672 §3.1.3
//       says SMTP clients treat these usages as unusable, because an MTA has
//       no agreed set of WebPKI trust anchors;
//     * its usage, selector or matching type is not one RFC 6698 / RFC 7218
//       assign ("unknown-usage", "unknown-selector", "unknown-matching-type");
//       RFC 6698 §4.1 makes records with unknown parameters unusable;
//     * its association data cannot be what the fields say: matching type 1
//       needs exactly 32 octets (SHA2-256), 2 exactly 64 (SHA2-512), and 0 a
//       whole DER certificate (selector 0) or SubjectPublicKeyInfo (selector
//       1) with nothing after it ("bad-digest-length", "malformed-data",
//       "empty-data"); full data longer than limits::kDaneMaxTlsaDataBytes is
//       "data-too-long" (fail closed: not usable, never "matched").
// - analyse() splits a TLSA RRset into usable and unusable records. It does
//   not judge the answer's DNSSEC status: only a `secure` answer may be
//   passed (RFC 7672 §2.2); bogus or indeterminate answers are the caller's
//   defer, insecure ones mean "no DANE".
//   `rollover_ready` is true when at least two records are usable: RFC 7671
//   §8.1 / RFC 7672 §8 ask operators to publish the next key (or a DANE-TA
//   record for the issuer next to the DANE-EE record) before a change, so a
//   single usable record means the next certificate change breaks delivery.
//   More records than limits::kDaneMaxTlsaRecords is an Errc::limit error:
//   the caller defers that MX host (fail closed), it never treats the RRset
//   as empty.
// - When a secure TLSA RRset has records but none is usable, RFC 7672 §2.2
//   still requires TLS, but without authentication; the TLS-RPT result type
//   for that (RFC 8460 §4.3.2.1) is "tlsa-invalid" (`all_unusable()`).
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "dns/types.hpp"

namespace mxsec::tls::dane {

// RFC 6698 §7.2-7.4 / RFC 7218 registry values.
inline constexpr std::uint8_t kUsagePkixTa = 0;
inline constexpr std::uint8_t kUsagePkixEe = 1;
inline constexpr std::uint8_t kUsageDaneTa = 2;
inline constexpr std::uint8_t kUsageDaneEe = 3;
inline constexpr std::uint8_t kSelectorCert = 0;
inline constexpr std::uint8_t kSelectorSpki = 1;
inline constexpr std::uint8_t kMatchFull = 0;
inline constexpr std::uint8_t kMatchSha256 = 1;
inline constexpr std::uint8_t kMatchSha512 = 2;

struct Classification {
  bool usable = false;
  std::string reason;  // "" when usable; a short token (see the contract) otherwise
};

Classification classify(const dns::TlsaRecord& record);

struct UnusableRecord {
  dns::TlsaRecord record;
  std::string reason;
};

struct TlsaSet {
  std::vector<dns::TlsaRecord> usable;
  std::vector<UnusableRecord> unusable;
  bool rollover_ready = false;
  bool all_unusable() const { return usable.empty() && !unusable.empty(); }
};

Result<TlsaSet> analyse(const std::vector<dns::TlsaRecord>& records);
Result<TlsaSet> analyse(const dns::TlsaAnswer& answer);

// "3 1 1 ABCD..." (RFC 6698 §2.2 presentation form, via dns/presentation).
std::string to_text(const dns::TlsaRecord& record);

}  // namespace mxsec::tls::dane

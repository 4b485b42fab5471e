// check/mail_records.hpp: the mail-authentication sections of `mxsec check
// DOMAIN`: what the domain publishes for SPF, DMARC, DKIM and TLS-RPT, and
// what is wrong with it, as facts (the *Section structs) plus Findings.
//
// Contract
// - Each check_* coroutine asks its DNS questions through dns::Resolver,
//   appends its findings to `findings` (codes listed in docs/check.md under
//   "Mail authentication findings") and returns the facts for the report.
//   It never throws for DNS or record problems: those are findings.
// - A DNS failure (SERVFAIL, timeout, resolver error, DNSSEC bogus) is an
//   error finding with code "dns-failure" naming the query and the problem,
//   and the section says `dns_error`; it is never reported as "not
//   published". Bogus data is never used.
// - The section structs own all their data. to_json() of each gives the JSON
//   object for that section; these keys are fixed by the `mxsec check` JSON
//   format and never renamed: `spf.record` (string or null), `dmarc.policy`
//   (string or null), `tls_rpt.rua` (array).
//
// SPF lookup counting: a walk of the record tree, not a check_host() run.
// check_host() (auth/spf/check_host.hpp) stops at the first matching
// mechanism and at the first limit it exceeds, so what it counts depends on
// the client address chosen and is capped at 11. A domain owner needs the
// worst case a receiver can meet: a client that matches nothing, so every
// term is evaluated. check_spf() therefore fetches the record and, in record
// order, counts every term that RFC 7208 §4.6.4 counts (include, a, mx, ptr,
// exists, redirect), following include and redirect targets recursively:
//   "SPF implementations MUST limit the total number of those terms to 10
//   during SPF evaluation, to avoid unreasonable load on the DNS."
// Void lookups (§4.6.4, "more than two void lookups" -> permerror) are
// counted for the questions the walk can ask without a client: the TXT
// question of include/redirect targets, the A question of a/exists with a
// constant domain (an IPv4 client, as 192.0.2.0 would be), and the MX
// question of mx. Terms whose domain-spec holds macros (%{i}, %{s}, ...)
// count as lookups but are not resolved: their target depends on the
// message. ptr is counted and not resolved (it depends on the client). The
// walk is cycle-safe (a domain already on the include/redirect path is a
// loop: RFC 7208 §4.6.4 makes it a permerror by the limits), bounded in
// depth (SpfWalkLimits::max_depth) and in records fetched
// (SpfWalkLimits::max_records); the count is exact up to those bounds and a
// lower bound past them (the finding says so).
#pragma once

#include <asio/awaitable.hpp>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "check/finding.hpp"
#include "core/limits.hpp"
#include "dns/types.hpp"

namespace mxsec::dns {
class Resolver;
}

namespace mxsec::check {

// Bounds of the SPF tree walk. The walk keeps counting past the RFC limit of
// 10 so the owner learns by how much the record is over, but stops here.
struct SpfWalkLimits {
  int max_dns_terms = limits::kSpfDnsTerms;      // RFC 7208 §4.6.4: 10
  int max_void_lookups = limits::kSpfVoidLookups; // RFC 7208 §4.6.4: 2
  int max_depth = limits::kSpfDnsTerms;          // include/redirect nesting
  int max_records = 4 * limits::kSpfDnsTerms;    // SPF records fetched in all
  // RFC 7208 §3.4: keep the answer within 512 octets (UDP); a record longer
  // than this leaves too little room for the rest of the DNS message.
  std::size_t long_record_bytes = 450;
};

struct SpfSection {
  std::string domain;
  std::optional<std::string> record;  // the one SPF record at DOMAIN, as published
  std::vector<std::string> records;   // every v=spf1 TXT (>1: several, §4.5 permerror)
  std::string dns_error;              // non-empty: the question failed
  bool syntax_ok = false;             // `record` parsed (and so did every include/redirect target)
  int lookups = 0;                    // §4.6.4 terms in the whole tree
  int void_lookups = 0;
  bool lookups_exact = true;          // false: a walk bound or a macro term stopped the count
  std::optional<std::string> all;     // the `all` term ending the chain ("-all", "~all", ...)
  std::optional<std::string> redirect;  // redirect= target of DOMAIN's record
  std::vector<std::string> includes;  // include: targets of the whole tree, walk order
  nlohmann::json to_json() const;
};

struct DmarcDestination {
  std::string tag;        // "rua" or "ruf"
  std::string uri;
  bool actionable = false;  // a usable mailto: URI
  // "authorized", "not-authorized", "temperror" (auth/dmarc words)
  std::string authorization;
  std::string note;
  bool authorized = false;  // authorization is ReportAuthorization::authorized
};

struct DmarcSection {
  std::string domain;
  std::optional<std::string> record;  // the DMARC record that applies
  std::string record_domain;          // where it was found (without "_dmarc.")
  // "domain" (at _dmarc.DOMAIN), "organizational_domain" (tree walk /
  // Organizational Domain), "public_suffix_domain" (psd=y), "" when none.
  std::string found_at;
  std::string dns_error;
  bool multiple = false;              // several records at _dmarc.DOMAIN (all discarded)
  // Policy that applies to mail from DOMAIN: p at DOMAIN, sp when the record
  // was inherited (the domain exists; np covers non-existent names). Null
  // when no usable record applies.
  std::optional<std::string> policy;
  std::optional<std::string> p, sp, np;  // as published, when valid
  bool testing = false;                  // t=y (or pct=0)
  std::vector<std::string> rua, ruf;     // URIs as published
  std::vector<DmarcDestination> external_destinations;  // every actionable URI outside the org domain
  std::vector<std::string> deprecated_tags;
  std::vector<std::string> syntax_warnings;
  nlohmann::json to_json() const;
};

struct DkimSelectorResult {
  std::string selector;
  std::string name;                   // <selector>._domainkey.<domain>
  bool found = false;                 // a DKIM key record exists
  std::string dns_error;
  std::optional<std::string> key_type;  // "rsa", "ed25519"
  std::optional<int> bits;
  bool testing = false;               // t=y
  bool revoked = false;               // empty p=
  bool sha1_only = false;             // h= excludes sha256
  std::string error;                  // the key record cannot be used: why
  nlohmann::json to_json() const;
};

struct DkimSection {
  std::vector<DkimSelectorResult> selectors;
  nlohmann::json to_json() const;
};

struct TlsRptRua {
  std::string uri;
  std::string kind;                   // "mailto", "https", "unsupported_scheme", "malformed"
  std::string reason;
};

struct TlsRptSection {
  std::string domain;
  std::optional<std::string> record;  // the one TLSRPT record at _smtp._tls.DOMAIN
  std::vector<std::string> records;   // every v=TLSRPTv1 TXT
  std::string dns_error;
  std::string syntax_error;
  std::vector<TlsRptRua> rua;
  nlohmann::json to_json() const;
};

// SPF record of DOMAIN (RFC 7208 §4.5 selection, §4.6 syntax, §4.6.4 limits,
// §5 mechanisms, §6 modifiers) and the tree walk described above.
asio::awaitable<SpfSection> check_spf(dns::Resolver& resolver, std::string domain, Findings& findings,
                                      SpfWalkLimits limits = {});

// DMARC record for DOMAIN: at _dmarc.DOMAIN, else by the RFC 9989 §4.10.1
// DNS Tree Walk; policy strength, reporting URIs and their external-
// destination authorization, deprecated tags.
asio::awaitable<DmarcSection> check_dmarc(dns::Resolver& resolver, std::string domain, Findings& findings);

// DKIM key records at <selector>._domainkey.DOMAIN for each selector the owner
// named. No selectors: an info finding (keys cannot be discovered).
asio::awaitable<DkimSection> check_dkim(dns::Resolver& resolver, std::string domain,
                                        std::vector<std::string> selectors, Findings& findings);

// TLS-RPT record at _smtp._tls.DOMAIN (RFC 8460 §3).
asio::awaitable<TlsRptSection> check_tlsrpt(dns::Resolver& resolver, std::string domain, Findings& findings);

}  // namespace mxsec::check

// auth/spf/check_host.hpp: the check_host() function of RFC 7208 §4, and the
// MAIL FROM / HELO checks of §2.3 and §2.4 built on it.
//
// Contract
// - check_host() always completes with an SpfResult; DNS failures, syntax
//   errors and exceeded limits are verdicts (temperror / permerror) with a
//   precise `reason`, never exceptions.
// - DNS is reached only through dns::Resolver. How each answer is used:
//     SERVFAIL, timeout, resolver error        -> temperror (§4.4, §5)
//     DNSSEC bogus (any query but PTR)         -> temperror; bogus data is never used
//     NXDOMAIN / NODATA                        -> "void lookup" (§4.6.4)
//     PTR lookups of the client address (ptr mechanism, %{p}): the client
//     controls that zone, so a failed or bogus PTR answer makes the mechanism
//     not match (§5.5) and is not counted as a void lookup.
// - Limits (Config, defaults from core/limits.hpp), all fail closed:
//     RFC 7208 §4.6.4: "SPF implementations MUST limit the total number of
//     those terms to 10 during SPF evaluation" -> permerror "too many DNS
//     lookups (11 > 10)"; more than 2 void lookups -> permerror; an mx term
//     with more than 10 MX records -> permerror; a ptr term uses only the
//     first 10 PTR names; include/redirect nesting deeper than max_depth or
//     a loop -> permerror; evaluation longer than max_time -> temperror;
//     records over max_record_bytes / max_terms -> permerror.
// - A pass can only come from a matching mechanism whose qualifier is "+"
//   in a record that was fetched and parsed without error; every error path
//   returns temperror or permerror immediately.
// - The explanation (exp=, §6.2) is fetched only for a fail result, ignored
//   on any problem, and replaced by Config::default_explanation.
// - Arguments: the resolver and config are referenced until the awaitable
//   completes; the input is taken by value.
#pragma once

#include <asio/awaitable.hpp>
#include <chrono>
#include <string>

#include "auth/spf/record.hpp"
#include "auth/spf/verdict.hpp"
#include "core/clock.hpp"
#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "dns/resolver.hpp"

namespace mxsec::auth::spf {

struct Config {
  int max_dns_terms = limits::kSpfDnsTerms;
  int max_void_lookups = limits::kSpfVoidLookups;
  int max_mx_ptr_names = limits::kSpfMxPtrNames;
  int max_depth = limits::kSpfDnsTerms;  // include/redirect nesting
  std::size_t max_record_bytes = limits::kSpfRecordBytes;
  int max_terms = limits::kSpfTerms;
  std::size_t max_macro_bytes = limits::kSpfMacroExpansionBytes;
  std::chrono::milliseconds max_time = limits::kSpfTotalTime;
  // Explanation for a fail when the record has no usable exp= (macro-expanded
  // as explain-string; used literally if that fails).
  std::string default_explanation = "%{i} is not one of %{d}'s designated mail servers";
  const Clock* clock = nullptr;     // for %{t} and max_time; nullptr = system clock
  RecordCache* cache = nullptr;     // optional parsed-record cache (not thread-safe)
};

struct CheckHostInput {
  IpAddress ip;           // the SMTP client; IPv4-mapped IPv6 is treated as IPv4 (§5)
  std::string domain;     // <domain>: the domain whose policy is checked
  std::string sender;     // <sender>: full address; "" or no local part -> "postmaster" (§4.3)
  std::string helo;       // for %{h}
  std::string receiver;   // for %{r}; "" -> "unknown"
  Identity identity = Identity::mailfrom;
};

struct SpfResult {
  Verdict verdict = Verdict::none;
  Identity identity = Identity::mailfrom;
  std::string domain;       // the <domain> check_host() started with
  std::string explanation;  // only for fail
  std::string reason;       // why: the problem for temperror/permerror, else a short note
  std::string mechanism;    // the matching term ("-all", "include:x"), "default" if none matched
  std::string record;       // the record that decided (after redirect)
  int lookups = 0;          // DNS-querying terms, counted as in §4.6.4
  int void_lookups = 0;
  int dns_queries = 0;      // every query sent, including MX/PTR address lookups and exp
};

asio::awaitable<SpfResult> check_host(dns::Resolver& resolver, CheckHostInput input, const Config& config);

// RFC 7208 §2.4: checks MAIL FROM; with an empty reverse-path ("MAIL FROM:<>")
// checks "postmaster@<helo>" as the HELO identity instead (§2.3). A
// mail_from without '@' is taken as a domain with local part "postmaster".
asio::awaitable<SpfResult> check_sender(dns::Resolver& resolver, IpAddress ip, std::string helo,
                                        std::string mail_from, std::string receiver, const Config& config);

// RFC 7208 §2.3: checks the HELO identity, <sender> = "postmaster@<helo>".
asio::awaitable<SpfResult> check_helo(dns::Resolver& resolver, IpAddress ip, std::string helo, std::string receiver,
                                      const Config& config);

}  // namespace mxsec::auth::spf

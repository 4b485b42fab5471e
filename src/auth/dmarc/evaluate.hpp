// auth/dmarc/evaluate.hpp: policy discovery and the DMARC verdict
// (RFC 9989 §4.10.1, §5.3; RFC 7489 §6.6.3 in PSL mode).
//
// Contract
// - Inputs are plain values: the Author Domain (RFC5322.From; U-labels are
//   converted to A-labels here, RFC 9989 §5.3.1), the SPF result and the
//   MAIL FROM domain it was computed for, and the DKIM results with their d=
//   (and s=). Results are AuthResult values, mapped once by the caller from
//   spf::Verdict and dkim::Verdict (auth/verify does it); this module does
//   not link the SPF or DKIM modules and never reads a verdict as text.
// - Verdicts (Evaluation::result), all values, never errors:
//     pass      - an Authenticated Identifier ("pass" from SPF or DKIM) is aligned.
//     fail      - a policy record applies and nothing aligned passed.
//     none      - no DMARC Policy Record applies (RFC 9989 §4.10.1: "Mail
//                 Receivers MUST NOT apply the DMARC mechanism"), including
//                 when all records at a name were discarded as multiple.
//     temperror - a DNS query the verdict needed failed, timed out, hit the
//                 query quota or came back DNSSEC-bogus (RFC 9989 §5.3.6: "the
//                 message cannot be considered to pass or fail"). Never pass.
//     permerror - the record that applies is unusable: no valid p (or an
//                 invalid sp/np) and no valid rua (§4.10.1: "applies no DMARC
//                 processing"), or it exceeds a limit.
// - Policy selection (§4.10.1): record at the Author Domain -> p. Record at
//   the Organizational Domain or the PSD, Author Domain below it -> sp if the
//   Author Domain exists, np if it does not (np absent -> sp -> p; sp absent
//   -> p). Existence: RFC 9989 §3.2 "if the response code received for a
//   query for a domain name is NXDOMAIN, then the domain name and any
//   possible subdomains do not exist" — asked as A, then AAAA, then MX until
//   one answers; only when sp and np would differ.
// - t=y (or pct=0): "if the policy is "quarantine" and the value of the "t"
//   tag is "y", a policy of "none" will be applied ...; if the policy is
//   "reject" ..., a policy of "quarantine"" -> `applied_policy`.
// - Every DNS question goes through one DmarcLookup: cached, counted
//   (`dns_queries`) and bounded by Config::max_queries (fail closed).
#pragma once

#include <asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc/alignment.hpp"
#include "auth/dmarc/org_domain.hpp"
#include "auth/dmarc/record.hpp"
#include "auth/dmarc/report_uri.hpp"
#include "core/limits.hpp"
#include "dns/types.hpp"

namespace mxsec::dns {
class Resolver;
}

namespace mxsec::auth::dmarc {

struct Config {
  OrgDomainMode mode = OrgDomainMode::tree_walk;
  std::shared_ptr<const PublicSuffixList> psl;  // required for OrgDomainMode::psl
  int max_tree_walk_queries = limits::kDmarcTreeWalkQueries;
  std::size_t max_queries = 48;                 // per evaluation, all DNS questions
  RecordLimits record_limits;
  bool check_nonexistent = true;                // np needs the existence check
  // false: stop at the first aligned pass (fewest DNS questions). true: judge
  // every identifier, as aggregate reports need both SPF and DKIM alignment.
  bool check_all_identifiers = false;
};

enum class Verdict { pass, fail, none, temperror, permerror };
const char* to_string(Verdict v);

enum class PolicySource { p, sp, np, none };  // which tag the requested policy came from
const char* to_string(PolicySource s);

enum class DomainExistence { exists, nonexistent, unknown, not_checked };
const char* to_string(DomainExistence e);

struct PolicyDiscovery {
  enum class Outcome { found, none, temperror, permerror } outcome = Outcome::none;
  std::string author_domain;
  std::string policy_domain;    // where the applied record was found
  bool from_psd = false;        // the record is a Public Suffix Domain's (psd=y)
  std::string org_domain;       // of the Author Domain, when the discovery determined it
  std::optional<Record> record;
  std::string raw_record;
  dns::Security security = dns::Security::indeterminate;  // of the policy record's answer
  std::vector<std::string> notes;  // multiple records discarded, walk details
  std::string error;
};
const char* to_string(PolicyDiscovery::Outcome o);

asio::awaitable<PolicyDiscovery> discover_policy(DmarcLookup& lookup, OrgDomainFinder& finder, const Config& config,
                                                 std::string author_domain);

struct PolicyChoice {
  Policy requested = Policy::none;      // after p/sp/np selection
  PolicySource source = PolicySource::none;
  Policy applied = Policy::none;        // after t=y lowering (what to do on fail)
  DomainExistence existence = DomainExistence::not_checked;
  std::string error;                    // existence check failed
};

// Chooses p, sp or np for `discovery` (which must be `found`), running the
// existence check when it matters.
asio::awaitable<PolicyChoice> choose_policy(DmarcLookup& lookup, const Config& config, const PolicyDiscovery& discovery);

// The result of one underlying SPF or DKIM check, as DMARC uses it: only
// pass makes an Authenticated Identifier (RFC 9989 §4.4), and a temperror
// may hide one (§5.3.6); the other values are kept for reports. The words
// are RFC 8601's (§2.7.1 dkim, §2.7.2 spf).
enum class AuthResult { none, pass, fail, softfail, neutral, policy, temperror, permerror };
const char* to_string(AuthResult r);
// The RFC 8601 word, case-insensitively (for data files and the CLI).
std::optional<AuthResult> parse_auth_result(std::string_view word);

enum class Mechanism { spf, dkim };
const char* to_string(Mechanism m);  // "spf", "dkim"

struct SpfInput {
  AuthResult result = AuthResult::none;
  std::string domain;  // RFC5321.MailFrom domain the check used
};

struct DkimInput {
  AuthResult result = AuthResult::none;
  std::string domain;  // d=
  std::string selector;
};

struct EvaluationInput {
  std::string author_domain;
  SpfInput spf;
  std::vector<DkimInput> dkim;
};

struct IdentifierResult {
  Mechanism mechanism = Mechanism::spf;
  std::string domain;
  AuthResult result = AuthResult::none;  // the underlying result as given
  AlignmentCheck alignment;
  bool considered = false; // pass (or temperror) results are checked; others are not
};

struct Evaluation {
  Verdict result = Verdict::none;
  PolicyDiscovery discovery;
  PolicyChoice policy;
  std::vector<IdentifierResult> identifiers;
  bool spf_aligned = false;
  bool dkim_aligned = false;
  std::string reason;                  // one line, safe for logs
  std::size_t dns_queries = 0;
};

asio::awaitable<Evaluation> evaluate(dns::Resolver& resolver, const Config& config, EvaluationInput input);

}  // namespace mxsec::auth::dmarc

// auth/dmarc/org_domain.hpp: DMARC record lookup, the DNS Tree Walk and the
// Organizational Domain (RFC 9989 §4.10, §4.10.2; RFC 7489 §3.2).
//
// Contract
// - DmarcLookup asks for "_dmarc.<domain>" TXT through the Resolver and
//   classifies the answer (RFC 9989 §4.10 steps 1-2): non-DMARC TXT records
//   are discarded; "If multiple DMARC Policy Records are returned, they are
//   all discarded" (-> Kind::multiple, which walks treat like no record);
//   a DNS failure or a DNSSEC-bogus answer is Kind::failed (never a record);
//   a DMARC record over a limit is Kind::invalid. Answers are cached per
//   domain for the life of the object, so the several walks of one message
//   share queries. A work quota (max_queries) fails closed: a lookup past it
//   is Kind::failed with reason "DNS query quota exhausted".
// - tree_walk_targets() lists the names a walk from `domain` visits:
//   the domain itself, then (RFC 9989 §4.10 step 4) "If x < 8, remove the
//   left-most (highest-numbered) label from the subject domain. If x >= 8,
//   remove the left-most (highest-numbered) labels from the subject domain
//   until 7 labels remain", then one label at a time down to the TLD.
//   "Author Domains with more than eight labels do not result in more than
//   eight DNS queries." The walk stops at a single record with psd=y or psd=n.
// - select_org_domain() is the §4.10.2 selection over the walked records:
//   psd=n -> that domain; psd=y (not at the start) -> the domain one label
//   below it; otherwise the record with the fewest labels; no record -> the
//   starting domain.
// - PublicSuffixList owns a libpsl context (RFC 7489 mode: Organizational
//   Domain = registrable domain, or the name itself when it is a public
//   suffix). load() prefers Debian's DAFSA file, then psl_latest(), then the
//   library's built-in list (never freed: psl_builtin() is static).
// - OrgDomainFinder answers "Organizational Domain of X" in the configured
//   mode. Tree walk mode may return an error (a DNS failure during the walk:
//   the caller maps it to temperror); PSL mode never queries DNS.
#pragma once

#include <asio/awaitable.hpp>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dmarc/record.hpp"
#include "core/result.hpp"
#include "dns/types.hpp"

struct psl_ctx_st;

namespace mxsec::dns {
class Resolver;
}

namespace mxsec::auth::dmarc {

enum class OrgDomainMode { tree_walk, psl };
const char* to_string(OrgDomainMode m);

class PublicSuffixList {
 public:
  // Loads `path` if given, else /usr/share/publicsuffix/public_suffix_list.dafsa,
  // else psl_latest(nullptr), else psl_builtin(). Fails only if all fail.
  static Result<std::shared_ptr<const PublicSuffixList>> load(const std::string& path = {});

  // Registrable domain ("public suffix + 1 label") of a lower- or mixed-case
  // UTF-8 or A-label name; nullopt when the name is itself a public suffix,
  // is empty, has an empty label (leading dot), or is not valid UTF-8.
  std::optional<std::string> registrable_domain(std::string_view name) const;
  const std::string& source() const { return source_; }

  struct Free {
    void operator()(psl_ctx_st* p) const;
  };

 private:
  std::unique_ptr<psl_ctx_st, Free> owned_;
  const psl_ctx_st* ctx_ = nullptr;
  std::string source_;
};

struct DmarcLookupResult {
  enum class Kind { none, single, multiple, failed, invalid } kind = Kind::none;
  std::string domain;                 // without "_dmarc."
  std::string raw;                    // the record text (single / invalid)
  std::optional<Record> record;       // Kind::single
  dns::Security security = dns::Security::indeterminate;
  std::string reason;                 // failed / invalid / multiple: why
};
const char* to_string(DmarcLookupResult::Kind k);

struct LookupConfig {
  RecordLimits record_limits;
  // Total DNS questions one evaluation may ask (policy, alignment walks,
  // existence check, report authorization). Past it: Kind::failed.
  std::size_t max_queries = 48;
};

class DmarcLookup {
 public:
  DmarcLookup(dns::Resolver& resolver, LookupConfig config = {}) : resolver_(resolver), config_(config) {}
  asio::awaitable<DmarcLookupResult> lookup(std::string domain);
  // Any other TXT question made on behalf of this evaluation, counted
  // against the same quota (report authorization).
  asio::awaitable<dns::TxtAnswer> txt(std::string name);
  // Existence check (RFC 9989 §3.2 "Non-existent Domains", RFC 8020): NXDOMAIN means the
  // name does not exist; counted against the quota.
  asio::awaitable<dns::AddressAnswer> address(std::string name, dns::RrType type);
  asio::awaitable<dns::MxAnswer> mx(std::string name);

  std::size_t queries() const { return queries_; }
  const std::vector<std::string>& queried_names() const { return queried_; }
  dns::Resolver& resolver() { return resolver_; }

 private:
  bool take_quota(const std::string& name);
  dns::Resolver& resolver_;
  LookupConfig config_;
  std::map<std::string, DmarcLookupResult> cache_;
  std::size_t queries_ = 0;
  std::vector<std::string> queried_;
};

// Pure: the names a walk from `domain` visits, in order, at most
// `max_queries` of them (limits::kDmarcTreeWalkQueries).
std::vector<std::string> tree_walk_targets(std::string_view domain, int max_queries = limits::kDmarcTreeWalkQueries);

struct TreeWalk {
  std::string start;
  std::vector<DmarcLookupResult> visited;  // in walk order
  bool failed = false;                     // a lookup failed: the walk is incomplete
  bool invalid = false;                    // a DMARC record was over a limit
  std::string error;
};

// Walks from `start` (inclusive), stopping at psd=y/psd=n or after the last target.
asio::awaitable<TreeWalk> tree_walk(DmarcLookup& lookup, std::string start,
                                    int max_queries = limits::kDmarcTreeWalkQueries);

struct OrgDomainSelection {
  std::string org_domain;
  enum class Rule { psd_n, psd_y, fewest_labels, start_domain } rule = Rule::start_domain;
  std::optional<std::string> psd_domain;  // the psd=y domain, when rule == psd_y
};
const char* to_string(OrgDomainSelection::Rule r);

// Pure: RFC 9989 §4.10.2 selection over a completed walk.
OrgDomainSelection select_org_domain(std::string_view start, const std::vector<DmarcLookupResult>& visited);

std::size_t label_count(std::string_view domain);

class OrgDomainFinder {
 public:
  OrgDomainFinder(DmarcLookup& lookup, OrgDomainMode mode, std::shared_ptr<const PublicSuffixList> psl,
                  int max_walk_queries = limits::kDmarcTreeWalkQueries)
      : lookup_(lookup), mode_(mode), psl_(std::move(psl)), max_walk_queries_(max_walk_queries) {}

  // Error (Errc::dns) when the walk could not complete; Errc::limit when a
  // record on the way was over a limit.
  asio::awaitable<Result<std::string>> org_domain(std::string domain);
  OrgDomainMode mode() const { return mode_; }
  const PublicSuffixList* psl() const { return psl_.get(); }
  DmarcLookup& lookup() { return lookup_; }

 private:
  DmarcLookup& lookup_;
  OrgDomainMode mode_;
  std::shared_ptr<const PublicSuffixList> psl_;
  int max_walk_queries_;
  std::map<std::string, std::string> cache_;
};

}  // namespace mxsec::auth::dmarc

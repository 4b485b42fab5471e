#include "auth/dmarc/org_domain.hpp"

#include <libpsl.h>

#include "core/strings.hpp"
#include "dns/resolver.hpp"

namespace mxsec::auth::dmarc {

const char* to_string(OrgDomainMode m) { return m == OrgDomainMode::psl ? "psl" : "tree-walk"; }

const char* to_string(DmarcLookupResult::Kind k) {
  switch (k) {
    case DmarcLookupResult::Kind::none: return "none";
    case DmarcLookupResult::Kind::single: return "single";
    case DmarcLookupResult::Kind::multiple: return "multiple";
    case DmarcLookupResult::Kind::failed: return "failed";
    case DmarcLookupResult::Kind::invalid: return "invalid";
  }
  return "?";
}

const char* to_string(OrgDomainSelection::Rule r) {
  switch (r) {
    case OrgDomainSelection::Rule::psd_n: return "psd=n";
    case OrgDomainSelection::Rule::psd_y: return "psd=y";
    case OrgDomainSelection::Rule::fewest_labels: return "fewest-labels";
    case OrgDomainSelection::Rule::start_domain: return "start-domain";
  }
  return "?";
}

// --- libpsl ----------------------------------------------------------------

void PublicSuffixList::Free::operator()(psl_ctx_st* p) const { psl_free(p); }

Result<std::shared_ptr<const PublicSuffixList>> PublicSuffixList::load(const std::string& path) {
  auto list = std::make_shared<PublicSuffixList>();
  const std::string debian = "/usr/share/publicsuffix/public_suffix_list.dafsa";
  if (!path.empty()) {
    list->owned_.reset(psl_load_file(path.c_str()));
    if (!list->owned_) return make_error(Errc::io, "cannot load public suffix list " + path);
    list->source_ = path;
  } else {
    list->owned_.reset(psl_load_file(debian.c_str()));
    list->source_ = debian;
    if (!list->owned_) {
      list->owned_.reset(psl_latest(nullptr));
      list->source_ = "psl_latest";
    }
  }
  if (list->owned_) {
    list->ctx_ = list->owned_.get();
  } else {
    // Static data inside libpsl: must never be passed to psl_free().
    list->ctx_ = psl_builtin();
    list->source_ = "libpsl built-in";
    if (!list->ctx_) return make_error(Errc::io, "no public suffix list available (libpsl has no built-in list)");
  }
  return std::shared_ptr<const PublicSuffixList>(std::move(list));
}

std::optional<std::string> PublicSuffixList::registrable_domain(std::string_view name) const {
  if (name.empty() || name.front() == '.' || name.size() > 253) return std::nullopt;
  if (name.back() == '.') name.remove_suffix(1);
  for (std::string_view label : split(name, '.'))
    if (label.empty()) return std::nullopt;
  const std::string input(name);
  char* lower = nullptr;
  if (psl_str_to_utf8lower(input.c_str(), "utf-8", nullptr, &lower) != PSL_SUCCESS || !lower) return std::nullopt;
  std::unique_ptr<char, void (*)(char*)> owned(lower, [](char* s) { psl_free_string(s); });
  const char* reg = psl_registrable_domain(ctx_, owned.get());
  if (!reg) return std::nullopt;
  return std::string(reg);  // points into `owned`; copy before it is freed
}

// --- _dmarc lookups ------------------------------------------------------------

bool DmarcLookup::take_quota(const std::string& name) {
  if (queries_ >= config_.max_queries) return false;
  ++queries_;
  queried_.push_back(name);
  return true;
}

asio::awaitable<DmarcLookupResult> DmarcLookup::lookup(std::string domain) {
  domain = normalize_domain(domain);
  if (auto it = cache_.find(domain); it != cache_.end()) co_return it->second;

  DmarcLookupResult out;
  out.domain = domain;
  const std::string qname = "_dmarc." + domain;
  if (!is_valid_domain_name(qname)) {
    // A name that cannot be asked about cannot hold a record.
    out.kind = DmarcLookupResult::Kind::none;
    out.reason = "name too long or malformed: " + escape_for_log(qname, 80);
    cache_.emplace(domain, out);
    co_return out;
  }
  if (!take_quota(qname)) {
    out.kind = DmarcLookupResult::Kind::failed;
    out.reason = "DNS query quota exhausted before " + qname;
    co_return out;  // not cached: the quota, not the DNS, said no
  }
  dns::TxtAnswer answer = co_await resolver_.txt(qname);
  out.security = answer.security;
  if (answer.failed()) {
    out.kind = DmarcLookupResult::Kind::failed;
    out.reason = dns::describe_failure("TXT " + qname, answer);
  } else if (answer.status == dns::Status::ok) {
    std::vector<std::string> dmarc;
    for (const dns::TxtRecord& txt : answer.records) {
      std::string joined = txt.joined();  // RFC 9989 §4.5: concatenate the character-strings
      if (is_dmarc_record(joined)) dmarc.push_back(std::move(joined));
    }
    if (dmarc.size() > 1) {
      out.kind = DmarcLookupResult::Kind::multiple;
      out.reason = std::to_string(dmarc.size()) + " DMARC records at " + qname + ": all discarded";
    } else if (dmarc.size() == 1) {
      out.raw = dmarc.front();
      auto rec = parse_record(out.raw, config_.record_limits);
      if (rec) {
        out.kind = DmarcLookupResult::Kind::single;
        out.record = std::move(*rec);
      } else {
        out.kind = DmarcLookupResult::Kind::invalid;
        out.reason = rec.error().message;
      }
    }
  }
  cache_.emplace(domain, out);
  co_return out;
}

asio::awaitable<dns::TxtAnswer> DmarcLookup::txt(std::string name) {
  if (!take_quota(name)) {
    dns::TxtAnswer a;
    a.qname = name;
    a.status = dns::Status::error;
    a.error = "DNS query quota exhausted";
    co_return a;
  }
  co_return co_await resolver_.txt(std::move(name));
}

asio::awaitable<dns::AddressAnswer> DmarcLookup::address(std::string name, dns::RrType type) {
  if (!take_quota(name)) {
    dns::AddressAnswer a;
    a.qname = name;
    a.status = dns::Status::error;
    a.error = "DNS query quota exhausted";
    co_return a;
  }
  // Two separate co_await statements: g++ 12 miscompiles co_await on a
  // conditional expression of awaitables (double free seen under ASan).
  if (type == dns::RrType::aaaa) co_return co_await resolver_.aaaa(std::move(name));
  co_return co_await resolver_.a(std::move(name));
}

asio::awaitable<dns::MxAnswer> DmarcLookup::mx(std::string name) {
  if (!take_quota(name)) {
    dns::MxAnswer a;
    a.qname = name;
    a.status = dns::Status::error;
    a.error = "DNS query quota exhausted";
    co_return a;
  }
  co_return co_await resolver_.mx(std::move(name));
}

// --- tree walk -------------------------------------------------------------------

std::size_t label_count(std::string_view domain) {
  if (domain.empty()) return 0;
  return split(domain, '.').size();
}

namespace {

// The last `n` labels of `domain`.
std::string last_labels(std::string_view domain, std::size_t n) {
  const std::vector<std::string_view> labels = split(domain, '.');
  if (n >= labels.size()) return std::string(domain);
  std::string out;
  for (std::size_t i = labels.size() - n; i < labels.size(); ++i) {
    if (!out.empty()) out += '.';
    out += labels[i];
  }
  return out;
}

}  // namespace

std::vector<std::string> tree_walk_targets(std::string_view domain, int max_queries) {
  std::vector<std::string> out;
  const std::string start = normalize_domain(domain);
  const std::size_t x = label_count(start);
  if (x == 0 || max_queries <= 0) return out;
  out.push_back(start);
  // Step 4: "If x < 8, remove the left-most label ... If x >= 8, remove ...
  // labels ... until 7 labels remain." With max_queries = 8 this is exact;
  // a smaller configured budget shortens the same way (budget - 1 labels).
  const std::size_t keep = static_cast<std::size_t>(max_queries) - 1;
  std::size_t next = x >= keep + 1 ? keep : x - 1;
  for (; next >= 1 && out.size() < static_cast<std::size_t>(max_queries); --next) out.push_back(last_labels(start, next));
  return out;
}

asio::awaitable<TreeWalk> tree_walk(DmarcLookup& lookup, std::string start, int max_queries) {
  TreeWalk walk;
  walk.start = normalize_domain(start);
  for (const std::string& target : tree_walk_targets(walk.start, max_queries)) {
    DmarcLookupResult r = co_await lookup.lookup(target);
    const auto kind = r.kind;
    const bool stop = kind == DmarcLookupResult::Kind::single && r.record->psd != PsdFlag::unspecified;
    if (kind == DmarcLookupResult::Kind::failed && !walk.failed) {
      walk.failed = true;
      walk.error = r.reason;
    }
    if (kind == DmarcLookupResult::Kind::invalid && !walk.invalid) {
      walk.invalid = true;
      if (walk.error.empty()) walk.error = "invalid DMARC record at _dmarc." + r.domain + ": " + r.reason;
    }
    walk.visited.push_back(std::move(r));
    // A failed step makes the rest of the walk meaningless: the record we
    // could not see might have stopped it (psd) or be the one selected.
    if (stop || walk.failed) break;
  }
  co_return walk;
}

OrgDomainSelection select_org_domain(std::string_view start, const std::vector<DmarcLookupResult>& visited) {
  OrgDomainSelection sel;
  const std::string s = normalize_domain(start);
  const DmarcLookupResult* fewest = nullptr;
  for (const DmarcLookupResult& r : visited) {  // longest to shortest
    if (r.kind != DmarcLookupResult::Kind::single) continue;
    if (r.record->psd == PsdFlag::no) {
      sel.org_domain = r.domain;
      sel.rule = OrgDomainSelection::Rule::psd_n;
      return sel;
    }
    if (r.record->psd == PsdFlag::yes && r.domain != s) {
      // "the Organizational Domain is the domain one label below this one"
      sel.org_domain = last_labels(s, label_count(r.domain) + 1);
      sel.rule = OrgDomainSelection::Rule::psd_y;
      sel.psd_domain = r.domain;
      return sel;
    }
    if (!fewest || label_count(r.domain) < label_count(fewest->domain)) fewest = &r;
  }
  if (fewest) {
    sel.org_domain = fewest->domain;
    sel.rule = OrgDomainSelection::Rule::fewest_labels;
    return sel;
  }
  // "If this process does not determine the Organizational Domain, then the
  // initial target domain is the Organizational Domain."
  sel.org_domain = s;
  sel.rule = OrgDomainSelection::Rule::start_domain;
  return sel;
}

asio::awaitable<Result<std::string>> OrgDomainFinder::org_domain(std::string domain) {
  domain = normalize_domain(domain);
  if (auto it = cache_.find(domain); it != cache_.end()) co_return it->second;
  if (mode_ == OrgDomainMode::psl) {
    std::string org = domain;
    if (psl_)
      if (auto reg = psl_->registrable_domain(domain)) org = *reg;
    cache_.emplace(domain, org);
    co_return org;
  }
  TreeWalk walk = co_await tree_walk(lookup_, domain, max_walk_queries_);
  if (walk.failed) co_return make_error(Errc::dns, walk.error);
  if (walk.invalid) co_return make_error(Errc::limit, walk.error);
  std::string org = select_org_domain(domain, walk.visited).org_domain;
  cache_.emplace(domain, org);
  co_return org;
}

}  // namespace mxsec::auth::dmarc

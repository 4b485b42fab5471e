#include "check/mail_records.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "auth/dkim/key.hpp"
#include "auth/dmarc/evaluate.hpp"
#include "auth/dmarc/org_domain.hpp"
#include "auth/dmarc/record.hpp"
#include "auth/dmarc/report_uri.hpp"
#include "auth/spf/macro.hpp"
#include "auth/spf/record.hpp"
#include "core/strings.hpp"
#include "dns/resolver.hpp"
#include "policy/tlsrpt/record.hpp"

namespace mxsec::check {
namespace {

using nlohmann::json;

json opt_json(const std::optional<std::string>& v) { return v ? json(*v) : json(nullptr); }

// "SERVFAIL", "timeout", "DNSSEC validation failed (reason)", ...
template <class T>
std::string dns_problem(const dns::Answer<T>& a) {
  if (a.bogus()) return "DNSSEC validation failed" + (a.why_bogus.empty() ? "" : " (" + escape_for_log(a.why_bogus) + ")");
  switch (a.status) {
    case dns::Status::servfail: return "SERVFAIL";
    case dns::Status::timeout: return "timeout";
    case dns::Status::error: return "resolver error" + (a.error.empty() ? "" : ": " + escape_for_log(a.error));
    default: return dns::to_string(a.status);
  }
}

// Adds the dns-failure finding for a failed question and returns the problem
// text for the section's `dns_error`.
template <class T>
std::string report_dns_failure(Findings& findings, const std::string& qname, const char* type, const dns::Answer<T>& a,
                               const std::string& what) {
  std::string problem = dns_problem(a);
  add_finding(findings, Severity::error, "dns-failure",
              std::string(type) + " query for " + escape_for_log(qname) + " failed: " + problem + "; " + what +
                  " cannot be checked",
              "fix the authoritative DNS servers (or DNSSEC signatures) for " + escape_for_log(qname));
  return problem;
}

std::vector<std::string> joined_txts(const dns::TxtAnswer& a) {
  std::vector<std::string> out;
  for (const dns::TxtRecord& r : a.records) out.push_back(r.joined());
  return out;
}

// ----------------------------------------------------------------- SPF --

char qualifier_char(auth::spf::Verdict v) {
  switch (v) {
    case auth::spf::Verdict::fail: return '-';
    case auth::spf::Verdict::softfail: return '~';
    case auth::spf::Verdict::neutral: return '?';
    default: return '+';
  }
}

// The name a domain-spec stands for when it can be known without a message:
// literal text, plus %{d} (the current domain). Other macro letters depend on
// the client or the sender: nullopt.
std::optional<std::string> static_target(const auth::spf::MacroString& ms, const std::string& domain) {
  for (const auth::spf::MacroToken& t : ms.tokens)
    if (t.type == auth::spf::MacroToken::Type::macro && t.letter != 'd') return std::nullopt;
  auth::spf::MacroVars vars;
  vars.domain = domain;
  std::string out;
  if (!auth::spf::expand(ms, vars, out)) return std::nullopt;
  if (!auth::spf::to_target_name(out)) return std::nullopt;
  return to_lower(out);
}

struct ChainEnd {
  std::optional<std::string> all;  // the all term that ends evaluation
  bool complete = true;            // false: a redirect target could not be read
};

class SpfWalk {
 public:
  SpfWalk(dns::Resolver& resolver, Findings& findings, const SpfWalkLimits& limits, SpfSection& section)
      : resolver_(resolver), findings_(findings), limits_(limits), s_(section) {}

  asio::awaitable<ChainEnd> walk(const std::string& domain, const auth::spf::Record& rec, int depth);
  // Why the lookup count is only a lower bound (the first reason met).
  const std::string& inexact_reason() const { return inexact_reason_; }

 private:
  enum class Via { include, redirect };
  asio::awaitable<ChainEnd> follow(const std::string& target, Via via, const std::string& from, int depth);
  void inexact(const std::string& why) {
    s_.lookups_exact = false;
    if (inexact_reason_.empty()) inexact_reason_ = why;
  }
  dns::Resolver& resolver_;
  Findings& findings_;
  const SpfWalkLimits& limits_;
  SpfSection& s_;
  int records_fetched_ = 0;
  std::vector<std::string> path_;
  std::set<std::string> ptr_reported_;
  std::string inexact_reason_;
};

asio::awaitable<ChainEnd> SpfWalk::walk(const std::string& domain, const auth::spf::Record& rec, int depth) {
  using auth::spf::MechanismKind;
  path_.push_back(domain);
  ChainEnd end;
  const auth::spf::Mechanism* all = nullptr;
  for (const auth::spf::Mechanism& m : rec.mechanisms) {
    if (all) {
      // RFC 7208 §5.1: "Mechanisms after "all" will never be tested."
      add_finding(findings_, Severity::warning, "spf-after-all",
                  "SPF record of " + domain + " has terms after " + escape_for_log(all->text) + " (" +
                      escape_for_log(m.text) + " ...); they are never evaluated (RFC 7208 §5.1)",
                  "move the all term to the end of the record or remove the terms after it");
      break;
    }
    if (auth::spf::queries_dns(m.kind)) ++s_.lookups;
    std::optional<std::string> target;
    if (m.kind != MechanismKind::all && m.kind != MechanismKind::ip4 && m.kind != MechanismKind::ip6) {
      if (!m.has_domain_spec) target = domain;
      else target = static_target(m.domain_spec, domain);
    }
    switch (m.kind) {
      case MechanismKind::all:
        all = &m;
        break;
      case MechanismKind::ptr:
        if (ptr_reported_.insert(domain).second)
          add_finding(findings_, Severity::warning, "spf-ptr",
                      "SPF record of " + domain + " uses " + escape_for_log(m.text) +
                          ": RFC 7208 §5.5 says \"This mechanism SHOULD NOT be published\" (slow, unreliable, "
                          "and many receivers skip it)",
                      "replace ptr with ip4:/ip6: or a: terms for the sending hosts");
        break;
      case MechanismKind::include:
        if (!target) {
          inexact("an include target that depends on the message (macros) or is not a valid name");
          break;
        }
        s_.includes.push_back(*target);
        co_await follow(*target, Via::include, domain, depth);
        break;
      case MechanismKind::a:
      case MechanismKind::exists:
      case MechanismKind::mx: {
        if (!target) {
          inexact(std::string("an ") + auth::spf::to_string(m.kind) + " target that depends on the message (macros) or is not a valid name");
          break;
        }
        // What a receiver asks for a client that matches nothing: A for an
        // IPv4 client (a, exists), MX (mx).
        if (m.kind == MechanismKind::mx) {
          dns::MxAnswer ans = co_await resolver_.mx(*target);
          if (ans.failed()) {
            report_dns_failure(findings_, *target, "MX", ans, "the SPF mx term");
          } else if (ans.empty_answer()) {
            ++s_.void_lookups;
          } else if (static_cast<int>(ans.records.size()) > limits::kSpfMxPtrNames) {
            // RFC 7208 §4.6.4: "if more than 10 "mx" records ... are returned
            // for this further lookup, then permerror MUST be returned".
            add_finding(findings_, Severity::error, "spf-mx-too-many",
                        "SPF term " + escape_for_log(m.text) + " in the record of " + domain + ": " + *target +
                            " has " + std::to_string(ans.records.size()) +
                            " MX records; more than 10 is a permerror (RFC 7208 §4.6.4)",
                        "list the mail servers with ip4:/ip6: or a: terms instead of mx");
          }
        } else {
          dns::AddressAnswer ans = co_await resolver_.a(*target);
          if (ans.failed())
            report_dns_failure(findings_, *target, "A", ans, "the SPF term " + escape_for_log(m.text));
          else if (ans.empty_answer()) ++s_.void_lookups;
        }
        break;
      }
      case MechanismKind::ip4:
      case MechanismKind::ip6:
        break;
    }
  }
  if (all) end.all = std::string(1, qualifier_char(all->qualifier)) + "all";

  if (rec.redirect) {
    if (all) {
      // RFC 7208 §6.1: "For clarity, any "redirect" modifier SHOULD appear as
      // the very last term in a record. Any "redirect" modifier MUST be
      // ignored if there is an "all" mechanism anywhere in the record."
      add_finding(findings_, Severity::warning, "spf-redirect-ignored",
                  "SPF record of " + domain + " has both " + escape_for_log(all->text) + " and redirect=" +
                      escape_for_log(rec.redirect_text) + "; the redirect is ignored (RFC 7208 §6.1)",
                  "remove either the all term or the redirect= modifier");
    } else {
      ++s_.lookups;
      std::optional<std::string> target = static_target(*rec.redirect, domain);
      if (depth == 0) s_.redirect = target ? *target : rec.redirect_text;
      if (!target) {
        inexact("a redirect target that depends on the message (macros) or is not a valid name");
        end.complete = false;
      } else {
        end = co_await follow(*target, Via::redirect, domain, depth);
      }
    }
  }

  if (depth == 0 && rec.exp) {
    // RFC 7208 §6.2: a missing or unusable explanation is ignored, so this is
    // a warning only; the exp TXT is not one of the §4.6.4 terms.
    if (std::optional<std::string> target = static_target(*rec.exp, domain)) {
      dns::TxtAnswer ans = co_await resolver_.txt(*target);
      if (ans.failed() || ans.records.size() != 1)
        add_finding(findings_, Severity::warning, "spf-exp-invalid",
                    "SPF exp=" + escape_for_log(rec.exp_text) + " of " + domain + ": " +
                        (ans.failed() ? "the TXT query for " + *target + " failed (" + dns_problem(ans) + ")"
                         : ans.records.empty()
                             ? "no TXT record at " + *target
                             : std::to_string(ans.records.size()) + " TXT records at " + *target) +
                        "; receivers ignore the explanation (RFC 7208 §6.2)",
                    "publish exactly one TXT record at " + *target + " or remove exp=");
    }
  }
  path_.pop_back();
  co_return end;
}

asio::awaitable<ChainEnd> SpfWalk::follow(const std::string& target, Via via, const std::string& from, int depth) {
  const char* word = via == Via::include ? "include" : "redirect";
  ChainEnd incomplete;
  incomplete.complete = false;
  if (std::find(path_.begin(), path_.end(), target) != path_.end()) {
    std::string chain;
    for (const std::string& p : path_) chain += p + " -> ";
    add_finding(findings_, Severity::error, "spf-loop",
                std::string("SPF ") + word + " loop: " + chain + target +
                    "; receivers return permerror (RFC 7208 §4.6.4)",
                "remove the " + std::string(word) + " that points back to " + target);
    inexact("loop");
    co_return incomplete;
  }
  if (depth + 1 > limits_.max_depth) {
    inexact("include/redirect nesting deeper than " + std::to_string(limits_.max_depth));
    co_return incomplete;
  }
  if (records_fetched_ >= limits_.max_records) {
    inexact("more than " + std::to_string(limits_.max_records) + " SPF records in the tree");
    co_return incomplete;
  }
  ++records_fetched_;
  dns::TxtAnswer ans = co_await resolver_.txt(target);
  if (ans.failed()) {
    report_dns_failure(findings_, target, "TXT", ans, std::string("the SPF ") + word + " target");
    inexact("DNS failure");
    co_return incomplete;
  }
  if (ans.empty_answer()) ++s_.void_lookups;
  std::vector<std::string> spf;
  for (std::string& t : joined_txts(ans))
    if (auth::spf::is_spf_record(t)) spf.push_back(std::move(t));
  if (spf.empty()) {
    // RFC 7208 §5.2 (include): "none" -> permerror; §6.1 (redirect): "if no
    // SPF record is found ... the result is a permerror".
    add_finding(findings_, Severity::error, via == Via::include ? "spf-include-missing" : "spf-redirect-missing",
                "SPF record of " + from + " has " + word + (via == Via::include ? ":" : "=") + target + ", but " +
                    target + " publishes no SPF record; receivers return permerror (RFC 7208 " +
                    (via == Via::include ? "§5.2" : "§6.1") + ")",
                "remove the " + std::string(word) + " or publish an SPF record at " + target);
    s_.syntax_ok = false;
    co_return incomplete;
  }
  if (spf.size() > 1) {
    add_finding(findings_, Severity::error, "spf-multiple",
                std::to_string(spf.size()) + " SPF records at " + target + " (" + word + " target of " + from +
                    "); receivers return permerror (RFC 7208 §4.5)",
                "merge them into one v=spf1 record at " + target);
    s_.syntax_ok = false;
    co_return incomplete;
  }
  auto rec = auth::spf::parse_record(spf.front());
  if (!rec) {
    add_finding(findings_, Severity::error, "spf-syntax",
                "SPF record of " + target + " (" + word + " target of " + from + "): " +
                    escape_for_log(rec.error().message) + "; receivers return permerror (RFC 7208 §4.6)",
                "correct the SPF record at " + target);
    s_.syntax_ok = false;
    co_return incomplete;
  }
  ChainEnd end = co_await walk(target, *rec, depth + 1);
  co_return end;
}

// --------------------------------------------------------------- DMARC --

bool is_uri_warning(const std::string& w) { return w.rfind("rua ", 0) == 0 || w.rfind("ruf ", 0) == 0; }

}  // namespace

// ------------------------------------------------------------- to_json --

json SpfSection::to_json() const {
  return json{{"domain", domain},
              {"record", opt_json(record)},
              {"records", records},
              {"dns_error", dns_error.empty() ? json(nullptr) : json(dns_error)},
              {"syntax_ok", syntax_ok},
              {"lookups", lookups},
              {"lookups_limit", limits::kSpfDnsTerms},
              {"lookups_exact", lookups_exact},
              {"void_lookups", void_lookups},
              {"void_lookups_limit", limits::kSpfVoidLookups},
              {"all", opt_json(all)},
              {"redirect", opt_json(redirect)},
              {"includes", includes}};
}

json DmarcSection::to_json() const {
  json dests = json::array();
  for (const DmarcDestination& d : external_destinations) {
    json j{{"tag", d.tag},
           {"uri", d.uri},
           {"authorized", d.authorization == "authorized"},
           {"authorization", d.authorization}};
    if (!d.note.empty()) j["note"] = d.note;
    dests.push_back(std::move(j));
  }
  return json{{"domain", domain},
              {"record", opt_json(record)},
              {"record_domain", record_domain.empty() ? json(nullptr) : json(record_domain)},
              {"found_at", found_at.empty() ? json(nullptr) : json(found_at)},
              {"dns_error", dns_error.empty() ? json(nullptr) : json(dns_error)},
              {"multiple", multiple},
              {"policy", opt_json(policy)},
              {"p", opt_json(p)},
              {"sp", opt_json(sp)},
              {"np", opt_json(np)},
              {"testing", testing},
              {"rua", rua},
              {"ruf", ruf},
              {"external_destinations", dests},
              {"deprecated_tags", deprecated_tags},
              {"syntax_warnings", syntax_warnings}};
}

json DkimSelectorResult::to_json() const {
  return json{{"selector", selector},
              {"name", name},
              {"found", found},
              {"dns_error", dns_error.empty() ? json(nullptr) : json(dns_error)},
              {"key_type", opt_json(key_type)},
              {"bits", bits ? json(*bits) : json(nullptr)},
              {"testing", testing},
              {"revoked", revoked},
              {"sha1_only", sha1_only},
              {"error", error.empty() ? json(nullptr) : json(error)}};
}

json DkimSection::to_json() const {
  json list = json::array();
  for (const DkimSelectorResult& s : selectors) list.push_back(s.to_json());
  return json{{"selectors", list}};
}

json TlsRptSection::to_json() const {
  json uris = json::array();
  for (const TlsRptRua& r : rua) {
    json j{{"uri", r.uri}, {"kind", r.kind}};
    if (!r.reason.empty()) j["reason"] = r.reason;
    uris.push_back(std::move(j));
  }
  return json{{"domain", domain},
              {"record", opt_json(record)},
              {"records", records},
              {"dns_error", dns_error.empty() ? json(nullptr) : json(dns_error)},
              {"syntax_error", syntax_error.empty() ? json(nullptr) : json(syntax_error)},
              {"rua", uris}};
}

// ----------------------------------------------------------------- SPF --

asio::awaitable<SpfSection> check_spf(dns::Resolver& resolver, std::string domain, Findings& findings,
                                      SpfWalkLimits limits) {
  SpfSection s;
  s.domain = normalize_domain(to_lower(domain));
  dns::TxtAnswer ans = co_await resolver.txt(s.domain);
  if (ans.failed()) {
    s.dns_error = report_dns_failure(findings, s.domain, "TXT", ans, "the SPF record");
    co_return s;
  }
  for (std::string& t : joined_txts(ans))
    if (auth::spf::is_spf_record(t)) s.records.push_back(std::move(t));
  if (s.records.empty()) {
    add_finding(findings, Severity::error, "spf-missing",
                "no SPF record at " + s.domain + ": receivers get SPF \"none\" and anyone may use the domain in "
                "MAIL FROM",
                "publish a TXT record \"v=spf1 <your senders> -all\" at " + s.domain +
                    " (\"v=spf1 -all\" if the domain sends no mail)");
    co_return s;
  }
  if (s.records.size() > 1) {
    // RFC 7208 §4.5: "If the resultant record set includes more than one
    // record, check_host() produces the "permerror" result."
    add_finding(findings, Severity::error, "spf-multiple",
                std::to_string(s.records.size()) + " SPF records at " + s.domain +
                    ": receivers return permerror (RFC 7208 §4.5)",
                "merge them into one v=spf1 record");
    co_return s;
  }
  s.record = s.records.front();
  if (s.record->size() > limits.long_record_bytes)
    add_finding(findings, Severity::warning, "spf-record-long",
                "SPF record of " + s.domain + " is " + std::to_string(s.record->size()) +
                    " bytes: the DNS answer may not fit in 512 octets (RFC 7208 §3.4) and needs TCP",
                "shorten the record, e.g. move hosts into an include: of a sub-domain");
  auto rec = auth::spf::parse_record(*s.record);
  if (!rec) {
    add_finding(findings, Severity::error, "spf-syntax",
                "SPF record of " + s.domain + ": " + escape_for_log(rec.error().message) +
                    "; receivers return permerror (RFC 7208 §4.6)",
                "correct the record; every term must follow RFC 7208 §4.6.1 and §5");
    co_return s;
  }
  s.syntax_ok = true;
  SpfWalk walk(resolver, findings, limits, s);
  ChainEnd end = co_await walk.walk(s.domain, *rec, 0);
  s.all = end.all;

  const std::string count = (s.lookups_exact ? "" : "at least ") + std::to_string(s.lookups);
  if (s.lookups > limits.max_dns_terms) {
    add_finding(findings, Severity::error, "spf-too-many-lookups",
                "SPF evaluation of " + s.domain + " needs " + count + " DNS-querying terms (include, a, mx, ptr, "
                "exists, redirect); RFC 7208 §4.6.4 limits them to " + std::to_string(limits.max_dns_terms) +
                    ", so receivers return permerror",
                "flatten includes into ip4:/ip6: terms or drop services that no longer send for the domain");
  } else if (!s.lookups_exact) {
    add_finding(findings, Severity::info, "spf-lookups-inexact",
                "the DNS lookup count of " + s.domain + " (" + std::to_string(s.lookups) +
                    ") is a lower bound: " + walk.inexact_reason(),
                "");
  }
  if (s.void_lookups > limits.max_void_lookups)
    add_finding(findings, Severity::error, "spf-void-lookups",
                "SPF evaluation of " + s.domain + " meets " + std::to_string(s.void_lookups) +
                    " void lookups (names without records); RFC 7208 §4.6.4 allows " +
                    std::to_string(limits.max_void_lookups) + ", so receivers return permerror",
                "remove the include/a/mx/exists terms that name domains without records");

  if (end.complete) {
    if (!s.all) {
      add_finding(findings, Severity::warning, "spf-no-all",
                  "SPF record of " + s.domain + " ends without an all term or redirect=: mail from other hosts "
                  "gets \"neutral\" (RFC 7208 §4.7)",
                  "end the record with -all (or ~all)");
    } else if (*s.all == "+all") {
      add_finding(findings, Severity::error, "spf-plus-all",
                  "SPF record of " + s.domain + " ends with +all: every host on the Internet passes SPF",
                  "replace +all with -all (or ~all)");
    } else if (*s.all == "?all") {
      add_finding(findings, Severity::warning, "spf-neutral-all",
                  "SPF record of " + s.domain + " ends with ?all: mail from other hosts gets \"neutral\", "
                  "which says nothing",
                  "replace ?all with -all (or ~all)");
    } else if (*s.all == "~all") {
      add_finding(findings, Severity::info, "spf-softfail-all",
                  "SPF record of " + s.domain + " ends with ~all: mail from other hosts gets \"softfail\"; "
                  "with a DMARC policy of quarantine or reject that is enough",
                  "");
    }
  }
  co_return s;
}

// --------------------------------------------------------------- DMARC --

asio::awaitable<DmarcSection> check_dmarc(dns::Resolver& resolver, std::string domain, Findings& findings) {
  using namespace auth::dmarc;
  using Kind = DmarcLookupResult::Kind;
  DmarcSection s;
  s.domain = normalize_domain(to_lower(domain));
  Config config;  // RFC 9989 tree walk
  DmarcLookup lookup(resolver);
  OrgDomainFinder finder(lookup, config.mode, nullptr, config.max_tree_walk_queries);

  const DmarcLookupResult first = co_await lookup.lookup(s.domain);
  if (first.kind == Kind::failed) {
    s.dns_error = escape_for_log(first.reason);
    add_finding(findings, Severity::error, "dns-failure",
                "TXT query for _dmarc." + s.domain + " failed: " + s.dns_error + "; the DMARC record cannot be checked",
                "fix the authoritative DNS servers (or DNSSEC signatures) for _dmarc." + s.domain);
    co_return s;
  }
  if (first.kind == Kind::multiple) {
    s.multiple = true;
    add_finding(findings, Severity::error, "dmarc-multiple",
                "several DMARC records at _dmarc." + s.domain +
                    ": receivers discard them all (RFC 9989 §4.10 step 2) and look further up the tree",
                "keep exactly one v=DMARC1 record at _dmarc." + s.domain);
  }
  if (first.kind == Kind::invalid) {
    s.record = first.raw;
    s.record_domain = s.domain;
    s.found_at = "domain";
    add_finding(findings, Severity::error, "dmarc-syntax",
                "DMARC record at _dmarc." + s.domain + " is unusable: " + escape_for_log(first.reason),
                "publish a record within the limits, e.g. \"v=DMARC1; p=reject; rua=mailto:...\"");
    co_return s;
  }

  const PolicyDiscovery d = co_await discover_policy(lookup, finder, config, s.domain);
  if (d.outcome == PolicyDiscovery::Outcome::temperror) {
    s.dns_error = escape_for_log(d.error);
    add_finding(findings, Severity::error, "dns-failure",
                "DMARC discovery for " + s.domain + " failed: " + s.dns_error + "; the DMARC record cannot be checked",
                "fix the authoritative DNS servers (or DNSSEC signatures) of the _dmarc names");
    co_return s;
  }
  if (d.outcome == PolicyDiscovery::Outcome::none) {
    if (!s.multiple)
      add_finding(findings, Severity::error, "dmarc-missing",
                  "no DMARC record at _dmarc." + s.domain + " or above it: receivers apply no DMARC policy, so "
                  "the domain in From: can be forged",
                  "publish \"v=DMARC1; p=none; rua=mailto:dmarc-reports@" + s.domain +
                      "\" at _dmarc." + s.domain + ", read the reports, then move to p=quarantine and p=reject");
    co_return s;
  }
  if (!d.record) {  // permerror without a record (invalid Author Domain, a record over a limit up the tree)
    add_finding(findings, Severity::error, "dmarc-syntax", "DMARC discovery for " + s.domain + ": " +
                escape_for_log(d.error), "publish a valid v=DMARC1 record");
    co_return s;
  }

  const Record& rec = *d.record;
  s.record = d.raw_record;
  s.record_domain = d.policy_domain;
  s.found_at = d.policy_domain == s.domain ? "domain" : d.from_psd ? "public_suffix_domain" : "organizational_domain";
  if (rec.p) s.p = to_string(*rec.p);
  if (rec.sp) s.sp = to_string(*rec.sp);
  if (rec.np) s.np = to_string(*rec.np);
  s.testing = rec.testing;
  for (const ReportUri& u : rec.rua) s.rua.push_back(u.uri);
  for (const ReportUri& u : rec.ruf) s.ruf.push_back(u.uri);
  s.deprecated_tags = rec.deprecated_tags;
  const bool inherited = s.found_at != "domain";
  const std::string where = "_dmarc." + s.record_domain;

  for (const std::string& w : rec.warnings) {
    if (is_uri_warning(w)) continue;  // reported per URI below
    s.syntax_warnings.push_back(w);
    add_finding(findings, Severity::error, "dmarc-syntax",
                "DMARC record at " + where + ": " + escape_for_log(w) +
                    "; receivers ignore the broken part (RFC 9989 §4.7) and use defaults",
                "correct the tag; see RFC 9989 §4.7 for the valid values");
  }
  if (d.outcome == PolicyDiscovery::Outcome::permerror) {
    add_finding(findings, Severity::error, "dmarc-syntax",
                "DMARC record at " + where + " has no valid p= and no valid rua=: receivers apply no DMARC "
                "processing (RFC 9989 §4.10.1)",
                "add p=none (or stronger) and a rua=mailto: address");
    co_return s;
  }

  if (inherited)
    add_finding(findings, Severity::info, "dmarc-inherited",
                "no DMARC record at _dmarc." + s.domain + "; the record at " + where + " (" +
                    (d.from_psd ? "public suffix domain" : "organizational domain") + ") applies to it",
                "");

  const Policy applied = inherited ? rec.effective_sp() : rec.effective_p();
  s.policy = to_string(applied);
  if (applied == Policy::none) {
    add_finding(findings, Severity::warning, "dmarc-p-none",
                "DMARC policy for " + s.domain + " is none (" + (inherited ? "sp/p at " + where : "p=") +
                    "): monitoring only, forged mail is still delivered",
                "after checking the aggregate reports, move to p=quarantine and then p=reject");
  } else if (!inherited) {
    if (rec.sp && *rec.sp == Policy::none)
      add_finding(findings, Severity::warning, "dmarc-sp-none",
                  "DMARC record of " + s.domain + " has p=" + to_string(applied) +
                      " but sp=none: sub-domains can be forged",
                  "remove sp= or set it to quarantine or reject");
    if (rec.np && *rec.np == Policy::none)
      add_finding(findings, Severity::warning, "dmarc-np-none",
                  "DMARC record of " + s.domain + " has np=none: non-existent sub-domains can be forged",
                  "remove np= or set np=reject");
  }
  if (rec.testing)
    add_finding(findings, Severity::warning, "dmarc-testing",
                "DMARC record at " + where + (rec.testing_from_pct ? " has pct=0" : " has t=y") +
                    ": receivers apply one policy level lower (RFC 9989 §4.7)",
                rec.testing_from_pct ? "remove pct=" : "remove t=y");
  for (const std::string& tag : rec.deprecated_tags) {
    const bool pct = tag == "pct";
    add_finding(findings, pct ? Severity::warning : Severity::info, "dmarc-deprecated-tag",
                "DMARC record at " + where + " uses " + escape_for_log(tag) +
                    "=, deprecated in RFC 9989" +
                    (pct ? " (receivers now read only pct=0 and pct=100; use t=y for testing)"
                         : " (receivers ignore it)"),
                "remove " + escape_for_log(tag) + "= from the record");
  }

  if (!rec.has_valid_rua())
    add_finding(findings, Severity::warning, "dmarc-no-rua",
                "DMARC record at " + where + " has no usable rua=: you get no aggregate reports, so you cannot see "
                "who sends as " + s.domain,
                "add rua=mailto:dmarc-reports@" + s.record_domain);
  for (const auto* list : {&rec.rua, &rec.ruf}) {
    const char* tag = list == &rec.rua ? "rua" : "ruf";
    for (const ReportUri& u : *list)
      if (!u.actionable)
        add_finding(findings, Severity::warning, "dmarc-bad-report-uri",
                    std::string("DMARC ") + tag + " URI " + escape_for_log(u.uri) + " at " + where +
                        " is not usable" + (u.note.empty() ? "" : ": " + escape_for_log(u.note)),
                    "use a mailto: URI with a valid address (receivers send reports only by mail)");
  }

  // External-destination authorization (RFC 9990 §3).
  // The Organizational Domain of the policy domain is needed only when a
  // report host lies outside the policy domain (a host inside it cannot be
  // external); the walk behind it costs DNS questions.
  std::string policy_org = d.policy_domain;
  bool need_org = false;
  for (const auto* list : {&rec.rua, &rec.ruf})
    for (const ReportUri& u : *list)
      if (u.actionable && !is_subdomain_of(u.host, d.policy_domain)) need_org = true;
  if (need_org) {
    auto org = co_await finder.org_domain(d.policy_domain);
    if (org) {
      policy_org = *org;
    } else {
      add_finding(findings, Severity::error, "dns-failure",
                  "cannot determine the organizational domain of " + d.policy_domain + ": " +
                      escape_for_log(org.error().message) + "; report destinations checked against " +
                      d.policy_domain,
                  "fix the DNS servers of the _dmarc names");
    }
  }
  for (const char* tag : {"rua", "ruf"}) {
    const std::vector<ReportUri>& uris = std::string_view(tag) == "rua" ? rec.rua : rec.ruf;
    if (uris.empty()) continue;
    std::vector<ReportDestination> dests =
        co_await verify_report_destinations(resolver, finder, d.policy_domain, policy_org, uris, tag);
    for (const ReportDestination& dest : dests) {
      if (dest.authorization == ReportAuthorization::internal ||
          dest.authorization == ReportAuthorization::not_applicable)
        continue;
      s.external_destinations.push_back(
          DmarcDestination{tag, dest.uri.uri, dest.uri.actionable, to_string(dest.authorization), dest.note});
      if (dest.authorization == ReportAuthorization::not_authorized) {
        add_finding(findings, Severity::warning, std::string("dmarc-external-") + tag + "-unauthorized",
                    std::string("DMARC ") + tag + " destination " + escape_for_log(dest.uri.uri) +
                        " is outside " + policy_org + " and has not authorized reports for " + d.policy_domain +
                        " (no v=DMARC1 TXT at " + escape_for_log(dest.query_name) +
                        "): receivers send it nothing (RFC 9990 §3)",
                    "ask the operator of " + escape_for_log(dest.uri.host) + " to publish \"v=DMARC1\" at " +
                        escape_for_log(dest.query_name.empty() ? d.policy_domain + "._report._dmarc." + dest.uri.host
                                                               : dest.query_name) +
                        ", or use an address in your own domain");
      } else if (dest.authorization == ReportAuthorization::temperror) {
        add_finding(findings, Severity::error, "dns-failure",
                    "TXT query for " + escape_for_log(dest.query_name) + " failed: " + escape_for_log(dest.note) +
                        "; the authorization of " + tag + " destination " + escape_for_log(dest.uri.uri) +
                        " cannot be checked",
                    "fix the DNS servers of " + escape_for_log(dest.uri.host));
      }
    }
  }
  co_return s;
}

// ---------------------------------------------------------------- DKIM --

asio::awaitable<DkimSection> check_dkim(dns::Resolver& resolver, std::string domain, std::vector<std::string> selectors,
                                        Findings& findings) {
  DkimSection section;
  domain = normalize_domain(to_lower(domain));
  if (selectors.empty()) {
    add_finding(findings, Severity::info, "dkim-no-selector",
                "no DKIM selector given: DKIM keys cannot be discovered from DNS, so none were checked",
                "run again with --dkim-selector for each selector your mail is signed with");
    co_return section;
  }
  std::set<std::string> seen;
  for (std::string& selector : selectors) {
    DkimSelectorResult r;
    r.selector = selector;
    r.name = to_lower(selector) + "._domainkey." + domain;
    if (!seen.insert(r.name).second) continue;
    if (selector.empty() || !is_valid_domain_name(r.name)) {
      r.error = "not a valid selector";
      add_finding(findings, Severity::error, "dkim-selector-invalid",
                  "DKIM selector " + escape_for_log(selector) + " does not form a valid name (" +
                      escape_for_log(r.name) + ")",
                  "give the selector as it appears in s= of your DKIM-Signature headers");
      section.selectors.push_back(std::move(r));
      continue;
    }
    dns::TxtAnswer ans = co_await resolver.txt(r.name);
    if (ans.failed()) {
      r.dns_error = report_dns_failure(findings, r.name, "TXT", ans, "the DKIM key");
      section.selectors.push_back(std::move(r));
      continue;
    }
    if (ans.records.empty()) {
      add_finding(findings, Severity::error, "dkim-key-missing",
                  "no DKIM key record at " + r.name + ": signatures with s=" + escape_for_log(selector) +
                      " fail (RFC 6376 §6.1.2)",
                  "publish the public key as a TXT record at " + r.name);
      section.selectors.push_back(std::move(r));
      continue;
    }
    r.found = true;
    if (ans.records.size() > 1)
      // RFC 6376 §3.6.2.2: with several key records "the Verifier can choose
      // one of the key records or may cycle through" them: results vary.
      add_finding(findings, Severity::warning, "dkim-multiple",
                  std::to_string(ans.records.size()) + " TXT records at " + r.name +
                      ": verifiers may pick any one of them (RFC 6376 §3.6.2.2)",
                  "keep exactly one key record per selector");
    const std::string text = ans.records.front().joined();
    auto key = auth::dkim::parse_key_record(text);
    if (!key) {
      r.error = escape_for_log(key.error().message);
      const bool unusable = key.error().code == Errc::unsupported;
      add_finding(findings, Severity::error, unusable ? "dkim-key-unusable" : "dkim-syntax",
                  "DKIM key record at " + r.name + ": " + r.error + "; signatures with s=" +
                      escape_for_log(selector) + " fail",
                  "publish a key record \"v=DKIM1; k=rsa; p=<base64 public key>\" (RFC 6376 §3.6.1)");
      section.selectors.push_back(std::move(r));
      continue;
    }
    r.key_type = auth::dkim::to_string(key->type);
    r.testing = key->testing;
    r.revoked = key->revoked;
    r.sha1_only = !key->sha256_allowed;
    if (key->revoked) {
      add_finding(findings, Severity::warning, "dkim-revoked",
                  "DKIM key at " + r.name + " is revoked (empty p=): signatures with s=" + escape_for_log(selector) +
                      " fail (RFC 6376 §3.6.1)",
                  "stop signing with this selector, or publish its public key");
    } else {
      // Any size is loaded here (min 0): the check reports weak keys rather
      // than refusing them as the verifier does.
      auto pk = auth::dkim::PublicKey::load(*key, 0, std::numeric_limits<int>::max());
      if (!pk) {
        r.error = escape_for_log(pk.error().message);
        add_finding(findings, Severity::error, "dkim-syntax",
                    "DKIM key at " + r.name + ": " + r.error + "; signatures with s=" + escape_for_log(selector) +
                        " fail",
                    "publish the public key as base64 SubjectPublicKeyInfo (rsa) or the raw 32-byte key (ed25519)");
      } else {
        r.bits = pk->bits();
        if (key->type == auth::dkim::KeyType::rsa) {
          // RFC 8301 §3.2: "Signers MUST use RSA keys of at least 1024 bits
          // for all keys. Signers SHOULD use RSA keys of at least 2048 bits."
          if (pk->bits() < limits::kDkimMinRsaBits)
            add_finding(findings, Severity::error, "dkim-rsa-weak",
                        "DKIM key at " + r.name + " is RSA " + std::to_string(pk->bits()) +
                            " bits: below the 1024-bit minimum of RFC 8301 §3.2; verifiers reject it",
                        "generate a 2048-bit RSA key (or Ed25519 alongside it) and publish it under a new selector");
          else if (pk->bits() < 2048)
            add_finding(findings, Severity::warning, "dkim-rsa-short",
                        "DKIM key at " + r.name + " is RSA " + std::to_string(pk->bits()) +
                            " bits: RFC 8301 §3.2 says signers SHOULD use at least 2048 bits",
                        "generate a 2048-bit RSA key and publish it under a new selector");
          else if (pk->bits() > 4096)
            add_finding(findings, Severity::warning, "dkim-rsa-large",
                        "DKIM key at " + r.name + " is RSA " + std::to_string(pk->bits()) +
                            " bits: verifiers need only handle up to 4096 bits (RFC 8301 §3.2)",
                        "use a 2048- to 4096-bit RSA key");
        }
      }
    }
    if (key->testing)
      add_finding(findings, Severity::warning, "dkim-testing",
                  "DKIM key at " + r.name + " has t=y (testing): verifiers may treat its signatures as unsigned "
                  "(RFC 6376 §3.6.1)",
                  "remove t=y once signing works");
    if (!key->sha256_allowed)
      add_finding(findings, Severity::error, "dkim-sha1-only",
                  "DKIM key at " + r.name + " restricts h= to hash algorithms without sha256: RFC 8301 §3.1 forbids "
                  "rsa-sha1, so no signature can verify",
                  "remove h= from the key record (or set h=sha256)");
    section.selectors.push_back(std::move(r));
  }
  co_return section;
}

// ------------------------------------------------------------- TLS-RPT --

asio::awaitable<TlsRptSection> check_tlsrpt(dns::Resolver& resolver, std::string domain, Findings& findings) {
  namespace tlsrpt = policy::tlsrpt;
  TlsRptSection s;
  s.domain = normalize_domain(to_lower(domain));
  const std::string name = "_smtp._tls." + s.domain;
  dns::TxtAnswer ans = co_await resolver.txt(name);
  if (ans.failed()) {
    s.dns_error = report_dns_failure(findings, name, "TXT", ans, "the TLS-RPT record");
    co_return s;
  }
  std::vector<std::string> near_misses;
  for (std::string& t : joined_txts(ans)) {
    if (tlsrpt::is_tlsrpt_record(t)) s.records.push_back(std::move(t));
    else if (istarts_with(trim(t), "v=tlsrpt")) near_misses.push_back(std::move(t));
  }
  for (const std::string& t : near_misses)
    add_finding(findings, Severity::error, "tlsrpt-syntax",
                "TXT record at " + name + " looks like TLS-RPT but does not begin with \"v=TLSRPTv1;\", so senders "
                "discard it (RFC 8460 §3): " + escape_for_log(t, 120),
                "publish \"v=TLSRPTv1; rua=mailto:tls-reports@" + s.domain + "\"");
  if (s.records.empty()) {
    if (near_misses.empty())
      add_finding(findings, Severity::info, "tlsrpt-missing",
                  "no TLS-RPT record at " + name + ": you get no reports when senders fail to reach you over TLS",
                  "publish one to get TLS failure reports: \"v=TLSRPTv1; rua=mailto:tls-reports@" + s.domain +
                      "\" at " + name);
    co_return s;
  }
  if (s.records.size() > 1) {
    // RFC 8460 §3: "If the number of resulting records is not one, senders
    // MUST assume the recipient domain does not implement TLSRPT."
    add_finding(findings, Severity::error, "tlsrpt-multiple",
                std::to_string(s.records.size()) + " TLS-RPT records at " + name +
                    ": senders assume the domain does not implement TLS-RPT (RFC 8460 §3)",
                "keep exactly one v=TLSRPTv1 record");
    co_return s;
  }
  s.record = s.records.front();
  auto rec = tlsrpt::parse_record(*s.record);
  if (!rec) {
    s.syntax_error = escape_for_log(rec.error().message);
    add_finding(findings, Severity::error, "tlsrpt-syntax",
                "TLS-RPT record at " + name + ": " + s.syntax_error + "; senders send no reports",
                "publish \"v=TLSRPTv1; rua=mailto:tls-reports@" + s.domain + "\" (RFC 8460 §3)");
    co_return s;
  }
  int usable = 0;
  const std::vector<tlsrpt::RuaCheck> checks = tlsrpt::check_rua(*rec);
  for (std::size_t i = 0; i < rec->rua.size() && i < checks.size(); ++i) {
    const tlsrpt::RuaCheck& c = checks[i];
    s.rua.push_back(TlsRptRua{rec->rua[i], tlsrpt::to_string(c.kind), c.reason});
    if (c.kind == tlsrpt::RuaKind::mailto || c.kind == tlsrpt::RuaKind::https) {
      ++usable;
      continue;
    }
    add_finding(findings, Severity::warning, "tlsrpt-bad-rua",
                "TLS-RPT rua URI " + escape_for_log(rec->rua[i]) + " at " + name + " is not usable" +
                    (c.reason.empty() ? "" : ": " + escape_for_log(c.reason)),
                "use a mailto: address or an https: URL (RFC 8460 §3)");
  }
  if (usable == 0)
    add_finding(findings, Severity::error, "tlsrpt-no-usable-rua",
                "TLS-RPT record at " + name + " has no usable rua URI: senders can send no reports",
                "list at least one mailto: or https: destination in rua=");
  co_return s;
}

}  // namespace mxsec::check

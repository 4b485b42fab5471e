// check/spf_section.cpp: the SPF section (see mail_records.hpp).
#include "check/mail_records.hpp"

#include <algorithm>
#include <limits>
#include <set>

#include "auth/spf/macro.hpp"
#include "auth/spf/record.hpp"
#include "core/strings.hpp"
#include "dns/resolver.hpp"

#include "check/record_util.hpp"

namespace mxsec::check {

using nlohmann::json;
using namespace detail;

namespace {

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

// RFC 7208 §4.8: the target-name of a mechanism, its domain-spec or else
// the current domain, when it can be known without a message. nullopt also
// for the mechanisms that name no host (all, ip4, ip6).
std::optional<std::string> target_name(const auth::spf::Mechanism& m, const std::string& domain) {
  using auth::spf::MechanismKind;
  if (m.kind == MechanismKind::all || m.kind == MechanismKind::ip4 || m.kind == MechanismKind::ip6)
    return std::nullopt;
  if (!m.has_domain_spec) return domain;
  return static_target(m.domain_spec, domain);
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
  asio::awaitable<const auth::spf::Mechanism*> walk_mechanisms(const std::string& domain,
                                                               const auth::spf::Record& rec, int depth);
  asio::awaitable<void> visit_mechanism(const auth::spf::Mechanism& m, const std::string& domain, int depth);
  asio::awaitable<ChainEnd> follow_redirect(const std::string& domain, const auth::spf::Record& rec, int depth);
  asio::awaitable<ChainEnd> follow(const std::string& target, Via via, const std::string& from, int depth);
  asio::awaitable<void> host_term(const auth::spf::Mechanism& m, const std::string& target,
                                  const std::string& domain);
  asio::awaitable<void> check_exp(const std::string& domain, const auth::spf::Record& rec);
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

// One record of the tree: its mechanisms, then its redirect= modifier, then
// (for DOMAIN's own record) its exp= modifier.
asio::awaitable<ChainEnd> SpfWalk::walk(const std::string& domain, const auth::spf::Record& rec, int depth) {
  path_.push_back(domain);
  ChainEnd end;
  const auth::spf::Mechanism* all = co_await walk_mechanisms(domain, rec, depth);
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
      end = co_await follow_redirect(domain, rec, depth);
    }
  }

  if (depth == 0 && rec.exp) co_await check_exp(domain, rec);
  path_.pop_back();
  co_return end;
}

// The mechanisms of one record, in order, as check_host() meets them for a
// client that matches none; returns the "all" mechanism that ends them, if
// any.
asio::awaitable<const auth::spf::Mechanism*> SpfWalk::walk_mechanisms(const std::string& domain,
                                                                      const auth::spf::Record& rec, int depth) {
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
    if (m.kind == auth::spf::MechanismKind::all) all = &m;
    else co_await visit_mechanism(m, domain, depth);
  }
  co_return all;
}

// One mechanism other than "all": the findings it raises and the DNS work it
// costs a receiver (RFC 7208 §5).
asio::awaitable<void> SpfWalk::visit_mechanism(const auth::spf::Mechanism& m, const std::string& domain, int depth) {
  using auth::spf::MechanismKind;
  const std::optional<std::string> target = target_name(m, domain);
  switch (m.kind) {
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
      co_await host_term(m, *target, domain);
      break;
    }
    case MechanismKind::all:  // ends the mechanisms: walk_mechanisms()
    case MechanismKind::ip4:
    case MechanismKind::ip6:
      break;
  }
}

// The redirect= modifier of a record without "all" (RFC 7208 §6.1): the
// evaluation goes on at its target, whose end is this record's end.
asio::awaitable<ChainEnd> SpfWalk::follow_redirect(const std::string& domain, const auth::spf::Record& rec,
                                                   int depth) {
  ++s_.lookups;
  std::optional<std::string> target = static_target(*rec.redirect, domain);
  if (depth == 0) s_.redirect = target ? *target : rec.redirect_text;
  if (!target) {
    inexact("a redirect target that depends on the message (macros) or is not a valid name");
    ChainEnd unknown;
    unknown.complete = false;
    co_return unknown;
  }
  ChainEnd end = co_await follow(*target, Via::redirect, domain, depth);
  co_return end;
}

// a, exists and mx: what a receiver asks for a client that matches nothing,
// A for an IPv4 client (a, exists), MX (mx).
asio::awaitable<void> SpfWalk::host_term(const auth::spf::Mechanism& m, const std::string& target,
                                         const std::string& domain) {
  using auth::spf::MechanismKind;
  if (m.kind == MechanismKind::mx) {
    dns::MxAnswer ans = co_await resolver_.mx(target);
    if (ans.failed()) {
      report_dns_failure(findings_, target, "MX", ans, "the SPF mx term");
    } else if (ans.empty_answer()) {
      ++s_.void_lookups;
    } else if (static_cast<int>(ans.records.size()) > limits::kSpfMxPtrNames) {
      // RFC 7208 §4.6.4: "if more than 10 "mx" records ... are returned
      // for this further lookup, then permerror MUST be returned".
      add_finding(findings_, Severity::error, "spf-mx-too-many",
                  "SPF term " + escape_for_log(m.text) + " in the record of " + domain + ": " + target +
                      " has " + std::to_string(ans.records.size()) +
                      " MX records; more than 10 is a permerror (RFC 7208 §4.6.4)",
                  "list the mail servers with ip4:/ip6: or a: terms instead of mx");
    }
  } else {
    dns::AddressAnswer ans = co_await resolver_.a(target);
    if (ans.failed())
      report_dns_failure(findings_, target, "A", ans, "the SPF term " + escape_for_log(m.text));
    else if (ans.empty_answer()) ++s_.void_lookups;
  }
}

// exp= at the top level (RFC 7208 §6.2).
asio::awaitable<void> SpfWalk::check_exp(const std::string& domain, const auth::spf::Record& rec) {
  // RFC 7208 §6.2: a missing or unusable explanation is ignored, so this is
  // a warning only; the exp TXT is not one of the §4.6.4 terms.
  if (std::optional<std::string> target = static_target(*rec.exp, domain)) {
    dns::TxtAnswer ans = co_await resolver_.txt(*target);
    if (ans.failed() || ans.records.size() != 1)
      add_finding(findings_, Severity::warning, "spf-exp-invalid",
                  "SPF exp=" + escape_for_log(rec.exp_text) + " of " + domain + ": " +
                      (ans.failed() ? dns::describe_failure("TXT " + *target, ans)
                       : ans.records.empty()
                           ? "no TXT record at " + *target
                           : std::to_string(ans.records.size()) + " TXT records at " + *target) +
                      "; receivers ignore the explanation (RFC 7208 §6.2)",
                  "publish exactly one TXT record at " + *target + " or remove exp=");
  }
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

// RFC 7208 §4.5: the SPF records among DOMAIN's TXT records; exactly one
// may be published. False (with a finding) when there is none or several.
bool select_record(const dns::TxtAnswer& ans, SpfSection& s, Findings& findings) {
  for (std::string& t : joined_txts(ans))
    if (auth::spf::is_spf_record(t)) s.records.push_back(std::move(t));
  if (s.records.empty()) {
    add_finding(findings, Severity::error, "spf-missing",
                "no SPF record at " + s.domain + ": receivers get SPF \"none\" and anyone may use the domain in "
                "MAIL FROM",
                "publish a TXT record \"v=spf1 <your senders> -all\" at " + s.domain +
                    " (\"v=spf1 -all\" if the domain sends no mail)");
    return false;
  }
  if (s.records.size() > 1) {
    // RFC 7208 §4.5: "If the resultant record set includes more than one
    // record, check_host() produces the "permerror" result."
    add_finding(findings, Severity::error, "spf-multiple",
                std::to_string(s.records.size()) + " SPF records at " + s.domain +
                    ": receivers return permerror (RFC 7208 §4.5)",
                "merge them into one v=spf1 record");
    return false;
  }
  s.record = s.records.front();
  return true;
}

// RFC 7208 §4.6.4: the DNS-querying terms and the void lookups of the whole
// tree against their limits.
void lookup_limit_findings(const SpfSection& s, const SpfWalkLimits& limits, const std::string& inexact_reason,
                           Findings& findings) {
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
                    ") is a lower bound: " + inexact_reason,
                "");
  }
  if (s.void_lookups > limits.max_void_lookups)
    add_finding(findings, Severity::error, "spf-void-lookups",
                "SPF evaluation of " + s.domain + " meets " + std::to_string(s.void_lookups) +
                    " void lookups (names without records); RFC 7208 §4.6.4 allows " +
                    std::to_string(limits.max_void_lookups) + ", so receivers return permerror",
                "remove the include/a/mx/exists terms that name domains without records");
}

// What mail from hosts the tree does not list gets: the qualifier of the
// "all" that ends the chain, or "neutral" without one (RFC 7208 §4.7).
void default_result_findings(const SpfSection& s, Findings& findings) {
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

}  // namespace

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
  if (!select_record(ans, s, findings)) co_return s;
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
  lookup_limit_findings(s, limits, walk.inexact_reason(), findings);
  if (end.complete) default_result_findings(s, findings);
  co_return s;
}


}  // namespace mxsec::check

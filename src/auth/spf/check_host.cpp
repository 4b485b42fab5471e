#include "auth/spf/check_host.hpp"

#include <algorithm>
#include <array>

#include "core/strings.hpp"
#include "dns/rdata.hpp"
#include "dns/resolver.hpp"

namespace mxsec::auth::spf {
namespace {

using dns::RrType;

// XXX The record lookup and the a/mx address lookups read the RawAnswer
// with dns/rdata.hpp's decoders (dns::txt_text, dns::decode_address) instead
// of building a dns::TxtAnswer/AddressAnswer: the typed answers copy every
// string into vectors, which cost about 900 instructions per TXT question,
// +19 % for a warm one-include check (bench/spf_callgrind.sh). The
// judgement (RawAnswer::failed()/empty_answer()) and the decoders are the
// dns module's; the colder lookups (PTR, %{p}, exp=) use typed answers.

// A failed or bogus answer as the reason of a temperror. Bogus is judged
// first (failed()): a bogus NXDOMAIN is as unusable as bogus data.
template <class AnswerT>
std::string failure_reason(const AnswerT& a, RrType type, std::string_view name) {
  return dns::describe_failure(std::string(dns::to_string(type)) + " " + std::string(name), a);
}

struct Outcome {
  Verdict verdict = Verdict::neutral;
  std::string reason;
  const Mechanism* mechanism = nullptr;  // the matching term of `record`
  RecordCache::Entry record;             // keeps `mechanism` alive
  std::string domain;                    // the domain `record` belongs to
};

Outcome error_outcome(Verdict v, std::string reason) {
  Outcome o;
  o.verdict = v;
  o.reason = std::move(reason);
  return o;
}

// The record at `domain` decided: a mechanism matched (`m`), or none did.
Outcome decided(Verdict v, const Mechanism* m, RecordCache::Entry record, std::string domain) {
  Outcome o;
  o.verdict = v;
  o.mechanism = m;
  o.record = std::move(record);
  o.domain = std::move(domain);
  return o;
}

class Evaluation {
 public:
  // Views into `in`, which must outlive the Evaluation (both live in the
  // check_host() frame).
  Evaluation(dns::Resolver& resolver, const Config& config, const CheckHostInput& in)
      : resolver_(resolver), config_(config), clock_(config.clock ? *config.clock : system_clock_) {
    start_ = clock_.now();
    ip_ = in.ip.unmapped();  // RFC 7208 §5: IPv4-mapped IPv6 is IPv4
    helo_ = in.helo;
    receiver_ = in.receiver.empty() ? std::string_view("unknown") : std::string_view(in.receiver);
    // RFC 7208 §4.3: "If the <sender> has no local-part, substitute the
    // string "postmaster" for the local-part."
    const std::string_view s = in.sender;
    const auto at = s.rfind('@');
    if (!s.empty() && at != std::string_view::npos && at > 0) {
      sender_ = s;
      local_part_ = s.substr(0, at);
      sender_domain_ = s.substr(at + 1);
    } else {
      sender_domain_ = s.empty() ? std::string_view(in.domain) : at == std::string_view::npos ? s : s.substr(at + 1);
      local_part_ = "postmaster";
      sender_storage_ = "postmaster@" + std::string(sender_domain_);
      sender_ = sender_storage_;
    }
    record_limits_.max_bytes = config.max_record_bytes;
    record_limits_.max_terms = config.max_terms;
  }

  asio::awaitable<Outcome> eval_domain(std::string domain, int depth);
  asio::awaitable<std::string> explain(const Outcome& o);

  int lookups() const { return lookups_; }
  int void_lookups() const { return void_lookups_; }
  int queries() const { return queries_; }

 private:
  bool out_of_time(std::string& reason) const {
    const auto elapsed_ms = (clock_.now() - start_) * 1000;
    if (elapsed_ms <= config_.max_time.count()) return false;
    reason = "evaluation time limit exceeded (" + std::to_string(config_.max_time.count() / 1000) + " s)";
    return true;
  }
  // Counts a question; the caller co_awaits resolver_.resolve() itself so no
  // extra coroutine frame is made per query.
  dns::Resolver& query() {
    ++queries_;
    return resolver_;
  }
  bool count_term(std::string& reason) {
    // RFC 7208 §4.6.4: "SPF implementations MUST limit the total number of
    // those terms to 10 during SPF evaluation ... If this limit is exceeded,
    // the implementation MUST return "permerror"."
    if (++lookups_ > config_.max_dns_terms) {
      reason = "too many DNS lookups (" + std::to_string(lookups_) + " > " + std::to_string(config_.max_dns_terms) + ")";
      return false;
    }
    return true;
  }
  bool count_void(std::string& reason) {
    // RFC 7208 §4.6.4: "SPF implementations SHOULD limit "void lookups" to
    // two. ... Exceeding the limit produces a "permerror" result."
    if (++void_lookups_ > config_.max_void_lookups) {
      reason = "void lookup limit exceeded (" + std::to_string(void_lookups_) + " > " +
               std::to_string(config_.max_void_lookups) + ")";
      return false;
    }
    return true;
  }
  MacroVars vars(std::string_view domain) const {
    MacroVars v;
    v.sender = sender_;
    v.local_part = local_part_;
    v.sender_domain = sender_domain_;
    v.domain = domain;
    v.ip = ip_;
    v.helo = helo_;
    v.receiver = receiver_;
    v.timestamp = clock_.now();
    // RFC 7208 §7.3 (p): "If a subdomain of the <domain> is present, it
    // SHOULD be used."
    for (const auto& n : validated_)
      if (is_subdomain_of(n, domain)) {
        v.validated_domain = n;
        return v;
      }
    if (!validated_.empty()) v.validated_domain = validated_.front();
    return v;
  }
  enum class Target { ok, invalid, error };
  Target target_name(const Mechanism* m, const MacroString* ms, const std::string& domain, std::string& out,
                     std::string& reason) {
    if (m && !m->has_domain_spec) {
      out = domain;
      return Target::ok;
    }
    if (!ms) ms = &m->domain_spec;
    out.clear();
    if (auto r = expand(*ms, vars(domain), out, config_.max_macro_bytes); !r) {
      reason = r.error().message;
      return Target::error;
    }
    return to_target_name(out) ? Target::ok : Target::invalid;
  }
  // How one mechanism, include or redirect step ended.
  enum class Match { no, yes, temperror, permerror };
  // The parsed record selected from the TXT answer at `domain` (RFC 7208
  // §4.4, §4.5), or the outcome that ends this check_host() level.
  struct Selected {
    RecordCache::Entry entry;  // null when `verdict` and `reason` apply
    Verdict verdict = Verdict::none;
    std::string reason;
  };
  Selected select_record(const dns::RawAnswer& answer, const std::string& domain) const;
  // a, mx and exists (§5.3, §5.4, §5.7) in three steps: the question to
  // ask, the answer judged, and for mx the exchanges' addresses. Only the
  // last is a coroutine, so a and exists cost no coroutine frame.
  struct HostQuery {
    bool ask = true;
    Match early = Match::no;  // when !ask
    RrType type = RrType::a;  // of the addresses compared
    RrType qtype = RrType::a; // of the first question (MX for mx)
    unsigned prefix = 0;
  };
  HostQuery host_query(const Mechanism& m, const std::string& domain, std::string& target, std::string& reason);
  Match judge_host_answer(const Mechanism& m, const HostQuery& q, const dns::RawAnswer& ans, const std::string& target,
                          std::vector<std::string>& mx_hosts_out, std::string& reason);
  asio::awaitable<Match> match_mx_hosts(const std::vector<std::string>& hosts, const HostQuery& q,
                                        std::string& reason);
  // The exchanges of an MX answer, in order, without null MX; no when fine.
  Match mx_hosts(const dns::RawAnswer& mx, const std::string& target, std::vector<std::string>& hosts,
                 std::string& reason) const;
  // Does an address of `addrs` (A or AAAA rdata of `name`) lie in ip/prefix?
  Match matches_address(const dns::RawAnswer& addrs, RrType type, unsigned prefix, const std::string& name,
                        std::string& reason) const;
  // Checks a new include or redirect target before descending into it:
  // a valid name, not deeper than max_depth(), not already on the path.
  static Match include_match(const Mechanism& m, Outcome& inner, std::string& reason);
  bool may_descend(std::string_view term, Target t, const std::string& target, int depth, bool redirect,
                   std::string& reason) const;
  asio::awaitable<void> resolve_p();
  asio::awaitable<const std::vector<std::string>*> ptr_names();
  asio::awaitable<bool> validates(const std::string& name);
  asio::awaitable<bool> ptr_match(const std::string& target);

  dns::Resolver& resolver_;
  const Config& config_;
  SystemClock system_clock_;
  const Clock& clock_;
  std::int64_t start_ = 0;
  IpAddress ip_;
  std::string sender_storage_;
  std::string_view sender_, local_part_, sender_domain_, helo_, receiver_;
  RecordLimits record_limits_;
  int lookups_ = 0, void_lookups_ = 0, queries_ = 0;
  bool have_ptr_names_ = false, have_p_ = false;
  std::vector<std::string> ptr_names_;
  std::vector<std::string> validated_;   // for %{p}
  // The include/redirect path, for loop detection: views into the `domain`
  // strings of the eval_domain() frames that are still running. Fixed size
  // (no allocation per check); max_depth keeps the path shorter.
  static constexpr std::size_t kMaxChain = 32;
  std::array<std::string_view, kMaxChain> chain_{};
  std::size_t chain_size_ = 0;
  bool in_chain(std::string_view name) const {
    for (std::size_t i = 0; i < chain_size_; ++i)
      if (iequals(chain_[i], name)) return true;
    return false;
  }
  int max_depth() const { return std::min<int>(config_.max_depth, static_cast<int>(kMaxChain) - 1); }
};

asio::awaitable<const std::vector<std::string>*> Evaluation::ptr_names() {
  if (have_ptr_names_) co_return &ptr_names_;
  have_ptr_names_ = true;
  std::string reason;
  if (out_of_time(reason)) co_return &ptr_names_;
  const std::string rname = ip_.reverse_name();
  // A malformed record makes the whole answer Status::error, so it is not
  // used at all. RFC 7208 §5.5: "If a DNS error occurs while doing the PTR
  // RR lookup, then this mechanism fails to match." A bogus answer is dropped
  // the same way: the client controls its reverse zone, so it must not be
  // able to turn a fail into a temperror.
  dns::NameAnswer names = dns::to_name_answer(co_await query().resolve(rname, RrType::ptr));
  if (!names.usable()) co_return &ptr_names_;
  // RFC 7208 §4.6.4: "the evaluation of each "PTR" record MUST NOT result
  // in querying more than 10 address records ... If this limit is exceeded,
  // all records other than the first 10 MUST be ignored."
  for (std::string& name : names.records) {
    if (ptr_names_.size() >= static_cast<std::size_t>(config_.max_mx_ptr_names)) break;
    ptr_names_.push_back(dns::minimal_escapes(std::move(name)));
  }
  co_return &ptr_names_;
}

// True if `name` has an A/AAAA record equal to the client address. DNS
// errors skip the name (RFC 7208 §5.5: "If a DNS error occurs while doing an
// A RR lookup, then that domain name is skipped and the search continues.").
asio::awaitable<bool> Evaluation::validates(const std::string& name) {
  std::string reason;
  if (out_of_time(reason)) co_return false;
  const RrType type = ip_.is_v4() ? RrType::a : RrType::aaaa;
  const dns::AddressAnswer addrs = dns::to_address_answer(co_await query().resolve(name, type));
  if (!addrs.usable()) co_return false;
  for (const IpAddress& addr : addrs.records)
    if (addr == ip_) co_return true;
  co_return false;
}

asio::awaitable<void> Evaluation::resolve_p() {
  if (have_p_) co_return;
  have_p_ = true;
  const auto* names = co_await ptr_names();
  for (const auto& n : *names)
    if (co_await validates(n)) validated_.push_back(n);
}

asio::awaitable<bool> Evaluation::ptr_match(const std::string& target) {
  // RFC 7208 §5.5: a validated name matches if it equals <target-name> or
  // is a subdomain of it. Only candidates that would match are validated.
  const auto* names = co_await ptr_names();
  for (const auto& n : *names)
    if (is_subdomain_of(n, target) && co_await validates(n)) co_return true;
  co_return false;
}

Evaluation::Selected Evaluation::select_record(const dns::RawAnswer& answer, const std::string& domain) const {
  // §4.4: "If the DNS lookup returns a server failure (RCODE 2) or some
  // other error (RCODE other than 0 or 3), or if the lookup times out, then
  // check_host() terminates immediately with the result "temperror"."
  if (answer.failed()) return {nullptr, Verdict::temperror, failure_reason(answer, RrType::txt, domain)};
  if (answer.empty_answer()) return {nullptr, Verdict::none, "no SPF record at " + escape_for_log(domain)};
  int found = 0;
  std::string scratch, selected_storage;
  std::string_view selected;
  for (const std::string& rd : answer.rdata) {
    const auto text = dns::txt_text(rd, found ? scratch : selected_storage);
    if (!text) return {nullptr, Verdict::temperror, "malformed TXT rdata at " + escape_for_log(domain)};
    if (!is_spf_record(*text)) continue;
    if (++found == 1) selected = *text;
  }
  // §4.5: "If the resultant record set includes more than one record,
  // check_host() produces the "permerror" result."
  if (found > 1)
    return {nullptr, Verdict::permerror,
            "multiple SPF records at " + escape_for_log(domain) + " (" + std::to_string(found) + ")"};
  if (found == 0) return {nullptr, Verdict::none, "no SPF record at " + escape_for_log(domain)};
  RecordCache::Entry entry = config_.cache ? config_.cache->get(selected, record_limits_)
                                           : std::make_shared<const Result<Record>>(parse_record(selected, record_limits_));
  if (!entry->has_value())
    return {nullptr, Verdict::permerror, entry->error().message + " in the SPF record of " + escape_for_log(domain)};
  return {std::move(entry), Verdict::none, {}};
}

Evaluation::HostQuery Evaluation::host_query(const Mechanism& m, const std::string& domain, std::string& target,
                                              std::string& reason) {
  HostQuery q;
  const Target t = target_name(&m, nullptr, domain, target, reason);
  // A target that DNS cannot ask for (empty or over-long label) is treated
  // as a name that does not exist: no match, no query.
  if (t != Target::ok) {
    q.ask = false;
    q.early = t == Target::error ? Match::permerror : Match::no;
    return q;
  }
  // §5: A records for an IPv4 client, AAAA for IPv6; "exists" always asks
  // for A (§5.7).
  q.type = (m.kind == MechanismKind::exists || ip_.is_v4()) ? RrType::a : RrType::aaaa;
  q.qtype = m.kind == MechanismKind::mx ? RrType::mx : q.type;
  q.prefix = ip_.is_v4() ? m.cidr4 : m.cidr6;
  return q;
}

Evaluation::Match Evaluation::judge_host_answer(const Mechanism& m, const HostQuery& q, const dns::RawAnswer& ans,
                                                const std::string& target, std::vector<std::string>& mx_hosts_out,
                                                std::string& reason) {
  if (ans.failed()) {
    reason = failure_reason(ans, q.qtype, target);
    return Match::temperror;
  }
  if (ans.empty_answer()) return count_void(reason) ? Match::no : Match::permerror;
  if (m.kind == MechanismKind::exists) return Match::yes;
  if (m.kind == MechanismKind::a) return matches_address(ans, q.type, q.prefix, target, reason);
  return mx_hosts(ans, target, mx_hosts_out, reason);
}

asio::awaitable<Evaluation::Match> Evaluation::match_mx_hosts(const std::vector<std::string>& hosts,
                                                              const HostQuery& q, std::string& reason) {
  for (const std::string& host : hosts) {
    if (out_of_time(reason)) co_return Match::temperror;
    const dns::RawAnswer addrs = co_await query().resolve(host, q.type);
    if (addrs.failed()) {
      reason = failure_reason(addrs, q.type, host);
      co_return Match::temperror;
    }
    if (addrs.empty_answer()) continue;
    const Match found = matches_address(addrs, q.type, q.prefix, host, reason);
    if (found != Match::no) co_return found;
  }
  co_return Match::no;
}

Evaluation::Match Evaluation::mx_hosts(const dns::RawAnswer& mx, const std::string& target,
                                       std::vector<std::string>& hosts, std::string& reason) const {
  // §4.6.4: "the evaluation of each "MX" record MUST NOT result in querying
  // more than 10 address records ... If this limit is exceeded, the "mx"
  // mechanism MUST produce a "permerror" result."
  if (mx.rdata.size() > static_cast<std::size_t>(config_.max_mx_ptr_names)) {
    reason = "too many MX records at " + escape_for_log(target) + " (" + std::to_string(mx.rdata.size()) + " > " +
             std::to_string(config_.max_mx_ptr_names) + ")";
    return Match::permerror;
  }
  // Decode the whole answer first: a malformed record poisons it (fail
  // closed, as the typed answers of dns::Resolver do).
  hosts.reserve(mx.rdata.size());
  for (const std::string& rd : mx.rdata) {
    auto rec = dns::decode_mx(rd);
    if (!rec) {
      reason = "malformed MX rdata at " + escape_for_log(target);
      return Match::temperror;
    }
    if (!rec->exchange.empty()) hosts.push_back(dns::minimal_escapes(std::move(rec->exchange)));  // "." is a null MX (RFC 7505)
  }
  return Match::no;
}

Evaluation::Match Evaluation::matches_address(const dns::RawAnswer& addrs, RrType type, unsigned prefix,
                                              const std::string& name, std::string& reason) const {
  for (const std::string& rd : addrs.rdata) {
    auto addr = dns::decode_address(rd, type);
    if (!addr) {
      reason = "malformed address rdata for " + escape_for_log(name);
      return Match::temperror;
    }
    if (ip_.in_network(*addr, prefix)) return Match::yes;
  }
  return Match::no;
}

// §5.2: pass -> match; fail, softfail, neutral -> not match; temperror ->
// temperror; permerror or none -> permerror.
Evaluation::Match Evaluation::include_match(const Mechanism& m, Outcome& inner, std::string& reason) {
  switch (inner.verdict) {
    case Verdict::pass: return Match::yes;
    case Verdict::fail:
    case Verdict::softfail:
    case Verdict::neutral: return Match::no;
    case Verdict::temperror: reason = std::move(inner.reason); return Match::temperror;
    case Verdict::permerror: reason = std::move(inner.reason); return Match::permerror;
    case Verdict::none: reason = "'" + escape_for_log(m.text) + "': " + inner.reason; return Match::permerror;
  }
  return Match::permerror;
}

bool Evaluation::may_descend(std::string_view term, Target t, const std::string& target, int depth, bool redirect,
                             std::string& reason) const {
  // §6.1 (redirect) and §5.2 (include): a malformed <target-name> is a
  // permerror rather than "none".
  if (t == Target::invalid) {
    reason = "'" + escape_for_log(term) + "': target '" + escape_for_log(target) + "' is not a valid domain name";
    return false;
  }
  if (depth > max_depth()) {
    reason = "include/redirect nesting deeper than " + std::to_string(max_depth());
    return false;
  }
  if (in_chain(target)) {
    reason = std::string(redirect ? "redirect" : "include") + " loop at " + escape_for_log(target);
    return false;
  }
  return true;
}

asio::awaitable<Outcome> Evaluation::eval_domain(std::string domain, int depth) {
  struct ChainGuard {
    std::size_t& size;
    std::size_t mark;
    ~ChainGuard() { size = mark; }
  } guard{chain_size_, chain_size_};
  if (chain_size_ >= kMaxChain) co_return error_outcome(Verdict::permerror, "include/redirect nesting too deep");
  chain_[chain_size_++] = domain;
  std::string reason, target;

  // --- Record lookup and selection (§4.4, §4.5) ---
  if (out_of_time(reason)) co_return error_outcome(Verdict::temperror, reason);
  Selected sel = select_record(co_await query().resolve(domain, RrType::txt), domain);
  if (!sel.entry) co_return error_outcome(sel.verdict, std::move(sel.reason));
  const Record& rec = sel.entry->value();

  // --- Mechanisms, in order (§4.6.2) ---
  for (const Mechanism& m : rec.mechanisms) {
    if (queries_dns(m.kind) && !count_term(reason)) co_return error_outcome(Verdict::permerror, reason);
    if (m.has_domain_spec && m.domain_spec.uses_p) co_await resolve_p();
    Match match = Match::no;
    switch (m.kind) {
      case MechanismKind::all: match = Match::yes; break;
      case MechanismKind::ip4: match = ip_.is_v4() && ip_.in_network(m.network, m.cidr4) ? Match::yes : Match::no; break;
      case MechanismKind::ip6: match = ip_.is_v6() && ip_.in_network(m.network, m.cidr6) ? Match::yes : Match::no; break;
      case MechanismKind::a:
      case MechanismKind::exists:
      case MechanismKind::mx: {
        const HostQuery q = host_query(m, domain, target, reason);
        if (!q.ask) {
          match = q.early;
          break;
        }
        if (out_of_time(reason)) co_return error_outcome(Verdict::temperror, reason);
        std::vector<std::string> hosts;  // the exchanges, for mx
        match = judge_host_answer(m, q, co_await query().resolve(target, q.qtype), target, hosts, reason);
        if (match == Match::no && !hosts.empty()) match = co_await match_mx_hosts(hosts, q, reason);
        break;
      }
      case MechanismKind::ptr: {
        const Target t = target_name(&m, nullptr, domain, target, reason);
        if (t == Target::error) match = Match::permerror;
        else if (t == Target::ok && co_await ptr_match(target)) match = Match::yes;
        break;
      }
      case MechanismKind::include: {
        const Target t = target_name(&m, nullptr, domain, target, reason);
        if (t == Target::error || !may_descend(m.text, t, target, depth + 1, false, reason))
          co_return error_outcome(Verdict::permerror, reason);
        Outcome inner = co_await eval_domain(std::move(target), depth + 1);
        match = include_match(m, inner, reason);
        break;
      }
    }
    if (match == Match::temperror) co_return error_outcome(Verdict::temperror, reason);
    if (match == Match::permerror) co_return error_outcome(Verdict::permerror, reason);
    if (match == Match::yes) co_return decided(m.qualifier, &m, std::move(sel.entry), std::move(domain));
  }

  // --- redirect= (§6.1) ---
  // §4.7: "If none of the mechanisms match and there is no "redirect"
  // modifier, then the check_host() returns a result of "neutral"".
  if (!rec.redirect) co_return decided(Verdict::neutral, nullptr, std::move(sel.entry), std::move(domain));
  if (!count_term(reason)) co_return error_outcome(Verdict::permerror, reason);
  if (rec.redirect->uses_p) co_await resolve_p();
  const Target t = target_name(nullptr, &*rec.redirect, domain, target, reason);
  if (t == Target::error || !may_descend(rec.redirect_text, t, target, depth + 1, true, reason))
    co_return error_outcome(Verdict::permerror, reason);
  // The redirected record replaces this one (exp= included, §6.2), so the
  // evaluation continues there; this frame's record is kept in `chain_`
  // only to detect loops.
  const std::string redirect_text = rec.redirect_text;
  Outcome next = co_await eval_domain(target, depth + 1);
  if (next.verdict == Verdict::none)
    co_return error_outcome(Verdict::permerror, "'" + escape_for_log(redirect_text) + "': " + next.reason);
  co_return next;
}

asio::awaitable<std::string> Evaluation::explain(const Outcome& o) {
  // The default explanation, expanded only when it is needed.
  auto fallback = [&] {
    auto r = expand_text(config_.default_explanation, MacroKind::explain, vars(o.domain), config_.max_macro_bytes);
    return r ? std::move(*r) : config_.default_explanation;
  };
  if (!o.record || !o.record->has_value() || !o.record->value().exp) co_return fallback();
  const MacroString& exp = *o.record->value().exp;
  // RFC 7208 §6.2: "If there are any DNS processing errors (any RCODE other
  // than 0), or if no records are returned, or if more than one record is
  // returned, or if there are syntax errors in the explanation string, then
  // proceed as if no "exp" modifier was given." Exp lookups are not terms
  // and never count as void lookups (§4.6.4).
  if (exp.uses_p) co_await resolve_p();
  std::string target, reason;
  if (target_name(nullptr, &exp, o.domain, target, reason) != Target::ok) co_return fallback();
  if (out_of_time(reason)) co_return fallback();
  const dns::TxtAnswer answer = dns::to_txt_answer(co_await query().resolve(target, RrType::txt));
  if (!answer.usable() || answer.records.size() != 1) co_return fallback();
  const std::string text = answer.records.front().joined();
  // §6.2: "The fetched TXT record's strings are concatenated with no spaces,
  // and then treated as an explain-string"; explain-string is 7-bit ASCII.
  for (char c : text)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) co_return fallback();
  auto ms = parse_macro_string(text, MacroKind::explain);
  if (!ms) co_return fallback();
  if (ms->uses_p) co_await resolve_p();
  std::string expanded;
  if (!expand(*ms, vars(o.domain), expanded, config_.max_macro_bytes)) co_return fallback();
  co_return expanded;
}

}  // namespace

asio::awaitable<SpfResult> check_host(dns::Resolver& resolver, CheckHostInput input, const Config& config) {
  SpfResult result;
  result.identity = input.identity;
  result.domain = input.domain;
  // RFC 7208 §4.3: "If the <domain> is malformed (e.g., label longer than 63
  // characters, zero-length label not at the end, etc.) or is not a
  // multi-label domain name, ... check_host() immediately returns the
  // result "none"."
  if (!is_valid_spf_domain(input.domain)) {
    result.verdict = Verdict::none;
    result.reason = "'" + escape_for_log(input.domain) + "' is not a valid multi-label domain name";
    co_return result;
  }
  std::string domain = input.domain;
  if (!domain.empty() && domain.back() == '.') domain.pop_back();
  Evaluation ev(resolver, config, input);
  Outcome o = co_await ev.eval_domain(domain, 0);
  result.verdict = o.verdict;
  result.reason = std::move(o.reason);
  // Success paths leave `reason` empty (no string work on the hot path);
  // `mechanism` and `record` say what decided.
  if (o.mechanism) result.mechanism = o.mechanism->text;
  else if (o.verdict == Verdict::neutral && o.record) result.mechanism = "default";
  if (o.record && o.record->has_value()) result.record = o.record->value().text;
  if (o.verdict == Verdict::fail) result.explanation = co_await ev.explain(o);
  result.lookups = ev.lookups();
  result.void_lookups = ev.void_lookups();
  result.dns_queries = ev.queries();
  co_return result;
}

// check_sender() and check_helo() are plain functions returning check_host()'s
// awaitable (which owns a copy of the input): one coroutine frame less.
asio::awaitable<SpfResult> check_sender(dns::Resolver& resolver, IpAddress ip, std::string helo, std::string mail_from,
                                        std::string receiver, const Config& config) {
  if (mail_from.empty()) return check_helo(resolver, ip, std::move(helo), std::move(receiver), config);
  CheckHostInput in;
  in.ip = ip;
  const auto at = mail_from.rfind('@');
  in.domain = at == std::string::npos ? mail_from : mail_from.substr(at + 1);
  in.sender = std::move(mail_from);
  in.helo = std::move(helo);
  in.receiver = std::move(receiver);
  in.identity = Identity::mailfrom;
  return check_host(resolver, std::move(in), config);
}

asio::awaitable<SpfResult> check_helo(dns::Resolver& resolver, IpAddress ip, std::string helo, std::string receiver,
                                      const Config& config) {
  CheckHostInput in;
  in.ip = ip;
  in.domain = helo;
  in.sender = "postmaster@" + helo;
  in.helo = std::move(helo);
  in.receiver = std::move(receiver);
  in.identity = Identity::helo;
  return check_host(resolver, std::move(in), config);
}

}  // namespace mxsec::auth::spf

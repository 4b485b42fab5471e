#include "auth/spf/check_host.hpp"

#include <algorithm>
#include <array>
#include <cstring>

#include "core/strings.hpp"
#include "dns/rdata.hpp"

namespace mxsec::auth::spf {
namespace {

using dns::RawAnswer;
using dns::RrType;

enum class Lookup { ok, empty, failed };

// Judges one DNS answer. Bogus is checked first: a bogus NXDOMAIN is as
// unusable as bogus data.
Lookup classify(const RawAnswer& a, std::string_view name, RrType type, std::string& reason) {
  if (a.security == dns::Security::bogus) {
    reason = std::string("DNSSEC bogus answer for ") + dns::to_string(type) + " " + escape_for_log(name) + ": " +
             (a.why_bogus.empty() ? std::string("validation failed") : escape_for_log(a.why_bogus));
    return Lookup::failed;
  }
  switch (a.status) {
    case dns::Status::ok: return a.rdata.empty() ? Lookup::empty : Lookup::ok;
    case dns::Status::nodata:
    case dns::Status::nxdomain: return Lookup::empty;
    case dns::Status::servfail:
    case dns::Status::timeout:
    case dns::Status::error: break;
  }
  reason = std::string("DNS ") + dns::to_string(a.status) + " for " + dns::to_string(type) + " " +
           escape_for_log(name) + (a.error.empty() ? "" : ": " + escape_for_log(a.error));
  return Lookup::failed;
}

// Names from rdata come in presentation form with RFC 1035 escapes for bytes
// outside LDH ("foo\:bar"). SPF compares and queries names as written in
// records, so undo escapes that are not needed to keep label boundaries.
std::string from_presentation(std::string&& name) {
  if (name.find('\\') == std::string::npos) return std::move(name);
  const std::string_view s = name;
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '\\' || i + 1 >= s.size()) {
      out += s[i];
      continue;
    }
    char c = s[i + 1];
    std::size_t len = 2;
    if (is_digit(c) && i + 3 < s.size() && is_digit(s[i + 2]) && is_digit(s[i + 3])) {
      const int v = (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
      c = v < 256 ? static_cast<char>(v) : '\0';
      len = 4;
    }
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x21 && u <= 0x7e && c != '.' && c != '\\') out += c;
    else out.append(s.substr(i, len));
    i += len - 1;
  }
  return out;
}

// One TXT rdata as text: a view into the rdata when it holds a single
// <character-string>, else the strings joined into `scratch`. nullopt if
// the rdata is malformed.
bool join_txt(std::string_view rdata, std::string& out);
std::optional<std::string_view> txt_text(std::string_view rdata, std::string& scratch) {
  if (!rdata.empty() && static_cast<unsigned char>(rdata[0]) == rdata.size() - 1) return rdata.substr(1);
  if (!join_txt(rdata, scratch)) return std::nullopt;
  return std::string_view(scratch);
}

// Decodes one TXT rdata (a sequence of <character-string>s) into `out`,
// concatenated (RFC 7208 §3.3). False if the rdata is malformed.
bool join_txt(std::string_view rdata, std::string& out) {
  out.clear();
  if (rdata.empty()) return false;
  std::size_t off = 0;
  while (off < rdata.size()) {
    const auto len = static_cast<unsigned char>(rdata[off++]);
    if (len > rdata.size() - off) return false;
    out.append(rdata.substr(off, len));
    off += len;
  }
  return true;
}

std::optional<IpAddress> decode_address(std::string_view rd, RrType type) {
  if (type == RrType::a && rd.size() == 4) {
    std::array<std::uint8_t, 4> b;
    std::memcpy(b.data(), rd.data(), 4);
    return IpAddress::v4(b);
  }
  if (type == RrType::aaaa && rd.size() == 16) {
    std::array<std::uint8_t, 16> b;
    std::memcpy(b.data(), rd.data(), 16);
    return IpAddress::v6(b);
  }
  return std::nullopt;
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
  RawAnswer raw = co_await query().resolve(rname, RrType::ptr);
  // RFC 7208 §5.5: "If a DNS error occurs while doing the PTR RR lookup,
  // then this mechanism fails to match." A bogus answer is dropped the same
  // way: the client controls its reverse zone, so it must not be able to
  // turn a fail into a temperror.
  if (classify(raw, rname, RrType::ptr, reason) != Lookup::ok) co_return &ptr_names_;
  // RFC 7208 §4.6.4: "the evaluation of each "PTR" record MUST NOT result
  // in querying more than 10 address records ... If this limit is exceeded,
  // all records other than the first 10 MUST be ignored."
  for (const auto& rd : raw.rdata) {
    if (ptr_names_.size() >= static_cast<std::size_t>(config_.max_mx_ptr_names)) break;
    auto name = dns::decode_name_rdata(rd);
    if (!name) {
      ptr_names_.clear();  // a malformed answer is not used at all
      break;
    }
    ptr_names_.push_back(from_presentation(std::move(*name)));
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
  RawAnswer raw = co_await query().resolve(name, type);
  if (classify(raw, name, type, reason) != Lookup::ok) co_return false;
  for (const auto& rd : raw.rdata) {
    auto addr = decode_address(rd, type);
    if (addr && *addr == ip_) co_return true;
  }
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

asio::awaitable<Outcome> Evaluation::eval_domain(std::string domain, int depth) {
  struct ChainGuard {
    std::size_t& size;
    std::size_t mark;
    ~ChainGuard() { size = mark; }
  } guard{chain_size_, chain_size_};
  if (chain_size_ >= kMaxChain) co_return error_outcome(Verdict::permerror, "include/redirect nesting too deep");
  chain_[chain_size_++] = domain;
  std::string reason;
  std::string joined, selected_storage, target;
  {
    // --- Record lookup and selection (RFC 7208 §4.4, §4.5) ---
    if (out_of_time(reason)) co_return error_outcome(Verdict::temperror, reason);
    RawAnswer raw = co_await query().resolve(domain, RrType::txt);
    switch (classify(raw, domain, RrType::txt, reason)) {
      case Lookup::failed:
        // §4.4: "If the DNS lookup returns a server failure (RCODE 2) or some
        // other error (RCODE other than 0 or 3), or if the lookup times out,
        // then check_host() terminates immediately with the result "temperror"."
        co_return error_outcome(Verdict::temperror, reason);
      case Lookup::empty: co_return error_outcome(Verdict::none, "no SPF record at " + escape_for_log(domain));
      case Lookup::ok: break;
    }
    int found = 0;
    std::string_view selected;
    for (const auto& rd : raw.rdata) {
      auto text = txt_text(rd, found ? joined : selected_storage);
      if (!text) co_return error_outcome(Verdict::temperror, "malformed TXT rdata at " + escape_for_log(domain));
      if (!is_spf_record(*text)) continue;
      if (++found == 1) selected = *text;
    }
    // §4.5: "If the resultant record set includes more than one record,
    // check_host() produces the "permerror" result."
    if (found > 1)
      co_return error_outcome(Verdict::permerror,
                              "multiple SPF records at " + escape_for_log(domain) + " (" + std::to_string(found) + ")");
    if (found == 0) co_return error_outcome(Verdict::none, "no SPF record at " + escape_for_log(domain));
    RecordCache::Entry entry = config_.cache ? config_.cache->get(selected, record_limits_)
                                             : std::make_shared<const Result<Record>>(parse_record(selected, record_limits_));
    if (!entry->has_value())
      co_return error_outcome(Verdict::permerror, entry->error().message + " in the SPF record of " + escape_for_log(domain));
    const Record& rec = entry->value();

    // --- Mechanisms, in order (§4.6.2) ---
    for (const Mechanism& m : rec.mechanisms) {
      bool match = false;
      if (queries_dns(m.kind) && !count_term(reason)) co_return error_outcome(Verdict::permerror, reason);
      if (m.has_domain_spec && m.domain_spec.uses_p) co_await resolve_p();
      switch (m.kind) {
        case MechanismKind::all: match = true; break;
        case MechanismKind::ip4: match = ip_.is_v4() && ip_.in_network(m.network, m.cidr4); break;
        case MechanismKind::ip6: match = ip_.is_v6() && ip_.in_network(m.network, m.cidr6); break;
        case MechanismKind::a:
        case MechanismKind::exists:
        case MechanismKind::mx: {
          const Target t = target_name(&m, nullptr, domain, target, reason);
          if (t == Target::error) co_return error_outcome(Verdict::permerror, reason);
          // A target that DNS cannot ask for (empty or over-long label) is
          // treated as a name that does not exist: no match, no query.
          if (t == Target::invalid) break;
          // §5: A records for an IPv4 client, AAAA for IPv6; "exists" always
          // asks for A (§5.7).
          const RrType type = (m.kind == MechanismKind::exists || ip_.is_v4()) ? RrType::a : RrType::aaaa;
          const RrType qtype = m.kind == MechanismKind::mx ? RrType::mx : type;
          if (out_of_time(reason)) co_return error_outcome(Verdict::temperror, reason);
          RawAnswer ans = co_await query().resolve(target, qtype);
          const Lookup l = classify(ans, target, qtype, reason);
          if (l == Lookup::failed) co_return error_outcome(Verdict::temperror, reason);
          if (l == Lookup::empty) {
            if (!count_void(reason)) co_return error_outcome(Verdict::permerror, reason);
            break;
          }
          if (m.kind == MechanismKind::exists) {
            match = true;
            break;
          }
          const unsigned prefix = ip_.is_v4() ? m.cidr4 : m.cidr6;
          if (m.kind == MechanismKind::a) {
            for (const auto& rd : ans.rdata) {
              auto addr = decode_address(rd, type);
              if (!addr)
                co_return error_outcome(Verdict::temperror, "malformed address rdata for " + escape_for_log(target));
              if (ip_.in_network(*addr, prefix)) {
                match = true;
                break;
              }
            }
            break;
          }
          // mx. §4.6.4: "the evaluation of each "MX" record MUST NOT result
          // in querying more than 10 address records ... If this limit is
          // exceeded, the "mx" mechanism MUST produce a "permerror" result."
          if (ans.rdata.size() > static_cast<std::size_t>(config_.max_mx_ptr_names))
            co_return error_outcome(Verdict::permerror, "too many MX records at " + escape_for_log(target) + " (" +
                                                            std::to_string(ans.rdata.size()) + " > " +
                                                            std::to_string(config_.max_mx_ptr_names) + ")");
          // Decode the whole answer first: a malformed record poisons it
          // (fail closed, as the dns::Resolver typed helpers do).
          std::vector<std::string> hosts;
          hosts.reserve(ans.rdata.size());
          for (const auto& rd : ans.rdata) {
            auto mx = dns::decode_mx(rd);
            if (!mx) co_return error_outcome(Verdict::temperror, "malformed MX rdata at " + escape_for_log(target));
            if (!mx->exchange.empty()) hosts.push_back(from_presentation(std::move(mx->exchange)));  // "." is a null MX (RFC 7505)
          }
          for (const auto& host : hosts) {
            if (out_of_time(reason)) co_return error_outcome(Verdict::temperror, reason);
            RawAnswer addrs = co_await query().resolve(host, type);
            const Lookup al = classify(addrs, host, type, reason);
            if (al == Lookup::failed) co_return error_outcome(Verdict::temperror, reason);
            if (al == Lookup::empty) continue;
            for (const auto& rd : addrs.rdata) {
              auto addr = decode_address(rd, type);
              if (!addr)
                co_return error_outcome(Verdict::temperror, "malformed address rdata for " + escape_for_log(host));
              if (ip_.in_network(*addr, prefix)) {
                match = true;
                break;
              }
            }
            if (match) break;
          }
          break;
        }
        case MechanismKind::ptr: {
          const Target t = target_name(&m, nullptr, domain, target, reason);
          if (t == Target::error) co_return error_outcome(Verdict::permerror, reason);
          if (t == Target::invalid) break;
          match = co_await ptr_match(target);
          break;
        }
        case MechanismKind::include: {
          const Target t = target_name(&m, nullptr, domain, target, reason);
          if (t == Target::error) co_return error_outcome(Verdict::permerror, reason);
          if (t == Target::invalid)
            co_return error_outcome(Verdict::permerror, "'" + escape_for_log(m.text) + "': target '" +
                                                            escape_for_log(target) + "' is not a valid domain name");
          if (depth + 1 > max_depth())
            co_return error_outcome(Verdict::permerror,
                                    "include/redirect nesting deeper than " + std::to_string(max_depth()));
          if (in_chain(target))
            co_return error_outcome(Verdict::permerror, "include loop at " + escape_for_log(target));
          Outcome inner = co_await eval_domain(std::move(target), depth + 1);
          // §5.2: pass -> match; fail, softfail, neutral -> not match;
          // temperror -> temperror; permerror or none -> permerror.
          switch (inner.verdict) {
            case Verdict::pass: match = true; break;
            case Verdict::fail:
            case Verdict::softfail:
            case Verdict::neutral: break;
            case Verdict::temperror: co_return error_outcome(Verdict::temperror, std::move(inner.reason));
            case Verdict::permerror: co_return error_outcome(Verdict::permerror, std::move(inner.reason));
            case Verdict::none:
              co_return error_outcome(Verdict::permerror, "'" + escape_for_log(m.text) + "': " + inner.reason);
          }
          break;
        }
      }
      if (match) {
        Outcome o;
        o.verdict = m.qualifier;
        o.mechanism = &m;
        o.record = entry;
        o.domain = std::move(domain);
        co_return o;
      }
    }

    // --- redirect= (§6.1) ---
    if (!rec.redirect) {
      // §4.7: "If none of the mechanisms match and there is no "redirect"
      // modifier, then the check_host() returns a result of "neutral"".
      Outcome o;
      o.verdict = Verdict::neutral;
      o.record = entry;
      o.domain = std::move(domain);
      co_return o;
    }
    if (!count_term(reason)) co_return error_outcome(Verdict::permerror, reason);
    if (rec.redirect->uses_p) co_await resolve_p();
    const Target t = target_name(nullptr, &*rec.redirect, domain, target, reason);
    if (t == Target::error) co_return error_outcome(Verdict::permerror, reason);
    // §6.1: "if no SPF record is found, or if the <target-name> is malformed,
    // the result is a "permerror" rather than "none"."
    if (t == Target::invalid)
      co_return error_outcome(Verdict::permerror, "'" + escape_for_log(rec.redirect_text) + "': target '" +
                                                      escape_for_log(target) + "' is not a valid domain name");
    if (++depth > max_depth())
      co_return error_outcome(Verdict::permerror,
                              "include/redirect nesting deeper than " + std::to_string(max_depth()));
    if (in_chain(target))
      co_return error_outcome(Verdict::permerror, "redirect loop at " + escape_for_log(target));
    // The redirected record replaces this one (exp= included, §6.2), so the
    // evaluation continues there; this frame's record is kept in `chain_`
    // only to detect loops.
    const std::string redirect_text = rec.redirect_text;
    Outcome next = co_await eval_domain(target, depth);
    if (next.verdict == Verdict::none)
      co_return error_outcome(Verdict::permerror, "'" + escape_for_log(redirect_text) + "': " + next.reason);
    co_return next;
  }
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
  RawAnswer raw = co_await query().resolve(target, RrType::txt);
  if (classify(raw, target, RrType::txt, reason) != Lookup::ok || raw.rdata.size() != 1) co_return fallback();
  std::string text;
  if (!join_txt(raw.rdata.front(), text)) co_return fallback();
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

#include "auth/spf/record.hpp"

#include <cstdio>

#include "core/strings.hpp"

namespace mxsec::auth::spf {
namespace {

Error syntax(std::string_view term, std::string_view why) {
  return make_error(Errc::parse, "syntax error at '" + escape_for_log(term, 80) + "': " + std::string(why));
}

bool is_name_char(char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; }

// "/" 1*DIGIT without leading zeros (RFC 7208 forbids them in ip4-network;
// the OpenSPF suite reads that as applying to CIDR lengths too).
std::optional<unsigned> parse_cidr(std::string_view digits, unsigned max) {
  if (digits.empty() || digits.size() > 3) return std::nullopt;
  if (digits.size() > 1 && digits[0] == '0') return std::nullopt;
  auto v = parse_uint(digits, max);
  if (!v) return std::nullopt;
  return static_cast<unsigned>(*v);
}

// ip4-network = qnum "." qnum "." qnum "." qnum, qnum = 0..255 without leading zeros.
std::optional<IpAddress> parse_ip4_network(std::string_view s) {
  std::array<std::uint8_t, 4> b{};
  std::size_t part = 0, pos = 0;
  while (part < 4) {
    std::size_t end = pos;
    while (end < s.size() && is_digit(s[end])) ++end;
    const std::string_view q = s.substr(pos, end - pos);
    if (q.empty() || q.size() > 3 || (q.size() > 1 && q[0] == '0')) return std::nullopt;
    auto v = parse_uint(q, 255);
    if (!v) return std::nullopt;
    b[part++] = static_cast<std::uint8_t>(*v);
    if (part < 4) {
      if (end >= s.size() || s[end] != '.') return std::nullopt;
      pos = end + 1;
    } else if (end != s.size()) {
      return std::nullopt;
    }
  }
  return IpAddress::v4(b);
}

Result<void> parse_ip(std::string_view term, std::string_view rest, bool v6, Mechanism& m) {
  // IP4 = "ip4" ":" ip4-network [ ip4-cidr-length ]
  // IP6 = "ip6" ":" ip6-network [ ip6-cidr-length ]
  if (rest.empty() || rest[0] != ':') return syntax(term, v6 ? "ip6 needs ':' and a network" : "ip4 needs ':' and a network");
  rest.remove_prefix(1);
  std::string_view net = rest, cidr;
  const auto slash = rest.find('/');
  if (slash != std::string_view::npos) {
    net = rest.substr(0, slash);
    cidr = rest.substr(slash + 1);
    auto len = parse_cidr(cidr, v6 ? 128 : 32);
    if (!len)
      return syntax(term, std::string("invalid ") + (v6 ? "ip6" : "ip4") + "-cidr-length '/" + escape_for_log(cidr, 20) +
                              "' (0.." + (v6 ? "128" : "32") + ")");
    if (v6) m.cidr6 = static_cast<std::uint8_t>(*len);
    else m.cidr4 = static_cast<std::uint8_t>(*len);
  }
  if (v6) {
    auto ip = net.find(':') == std::string_view::npos ? std::nullopt : IpAddress::parse(net);
    if (!ip || !ip->is_v6()) return syntax(term, "invalid ip6-network '" + escape_for_log(net, 60) + "'");
    m.network = *ip;
  } else {
    auto ip = parse_ip4_network(net);
    if (!ip) return syntax(term, "invalid ip4-network '" + escape_for_log(net, 60) + "'");
    m.network = *ip;
  }
  return {};
}

// dual-cidr-length = [ ip4-cidr-length ] [ "/" ip6-cidr-length ], written
// right after the mechanism name (no domain-spec).
Result<void> parse_dual_cidr(std::string_view term, std::string_view s, Mechanism& m) {
  std::string_view c4, c6;
  bool have4 = false, have6 = false;
  if (s.substr(0, 2) == "//") {
    c6 = s.substr(2);
    have6 = true;
  } else if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    const auto next = s.find('/');
    c4 = s.substr(0, next);
    have4 = true;
    if (next != std::string_view::npos) {
      if (s.substr(next, 2) != "//") return syntax(term, "ip6-cidr-length must follow '//'");
      c6 = s.substr(next + 2);
      have6 = true;
    }
  } else if (!s.empty()) {
    return syntax(term, "unexpected text after the mechanism name");
  }
  if (have4) {
    auto v = parse_cidr(c4, 32);
    if (!v) return syntax(term, "invalid ip4-cidr-length '/" + escape_for_log(c4, 20) + "' (0..32)");
    m.cidr4 = static_cast<std::uint8_t>(*v);
  }
  if (have6) {
    auto v = parse_cidr(c6, 128);
    if (!v) return syntax(term, "invalid ip6-cidr-length '//" + escape_for_log(c6, 20) + "' (0..128)");
    m.cidr6 = static_cast<std::uint8_t>(*v);
  }
  return {};
}

// Splits "domain-spec[/c4][//c6]" from the right: a domain-spec can contain
// '/' itself ("foo:bar/baz.example.com"), a CIDR suffix is digits only.
std::string_view split_cidr_suffix(std::string_view spec, std::string_view& dual) {
  auto digits_start = [&](std::size_t end) {
    std::size_t b = end;
    while (b > 0 && is_digit(spec[b - 1])) --b;
    return b;
  };
  std::size_t end = spec.size();
  std::size_t b = digits_start(end);
  if (b == end || b == 0 || spec[b - 1] != '/') return spec;
  std::size_t cut = b - 1;
  if (cut > 0 && spec[cut - 1] == '/') {
    --cut;  // "//c6"
    const std::size_t b4 = digits_start(cut);
    if (b4 < cut && b4 > 0 && spec[b4 - 1] == '/' && !(b4 > 1 && spec[b4 - 2] == '/')) cut = b4 - 1;  // "/c4//c6"
  }
  dual = spec.substr(cut);
  return spec.substr(0, cut);
}

Result<void> parse_domain_spec(std::string_view term, std::string_view spec, Mechanism& m) {
  if (spec.empty()) return syntax(term, "empty domain-spec");
  auto ms = parse_macro_string(spec, MacroKind::domain_spec);
  if (!ms) return syntax(term, ms.error().message);
  m.domain_spec = std::move(*ms);
  m.has_domain_spec = true;
  return {};
}

Result<void> parse_mechanism(std::string_view term, Mechanism& m) {
  std::string_view body = term;
  switch (body.empty() ? '\0' : body[0]) {
    case '+': m.qualifier = Verdict::pass; body.remove_prefix(1); break;
    case '-': m.qualifier = Verdict::fail; body.remove_prefix(1); break;
    case '~': m.qualifier = Verdict::softfail; body.remove_prefix(1); break;
    case '?': m.qualifier = Verdict::neutral; body.remove_prefix(1); break;
    default: break;
  }
  std::size_t n = 0;
  while (n < body.size() && body[n] != ':' && body[n] != '/') ++n;
  const std::string_view name = body.substr(0, n);
  const std::string_view rest = body.substr(n);
  if (iequals(name, "all")) {
    m.kind = MechanismKind::all;
    if (!rest.empty()) return syntax(term, "'all' takes no argument");
    return {};
  }
  if (iequals(name, "include") || iequals(name, "exists")) {
    m.kind = iequals(name, "include") ? MechanismKind::include : MechanismKind::exists;
    if (rest.empty() || rest[0] != ':') return syntax(term, std::string(to_string(m.kind)) + " needs ':' and a domain-spec");
    return parse_domain_spec(term, rest.substr(1), m);
  }
  if (iequals(name, "a") || iequals(name, "mx")) {
    m.kind = iequals(name, "a") ? MechanismKind::a : MechanismKind::mx;
    if (!rest.empty() && rest[0] == ':') {
      std::string_view dual;
      const std::string_view spec = split_cidr_suffix(rest.substr(1), dual);
      if (auto r = parse_dual_cidr(term, dual, m); !r) return r;
      return parse_domain_spec(term, spec, m);
    }
    return parse_dual_cidr(term, rest, m);
  }
  if (iequals(name, "ptr")) {
    m.kind = MechanismKind::ptr;
    if (rest.empty()) return {};
    if (rest[0] != ':') return syntax(term, "ptr takes no CIDR length");
    return parse_domain_spec(term, rest.substr(1), m);
  }
  if (iequals(name, "ip4") || iequals(name, "ip6")) {
    m.kind = iequals(name, "ip4") ? MechanismKind::ip4 : MechanismKind::ip6;
    return parse_ip(term, rest, m.kind == MechanismKind::ip6, m);
  }
  if (name.empty()) return syntax(term, "missing mechanism name");
  return syntax(term, "unknown mechanism '" + escape_for_log(name, 40) + "'");
}

}  // namespace

const char* to_string(MechanismKind k) {
  switch (k) {
    case MechanismKind::all: return "all";
    case MechanismKind::include: return "include";
    case MechanismKind::a: return "a";
    case MechanismKind::mx: return "mx";
    case MechanismKind::ptr: return "ptr";
    case MechanismKind::ip4: return "ip4";
    case MechanismKind::ip6: return "ip6";
    case MechanismKind::exists: return "exists";
  }
  return "?";
}

bool is_spf_record(std::string_view txt) {
  // RFC 7208 §4.5: "Starting with the set of records that were returned by
  // the lookup, discard records that do not begin with a version section of
  // exactly "v=spf1". Note that the version section is terminated by either
  // an SP character or the end of the record."
  return istarts_with(txt, "v=spf1") && (txt.size() == 6 || txt[6] == ' ');
}

Result<Record> parse_record(std::string_view text, const RecordLimits& limits) {
  if (text.size() > limits.max_bytes)
    return make_error(Errc::limit, "record is " + std::to_string(text.size()) + " bytes, more than the limit of " +
                                       std::to_string(limits.max_bytes));
  if (!is_spf_record(text)) return make_error(Errc::parse, "not an SPF record: no 'v=spf1' version section");
  Record rec;
  rec.text = std::string(text);
  int terms = 0;
  std::size_t pos = 6;
  while (pos < text.size()) {
    if (text[pos] == ' ') {
      ++pos;
      continue;
    }
    std::size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view term = text.substr(pos, end - pos);
    pos = end;
    if (++terms > limits.max_terms)
      return make_error(Errc::limit, "record has more than " + std::to_string(limits.max_terms) + " terms");
    for (std::size_t i = 0; i < term.size(); ++i) {
      const auto u = static_cast<unsigned char>(term[i]);
      if (u >= 0x80) return syntax(term, "non-ASCII byte at offset " + std::to_string(i));
      if (u < 0x21 || u == 0x7f) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "0x%02x", u);
        return syntax(term, std::string("control byte ") + buf + " at offset " + std::to_string(i) +
                                " (terms are separated by spaces only)");
      }
    }
    // modifier = name "=" macro-string, name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." )
    std::size_t n = 0;
    while (n < term.size() && is_name_char(term[n])) ++n;
    if (n > 0 && n < term.size() && term[n] == '=' && is_alpha(term[0])) {
      const std::string_view name = term.substr(0, n);
      const std::string_view value = term.substr(n + 1);
      const bool redirect = iequals(name, "redirect"), exp = iequals(name, "exp");
      if (redirect || exp) {
        // RFC 7208 §6: "These two modifiers MUST NOT appear in a record more
        // than once each. If they do, then check_host() exits with a result
        // of "permerror"."
        if ((redirect && rec.redirect) || (exp && rec.exp))
          return syntax(term, std::string(redirect ? "redirect" : "exp") + " appears more than once");
        if (value.empty()) return syntax(term, "empty domain-spec");
        auto ms = parse_macro_string(value, MacroKind::domain_spec);
        if (!ms) return syntax(term, ms.error().message);
        if (redirect) {
          rec.redirect = std::move(*ms);
          rec.redirect_text = std::string(term);
        } else {
          rec.exp = std::move(*ms);
          rec.exp_text = std::string(term);
        }
      } else {
        // RFC 7208 §6: "Unrecognized modifiers MUST be ignored", but they
        // must still be valid macro-strings (unknown-modifier = name "=" macro-string).
        auto ms = parse_macro_string(value, MacroKind::unknown_modifier);
        if (!ms) return syntax(term, ms.error().message);
      }
      continue;
    }
    Mechanism m;
    if (auto r = parse_mechanism(term, m); !r) return r.error();
    m.text = std::string(term);
    rec.mechanisms.push_back(std::move(m));
  }
  return rec;
}

RecordCache::Entry RecordCache::get(std::string_view text, const RecordLimits& limits) {
  if (auto it = map_.find(text); it != map_.end()) {
    ++hits_;
    return it->second;
  }
  ++misses_;
  if (map_.size() >= max_entries_) map_.clear();
  auto entry = std::make_shared<const Result<Record>>(parse_record(text, limits));
  map_.emplace(std::string(text), entry);
  return entry;
}

}  // namespace mxsec::auth::spf

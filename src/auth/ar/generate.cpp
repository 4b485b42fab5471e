// Authentication-Results generation (RFC 8601 §2.2). See auth_results.hpp.
#include <cstring>

#include "auth/ar/auth_results.hpp"
#include "core/strings.hpp"

namespace mxsec::auth::ar {
namespace {

constexpr std::string_view kTspecials = "()<>@,;:\\\"/[]?=";

bool is_atext(char c) {
  if (is_alnum(c)) return true;
  return std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr && c != '\0';
}

bool is_dot_atom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = 0;
  for (char c : s) {
    if (c == '.' && prev == '.') return false;
    if (c != '.' && !is_atext(c)) return false;
    prev = c;
  }
  return true;
}

// RFC 6376 domain-name = sub-domain 1*("." sub-domain), as RFC 8601 uses it.
bool is_domain_name(std::string_view s) {
  if (s.find('.') == std::string_view::npos) return false;
  for (std::string_view label : split(s, '.'))
    if (!is_keyword(label)) return false;
  return true;
}

Result<std::string> quoted_string(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return make_error(Errc::invalid_argument, "control character in an Authentication-Results value");
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

// value = token / quoted-string (RFC 2045)
Result<std::string> render_value(std::string_view v) {
  if (is_token(v)) return std::string(v);
  return quoted_string(v);
}

// pvalue = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
Result<std::string> render_pvalue(std::string_view v) {
  if (is_token(v)) return std::string(v);
  if (const std::size_t at = v.rfind('@'); at != std::string_view::npos) {
    const std::string_view local = v.substr(0, at), domain = v.substr(at + 1);
    if ((local.empty() || is_dot_atom(local)) && is_domain_name(domain)) return std::string(v);
  }
  return quoted_string(v);
}

std::string render_comment(std::string_view c) {
  std::string out = "(";
  for (char ch : c) {
    const auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) {
      out += ' ';
      continue;
    }
    if (ch == '(' || ch == ')' || ch == '\\') out += '\\';
    out += ch;
  }
  out += ')';
  return out;
}

Result<void> check_keyword(std::string_view what, std::string_view k) {
  if (!is_keyword(k))
    return make_error(Errc::invalid_argument,
                      std::string(what) + " is not an RFC 5321 Keyword: \"" + escape_for_log(k, 60) + "\"");
  return {};
}

// The payload as units that must not be split; joined with single spaces.
Result<std::vector<std::string>> units(const AuthResults& ar) {
  std::vector<std::string> out;
  if (ar.authserv_id.empty()) return make_error(Errc::invalid_argument, "empty authserv-id");
  auto id = render_value(ar.authserv_id);
  if (!id) return id.error();
  out.push_back(*id);
  if (ar.version) out.push_back(std::to_string(*ar.version));
  if (ar.results.empty()) {
    out.back() += ';';
    out.push_back("none");
    return out;
  }
  for (const MethodResult& r : ar.results) {
    out.back() += ';';
    if (auto ok = check_keyword("method", r.method); !ok) return ok.error();
    if (auto ok = check_keyword("result", r.result); !ok) return ok.error();
    std::string m = r.method;
    if (r.version) m += "/" + std::to_string(*r.version);
    out.push_back(m + "=" + r.result);
    if (!r.comment.empty()) out.push_back(render_comment(r.comment));
    if (!r.reason.empty()) {
      auto v = render_value(r.reason);
      if (!v) return v.error();
      out.push_back("reason=" + *v);
    }
    for (const Property& p : r.props) {
      if (auto ok = check_keyword("ptype", p.ptype); !ok) return ok.error();
      if (auto ok = check_keyword("property", p.property); !ok) return ok.error();
      auto v = render_pvalue(p.value);
      if (!v) return v.error();
      out.push_back(p.ptype + "." + p.property + "=" + *v);
    }
  }
  return out;
}

MethodResult make(std::string_view method, std::string_view result, std::string_view comment) {
  MethodResult r;
  r.method = std::string(method);
  r.result = to_lower(result);
  r.comment = std::string(comment);
  return r;
}

void add(MethodResult& r, std::string_view ptype, std::string_view property, std::string_view value) {
  if (!value.empty()) r.props.push_back({std::string(ptype), std::string(property), std::string(value)});
}

}  // namespace

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f || kTspecials.find(c) != std::string_view::npos) return false;
  }
  return true;
}

bool is_keyword(std::string_view s) {
  if (s.empty() || !is_alnum(s.front()) || !is_alnum(s.back())) return false;
  for (char c : s)
    if (!is_alnum(c) && c != '-') return false;
  return true;
}

MethodResult spf_result(std::string_view result, std::string_view mailfrom, std::string_view helo,
                        std::string_view comment) {
  MethodResult r = make("spf", result, comment);
  add(r, "smtp", "mailfrom", mailfrom);
  add(r, "smtp", "helo", helo);
  return r;
}

MethodResult dkim_result(std::string_view result, std::string_view d, std::string_view s, std::string_view b,
                         std::string_view comment) {
  MethodResult r = make("dkim", result, comment);
  add(r, "header", "d", d);
  add(r, "header", "s", s);
  // RFC 6008 §4: "header.b" carries enough of the signature to tell several
  // signatures apart; "a minimum of eight characters" is recommended.
  add(r, "header", "b", b.substr(0, 8));
  return r;
}

MethodResult dmarc_result(std::string_view result, std::string_view from_domain, std::string_view policy,
                          std::string_view comment) {
  MethodResult r = make("dmarc", result, comment);
  add(r, "header", "from", from_domain);
  add(r, "policy", "dmarc", policy);
  return r;
}

Result<std::string> generate_value(const AuthResults& ar) {
  auto u = units(ar);
  if (!u) return u.error();
  std::string out;
  for (const std::string& s : *u) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

Result<std::string> generate_header(const AuthResults& ar, std::size_t width) {
  auto u = units(ar);
  if (!u) return u.error();
  // Fold only at the spaces between units and keep that space after the
  // CRLF, so unfolding (removing CRLF) restores generate_value() exactly.
  // codec::fold_header re-splits at every WSP, which would break inside
  // quoted-strings and comments, so it is not used here.
  std::string out = "Authentication-Results:";
  std::size_t line = out.size();
  bool first = true;
  for (const std::string& s : *u) {
    if (!first && line + 1 + s.size() > width) {
      out += "\r\n";
      line = 0;
    }
    first = false;
    out += ' ';
    out += s;
    line += 1 + s.size();
  }
  out += "\r\n";
  return out;
}

const Property* find_property(const MethodResult& r, std::string_view ptype, std::string_view property) {
  for (const Property& p : r.props)
    if (iequals(p.ptype, ptype) && iequals(p.property, property)) return &p;
  return nullptr;
}

}  // namespace mxsec::auth::ar

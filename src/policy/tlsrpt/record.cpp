#include "policy/tlsrpt/record.hpp"

#include "codec/ext_field.hpp"
#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"

namespace mxsec::policy::tlsrpt {
namespace {

constexpr std::string_view kVersion = "v=TLSRPTv1";

std::string quote(std::string_view v) { return "\"" + escape_for_log(v, 60) + "\""; }

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}

// A host name as RFC 5321 "Domain": LDH labels of 1..63 octets that neither
// begin nor end with "-", at most 253 octets in all.
bool is_host_name(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  for (std::string_view label : split(name, '.')) {
    if (label.empty() || label.size() > 63) return false;
    if (label.front() == '-' || label.back() == '-') return false;
    for (char c : label)
      if (!is_alnum(c) && c != '-') return false;
  }
  return true;
}

// RFC 3986 unreserved / reserved / "%": the characters a URI may contain.
bool is_uri_char(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                                      // unreserved
    case ':': case '/': case '?': case '#': case '[': case ']': case '@':        // gen-delims
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*':       // sub-delims
    case '+': case ',': case ';': case '=':
    case '%':
      return true;
    default:
      return false;
  }
}

// pchar = unreserved / pct-encoded / sub-delims / ":" / "@" (the "%" is
// checked separately).
bool is_pchar(char c) { return is_uri_char(c) && c != '/' && c != '?' && c != '#' && c != '[' && c != ']'; }

// Decodes %XX escapes; nullopt on a malformed escape.
std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (s.size() - i < 3) return std::nullopt;
    const int hi = hex_digit_value(s[i + 1]);
    const int lo = hex_digit_value(s[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// RFC 5322 atext.
bool is_atext(char c) {
  if (is_alnum(c)) return true;
  static constexpr std::string_view kSpecials = "!#$%&'*+-/=?^_`{|}~";
  return kSpecials.find(c) != std::string_view::npos;
}

// local-part = dot-atom / quoted-string (RFC 5322 §3.4.1, without the
// obsolete forms and without folding white space).
bool is_local_part(std::string_view l) {
  if (l.empty() || l.size() > 64) return false;
  if (l.front() == '"') {
    if (l.size() < 2 || l.back() != '"') return false;
    for (std::size_t i = 1; i + 1 < l.size(); ++i) {
      const auto c = static_cast<unsigned char>(l[i]);
      if (c == '\\') {
        if (i + 2 >= l.size()) return false;
        const auto q = static_cast<unsigned char>(l[++i]);
        if (q < 0x20 || q > 0x7e) return false;
        continue;
      }
      if (c < 0x20 || c > 0x7e || c == '"') return false;
    }
    return true;
  }
  if (l.front() == '.' || l.back() == '.' || l.find("..") != std::string_view::npos) return false;
  for (char c : l)
    if (c != '.' && !is_atext(c)) return false;
  return true;
}

RuaCheck malformed(std::string reason) { return RuaCheck{RuaKind::malformed, {}, std::move(reason)}; }

// mailto:to[?hfields] (RFC 6068 §2), restricted to one addr-spec.
RuaCheck classify_mailto(std::string_view rest) {
  const std::string_view to = rest.substr(0, rest.find('?'));
  if (to.empty()) return malformed("mailto: URI without an address");
  auto decoded = percent_decode(to);
  if (!decoded) return malformed("malformed percent-encoding in mailto: URI");
  const std::string& addr = *decoded;
  if (addr.find(',') != std::string::npos)
    return malformed("mailto: URI with several addresses; use one URI per address");
  const auto at = addr.rfind('@');
  if (at == std::string::npos) return malformed("mailto: address without \"@\"");
  const std::string_view local = std::string_view(addr).substr(0, at);
  const std::string_view domain = std::string_view(addr).substr(at + 1);
  if (!is_local_part(local)) return malformed("mailto: address with an invalid local part " + quote(local));
  if (!is_host_name(domain)) return malformed("mailto: address with an invalid domain " + quote(domain));
  return RuaCheck{RuaKind::mailto, std::string(local) + "@" + to_lower(domain), {}};
}

// https://authority[path][?query][#fragment] (RFC 3986 §3), authority
// restricted to host[:port].
RuaCheck classify_https(std::string_view uri, std::string_view rest) {
  if (rest.substr(0, 2) != "//") return malformed("https: URI without \"//\" authority");
  rest.remove_prefix(2);
  const std::size_t auth_end = rest.find_first_of("/?#");
  const std::string_view authority = rest.substr(0, auth_end);
  const std::string_view tail = auth_end == std::string_view::npos ? std::string_view{} : rest.substr(auth_end);
  if (authority.find('@') != std::string_view::npos) return malformed("https: URI with user information");
  std::string_view host = authority;
  std::string_view port;
  if (!host.empty() && host.front() == '[') {
    const auto close = host.find(']');
    if (close == std::string_view::npos) return malformed("https: URI with an unclosed IPv6 literal");
    const auto ip = IpAddress::parse(host.substr(1, close - 1));
    if (!ip || !ip->is_v6()) return malformed("https: URI with an invalid IPv6 literal");
    const std::string_view after = host.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return malformed("https: URI with junk after the IPv6 literal");
      port = after.substr(1);
    }
  } else {
    const auto colon = host.find(':');
    if (colon != std::string_view::npos) {
      port = host.substr(colon + 1);
      host = host.substr(0, colon);
    }
    if (host.empty()) return malformed("https: URI without a host");
    std::string_view name = host;
    if (name.back() == '.') name.remove_suffix(1);  // an absolute name
    const bool numeric = host.find_first_not_of("0123456789.") == std::string_view::npos;
    if (numeric ? !IpAddress::parse(host) : !is_host_name(name))
      return malformed("https: URI with an invalid host " + quote(host));
  }
  // port = *DIGIT (RFC 3986 §3.2.3); an empty port means the default.
  if (!port.empty() && !parse_uint(port, 65535)) return malformed("https: URI with an invalid port " + quote(port));
  // path-abempty, query and fragment.
  int part = 0;  // 0 path, 1 query, 2 fragment
  for (char c : tail) {
    if (c == '?' && part == 0) { part = 1; continue; }
    if (c == '#' && part < 2) { part = 2; continue; }
    if (c == '/' || c == '?' || is_pchar(c)) continue;
    return malformed("https: URI with a character not allowed in its path, query or fragment");
  }
  return RuaCheck{RuaKind::https, std::string(uri), {}};
}

}  // namespace

const char* to_string(RuaKind k) {
  switch (k) {
    case RuaKind::mailto: return "mailto";
    case RuaKind::https: return "https";
    case RuaKind::unsupported_scheme: return "unsupported-scheme";
    case RuaKind::malformed: return "malformed";
  }
  return "?";
}

bool is_tlsrpt_record(std::string_view txt) {
  if (txt.substr(0, kVersion.size()) != kVersion) return false;
  txt.remove_prefix(kVersion.size());
  while (!txt.empty() && is_wsp(txt.front())) txt.remove_prefix(1);
  return !txt.empty() && txt.front() == ';';
}

Result<Record> parse_record(std::string_view txt) {
  if (txt.size() > limits::kTlsRptRecordBytes)
    return make_error(Errc::limit, "TLSRPT record of " + std::to_string(txt.size()) + " octets exceeds the limit of " +
                                       std::to_string(limits::kTlsRptRecordBytes));
  // Everything in the grammar is printable ASCII or WSP; a control or
  // non-ASCII octet anywhere is a syntax error, not something to skip.
  for (char ch : txt) {
    const auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c > 0x7e)
      return make_error(Errc::parse, "TLSRPT record contains a control or non-ASCII octet: " + quote(txt));
  }
  if (!is_tlsrpt_record(txt))
    return make_error(Errc::parse, "not a TLSRPT record (does not begin with \"v=TLSRPTv1;\"): " + quote(txt));

  Record rec;
  bool have_rua = false;
  std::size_t p = kVersion.size();
  for (;;) {
    // field-delim = *WSP ";" *WSP, or the end of the record.
    while (p < txt.size() && is_wsp(txt[p])) ++p;
    if (p == txt.size()) break;
    if (txt[p] != ';') return make_error(Errc::parse, "TLSRPT record: expected \";\" at " + quote(txt.substr(p)));
    ++p;
    while (p < txt.size() && is_wsp(txt[p])) ++p;
    if (p == txt.size()) break;  // the optional final field-delim
    std::size_t end = txt.find(';', p);
    if (end == std::string_view::npos) end = txt.size();
    const std::string_view field = trim_wsp(txt.substr(p, end - p));
    p += field.size();
    const auto eq = field.find('=');
    if (eq == std::string_view::npos) return make_error(Errc::parse, "TLSRPT record: field without \"=\": " + quote(field));
    const std::string_view name = field.substr(0, eq);
    const std::string_view value = field.substr(eq + 1);
    if (name == "rua") {
      if (have_rua) return make_error(Errc::parse, "TLSRPT record: rua given more than once");
      have_rua = true;
      for (std::string_view uri : split(value, ',')) {
        uri = trim_wsp(uri);
        if (uri.empty()) return make_error(Errc::parse, "TLSRPT record: empty URI in rua " + quote(value));
        if (rec.rua.size() >= static_cast<std::size_t>(limits::kTlsRptMaxRua))
          return make_error(Errc::limit, "TLSRPT record: more than " + std::to_string(limits::kTlsRptMaxRua) +
                                             " rua URIs");
        rec.rua.emplace_back(uri);
      }
      continue;
    }
    // tlsrpt-extension: syntax-checked, then ignored (§3).
    if (!codec::is_ext_name(name) || !codec::is_ext_value(value))
      return make_error(Errc::parse, "TLSRPT record: malformed field " + quote(field));
  }
  // §3: "Note that the tlsrpt-rua field is required."
  if (!have_rua) return make_error(Errc::parse, "TLSRPT record without rua: " + quote(txt));
  return rec;
}

Result<std::optional<Record>> select_record(const std::vector<std::string>& txts) {
  // §3: "records that do not begin with "v=TLSRPTv1;" are discarded. If the
  // number of resulting records is not one, senders MUST assume the
  // recipient domain does not implement TLSRPT."
  return codec::select_one_record<Record>(txts, is_tlsrpt_record, parse_record, "v=TLSRPTv1");
}

RuaCheck classify_rua(std::string_view uri) {
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return malformed("not a URI (no scheme)");
  const std::string_view scheme = uri.substr(0, colon);
  // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
  if (!is_alpha(scheme.front())) return malformed("not a URI (invalid scheme)");
  for (char c : scheme)
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return malformed("not a URI (invalid scheme)");
  for (std::size_t i = 0; i < uri.size(); ++i) {
    const char c = uri[i];
    if (!is_uri_char(c)) return malformed("character not allowed in a URI at offset " + std::to_string(i));
    // §3: "commas (ASCII 0x2C), exclamation points (ASCII 0x21), and
    // semicolons (ASCII 0x3B) MUST be encoded" (commas and semicolons never
    // reach here: they separate URIs and fields).
    if (c == '!') return malformed("unencoded \"!\" in URI (RFC 8460 §3 requires %21)");
    if (c == '%' && (uri.size() - i < 3 || hex_digit_value(uri[i + 1]) < 0 || hex_digit_value(uri[i + 2]) < 0))
      return malformed("malformed percent-encoding in URI");
  }
  const std::string_view rest = uri.substr(colon + 1);
  if (iequals(scheme, "mailto")) return classify_mailto(rest);
  if (iequals(scheme, "https")) return classify_https(uri, rest);
  return RuaCheck{RuaKind::unsupported_scheme, {},
                  "URI scheme " + quote(scheme) + " is neither mailto nor https (RFC 8460 §3)"};
}

std::vector<RuaCheck> check_rua(const Record& record) {
  std::vector<RuaCheck> out;
  out.reserve(record.rua.size());
  for (const auto& u : record.rua) out.push_back(classify_rua(u));
  return out;
}

}  // namespace mxsec::policy::tlsrpt

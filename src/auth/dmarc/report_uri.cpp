#include "auth/dmarc/report_uri.hpp"

#include "core/strings.hpp"

namespace mxsec::auth::dmarc {
namespace {

std::string_view trim_wsp(std::string_view s) {
  while (!s.empty() && is_wsp(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_wsp(s.back())) s.remove_suffix(1);
  return s;
}


// RFC 3986 unreserved / reserved characters ("%" handled separately).
bool is_uri_char(char c) {
  if (is_alnum(c)) return true;
  switch (c) {
    case '-': case '.': case '_': case '~':                                         // unreserved
    case ':': case '/': case '?': case '#': case '[': case ']': case '@':           // gen-delims
    case '!': case '$': case '&': case '\'': case '(': case ')': case '*': case '+':
    case ',': case ';': case '=':                                                   // sub-delims
      return true;
    default:
      return false;
  }
}

std::optional<std::string> percent_decode(std::string_view s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    if (s.size() - i < 3 || hex_digit_value(s[i + 1]) < 0 || hex_digit_value(s[i + 2]) < 0) return std::nullopt;
    out += static_cast<char>(hex_digit_value(s[i + 1]) * 16 + hex_digit_value(s[i + 2]));
    i += 2;
  }
  return out;
}

}  // namespace

const char* to_string(ReportAuthorization a) {
  switch (a) {
    case ReportAuthorization::internal: return "internal";
    case ReportAuthorization::authorized: return "authorized";
    case ReportAuthorization::not_authorized: return "not-authorized";
    case ReportAuthorization::temperror: return "temperror";
    case ReportAuthorization::not_applicable: return "not-applicable";
  }
  return "?";
}

namespace {

// RFC 7489 §6.4: dmarc-uri = URI [ "!" 1*DIGIT [ "k" / "m" / "g" / "t" ] ].
// RFC 9989 dropped the size; "!" must now be percent-encoded in the URI.
// Strips a valid size from `text` (noting it in `u`); false if a '!' is
// there but is not a size.
bool take_size_suffix(std::string_view& text, ReportUri& u) {
  const std::size_t bang = text.rfind('!');
  if (bang == std::string_view::npos) return true;
  std::string_view size = text.substr(bang + 1);
  std::uint64_t mult = 1;
  if (!size.empty() && !is_digit(size.back())) {
    switch (ascii_lower(size.back())) {
      case 'k': mult = 1ULL << 10; break;
      case 'm': mult = 1ULL << 20; break;
      case 'g': mult = 1ULL << 30; break;
      case 't': mult = 1ULL << 40; break;
      default: mult = 0; break;
    }
    size.remove_suffix(1);
  }
  const auto n = mult ? parse_uint(size, UINT64_MAX / mult) : std::nullopt;
  if (!n) {
    u.note = "unencoded '!' that is not an RFC 7489 size suffix";
    return false;
  }
  u.max_report_bytes = *n * mult;
  u.note = "size limit \"!" + std::string(text.substr(bang + 1)) + "\" is RFC 7489 only; ignored";
  text = text.substr(0, bang);
  u.uri = std::string(text);
  return true;
}

// RFC 3986 syntax of scheme ":" rest; "" when it holds.
std::string uri_syntax_problem(std::string_view text) {
  const std::size_t colon = text.find(':');
  if (colon == std::string_view::npos || colon == 0 || !is_alpha(text.front())) return "not a URI (no scheme)";
  for (char c : text.substr(0, colon))
    if (!is_alnum(c) && c != '+' && c != '-' && c != '.') return "invalid URI scheme";
  const std::string_view rest = text.substr(colon + 1);
  if (rest.empty()) return "empty URI after the scheme";
  for (std::size_t i = 0; i < rest.size(); ++i) {
    const char c = rest[i];
    if (c == '%') {
      if (rest.size() - i < 3 || hex_digit_value(rest[i + 1]) < 0 || hex_digit_value(rest[i + 2]) < 0)
        return "bad percent-encoding";
      i += 2;
    } else if (!is_uri_char(c) || c == ',') {
      return "character not allowed in a URI: " + escape_for_log(std::string_view(&rest[i], 1));
    }
  }
  return {};
}

// The address of a mailto: URI (after "mailto:"); `u` becomes actionable
// when it is one usable local@domain.
void take_mailto(std::string_view rest, ReportUri& u) {
  std::string_view addr = rest.substr(0, rest.find('?'));  // hfields are ignored
  auto decoded = percent_decode(addr);
  if (!decoded || decoded->empty()) {
    u.note = "mailto: without an address";
    return;
  }
  if (decoded->find(',') != std::string::npos) {
    u.note = "mailto: with several addresses; only one per URI is used by mxsec";
    return;
  }
  const std::size_t at = decoded->rfind('@');
  if (at == std::string::npos || at == 0 || at + 1 >= decoded->size()) {
    u.note = "mailto: address is not local@domain";
    return;
  }
  const std::string domain = normalize_domain(std::string_view(*decoded).substr(at + 1));
  if (!is_valid_domain_name(domain)) {
    u.note = "mailto: address has an invalid domain";
    return;
  }
  for (unsigned char c : *decoded) {
    if (c < 0x21 || c == 0x7f) {
      u.note = "mailto: address contains control characters or spaces";
      return;
    }
  }
  u.address = *decoded;
  u.host = domain;
  u.actionable = true;
}

}  // namespace

ReportUri parse_report_uri(std::string_view text) {
  ReportUri u;
  text = trim_wsp(text);
  u.uri = std::string(text);
  if (text.empty()) {
    u.note = "empty URI";
    return u;
  }
  if (!take_size_suffix(text, u)) return u;
  if (std::string problem = uri_syntax_problem(text); !problem.empty()) {
    u.note = std::move(problem);
    return u;
  }
  const std::size_t colon = text.find(':');
  u.scheme = to_lower(text.substr(0, colon));
  u.valid = true;
  // Scheme names are case-insensitive (RFC 3986 §3.1), so "MAILTO:" counts.
  if (u.scheme != "mailto") {
    u.note = "scheme \"" + u.scheme + "\" is not supported (only mailto); ignored";
    return u;
  }
  take_mailto(text.substr(colon + 1), u);
  return u;
}

std::vector<ReportUri> parse_uri_list(std::string_view value, int max_uris) {
  std::vector<ReportUri> out;
  int kept = 0;
  for (std::string_view item : split(value, ',')) {
    if (trim_wsp(item).empty()) continue;
    if (kept >= max_uris) {
      ReportUri dropped;
      dropped.uri = std::string(trim_wsp(item));
      dropped.note = "more than " + std::to_string(max_uris) + " URIs; dropped";
      out.push_back(std::move(dropped));
      continue;
    }
    out.push_back(parse_report_uri(item));
    ++kept;
  }
  return out;
}

}  // namespace mxsec::auth::dmarc

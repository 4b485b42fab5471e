#include "codec/address.hpp"

#include "codec/idna.hpp"
#include "core/strings.hpp"

namespace mxsec::codec {
namespace {

// Removes comments and unquotes quoted strings from one addr-spec, keeping
// the structure characters. Returns nullopt-equivalent error on imbalance.
Result<std::string> strip_cfws(std::string_view s) {
  std::string out;
  int depth = 0;
  bool quoted = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '\\' && (quoted || depth > 0)) {
      if (i + 1 >= s.size()) return make_error(Errc::parse, "quoted-pair at the end of the field");
      if (quoted) out += s[i + 1];
      ++i;
      continue;
    }
    if (depth > 0) {
      if (c == '(') ++depth;
      else if (c == ')') --depth;
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false;
      else out += c;
      continue;
    }
    if (c == '"') quoted = true;
    else if (c == '(') depth = 1;
    else if (c == ')') return make_error(Errc::parse, "unbalanced ')' in address");
    else if (!is_wsp(c) && c != '\r' && c != '\n') out += c;
  }
  if (quoted) return make_error(Errc::parse, "unterminated quoted string in address");
  if (depth > 0) return make_error(Errc::parse, "unterminated comment in address");
  return out;
}

Result<Mailbox> split_addr_spec(std::string_view raw) {
  auto spec = strip_cfws(raw);
  if (!spec) return spec.error();
  const std::size_t at = spec->rfind('@');
  if (at == std::string::npos) return make_error(Errc::parse, "mailbox without '@': " + escape_for_log(*spec, 60));
  Mailbox m;
  m.local_part = spec->substr(0, at);
  std::string domain = spec->substr(at + 1);
  if (domain.empty()) return make_error(Errc::parse, "mailbox with an empty domain");
  if (domain.front() == '[') return make_error(Errc::parse, "domain literal where a domain name is required");
  // RFC 6532 lets the domain be UTF-8; RFC 9989 §5.3.1 and RFC 8616 §3
  // compare and query A-labels, so U-labels are converted here, once.
  auto a_labels = to_a_label_domain(domain);
  if (!a_labels) return make_error(Errc::parse, "invalid domain in address: " + a_labels.error().message);
  m.domain = std::move(*a_labels);
  if (!is_valid_domain_name(m.domain))
    return make_error(Errc::parse, "invalid domain in address: " + escape_for_log(m.domain, 60));
  return m;
}

}  // namespace

Result<std::vector<Mailbox>> parse_mailbox_list(std::string_view value, std::size_t max_mailboxes) {
  std::vector<Mailbox> out;
  // Scan once, tracking quotes, comments and angle brackets; a mailbox ends
  // at ',' or ';' (end of group) at the top level.
  std::size_t start = 0;
  int depth = 0;
  bool quoted = false;
  std::size_t angle_open = std::string_view::npos;
  std::string_view angle_spec;
  bool have_angle = false;
  auto finish = [&](std::size_t end) -> Result<void> {
    std::string_view element = value.substr(start, end - start);
    start = end + 1;
    if (have_angle) {
      auto m = split_addr_spec(angle_spec);
      if (!m) return m.error();
      out.push_back(std::move(*m));
    } else {
      auto stripped = strip_cfws(element);
      if (!stripped) return stripped.error();
      if (stripped->empty()) return {};  // empty list element (obs-mbox-list) or empty group
      auto m = split_addr_spec(element);
      if (!m) return m.error();
      out.push_back(std::move(*m));
    }
    have_angle = false;
    if (out.size() > max_mailboxes) return make_error(Errc::limit, "too many mailboxes in the field");
    return {};
  };
  for (std::size_t i = 0; i < value.size(); ++i) {
    const char c = value[i];
    if (c == '\\' && (quoted || depth > 0)) {
      ++i;
      continue;
    }
    if (depth > 0) {
      if (c == '(') ++depth;
      else if (c == ')') --depth;
      continue;
    }
    if (quoted) {
      if (c == '"') quoted = false;
      continue;
    }
    switch (c) {
      case '"': quoted = true; break;
      case '(': depth = 1; break;
      case ')': return make_error(Errc::parse, "unbalanced ')' in address field");
      case '<':
        if (angle_open != std::string_view::npos || have_angle)
          return make_error(Errc::parse, "nested or repeated '<' in address field");
        angle_open = i;
        break;
      case '>':
        if (angle_open == std::string_view::npos) return make_error(Errc::parse, "'>' without '<' in address field");
        angle_spec = value.substr(angle_open + 1, i - angle_open - 1);
        // obs-route: "<@relay:user@example.com>" keeps what follows ':'.
        if (auto colon = angle_spec.find(':'); !angle_spec.empty() && angle_spec.front() == '@' && colon != std::string_view::npos)
          angle_spec.remove_prefix(colon + 1);
        angle_open = std::string_view::npos;
        have_angle = true;
        break;
      case ':':
        if (angle_open == std::string_view::npos) start = i + 1;  // group display name ends
        break;
      case ',':
      case ';':
        if (angle_open == std::string_view::npos) {
          if (auto r = finish(i); !r) return r.error();
        }
        break;
      default: break;
    }
  }
  if (quoted) return make_error(Errc::parse, "unterminated quoted string in address field");
  if (depth > 0) return make_error(Errc::parse, "unterminated comment in address field");
  if (angle_open != std::string_view::npos) return make_error(Errc::parse, "unterminated '<' in address field");
  if (auto r = finish(value.size()); !r) return r.error();
  if (out.empty()) return make_error(Errc::parse, "no mailbox in address field");
  return out;
}

Result<Mailbox> parse_path(std::string_view path) {
  path = trim(path);
  if (!path.empty() && path.front() == '<') {
    if (path.back() != '>') return make_error(Errc::parse, "path without closing '>'");
    path = path.substr(1, path.size() - 2);
  }
  if (path.empty()) return Mailbox{};
  // RFC 5321 §4.1.2: an "@" in the local part must be inside a quoted string.
  bool quoted = false;
  int ats = 0;
  for (std::size_t i = 0; i < path.size(); ++i) {
    if (path[i] == '\\' && quoted) {
      ++i;
    } else if (path[i] == '"') {
      quoted = !quoted;
    } else if (path[i] == '@' && !quoted) {
      ++ats;
    }
  }
  if (ats != 1) return make_error(Errc::parse, "path must have exactly one unquoted '@': " + escape_for_log(path, 60));
  return split_addr_spec(path);
}

}  // namespace mxsec::codec

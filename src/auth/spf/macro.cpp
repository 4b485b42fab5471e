#include "auth/spf/macro.hpp"

#include <algorithm>
#include <cstdio>

#include "core/strings.hpp"

namespace mxsec::auth::spf {
namespace {

constexpr std::string_view kDelimiters = ".-+,/_=";
constexpr std::uint16_t kMaxDigits = 65535;  // larger DIGIT values mean "all parts"

std::string at(std::size_t offset) { return " at offset " + std::to_string(offset); }

bool is_toplabel(std::string_view label) {
  // toplabel = ( *alphanum ALPHA *alphanum ) / ( 1*alphanum "-" *( alphanum / "-" ) alphanum )
  if (label.empty() || !is_alnum(label.front()) || !is_alnum(label.back())) return false;
  bool alpha = false, dash = false;
  for (char c : label) {
    if (is_alpha(c)) alpha = true;
    else if (c == '-') dash = true;
    else if (!is_digit(c)) return false;
  }
  return alpha || dash;
}

void url_escape_append(std::string_view in, std::string& out) {
  for (unsigned char c : in) {
    // RFC 3986 unreserved = ALPHA / DIGIT / "-" / "." / "_" / "~"
    if (is_alnum(static_cast<char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      append_hex(out, c, HexCase::upper);
    }
  }
}

bool is_delimiter(char c, std::uint8_t set) {
  if (set == 0) return c == '.';
  const auto pos = kDelimiters.find(c);
  return pos != std::string_view::npos && (set & (1u << pos));
}

// Applies the transformers of §7.3 to `value` and appends the result.
void transform_append(std::string_view value, const MacroToken& t, std::string& out) {
  if (!t.reverse && t.digits == 0 && t.delimiters == 0) {
    out += value;  // split on "." and rejoined with "." is the identity
    return;
  }
  std::vector<std::string_view> parts;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= value.size(); ++i) {
    if (i == value.size() || is_delimiter(value[i], t.delimiters)) {
      parts.push_back(value.substr(start, i - start));
      start = i + 1;
    }
  }
  if (t.reverse) std::reverse(parts.begin(), parts.end());
  std::size_t first = 0;
  if (t.digits != 0 && t.digits < parts.size()) first = parts.size() - t.digits;
  for (std::size_t i = first; i < parts.size(); ++i) {
    if (i != first) out += '.';
    out += parts[i];
  }
}

void append_v4(const IpAddress& ip, std::string& out) {
  // Dotted quad without inet_ntop (which goes through printf).
  for (std::size_t i = 0; i < 4; ++i) {
    if (i) out += '.';
    const unsigned b = ip.bytes()[i];
    if (b >= 100) out += static_cast<char>('0' + b / 100);
    if (b >= 10) out += static_cast<char>('0' + b / 10 % 10);
    out += static_cast<char>('0' + b % 10);
  }
}

void ip_dotted(const IpAddress& ip, std::string& out) {
  if (ip.is_v4()) {
    out.clear();
    append_v4(ip, out);
    return;
  }
  // RFC 7208 §7.3: "For IPv6 addresses, the "i" macro expands to a
  // dot-format address; it is intended for use in %{ir}."
  out.clear();
  for (std::size_t i = 0; i < 16; ++i) {
    if (i) out += '.';
    out += hex_digit(ip.bytes()[i] >> 4);
    out += '.';
    out += hex_digit(ip.bytes()[i] & 15u);
  }
}

struct ParsedMacro {
  MacroToken token;
  std::size_t next = 0;  // index after the closing '}'
};

// One "%{" macro-letter transformers *delimiter "}" starting at text[i]
// (RFC 7208 §7.1), after the caller has seen "%{".
Result<ParsedMacro> parse_macro_expand(std::string_view text, std::size_t i, MacroKind kind) {
  std::size_t j = i + 2;
  if (j >= text.size()) return make_error(Errc::parse, "unterminated macro" + at(i));
  MacroToken t;
  t.type = MacroToken::Type::macro;
  const char letter = ascii_lower(text[j]);
  if (std::string_view("slodiphcrtv").find(letter) == std::string_view::npos || !is_alpha(text[j]))
    return make_error(Errc::parse, "unknown macro letter '" + escape_for_log(text.substr(j, 1)) + "'" + at(j));
  // RFC 7208 §7.1: "The following macro letters are allowed only in
  // "exp" text: c, r, t".
  if (kind == MacroKind::domain_spec && (letter == 'c' || letter == 'r' || letter == 't'))
    return make_error(Errc::parse, std::string("macro letter '") + text[j] + "' is allowed only in exp text" + at(j));
  t.letter = letter;
  t.url_escape = text[j] != letter;
  ++j;
  bool have_digits = false;
  std::uint32_t digits = 0;
  while (j < text.size() && is_digit(text[j])) {
    have_digits = true;
    digits = std::min<std::uint32_t>(digits * 10 + static_cast<std::uint32_t>(text[j] - '0'), kMaxDigits);
    ++j;
  }
  // RFC 7208 §7.3: "If a DIGIT is specified, the value MUST be nonzero."
  if (have_digits && digits == 0) return make_error(Errc::parse, "macro DIGIT transformer must be nonzero" + at(i));
  t.digits = static_cast<std::uint16_t>(digits);
  if (j < text.size() && ascii_lower(text[j]) == 'r') {
    t.reverse = true;
    ++j;
  }
  while (j < text.size()) {
    const auto pos = kDelimiters.find(text[j]);
    if (pos == std::string_view::npos) break;
    t.delimiters = static_cast<std::uint8_t>(t.delimiters | (1u << pos));
    ++j;
  }
  if (j >= text.size() || text[j] != '}')
    return make_error(Errc::parse, "malformed macro '" + escape_for_log(text.substr(i, j + 1 - i)) + "'" + at(i));
  return ParsedMacro{std::move(t), j + 1};
}

// domain-end = ( "." toplabel [ "." ] ) / macro-expand (RFC 7208 §7.1).
Result<void> check_domain_end(std::string_view text, std::size_t tail_start, bool ends_with_expand) {
  if (text.empty()) return make_error(Errc::parse, "empty domain-spec");
  if (ends_with_expand) return {};
  std::string_view tail = text.substr(tail_start);
  if (!tail.empty() && tail.back() == '.') tail.remove_suffix(1);
  // XXX: "%{d}." (a macro then one dot) is accepted although the ABNF
  // wants the dot only after a toplabel; the dot is dropped anyway.
  if (tail.empty() && tail_start > 0) return {};
  const auto dot = tail.rfind('.');
  if (dot == std::string_view::npos || !is_toplabel(tail.substr(dot + 1)))
    return make_error(Errc::parse,
                      "domain-spec '" + escape_for_log(text) + "' must end in '.' and a valid top label, or in a macro");
  return {};
}

}  // namespace

Result<MacroString> parse_macro_string(std::string_view text, MacroKind kind) {
  MacroString ms;
  std::string literal;
  std::size_t tail_start = 0;  // first byte after the last macro-expand
  bool ends_with_expand = false;
  auto flush = [&] {
    if (literal.empty()) return;
    MacroToken t;
    t.text = std::move(literal);
    literal.clear();
    ms.tokens.push_back(std::move(t));
  };
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '%') {
      if (i + 1 >= text.size()) return make_error(Errc::parse, "'%' at the end of the macro-string");
      const char d = text[i + 1];
      if (d == '%' || d == '_' || d == '-') {
        literal += d == '%' ? "%" : d == '_' ? " " : "%20";
        i += 2;
        tail_start = i;
        ends_with_expand = true;
        continue;
      }
      if (d != '{')
        return make_error(Errc::parse, "'%'" + at(i) + " must be followed by '{', '%', '_' or '-'");
      auto macro = parse_macro_expand(text, i, kind);
      if (!macro) return macro.error();
      if (macro->token.letter == 'p') ms.uses_p = true;
      ms.constant = false;
      flush();
      ms.tokens.push_back(std::move(macro->token));
      i = macro->next;
      tail_start = i;
      ends_with_expand = true;
      continue;
    }
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 0x21 && u <= 0x7e) || (c == ' ' && kind == MacroKind::explain)) {
      literal += c;
      ends_with_expand = false;
      ++i;
      continue;
    }
    if (u >= 0x80) return make_error(Errc::parse, "non-ASCII byte" + at(i));
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02x", u);
    return make_error(Errc::parse, std::string("invalid byte ") + buf + at(i));
  }
  flush();
  if (kind == MacroKind::domain_spec)
    if (auto r = check_domain_end(text, tail_start, ends_with_expand); !r) return r.error();
  return ms;
}

Result<void> expand(const MacroString& ms, const MacroVars& vars, std::string& out, std::size_t max_bytes) {
  std::string scratch;
  std::string piece;
  for (const MacroToken& t : ms.tokens) {
    if (t.type == MacroToken::Type::literal) {
      out += t.text;
    } else {
      std::string_view value;
      switch (t.letter) {
        case 's': value = vars.sender; break;
        case 'l': value = vars.local_part; break;
        case 'o': value = vars.sender_domain; break;
        case 'd': value = vars.domain; break;
        case 'i': ip_dotted(vars.ip, scratch); value = scratch; break;
        case 'p': value = vars.validated_domain.empty() ? std::string_view("unknown") : vars.validated_domain; break;
        case 'h': value = vars.helo; break;
        case 'c':
          // RFC 7208 §7.3: "c" is the readable form: dotted quad, or RFC 5952 IPv6.
          if (vars.ip.is_v4()) {
            scratch.clear();
            append_v4(vars.ip, scratch);
          } else {
            scratch = vars.ip.to_string();
          }
          value = scratch;
          break;
        case 'r': value = vars.receiver.empty() ? std::string_view("unknown") : vars.receiver; break;
        case 't': scratch = std::to_string(vars.timestamp); value = scratch; break;
        case 'v': value = vars.ip.is_v4() ? "in-addr" : "ip6"; break;
        default: value = {}; break;
      }
      if (value.size() > max_bytes)
        return make_error(Errc::limit, "macro expansion exceeds " + std::to_string(max_bytes) + " bytes");
      if (t.url_escape) {
        piece.clear();
        transform_append(value, t, piece);
        url_escape_append(piece, out);
      } else {
        transform_append(value, t, out);
      }
    }
    if (out.size() > max_bytes)
      return make_error(Errc::limit, "macro expansion exceeds " + std::to_string(max_bytes) + " bytes");
  }
  return {};
}

Result<std::string> expand_text(std::string_view text, MacroKind kind, const MacroVars& vars, std::size_t max_bytes) {
  auto ms = parse_macro_string(text, kind);
  if (!ms) return ms.error();
  std::string out;
  auto r = expand(*ms, vars, out, max_bytes);
  if (!r) return r.error();
  return out;
}

bool to_target_name(std::string& name) {
  if (!name.empty() && name.back() == '.') name.pop_back();
  // RFC 7208 §7.3: "if the expanded domain name exceeds 253 characters (the
  // maximum length of a domain name in this format), the left side is
  // truncated to fit, by removing successive domain labels (and their
  // following dots) until the total length does not exceed 253 characters."
  if (name.size() > 253) {
    std::size_t cut = 0;
    while (name.size() - cut > 253) {
      const auto dot = name.find('.', cut);
      if (dot == std::string::npos) return false;
      cut = dot + 1;
    }
    name.erase(0, cut);
  }
  if (name.empty()) return false;
  std::size_t label = 0;
  for (char c : name) {
    if (c == '.') {
      if (label == 0) return false;
      label = 0;
    } else if (++label > 63) {
      return false;
    }
  }
  return label != 0;
}

bool is_valid_spf_domain(std::string_view domain) {
  if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
  if (domain.empty() || domain.size() > 253 || domain.front() == '[') return false;
  std::size_t labels = 1, label = 0;
  for (char c : domain) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) return false;
    if (c == '.') {
      if (label == 0) return false;
      ++labels;
      label = 0;
    } else if (++label > 63) {
      return false;
    }
  }
  return label != 0 && labels >= 2;
}

}  // namespace mxsec::auth::spf

// Authentication-Results parsing (RFC 8601 §2.2). See auth_results.hpp.
//
//   authres-payload = [CFWS] authserv-id [ CFWS authres-version ]
//                     ( no-result / 1*resinfo ) [CFWS] CRLF
//   authres-version = 1*DIGIT [CFWS]
//   no-result       = [CFWS] ";" [CFWS] "none"
//   resinfo         = [CFWS] ";" methodspec [ CFWS reasonspec ] [ CFWS 1*propspec ]
//   methodspec      = [CFWS] method [CFWS] "=" [CFWS] result
//   reasonspec      = "reason" [CFWS] "=" [CFWS] value
//   propspec        = ptype [CFWS] "." [CFWS] property [CFWS] "=" pvalue
//   method          = Keyword [ [CFWS] "/" [CFWS] method-version ]
//   pvalue          = [CFWS] ( value / [ [ local-part ] "@" ] domain-name ) [CFWS]
//
// A cursor with a sticky error: the first failure records its offset and
// what was expected, and every later step is a no-op.
#include <cstring>

#include "auth/ar/auth_results.hpp"
#include "core/strings.hpp"

namespace mxsec::auth::ar {
namespace {

class Cursor {
 public:
  Cursor(std::string_view s, const ParseLimits& limits) : s_(s), limits_(limits) {}

  bool ok() const { return err_.empty(); }
  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }
  std::size_t pos() const { return pos_; }
  const std::string& error() const { return err_; }
  Errc error_code() const { return code_; }

  void fail(std::string what, Errc code = Errc::parse) {
    if (!err_.empty()) return;
    code_ = code;
    err_ = "at offset " + std::to_string(pos_) + ": " + what;
    if (!at_end() && code == Errc::parse) err_ += ", found \"" + escape_for_log(s_.substr(pos_, 12), 12) + "\"";
    else if (at_end() && code == Errc::parse) err_ += ", found end of field";
  }

  // CFWS; returns true if anything was skipped. The first comment's content
  // is stored in *comment when asked for.
  bool skip_cfws(std::string* comment = nullptr) {
    const std::size_t start = pos_;
    while (ok() && !at_end()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t') {
        ++pos_;
      } else if (c == '\r' || c == '\n') {
        // A line break is only FWS when whitespace follows (a fold), or at
        // the very end of the field.
        std::size_t p = pos_;
        if (s_[p] == '\r') ++p;
        if (p < s_.size() && s_[p] == '\n') ++p;
        if (p == pos_ + 1 && s_[pos_] == '\r') {
          fail("bare CR");
          return false;
        }
        if (p < s_.size() && s_[p] != ' ' && s_[p] != '\t') {
          fail("line break not followed by whitespace");
          return false;
        }
        pos_ = p;
      } else if (c == '(') {
        std::string text;
        if (!comment_body(text)) return false;
        if (comment && comment->empty()) *comment = text;
      } else {
        break;
      }
    }
    return pos_ != start;
  }

  // RFC 5321 Keyword (ldh-str); lower-cased.
  bool keyword(std::string& out, const char* what) {
    const std::size_t start = pos_;
    while (!at_end() && (is_alnum(s_[pos_]) || s_[pos_] == '-')) ++pos_;
    std::string_view k = s_.substr(start, pos_ - start);
    if (k.empty() || !is_alnum(k.front()) || !is_alnum(k.back())) {
      pos_ = start;
      fail(std::string("expected ") + what);
      return false;
    }
    out = to_lower(k);
    return true;
  }

  bool digits(unsigned& out, const char* what) {
    const std::size_t start = pos_;
    while (!at_end() && is_digit(s_[pos_])) ++pos_;
    auto n = parse_uint(s_.substr(start, pos_ - start), 0xFFFFFFFFu);
    if (!n) {
      pos_ = start;
      fail(std::string("expected ") + what + " (1 to 10 digits)");
      return false;
    }
    out = static_cast<unsigned>(*n);
    return true;
  }

  bool expect(char c, const char* what) {
    if (peek() != c) {
      fail(std::string("expected ") + what);
      return false;
    }
    ++pos_;
    return true;
  }

  // RFC 2045 value = token / quoted-string
  bool value(std::string& out, const char* what) {
    if (peek() == '"') return quoted_string(out);
    const std::size_t start = pos_;
    while (!at_end() && is_token(s_.substr(pos_, 1))) ++pos_;
    if (pos_ == start) {
      fail(std::string("expected ") + what + " (token or quoted-string)");
      return false;
    }
    out = std::string(s_.substr(start, pos_ - start));
    return true;
  }

  // pvalue: value, or [local-part] "@" domain-name. Accepted leniently as a
  // run of visible characters (and UTF-8) up to CFWS or ";": real headers put
  // base64 (header.b with "/" "+" "=") and IPv6 addresses (":") here unquoted,
  // and the run is delimited without ambiguity.
  bool pvalue(std::string& out) {
    const std::size_t start = pos_;
    if (peek() == '"') {
      std::string q;
      if (!quoted_string(q)) return false;
      if (peek() != '@') {
        out = std::move(q);
        return true;
      }
      // quoted local-part "@" domain: keep the local part as written.
    }
    while (!at_end()) {
      const auto u = static_cast<unsigned char>(s_[pos_]);
      if (u <= 0x20 || u == 0x7f || std::strchr(";()\"\\", s_[pos_])) break;
      ++pos_;
    }
    if (pos_ == start) {
      fail("expected a property value");
      return false;
    }
    out = std::string(s_.substr(start, pos_ - start));
    return true;
  }

 private:
  bool quoted_string(std::string& out) {
    ++pos_;  // DQUOTE
    out.clear();
    while (!at_end()) {
      const char c = s_[pos_];
      if (c == '"') {
        ++pos_;
        return true;
      }
      if (c == '\\') {
        if (pos_ + 1 >= s_.size()) break;
        out += s_[pos_ + 1];
        pos_ += 2;
        continue;
      }
      if (c == '\r' || c == '\n') {  // FWS inside: the CRLF is invisible
        ++pos_;
        continue;
      }
      const auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7f) {
        fail("control character in quoted-string");
        return false;
      }
      out += c;
      ++pos_;
    }
    fail("unterminated quoted-string");
    return false;
  }

  bool comment_body(std::string& text) {
    int depth = 0;
    const std::size_t open = pos_;
    while (!at_end()) {
      const char c = s_[pos_];
      if (c == '(') {
        if (++depth > limits_.max_comment_depth) {
          fail("comments nested deeper than " + std::to_string(limits_.max_comment_depth), Errc::limit);
          return false;
        }
        if (depth > 1) text += c;
        ++pos_;
      } else if (c == ')') {
        ++pos_;
        if (--depth == 0) return true;
        text += c;
      } else if (c == '\\') {
        if (pos_ + 1 >= s_.size()) break;
        text += s_[pos_ + 1];
        pos_ += 2;
      } else if (c == '\r' || c == '\n') {
        ++pos_;
      } else {
        const auto u = static_cast<unsigned char>(c);
        if ((u < 0x20 && c != '\t') || u == 0x7f) {
          fail("control character in comment");
          return false;
        }
        text += c;
        ++pos_;
      }
    }
    pos_ = open;
    fail("unterminated comment");
    return false;
  }

  std::string_view s_;
  const ParseLimits& limits_;
  std::size_t pos_ = 0;
  std::string err_;
  Errc code_ = Errc::parse;
};

bool parse_resinfo(Cursor& c, MethodResult& r, const ParseLimits& limits) {
  // methodspec = [CFWS] method [CFWS] "=" [CFWS] result
  if (!c.keyword(r.method, "a method name")) return false;
  c.skip_cfws();
  if (c.peek() == '/') {
    c.expect('/', "'/'");
    c.skip_cfws();
    unsigned v = 0;
    if (!c.digits(v, "a method version")) return false;
    r.version = v;
    c.skip_cfws();
  }
  if (!c.expect('=', "'=' after the method name")) return false;
  c.skip_cfws();
  if (!c.keyword(r.result, "a result keyword")) return false;
  bool spaced = c.skip_cfws(&r.comment);
  bool have_reason = false;
  if (!c.ok()) return false;
  while (c.ok() && !c.at_end() && c.peek() != ';') {
    if (!spaced) {
      c.fail("expected whitespace or a comment before the next element");
      return false;
    }
    std::string word;
    if (!c.keyword(word, "reason=, or ptype.property=value")) return false;
    c.skip_cfws();
    if (c.peek() == '=' && word == "reason" && !have_reason && r.props.empty()) {
      c.expect('=', "'='");
      c.skip_cfws();
      if (!c.value(r.reason, "the reason")) return false;
      have_reason = true;
    } else if (c.peek() == '.') {
      c.expect('.', "'.'");
      c.skip_cfws();
      Property p;
      p.ptype = std::move(word);
      if (!c.keyword(p.property, "a property name")) return false;
      c.skip_cfws();
      if (!c.expect('=', "'=' after the property name")) return false;
      c.skip_cfws();
      if (!c.pvalue(p.value)) return false;
      if (static_cast<int>(r.props.size()) >= limits.max_props) {
        c.fail("more than " + std::to_string(limits.max_props) + " properties in one result", Errc::limit);
        return false;
      }
      r.props.push_back(std::move(p));
    } else {
      c.fail("expected '.' (ptype.property) or reason=");
      return false;
    }
    spaced = c.skip_cfws();
  }
  return c.ok();
}

}  // namespace

Result<AuthResults> parse_value(std::string_view value, const ParseLimits& limits) {
  if (value.size() > limits.max_bytes)
    return make_error(Errc::limit, "Authentication-Results of " + std::to_string(value.size()) +
                                       " bytes exceeds the limit of " + std::to_string(limits.max_bytes));
  AuthResults ar;
  Cursor c(value, limits);
  c.skip_cfws();
  if (c.ok()) c.value(ar.authserv_id, "an authserv-id");
  if (c.ok()) {
    const bool spaced = c.skip_cfws();
    if (c.ok() && is_digit(c.peek())) {
      if (!spaced) c.fail("expected whitespace between authserv-id and version");
      unsigned v = 0;
      if (c.ok() && c.digits(v, "a version")) ar.version = v;
      c.skip_cfws();
    }
  }
  if (c.ok() && c.at_end()) c.fail("expected ';' and a result (or \"none\") after the authserv-id");
  while (c.ok() && !c.at_end()) {
    if (!c.expect(';', "';'")) break;
    c.skip_cfws();
    if (!c.ok()) break;
    if (c.at_end()) {
      // Lenient: a trailing ";" after the last resinfo. A ";" alone (no
      // resinfo at all) is still an error.
      if (ar.results.empty()) c.fail("expected a result or \"none\" after ';'");
      break;
    }
    if (ar.results.empty()) {
      // no-result = [CFWS] ";" [CFWS] "none" — only when nothing follows.
      Cursor probe = c;
      std::string word;
      if (probe.keyword(word, "x") && word == "none") {
        probe.skip_cfws();
        if (probe.ok() && probe.at_end()) return ar;
      }
    }
    if (static_cast<int>(ar.results.size()) >= limits.max_resinfo) {
      c.fail("more than " + std::to_string(limits.max_resinfo) + " results", Errc::limit);
      break;
    }
    MethodResult r;
    if (!parse_resinfo(c, r, limits)) break;
    ar.results.push_back(std::move(r));
  }
  if (!c.ok()) return make_error(c.error_code(), "Authentication-Results: " + c.error());
  return ar;
}

Result<AuthResults> parse_field(std::string_view field, const ParseLimits& limits) {
  constexpr std::string_view kName = "Authentication-Results";
  if (!istarts_with(field, kName))
    return make_error(Errc::parse, "not an Authentication-Results header field");
  std::string_view rest = field.substr(kName.size());
  while (!rest.empty() && is_wsp(rest.front())) rest.remove_prefix(1);  // obsolete "Name :" form
  if (rest.empty() || rest.front() != ':')
    return make_error(Errc::parse, "Authentication-Results: expected ':' after the field name");
  rest.remove_prefix(1);
  if (rest.size() >= 2 && rest.substr(rest.size() - 2) == "\r\n") rest.remove_suffix(2);
  else if (!rest.empty() && rest.back() == '\n') rest.remove_suffix(1);
  return parse_value(rest, limits);
}

}  // namespace mxsec::auth::ar

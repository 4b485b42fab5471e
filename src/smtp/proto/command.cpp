#include "smtp/proto/command.hpp"

#include <array>
#include <utility>

#include "codec/idna.hpp"
#include "core/ip_address.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"
#include "smtp/proto/grammar.hpp"

namespace mxsec::smtp {
namespace {

struct VerbName {
  Verb verb;
  const char* name;
};

constexpr std::array<VerbName, 14> kVerbs = {{
    {Verb::helo, "HELO"},
    {Verb::ehlo, "EHLO"},
    {Verb::mail, "MAIL"},
    {Verb::rcpt, "RCPT"},
    {Verb::data, "DATA"},
    {Verb::bdat, "BDAT"},
    {Verb::rset, "RSET"},
    {Verb::noop, "NOOP"},
    {Verb::quit, "QUIT"},
    {Verb::vrfy, "VRFY"},
    {Verb::expn, "EXPN"},
    {Verb::help, "HELP"},
    {Verb::starttls, "STARTTLS"},
    {Verb::auth, "AUTH"},
}};

// --- Refusals (the reply texts never echo untrusted octets unescaped) --------

Refusal syntax_error(std::string text) { return Refusal{501, "5.5.4", std::move(text)}; }
Refusal bad_mailbox(std::string text) { return Refusal{553, "5.1.3", std::move(text)}; }

// RFC 6531 §3.5: "When the SMTPUTF8-aware SMTP server supports enhanced mail
// system status codes [RFC3463], reply-code "X.6.7" [RFC5248] (see Section 4)
// is used, meaning "Non-ASCII addresses not permitted for that
// sender/recipient"."
Refusal needs_smtputf8() { return Refusal{553, "5.6.7", "Non-ASCII address not permitted without SMTPUTF8"}; }

// The keyword has passed is_esmtp_keyword(), so it is printable; it is cut so
// the reply line stays short.
std::string keyword_for_reply(std::string_view keyword) { return ascii_upper(keyword.substr(0, 32)); }

// RFC 5321 §4.1.1.11: "If the server SMTP does not recognize or cannot
// implement one or more of the parameters associated with a particular MAIL
// FROM or RCPT TO command, it will return code 555."
Refusal not_enabled(std::string_view keyword) {
  return Refusal{555, "5.5.4", "Parameter " + keyword_for_reply(keyword) + " not recognised or not enabled"};
}

Refusal bad_value(std::string_view keyword) {
  return syntax_error("Malformed " + keyword_for_reply(keyword) + " parameter");
}

// --- Octet classes -----------------------------------------------------------

bool is_non_ascii(char c) { return static_cast<unsigned char>(c) >= 0x80; }

bool is_ascii_text(std::string_view s) {
  for (char c : s)
    if (is_non_ascii(c)) return false;
  return true;
}

// RFC 5322 §3.2.3 atext (RFC 5321 Atom uses it).
bool is_atext(char c) { return is_alnum(c) || std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos; }

// qtextSMTP = %d32-33 / %d35-91 / %d93-126
bool is_qtext_smtp(char c) { return c == 32 || c == 33 || (c >= 35 && c <= 91) || (c >= 93 && c <= 126); }

// esmtp-value = 1*(%d33-60 / %d62-126), and RFC 6531 §3.3 "esmtp-value =/
// UTF8-non-ascii". Which parameter may carry UTF-8 is that parameter's rule.
bool is_esmtp_value(std::string_view v) {
  if (v.empty() || !is_utf8(v)) return false;
  for (char c : v)
    if (!is_non_ascii(c) && (c < 33 || c > 126 || c == '=')) return false;
  return true;
}

// Printable US-ASCII and SP; with `utf8`, also well-formed UTF-8. What an
// xtext value may decode to (RFC 3461 §4.2, §4.4: "printable (graphic and
// white space) characters"; we leave out HTAB too): no octet that could end a
// line or a field when the value is written into a DSN or a spool record.
bool is_printable(std::string_view s, bool utf8) {
  if (utf8 ? !is_utf8(s) : !is_ascii_text(s)) return false;
  for (char c : s)
    if (!is_non_ascii(c) && (c < 32 || c == 127)) return false;
  return true;
}

// xtext with RFC 3461's upper-case hexchar; with `utf8`, UTF-8 characters
// also stand for themselves (RFC 6533 §3 utf-8-addr-unitext in ORCPT).
std::optional<std::string> decode_xtext(std::string_view text, bool utf8) {
  auto upper_hex = [](char c) { return (is_digit(c) || (c >= 'A' && c <= 'F')) ? hex_digit_value(c) : -1; };
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size();) {
    const char c = text[i];
    if (c == '+') {
      if (text.size() - i < 3) return std::nullopt;
      const int hi = upper_hex(text[i + 1]);
      const int lo = upper_hex(text[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 3;
    } else if (c >= 33 && c <= 126 && c != '=') {
      out += c;
      ++i;
    } else if (utf8 && is_non_ascii(c)) {
      const std::size_t n = utf8_sequence_length(text.substr(i));
      if (n == 0) return std::nullopt;
      out.append(text.substr(i, n));
      i += n;
    } else {
      return std::nullopt;
    }
  }
  return out;
}

// --- Paths (RFC 5321 §4.1.2, RFC 6531 §3.3) ------------------------------------

// The octets of the Local-part at the start of `in`, or 0 if what is there
// is not one. Stops before the first octet that cannot continue it.
std::size_t local_part_length(std::string_view in) {
  if (!in.empty() && in.front() == '"') {
    // Quoted-string = DQUOTE *QcontentSMTP DQUOTE; quoted-pairSMTP = %d92 %d32-126
    for (std::size_t i = 1; i < in.size();) {
      const char c = in[i];
      if (c == '"') return i + 1;
      if (c == '\\') {
        if (i + 1 >= in.size() || in[i + 1] < 32 || in[i + 1] > 126) return 0;
        i += 2;
      } else if (is_non_ascii(c)) {  // RFC 6531: qtextSMTP =/ UTF8-non-ascii
        const std::size_t n = utf8_sequence_length(in.substr(i));
        if (n == 0) return 0;
        i += n;
      } else if (is_qtext_smtp(c)) {
        ++i;
      } else {
        return 0;
      }
    }
    return 0;  // no closing DQUOTE
  }
  // Dot-string = Atom *("." Atom); RFC 6531: atext =/ UTF8-non-ascii
  std::size_t i = 0;
  bool in_atom = false;
  while (i < in.size()) {
    const char c = in[i];
    if (c == '.') {
      if (!in_atom) return 0;  // leading or doubled dot
      in_atom = false;
      ++i;
    } else if (is_non_ascii(c)) {
      const std::size_t n = utf8_sequence_length(in.substr(i));
      if (n == 0) return 0;
      i += n;
      in_atom = true;
    } else if (is_atext(c)) {
      ++i;
      in_atom = true;
    } else {
      break;
    }
  }
  return in_atom ? i : 0;  // empty, or a trailing dot
}

// address-literal: "[" IPv4-address-literal "]" or "[IPv6:" IPv6-addr "]",
// checked with IpAddress::parse and returned in canonical form so that equal
// addresses compare equal. General-address-literal ("[tag:...]") has no
// registered tag a server could route by, so it is refused.
std::optional<std::string> address_literal(std::string_view text) {
  if (text.size() < 3 || text.front() != '[' || text.back() != ']') return std::nullopt;
  std::string_view inner = text.substr(1, text.size() - 2);
  const bool v6 = istarts_with(inner, "IPv6:");
  if (v6) inner.remove_prefix(5);
  // inet_pton would take a zone ("%eth0") on some systems; the grammar has none.
  for (char c : inner)
    if (hex_digit_value(c) < 0 && c != ':' && c != '.') return std::nullopt;
  const auto ip = IpAddress::parse(inner);
  if (!ip || ip->is_v6() != v6) return std::nullopt;
  return v6 ? "[IPv6:" + ip->to_string() + "]" : "[" + ip->to_string() + "]";
}

struct DomainForms {
  std::string domain;  // lower-cased, U-labels as written
  std::string ascii;   // A-labels
};

// Domain / address-literal after the "@" of a Mailbox (or in an At-domain).
std::variant<DomainForms, Refusal> read_domain(std::string_view text, bool literal_allowed) {
  if (text.empty()) return bad_mailbox("Mailbox without a domain");
  if (text.size() > limits::kSmtpDomainBytes) return bad_mailbox("Domain longer than 255 octets");
  if (text.front() == '[') {
    auto literal = literal_allowed ? address_literal(text) : std::nullopt;
    if (!literal) return bad_mailbox("Malformed address literal");
    return DomainForms{*literal, *literal};
  }
  if (is_ascii_text(text)) {
    if (!is_ldh_domain(text)) return bad_mailbox("Malformed domain");
    std::string lower = to_lower(text);
    return DomainForms{lower, lower};
  }
  // RFC 6531 §3.3 "sub-domain =/ U-label". to_a_label_domain() would drop a
  // trailing dot, so it is refused here first; its UTS #46 mapping may turn
  // look-alikes (fullwidth letters, ideographic full stops, U+FF20 "＠") into
  // ASCII, so the A-label form must pass the LDH rule as well: what a server
  // compares and routes by is then a plain DNS name.
  if (text.back() == '.' || !is_utf8(text)) return bad_mailbox("Malformed domain");
  auto a_labels = codec::to_a_label_domain(text);
  if (!a_labels || a_labels->size() > limits::kSmtpDomainBytes || !is_ldh_domain(*a_labels))
    return bad_mailbox("Malformed internationalized domain");
  return DomainForms{to_lower(text), std::move(*a_labels)};
}

enum class PathKind { reverse, forward };

// Path = "<" [ A-d-l ":" ] Mailbox ">" at the start of `in`; on success `in`
// is left after the ">".
std::variant<Path, Refusal> read_path(std::string_view& in, PathKind kind) {
  const std::string_view start = in;
  if (in.empty() || in.front() != '<') return syntax_error("Path must be enclosed in \"<\" and \">\"");
  in.remove_prefix(1);
  Path path;
  if (!in.empty() && in.front() == '>') {
    in.remove_prefix(1);
    // Reverse-path = Path / "<>"; Forward-path = Path.
    if (kind == PathKind::forward) return bad_mailbox("The null path is not a recipient");
    return path;
  }
  if (!in.empty() && in.front() == '@') {
    // RFC 5321 §4.1.2: 'A-d-l = At-domain *( "," At-domain ) ; Note that this
    // form, the so-called "source route", MUST BE accepted, SHOULD NOT be
    // generated, and SHOULD be ignored.' No Domain holds a ':', so the first
    // one ends the route; whatever precedes it must be At-domains.
    const std::size_t colon = in.find(':');
    if (colon == std::string_view::npos) return bad_mailbox("Source route without \":\"");
    const std::string_view route = in.substr(0, colon);
    for (std::string_view at_domain : split(route, ',')) {
      if (at_domain.empty() || at_domain.front() != '@') return bad_mailbox("Malformed source route");
      if (std::holds_alternative<Refusal>(read_domain(at_domain.substr(1), false)))
        return bad_mailbox("Malformed source route");
    }
    path.source_route = std::string(route);
    in.remove_prefix(colon + 1);
  }
  const std::size_t local_length = local_part_length(in);
  if (local_length == 0) return bad_mailbox("Malformed local part");
  const std::string_view local = in.substr(0, local_length);
  in.remove_prefix(local_length);
  // RFC 5321 §4.1.1.3: rcpt = "RCPT TO:" ( "<Postmaster@" Domain ">" /
  // "<Postmaster>" / Forward-path ) ...; "the "Postmaster" string shown above
  // is treated as case-insensitive", and §4.5.1 says "RCPT TO:<Postmaster>"
  // "MUST be supported". It has no domain: the server's own postmaster.
  if (kind == PathKind::forward && path.source_route.empty() && !in.empty() && in.front() == '>' &&
      iequals(local, "postmaster")) {
    in.remove_prefix(1);
    path.local_part = "Postmaster";
    return path;
  }
  if (!in.empty() && in.front() == '>') return bad_mailbox("Mailbox without a domain");
  if (in.empty() || in.front() != '@') return bad_mailbox("Malformed local part");
  in.remove_prefix(1);
  if (local_length > limits::kSmtpLocalPartBytes) return bad_mailbox("Local part longer than 64 octets");
  // Neither Domain nor address-literal holds a '>', so the first one ends the path.
  const std::size_t close = in.find('>');
  if (close == std::string_view::npos) return syntax_error("Path must be enclosed in \"<\" and \">\"");
  auto domain = read_domain(in.substr(0, close), true);
  if (auto* refusal = std::get_if<Refusal>(&domain)) return std::move(*refusal);
  in.remove_prefix(close + 1);
  if (start.size() - in.size() > limits::kSmtpPathBytes) return syntax_error("Path longer than 256 octets");
  path.local_part = std::string(local);
  path.domain = std::move(std::get<DomainForms>(domain).domain);
  path.domain_ascii = std::move(std::get<DomainForms>(domain).ascii);
  return path;
}

// The text after the command word's "FROM:" / "TO:", up to the path.
// Tolerated: one SP after the colon ("MAIL FROM: <a@b>"), which RFC 5321's
// grammar does not allow but many clients send; it changes nothing about
// which path is read.
std::optional<std::string_view> after_keyword(std::string_view argument, std::string_view keyword) {
  if (!istarts_with(argument, keyword)) return std::nullopt;
  argument.remove_prefix(keyword.size());
  if (!argument.empty() && argument.front() == ' ') argument.remove_prefix(1);
  return argument;
}

// [SP esmtp-param *(SP esmtp-param)] after the path: calls
// on_param(keyword, value) for each (value nullopt when there is no "="),
// and stops at the first refusal.
template <class OnParam>
std::optional<Refusal> for_each_param(std::string_view rest, OnParam&& on_param) {
  if (rest.empty()) return std::nullopt;
  if (rest.front() != ' ') return syntax_error("Unexpected text after the path");
  rest.remove_prefix(1);
  for (std::string_view param : split(rest, ' ')) {
    const std::size_t eq = param.find('=');
    const std::string_view keyword = param.substr(0, eq);
    if (!is_esmtp_keyword(keyword)) return syntax_error("Malformed parameter (esmtp-keyword [\"=\" esmtp-value])");
    std::optional<std::string_view> value;
    if (eq != std::string_view::npos) {
      value = param.substr(eq + 1);
      if (!is_esmtp_value(*value)) return bad_value(keyword);
    }
    if (auto refusal = on_param(keyword, value)) return refusal;
  }
  return std::nullopt;
}

// --- ESMTP parameters ------------------------------------------------------------

// What a parameter's rule is given besides its value.
struct ParamContext {
  const Extensions& extensions;
  bool smtputf8;  // the transaction carries SMTPUTF8 (RCPT)
};

enum class TakesValue { no, yes };

// One parameter of MAIL or RCPT: whether the server offered it, whether it
// has a value, and how the value is checked and stored (a refusal if not).
template <class Target>
struct ParamRule {
  std::string_view keyword;
  bool (*offered)(const Extensions&);
  TakesValue takes_value;
  std::optional<Refusal> (*apply)(Target&, const ParamContext&, std::string_view value);
};

// Finds the rule for `keyword` and applies it; `seen` has one bit per rule,
// so a repeated parameter is caught.
template <class Target, std::size_t N>
std::optional<Refusal> apply_param(const std::array<ParamRule<Target>, N>& rules, Target& target,
                                   const ParamContext& context, unsigned& seen, std::string_view keyword,
                                   std::optional<std::string_view> value) {
  static_assert(N <= 32);
  for (std::size_t i = 0; i < N; ++i) {
    const ParamRule<Target>& rule = rules[i];
    if (!iequals(keyword, rule.keyword)) continue;
    if (!rule.offered(context.extensions)) return not_enabled(keyword);
    const unsigned bit = 1u << i;
    if (seen & bit) return syntax_error("Parameter " + keyword_for_reply(keyword) + " given twice");
    seen |= bit;
    if (value.has_value() != (rule.takes_value == TakesValue::yes)) return bad_value(keyword);
    return rule.apply(target, context, value.value_or(std::string_view()));
  }
  return not_enabled(keyword);
}

// RFC 1870 §3: size-value = 1*20DIGIT
std::optional<Refusal> apply_size(MailFrom& mail, const ParamContext& context, std::string_view value) {
  if (value.size() > 20) return bad_value("SIZE");
  for (char c : value)
    if (!is_digit(c)) return bad_value("SIZE");
  // 20 digits may exceed 2^64 - 1; that is above any maximum too. RFC 1870
  // §6.2: a declared size above the fixed maximum is answered "552 message
  // size exceeds fixed maximium message size".
  const auto size = parse_uint(value);
  if (!size || *size > context.extensions.max_size)
    return Refusal{552, "5.3.4", "Message size exceeds fixed maximum message size"};
  mail.size = *size;
  return std::nullopt;
}

// RFC 6152 §2: body-value = "7BIT" / "8BITMIME"
std::optional<Refusal> apply_body(MailFrom& mail, const ParamContext&, std::string_view value) {
  if (iequals(value, "7BIT")) {
    mail.body = Body::seven_bit;
  } else if (iequals(value, "8BITMIME")) {
    mail.body = Body::eight_bit_mime;
  } else if (iequals(value, "BINARYMIME")) {
    return not_enabled("BODY=BINARYMIME");  // RFC 3030 §3, not offered
  } else {
    return bad_value("BODY");
  }
  return std::nullopt;
}

// RFC 3461 §4.3: ret-value = "FULL" / "HDRS"
std::optional<Refusal> apply_ret(MailFrom& mail, const ParamContext&, std::string_view value) {
  if (iequals(value, "FULL")) {
    mail.ret = DsnRet::full;
  } else if (iequals(value, "HDRS")) {
    mail.ret = DsnRet::hdrs;
  } else {
    return bad_value("RET");
  }
  return std::nullopt;
}

// RFC 3461 §4.4: envid-value = xtext, printable US-ASCII once decoded.
std::optional<Refusal> apply_envid(MailFrom& mail, const ParamContext&, std::string_view value) {
  if (value.size() > limits::kDsnEnvidBytes) return bad_value("ENVID");
  auto decoded = decode_xtext(value, false);
  if (!decoded || !is_printable(*decoded, false)) return bad_value("ENVID");
  mail.envid = std::move(*decoded);
  return std::nullopt;
}

// RFC 4954 §5: "AUTH=" xtext, the xtext-encoded mailbox, or "<>". The
// server decides whether it trusts it; here it only has to be sane.
std::optional<Refusal> apply_auth(MailFrom& mail, const ParamContext&, std::string_view value) {
  if (value == "<>") {
    mail.auth = "<>";
    return std::nullopt;
  }
  auto decoded = decode_xtext(value, false);
  if (!decoded || decoded->empty() || !is_printable(*decoded, true)) return bad_value("AUTH");
  mail.auth = std::move(*decoded);
  return std::nullopt;
}

constexpr std::array<ParamRule<MailFrom>, 7> kMailParams = {{
    {"SIZE", [](const Extensions& e) { return e.max_size != 0; }, TakesValue::yes, apply_size},
    {"BODY", [](const Extensions& e) { return e.eight_bit_mime; }, TakesValue::yes, apply_body},
    // RFC 6531 §3.4 and RFC 8689 §4.1: no value. Offering REQUIRETLS only
    // over TLS is the server's job.
    {"SMTPUTF8", [](const Extensions& e) { return e.smtputf8; }, TakesValue::no,
     [](MailFrom& mail, const ParamContext&, std::string_view) -> std::optional<Refusal> {
       mail.smtputf8 = true;
       return std::nullopt;
     }},
    {"REQUIRETLS", [](const Extensions& e) { return e.requiretls; }, TakesValue::no,
     [](MailFrom& mail, const ParamContext&, std::string_view) -> std::optional<Refusal> {
       mail.requiretls = true;
       return std::nullopt;
     }},
    {"RET", [](const Extensions& e) { return e.dsn; }, TakesValue::yes, apply_ret},
    {"ENVID", [](const Extensions& e) { return e.dsn; }, TakesValue::yes, apply_envid},
    {"AUTH", [](const Extensions& e) { return e.auth; }, TakesValue::yes, apply_auth},
}};

// RFC 3461 §4.1: notify-esmtp-value = "NEVER" / 1#notify-list-element,
// notify-list-element = "SUCCESS" / "FAILURE" / "DELAY".
std::optional<Refusal> apply_notify(RcptTo& rcpt, const ParamContext&, std::string_view value) {
  unsigned flags = 0;
  for (std::string_view element : split(value, ',')) {
    unsigned flag = 0;
    if (iequals(element, "NEVER")) flag = kNotifyNever;
    else if (iequals(element, "SUCCESS")) flag = kNotifySuccess;
    else if (iequals(element, "FAILURE")) flag = kNotifyFailure;
    else if (iequals(element, "DELAY")) flag = kNotifyDelay;
    if (flag == 0 || (flags & flag)) return bad_value("NOTIFY");
    flags |= flag;
  }
  if ((flags & kNotifyNever) && flags != kNotifyNever) return bad_value("NOTIFY");
  rcpt.notify = flags;
  return std::nullopt;
}

// RFC 3461 §4.2: orcpt-value = addr-type ";" xtext, addr-type = atom.
std::optional<Refusal> apply_orcpt(RcptTo& rcpt, const ParamContext& context, std::string_view value) {
  if (value.size() > limits::kDsnOrcptBytes) return bad_value("ORCPT");
  const std::size_t semi = value.find(';');
  if (semi == std::string_view::npos || semi == 0) return bad_value("ORCPT");
  const std::string_view addr_type = value.substr(0, semi);
  for (char c : addr_type)
    if (!is_atext(c)) return bad_value("ORCPT");
  // RFC 6533 §3: with SMTPUTF8, a "utf-8" address may also carry UTF-8
  // characters as they are (utf-8-addr-unitext).
  const bool utf8 = context.smtputf8 && iequals(addr_type, "utf-8");
  auto decoded = decode_xtext(value.substr(semi + 1), utf8);
  if (!decoded || decoded->empty() || !is_printable(*decoded, utf8)) return bad_value("ORCPT");
  rcpt.orcpt = std::string(addr_type) + ";" + *decoded;
  return std::nullopt;
}

constexpr std::array<ParamRule<RcptTo>, 2> kRcptParams = {{
    {"NOTIFY", [](const Extensions& e) { return e.dsn; }, TakesValue::yes, apply_notify},
    {"ORCPT", [](const Extensions& e) { return e.dsn; }, TakesValue::yes, apply_orcpt},
}};

// The argument of MAIL or RCPT after its keyword: the path, its parameters
// by `rules`, then the SMTPUTF8 check. `Target` has a `path` member.
template <class Target, std::size_t N>
Parsed<Target> parse_path_and_params(std::string_view in, PathKind kind,
                                     const std::array<ParamRule<Target>, N>& rules, const ParamContext& context,
                                     bool Target::*smtputf8_flag) {
  auto path = read_path(in, kind);
  if (auto* refusal = std::get_if<Refusal>(&path)) return std::move(*refusal);
  Target target;
  target.path = std::move(std::get<Path>(path));
  unsigned seen = 0;
  auto refusal = for_each_param(in, [&](std::string_view keyword, std::optional<std::string_view> value) {
    return apply_param(rules, target, context, seen, keyword, value);
  });
  if (refusal) return std::move(*refusal);
  const bool smtputf8 = context.smtputf8 || (smtputf8_flag && target.*smtputf8_flag);
  if (!target.path.is_ascii() && !smtputf8) return needs_smtputf8();
  return target;
}

}  // namespace

const char* to_string(Verb v) {
  for (const auto& entry : kVerbs)
    if (entry.verb == v) return entry.name;
  return "UNKNOWN";
}

Command parse_command(std::string_view line) {
  Command command;
  const std::size_t sp = line.find(' ');
  const std::string_view verb = line.substr(0, sp);
  command.verb_text = std::string(verb);
  if (sp != std::string_view::npos) command.argument = std::string(line.substr(sp + 1));
  for (const auto& entry : kVerbs) {
    if (iequals(verb, entry.name)) {
      command.verb = entry.verb;
      break;
    }
  }
  return command;
}

std::string Path::address() const {
  if (domain.empty()) return local_part;  // "" (null path) or "Postmaster"
  return local_part + "@" + domain;
}

bool Path::is_ascii() const {
  return is_ascii_text(local_part) && is_ascii_text(domain) && is_ascii_text(source_route);
}

Parsed<MailFrom> parse_mail(std::string_view argument, const Extensions& extensions) {
  auto in = after_keyword(argument, "FROM:");
  if (!in) return syntax_error("Syntax: MAIL FROM:<address> [parameters]");
  return parse_path_and_params(*in, PathKind::reverse, kMailParams, ParamContext{extensions, false},
                               &MailFrom::smtputf8);
}

Parsed<RcptTo> parse_rcpt(std::string_view argument, const Extensions& extensions, bool smtputf8) {
  auto in = after_keyword(argument, "TO:");
  if (!in) return syntax_error("Syntax: RCPT TO:<address> [parameters]");
  return parse_path_and_params<RcptTo>(*in, PathKind::forward, kRcptParams, ParamContext{extensions, smtputf8},
                                       nullptr);
}

std::optional<std::string> xtext_decode(std::string_view text) { return decode_xtext(text, false); }

std::string xtext_encode(std::string_view text) {
  // RFC 3461 §4: "ASCII CHARs that fall outside the range above must be
  // encoded as "hexchar"", the range being "!" to "~" except "+" and "=".
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c >= 33 && c <= 126 && c != '+' && c != '=') {
      out += c;
    } else {
      out += '+';
      append_hex(out, static_cast<unsigned char>(c), HexCase::upper);
    }
  }
  return out;
}

}  // namespace mxsec::smtp

// Fuzz target for the server's command parsing (smtp/proto/command.hpp):
// parse_command, parse_mail and parse_rcpt on the input, with every
// extension offered and with none, and RCPT with and without SMTPUTF8.
//
// Properties (trap on violation):
// - parse_command: verb_text holds no SP, and verb_text [SP argument] gives
//   the line back.
// - A refusal is one of the five the contract lists, with a short printable
//   ASCII text.
// - An accepted path keeps the RFC 5321 §4.5.3.1 limits, has a lower-case
//   ASCII domain_ascii that is an LDH Domain or a bracketed literal, is
//   ASCII unless SMTPUTF8 applies, and re-parses from address() to the same
//   local part and domains (the source route dropped).
// - xtext_decode(xtext_encode(x)) == x for the input.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"
#include "smtp/proto/command.hpp"

using namespace mxsec;
using namespace mxsec::smtp;

namespace {

using mxsec::fuzz::check;

void check_refusal(const Refusal& r) {
  const bool known = (r.code == 501 && r.status == "5.5.4") || (r.code == 553 && r.status == "5.1.3") ||
                     (r.code == 553 && r.status == "5.6.7") || (r.code == 555 && r.status == "5.5.4") ||
                     (r.code == 552 && r.status == "5.3.4");
  check(known);
  check(!r.text.empty() && r.text.size() <= 120);
  for (char c : r.text) check(c >= 0x20 && c < 0x7f);
}

bool is_ascii(std::string_view s) {
  for (char c : s)
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  return true;
}

void check_path(const Path& p, bool smtputf8, bool forward, const Extensions& ext) {
  if (p.is_null()) {
    check(!forward && p.domain_ascii.empty() && p.source_route.empty());
    return;
  }
  if (p.domain.empty()) {  // RCPT TO:<Postmaster>
    check(forward && p.local_part == "Postmaster" && p.domain_ascii.empty() && p.source_route.empty());
    return;
  }
  check(!p.local_part.empty() && p.local_part.size() <= limits::kSmtpLocalPartBytes);
  check(p.domain.size() <= limits::kSmtpDomainBytes && p.domain_ascii.size() <= limits::kSmtpDomainBytes);
  check(is_ascii(p.domain_ascii));
  check(to_lower(p.domain) == p.domain || p.domain_is_literal());
  if (p.domain_is_literal()) {
    check(p.domain == p.domain_ascii && p.domain_ascii.back() == ']');
  } else {
    check(is_ldh_domain(p.domain_ascii) && to_lower(p.domain_ascii) == p.domain_ascii);
    if (is_ascii(p.domain)) check(p.domain == p.domain_ascii);
  }
  if (!smtputf8) check(p.is_ascii());
  // What a server would write back out parses to the same mailbox.
  const std::string again = "<" + p.address() + ">";
  if (forward) {
    auto r = parse_rcpt("TO:" + again, ext, !p.is_ascii());
    check(std::holds_alternative<RcptTo>(r));
    const Path& q = std::get<RcptTo>(r).path;
    check(q.local_part == p.local_part && q.domain == p.domain && q.domain_ascii == p.domain_ascii);
  } else {
    auto r = parse_mail("FROM:" + again + (p.is_ascii() ? "" : " SMTPUTF8"), ext);
    check(std::holds_alternative<MailFrom>(r));
    const Path& q = std::get<MailFrom>(r).path;
    check(q.local_part == p.local_part && q.domain == p.domain && q.domain_ascii == p.domain_ascii);
  }
}

void run(std::string_view argument, const Extensions& ext) {
  auto mail = parse_mail(argument, ext);
  if (auto* r = std::get_if<Refusal>(&mail)) {
    check_refusal(*r);
  } else {
    const MailFrom& m = std::get<MailFrom>(mail);
    check(!m.smtputf8 || ext.smtputf8);
    check(!m.size || *m.size <= ext.max_size);
    Extensions echo = ext;
    echo.smtputf8 = true;
    check_path(m.path, m.smtputf8, false, echo);
  }
  for (bool smtputf8 : {false, true}) {
    auto rcpt = parse_rcpt(argument, ext, smtputf8);
    if (auto* r = std::get_if<Refusal>(&rcpt)) {
      check_refusal(*r);
    } else {
      const RcptTo& t = std::get<RcptTo>(rcpt);
      check(t.notify == 0 || t.notify == kNotifyNever || (t.notify & ~14u) == 0);
      check_path(t.path, smtputf8, true, ext);
    }
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);

  const Command cmd = parse_command(in);
  check(cmd.verb_text.find(' ') == std::string::npos);
  const bool has_sp = in.find(' ') != std::string_view::npos;
  check((has_sp ? cmd.verb_text + " " + cmd.argument : cmd.verb_text) == in);

  Extensions all;
  all.max_size = 1'000'000;
  Extensions none;
  none.eight_bit_mime = none.smtputf8 = none.dsn = none.requiretls = none.auth = false;
  for (const Extensions& ext : {all, none}) {
    run(in, ext);
    if (cmd.verb == Verb::mail || cmd.verb == Verb::rcpt) run(cmd.argument, ext);
  }

  const auto decoded = xtext_decode(xtext_encode(in));
  check(decoded && *decoded == in);
  return 0;
}

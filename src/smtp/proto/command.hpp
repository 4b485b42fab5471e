// smtp/proto/command.hpp: what an SMTP server reads from a client, without
// I/O: the command line, and the MAIL FROM / RCPT TO arguments with their
// ESMTP parameters.
//
// Contract
// - parse_command() splits one command line (its CRLF already removed) into
//   a verb, matched case-insensitively (RFC 5321 §2.4: "Verbs and argument
//   values ... are not case sensitive"), and the argument after the
//   separating space. It never fails: an unknown verb is Verb::unknown, and
//   deciding the reply (500 5.5.1) is the server's job.
// - parse_mail() and parse_rcpt() take the argument of MAIL / RCPT
//   ("FROM:<a@b> SIZE=10", "TO:<c@d> NOTIFY=NEVER") and return the path and
//   the parameters, or a Refusal: the reply code, RFC 3463 enhanced status
//   and text to send. Refusals used:
//     501 5.5.4  syntax of the command or its parameters
//     553 5.1.3  malformed mailbox (RFC 3463: bad destination/sender syntax)
//     553 5.6.7  a non-ASCII address without SMTPUTF8 (RFC 6531 §3.5)
//     555 5.5.4  a parameter not recognised or not enabled (RFC 5321 §4.1.1.11)
//     552 5.3.4  SIZE= above the server's maximum (RFC 1870 §6.2)
//   A parameter given twice is a syntax error.
// - Paths follow RFC 5321 §4.1.2 strictly (Mailbox = Local-part "@" (Domain
//   / address-literal), Local-part = Dot-string / Quoted-string), with the
//   RFC 6531 §3.3 extension to UTF-8 when SMTPUTF8 was given on MAIL. An
//   A-d-l source route ("<@a,@b:user@c>") is accepted and discarded as §4.1.1.3
//   and Appendix C allow, and reported in Path::source_route so a server can
//   log it; the mailbox that counts is the one after the colon. Nothing else
//   is rewritten: the %-hack and "!" stay part of the local part, a trailing
//   dot makes the domain invalid (553 5.1.3).
// - Path::domain is lower-cased; U-labels are kept as written in
//   Path::domain and converted in Path::domain_ascii (IDNA 2008, A-labels),
//   which is what a server compares with its local and relay domains. An
//   address literal ("[192.0.2.1]", "[IPv6:...]") is kept in brackets in both.
// - Limits (RFC 5321 §4.5.3.1): local part 64 octets, domain 255 octets,
//   path 256 octets; longer is 553 5.1.3 (local part, domain) or 501 5.5.4.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mxsec::smtp {

enum class Verb { helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth, unknown };
const char* to_string(Verb v);

struct Command {
  Verb verb = Verb::unknown;
  std::string verb_text;  // as the client wrote it
  std::string argument;   // after the first SP, as written (may be empty)
};

Command parse_command(std::string_view line);

// The reply for a refused command.
struct Refusal {
  int code = 0;
  std::string status;  // RFC 3463 "5.5.4"
  std::string text;
  friend bool operator==(const Refusal&, const Refusal&) = default;
};

struct Path {
  std::string local_part;    // as written; a Quoted-string keeps its quotes
  std::string domain;        // lower-cased; U-labels as written
  std::string domain_ascii;  // A-labels (== domain for ASCII)
  std::string source_route;  // discarded A-d-l ("@a,@b"), for logs
  bool is_null() const { return local_part.empty() && domain.empty(); }
  // "local@domain" as written (domain lower-cased); "" for the null path.
  std::string address() const;
  bool domain_is_literal() const { return !domain.empty() && domain.front() == '['; }
  bool is_ascii() const;
};

// Which ESMTP extensions the server advertised: parameters of others are 555.
struct Extensions {
  std::uint64_t max_size = 0;  // SIZE (RFC 1870); 0 = not advertised
  bool eight_bit_mime = true;  // BODY=7BIT|8BITMIME (RFC 6152)
  bool smtputf8 = true;        // SMTPUTF8 (RFC 6531)
  bool dsn = true;             // RET, ENVID, NOTIFY, ORCPT (RFC 3461)
  bool requiretls = true;      // REQUIRETLS (RFC 8689)
  bool auth = true;            // AUTH=<mailbox> on MAIL (RFC 4954 §5)
};

enum class Body { seven_bit, eight_bit_mime };
enum class DsnRet { unspecified, full, hdrs };

struct MailFrom {
  Path path;
  std::optional<std::uint64_t> size;  // SIZE=
  Body body = Body::seven_bit;
  bool smtputf8 = false;
  bool requiretls = false;
  DsnRet ret = DsnRet::unspecified;
  std::string envid;        // xtext-decoded (RFC 3461 §4)
  std::string auth;         // AUTH= value, xtext-decoded; "<>" kept as is
};

// RFC 3461 §4.1 NOTIFY: NEVER, or a set of SUCCESS, FAILURE, DELAY.
enum NotifyFlag : unsigned { kNotifyNever = 1, kNotifySuccess = 2, kNotifyFailure = 4, kNotifyDelay = 8 };

struct RcptTo {
  Path path;
  unsigned notify = 0;  // 0 = not given (RFC 3461 default: FAILURE, DELAY)
  std::string orcpt;    // "rfc822;user@example" xtext-decoded
};

template <class T>
using Parsed = std::variant<T, Refusal>;

Parsed<MailFrom> parse_mail(std::string_view argument, const Extensions& extensions);
// `smtputf8` is whether the transaction's MAIL carried SMTPUTF8.
Parsed<RcptTo> parse_rcpt(std::string_view argument, const Extensions& extensions, bool smtputf8);

// RFC 3461 §4: xtext = *( xchar / hexchar ); hexchar = "+" 2HEXDIG.
std::optional<std::string> xtext_decode(std::string_view text);
std::string xtext_encode(std::string_view text);

}  // namespace mxsec::smtp

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
//   A parameter given twice is a syntax error. Checks run in this order and
//   the first failure is the answer: "FROM:" / "TO:" and the path's
//   brackets (501), the mailbox (553 5.1.3), the path's length (501), each
//   parameter left to right (501 / 555 / 552), then whether a non-ASCII path
//   came without SMTPUTF8 (553 5.6.7). Refusal texts never echo the client's
//   octets, only a parameter's keyword (upper-cased, at most 32 octets).
// - Tolerated beyond the grammar, and only this: one SP between the colon
//   and the path ("MAIL FROM: <a@b>"), which many clients send. A second
//   SP, a path without brackets, a trailing SP or two SP between parameters
//   are 501 5.5.4.
// - Paths follow RFC 5321 §4.1.2 strictly (Mailbox = Local-part "@" (Domain
//   / address-literal), Local-part = Dot-string / Quoted-string), with the
//   RFC 6531 §3.3 extension to UTF-8 when SMTPUTF8 was given on MAIL. An
//   A-d-l source route ("<@a,@b:user@c>") is accepted and discarded as §4.1.1.3
//   and Appendix C allow, and reported in Path::source_route so a server can
//   log it; the mailbox that counts is the one after the colon. Nothing else
//   is rewritten: the %-hack and "!" stay part of the local part, a trailing
//   dot makes the domain invalid (553 5.1.3). A server must never route by
//   the local part: "user%other@local", "other!user@local" and
//   "\"user@other\"@local" are mailboxes at "local", nothing more.
// - "RCPT TO:<Postmaster>" (§4.1.1.3, any case, no source route) gives
//   local_part "Postmaster" (spelled so whatever the client wrote) and an
//   empty domain: the server's own postmaster. address() is then
//   "Postmaster" and is_null() is false. Only RCPT has this form; MAIL
//   FROM:<Postmaster> is 553 5.1.3, and "RCPT TO:<>" is 553 5.1.3.
// - Path::domain is lower-cased; U-labels are kept as written in
//   Path::domain and converted in Path::domain_ascii (IDNA 2008, A-labels),
//   which is what a server compares with its local and relay domains. A
//   domain is a Domain of §4.1.2 (LDH labels of 1..63 octets, no '_', no
//   trailing dot); with U-labels, domain_ascii must be one too, so a UTS #46
//   mapping of look-alikes (fullwidth letters, U+3002 or U+FF0E full stops,
//   U+FF20 for "@") either yields the plain DNS name that mail to it really
//   goes to or is refused. An address literal ("[192.0.2.1]",
//   "[IPv6:...]") is checked with IpAddress::parse and kept in brackets in
//   both, in canonical form ("[IPv6:2001:db8::1]", tag spelled as in the
//   RFC) so equal addresses compare equal; a General-address-literal
//   ("[tag:...]") is refused (553 5.1.3). UTF-8 anywhere in a path must be
//   well-formed (RFC 3629), or it is 553 5.1.3.
// - Parameters, keywords and fixed values case-insensitive. MAIL: SIZE
//   (1*20DIGIT), BODY=7BIT|8BITMIME (BINARYMIME is 555), SMTPUTF8 and
//   REQUIRETLS (no value), RET=FULL|HDRS, ENVID (xtext, at most
//   limits::kDsnEnvidBytes as sent), AUTH (xtext or "<>"). RCPT: NOTIFY
//   (NEVER alone, or a set without repeats), ORCPT (addr-type ";" xtext, at
//   most limits::kDsnOrcptBytes as sent; with SMTPUTF8 a "utf-8" address may
//   also carry raw UTF-8, RFC 6533 §3). Decoded ENVID and ORCPT values must
//   be printable (no control octets; UTF-8 only where allowed), and decoded
//   AUTH values likewise, or the parameter is 501 5.5.4. A MAIL parameter on
//   RCPT, or the reverse, is 555 5.5.4.
// - Limits (RFC 5321 §4.5.3.1): local part 64 octets, domain 255 octets,
//   path 256 octets; longer is 553 5.1.3 (local part, domain) or 501 5.5.4.
//   (core/limits.hpp: kSmtpLocalPartBytes, kSmtpDomainBytes, kSmtpPathBytes.)
//   A few real senders (SRS, VERP) exceed 64 in the local part; the contract
//   refuses them rather than guess.
// - Pure functions, thread-safe; results owned by the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace mxsec::smtp {

enum class Verb { helo, ehlo, mail, rcpt, data, bdat, rset, noop, quit, vrfy, expn, help, starttls, auth, unknown };
const char* to_string(Verb v);  // "MAIL", "STARTTLS", ...; "UNKNOWN"

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
  std::string domain;        // lower-cased; U-labels as written; "" for null and <Postmaster>
  std::string domain_ascii;  // A-labels (== domain for ASCII): compare and route by this
  std::string source_route;  // discarded A-d-l ("@a,@b"), for logs
  bool is_null() const { return local_part.empty() && domain.empty(); }
  // "local@domain" as written (domain lower-cased); "" for the null path,
  // "Postmaster" for RCPT TO:<Postmaster>.
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

// RFC 3461 §4: xtext = *( xchar / hexchar ); hexchar = "+" 2HEXDIG, and
// the RFC says "two upper case hexadecimal digits": "+2b" is refused
// (nullopt), as is any octet outside "!".."~", "=" or a cut-short "+".
// xtext_encode() writes "+XX" for "+", "=" and every octet outside "!".."~";
// xtext_decode(xtext_encode(s)) == s for every s.
std::optional<std::string> xtext_decode(std::string_view text);
std::string xtext_encode(std::string_view text);

}  // namespace mxsec::smtp

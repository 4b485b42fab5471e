// Tests for smtp/proto/command.cpp: the command line, MAIL FROM and RCPT TO
// paths and ESMTP parameters (RFC 5321 §4.1.1.2, §4.1.1.3, §4.1.2, RFC 1870,
// 3461, 4954, 6152, 6531, 8689), table-driven: what is accepted, what each
// refusal is, and the open-relay tricks, whose domain_ascii must be the
// domain the mail really goes to, or a refusal.
#include "smtp/proto/command.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace mxsec::smtp {
namespace {

using namespace std::string_literals;

// "bücher.example" and its A-label form.
const std::string kBuecher = "b\xc3\xbc" "cher.example";
const std::string kBuecherAscii = "xn--bcher-kva.example";

Extensions all_extensions() {
  Extensions e;
  e.max_size = 10'000'000;
  return e;
}

Extensions no_extensions() {
  Extensions e;
  e.max_size = 0;
  e.eight_bit_mime = e.smtputf8 = e.dsn = e.requiretls = e.auth = false;
  return e;
}

std::string describe(const Refusal& r) { return std::to_string(r.code) + " " + r.status + " " + r.text; }

// --- parse_command -------------------------------------------------------------

TEST(Command, SplitsVerbAndArgument) {
  struct Case {
    std::string line;
    Verb verb;
    std::string verb_text, argument;
  };
  const std::vector<Case> cases = {
      {"MAIL FROM:<a@b.example>", Verb::mail, "MAIL", "FROM:<a@b.example>"},
      {"mail from:<>", Verb::mail, "mail", "from:<>"},
      {"EHLO client.example", Verb::ehlo, "EHLO", "client.example"},
      {"StartTLS", Verb::starttls, "StartTLS", ""},
      {"QUIT", Verb::quit, "QUIT", ""},
      {"QUIT ", Verb::quit, "QUIT", ""},
      {"NOOP  two spaces", Verb::noop, "NOOP", " two spaces"},
      {"BDAT 100 LAST", Verb::bdat, "BDAT", "100 LAST"},
      {"AUTH PLAIN AGFiAGM=", Verb::auth, "AUTH", "PLAIN AGFiAGM="},
      {"MAILFROM:<a@b>", Verb::unknown, "MAILFROM:<a@b>", ""},
      {"DATA\r", Verb::unknown, "DATA\r", ""},  // a CR the line splitter left is not part of a verb
      {"\tQUIT", Verb::unknown, "\tQUIT", ""},
      {"", Verb::unknown, "", ""},
      {" QUIT", Verb::unknown, "", "QUIT"},
      {"XCLIENT ADDR=1.2.3.4", Verb::unknown, "XCLIENT", "ADDR=1.2.3.4"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.line);
    const Command cmd = parse_command(c.line);
    EXPECT_EQ(cmd.verb, c.verb);
    EXPECT_EQ(cmd.verb_text, c.verb_text);
    EXPECT_EQ(cmd.argument, c.argument);
  }
}

TEST(Command, EveryVerbHasItsName) {
  for (Verb v : {Verb::helo, Verb::ehlo, Verb::mail, Verb::rcpt, Verb::data, Verb::bdat, Verb::rset, Verb::noop,
                 Verb::quit, Verb::vrfy, Verb::expn, Verb::help, Verb::starttls, Verb::auth}) {
    EXPECT_EQ(parse_command(to_string(v)).verb, v) << to_string(v);
  }
  EXPECT_STREQ(to_string(Verb::unknown), "UNKNOWN");
}

// --- Paths accepted ----------------------------------------------------------------

struct PathCase {
  std::string name;
  std::string argument;  // of MAIL (FROM:...) or RCPT (TO:...)
  std::string local_part, domain, domain_ascii, source_route;
};

template <class T>
Path path_or_failure(const Parsed<T>& r) {
  if (auto* refusal = std::get_if<Refusal>(&r)) {
    ADD_FAILURE() << "refused: " << describe(*refusal);
    return {};
  }
  return std::get<T>(r).path;
}

// The path of a MAIL argument, or of a RCPT argument ("TO:...") in a
// transaction with SMTPUTF8.
Path path_of(const std::string& argument) {
  if (argument.rfind("TO:", 0) == 0) return path_or_failure(parse_rcpt(argument, all_extensions(), true));
  return path_or_failure(parse_mail(argument, all_extensions()));
}

TEST(Paths, Accepted) {
  const std::string local64(64, 'l');
  const std::vector<PathCase> cases = {
      {"plain", "FROM:<a@example.com>", "a", "example.com", "example.com", ""},
      {"keyword_any_case", "from:<a@example.com>", "a", "example.com", "example.com", ""},
      {"domain_lower_cased", "FROM:<User.Name@MAIL.Example.COM>", "User.Name", "mail.example.com", "mail.example.com", ""},
      {"null", "FROM:<>", "", "", "", ""},
      {"space_after_colon_tolerated", "FROM: <a@example.com>", "a", "example.com", "example.com", ""},
      {"rcpt_space_after_colon", "TO: <b@example.com>", "b", "example.com", "example.com", ""},
      {"atext_specials", "FROM:<!#$%&'*+-/=?^_`{|}~@example.com>", "!#$%&'*+-/=?^_`{|}~", "example.com", "example.com", ""},
      {"quoted", "FROM:<\"a b\"@example.com>", "\"a b\"", "example.com", "example.com", ""},
      {"quoted_pairs", "FROM:<\"a\\\"b\\\\c\"@example.com>", "\"a\\\"b\\\\c\"", "example.com", "example.com", ""},
      {"quoted_empty", "FROM:<\"\"@example.com>", "\"\"", "example.com", "example.com", ""},
      {"quoted_angle", "FROM:<\"a>b\"@example.com>", "\"a>b\"", "example.com", "example.com", ""},
      {"digits_and_hyphens", "FROM:<a@1-2.3com.example>", "a", "1-2.3com.example", "1-2.3com.example", ""},
      {"source_route", "TO:<@hosta.int,@jkl.org:userc@d.bar.org>", "userc", "d.bar.org", "d.bar.org", "@hosta.int,@jkl.org"},
      {"ipv4_literal", "FROM:<a@[192.0.2.1]>", "a", "[192.0.2.1]", "[192.0.2.1]", ""},
      {"ipv6_literal_canonical", "TO:<a@[IPv6:2001:DB8:0:0:0:0:0:1]>", "a", "[IPv6:2001:db8::1]", "[IPv6:2001:db8::1]", ""},
      {"ipv6_tag_any_case", "TO:<a@[ipv6:::1]>", "a", "[IPv6:::1]", "[IPv6:::1]", ""},
      {"ipv6_v4_tail", "TO:<a@[IPv6:::ffff:192.0.2.1]>", "a", "[IPv6:::ffff:192.0.2.1]", "[IPv6:::ffff:192.0.2.1]", ""},
      {"postmaster", "TO:<Postmaster>", "Postmaster", "", "", ""},
      {"postmaster_any_case", "TO:<pOsTmAsTeR>", "Postmaster", "", "", ""},
      {"postmaster_at_domain", "TO:<postmaster@Example.COM>", "postmaster", "example.com", "example.com", ""},
      {"local_part_64", "FROM:<" + local64 + "@example.com>", local64, "example.com", "example.com", ""},
      {"utf8_local_part", "FROM:<j\xc3\xb6rg@example.com> SMTPUTF8", "j\xc3\xb6rg", "example.com", "example.com", ""},
      {"utf8_domain", "FROM:<a@" + kBuecher + "> SMTPUTF8", "a", kBuecher, kBuecherAscii, ""},
      {"utf8_domain_upper", "FROM:<a@B\xc3\x9c" "CHER.Example> SMTPUTF8", "a", "b\xc3\x9c" "cher.example", kBuecherAscii, ""},
      {"utf8_quoted", "FROM:<\"j\xc3\xb6 rg\"@example.com> SMTPUTF8", "\"j\xc3\xb6 rg\"", "example.com", "example.com", ""},
      {"utf8_rcpt", "TO:<\xe7\x94\xa8\xe6\x88\xb7@" + kBuecher + ">", "\xe7\x94\xa8\xe6\x88\xb7", kBuecher, kBuecherAscii, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    const Path p = path_of(c.argument);
    EXPECT_EQ(p.local_part, c.local_part);
    EXPECT_EQ(p.domain, c.domain);
    EXPECT_EQ(p.domain_ascii, c.domain_ascii);
    EXPECT_EQ(p.source_route, c.source_route);
  }
}

TEST(Paths, Accessors) {
  const Path null = path_of("FROM:<>");
  EXPECT_TRUE(null.is_null());
  EXPECT_EQ(null.address(), "");
  const Path postmaster = path_of("TO:<postmaster>");
  EXPECT_FALSE(postmaster.is_null());
  EXPECT_EQ(postmaster.address(), "Postmaster");
  const Path routed = path_of("TO:<@relay.example:User@Final.Example>");
  EXPECT_EQ(routed.address(), "User@final.example");
  EXPECT_FALSE(routed.domain_is_literal());
  EXPECT_TRUE(routed.is_ascii());
  EXPECT_TRUE(path_of("TO:<a@[192.0.2.1]>").domain_is_literal());
  const Path utf8 = path_of("TO:<a@" + kBuecher + ">");
  EXPECT_FALSE(utf8.is_ascii());
  EXPECT_EQ(utf8.address(), "a@" + kBuecher);
}

// --- Refusals ----------------------------------------------------------------------

struct RefusalCase {
  std::string name;
  std::string argument;
  int code;
  std::string status;
  Extensions extensions = all_extensions();
};

template <class T>
void expect_refused(const RefusalCase& c, const Parsed<T>& r) {
  SCOPED_TRACE(c.name + ": " + c.argument);
  ASSERT_TRUE(std::holds_alternative<Refusal>(r)) << "accepted";
  const auto& refusal = std::get<Refusal>(r);
  EXPECT_EQ(refusal.code, c.code) << describe(refusal);
  EXPECT_EQ(refusal.status, c.status) << describe(refusal);
  for (char ch : refusal.text) EXPECT_TRUE(ch >= 0x20 && ch < 0x7f) << "reply text is printable ASCII";
}

void expect_mail_refused(const RefusalCase& c) { expect_refused(c, parse_mail(c.argument, c.extensions)); }

void expect_rcpt_refused(const RefusalCase& c, bool smtputf8) {
  expect_refused(c, parse_rcpt(c.argument, c.extensions, smtputf8));
}

std::string long_domain(std::size_t octets) {
  // Labels of 50 octets; the last one takes the rest.
  std::string d;
  while (d.size() + 51 < octets) d += std::string(50, 'd') + ".";
  d += std::string(octets - d.size(), 'e');
  return d;
}

TEST(Paths, MailRefusals) {
  const std::vector<RefusalCase> cases = {
      // 501 5.5.4: the command's own syntax
      {"no_from", "<a@example.com>", 501, "5.5.4"},
      {"space_before_colon", "FROM :<a@example.com>", 501, "5.5.4"},
      {"no_brackets", "FROM:a@example.com", 501, "5.5.4"},
      {"two_spaces_after_colon", "FROM:  <a@example.com>", 501, "5.5.4"},
      {"tab_after_colon", "FROM:\t<a@example.com>", 501, "5.5.4"},
      {"no_closing_bracket", "FROM:<a@example.com", 501, "5.5.4"},
      {"empty", "FROM:", 501, "5.5.4"},
      {"trailing_space", "FROM:<a@example.com> ", 501, "5.5.4"},
      {"text_after_path", "FROM:<a@example.com>x", 501, "5.5.4"},
      {"second_path", "FROM:<a@example.com> <b@example.com>", 501, "5.5.4"},
      {"double_close", "FROM:<a@example.com>>", 501, "5.5.4"},
      {"path_257_octets", "FROM:<" + std::string(64, 'l') + "@" + long_domain(190) + ">", 501, "5.5.4"},
      // 553 5.1.3: the mailbox
      {"postmaster_as_sender", "FROM:<Postmaster>", 553, "5.1.3"},
      {"no_domain", "FROM:<a>", 553, "5.1.3"},
      {"empty_domain", "FROM:<a@>", 553, "5.1.3"},
      {"empty_local_part", "FROM:<@example.com>", 553, "5.1.3"},
      {"trailing_dot_domain", "FROM:<a@example.com.>", 553, "5.1.3"},
      {"leading_dot_domain", "FROM:<a@.example.com>", 553, "5.1.3"},
      {"double_dot_domain", "FROM:<a@example..com>", 553, "5.1.3"},
      {"hyphen_first", "FROM:<a@-example.com>", 553, "5.1.3"},
      {"hyphen_last", "FROM:<a@example-.com>", 553, "5.1.3"},
      {"underscore", "FROM:<a@ex_ample.com>", 553, "5.1.3"},
      {"label_64", "FROM:<a@" + std::string(64, 'x') + ".com>", 553, "5.1.3"},
      {"domain_256", "FROM:<a@" + long_domain(256) + ">", 553, "5.1.3"},
      {"local_part_65", "FROM:<" + std::string(65, 'l') + "@example.com>", 553, "5.1.3"},
      {"local_leading_dot", "FROM:<.a@example.com>", 553, "5.1.3"},
      {"local_trailing_dot", "FROM:<a.@example.com>", 553, "5.1.3"},
      {"local_double_dot", "FROM:<a..b@example.com>", 553, "5.1.3"},
      {"local_space", "FROM:<a b@example.com>", 553, "5.1.3"},
      {"local_comma", "FROM:<a,b@example.com>", 553, "5.1.3"},
      {"local_nul", "FROM:<a\0b@example.com>"s, 553, "5.1.3"},
      {"quoted_unterminated", "FROM:<\"ab@example.com>", 553, "5.1.3"},
      {"quoted_control", "FROM:<\"a\tb\"@example.com>", 553, "5.1.3"},
      {"quoted_pair_control", "FROM:<\"a\\\tb\"@example.com>", 553, "5.1.3"},
      {"two_ats", "FROM:<a@b@example.com>", 553, "5.1.3"},
      {"comment", "FROM:<a(x)@example.com>", 553, "5.1.3"},
      {"route_without_colon", "FROM:<@relay.example>", 553, "5.1.3"},
      {"route_missing_at", "FROM:<@a.example,b.example:c@d.example>", 553, "5.1.3"},
      {"route_empty_hop", "FROM:<@a.example,:c@d.example>", 553, "5.1.3"},
      {"route_bad_domain", "FROM:<@a_b.example:c@d.example>", 553, "5.1.3"},
      {"route_literal", "FROM:<@[192.0.2.1]:c@d.example>", 553, "5.1.3"},
      {"ipv4_octet_256", "FROM:<a@[192.0.2.256]>", 553, "5.1.3"},
      {"ipv4_three_parts", "FROM:<a@[192.0.2]>", 553, "5.1.3"},
      {"ipv4_leading_zero", "FROM:<a@[192.0.2.01]>", 553, "5.1.3"},
      {"ipv6_without_tag", "FROM:<a@[2001:db8::1]>", 553, "5.1.3"},
      {"ipv6_tag_with_ipv4", "FROM:<a@[IPv6:192.0.2.1]>", 553, "5.1.3"},
      {"ipv6_zone", "FROM:<a@[IPv6:fe80::1%eth0]>", 553, "5.1.3"},
      {"ipv6_too_many_groups", "FROM:<a@[IPv6:1:2:3:4:5:6:7:8:9]>", 553, "5.1.3"},
      {"general_literal", "FROM:<a@[x-tag:something]>", 553, "5.1.3"},
      {"name_in_brackets", "FROM:<a@[example.com]>", 553, "5.1.3"},
      {"empty_literal", "FROM:<a@[]>", 553, "5.1.3"},
      {"unclosed_literal", "FROM:<a@[192.0.2.1>", 553, "5.1.3"},
      {"bad_utf8_local", "FROM:<j\xc3@example.com> SMTPUTF8", 553, "5.1.3"},
      {"overlong_utf8_local", "FROM:<\xc0\xaf@example.com> SMTPUTF8", 553, "5.1.3"},
      {"surrogate_utf8_local", "FROM:<\xed\xa0\x80@example.com> SMTPUTF8", 553, "5.1.3"},
      {"bad_utf8_domain", "FROM:<a@b\xfc" "cher.example> SMTPUTF8", 553, "5.1.3"},
      {"utf8_domain_trailing_dot", "FROM:<a@" + kBuecher + ".> SMTPUTF8", 553, "5.1.3"},
      {"utf8_domain_not_idna", "FROM:<a@\xe2\x99\xa5.example> SMTPUTF8", 553, "5.1.3"},
      // 553 5.6.7: UTF-8 without SMTPUTF8
      {"utf8_local_without_smtputf8", "FROM:<j\xc3\xb6rg@example.com>", 553, "5.6.7"},
      {"utf8_domain_without_smtputf8", "FROM:<a@" + kBuecher + ">", 553, "5.6.7"},
      {"utf8_not_offered", "FROM:<a@" + kBuecher + ">", 553, "5.6.7", no_extensions()},
  };
  for (const auto& c : cases) expect_mail_refused(c);
}

TEST(Paths, RcptRefusals) {
  const std::vector<RefusalCase> cases = {
      {"from_keyword", "FROM:<a@example.com>", 501, "5.5.4"},
      {"null_path", "TO:<>", 553, "5.1.3"},
      {"postmaster_trailing_space", "TO:<Postmaster> ", 501, "5.5.4"},
      {"postmaster_with_route", "TO:<@relay.example:Postmaster>", 553, "5.1.3"},
      {"postmaster_quoted", "TO:<\"Postmaster\">", 553, "5.1.3"},
      {"other_local_without_domain", "TO:<abuse>", 553, "5.1.3"},
      {"utf8_without_smtputf8", "TO:<a@" + kBuecher + ">", 553, "5.6.7"},
  };
  for (const auto& c : cases) expect_rcpt_refused(c, false);
}

// --- Open-relay tricks ---------------------------------------------------------------
//
// A server decides "local, relay or refuse" by comparing domain_ascii with its
// domains. For each trick the domain a relay check sees must be the one the
// mail would really be delivered to (the local part is never routed by), or
// the command is refused. The server's own domain here is local.example.

struct RelayCase {
  std::string name;
  std::string argument;
  std::string domain_ascii;  // "" = refused
  std::string local_part = {};
};

TEST(OpenRelay, DomainAsciiIsTheRealDestination) {
  const std::string fullwidth_stop = "\xef\xbc\x8e";     // U+FF0E, UTS #46 maps it to "."
  const std::string ideographic_stop = "\xe3\x80\x82";   // U+3002, likewise
  const std::string fullwidth_at = "\xef\xbc\xa0";       // U+FF20, maps to "@"
  const std::string fullwidth_local = "\xef\xbd\x8c\xef\xbd\x8f\xef\xbd\x83\xef\xbd\x81\xef\xbd\x8c";  // "ｌｏｃａｌ"
  const std::vector<RelayCase> cases = {
      {"percent_hack", "TO:<victim%evil.example@local.example>", "local.example", "victim%evil.example"},
      {"percent_hack_twice", "TO:<victim%evil.example%local.example@local.example>", "local.example",
       "victim%evil.example%local.example"},
      {"bang_path", "TO:<evil.example!victim@local.example>", "local.example", "evil.example!victim"},
      {"source_route_to_evil", "TO:<@local.example:victim@evil.example>", "evil.example", "victim"},
      {"source_route_list", "TO:<@local.example,@local.example:victim@evil.example>", "evil.example", "victim"},
      {"quoted_at", "TO:<\"victim@evil.example\"@local.example>", "local.example", "\"victim@evil.example\""},
      {"quoted_route", "TO:<\"@evil.example:victim\"@local.example>", "local.example", "\"@evil.example:victim\""},
      {"upper_case", "TO:<victim@LOCAL.Example>", "local.example", "victim"},
      {"trailing_dot", "TO:<victim@local.example.>", ""},
      {"two_domains", "TO:<victim@evil.example@local.example>", ""},
      {"percent_in_domain", "TO:<victim@evil.example%local.example>", ""},
      {"space_in_domain", "TO:<victim@evil.example local.example>", ""},
      {"nul_in_domain", "TO:<victim@local.example\0.evil.example>"s, ""},
      {"cr_lf_in_path", "TO:<victim@local.example\r\nRCPT TO:<x@evil.example>>", ""},
      {"second_path_after", "TO:<victim@local.example> <x@evil.example>", ""},
      {"bracketed_name", "TO:<victim@[local.example]>", ""},
      {"ip_literal", "TO:<victim@[192.0.2.1]>", "[192.0.2.1]", "victim"},
      {"ip_literal_general", "TO:<victim@[local.example:25]>", ""},
      // With SMTPUTF8 the A-label form is the DNS name the mail goes to.
      {"fullwidth_stop_suffix", "TO:<victim@local.example" + fullwidth_stop + "evil.example>",
       "local.example.evil.example", "victim"},
      {"fullwidth_stop_prefix", "TO:<victim@evil.example" + fullwidth_stop + "local.example>",
       "evil.example.local.example", "victim"},
      {"ideographic_stop", "TO:<victim@local" + ideographic_stop + "example>", "local.example", "victim"},
      {"ideographic_stop_trailing", "TO:<victim@local.example" + ideographic_stop + ">", ""},
      {"fullwidth_letters", "TO:<victim@" + fullwidth_local + ".example>", "local.example", "victim"},
      {"fullwidth_at", "TO:<victim@evil.example" + fullwidth_at + "local.example>", ""},
      {"bad_utf8_in_domain", "TO:<victim@local.example\xc0\xae" "evil.example>", ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    auto r = parse_rcpt(c.argument, all_extensions(), true);
    if (c.domain_ascii.empty()) {
      EXPECT_TRUE(std::holds_alternative<Refusal>(r)) << "accepted with domain_ascii "
                                                      << std::get<RcptTo>(r).path.domain_ascii;
      continue;
    }
    ASSERT_TRUE(std::holds_alternative<RcptTo>(r)) << describe(std::get<Refusal>(r));
    const Path& p = std::get<RcptTo>(r).path;
    EXPECT_EQ(p.domain_ascii, c.domain_ascii);
    EXPECT_EQ(p.local_part, c.local_part);
  }
}

// --- Parameters ------------------------------------------------------------------------

TEST(MailParameters, Accepted) {
  auto r = parse_mail(
      "FROM:<a@example.com> SIZE=1000 BODY=8BITMIME SMTPUTF8 REQUIRETLS RET=HDRS ENVID=QQ+2B314 AUTH=u+2Bx@example.com",
      all_extensions());
  ASSERT_TRUE(std::holds_alternative<MailFrom>(r)) << describe(std::get<Refusal>(r));
  const auto& m = std::get<MailFrom>(r);
  EXPECT_EQ(m.size, 1000u);
  EXPECT_EQ(m.body, Body::eight_bit_mime);
  EXPECT_TRUE(m.smtputf8);
  EXPECT_TRUE(m.requiretls);
  EXPECT_EQ(m.ret, DsnRet::hdrs);
  EXPECT_EQ(m.envid, "QQ+314");
  EXPECT_EQ(m.auth, "u+x@example.com");

  struct Case {
    std::string argument;
    std::optional<std::uint64_t> size;
    Body body;
    DsnRet ret;
    std::string auth;
  };
  const std::vector<Case> cases = {
      {"FROM:<a@example.com>", std::nullopt, Body::seven_bit, DsnRet::unspecified, ""},
      {"FROM:<> size=10 body=7bit ret=full", 10, Body::seven_bit, DsnRet::full, ""},
      {"FROM:<a@example.com> SIZE=0", 0, Body::seven_bit, DsnRet::unspecified, ""},
      {"FROM:<a@example.com> SIZE=10000000", 10'000'000, Body::seven_bit, DsnRet::unspecified, ""},
      {"FROM:<a@example.com> SIZE=00000000000000000001", 1, Body::seven_bit, DsnRet::unspecified, ""},
      {"FROM:<a@example.com> AUTH=<>", std::nullopt, Body::seven_bit, DsnRet::unspecified, "<>"},
      {"FROM: <a@example.com> BODY=8bitmime", std::nullopt, Body::eight_bit_mime, DsnRet::unspecified, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.argument);
    auto parsed = parse_mail(c.argument, all_extensions());
    ASSERT_TRUE(std::holds_alternative<MailFrom>(parsed)) << describe(std::get<Refusal>(parsed));
    const auto& mail = std::get<MailFrom>(parsed);
    EXPECT_EQ(mail.size, c.size);
    EXPECT_EQ(mail.body, c.body);
    EXPECT_EQ(mail.ret, c.ret);
    EXPECT_EQ(mail.auth, c.auth);
  }
}

TEST(MailParameters, Refusals) {
  Extensions small = all_extensions();
  small.max_size = 100;
  const std::vector<RefusalCase> cases = {
      {"size_not_offered", "FROM:<a@example.com> SIZE=10", 555, "5.5.4", no_extensions()},
      {"size_over_maximum", "FROM:<a@example.com> SIZE=101", 552, "5.3.4", small},
      {"size_beyond_uint64", "FROM:<a@example.com> SIZE=99999999999999999999", 552, "5.3.4"},
      {"size_21_digits", "FROM:<a@example.com> SIZE=000000000000000000001", 501, "5.5.4"},
      {"size_not_digits", "FROM:<a@example.com> SIZE=1k", 501, "5.5.4"},
      {"size_negative", "FROM:<a@example.com> SIZE=-1", 501, "5.5.4"},
      {"size_without_value", "FROM:<a@example.com> SIZE", 501, "5.5.4"},
      {"size_empty_value", "FROM:<a@example.com> SIZE=", 501, "5.5.4"},
      {"size_twice", "FROM:<a@example.com> SIZE=1 SIZE=1", 501, "5.5.4"},
      {"body_binarymime", "FROM:<a@example.com> BODY=BINARYMIME", 555, "5.5.4"},
      {"body_unknown", "FROM:<a@example.com> BODY=9BIT", 501, "5.5.4"},
      {"body_not_offered", "FROM:<a@example.com> BODY=8BITMIME", 555, "5.5.4", no_extensions()},
      {"smtputf8_value", "FROM:<a@example.com> SMTPUTF8=yes", 501, "5.5.4"},
      {"smtputf8_not_offered", "FROM:<a@example.com> SMTPUTF8", 555, "5.5.4", no_extensions()},
      {"requiretls_not_offered", "FROM:<a@example.com> REQUIRETLS", 555, "5.5.4", no_extensions()},
      {"requiretls_value", "FROM:<a@example.com> REQUIRETLS=1", 501, "5.5.4"},
      {"ret_unknown", "FROM:<a@example.com> RET=ALL", 501, "5.5.4"},
      {"ret_not_offered", "FROM:<a@example.com> RET=FULL", 555, "5.5.4", no_extensions()},
      {"envid_lower_hex", "FROM:<a@example.com> ENVID=a+2b", 501, "5.5.4"},
      {"envid_cut_hex", "FROM:<a@example.com> ENVID=a+2", 501, "5.5.4"},
      {"envid_control", "FROM:<a@example.com> ENVID=a+0D+0Ab", 501, "5.5.4"},
      {"envid_utf8", "FROM:<a@example.com> ENVID=\xc3\xbc", 501, "5.5.4"},
      {"envid_101", "FROM:<a@example.com> ENVID=" + std::string(101, 'e'), 501, "5.5.4"},
      {"envid_twice", "FROM:<a@example.com> ENVID=a ENVID=a", 501, "5.5.4"},
      {"auth_not_offered", "FROM:<a@example.com> AUTH=<>", 555, "5.5.4", no_extensions()},
      {"auth_nul", "FROM:<a@example.com> AUTH=a+00", 501, "5.5.4"},
      {"notify_on_mail", "FROM:<a@example.com> NOTIFY=NEVER", 555, "5.5.4"},
      {"unknown_parameter", "FROM:<a@example.com> X-FOO=1", 555, "5.5.4"},
      {"bad_keyword", "FROM:<a@example.com> -SIZE=1", 501, "5.5.4"},
      {"value_with_equals", "FROM:<a@example.com> SIZE=1=2", 501, "5.5.4"},
      {"value_with_control", "FROM:<a@example.com> ENVID=a\x01", 501, "5.5.4"},
      {"two_spaces_between", "FROM:<a@example.com> SIZE=1  BODY=7BIT", 501, "5.5.4"},
      {"tab_separator", "FROM:<a@example.com>\tSIZE=1", 501, "5.5.4"},
      // The first failing parameter is the answer, left to right.
      {"first_failure_wins", "FROM:<a@example.com> X-FOO SIZE=x", 555, "5.5.4"},
      {"path_before_parameters", "FROM:<a@example..com> X-FOO", 553, "5.1.3"},
      {"parameters_before_smtputf8", "FROM:<a@" + kBuecher + "> X-FOO", 555, "5.5.4"},
  };
  for (const auto& c : cases) expect_mail_refused(c);
}

TEST(RcptParameters, Accepted) {
  struct Case {
    std::string argument;
    bool smtputf8;
    unsigned notify;
    std::string orcpt;
  };
  const std::vector<Case> cases = {
      {"TO:<b@example.com>", false, 0, ""},
      {"TO:<b@example.com> NOTIFY=NEVER", false, kNotifyNever, ""},
      {"TO:<b@example.com> notify=success,failure,DELAY", false, kNotifySuccess | kNotifyFailure | kNotifyDelay, ""},
      {"TO:<b@example.com> NOTIFY=DELAY,FAILURE", false, kNotifyFailure | kNotifyDelay, ""},
      {"TO:<b@example.com> ORCPT=rfc822;b+40example.com", false, 0, "rfc822;b@example.com"},
      {"TO:<b@example.com> ORCPT=RFC822;e+3Dmc2@example.com NOTIFY=FAILURE", false, kNotifyFailure,
       "RFC822;e=mc2@example.com"},
      {"TO:<b@example.com> ORCPT=utf-8;e\\x{3D}mc2@example.com", false, 0, "utf-8;e\\x{3D}mc2@example.com"},
      {"TO:<b@" + kBuecher + "> ORCPT=UTF-8;b@" + kBuecher, true, 0, "UTF-8;b@" + kBuecher},
      {"TO:<Postmaster> NOTIFY=NEVER", false, kNotifyNever, ""},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.argument);
    auto r = parse_rcpt(c.argument, all_extensions(), c.smtputf8);
    ASSERT_TRUE(std::holds_alternative<RcptTo>(r)) << describe(std::get<Refusal>(r));
    EXPECT_EQ(std::get<RcptTo>(r).notify, c.notify);
    EXPECT_EQ(std::get<RcptTo>(r).orcpt, c.orcpt);
  }
}

TEST(RcptParameters, Refusals) {
  const std::vector<RefusalCase> cases = {
      {"notify_never_and_more", "TO:<b@example.com> NOTIFY=NEVER,SUCCESS", 501, "5.5.4"},
      {"notify_repeated_flag", "TO:<b@example.com> NOTIFY=SUCCESS,SUCCESS", 501, "5.5.4"},
      {"notify_empty_element", "TO:<b@example.com> NOTIFY=SUCCESS,", 501, "5.5.4"},
      {"notify_unknown", "TO:<b@example.com> NOTIFY=ALWAYS", 501, "5.5.4"},
      {"notify_without_value", "TO:<b@example.com> NOTIFY", 501, "5.5.4"},
      {"notify_twice", "TO:<b@example.com> NOTIFY=NEVER NOTIFY=NEVER", 501, "5.5.4"},
      {"notify_not_offered", "TO:<b@example.com> NOTIFY=NEVER", 555, "5.5.4", no_extensions()},
      {"orcpt_without_type", "TO:<b@example.com> ORCPT=b@example.com", 501, "5.5.4"},
      {"orcpt_empty_type", "TO:<b@example.com> ORCPT=;b@example.com", 501, "5.5.4"},
      {"orcpt_bad_type", "TO:<b@example.com> ORCPT=rfc[822];b@example.com", 501, "5.5.4"},
      {"orcpt_empty_address", "TO:<b@example.com> ORCPT=rfc822;", 501, "5.5.4"},
      {"orcpt_control", "TO:<b@example.com> ORCPT=rfc822;b+0A@example.com", 501, "5.5.4"},
      {"orcpt_raw_utf8_without_smtputf8", "TO:<b@example.com> ORCPT=utf-8;b@" + kBuecher, 501, "5.5.4"},
      {"orcpt_raw_utf8_rfc822_type", "TO:<b@example.com> ORCPT=rfc822;b@" + kBuecher, 501, "5.5.4"},
      {"orcpt_501", "TO:<b@example.com> ORCPT=rfc822;" + std::string(494, 'o'), 501, "5.5.4"},
      {"orcpt_twice", "TO:<b@example.com> ORCPT=rfc822;a ORCPT=rfc822;a", 501, "5.5.4"},
      {"orcpt_not_offered", "TO:<b@example.com> ORCPT=rfc822;a", 555, "5.5.4", no_extensions()},
      {"mail_parameter_on_rcpt", "TO:<b@example.com> SIZE=10", 555, "5.5.4"},
      {"smtputf8_on_rcpt", "TO:<b@example.com> SMTPUTF8", 555, "5.5.4"},
  };
  for (const auto& c : cases) expect_rcpt_refused(c, false);
  // Raw UTF-8 in a "utf-8" ORCPT needs SMTPUTF8 on the transaction.
  expect_rcpt_refused({"orcpt_raw_bad_utf8", "TO:<b@example.com> ORCPT=utf-8;b\xc3@x", 501, "5.5.4"}, true);
}

// --- xtext -----------------------------------------------------------------------------

TEST(Xtext, Decode) {
  struct Case {
    std::string in;
    std::optional<std::string> out;
  };
  const std::vector<Case> cases = {
      {"", ""},
      {"abc", "abc"},
      {"+2B", "+"},
      {"a+3Db", "a=b"},
      {"+00", "\0"s},
      {"+C3+BC", "\xc3\xbc"},
      {"!~", "!~"},
      {"+2b", std::nullopt},
      {"+2", std::nullopt},
      {"+", std::nullopt},
      {"+GG", std::nullopt},
      {"a=b", std::nullopt},
      {"a b", std::nullopt},
      {"a\x7f", std::nullopt},
      {"\xc3\xbc", std::nullopt},
  };
  for (const auto& c : cases) EXPECT_EQ(xtext_decode(c.in), c.out) << c.in;
}

TEST(Xtext, EncodeAndRoundTrip) {
  EXPECT_EQ(xtext_encode("a+b=c d"), "a+2Bb+3Dc+20d");
  EXPECT_EQ(xtext_encode("\xff\x7f~!"), "+FF+7F~!");
  EXPECT_EQ(xtext_encode(""), "");
  std::string every;
  for (int b = 0; b < 256; ++b) every += static_cast<char>(b);
  const std::string encoded = xtext_encode(every);
  for (char c : encoded) EXPECT_TRUE(c >= 33 && c <= 126 && c != '=');
  EXPECT_EQ(xtext_decode(encoded), every);
}

}  // namespace
}  // namespace mxsec::smtp

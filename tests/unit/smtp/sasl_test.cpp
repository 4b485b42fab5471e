// Tests for smtp/server/sasl.cpp: SMTP AUTH exchanges (RFC 4954) with PLAIN
// (RFC 4616) and LOGIN, driven line by line from tables.
#include "smtp/server/sasl.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "codec/base64.hpp"
#include "core/strings.hpp"

namespace mxsec::smtp {
namespace {

std::string b64(std::string_view bytes) { return codec::encode_base64(bytes); }
std::string plain(std::string_view authzid, std::string_view authcid, std::string_view password) {
  std::string m(authzid);
  m += '\0';
  m += authcid;
  m += '\0';
  m += password;
  return b64(m);
}

// One line per step: "334 <base64>", "<code> <status> <text>", or
// "<MECH> authzid=<..> authcid=<..> password=<..>" (escaped).
std::string describe(const SaslStep& step) {
  if (const auto* c = std::get_if<SaslChallenge>(&step)) return c->line;
  if (const auto* r = std::get_if<Refusal>(&step)) return std::to_string(r->code) + " " + r->status + " " + r->text;
  const auto& k = std::get<SaslCredentials>(step);
  return std::string(to_string(k.mechanism)) + " authzid=" + escape_for_log(k.authzid) +
         " authcid=" + escape_for_log(k.authcid) + " password=" + escape_for_log(k.password);
}

const std::string kUsername = "334 VXNlcm5hbWU6";  // "Username:"
const std::string kPassword = "334 UGFzc3dvcmQ6";  // "Password:"
const std::string kCancelled = "501 5.0.0 Authentication cancelled";
const std::string kBadBase64 = "501 5.5.2 Invalid base64 data in response";
const std::string kBadInitial = "501 5.5.2 Invalid base64 data in initial response";
const std::string kMalformed = "501 5.5.2 Malformed PLAIN response";
const std::string kInvalid = "535 5.7.8 Authentication credentials invalid";
const std::string kTooLong = "500 5.5.6 Authentication Exchange line is too long";
const std::string kSequence = "503 5.5.1 Bad sequence of commands";

struct Case {
  std::string name;
  std::string argument;              // after "AUTH "
  std::vector<std::string> lines;    // client responses, in order
  std::vector<std::string> steps;    // start(), then one per line
  SaslOptions options = {.max_line_bytes = limits::kSmtpAuthLineBytes, .encrypted = true};
};

void run(const Case& c) {
  SCOPED_TRACE(c.name);
  auto parsed = parse_auth_argument(c.argument);
  ASSERT_TRUE(std::holds_alternative<AuthArgument>(parsed));
  const auto& arg = std::get<AuthArgument>(parsed);
  SaslServer server(arg.mechanism, arg.initial_response, c.options);
  std::vector<std::string> got{describe(server.start())};
  for (const auto& line : c.lines) got.push_back(describe(server.next(line)));
  EXPECT_EQ(got, c.steps);
  EXPECT_TRUE(server.finished());
}

TEST(Sasl, Plain) {
  const std::vector<Case> cases = {
      {"initial_response", "PLAIN " + plain("", "alice", "secret"), {},
       {"PLAIN authzid= authcid=alice password=secret"}},
      {"rfc4954_example", "PLAIN dGVzdAB0ZXN0ADEyMzQ=", {}, {"PLAIN authzid=test authcid=test password=1234"}},
      {"mechanism_any_case", "pLaIn " + plain("", "alice", "secret"), {},
       {"PLAIN authzid= authcid=alice password=secret"}},
      {"empty_challenge", "PLAIN", {plain("", "alice", "secret")},
       {"334 ", "PLAIN authzid= authcid=alice password=secret"}},
      {"authzid_equal", "PLAIN " + plain("alice", "alice", "secret"), {},
       {"PLAIN authzid=alice authcid=alice password=secret"}},
      {"authzid_other", "PLAIN " + plain("root", "alice", "secret"), {}, {kInvalid}},
      {"password_with_spaces_and_utf8", "PLAIN " + plain("", "j\xc3\xb6rg", "a b\xc3\xa9"), {},
       {"PLAIN authzid= authcid=j\\xc3\\xb6rg password=a b\\xc3\\xa9"}},
      {"empty_initial_response", "PLAIN =", {}, {kMalformed}},
      {"empty_line_response", "PLAIN", {""}, {"334 ", kMalformed}},
      {"one_nul", "PLAIN " + b64(std::string("alice\0secret", 12)), {}, {kMalformed}},
      {"three_nuls", "PLAIN " + b64(std::string("\0alice\0secret\0", 14)), {}, {kMalformed}},
      {"empty_authcid", "PLAIN " + plain("", "", "secret"), {}, {kInvalid}},
      {"empty_password", "PLAIN " + plain("", "alice", ""), {}, {kInvalid}},
      {"authcid_255", "PLAIN " + plain("", std::string(255, 'u'), "pw"), {},
       {"PLAIN authzid= authcid=" + std::string(200, 'u') + "... password=pw"}},
      {"authcid_256", "PLAIN " + plain("", std::string(256, 'u'), "pw"), {}, {kInvalid}},
      {"password_511", "PLAIN", {plain("", "alice", std::string(511, 'p'))},
       {"334 ", "PLAIN authzid= authcid=alice password=" + std::string(200, 'p') + "..."}},
      {"password_512", "PLAIN", {plain("", "alice", std::string(512, 'p'))}, {"334 ", kInvalid}},
      {"cancel", "PLAIN", {"*"}, {"334 ", kCancelled}},
      {"bad_initial_base64", "PLAIN AGFsaWNl!", {}, {kBadInitial}},
      {"bad_base64", "PLAIN", {"AGFsaWNlAHNlY3JldA=!"}, {"334 ", kBadBase64}},
      {"space_inside_base64", "PLAIN", {"AGFsaWNl AHNlY3JldA=="}, {"334 ", kBadBase64}},
      {"pad_first", "PLAIN", {"=AAA"}, {"334 ", kBadBase64}},
      {"pad_inside", "PLAIN", {"AAA=BBBB"}, {"334 ", kBadBase64}},
      {"unpadded", "PLAIN", {"AGFsaWNlAHNlY3JldA"}, {"334 ", kBadBase64}},
      {"equals_is_not_empty_later", "PLAIN", {"="}, {"334 ", kBadBase64}},
      {"trailing_cr_is_not_stripped", "PLAIN", {plain("", "alice", "secret") + "\r"}, {"334 ", kBadBase64}},
  };
  for (const auto& c : cases) run(c);
}

TEST(Sasl, Login) {
  const std::vector<Case> cases = {
      {"two_steps", "LOGIN", {b64("alice"), b64("secret")},
       {kUsername, kPassword, "LOGIN authzid= authcid=alice password=secret"}},
      {"user_in_initial_response", "LOGIN " + b64("alice"), {b64("secret")},
       {kPassword, "LOGIN authzid= authcid=alice password=secret"}},
      {"empty_initial_response", "LOGIN =", {b64("alice"), b64("secret")},
       {kUsername, kPassword, "LOGIN authzid= authcid=alice password=secret"}},
      {"cancel_at_username", "LOGIN", {"*"}, {kUsername, kCancelled}},
      {"cancel_at_password", "login", {b64("alice"), "*"}, {kUsername, kPassword, kCancelled}},
      {"bad_base64_username", "LOGIN", {"a"}, {kUsername, kBadBase64}},
      {"empty_username", "LOGIN", {"", b64("secret")}, {kUsername, kPassword, kInvalid}},
      {"empty_password", "LOGIN", {b64("alice"), ""}, {kUsername, kPassword, kInvalid}},
      {"nul_in_password", "LOGIN", {b64("alice"), b64(std::string("sec\0ret", 7))},
       {kUsername, kPassword, kInvalid}},
      {"nul_in_username", "LOGIN", {b64(std::string("al\0ice", 6)), b64("secret")},
       {kUsername, kPassword, kInvalid}},
  };
  for (const auto& c : cases) run(c);
}

TEST(Sasl, RefusedAtStart) {
  SaslOptions clear{.max_line_bytes = limits::kSmtpAuthLineBytes, .encrypted = false};
  SaslOptions clear_allowed{
      .max_line_bytes = limits::kSmtpAuthLineBytes, .encrypted = false, .allow_plaintext_unencrypted = true};
  const std::string kNeedTls = "538 5.7.11 Encryption required for requested authentication mechanism";
  const std::vector<Case> cases = {
      {"unknown_mechanism", "CRAM-MD5", {}, {"504 5.5.4 Unrecognized authentication mechanism"}},
      {"unknown_with_response", "XOAUTH2 " + b64("x"), {}, {"504 5.5.4 Unrecognized authentication mechanism"}},
      {"prefix_of_mechanism", "PLAI", {}, {"504 5.5.4 Unrecognized authentication mechanism"}},
      {"plain_unencrypted", "PLAIN " + plain("", "alice", "secret"), {}, {kNeedTls}, clear},
      {"login_unencrypted", "LOGIN", {}, {kNeedTls}, clear},
      {"unknown_before_encryption", "GSSAPI", {}, {"504 5.5.4 Unrecognized authentication mechanism"}, clear},
      {"unencrypted_allowed", "PLAIN " + plain("", "alice", "secret"), {},
       {"PLAIN authzid= authcid=alice password=secret"}, clear_allowed},
  };
  for (const auto& c : cases) run(c);
}

TEST(Sasl, LineLimit) {
  // Exactly at the limit the line is decoded (and here is not a PLAIN
  // message); one octet more fails the exchange before any decoding.
  const std::size_t max = limits::kSmtpAuthLineBytes;
  SaslOptions small{.max_line_bytes = 8, .encrypted = true};
  const std::vector<Case> cases = {
      {"at_limit", "PLAIN", {std::string(max, 'A')}, {"334 ", kMalformed}},
      {"over_limit", "PLAIN", {std::string(max + 1, 'A')}, {"334 ", kTooLong}},
      {"over_limit_not_base64", "LOGIN", {std::string(max + 1, '!')}, {kUsername, kTooLong}},
      {"initial_response_over_limit", "PLAIN " + plain("", "alice", "secret"), {}, {kTooLong}, small},
      {"login_password_over_limit", "LOGIN " + b64("al"), {"AAAAAAAAA"}, {kPassword, kTooLong}, small},
  };
  for (const auto& c : cases) run(c);

  SaslServer server("PLAIN", std::nullopt, {.encrypted = true});
  EXPECT_EQ(server.max_line_bytes(), max);
  EXPECT_EQ(describe(server.start()), "334 ");
  EXPECT_EQ(describe(server.line_too_long()), kTooLong);  // the line reader gave up first
  EXPECT_TRUE(server.finished());
}

TEST(Sasl, Sequence) {
  SaslServer server("PLAIN", std::nullopt, {.encrypted = true});
  EXPECT_FALSE(server.finished());
  EXPECT_EQ(describe(server.next(plain("", "alice", "secret"))), kSequence);  // before start()

  SaslServer done("PLAIN", plain("", "alice", "secret"), {.encrypted = true});
  EXPECT_EQ(describe(done.start()), "PLAIN authzid= authcid=alice password=secret");
  EXPECT_TRUE(done.finished());
  EXPECT_EQ(describe(done.next(plain("", "alice", "secret"))), kSequence);
  EXPECT_EQ(describe(done.start()), kSequence);

  SaslServer waiting("LOGIN", std::nullopt, {.encrypted = true});
  EXPECT_EQ(describe(waiting.start()), kUsername);
  EXPECT_FALSE(waiting.finished());
  EXPECT_EQ(describe(waiting.start()), kSequence);
  EXPECT_TRUE(waiting.finished());
}

TEST(Sasl, ParseAuthArgument) {
  struct Ok {
    std::string argument;
    std::string mechanism;
    std::optional<std::string> response;
  };
  for (const Ok& c : std::vector<Ok>{{"PLAIN", "PLAIN", std::nullopt},
                                     {"PLAIN dGVzdAB0ZXN0ADEyMzQ=", "PLAIN", "dGVzdAB0ZXN0ADEyMzQ="},
                                     {"login =", "login", "="},
                                     {"X-UNKNOWN abc", "X-UNKNOWN", "abc"}}) {
    auto r = parse_auth_argument(c.argument);
    ASSERT_TRUE(std::holds_alternative<AuthArgument>(r)) << c.argument;
    const auto& a = std::get<AuthArgument>(r);
    EXPECT_EQ(a.mechanism, c.mechanism) << c.argument;
    EXPECT_EQ(a.initial_response.has_value(), c.response.has_value()) << c.argument;
    if (c.response) {
      EXPECT_EQ(*a.initial_response, *c.response) << c.argument;
    }
  }
  const Refusal syntax{501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"};
  for (std::string bad : {"", " PLAIN", "PLAIN ", "PLAIN  abc", "PLAIN abc def", "PLAIN abc "}) {
    auto r = parse_auth_argument(bad);
    ASSERT_TRUE(std::holds_alternative<Refusal>(r)) << "'" << bad << "'";
    EXPECT_EQ(std::get<Refusal>(r), syntax) << "'" << bad << "'";
  }
}

TEST(Sasl, Names) {
  EXPECT_EQ(parse_sasl_mechanism("plain"), SaslMechanism::plain);
  EXPECT_EQ(parse_sasl_mechanism("LOGIN"), SaslMechanism::login);
  EXPECT_EQ(parse_sasl_mechanism("PLAIN "), std::nullopt);
  EXPECT_EQ(parse_sasl_mechanism(""), std::nullopt);
  EXPECT_STREQ(to_string(SaslMechanism::plain), "PLAIN");
  EXPECT_STREQ(to_string(SaslMechanism::login), "LOGIN");
  EXPECT_EQ(kSaslMechanisms, "PLAIN LOGIN");
  EXPECT_EQ(auth_failed_refusal(), (Refusal{535, "5.7.8", "Authentication credentials invalid"}));
}

}  // namespace
}  // namespace mxsec::smtp

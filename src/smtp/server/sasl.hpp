// smtp/server/sasl.hpp: the server side of one SMTP AUTH exchange (RFC 4954)
// for the PLAIN (RFC 4616) and LOGIN mechanisms, without I/O.
//
// Contract
// - The server splits the AUTH command's argument with parse_auth_argument()
//   ("PLAIN dGVzdAB0ZXN0ADEyMzQ=" -> mechanism, initial response), builds a
//   SaslServer from it, sends what start() returns, and then, for as long as
//   the last step was a SaslChallenge, reads one client line (line end
//   removed) and sends what next() returns. SaslServer holds no socket, clock
//   or users file: it turns lines into steps and nothing else.
// - A step (SaslStep) is exactly one of:
//   * SaslChallenge: the reply line to send, "334 <base64>" (no CRLF).
//     §4: "A server challenge is sent as a 334 reply with the text part
//     containing the [BASE64] encoded string ... In SMTP, a server challenge
//     that contains no data is defined as a 334 reply with no text part. Note
//     that there is still a space following the reply code, so the complete
//     response line is "334 "." PLAIN without an initial response gets that
//     empty challenge; LOGIN gets "334 VXNlcm5hbWU6" ("Username:") and then
//     "334 UGFzc3dvcmQ6" ("Password:").
//   * SaslCredentials: the exchange is complete and well formed. Nothing is
//     verified yet: the caller checks authcid and password (UserDb::verify,
//     off the event loop: it costs a password hash) and replies
//     "235 2.7.0 Authentication successful" or auth_failed_refusal().
//     authzid is empty or equal to authcid (anything else was refused).
//   * Refusal: the AUTH command failed; send "code status text". The
//     exchange is over either way.
// - Refusals (RFC 3463 enhanced codes as RFC 4954 §4 and §6 suggest):
//     501 5.5.4  the AUTH argument is not "mechanism [SP initial-response]"
//     504 5.5.4  unknown mechanism. §4: "If the requested authentication
//                mechanism is invalid (e.g., is not supported or requires an
//                encryption layer), the server rejects the AUTH command with a
//                504 reply. If the server supports the [ESMTP-CODES]
//                extension, it SHOULD return a 5.5.4 enhanced response code."
//     538 5.7.11 "Encryption required for requested authentication
//                mechanism" (§6): PLAIN or LOGIN on a session that is not
//                encrypted, unless SaslOptions::allow_plaintext_unencrypted.
//                §4: "A server implementation MUST implement a configuration
//                in which it does NOT permit any plaintext password
//                mechanisms, unless either the STARTTLS [SMTP-TLS] command has
//                been negotiated or some other mechanism that protects the
//                session from password snooping has been provided." §6 adds
//                that servers "SHOULD NOT advertise mechanisms that are not
//                permitted due to lack of encryption", so a client sees 538
//                only when it tries AUTH that was not offered.
//     501 5.0.0  "Authentication cancelled". §4: "If the client wishes to
//                cancel the authentication exchange, it issues a line with a
//                single "*". If the server receives such a response, it MUST
//                reject the AUTH command by sending a 501 reply."
//     501 5.5.2  a response that is not base64. §4: "If the server cannot
//                [BASE64] decode any client response, it MUST reject the AUTH
//                command with a 501 reply (and an enhanced status code of
//                5.5.2). ... servers and clients MUST reject (and not ignore)
//                any character not explicitly allowed by the BASE64 alphabet,
//                and MUST reject any sequence of BASE64 characters that
//                contains the pad character ('=') anywhere other than the end
//                of the string". So whitespace inside a response is refused
//                too. Also a PLAIN message without exactly two NULs (RFC 4616
//                §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd).
//     500 5.5.6  "Authentication Exchange line is too long" (§6): a response
//                line longer than SaslOptions::max_line_bytes (default
//                limits::kSmtpAuthLineBytes, the 12288 octets of §4). A server
//                whose line reader stops at that limit calls line_too_long()
//                for the same reply.
//     535 5.7.8  "Authentication credentials invalid" (§6): an authzid that
//                is not empty and differs from authcid (no proxy
//                authorization), an empty authcid or password, one longer than
//                limits::kSmtpAuthIdentityBytes / kSmtpAuthPasswordBytes, or a
//                password holding NUL (possible with LOGIN). The caller sends
//                the same reply for a wrong password (auth_failed_refusal()),
//                so the reply does not tell which check failed.
//     503 5.5.1  start() twice, or next() before start() or after the
//                exchange ended: a caller bug, refused rather than trusted.
//   534 5.7.9 "Authentication mechanism is too weak" (§6) is never produced:
//   there is no per-user mechanism policy. 454 4.7.0 (temporary failure) is
//   the caller's if its users file cannot be read.
// - The initial response: §4 "If the client is transmitting an initial
//   response of zero length, it MUST instead transmit the response as a
//   single equals sign ("=")", so "=" is an empty response. PLAIN with an
//   initial response completes at once. LOGIN takes a non-empty initial
//   response as the user name and asks only for the password, as Dovecot and
//   Cyrus SASL do (the LOGIN draft has no initial response; clients such as
//   Outlook send one); an empty one ("=") is ignored.
// - Mechanism names are matched case-insensitively (§8: "Implementations
//   MUST accept these strings in a case-insensitive fashion").
// - XXX identities are compared octet for octet; RFC 4954 §4 says both sides
//   SHOULD use SASLprep (RFC 4013), which is not implemented, so a client must
//   send the user name exactly as written in the users file.
// - Nothing here logs. SaslCredentials::password is a secret: never log it;
//   SaslServer wipes its own copies when destroyed.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/limits.hpp"
#include "smtp/proto/command.hpp"
#include "smtp/proto/sasl_mechanism.hpp"

namespace mxsec::smtp {

// The EHLO keyword's parameters: "250-AUTH PLAIN LOGIN".
inline constexpr std::string_view kSaslMechanisms = "PLAIN LOGIN";

// The AUTH command's argument (RFC 4954 §8: auth-command = "AUTH" SP
// sasl-mech [SP initial-response]). Views into the argument passed to
// parse_auth_argument(), valid while it is.
struct AuthArgument {
  std::string_view mechanism;                        // as written
  std::optional<std::string_view> initial_response;  // still base64 (or "=")
  friend bool operator==(const AuthArgument&, const AuthArgument&) = default;
};
// 501 5.5.4 for an empty argument, a doubled or trailing SP, or a third word.
std::variant<AuthArgument, Refusal> parse_auth_argument(std::string_view argument);

struct SaslOptions {
  std::size_t max_line_bytes = limits::kSmtpAuthLineBytes;
  // The session is protected against snooping (STARTTLS done, or implicit TLS).
  bool encrypted = false;
  // Permit PLAIN and LOGIN without `encrypted` (tests, loopback-only setups).
  bool allow_plaintext_unencrypted = false;
};

struct SaslChallenge {
  std::string line;  // "334 VXNlcm5hbWU6"; "334 " for an empty challenge
  friend bool operator==(const SaslChallenge&, const SaslChallenge&) = default;
};

struct SaslCredentials {
  SaslMechanism mechanism = SaslMechanism::plain;
  std::string authzid;  // "" or == authcid
  std::string authcid;
  std::string password;
  friend bool operator==(const SaslCredentials&, const SaslCredentials&) = default;
};

using SaslStep = std::variant<SaslChallenge, SaslCredentials, Refusal>;

// 535 5.7.8, for credentials that UserDb::verify() refused.
Refusal auth_failed_refusal();

class SaslServer {
 public:
  // `mechanism` and `initial_response` as parse_auth_argument() returned them.
  SaslServer(std::string_view mechanism, std::optional<std::string_view> initial_response, SaslOptions options = {});
  ~SaslServer();
  SaslServer(const SaslServer&) = delete;
  SaslServer& operator=(const SaslServer&) = delete;

  // The reply to the AUTH command itself.
  SaslStep start();
  // The reply to one client response line (without its CRLF).
  SaslStep next(std::string_view client_line);
  // For a server whose line reader gave up on an overlong line: 500 5.5.6.
  SaslStep line_too_long();
  // True once a step other than a challenge was returned.
  bool finished() const { return state_ == State::finished; }
  std::size_t max_line_bytes() const { return options_.max_line_bytes; }

 private:
  enum class State { initial, plain_response, login_username, login_password, finished };

  SaslStep on_plain(std::string_view message);
  SaslStep on_login_username(std::string_view username);
  SaslStep on_login_password(std::string_view password);
  SaslStep complete(std::string_view authzid, std::string_view authcid, std::string_view password);
  SaslStep refuse(Refusal refusal);

  std::optional<SaslMechanism> mechanism_;
  std::optional<std::string> initial_response_;
  SaslOptions options_;
  State state_ = State::initial;
  std::string username_;  // LOGIN, between its two challenges
};

}  // namespace mxsec::smtp

// smtp/client/auth.hpp: the client side of SMTP AUTH (RFC 4954) with a user
// name and password, for a relay host ([outbound] relayhost_username and
// relayhost_password_file): PLAIN (RFC 4616) when the server offers it, else
// LOGIN (draft-murchison-sasl-login, what Postfix and Outlook send).
//
// Contract
// - The caller decides whether credentials may be sent at all
//   (smtp/client/session.hpp: only over TLS); this module only runs the
//   exchange over the connection it is given, after an EHLO whose
//   capabilities it is given.
// - choose_mechanism(): PLAIN when the EHLO's AUTH line lists it, else LOGIN
//   when it does, else nullopt (a server that offers neither, or no AUTH).
//   Mechanism names are compared case-insensitively
//   (smtp/proto/sasl_mechanism.hpp).
// - plain_message(): RFC 4616 §2, "message = [authzid] UTF8NUL authcid
//   UTF8NUL passwd", with no authzid (we act as ourselves), base64-encoded
//   (codec/base64.hpp) as the initial response of "AUTH PLAIN <response>"
//   (RFC 4954 §4: the initial response saves a round trip).
// - authenticate() runs one exchange:
//     PLAIN  "AUTH PLAIN <message>" -> 235.
//     LOGIN  "AUTH LOGIN" -> 334, base64(user name) -> 334,
//            base64(password) -> 235. The text of the 334 challenges is not
//            used (servers word the prompts differently); a 334 must be one
//            line (RFC 4954 §4: "334 SP [base64]").
//   Outcomes (AuthOutcome):
//     ok        235: authenticated.
//     refused   the server answered a step with a 4xx or 5xx (535 5.7.8
//               bad credentials, 534, 538, 454 ...): `reply` holds it. The
//               connection is in step (RFC 4954 §4: a failed AUTH leaves the
//               session as before it), so the caller may QUIT.
//     broken    anything else: a reply over the ReplyLimits, not SMTP, a
//               timeout, a lost connection, or a reply the step does not
//               allow (a 334 where PLAIN expects 235, a 235 before the
//               password was sent, a multi-line 334, another code). The
//               connection must be closed: nothing more is sent over it,
//               and no credential is sent after such a reply.
//   `error` says what happened in words that never hold the credentials
//   (nor their base64): callers put it into logs and queue reasons.
// - The command lines built here, which hold the credentials, are wiped
//   after sending. XXX The copies inside Connection's output buffer and
//   the TLS layer's are not.
#pragma once

#include <asio/awaitable.hpp>
#include <optional>
#include <string>

#include "core/result.hpp"
#include "core/strings.hpp"
#include "smtp/proto/ehlo.hpp"
#include "smtp/proto/reply.hpp"
#include "smtp/proto/sasl_mechanism.hpp"
#include "smtp/session/connection.hpp"

namespace mxsec::smtp {

// A user name and password for AUTH. Never logged; the password is wiped
// when the credentials go.
struct ClientCredentials {
  std::string username;  // authcid, UTF-8, 1..limits::kSmtpAuthIdentityBytes octets, no NUL
  std::string password;  // 1..limits::kSmtpAuthPasswordBytes octets, no NUL
  ~ClientCredentials() { wipe_secret(password); }
};

std::optional<SaslMechanism> choose_mechanism(const EhloCapabilities& caps);
std::string plain_message(const ClientCredentials& credentials);

struct AuthOutcome {
  enum class Status { ok, refused, broken };
  Status status = Status::broken;
  Error error;                 // for refused and broken
  std::optional<Reply> reply;  // the reply that refused
};

asio::awaitable<AuthOutcome> authenticate(Connection& conn, const ClientCredentials& credentials,
                                          SaslMechanism mechanism);

}  // namespace mxsec::smtp

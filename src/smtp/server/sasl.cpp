// smtp/server/sasl.cpp: see sasl.hpp. One member function per state of the
// exchange; every path that ends it goes through complete() or refuse().
#include "smtp/server/sasl.hpp"

#include <utility>

#include "codec/base64.hpp"
#include "core/strings.hpp"

namespace mxsec::smtp {
namespace {

constexpr std::string_view kUsernamePrompt = "Username:";
constexpr std::string_view kPasswordPrompt = "Password:";

SaslChallenge challenge(std::string_view data) { return SaslChallenge{"334 " + codec::encode_base64(data)}; }

// RFC 4954 §4: servers "MUST reject (and not ignore) any character not
// explicitly allowed by the BASE64 alphabet". codec's decoder skips folding
// whitespace (RFC 6376 allows it inside DKIM tags), so the alphabet is
// checked here first; its padding and length rules are already strict.
// A decoded response may be a password: it is decoded into a SecretString,
// wiped when the step is made. XXX best effort: copies inside the base64
// decoder are not wiped.
bool decode_response(std::string_view text, SecretString& out) {
  for (char c : text) {
    if (!is_alnum(c) && c != '+' && c != '/' && c != '=') return false;
  }
  auto decoded = codec::decode_base64(text);
  if (!decoded) return false;
  out.text = std::move(*decoded);
  wipe_secret(*decoded);  // what a move leaves of a short string
  return true;
}

}  // namespace

std::variant<AuthArgument, Refusal> parse_auth_argument(std::string_view argument) {
  const Refusal syntax{501, "5.5.4", "Syntax: AUTH mechanism [initial-response]"};
  const std::size_t sp = argument.find(' ');
  AuthArgument out;
  out.mechanism = argument.substr(0, sp);
  if (out.mechanism.empty()) return syntax;
  if (sp != std::string_view::npos) {
    const std::string_view response = argument.substr(sp + 1);
    if (response.empty() || response.find(' ') != std::string_view::npos) return syntax;
    out.initial_response = response;
  }
  return out;
}

Refusal auth_failed_refusal() { return Refusal{535, "5.7.8", "Authentication credentials invalid"}; }

SaslServer::SaslServer(std::string_view mechanism, std::optional<std::string_view> initial_response,
                       SaslOptions options)
    : mechanism_(parse_sasl_mechanism(mechanism)), options_(options) {
  if (initial_response) initial_response_.emplace(*initial_response);
}

SaslServer::~SaslServer() {
  if (initial_response_) wipe_secret(*initial_response_);
  wipe_secret(username_);
}

SaslStep SaslServer::start() {
  if (state_ != State::initial) return refuse({503, "5.5.1", "Bad sequence of commands"});
  if (!mechanism_) return refuse({504, "5.5.4", "Unrecognized authentication mechanism"});
  // Both mechanisms carry the password in clear (RFC 4954 §4, note).
  if (!options_.encrypted && !options_.allow_plaintext_unencrypted)
    return refuse({538, "5.7.11", "Encryption required for requested authentication mechanism"});
  const bool plain = *mechanism_ == SaslMechanism::plain;
  if (!initial_response_) {
    state_ = plain ? State::plain_response : State::login_username;
    return challenge(plain ? "" : kUsernamePrompt);
  }
  if (initial_response_->size() > options_.max_line_bytes) return line_too_long();
  SecretString response;
  // §4: "=" is a response that "is present, but contains no data".
  if (*initial_response_ != "=" && !decode_response(*initial_response_, response))
    return refuse({501, "5.5.2", "Invalid base64 data in initial response"});
  if (plain) return on_plain(response.text);
  if (response.text.empty()) {
    state_ = State::login_username;
    return challenge(kUsernamePrompt);
  }
  return on_login_username(response.text);
}

SaslStep SaslServer::next(std::string_view client_line) {
  if (state_ == State::initial || state_ == State::finished) return refuse({503, "5.5.1", "Bad sequence of commands"});
  if (client_line.size() > options_.max_line_bytes) return line_too_long();
  if (client_line == "*") return refuse({501, "5.0.0", "Authentication cancelled"});
  SecretString response;
  if (!decode_response(client_line, response)) return refuse({501, "5.5.2", "Invalid base64 data in response"});
  switch (state_) {
    case State::plain_response: return on_plain(response.text);
    case State::login_username: return on_login_username(response.text);
    case State::login_password: return on_login_password(response.text);
    case State::initial:
    case State::finished: break;
  }
  return refuse({503, "5.5.1", "Bad sequence of commands"});
}

SaslStep SaslServer::line_too_long() { return refuse({500, "5.5.6", "Authentication Exchange line is too long"}); }

// RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd.
SaslStep SaslServer::on_plain(std::string_view message) {
  constexpr auto npos = std::string_view::npos;
  const std::size_t first = message.find('\0');
  const std::size_t second = first == npos ? npos : message.find('\0', first + 1);
  if (second == npos || message.find('\0', second + 1) != npos)
    return refuse({501, "5.5.2", "Malformed PLAIN response"});
  return complete(message.substr(0, first), message.substr(first + 1, second - first - 1),
                  message.substr(second + 1));
}

SaslStep SaslServer::on_login_username(std::string_view username) {
  username_ = username;
  state_ = State::login_password;
  return challenge(kPasswordPrompt);
}

SaslStep SaslServer::on_login_password(std::string_view password) { return complete("", username_, password); }

SaslStep SaslServer::complete(std::string_view authzid, std::string_view authcid, std::string_view password) {
  // RFC 4616 §2: authcid and passwd are 1*SAFE (no NUL); the server "MUST
  // be capable of accepting" 255 octets of each. An authzid other than the
  // authcid would be proxy authorization, which no user may do here.
  const bool valid = !authcid.empty() && authcid.size() <= limits::kSmtpAuthIdentityBytes &&
                     authcid.find('\0') == std::string_view::npos && !password.empty() &&
                     password.size() <= limits::kSmtpAuthPasswordBytes &&
                     password.find('\0') == std::string_view::npos && (authzid.empty() || authzid == authcid);
  if (!valid) return refuse(auth_failed_refusal());
  SaslCredentials out{*mechanism_, std::string(authzid), std::string(authcid), std::string(password)};
  state_ = State::finished;
  wipe_secret(username_);
  return out;
}

SaslStep SaslServer::refuse(Refusal refusal) {
  state_ = State::finished;
  wipe_secret(username_);
  return refusal;
}

}  // namespace mxsec::smtp

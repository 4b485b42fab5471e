// smtp/client/auth.cpp: see auth.hpp.
#include "smtp/client/auth.hpp"

#include "codec/base64.hpp"
#include "core/strings.hpp"

namespace mxsec::smtp {

std::optional<SaslMechanism> choose_mechanism(const EhloCapabilities& caps) {
  const std::vector<std::string>* offered = caps.params("AUTH");
  if (offered == nullptr) return std::nullopt;
  std::optional<SaslMechanism> chosen;
  for (const std::string& name : *offered) {
    const auto m = parse_sasl_mechanism(name);
    if (m == SaslMechanism::plain) return m;
    if (m) chosen = m;
  }
  return chosen;
}

std::string plain_message(const ClientCredentials& c) {
  SecretString message;
  message.text.reserve(c.username.size() + c.password.size() + 2);
  message.text += '\0';
  message.text += c.username;
  message.text += '\0';
  message.text += c.password;
  return codec::encode_base64(message.text);
}

namespace {

AuthOutcome broken(std::string what) {
  AuthOutcome out;
  out.status = AuthOutcome::Status::broken;
  out.error = make_error(Errc::parse, std::move(what));
  return out;
}

AuthOutcome from_error(const Error& e, std::string_view step) {
  AuthOutcome out;
  out.status = AuthOutcome::Status::broken;
  out.error = e;
  out.error.message = std::string(step) + ": " + e.message;
  return out;
}

// One step of the exchange: `line` is sent (and wiped), and the reply must
// have `want` (334 or 235). A 4xx/5xx is a refusal; anything else breaks
// the session.
struct AuthStep {
  std::optional<Reply> reply;
  std::optional<AuthOutcome> end;  // set when the exchange is over here
};

asio::awaitable<AuthStep> run_step(Connection& conn, std::string line, int want, std::string_view what) {
  auto replied = co_await conn.command(std::move(line));
  wipe_secret(line);  // moved from, but a short string may leave its bytes behind
  AuthStep out;
  if (!replied) {
    out.end = from_error(replied.error(), what);
    co_return out;
  }
  const Reply& r = *replied;
  if (r.transient_failure() || r.permanent_failure()) {
    AuthOutcome refused;
    refused.status = AuthOutcome::Status::refused;
    refused.error = make_error(Errc::unsupported, "refused " + std::string(what) + ": " + r.to_log_string());
    refused.reply = r;
    out.end = std::move(refused);
    co_return out;
  }
  if (r.code != want) {
    out.end = broken(std::string(what) + ": unexpected reply " + r.to_log_string() + " (expected " +
                     std::to_string(want) + ")");
    co_return out;
  }
  // RFC 4954 §4: a challenge is "334 SP [base64]", one line.
  if (want == 334 && r.lines.size() != 1) {
    out.end = broken(std::string(what) + ": a 334 challenge of " + std::to_string(r.lines.size()) + " lines");
    co_return out;
  }
  out.reply = r;
  co_return out;
}

}  // namespace

asio::awaitable<AuthOutcome> authenticate(Connection& conn, const ClientCredentials& credentials,
                                          SaslMechanism mechanism) {
  AuthOutcome ok;
  ok.status = AuthOutcome::Status::ok;
  if (mechanism == SaslMechanism::plain) {
    std::string line = "AUTH PLAIN " + plain_message(credentials);
    AuthStep done = co_await run_step(conn, std::move(line), 235, "AUTH PLAIN");
    co_return done.end ? std::move(*done.end) : ok;
  }
  std::string start = "AUTH LOGIN";
  AuthStep user_prompt = co_await run_step(conn, std::move(start), 334, "AUTH LOGIN");
  if (user_prompt.end) co_return std::move(*user_prompt.end);
  std::string user = codec::encode_base64(credentials.username);
  AuthStep password_prompt = co_await run_step(conn, std::move(user), 334, "AUTH LOGIN user name");
  if (password_prompt.end) co_return std::move(*password_prompt.end);
  std::string password = codec::encode_base64(credentials.password);
  AuthStep done = co_await run_step(conn, std::move(password), 235, "AUTH LOGIN password");
  co_return done.end ? std::move(*done.end) : ok;
}

}  // namespace mxsec::smtp

// Fuzz target for the server side of SMTP AUTH (smtp/server/sasl.hpp).
//
// The input is a dialogue: its first line is the AUTH argument
// ("PLAIN <base64>"), every further line one client response (LF-separated,
// the LF removed as the server's line reader does). Properties (trap on
// violation), with the default options, a small line limit, and an
// unencrypted session:
// - a step is a challenge only while the exchange goes on; after any other
//   step finished() holds and next() is 503 5.5.1;
// - a challenge is "334 " and canonical base64 (decodes and re-encodes to
//   itself);
// - credentials hold a non-empty authcid and password within the limits and
//   without NUL, and an authzid that is empty or the authcid; never on an
//   unencrypted session;
// - a response line over the limit is 500 5.5.6, whatever it holds;
// - every refusal is one of the pairs sasl.hpp documents.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common.hpp"
#include "codec/base64.hpp"
#include "smtp/server/sasl.hpp"

using namespace mxsec;
using namespace mxsec::smtp;

namespace {

using mxsec::fuzz::check;

bool documented(const Refusal& r) {
  struct Pair {
    int code;
    std::string_view status;
  };
  constexpr Pair kPairs[] = {{501, "5.5.4"}, {504, "5.5.4"}, {538, "5.7.11"}, {501, "5.0.0"}, {501, "5.5.2"},
                             {500, "5.5.6"}, {535, "5.7.8"}, {503, "5.5.1"}};
  for (const Pair& p : kPairs) {
    if (p.code == r.code && p.status == r.status) return !r.text.empty();
  }
  return false;
}

void check_step(const SaslStep& step, const SaslServer& server, const SaslOptions& options) {
  if (const auto* c = std::get_if<SaslChallenge>(&step)) {
    check(!server.finished());
    check(c->line.substr(0, 4) == "334 ");
    const std::string_view data = std::string_view(c->line).substr(4);
    auto decoded = codec::decode_base64(data);
    check(decoded.has_value() && codec::encode_base64(*decoded) == data);
    return;
  }
  check(server.finished());
  if (const auto* r = std::get_if<Refusal>(&step)) {
    check(documented(*r));
    return;
  }
  const auto& k = std::get<SaslCredentials>(step);
  check(options.encrypted || options.allow_plaintext_unencrypted);
  check(!k.authcid.empty() && k.authcid.size() <= limits::kSmtpAuthIdentityBytes);
  check(!k.password.empty() && k.password.size() <= limits::kSmtpAuthPasswordBytes);
  check(k.authcid.find('\0') == std::string::npos && k.password.find('\0') == std::string::npos);
  check(k.authzid.empty() || k.authzid == k.authcid);
}

void run(std::string_view in, const SaslOptions& options) {
  std::vector<std::string_view> lines;
  for (;;) {
    const std::size_t lf = in.find('\n');
    lines.push_back(in.substr(0, lf));
    if (lf == std::string_view::npos) break;
    in.remove_prefix(lf + 1);
  }
  auto parsed = parse_auth_argument(lines[0]);
  if (const auto* r = std::get_if<Refusal>(&parsed)) {
    check(r->code == 501 && r->status == "5.5.4");
    return;
  }
  const auto& arg = std::get<AuthArgument>(parsed);
  SaslServer server(arg.mechanism, arg.initial_response, options);
  SaslStep step = server.start();
  check_step(step, server, options);
  for (std::size_t i = 1; i < lines.size() && std::holds_alternative<SaslChallenge>(step); ++i) {
    step = server.next(lines[i]);
    check_step(step, server, options);
    if (lines[i].size() > options.max_line_bytes) {
      const auto* r = std::get_if<Refusal>(&step);
      check(r != nullptr && r->code == 500 && r->status == "5.5.6");
    }
  }
  if (server.finished()) {
    const SaslStep after = server.next("*");
    const auto* r = std::get_if<Refusal>(&after);
    check(r != nullptr && r->code == 503);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  run(in, SaslOptions{.encrypted = true});
  run(in, SaslOptions{.max_line_bytes = 16, .encrypted = true});
  run(in, SaslOptions{.encrypted = false});
  return 0;
}

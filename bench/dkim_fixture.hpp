// bench/dkim_fixture.hpp: one DKIM benchmark case (algorithm x message size),
// shared by dkim_bench (Google Benchmark) and dkim_one (callgrind driver).
//
// Contract
// - Inputs come from the work directory written by bench/make_inputs.py:
//   msg-SIZE.eml (to sign), signed-ALG-SIZE.eml (signed by dkimpy, to verify),
//   ALG.pem (private key) and keys.zone (the key TXT records). The domain,
//   selectors and signed header list below must match make_inputs.py.
// - Everything that a long-running signer or verifier does once is done in
//   DkimFixture::load(): the private key is parsed into one Signer, the key
//   record is preloaded into a dns::FakeResolver, the io_context and the
//   Verifier (with its parsed-key cache) are created, and warm-up operations
//   are run and checked, so caches are warm and a broken case fails before
//   anything is timed: for Warmup::sign a sign whose signature must verify,
//   for Warmup::verify a verify of the dkimpy-signed message, for
//   Warmup::both all three. (dkim_one warms up only the operation it counts:
//   an RSA sign draws random blinding values, so an extra sign in the set-up
//   would add noise to a differenced verify count.)
// - One operation, as timed: sign_once() = codec::parse_message + Signer::sign;
//   verify_once() = codec::parse_message + Verifier::verify through
//   run_sync on the fixture's io_context (the FakeResolver answers the key
//   query synchronously, no I/O). Parsing is included because every peer
//   (dkimpy, Mail::DKIM, OpenDKIM) parses the message inside its operation.
// - Not thread-safe (FakeResolver, Verifier cache); one fixture per thread.
#pragma once

#include <asio/io_context.hpp>
#include <ctime>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "auth/dkim/dkim.hpp"
#include "codec/message.hpp"
#include "core/clock.hpp"
#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::bench {

inline constexpr const char* kDomain = "example.com";
// Same h= list as bench/make_inputs.py and the peers, so every signer hashes
// the same fields (the Signer's default list over-signs a few more).
inline const std::vector<std::string> kSignedHeaders = {"from", "to", "subject", "date", "message-id",
                                                        "mime-version", "content-type"};

inline std::optional<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

enum class Warmup { sign, verify, both };

class DkimFixture {
 public:
  // alg: "rsa" or "ed25519"; size: "5k" or "100k". On failure returns null
  // and sets *error.
  static std::unique_ptr<DkimFixture> load(const std::string& dir, const std::string& alg, const std::string& size,
                                           Warmup warmup, std::string* error) {
    auto f = std::unique_ptr<DkimFixture>(new DkimFixture());
    auto fail = [&](std::string why) -> std::unique_ptr<DkimFixture> {
      *error = alg + "/" + size + ": " + why;
      return nullptr;
    };
    auto msg = read_file(dir + "/msg-" + size + ".eml");
    auto signed_msg = read_file(dir + "/signed-" + alg + "-" + size + ".eml");
    auto key = read_file(dir + "/" + alg + ".pem");
    auto zone = read_file(dir + "/keys.zone");
    if (!msg || !signed_msg || !key || !zone) return fail("missing input in " + dir + " (run bench/make_inputs.py)");
    f->to_sign_ = std::move(*msg);
    f->to_verify_ = std::move(*signed_msg);
    if (auto r = f->resolver_.load_zone_text(*zone); !r) return fail("keys.zone: " + r.error().message);

    auth::dkim::SignerConfig config;
    config.domain = kDomain;
    config.selector = alg;
    config.oversigned.clear();
    config.signed_if_present = kSignedHeaders;
    auto signer = auth::dkim::Signer::from_key_bytes(*key, std::move(config));
    if (!signer) return fail("signer: " + signer.error().message);
    f->signer_.emplace(std::move(*signer));

    // The warm-up operations double as correctness checks.
    if (warmup != Warmup::verify) {
      std::string field;
      if (!f->sign_once(&field)) return fail("sign failed: " + f->last_error_);
      std::string own = field + f->to_sign_;
      if (!f->verify_bytes(own)) return fail("own signature does not verify: " + f->last_error_);
    }
    if (warmup != Warmup::sign && !f->verify_once())
      return fail("dkimpy's signature does not verify: " + f->last_error_);
    return f;
  }

  // One parse + sign. *field receives the DKIM-Signature field.
  bool sign_once(std::string* field) {
    auto msg = codec::parse_message(to_sign_);
    if (!msg) return set_error("parse: " + msg.error().message);
    auto sig = signer_->sign(*msg, clock_);
    if (!sig) return set_error(sig.error().message);
    *field = std::move(*sig);
    return true;
  }

  // One parse + verify of the dkimpy-signed message; true when it passes.
  bool verify_once() { return verify_bytes(to_verify_); }

  const std::string& message_to_sign() const { return to_sign_; }
  std::size_t sign_bytes() const { return to_sign_.size(); }
  std::size_t verify_bytes_size() const { return to_verify_.size(); }
  const std::string& last_error() const { return last_error_; }

 private:
  DkimFixture() : clock_(std::time(nullptr)) {}

  bool verify_bytes(const std::string& bytes) {
    auto msg = codec::parse_message(bytes);
    if (!msg) return set_error("parse: " + msg.error().message);
    auth::dkim::VerifyResult r = run_sync(io_, verifier_.verify(*msg, resolver_, clock_));
    if (r.summary() != auth::dkim::Verdict::pass) {
      return set_error(std::string(auth::dkim::to_string(r.summary())) +
                       (r.signatures.empty() ? "" : " (" + r.signatures.front().reason + ")"));
    }
    return true;
  }
  bool set_error(std::string e) {
    last_error_ = std::move(e);
    return false;
  }

  std::string to_sign_;
  std::string to_verify_;
  dns::FakeResolver resolver_;
  FixedClock clock_;
  asio::io_context io_;
  auth::dkim::Verifier verifier_;
  std::optional<auth::dkim::Signer> signer_;
  std::string last_error_;
};

}  // namespace mxsec::bench

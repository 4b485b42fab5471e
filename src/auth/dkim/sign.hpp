// auth/dkim/sign.hpp: DKIM signing (RFC 6376 §5, RFC 8463).
//
// Contract
// - A Signer is built once from a private key (PEM: PKCS#8 or traditional
//   RSA; or a base64 Ed25519 seed as dkimpy writes it) and reused for every
//   message; the key is parsed only at construction. It is immutable after
//   construction, so one Signer may be shared by threads: the OpenSSL
//   contexts prepared at construction are only read (duplicated) by sign().
// - sign() returns the folded DKIM-Signature field, ending in CRLF, to be
//   prepended to the message. The message must be in SMTP CRLF form.
// - Defaults: c=relaxed/relaxed, t= included, no x=, never l= (a body-length
//   limit leaves content unsigned). The header list over-signs From, To,
//   Subject, Date and Content-Type: each name appears once more than it
//   occurs, so a copy added later breaks the signature (RFC 6376 §8.15); the
//   other usual fields are signed as often as they occur.
// - Errors: RSA keys below 1024 bits (RFC 8301 §3.2: "Signers MUST use RSA
//   keys of at least 1024 bits"), unsupported key types, a message without
//   From (RFC 6376 §5.4: "The From header field MUST be signed").
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim/key.hpp"
#include "auth/dkim/signature.hpp"
#include "codec/message.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"

namespace mxsec::auth::dkim {

struct SignerConfig {
  std::string domain;    // d=
  std::string selector;  // s=
  std::string identity;  // i=, empty: omitted (defaults to "@d")
  Canon header_canon = Canon::relaxed;
  Canon body_canon = Canon::relaxed;
  bool include_timestamp = true;              // t=
  std::optional<std::int64_t> expire_after;   // x = t + expire_after seconds
  std::vector<std::string> oversigned = {"from", "to", "subject", "date", "content-type"};
  std::vector<std::string> signed_if_present = {"cc",          "reply-to",   "message-id",
                                                "in-reply-to", "references", "mime-version",
                                                "content-transfer-encoding", "sender",
                                                "list-id",     "list-unsubscribe", "list-unsubscribe-post"};
};

class Signer {
 public:
  // Detects PEM ("-----BEGIN") or a base64 32-byte Ed25519 seed.
  static Result<Signer> from_key_bytes(std::string_view key, SignerConfig config);
  static Result<Signer> from_pem(std::string_view pem, SignerConfig config);
  static Result<Signer> from_ed25519_seed(std::string_view seed32, SignerConfig config);

  Result<std::string> sign(const codec::Message& message, const Clock& clock) const;

  Algorithm algorithm() const { return algorithm_; }
  KeyType key_type() const { return algorithm_ == Algorithm::rsa_sha256 ? KeyType::rsa : KeyType::ed25519; }
  const SignerConfig& config() const { return config_; }
  // p= for the key record of this key (SubjectPublicKeyInfo for RSA, raw 32
  // bytes for Ed25519), base64.
  Result<std::string> public_key_b64() const;

 private:
  static Result<Signer> from_pkey(std::shared_ptr<EVP_PKEY> pkey, SignerConfig config);
  Result<std::string> sign_data(std::string_view data) const;

  std::shared_ptr<EVP_PKEY> pkey_;
  // Prepared once; sign() signs with a per-call duplicate, never with these,
  // so concurrent sign() calls do not share mutable OpenSSL state.
  std::shared_ptr<const EVP_PKEY_CTX> rsa_ctx_;    // EVP_PKEY_sign_init, PKCS#1 v1.5, SHA-256
  std::shared_ptr<const EVP_MD_CTX> ed25519_ctx_;  // EVP_DigestSignInit, pure Ed25519
  Algorithm algorithm_ = Algorithm::rsa_sha256;
  SignerConfig config_;
};

}  // namespace mxsec::auth::dkim

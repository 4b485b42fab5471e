// auth/dkim/key.hpp: DKIM key records (RFC 6376 §3.6.1, RFC 8463 §4.2) and
// the public keys they carry.
//
// Contract
// - parse_key_record() checks the tag list of one TXT record and returns its
//   meaning, or an Error whose message is the precise reason; every error is
//   a permerror for the signature that needed the key (RFC 6376 §6.1.2,
//   "PERMFAIL (key syntax error)" and friends).
// - An empty p= is not an error: `revoked` is set. RFC 6376 §3.6.1: "An
//   empty value means that this public key has been revoked." The verifier
//   reports it as `fail` with reason "key revoked (empty p=)".
// - PublicKey::load() turns the p= bytes into an OpenSSL key: RSA from
//   SubjectPublicKeyInfo DER, or from a bare RSAPublicKey (PKCS#1), which
//   RFC 6376 §3.6.1 does not allow but deployed records use (mail-auth 002);
//   Ed25519 from the raw 32 bytes (RFC 8463 §4.2). RSA sizes outside
//   [min_rsa_bits, max_rsa_bits] are refused (RFC 8301 §3.2: "Verifiers MUST
//   be able to validate signatures with keys ranging from 1024 bits to 4096
//   bits ... Signers MUST use RSA keys of at least 1024 bits"). The loaded
//   key is immutable and may be shared.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "auth/dkim/signature.hpp"
#include "core/limits.hpp"
#include "core/result.hpp"
#include "tls/handles.hpp"

namespace mxsec::auth::dkim {

enum class KeyType { rsa, ed25519 };
const char* to_string(KeyType k);

struct KeyRecord {
  KeyType type = KeyType::rsa;        // k=, default rsa
  std::string public_key;             // p=, decoded (empty when revoked)
  bool revoked = false;               // p= present and empty
  bool testing = false;               // t=y
  bool strict_identity = false;       // t=s: i= domain must equal d=
  bool sha256_allowed = true;         // h= absent, or lists sha256
};

Result<KeyRecord> parse_key_record(std::string_view text, std::size_t max_bytes = limits::kDkimKeyRecordBytes);

class PublicKey {
 public:
  static Result<PublicKey> load(const KeyRecord& record, int min_rsa_bits = limits::kDkimMinRsaBits,
                                int max_rsa_bits = limits::kDkimMaxRsaBits);
  KeyType type() const { return type_; }
  int bits() const { return bits_; }
  EVP_PKEY* get() const { return pkey_.get(); }

 private:
  KeyType type_ = KeyType::rsa;
  int bits_ = 0;
  std::shared_ptr<EVP_PKEY> pkey_;
};

// Whether a key of this type can check a signature with this algorithm.
bool key_matches_algorithm(KeyType k, Algorithm a);

}  // namespace mxsec::auth::dkim

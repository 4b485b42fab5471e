// auth/dkim/keygen.hpp: DKIM key generation and key-record publishing.
//
// Contract
// - generate_key() makes an RSA (1024..4096 bits; 2048 recommended by RFC
//   8301 §3.2) or Ed25519 key pair with OpenSSL and returns the private key
//   as PKCS#8 PEM and the key record's p= value: SubjectPublicKeyInfo DER in
//   base64 for RSA (RFC 6376 §3.6.1), the raw 32-byte key in base64 for
//   Ed25519 (RFC 8463 §4.2).
// - write_private_key() creates the file with O_CREAT|O_EXCL|O_NOFOLLOW, mode
//   0600, writes and fsyncs it; an existing file is never overwritten.
// - zone_record() gives the zone-file line, the TXT value split into
//   character-strings of at most 255 octets (RFC 1035 §3.3.14).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "auth/dkim/key.hpp"
#include "core/result.hpp"

namespace mxsec::auth::dkim {

struct GeneratedKey {
  KeyType type = KeyType::rsa;
  int bits = 0;
  std::string private_pem;
  std::string public_b64;  // p=
};

Result<GeneratedKey> generate_key(KeyType type, int bits = 2048);
// p= of a key pair's public half (see above); errors for other key types.
Result<std::string> public_key_b64(EVP_PKEY* pkey);
Result<void> write_private_key(const std::string& path, std::string_view pem);

// "v=DKIM1; k=rsa; p=..."
std::string key_record_text(KeyType type, std::string_view public_b64);
// Splits a TXT value into character-strings of at most `max` octets.
std::vector<std::string> split_txt_strings(std::string_view text, std::size_t max = 255);
// `sel._domainkey.example.com. IN TXT ( "v=DKIM1; ..." "..." )`
std::string zone_record(std::string_view selector, std::string_view domain, std::string_view record_text);

}  // namespace mxsec::auth::dkim

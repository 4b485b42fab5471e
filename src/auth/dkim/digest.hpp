// auth/dkim/digest.hpp: SHA-256 for DKIM's body and header hashes.
//
// Internal to the dkim module (not part of dkim.hpp). The OpenSSL handles
// themselves are tls/handles.hpp's.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace mxsec::auth::dkim {

// SHA-256 fetched from the default provider once per process (thread-safe
// first use). EVP_sha256() would make every EVP_DigestInit_ex/DigestSignInit
// repeat an implicit fetch (a locked name lookup); a fetched EVP_MD does not.
// Null only when the provider has no SHA-256. Never freed before exit.
const EVP_MD* sha256_md();

// SHA-256 of `data` (32 bytes); empty on an OpenSSL failure.
std::string sha256(std::string_view data);

// SHA-256 of `data` into out[32] with a caller-owned context (reset and
// reused, so no allocation per call). False on an OpenSSL failure.
bool sha256(EVP_MD_CTX* ctx, std::string_view data, unsigned char* out);

}  // namespace mxsec::auth::dkim

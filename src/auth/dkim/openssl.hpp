// auth/dkim/openssl.hpp: owning handles for the OpenSSL objects DKIM uses.
//
// Internal to the dkim module (not part of dkim.hpp). Every handle is wrapped
// in a unique_ptr on the line that acquires it (STYLE.md "Resources").
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>

#include <memory>
#include <string>
#include <string_view>

namespace mxsec::auth::dkim::ossl {

struct PkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct MdCtxFree { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct PkeyCtxFree { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free(p); } };
struct MdFree { void operator()(EVP_MD* p) const { EVP_MD_free(p); } };

using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using PkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdPtr = std::unique_ptr<EVP_MD, MdFree>;

// The oldest queued OpenSSL error as text, and the queue cleared (so one
// failure cannot leak into the next operation's report).
std::string last_error();

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

}  // namespace mxsec::auth::dkim::ossl

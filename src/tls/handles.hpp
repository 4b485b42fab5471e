// tls/handles.hpp: OpenSSL handles owned by std::unique_ptr from acquisition,
// the one set for every module (TLS, DANE, DKIM).
//
// Contract: each alias frees its object with the matching OpenSSL free
// function; a null pointer is never freed. openssl_error_text() drains the
// calling thread's OpenSSL error queue into one line ("" if it was empty), so
// an error message names what OpenSSL reported and the queue does not leak
// into a later, unrelated operation.
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <memory>
#include <string>

namespace mxsec::tls {

struct SslCtxFree { void operator()(SSL_CTX* p) const { SSL_CTX_free(p); } };
struct SslFree { void operator()(SSL* p) const { SSL_free(p); } };
struct X509Free { void operator()(X509* p) const { X509_free(p); } };
struct X509StoreFree { void operator()(X509_STORE* p) const { X509_STORE_free(p); } };
struct X509StoreCtxFree { void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); } };
struct X509StackFree { void operator()(STACK_OF(X509)* p) const { sk_X509_pop_free(p, X509_free); } };
struct EvpPkeyFree { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct EvpPkeyCtxFree { void operator()(EVP_PKEY_CTX* p) const { EVP_PKEY_CTX_free(p); } };
struct EvpMdCtxFree { void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); } };
struct EvpMdFree { void operator()(EVP_MD* p) const { EVP_MD_free(p); } };
struct BioFree { void operator()(BIO* p) const { BIO_free_all(p); } };
struct OpenSslFree { void operator()(void* p) const { OPENSSL_free(p); } };

using SslCtxPtr = std::unique_ptr<SSL_CTX, SslCtxFree>;
using SslPtr = std::unique_ptr<SSL, SslFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using X509StorePtr = std::unique_ptr<X509_STORE, X509StoreFree>;
using X509StoreCtxPtr = std::unique_ptr<X509_STORE_CTX, X509StoreCtxFree>;
using X509StackPtr = std::unique_ptr<STACK_OF(X509), X509StackFree>;
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, EvpPkeyFree>;
using EvpPkeyCtxPtr = std::unique_ptr<EVP_PKEY_CTX, EvpPkeyCtxFree>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, EvpMdCtxFree>;
using EvpMdPtr = std::unique_ptr<EVP_MD, EvpMdFree>;  // from EVP_MD_fetch
using BioPtr = std::unique_ptr<BIO, BioFree>;

// Drains the thread's OpenSSL error queue into "reason; reason; ...".
std::string openssl_error_text();

}  // namespace mxsec::tls

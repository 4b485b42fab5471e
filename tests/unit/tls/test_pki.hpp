// Test helper: certificates made at test time with the OpenSSL API, and an
// in-memory TLS handshake over a BIO pair (no sockets).
#pragma once

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "tls/handles.hpp"

namespace mxsec::test {

struct KeyCert {
  tls::EvpPkeyPtr key;
  tls::X509Ptr cert;
};

inline tls::EvpPkeyPtr make_ec_key() {
  tls::EvpPkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) throw std::runtime_error("keygen failed");
  return key;
}

struct CertSpec {
  std::string cn;
  std::vector<std::string> dns;  // subjectAltName dNSNames ("IP:ADDRESS": an iPAddress)
  bool ca = false;
  long not_before = -3600;       // seconds relative to now
  long not_after = 86400;
};

inline void add_ext(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  if (!ext) throw std::runtime_error("extension failed: " + value);
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

// Signs with `issuer` (nullptr: self-signed with the new key).
inline KeyCert make_cert(const CertSpec& spec, const KeyCert* issuer) {
  KeyCert out{make_ec_key(), tls::X509Ptr(X509_new())};
  X509* x = out.cert.get();
  X509_set_version(x, 2);
  unsigned char serial[8];
  RAND_bytes(serial, sizeof serial);
  serial[0] &= 0x7f;
  BIGNUM* bn = BN_bin2bn(serial, sizeof serial, nullptr);
  BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x));
  BN_free(bn);
  X509_gmtime_adj(X509_getm_notBefore(x), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x), spec.not_after);
  X509_set_pubkey(x, out.key.get());
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1,
                             -1, 0);
  X509* issuer_cert = issuer ? issuer->cert.get() : x;
  X509_set_issuer_name(x, X509_get_subject_name(issuer_cert));
  add_ext(x, issuer_cert, NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE");
  add_ext(x, issuer_cert, NID_key_usage,
          spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature,keyEncipherment");
  add_ext(x, issuer_cert, NID_subject_key_identifier, "hash");
  if (issuer) add_ext(x, issuer_cert, NID_authority_key_identifier, "keyid:always");
  if (!spec.ca) add_ext(x, issuer_cert, NID_ext_key_usage, "serverAuth");
  if (!spec.dns.empty()) {
    std::string san;
    // "IP:192.0.2.1" is an iPAddress name, anything else a dNSName.
    for (const auto& d : spec.dns) san += (san.empty() ? "" : ",") + (d.rfind("IP:", 0) == 0 ? d : "DNS:" + d);
    add_ext(x, issuer_cert, NID_subject_alt_name, san);
  }
  if (X509_sign(x, issuer ? issuer->key.get() : out.key.get(), EVP_sha256()) <= 0)
    throw std::runtime_error("X509_sign failed");
  return out;
}

inline std::string to_pem(X509* cert) {
  tls::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_X509(bio.get(), cert);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

inline std::string key_to_pem(EVP_PKEY* key) {
  tls::BioPtr bio(BIO_new(BIO_s_mem()));
  PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(n));
}

// A file under TMPDIR that is removed when the object goes away.
class TempFile {
 public:
  explicit TempFile(const std::string& content) {
    const char* dir = std::getenv("TMPDIR");
    path_ = std::string(dir ? dir : "/tmp") + "/mxsec-test-XXXXXX";
    int fd = mkstemp(path_.data());
    if (fd < 0) throw std::runtime_error("mkstemp failed");
    if (write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size()))
      throw std::runtime_error("write failed");
    close(fd);
  }
  ~TempFile() { unlink(path_.c_str()); }
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A server SSL_CTX presenting `leaf` (plus `extra` chain certificates).
inline tls::SslCtxPtr make_server_context(const KeyCert& leaf, const std::vector<const KeyCert*>& extra = {}) {
  tls::SslCtxPtr ctx(SSL_CTX_new(TLS_server_method()));
  SSL_CTX_use_certificate(ctx.get(), leaf.cert.get());
  SSL_CTX_use_PrivateKey(ctx.get(), leaf.key.get());
  for (const KeyCert* c : extra) SSL_CTX_add1_chain_cert(ctx.get(), c->cert.get());
  return ctx;
}

// Runs the handshake between two SSLs joined by a BIO pair. Returns true if
// both sides finished.
inline bool memory_handshake(SSL* client, SSL* server) {
  BIO* cb = nullptr;
  BIO* sb = nullptr;
  BIO_new_bio_pair(&cb, 0, &sb, 0);
  SSL_set_bio(client, cb, cb);
  SSL_set_bio(server, sb, sb);
  SSL_set_connect_state(client);
  SSL_set_accept_state(server);
  bool client_done = false, server_done = false;
  for (int round = 0; round < 100 && !(client_done && server_done); ++round) {
    if (!client_done) {
      int rc = SSL_do_handshake(client);
      if (rc == 1) client_done = true;
      else if (SSL_get_error(client, rc) != SSL_ERROR_WANT_READ) return false;
    }
    if (!server_done) {
      int rc = SSL_do_handshake(server);
      if (rc == 1) server_done = true;
      else if (SSL_get_error(server, rc) != SSL_ERROR_WANT_READ) return false;
    }
  }
  return client_done && server_done;
}

}  // namespace mxsec::test

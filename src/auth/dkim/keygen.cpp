#include "auth/dkim/keygen.hpp"

#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "auth/dkim/digest.hpp"
#include "codec/base64.hpp"
#include "core/file.hpp"
#include "core/unique_fd.hpp"
#include "core/strings.hpp"
#include "tls/handles.hpp"

namespace mxsec::auth::dkim {

Result<std::string> public_key_b64(EVP_PKEY* pkey) {
  const int id = EVP_PKEY_get_base_id(pkey);
  if (id == EVP_PKEY_ED25519) {
    unsigned char raw[32];
    std::size_t len = sizeof raw;
    if (EVP_PKEY_get_raw_public_key(pkey, raw, &len) != 1 || len != 32)
      return make_error(Errc::crypto, "Ed25519 public key: " + tls::openssl_error_text());
    return codec::encode_base64(std::string_view(reinterpret_cast<const char*>(raw), len));
  }
  if (id != EVP_PKEY_RSA) return make_error(Errc::unsupported, "key is neither RSA nor Ed25519");
  const int len = i2d_PUBKEY(pkey, nullptr);
  if (len <= 0) return make_error(Errc::crypto, "RSA public key: " + tls::openssl_error_text());
  std::string der(static_cast<std::size_t>(len), '\0');
  auto* p = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_PUBKEY(pkey, &p) != len) return make_error(Errc::crypto, "RSA public key: " + tls::openssl_error_text());
  return codec::encode_base64(der);
}

Result<GeneratedKey> generate_key(KeyType type, int bits) {
  GeneratedKey out;
  out.type = type;
  tls::EvpPkeyPtr pkey;
  if (type == KeyType::rsa) {
    // RFC 8301 §3.2: "Signers MUST use RSA keys of at least 1024 bits ... and
    // SHOULD use RSA keys of at least 2048 bits."
    if (bits < 1024 || bits > 4096)
      return make_error(Errc::invalid_argument, "RSA key size must be 1024..4096 bits (2048 recommended)");
    pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<std::size_t>(bits)));
    out.bits = bits;
  } else {
    pkey.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    out.bits = 256;
  }
  if (!pkey) return make_error(Errc::crypto, "key generation failed: " + tls::openssl_error_text());
  tls::BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
    return make_error(Errc::crypto, "PEM encoding failed: " + tls::openssl_error_text());
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  out.private_pem.assign(data, static_cast<std::size_t>(n));
  auto pub = public_key_b64(pkey.get());
  if (!pub) return pub.error();
  out.public_b64 = std::move(*pub);
  return out;
}

Result<void> write_private_key(const std::string& path, std::string_view pem) {
  const UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return make_error(Errc::io, "cannot create " + path + ": " + std::strerror(errno));
  if (auto ok = write_all(fd.get(), pem, path); !ok) return ok;
  if (::fsync(fd.get()) != 0) return make_error(Errc::io, "cannot fsync " + path + ": " + std::strerror(errno));
  return {};
}

std::string key_record_text(KeyType type, std::string_view public_b64) {
  return std::string("v=DKIM1; k=") + to_string(type) + "; p=" + std::string(public_b64);
}

std::vector<std::string> split_txt_strings(std::string_view text, std::size_t max) {
  std::vector<std::string> out;
  if (max == 0) max = 255;
  for (std::size_t pos = 0; pos < text.size(); pos += max) out.emplace_back(text.substr(pos, max));
  if (out.empty()) out.emplace_back();
  return out;
}

std::string zone_record(std::string_view selector, std::string_view domain, std::string_view record_text) {
  std::string out = std::string(selector) + "._domainkey." + normalize_domain(domain) + ". IN TXT (";
  for (const std::string& s : split_txt_strings(record_text)) {
    out += " \"";
    for (char c : s) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += " )";
  return out;
}

}  // namespace mxsec::auth::dkim

#include "auth/dkim/digest.hpp"

#include "tls/handles.hpp"

namespace mxsec::auth::dkim {

const EVP_MD* sha256_md() {
  // A function-local static: initialised once, thread-safe. Its destructor
  // is registered after OpenSSL's own atexit clean-up (OpenSSL initialises
  // itself inside the first fetch), so it runs before that clean-up.
  static const tls::EvpMdPtr md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
  return md.get();
}

std::string sha256(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  const EVP_MD* alg = sha256_md();
  if (!alg || EVP_Digest(data.data(), data.size(), md, &len, alg, nullptr) != 1) return {};
  return std::string(reinterpret_cast<const char*>(md), len);
}

bool sha256(EVP_MD_CTX* ctx, std::string_view data, unsigned char* out) {
  const EVP_MD* alg = sha256_md();
  unsigned int len = 0;
  return alg && EVP_DigestInit_ex2(ctx, alg, nullptr) == 1 && EVP_DigestUpdate(ctx, data.data(), data.size()) == 1 &&
         EVP_DigestFinal_ex(ctx, out, &len) == 1 && len == 32;
}

}  // namespace mxsec::auth::dkim

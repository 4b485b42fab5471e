#include "auth/dkim/sign.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <openssl/rsa.h>

#include "auth/dkim/canon.hpp"
#include "auth/dkim/digest.hpp"
#include "auth/dkim/header_index.hpp"
#include "auth/dkim/keygen.hpp"
#include "codec/base64.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"
#include "tls/handles.hpp"

namespace mxsec::auth::dkim {
namespace {

constexpr std::string_view kFieldName = "DKIM-Signature";
constexpr std::size_t kLineWidth = 76;

}  // namespace

Result<Signer> Signer::from_pkey(std::shared_ptr<EVP_PKEY> pkey, SignerConfig config) {
  if (!is_valid_domain_name(config.domain))
    return make_error(Errc::invalid_argument, "signing domain is not a domain name: " + escape_for_log(config.domain, 80));
  if (!is_valid_domain_name(config.selector))
    return make_error(Errc::invalid_argument, "selector is not valid: " + escape_for_log(config.selector, 80));
  config.domain = normalize_domain(config.domain);
  config.selector = normalize_domain(config.selector);
  if (!config.identity.empty()) {
    const std::size_t at = config.identity.rfind('@');
    if (at == std::string::npos || !is_subdomain_of(config.identity.substr(at + 1), config.domain))
      return make_error(Errc::invalid_argument, "i= must be an address at d= or a subdomain of it");
  }
  Signer s;
  const EVP_MD* md = sha256_md();
  if (!md) return make_error(Errc::crypto, "SHA-256 unavailable: " + tls::openssl_error_text());
  const int id = EVP_PKEY_get_base_id(pkey.get());
  if (id == EVP_PKEY_RSA) {
    const int bits = EVP_PKEY_get_bits(pkey.get());
    if (bits < limits::kDkimMinRsaBits)
      return make_error(Errc::invalid_argument, "RSA key " + std::to_string(bits) + " bits < " +
                                                    std::to_string(limits::kDkimMinRsaBits) + " (RFC 8301)");
    if (bits > limits::kDkimMaxRsaBits)
      return make_error(Errc::limit, "RSA key " + std::to_string(bits) + " bits > limit " +
                                         std::to_string(limits::kDkimMaxRsaBits));
    s.algorithm_ = Algorithm::rsa_sha256;
    // RSASSA-PKCS1-v1_5 with SHA-256 (RFC 6376 §3.3.1): sign() hashes the
    // header data itself and signs the digest with EVP_PKEY_sign, which
    // adds the SHA-256 DigestInfo as EVP_DigestSign would.
    tls::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
    if (!ctx || EVP_PKEY_sign_init(ctx.get()) != 1 || EVP_PKEY_CTX_set_rsa_padding(ctx.get(), RSA_PKCS1_PADDING) != 1 ||
        EVP_PKEY_CTX_set_signature_md(ctx.get(), md) != 1)
      return make_error(Errc::crypto, "sign init: " + tls::openssl_error_text());
    s.rsa_ctx_ = std::shared_ptr<const EVP_PKEY_CTX>(ctx.release(), tls::EvpPkeyCtxFree{});
  } else if (id == EVP_PKEY_ED25519) {
    s.algorithm_ = Algorithm::ed25519_sha256;
    tls::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, pkey.get()) != 1)
      return make_error(Errc::crypto, "sign init: " + tls::openssl_error_text());
    s.ed25519_ctx_ = std::shared_ptr<const EVP_MD_CTX>(ctx.release(), tls::EvpMdCtxFree{});
  } else {
    return make_error(Errc::unsupported, "private key is neither RSA nor Ed25519");
  }
  s.pkey_ = std::move(pkey);
  s.config_ = std::move(config);
  return s;
}

Result<Signer> Signer::from_pem(std::string_view pem, SignerConfig config) {
  if (pem.size() > 64 * 1024) return make_error(Errc::limit, "private key file larger than 64 KiB");
  tls::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error(Errc::crypto, tls::openssl_error_text());
  tls::EvpPkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return make_error(Errc::parse, "cannot read private key PEM: " + tls::openssl_error_text());
  return from_pkey(std::shared_ptr<EVP_PKEY>(pkey.release(), tls::EvpPkeyFree{}), std::move(config));
}

Result<Signer> Signer::from_ed25519_seed(std::string_view seed32, SignerConfig config) {
  if (seed32.size() != 32) return make_error(Errc::parse, "Ed25519 seed must be 32 bytes");
  tls::EvpPkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                  reinterpret_cast<const unsigned char*>(seed32.data()), 32));
  if (!pkey) return make_error(Errc::crypto, "Ed25519 seed rejected: " + tls::openssl_error_text());
  return from_pkey(std::shared_ptr<EVP_PKEY>(pkey.release(), tls::EvpPkeyFree{}), std::move(config));
}

Result<Signer> Signer::from_key_bytes(std::string_view key, SignerConfig config) {
  if (key.find("-----BEGIN") != std::string_view::npos) return from_pem(key, std::move(config));
  auto seed = codec::decode_base64(trim(key));
  if (!seed || seed->size() != 32)
    return make_error(Errc::parse, "key is neither PEM nor a base64 32-byte Ed25519 seed");
  return from_ed25519_seed(*seed, std::move(config));
}

Result<std::string> Signer::public_key_b64() const { return dkim::public_key_b64(pkey_.get()); }

Result<std::string> Signer::sign_data(std::string_view data) const {
  // Both algorithms sign the SHA-256 hash of the header data: RSA through
  // the DigestInfo of RSASSA-PKCS1-v1_5, Ed25519 directly (RFC 8463 §3:
  // "computes a message hash as defined in Section 3 of [RFC6376] using
  // SHA-256 as the hash-alg. It signs the hash with the PureEdDSA variant
  // Ed25519").
  unsigned char digest[32];
  {
    tls::EvpMdCtxPtr md_ctx(EVP_MD_CTX_new());
    if (!md_ctx || !sha256(md_ctx.get(), data, digest))
      return make_error(Errc::crypto, "header hash: " + tls::openssl_error_text());
  }
  std::string sig;
  std::size_t len = 0;
  if (algorithm_ == Algorithm::rsa_sha256) {
    // A duplicate per call: the prepared context is shared by every thread.
    tls::EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_dup(rsa_ctx_.get()));
    if (!ctx || EVP_PKEY_sign(ctx.get(), nullptr, &len, digest, sizeof digest) != 1)
      return make_error(Errc::crypto, "sign: " + tls::openssl_error_text());
    sig.resize(len);
    if (EVP_PKEY_sign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, digest, sizeof digest) != 1)
      return make_error(Errc::crypto, "sign: " + tls::openssl_error_text());
  } else {
    tls::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_MD_CTX_copy_ex(ctx.get(), ed25519_ctx_.get()) != 1)
      return make_error(Errc::crypto, "sign init: " + tls::openssl_error_text());
    len = 64;  // RFC 8032 §5.1.6: an Ed25519 signature is 64 octets
    sig.resize(len);
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, digest, sizeof digest) != 1)
      return make_error(Errc::crypto, "sign: " + tls::openssl_error_text());
  }
  sig.resize(len);
  return sig;
}

Result<std::string> Signer::sign(const codec::Message& message, const Clock& clock) const {
  // Count the fields we may sign, and index them for bottom-up selection.
  const detail::HeaderIndex index(message.headers);
  if (index.count("from") == 0)
    return make_error(Errc::invalid_argument, "message has no From field (RFC 6376 §5.4: From MUST be signed)");

  std::vector<std::string_view> names;
  for (const std::string& n : config_.oversigned) {
    const std::size_t count = index.count(n);
    for (std::size_t k = 0; k <= count; ++k) names.push_back(n);
  }
  for (const std::string& n : config_.signed_if_present) {
    const std::size_t count = index.count(n);
    for (std::size_t k = 0; k < count; ++k) names.push_back(n);
  }
  if (names.size() > static_cast<std::size_t>(limits::kDkimSignedHeaders))
    return make_error(Errc::limit, "more than " + std::to_string(limits::kDkimSignedHeaders) + " fields to sign");

  BodyHasher body;
  canonicalize_body(message.body, config_.body_canon, body);
  const std::string bh = body.finish();
  if (bh.size() != 32) return make_error(Errc::crypto, "body hash: " + tls::openssl_error_text());

  std::string value = std::string("v=1; a=") + to_string(algorithm_) + "; c=" + to_string(config_.header_canon) + "/" +
                      to_string(config_.body_canon) + "; d=" + config_.domain + "; s=" + config_.selector + ";";
  if (!config_.identity.empty()) value += " i=" + config_.identity + ";";
  const std::int64_t now = clock.now();
  if (config_.include_timestamp) value += " t=" + std::to_string(now) + ";";
  if (config_.expire_after) value += " x=" + std::to_string(now + *config_.expire_after) + ";";
  value += " h=";
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i) value += ':';
    value += names[i];
  }
  value += "; bh=" + codec::encode_base64(bh) + "; b=";

  std::string field = codec::fold_header(kFieldName, value);
  field.resize(field.size() - 2);  // drop CRLF: b= is appended below

  // RFC 6376 §3.7: hash the signed fields (bottom-up instances), then this
  // field with an empty b= and no trailing CRLF.
  std::string data;
  data.reserve(1024);
  detail::Selector select(index, names.size());
  for (std::string_view name : names) {
    const std::size_t i = select.next(name);
    if (i == detail::HeaderIndex::npos) continue;  // an over-signed name
    const codec::HeaderField& f = message.headers[i];
    canonicalize_header(f.name, f.value, f.raw, config_.header_canon, data);
  }
  if (config_.header_canon == Canon::simple) {
    data.append(field);
  } else {
    canonicalize_header(kFieldName, std::string_view(field).substr(kFieldName.size() + 1), {}, Canon::relaxed, data);
    data.resize(data.size() - 2);
  }
  auto sig = sign_data(data);
  if (!sig) return sig.error();

  // Wrap b= so no line passes kLineWidth (continuation lines start with TAB).
  const std::string b64 = codec::encode_base64(*sig);
  std::size_t line_len = field.size() - (field.rfind('\n') == std::string::npos ? 0 : field.rfind('\n') + 1);
  std::size_t pos = 0;
  while (pos < b64.size()) {
    if (line_len >= kLineWidth) {
      field += "\r\n\t";
      line_len = 1;
    }
    const std::size_t take = std::min(b64.size() - pos, kLineWidth - line_len);
    field.append(b64, pos, take);
    pos += take;
    line_len += take;
  }
  field += "\r\n";
  return field;
}

}  // namespace mxsec::auth::dkim

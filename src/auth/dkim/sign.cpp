#include "auth/dkim/sign.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <unordered_map>

#include "auth/dkim/canon.hpp"
#include "auth/dkim/keygen.hpp"
#include "auth/dkim/openssl.hpp"
#include "codec/base64.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"

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
  } else if (id == EVP_PKEY_ED25519) {
    s.algorithm_ = Algorithm::ed25519_sha256;
  } else {
    return make_error(Errc::unsupported, "private key is neither RSA nor Ed25519");
  }
  s.pkey_ = std::move(pkey);
  s.config_ = std::move(config);
  return s;
}

Result<Signer> Signer::from_pem(std::string_view pem, SignerConfig config) {
  if (pem.size() > 64 * 1024) return make_error(Errc::limit, "private key file larger than 64 KiB");
  ossl::BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return make_error(Errc::crypto, ossl::last_error());
  ossl::PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!pkey) return make_error(Errc::parse, "cannot read private key PEM: " + ossl::last_error());
  return from_pkey(std::shared_ptr<EVP_PKEY>(pkey.release(), ossl::PkeyFree{}), std::move(config));
}

Result<Signer> Signer::from_ed25519_seed(std::string_view seed32, SignerConfig config) {
  if (seed32.size() != 32) return make_error(Errc::parse, "Ed25519 seed must be 32 bytes");
  ossl::PkeyPtr pkey(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                  reinterpret_cast<const unsigned char*>(seed32.data()), 32));
  if (!pkey) return make_error(Errc::crypto, "Ed25519 seed rejected: " + ossl::last_error());
  return from_pkey(std::shared_ptr<EVP_PKEY>(pkey.release(), ossl::PkeyFree{}), std::move(config));
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
  ossl::MdCtxPtr ctx(EVP_MD_CTX_new());
  if (!ctx) return make_error(Errc::crypto, ossl::last_error());
  std::string digest;
  const EVP_MD* md = EVP_sha256();
  if (algorithm_ == Algorithm::ed25519_sha256) {
    // RFC 8463 §3: Ed25519 signs the SHA-256 hash of the header data.
    digest = ossl::sha256(data);
    if (digest.empty()) return make_error(Errc::crypto, ossl::last_error());
    data = digest;
    md = nullptr;
  }
  if (EVP_DigestSignInit(ctx.get(), nullptr, md, nullptr, pkey_.get()) != 1)
    return make_error(Errc::crypto, "sign init: " + ossl::last_error());
  std::size_t len = 0;
  const auto* in = reinterpret_cast<const unsigned char*>(data.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &len, in, data.size()) != 1)
    return make_error(Errc::crypto, "sign: " + ossl::last_error());
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, in, data.size()) != 1)
    return make_error(Errc::crypto, "sign: " + ossl::last_error());
  sig.resize(len);
  return sig;
}

Result<std::string> Signer::sign(const codec::Message& message, const Clock& clock) const {
  // Count the fields we may sign, and index them for bottom-up selection.
  std::unordered_map<std::string, std::vector<std::size_t>> index;
  for (std::size_t i = 0; i < message.headers.size(); ++i) index[to_lower(message.headers[i].name)].push_back(i);
  if (!index.count("from"))
    return make_error(Errc::invalid_argument, "message has no From field (RFC 6376 §5.4: From MUST be signed)");

  std::vector<std::string> names;
  for (const std::string& n : config_.oversigned) {
    auto it = index.find(n);
    const std::size_t count = it == index.end() ? 0 : it->second.size();
    for (std::size_t k = 0; k <= count; ++k) names.push_back(n);
  }
  for (const std::string& n : config_.signed_if_present) {
    auto it = index.find(n);
    if (it == index.end()) continue;
    for (std::size_t k = 0; k < it->second.size(); ++k) names.push_back(n);
  }
  if (names.size() > static_cast<std::size_t>(limits::kDkimSignedHeaders))
    return make_error(Errc::limit, "more than " + std::to_string(limits::kDkimSignedHeaders) + " fields to sign");

  BodyHasher body;
  canonicalize_body(message.body, config_.body_canon, body);
  const std::string bh = body.finish();
  if (bh.size() != 32) return make_error(Errc::crypto, "body hash: " + ossl::last_error());

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
  std::unordered_map<std::string_view, std::size_t> used;
  for (const std::string& name : names) {
    std::size_t& n = used[name];
    auto it = index.find(name);
    if (it == index.end() || n >= it->second.size()) continue;
    const codec::HeaderField& f = message.headers[it->second[it->second.size() - 1 - n]];
    ++n;
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

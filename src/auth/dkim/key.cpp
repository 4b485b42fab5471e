#include "auth/dkim/key.hpp"

#include <openssl/err.h>
#include <openssl/x509.h>

#include "codec/base64.hpp"
#include "codec/tag_list.hpp"
#include "core/strings.hpp"

namespace mxsec::auth::dkim {
namespace {

std::string_view trim_ws(std::string_view s) { return trim(s); }

Error bad(std::string msg) { return make_error(Errc::parse, "key record: " + std::move(msg)); }

}  // namespace

const char* to_string(KeyType k) { return k == KeyType::rsa ? "rsa" : "ed25519"; }

bool key_matches_algorithm(KeyType k, Algorithm a) {
  return (k == KeyType::rsa && a == Algorithm::rsa_sha256) || (k == KeyType::ed25519 && a == Algorithm::ed25519_sha256);
}

Result<KeyRecord> parse_key_record(std::string_view text, std::size_t max_bytes) {
  if (text.size() > max_bytes)
    return make_error(Errc::limit, "key record: longer than " + std::to_string(max_bytes) + " bytes");
  auto parsed = codec::parse_tag_list(text);
  if (!parsed) return bad(parsed.error().message);
  const auto& tags = *parsed;
  KeyRecord rec;

  // RFC 6376 §3.6.1 v=: "If specified, this tag MUST be set to "DKIM1"
  // (without the quotes). This tag MUST be the first tag in the record.
  // Records beginning with a "v=" tag with any other value MUST be discarded."
  for (std::size_t i = 0; i < tags.size(); ++i) {
    if (tags[i].name != "v") continue;
    if (i != 0) return bad("v= is not the first tag");
    if (tags[i].value != "DKIM1") return bad("v= must be DKIM1, got " + escape_for_log(tags[i].value, 40));
  }

  if (auto k = codec::find_tag(tags, "k")) {
    if (*k == "rsa") rec.type = KeyType::rsa;
    else if (*k == "ed25519") rec.type = KeyType::ed25519;
    else return make_error(Errc::unsupported, "key record: unknown key type k=" + escape_for_log(*k, 40));
  }

  // h=: "Unrecognized algorithms MUST be ignored"; our algorithms all hash
  // with SHA-256, so sha256 must be listed when h= is present.
  if (auto h = codec::find_tag(tags, "h")) {
    rec.sha256_allowed = false;
    for (std::string_view alg : split(*h, ':'))
      if (trim_ws(alg) == "sha256") rec.sha256_allowed = true;
  }

  // s=: "Unrecognized service types MUST be ignored"; default "*".
  if (auto s = codec::find_tag(tags, "s")) {
    bool email = false;
    for (std::string_view st : split(*s, ':')) {
      const std::string_view t = trim_ws(st);
      if (t == "*" || t == "email") email = true;
    }
    if (!email) return make_error(Errc::unsupported, "key record: service type s=" + escape_for_log(*s, 40) + " excludes email");
  }

  if (auto t = codec::find_tag(tags, "t")) {
    for (std::string_view flag : split(*t, ':')) {
      const std::string_view f = trim_ws(flag);
      if (f == "y") rec.testing = true;
      else if (f == "s") rec.strict_identity = true;
      // "Unrecognized flags MUST be ignored."
    }
  }

  auto p = codec::find_tag(tags, "p");
  if (!p) return bad("missing required tag p=");
  // decode_base64 skips the folding whitespace itself; p= made only of it
  // is empty.
  if (p->find_first_not_of(" \t\r\n") == std::string_view::npos) {
    rec.revoked = true;
    return rec;
  }
  auto der = codec::decode_base64(*p);
  if (!der) return bad("p= is not valid base64 (" + der.error().message + ")");
  rec.public_key = std::move(*der);
  return rec;
}

Result<PublicKey> PublicKey::load(const KeyRecord& record, int min_rsa_bits, int max_rsa_bits) {
  if (record.revoked) return make_error(Errc::invalid_argument, "key revoked (empty p=)");
  const auto* data = reinterpret_cast<const unsigned char*>(record.public_key.data());
  const long len = static_cast<long>(record.public_key.size());
  PublicKey out;
  out.type_ = record.type;
  if (record.type == KeyType::ed25519) {
    // RFC 8463 §4.2: "the public key ... is the base64-encoded raw 32-octet
    // public key" (not SubjectPublicKeyInfo).
    if (record.public_key.size() != 32)
      return make_error(Errc::parse, "Ed25519 key is " + std::to_string(record.public_key.size()) +
                                         " bytes, RFC 8463 needs 32");
    tls::EvpPkeyPtr pkey(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, data, record.public_key.size()));
    if (!pkey) return make_error(Errc::crypto, "Ed25519 key rejected: " + tls::openssl_error_text());
    out.bits_ = 256;
    out.pkey_ = std::shared_ptr<EVP_PKEY>(pkey.release(), tls::EvpPkeyFree{});
    return out;
  }
  const unsigned char* cursor = data;
  tls::EvpPkeyPtr pkey(d2i_PUBKEY(nullptr, &cursor, len));
  if (!pkey || cursor != data + len) {
    // Deployed records sometimes carry a bare PKCS#1 RSAPublicKey.
    ERR_clear_error();
    cursor = data;
    pkey.reset(d2i_PublicKey(EVP_PKEY_RSA, nullptr, &cursor, len));
    if (!pkey || cursor != data + len) {
      ERR_clear_error();
      return make_error(Errc::parse, "p= is not an RSA SubjectPublicKeyInfo or RSAPublicKey");
    }
  }
  if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA)
    return make_error(Errc::parse, "p= holds a non-RSA key but k=rsa");
  out.bits_ = EVP_PKEY_get_bits(pkey.get());
  if (out.bits_ < min_rsa_bits)
    return make_error(Errc::invalid_argument, "RSA key " + std::to_string(out.bits_) + " bits < " +
                                                  std::to_string(min_rsa_bits) + " (RFC 8301)");
  if (out.bits_ > max_rsa_bits)
    return make_error(Errc::limit, "RSA key " + std::to_string(out.bits_) + " bits > limit " +
                                       std::to_string(max_rsa_bits));
  out.pkey_ = std::shared_ptr<EVP_PKEY>(pkey.release(), tls::EvpPkeyFree{});
  return out;
}

}  // namespace mxsec::auth::dkim

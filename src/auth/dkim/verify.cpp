#include "auth/dkim/verify.hpp"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/rsa.h>

#include <map>

#include "auth/dkim/canon.hpp"
#include "auth/dkim/digest.hpp"
#include "auth/dkim/header_index.hpp"
#include "core/strings.hpp"
#include "tls/handles.hpp"

namespace mxsec::auth::dkim {

// A key record that parsed and loaded, keyed by its text in the cache.
struct Verifier::CachedKey {
  KeyRecord record;  // public_key cleared: the key below holds it
  PublicKey key;
  // Prepared once per key. The Verifier is single-threaded, so the RSA
  // context is used directly (EVP_PKEY_verify may be repeated on it); the
  // Ed25519 one is copied per call, because a one-shot EVP_DigestVerify
  // finalises the context it runs on.
  tls::EvpPkeyCtxPtr rsa_verify;      // EVP_PKEY_verify_init, PKCS#1 v1.5, SHA-256
  tls::EvpMdCtxPtr ed25519_verify;    // EVP_DigestVerifyInit, pure Ed25519
};

namespace detail {

// The outcome of one key lookup, shared by the signatures that name the key.
struct FetchedKey {
  Verdict error_verdict = Verdict::pass;  // pass = no error
  std::string reason;
  dns::Security security = dns::Security::indeterminate;
  std::string text;  // joined TXT strings
};

struct BodyDigest {
  Canon canon;
  std::optional<std::uint64_t> limit;
  std::string digest;
  std::uint64_t canonical_length;
};

}  // namespace detail

namespace {

constexpr std::string_view kSignatureField = "dkim-signature";

using detail::BodyDigest;
using detail::FetchedKey;
using detail::HeaderIndex;

// The data that is hashed and signed (RFC 6376 §3.7): the h= fields, each
// instance taken from the bottom up, then the signature field itself with
// b= blanked and without its final CRLF. Written into `data` (cleared).
void header_hash_input(const codec::Message& msg, const HeaderIndex& index, const Signature& sig,
                       const codec::HeaderField& sig_field, std::string& data) {
  data.clear();
  detail::Selector select(index, sig.signed_headers.size());
  for (const std::string& name : sig.signed_headers) {
    // "nonexistent header fields do not contribute to the signature
    // computation" (§5.4): the name is simply skipped.
    const std::size_t i = select.next(name);
    if (i == HeaderIndex::npos) continue;
    const codec::HeaderField& f = msg.headers[i];
    canonicalize_header(f.name, f.value, f.raw, sig.header_canon, data);
  }
  const std::string_view v = sig_field.value;
  if (sig.header_canon == Canon::simple) {
    data.append(sig_field.raw.substr(0, static_cast<std::size_t>(v.data() - sig_field.raw.data())));
    data.append(v.substr(0, sig.b_delete_begin));
    data.append(v.substr(sig.b_delete_end));
  } else {
    canonicalize_header_relaxed(sig_field.name, {v.substr(0, sig.b_delete_begin), v.substr(sig.b_delete_end)}, data);
    data.resize(data.size() - 2);  // "without a trailing CRLF"
  }
}

// The key lookup's answer as a FetchedKey: a plain function, so a lookup
// costs one coroutine (the resolver's) rather than two.
FetchedKey to_fetched_key(const dns::TxtAnswer& answer, const std::string& name, const Config& config) {
  FetchedKey out;
  out.security = answer.security;
  // RFC 6376 §6.1.2: "If the query for the public key fails to respond, the
  // Verifier MAY seek a later verification attempt by returning TEMPFAIL (key
  // unavailable)." A DNSSEC-bogus answer must not be used at all.
  // A DNSSEC-bogus answer must not be used at all.
  if (answer.failed()) {
    out.error_verdict = Verdict::temperror;
    out.reason = "key record unavailable: " + dns::describe_failure("TXT " + name, answer);
    return out;
  }
  // "If the query for the public key fails because the corresponding key
  // record does not exist, the Verifier MUST immediately return PERMFAIL (no
  // key for signature)."
  if (answer.status == dns::Status::nxdomain || answer.status == dns::Status::nodata || answer.records.empty()) {
    out.error_verdict = Verdict::permerror;
    out.reason = std::string("no key for signature (") +
                 (answer.status == dns::Status::nxdomain ? "NXDOMAIN" : "NODATA") + " at " + name + ")";
    return out;
  }
  if (answer.records.size() > 1) {
    out.error_verdict = Verdict::permerror;
    out.reason = std::to_string(answer.records.size()) + " TXT records at " + name + " (RFC 6376 §3.6.2.2: undefined)";
    return out;
  }
  std::size_t total = 0;
  for (const auto& s : answer.records.front().strings) total += s.size();
  if (total > config.max_key_record_bytes) {
    out.error_verdict = Verdict::permerror;
    out.reason = "key record at " + name + " longer than " + std::to_string(config.max_key_record_bytes) + " bytes";
    return out;
  }
  out.text = answer.records.front().joined();
  return out;
}

SignatureResult labels_only(const codec::HeaderField& f) {
  SignatureResult r;
  SignatureLabels l = peek_signature_labels(f.value);
  r.domain = std::move(l.domain);
  r.selector = std::move(l.selector);
  r.algorithm = std::move(l.algorithm);
  r.header_b = std::move(l.header_b);
  return r;
}

}  // namespace

bool VerifyResult::any_pass() const {
  for (const auto& s : signatures)
    if (s.result == Verdict::pass) return true;
  return false;
}

Verdict VerifyResult::summary() const {
  if (signatures.empty()) return Verdict::none;
  if (any_pass()) return Verdict::pass;
  return signatures.front().result;
}

Verifier::Verifier(Config config) : config_(std::move(config)), md_ctx_(EVP_MD_CTX_new()) {}
Verifier::~Verifier() = default;
Verifier::Verifier(Verifier&&) noexcept = default;
Verifier& Verifier::operator=(Verifier&&) noexcept = default;

bool Verifier::verify_crypto(CachedKey& key, Algorithm alg, std::string_view data, std::string_view signature) {
  // Both algorithms check a signature over the SHA-256 hash of the header
  // data: RSASSA-PKCS1-v1_5 compares it with the DigestInfo in the
  // signature (what EVP_DigestVerify with SHA-256 does); RFC 8463 §3:
  // "computes a message hash as defined in Section 3 of [RFC6376] using
  // SHA-256 as the hash-alg. It signs the hash with the PureEdDSA variant
  // Ed25519".
  unsigned char digest[32];
  const auto* sig = reinterpret_cast<const unsigned char*>(signature.data());
  int rc = 0;
  if (md_ctx_ && sha256(md_ctx_.get(), data, digest)) {
    if (alg == Algorithm::rsa_sha256) {
      rc = EVP_PKEY_verify(key.rsa_verify.get(), sig, signature.size(), digest, sizeof digest);
    } else {
      tls::EvpMdCtxPtr ctx(EVP_MD_CTX_new());
      if (ctx && EVP_MD_CTX_copy_ex(ctx.get(), key.ed25519_verify.get()) == 1)
        rc = EVP_DigestVerify(ctx.get(), sig, signature.size(), digest, sizeof digest);
    }
  }
  // A bad signature may leave OpenSSL errors queued; clear them so they do
  // not leak into a later report (success queues none).
  if (rc != 1) ERR_clear_error();
  return rc == 1;
}

namespace {

// The OpenSSL contexts a cached key verifies with (see CachedKey).
bool prepare_contexts(const PublicKey& key, tls::EvpPkeyCtxPtr& rsa, tls::EvpMdCtxPtr& ed25519) {
  if (key.type() == KeyType::rsa) {
    const EVP_MD* md = sha256_md();
    rsa.reset(EVP_PKEY_CTX_new_from_pkey(nullptr, key.get(), nullptr));
    return md && rsa && EVP_PKEY_verify_init(rsa.get()) == 1 &&
           EVP_PKEY_CTX_set_rsa_padding(rsa.get(), RSA_PKCS1_PADDING) == 1 &&
           EVP_PKEY_CTX_set_signature_md(rsa.get(), md) == 1;
  }
  ed25519.reset(EVP_MD_CTX_new());
  return ed25519 && EVP_DigestVerifyInit(ed25519.get(), nullptr, nullptr, nullptr, key.get()) == 1;
}

}  // namespace

namespace {

struct Outcome {
  Verdict verdict;
  std::string reason;
};

std::optional<Outcome> check_time(const Signature& sig, std::int64_t now, long skew) {
  // RFC 6376 §3.5 t=: "Implementations MAY consider the signature invalid
  // if the signature timestamp is in the future"; we allow the clock skew.
  if (sig.timestamp && *sig.timestamp > now + skew)
    return Outcome{Verdict::permerror, "signature timestamp in the future (t=" + std::to_string(*sig.timestamp) + ")"};
  // x=: "Signatures MAY be considered invalid if the verification time at
  // the Verifier is past the expiration date." (§6.1.1: PERMFAIL (signature
  // expired)).
  if (sig.expiration && *sig.expiration + skew < now)
    return Outcome{Verdict::fail, "signature expired (x=" + std::to_string(*sig.expiration) + ")"};
  return std::nullopt;
}

}  // namespace

namespace {

// The key record's own rules against the signature (RFC 6376 §3.6.1, §6.1.2).
std::optional<Outcome> check_key_record(const KeyRecord& record, const Signature& sig) {
  // §6.1.2: "If the "p=" tag is empty, the key has been revoked" ->
  // PERMFAIL (key revoked). Reported as fail: the signer disowns it.
  if (record.revoked) return Outcome{Verdict::fail, "key revoked (empty p=)"};
  if (!key_matches_algorithm(record.type, sig.algorithm))
    return Outcome{Verdict::permerror, std::string("key type k=") + to_string(record.type) +
                                           " does not match a=" + to_string(sig.algorithm)};
  // §6.1.2: "If the "h=" tag exists in the public-key record and the hash
  // algorithm implied by the "a=" tag in the DKIM-Signature header field is
  // not included in the contents of the "h=" tag, the Verifier MUST ignore
  // the signature and return PERMFAIL (inappropriate hash algorithm)."
  if (!record.sha256_allowed)
    return Outcome{Verdict::permerror, "inappropriate hash algorithm (key h= excludes sha256)"};
  // §3.6.1 t=s: "Any DKIM-Signature header fields using the "i=" tag MUST
  // have the same domain value on the right-hand side of the "@" in the
  // "i=" tag and the value of the "d=" tag."
  if (record.strict_identity && sig.identity_domain != sig.domain)
    return Outcome{Verdict::permerror, "key t=s requires i= domain " + escape_for_log(sig.identity_domain, 80) +
                                           " to equal d= " + sig.domain};
  return std::nullopt;
}

}  // namespace

Verifier::Checked Verifier::with_verdict(Checked out, Verdict v, std::string reason) {
  out.verdict = v;
  out.reason = std::move(reason);
  return out;
}

Verifier::KeyOrVerdict Verifier::load_key(const std::string& record_text, KeyRecord&& record) {
  auto key = PublicKey::load(record, config_.min_rsa_bits, config_.max_rsa_bits);
  if (!key) return {nullptr, Verdict::permerror, key.error().message};
  auto fresh = std::make_unique<CachedKey>();
  fresh->key = std::move(*key);
  if (!prepare_contexts(fresh->key, fresh->rsa_verify, fresh->ed25519_verify))
    return {nullptr, Verdict::temperror, "OpenSSL verify set-up failed: " + tls::openssl_error_text()};
  record.public_key.clear();
  fresh->record = std::move(record);
  CachedKey* out = fresh.get();
  if (config_.key_cache_entries > 0) {
    if (key_cache_.size() >= config_.key_cache_entries) key_cache_.clear();  // bounded; hostile keys cannot grow it
    key_cache_.emplace(record_text, std::move(fresh));
  } else {
    // Not cached: kept alive for this evaluation only.
    uncached_key_ = std::move(fresh);
  }
  return {out, Verdict::pass, {}};
}

const BodyDigest& Verifier::body_digest(const codec::Message& message, const Signature& sig,
                                        std::vector<BodyDigest>& bodies) {
  for (const auto& b : bodies)
    if (b.canon == sig.body_canon && b.limit == sig.body_length) return b;
  BodyHasher hasher(sig.body_length.value_or(UINT64_MAX), md_ctx_.get());
  canonicalize_body(message.body, sig.body_canon, hasher);
  bodies.push_back({sig.body_canon, sig.body_length, hasher.finish(), hasher.canonical_length()});
  return bodies.back();
}

Verifier::Checked Verifier::verify_hashes(const codec::Message& message, const HeaderIndex& index,
                                          const Signature& sig, const codec::HeaderField& field, CachedKey& key,
                                          const BodyDigest& body, Checked out) {
  out.canonical_body_length = body.canonical_length;
  if (body.digest.size() != 32) return with_verdict(std::move(out), Verdict::temperror, "OpenSSL digest failure");
  if (sig.body_length && *sig.body_length > body.canonical_length)
    return with_verdict(std::move(out), Verdict::fail,
                        "l= " + std::to_string(*sig.body_length) + " longer than the canonical body (" +
                            std::to_string(body.canonical_length) + " octets)");
  // §6.1.3: "If the hash does not match, the Verifier MUST ignore the
  // signature and return PERMFAIL (body hash did not verify)."
  if (CRYPTO_memcmp(body.digest.data(), sig.body_hash.data(), 32) != 0)
    return with_verdict(std::move(out), Verdict::fail, "body hash mismatch");
  header_hash_input(message, index, sig, field, header_data_);
  if (!verify_crypto(key, sig.algorithm, header_data_, sig.signature))
    return with_verdict(std::move(out), Verdict::fail, "signature did not verify");
  if (sig.body_length && *sig.body_length < body.canonical_length) {
    std::string reason = "l= " + std::to_string(*sig.body_length) + " shorter than body (unsigned content)";
    if (config_.l_tag_policy == LTagPolicy::fail) return with_verdict(std::move(out), Verdict::fail, std::move(reason));
    return with_verdict(std::move(out), Verdict::pass, reason + ", accepted by policy");
  }
  const bool testing = key.record.testing;
  return with_verdict(std::move(out), Verdict::pass, testing ? "key in testing mode (t=y)" : "");
}

// Everything after the key lookup; no I/O, so it lives outside the coroutine.
Verifier::Checked Verifier::evaluate(const codec::Message& message, const HeaderIndex& index, const Signature& sig,
                                     const codec::HeaderField& field, const FetchedKey& fetched,
                                     std::vector<BodyDigest>& bodies) {
  Checked out;
  out.key_security = fetched.security;
  if (fetched.error_verdict != Verdict::pass) return with_verdict(std::move(out), fetched.error_verdict, fetched.reason);
  // The cache is keyed by the record text, so a known record is neither
  // parsed nor loaded again; only records that parsed and loaded are kept.
  CachedKey* cached = nullptr;
  KeyRecord parsed_record;
  if (auto it = key_cache_.find(fetched.text); it != key_cache_.end()) {
    cached = it->second.get();
  } else {
    auto record = parse_key_record(fetched.text, config_.max_key_record_bytes);
    if (!record) return with_verdict(std::move(out), Verdict::permerror, record.error().message);
    parsed_record = std::move(*record);
  }
  const KeyRecord& record = cached ? cached->record : parsed_record;
  out.testing = record.testing;
  if (auto bad = check_key_record(record, sig)) return with_verdict(std::move(out), bad->verdict, std::move(bad->reason));
  if (!cached) {
    KeyOrVerdict loaded = load_key(fetched.text, std::move(parsed_record));
    if (!loaded.key) return with_verdict(std::move(out), loaded.verdict, std::move(loaded.reason));
    cached = loaded.key;
  }
  out.key_bits = cached->key.bits();
  const BodyDigest& body = body_digest(message, sig, bodies);
  return verify_hashes(message, index, sig, field, *cached, body, std::move(out));
}

asio::awaitable<VerifyResult> Verifier::verify(const codec::Message& message, dns::Resolver& resolver,
                                               const Clock& clock) {
  VerifyResult out;
  std::vector<std::size_t> signature_fields;
  for (std::size_t i = 0; i < message.headers.size(); ++i)
    if (iequals(message.headers[i].name, kSignatureField)) signature_fields.push_back(i);
  if (signature_fields.empty()) co_return out;
  const HeaderIndex index(message.headers);

  std::map<std::string, FetchedKey> keys;  // per message: one query per key name
  std::vector<BodyDigest> bodies;
  const std::int64_t now = clock.now();
  int checked = 0;

  for (std::size_t field_index : signature_fields) {
    const codec::HeaderField& field = message.headers[field_index];
    // RFC 6376 §6.1: "Verifiers MAY limit the number of signatures they
    // attempt to verify". Those past the limit fail closed.
    if (checked >= config_.max_signatures) {
      SignatureResult r = labels_only(field);
      r.result = Verdict::permerror;
      r.reason = "signature limit reached (" + std::to_string(config_.max_signatures) + " checked)";
      out.signatures.push_back(std::move(r));
      continue;
    }
    ++checked;

    auto parsed = parse_signature(field.value, config_.signature_limits);
    if (!parsed) {
      SignatureResult r = labels_only(field);
      r.result = signature_error_verdict(parsed.error());
      r.reason = parsed.error().message;
      out.signatures.push_back(std::move(r));
      continue;
    }
    const Signature& sig = *parsed;
    SignatureResult r;
    r.domain = sig.domain;
    r.selector = sig.selector;
    r.identity = sig.identity;
    r.algorithm = to_string(sig.algorithm);
    r.canonicalization = sig.canonicalization();
    r.header_b = sig.signature_b64.substr(0, 8);
    r.body_length = sig.body_length;
    if (auto early = check_time(sig, now, config_.clock_skew_seconds)) {
      r.result = early->verdict;
      r.reason = std::move(early->reason);
      out.signatures.push_back(std::move(r));
      continue;
    }
    const std::string key_name = sig.key_name();
    auto kit = keys.find(key_name);
    if (kit == keys.end()) {
      ++out.key_queries;
      const dns::TxtAnswer answer = co_await resolver.txt(key_name);
      FetchedKey fetched = to_fetched_key(answer, key_name, config_);
      kit = keys.emplace(key_name, std::move(fetched)).first;
    }
    Checked checked = evaluate(message, index, sig, field, kit->second, bodies);
    r.result = checked.verdict;
    r.reason = std::move(checked.reason);
    r.key_security = checked.key_security;
    r.testing = checked.testing;
    r.key_bits = checked.key_bits;
    r.canonical_body_length = checked.canonical_body_length;
    out.signatures.push_back(std::move(r));
  }
  co_return out;
}

}  // namespace mxsec::auth::dkim

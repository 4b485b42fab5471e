// auth/dkim/verify.hpp: DKIM verification (RFC 6376 §6, RFC 8301, RFC 8463).
//
// Contract
// - Verifier::verify() checks every DKIM-Signature field of a parsed message
//   (codec::parse_message, in SMTP CRLF form) and returns one
//   SignatureResult per field, in header order. An unsigned message gives an
//   empty list; its RFC 8601 result is `none` (VerifyResult::summary()).
// - Verdicts (RFC 8601 §2.7.1 words), each with a precise `reason`:
//     pass      - the signature verified with a usable key.
//     fail      - a well-formed signature that does not hold: "body hash
//                 mismatch", "signature did not verify", "signature expired
//                 (x=...)", "key revoked (empty p=)", an l= that leaves body
//                 content unsigned (Config::l_tag_policy = fail, the default).
//     neutral   - the signature field has syntax errors (tag-list syntax,
//                 bad base64, missing required tag, v= not 1).
//     temperror - the key could not be fetched: SERVFAIL, timeout, resolver
//                 error, or a DNSSEC-bogus answer ("key record unavailable:
//                 " + dns::describe_failure()).
//     permerror - everything that will not change on retry: rsa-sha1 and RSA
//                 keys < 1024 bits (RFC 8301), unknown a=/c=/q=, h= without
//                 From, i= outside d=, x= <= t=, t= in the future, no key
//                 (NXDOMAIN/NODATA), several key records, a bad key record,
//                 key type/hash/service/t=s mismatches, and signatures past
//                 Config::max_signatures ("signature limit reached").
// - Work is bounded: at most max_signatures key lookups (one per distinct key
//   name), one body hash per distinct (body canonicalization, l=), header
//   work linear in the header; limits from core/limits.hpp.
// - A key record with t=y is reported with `testing = true`; RFC 6376 §3.6.1:
//   "Verifiers MUST NOT treat messages from Signers in testing mode
//   differently from unsigned email" - that decision belongs to the caller.
// - Several TXT records at the key name are a permerror. RFC 6376 §3.6.2.2
//   leaves the outcome undefined ("TXT RRs MUST be unique for a particular
//   selector name"); we fail closed instead of picking one.
// - A Verifier caches parsed key records, their public keys and prepared
//   OpenSSL verify contexts by record text (bounded), and reuses its digest
//   context. It is not thread-safe and not copyable: use one per worker
//   (share-nothing).
#pragma once

#include <asio/awaitable.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/dkim/key.hpp"
#include "auth/dkim/signature.hpp"
#include "codec/message.hpp"
#include "core/clock.hpp"
#include "core/limits.hpp"
#include "dns/resolver.hpp"
#include "tls/handles.hpp"

namespace mxsec::auth::dkim {

namespace detail {
class HeaderIndex;  // auth/dkim/header_index.hpp
struct FetchedKey;  // verify.cpp: the outcome of one key lookup
struct BodyDigest;  // verify.cpp: one body hash per (c=, l=) of a message
}  // namespace detail

enum class LTagPolicy {
  fail,    // an l= shorter than the canonical body fails the signature
  accept,  // verify the first l= octets; the result notes the unsigned tail
};

struct Config {
  int max_signatures = limits::kDkimMaxSignatures;
  long clock_skew_seconds = limits::kDkimClockSkewSeconds;
  int min_rsa_bits = limits::kDkimMinRsaBits;
  int max_rsa_bits = limits::kDkimMaxRsaBits;
  std::size_t max_key_record_bytes = limits::kDkimKeyRecordBytes;
  SignatureLimits signature_limits{};
  LTagPolicy l_tag_policy = LTagPolicy::fail;
  std::size_t key_cache_entries = 256;
};

struct SignatureResult {
  Verdict result = Verdict::permerror;
  std::string reason;            // empty only for a plain pass
  std::string domain;            // d=
  std::string selector;          // s=
  std::string identity;          // i= (or "@d")
  std::string algorithm;         // a= as written when known
  std::string canonicalization;  // "relaxed/relaxed"
  std::string header_b;          // first 8 characters of b= (RFC 6008 header.b)
  dns::Security key_security = dns::Security::indeterminate;  // of the key record answer
  bool testing = false;          // key record t=y
  int key_bits = 0;
  std::optional<std::uint64_t> body_length;  // l=
  std::uint64_t canonical_body_length = 0;   // when the body was hashed
};

struct VerifyResult {
  std::vector<SignatureResult> signatures;
  std::size_t key_queries = 0;  // DNS questions asked

  bool any_pass() const;
  // none for an unsigned message, else pass if any signature passed, else
  // the first signature's verdict.
  Verdict summary() const;
};

class Verifier {
 public:
  explicit Verifier(Config config = {});
  ~Verifier();
  Verifier(Verifier&&) noexcept;
  Verifier& operator=(Verifier&&) noexcept;
  Verifier(const Verifier&) = delete;
  Verifier& operator=(const Verifier&) = delete;
  const Config& config() const { return config_; }

  // `message` must stay alive until the returned awaitable completes.
  asio::awaitable<VerifyResult> verify(const codec::Message& message, dns::Resolver& resolver, const Clock& clock);

 private:
  struct CachedKey;  // verify.cpp: the parsed record, the key, prepared contexts
  // What the checks after the key lookup concluded: the verdict with its
  // reason, and what was learnt on the way (copied into SignatureResult).
  struct Checked {
    Verdict verdict = Verdict::permerror;
    std::string reason;
    dns::Security key_security = dns::Security::indeterminate;
    bool testing = false;
    int key_bits = 0;
    std::uint64_t canonical_body_length = 0;
  };
  static Checked with_verdict(Checked out, Verdict v, std::string reason);
  // A cached key, or the verdict that loading it gave.
  struct KeyOrVerdict {
    CachedKey* key = nullptr;
    Verdict verdict = Verdict::permerror;
    std::string reason;
  };
  // The checks after the key lookup (no I/O, so kept out of the coroutine).
  // `bodies` is the message's body-hash cache, filled on first use.
  Checked evaluate(const codec::Message& message, const detail::HeaderIndex& index, const Signature& sig,
                   const codec::HeaderField& field, const detail::FetchedKey& fetched,
                   std::vector<detail::BodyDigest>& bodies);
  // Loads the key of a parsed record, prepares its contexts and caches it.
  KeyOrVerdict load_key(const std::string& record_text, KeyRecord&& record);
  // The body hash for the signature's (c=, l=), computed once per message.
  const detail::BodyDigest& body_digest(const codec::Message& message, const Signature& sig,
                                        std::vector<detail::BodyDigest>& bodies);
  // Body hash, l= and the signature itself, in RFC 6376 §6.1.3 order.
  Checked verify_hashes(const codec::Message& message, const detail::HeaderIndex& index, const Signature& sig,
                        const codec::HeaderField& field, CachedKey& key, const detail::BodyDigest& body,
                        Checked out);
  bool verify_crypto(CachedKey& key, Algorithm alg, std::string_view data, std::string_view signature);
  Config config_;
  std::unordered_map<std::string, std::unique_ptr<CachedKey>> key_cache_;
  std::unique_ptr<CachedKey> uncached_key_;  // the last key when key_cache_entries == 0
  tls::EvpMdCtxPtr md_ctx_;  // reused for every body and header hash
  std::string header_data_;  // reused buffer for the signed header data
};

}  // namespace mxsec::auth::dkim

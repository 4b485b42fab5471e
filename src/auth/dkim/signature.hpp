// auth/dkim/signature.hpp: the DKIM-Signature header field (RFC 6376 §3.5).
//
// Contract
// - parse_signature() checks one DKIM-Signature field value against RFC 6376
//   §3.5 and §6.1.1 and returns it decoded, or an Error whose message is the
//   precise reason. It never looks at DNS, the clock or the message.
// - Error codes map to RFC 8601 verdicts (signature_error_verdict()):
//     Errc::parse       -> neutral   ("the signature ... contained syntax
//                                     errors", RFC 8601 §2.7.1): tag-list
//                                     syntax, bad base64, a missing required
//                                     tag, a non-numeric t=/x=/l=, v= not 1;
//     anything else     -> permerror (valid syntax we must not accept:
//                                     rsa-sha1 (RFC 8301), unknown a=, c= or
//                                     q=, h= without From, i= outside d=,
//                                     x= <= t=, a limit hit).
// - The returned Signature owns its strings; `b_delete_begin/end` are offsets
//   into the parsed value that verification blanks out (RFC 6376 §3.7).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"

namespace mxsec::auth::dkim {

// RFC 8601 §2.7.1 result words; `none` is "the message was not signed".
enum class Verdict { none, pass, fail, neutral, temperror, permerror };
const char* to_string(Verdict v);

// RFC 6376 §3.3 (rsa-sha256) and RFC 8463 §3 (ed25519-sha256). rsa-sha1 is
// recognised only to be refused (RFC 8301 §3.1).
enum class Algorithm { rsa_sha256, ed25519_sha256 };
const char* to_string(Algorithm a);

enum class Canon { simple, relaxed };
const char* to_string(Canon c);

struct Signature {
  Algorithm algorithm = Algorithm::rsa_sha256;
  std::string signature;           // b=, decoded
  std::string signature_b64;       // b=, base64 with whitespace removed
  std::string body_hash;           // bh=, decoded
  Canon header_canon = Canon::simple;
  Canon body_canon = Canon::simple;
  std::string domain;              // d=, lower case
  std::string selector;            // s=, lower case
  std::vector<std::string> signed_headers;  // h=, lower case, in order
  std::string identity;            // i=, or "@" + d when absent
  std::string identity_domain;     // the domain part of i=, lower case
  std::optional<std::uint64_t> body_length;  // l=
  std::optional<std::int64_t> timestamp;     // t=
  std::optional<std::int64_t> expiration;    // x=
  std::size_t b_delete_begin = 0;  // value[begin, end) is the b= value to blank
  std::size_t b_delete_end = 0;

  std::string key_name() const { return selector + "._domainkey." + domain; }
  std::string canonicalization() const;  // "relaxed/simple"
};

struct SignatureLimits {
  std::size_t max_bytes = limits::kDkimSignatureBytes;
  std::size_t max_signed_headers = static_cast<std::size_t>(limits::kDkimSignedHeaders);
};

Result<Signature> parse_signature(std::string_view value, const SignatureLimits& limits = {});

// neutral for Errc::parse, permerror otherwise (see the contract above).
Verdict signature_error_verdict(const Error& e);

// Best-effort d=/s=/a= of a value that failed to parse, for reporting only.
struct SignatureLabels {
  std::string domain, selector, algorithm, header_b;
};
SignatureLabels peek_signature_labels(std::string_view value);

}  // namespace mxsec::auth::dkim

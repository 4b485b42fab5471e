// auth/dkim/canon.hpp: header and body canonicalization (RFC 6376 §3.4).
//
// Contract
// - Headers: canonicalize_header() appends one canonicalized field (with its
//   CRLF) to `out`. "simple" copies the field's raw bytes unchanged
//   (§3.4.1); "relaxed" lower-cases the name, unfolds, reduces WSP runs to one
//   SP and drops WSP at the ends and around the colon (§3.4.2).
// - Bodies: canonicalize_body() streams the canonical body into a BodySink in
//   chunks, without building the whole canonical body in memory. Spans of the
//   input that need no change are passed through as views. A CRLF (and only
//   CRLF) ends a line; the message is expected in SMTP form (callers run
//   codec::normalize_crlf first when it may hold bare LFs).
//     simple  (§3.4.3): trailing empty lines removed; an empty body becomes
//                       one CRLF; a final line without CRLF gets one.
//     relaxed (§3.4.4): WSP at line ends removed, inner WSP runs become one
//                       SP, trailing empty lines removed, an empty body stays
//                       empty, a non-empty body ends with CRLF.
// - Work is linear in the body size.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "auth/dkim/openssl.hpp"
#include "auth/dkim/signature.hpp"

namespace mxsec::auth::dkim {

void canonicalize_header(std::string_view name, std::string_view value, std::string_view raw, Canon canon,
                         std::string& out);

class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void write(std::string_view bytes) = 0;
};

void canonicalize_body(std::string_view body, Canon canon, BodySink& sink);

// The canonical body as a string (tests, small inputs).
std::string canonical_body(std::string_view body, Canon canon);

// A sink that feeds SHA-256, hashing at most `limit` octets (RFC 6376 l=)
// while still counting the full canonical length.
class BodyHasher final : public BodySink {
 public:
  explicit BodyHasher(std::uint64_t limit = UINT64_MAX);
  void write(std::string_view bytes) override;
  // The 32-byte digest; empty on an OpenSSL failure.
  std::string finish();
  std::uint64_t canonical_length() const { return total_; }
  std::uint64_t hashed_length() const { return hashed_; }

 private:
  void flush();
  ossl::MdCtxPtr ctx_;
  std::uint64_t limit_;
  std::uint64_t total_ = 0;
  std::uint64_t hashed_ = 0;
  bool ok_ = true;
  std::string buf_;  // small writes are batched into one EVP_DigestUpdate
};

}  // namespace mxsec::auth::dkim

// auth/dkim/canon.hpp: header and body canonicalization (RFC 6376 §3.4).
//
// Contract
// - Headers: canonicalize_header() appends one canonicalized field (with its
//   CRLF) to `out`. "simple" copies the field's raw bytes unchanged
//   (§3.4.1); "relaxed" lower-cases the name, unfolds, reduces WSP runs to one
//   SP and drops WSP at the ends and around the colon (§3.4.2).
// - Bodies: canonicalize_body() streams the canonical body into a BodySink in
//   chunks, without building the whole canonical body in memory. Spans of the
//   input that need no change are passed through as views: in relaxed mode
//   only a HTAB, a run of two or more WSP and WSP before a CRLF break a span
//   (a single SP between other characters is already canonical), so typical
//   text reaches the sink in a few long pieces. The BodyHasher overload is
//   the same algorithm without a virtual call per piece. A CRLF (and only
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
#include <initializer_list>
#include <string>
#include <string_view>

#include "auth/dkim/digest.hpp"
#include "auth/dkim/signature.hpp"
#include "tls/handles.hpp"

namespace mxsec::auth::dkim {

void canonicalize_header(std::string_view name, std::string_view value, std::string_view raw, Canon canon,
                         std::string& out);
// The relaxed form of a field whose value is given in pieces, the same as
// relaxed canonicalize_header() of their concatenation (the verifier passes
// the DKIM-Signature value around its blanked b= without copying it).
void canonicalize_header_relaxed(std::string_view name, std::initializer_list<std::string_view> value_pieces,
                                 std::string& out);

class BodySink {
 public:
  virtual ~BodySink() = default;
  virtual void write(std::string_view bytes) = 0;
};

class BodyHasher;

void canonicalize_body(std::string_view body, Canon canon, BodySink& sink);
// Same output as above, fed to the hasher without virtual dispatch.
void canonicalize_body(std::string_view body, Canon canon, BodyHasher& hasher);

// The canonical body as a string (tests, small inputs).
std::string canonical_body(std::string_view body, Canon canon);

// A sink that feeds SHA-256, hashing at most `limit` octets (RFC 6376 l=)
// while still counting the full canonical length. Pieces of at least
// kDirectBytes go straight to EVP_DigestUpdate; smaller ones are batched.
class BodyHasher final : public BodySink {
 public:
  explicit BodyHasher(std::uint64_t limit = UINT64_MAX);
  // Hashes with `ctx`, owned by the caller and re-initialised here, instead
  // of allocating a context (a Verifier reuses one for every message).
  BodyHasher(std::uint64_t limit, EVP_MD_CTX* ctx);
  BodyHasher(const BodyHasher&) = delete;
  BodyHasher& operator=(const BodyHasher&) = delete;
  void write(std::string_view bytes) override;
  // The 32-byte digest; empty on an OpenSSL failure.
  std::string finish();
  std::uint64_t canonical_length() const { return total_; }
  std::uint64_t hashed_length() const { return hashed_; }

  static constexpr std::size_t kDirectBytes = 128;

 private:
  void flush();
  void update(const char* data, std::size_t size);
  tls::EvpMdCtxPtr owned_;
  EVP_MD_CTX* ctx_ = nullptr;
  std::uint64_t limit_;
  std::uint64_t total_ = 0;
  std::uint64_t hashed_ = 0;
  bool ok_ = true;
  std::size_t buffered_ = 0;
  char buf_[2048];  // small pieces are batched into one EVP_DigestUpdate
};

}  // namespace mxsec::auth::dkim

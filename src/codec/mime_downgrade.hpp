// codec/mime_downgrade.hpp: the 8-bit to 7-bit conversion of a message for a
// next hop that does not offer 8BITMIME (RFC 6152), done as Postfix does it
// for the common case: 8-bit body parts become quoted-printable (RFC 2045
// §6.7), the structure and every other octet stay as they were.
//
// RFC 6152 §3: "If a server SMTP does not support the 8-bit MIME transport
// extension (either by not responding with code 250 to the EHLO command, or
// by not including the EHLO keyword value 8BITMIME in its response), then
// the client SMTP MUST NOT, under any circumstances, attempt to transfer a
// content which contains characters outside the US-ASCII octet range (hex
// 00-7F)." It leaves two choices: convert the message "into valid 7bit
// MIME", or treat it as a permanent error. plan_downgrade() says which one
// applies; the caller fails the recipients (RFC 3463 X.6.3) when it cannot
// convert.
//
// Contract
// - plan_downgrade() walks the message (the slices in order, as delivery
//   writes it out) once, line by line, and returns a DowngradePlan: the
//   instructions that turn it into 7-bit text, or an error (Errc::unsupported
//   or Errc::limit, with the reason) when it cannot be converted. No octet
//   of the message is copied into the plan: it holds offsets into the
//   slices, a few inserted header lines, and (per part) at most the bounded
//   field values it needs to read (DowngradeLimits::field_bytes). The slices
//   must outlive the plan and every DowngradeStream over it.
// - What converts: a message whose header section is ASCII, and
//     * a non-MIME message (no MIME-Version, Content-Type or
//       Content-Transfer-Encoding field): its body becomes quoted-printable
//       and its header gains "MIME-Version: 1.0", "Content-Type: text/plain;
//       charset=unknown-8bit" (RFC 1428: 8-bit text of unknown character set)
//       and "Content-Transfer-Encoding: quoted-printable";
//     * a MIME message, single-part or multipart: each leaf part whose
//       Content-Transfer-Encoding is missing, 7bit or 8bit and whose body
//       holds an 8-bit octet loses its Content-Transfer-Encoding field(s) and
//       gains "Content-Transfer-Encoding: quoted-printable", and its body is
//       encoded; a multipart labelled 8bit or binary is relabelled 7bit (RFC
//       2045 §6.4: a composite's encoding is that of its content). A MIME
//       message without MIME-Version gains "MIME-Version: 1.0".
//   What does not (an error naming the part): 8-bit octets in a header
//   section (the top-level one or a part's), in a part labelled binary,
//   quoted-printable, base64 or an unknown encoding, in a message/* part
//   (its own header would have to be converted), in a multipart without a
//   usable boundary parameter, in a preamble or an epilogue, or in a part
//   whose header section does not end with an empty line.
// - The MIME walk (RFC 2046 §5.1.1): a delimiter line is "--" boundary,
//   optionally "--", then only SP/HTAB, for the boundary of any enclosing
//   multipart (an outer one closes the inner ones: an unterminated inner
//   multipart ends there, as in Postfix); the CRLF before a delimiter
//   belongs to it and is not encoded. A multipart the text ends inside is
//   closed by the end. A line ends at LF (CR LF or bare LF).
// - Limits (DowngradeLimits, defaults in core/limits.hpp), every one fails
//   closed (Errc::limit, no conversion): multipart nesting `depth`, `parts`
//   in the whole message, `field_bytes` of one unfolded Content-Type or
//   Content-Transfer-Encoding value, `encoding_fields` per part.
// - Quoted-printable (RFC 2045 §6.7): octets 33-60 and 62-126 literal, the
//   others as "=XX" (upper-case hex); a CRLF (or bare LF) is a hard line
//   break, written CRLF; a bare CR is "=0D"; SP and HTAB literal except
//   before a line break or at the end of the part, where they are
//   encoded; lines of at most 76 octets, soft line breaks "=" CRLF, an
//   "=XX" never split. A "." at the start of a line is left for the SMTP
//   dot-stuffing (smtp/proto/data_encoder.hpp).
// - DowngradeStream::next() appends the next piece of the converted text,
//   about `max` octets (at most `max` + 16: an
//   encoded octet and the white space before it are not split), to `out`; false once the whole
//   text has been given. The output is 7-bit (every octet below 0x80), and
//   the same whatever `max` is. DowngradePlan::output_bytes is its exact
//   length (for SIZE=, RFC 1870).
// - DKIM: conversion changes the body (and some header fields) of the
//   message, so a DKIM signature made before it (RFC 6376), mxsec's own made
//   at receipt included, may fail at the receiver, as after Postfix's
//   conversion. DowngradePlan::dkim_signed tells the caller that the top-level
//   header holds a DKIM-Signature field, so that it may prefer to return the
//   message instead ([outbound] downgrade_8bit = "bounce").
// - Pure, no I/O, thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"

namespace mxsec::codec {

struct DowngradeLimits {
  std::size_t depth = limits::kMimeDowngradeDepth;
  std::size_t parts = limits::kMimeDowngradeParts;
  std::size_t field_bytes = limits::kMimeDowngradeFieldBytes;
  std::size_t encoding_fields = limits::kMimeDowngradeEncodingFields;
};

struct DowngradeStep {
  enum class Kind { copy, insert, quoted_printable };
  Kind kind = Kind::copy;
  // Offsets into the slices taken as one text (copy, quoted_printable), or
  // into `text` (insert: 0 and its length).
  std::uint64_t begin = 0;
  std::uint64_t end = 0;
  std::string text;         // insert
};

struct DowngradePlan {
  std::vector<DowngradeStep> steps;  // in order; the copies and encodings cover the text
  std::uint64_t output_bytes = 0;
  std::size_t converted_parts = 0;   // parts whose body became quoted-printable
  bool dkim_signed = false;          // the top-level header holds a DKIM-Signature field
};

Result<DowngradePlan> plan_downgrade(const std::vector<std::string_view>& slices, const DowngradeLimits& limits = {});

class DowngradeStream {
 public:
  // `plan` and `slices` must outlive the stream.
  DowngradeStream(const DowngradePlan& plan, const std::vector<std::string_view>& slices);
  bool next(std::string& out, std::size_t max);

 private:
  struct Cursor {
    std::size_t slice = 0;
    std::size_t offset = 0;
  };
  Cursor locate(std::uint64_t pos) const;
  // The current step's next octets, up to about `max` more octets of output.
  void copy_some(std::string& out, std::size_t max);
  void encode_some(std::string& out, std::size_t max);
  void emit_token(std::string& out, std::string_view token);
  void flush_space(std::string& out, bool encoded);

  const DowngradePlan& plan_;
  const std::vector<std::string_view>& slices_;
  std::size_t step_ = 0;
  std::uint64_t pos_ = 0;  // within the current step
  bool step_started_ = false;
  // Quoted-printable state of the current step.
  std::size_t column_ = 0;
  char pending_space_ = 0;  // an SP or HTAB not written yet (it may precede a line break)
  bool pending_cr_ = false;
};

// The quoted-printable form of `in` (the encoder above on one string; tests).
std::string quoted_printable(std::string_view in);

}  // namespace mxsec::codec

// codec/message.hpp: RFC 5322 message header/body splitter.
//
// Contract
// - parse_message splits a message into header fields and body without
//   copying: every view points into the input, which must outlive the result.
// - A line ends at LF, optionally preceded by CR; `raw` keeps the exact bytes
//   of the field including continuation lines and the final line break, as
//   DKIM "simple" canonicalization needs (RFC 6376 §3.4.1).
// - The header ends at the first empty line; `body` is everything after it.
//   A message that ends inside the header has an empty body.
// - `name` is the field name with any whitespace before the colon removed
//   (RFC 5322 §4.5.3 obsolete syntax "Subject :" is accepted and normalized).
// - Errors: a header line without a colon, a leading continuation line, a
//   field name with characters outside %d33-57 / %d59-126, and the limits in
//   MessageLimits (Errc::limit). Nothing else is rejected: semantics belong to
//   the callers.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"

namespace mxsec::codec {

struct HeaderField {
  std::string_view name;   // e.g. "DKIM-Signature"
  std::string_view value;  // after ':' up to (excluding) the final line break; may contain folds
  std::string_view raw;    // whole field, including the final line break
};

struct Message {
  std::vector<HeaderField> headers;
  std::string_view body;
  bool has_body_separator = false;  // false when the message ended inside the header
};

struct MessageLimits {
  std::size_t max_message_bytes = limits::kMessageBytes;
  std::size_t max_header_bytes = limits::kHeaderBytes;
  std::size_t max_header_fields = limits::kHeaderFields;
};

Result<Message> parse_message(std::string_view bytes, const MessageLimits& limits = {});

// Returns the input with every bare LF turned into CRLF (an existing CRLF is
// kept), the form SMTP uses on the wire (RFC 5321 §2.3.8).
std::string normalize_crlf(std::string_view bytes);

// Unfolds a header value (removes CRLF before WSP) and trims it.
std::string unfold(std::string_view value);

// Folds `name: value` at whitespace so that lines stay under `width` octets,
// continuation lines starting with a tab. The result ends with CRLF.
std::string fold_header(std::string_view name, std::string_view value, std::size_t width = 78);

}  // namespace mxsec::codec

// smtp/proto/data_encoder.hpp: the client side of DATA (RFC 5321 §4.1.1.4,
// §4.5.2): message text in, the octets to send after the 354 reply out,
// without I/O. The SMTP and LMTP clients share it; DataDecoder (data.hpp) is
// its server-side counterpart.
//
// Contract
// - push() appends the encoded form of the next piece of text to `out`;
//   finish() ends the text and appends the end-of-data mark. The pieces may
//   be split anywhere (a CRLF split across two pieces is one CRLF); the
//   output does not depend on the split.
// - Dot-stuffing (§4.5.2): "Before sending a line of mail text, the SMTP
//   client checks the first character of the line. If it is a period, one
//   additional period is inserted at the beginning of the line."
// - Line ends (§2.3.8): "SMTP client implementations MUST NOT transmit these
//   characters [bare CR or LF] except when they are intended as line
//   terminators and then MUST transmit them only as a <CR><LF> sequence."
//   Queued text holds CRLF only (the server drops bare CR and LF on the way
//   in), so this is a second lock: a bare CR or bare LF is written as CRLF
//   and counted in bare_line_ends(). Either way no line that we send can be
//   read as the end of data, by a strict server (CRLF "." CRLF) or by a
//   lenient one (LF "." LF and the like), before finish().
// - finish() writes CRLF first when the text does not end with one (the end
//   mark must follow a line end), then ".\r\n". An empty text gives ".\r\n".
//   After finish() the encoder is ready for a new text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace mxsec::smtp {

class DataEncoder {
 public:
  void push(std::string_view text, std::string& out);
  void finish(std::string& out);
  // Bare CR and bare LF octets written as CRLF since construction.
  std::uint64_t bare_line_ends() const { return bare_line_ends_; }

 private:
  bool line_start_ = true;  // the next octet starts a line
  bool cr_ = false;         // the last octet pushed was a CR, its LF not seen yet
  std::uint64_t bare_line_ends_ = 0;
};

}  // namespace mxsec::smtp

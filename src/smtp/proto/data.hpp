// smtp/proto/data.hpp: the message text of DATA (RFC 5321 §4.1.1.4) and
// BDAT (RFC 3030), without I/O, with SMTP smuggling closed.
//
// Contract
// - DataDecoder is a push parser for the bytes a client sends after the 354
//   reply to DATA. push() consumes input, appends the message text (with the
//   dot-stuffing of §4.5.2 removed) to `out`, and returns how many input
//   octets it consumed. It stops right after the end-of-data mark; bytes
//   after it belong to the next command. The outcome does not depend on how
//   the input is split across push() calls.
// - End of data is <CRLF>.<CRLF> and nothing else (§4.1.1.4: "the mail data
//   are terminated by a line containing only a period, that is, the
//   character sequence "<CRLF>.<CRLF>""), where the first CRLF may be the
//   one that ended the DATA command line: "." CRLF as the first line ends an
//   empty message. <LF>.<LF>, <CR>.<CR>, <LF>.<CRLF>, <CRLF>.<LF> and the
//   like are never an end of data.
// - Line ends in the text: §2.3.8 "In addition, the appearance of "bare"
//   "CR" or "LF" characters in text (i.e., either without the other) has a
//   long history of causing problems in mail implementations and
//   applications that use the mail system as a tool. SMTP client
//   implementations MUST NOT transmit these characters except when they are
//   intended as line terminators and then MUST transmit them only as a
//   <CR><LF> sequence." A bare CR or bare LF is never read as a line end and
//   is never written to `out`: each one is counted in bare_cr() / bare_lf()
//   and dropped from the text. The server refuses a message whose count is
//   not zero (554 5.6.0 at the end of data), so the bytes that an SMTP
//   smuggling attack needs can neither start a second message here nor
//   reach the next hop.
// - Limits: octets of text beyond `max_message_bytes` are counted but not
//   written (overflow() becomes true) so the server can answer 552 5.3.4 at
//   the end of data instead of cutting the session; a text line longer than
//   1000 octets incl. CRLF (§4.5.3.1.6) sets long_line() and is kept.
//   Octets and line lengths are those of the text as written to `out`
//   (without stuffing dots and dropped bare CR / LF); a last BDAT line
//   without CRLF is measured as if it had one. With overflow, `out` holds
//   exactly the first max_message_bytes octets of the text, which may end
//   inside a CRLF: such a message is refused, never spooled.
// - NUL octets are kept and counted in nul() (the server decides).
//
// - BdatDecoder checks a BDAT chunk (RFC 3030 §2: the octets are taken as
//   they are; no dot-stuffing, no end mark). It applies the same rule on
//   line ends across chunk boundaries (a CR at the end of one chunk and an LF
//   at the start of the next form one CRLF) and the same size limit; a bare
//   CR or LF is counted and dropped, so a spool file only ever holds CRLF
//   line ends, whichever command carried the message. finish() after the
//   LAST chunk reports a CR left dangling at the end as a bare CR.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/limits.hpp"

namespace mxsec::smtp {

struct TextCounters {
  std::uint64_t octets = 0;  // message text octets, counted even past the limit
  std::uint64_t bare_cr = 0;
  std::uint64_t bare_lf = 0;
  std::uint64_t nul = 0;
  bool long_line = false;
  bool overflow = false;  // octets > max_message_bytes: text past the limit was not written
  bool clean() const { return bare_cr == 0 && bare_lf == 0; }
  friend bool operator==(const TextCounters&, const TextCounters&) = default;
};

class DataDecoder {
 public:
  explicit DataDecoder(std::uint64_t max_message_bytes = limits::kMessageBytes);
  std::size_t push(std::string_view input, std::string& out);
  bool done() const { return done_; }
  const TextCounters& counters() const { return counters_; }
  void reset();

 private:
  // Where the decoder stands in the text. line_start: right after a CRLF
  // (or the DATA command's); dot: a "." at line_start; dot_cr: CRLF "." CR;
  // cr: a CR that ended the previous input, not yet known to be CRLF.
  enum class State : unsigned char { line_start, text, cr, dot, dot_cr };
  std::uint64_t max_;
  TextCounters counters_;
  State state_ = State::line_start;
  std::size_t line_length_ = 0;  // text octets of the current line so far
  bool done_ = false;
};

class BdatDecoder {
 public:
  explicit BdatDecoder(std::uint64_t max_message_bytes = limits::kMessageBytes);
  // All of `chunk` is consumed.
  void push(std::string_view chunk, std::string& out);
  // After the chunk marked LAST. Writes nothing today (a dangling CR is
  // dropped, not written); `out` is where a future flush would go.
  void finish(std::string& out);
  const TextCounters& counters() const { return counters_; }
  void reset();

 private:
  std::uint64_t max_;
  TextCounters counters_;
  bool pending_cr_ = false;
  std::size_t line_length_ = 0;
};

}  // namespace mxsec::smtp

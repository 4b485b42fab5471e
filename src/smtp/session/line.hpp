// smtp/session/line.hpp: a sans-I/O splitter for the lines an SMTP server
// reads (commands, and DATA text).
//
// Contract
// - push() consumes bytes up to and including the LF that ends one line and
//   returns how many it consumed; the rest belongs to the next line. The
//   outcome does not depend on how the input is split across push() calls.
// - Line::text is the line without its line end. RFC 5321 §2.3.8: "Lines
//   consist of zero or more data characters terminated by the sequence ASCII
//   character 'CR' (hex value 0D) followed immediately by ASCII character
//   'LF' (hex value 0A)". A line that ended in a LF with no CR before it has
//   `bare_lf` set; whether to refuse it (RFC 5321 §4.1.1.4 and SMTP
//   smuggling) is the server's decision, so the splitter reports it and does
//   not guess. A CR elsewhere in a line stays in `text`.
// - Limit (fail closed, Errc::limit): a line whose text is longer than
//   `max_line_bytes` (default limits::kSmtpLineBytes). The check is made as
//   bytes arrive, so a peer that never sends LF cannot grow the buffer past
//   the limit. After failed, the splitter stays failed until reset().
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/limits.hpp"
#include "core/result.hpp"

namespace mxsec::smtp {

struct Line {
  std::string text;      // without CRLF / LF
  bool bare_lf = false;  // ended in LF without CR (RFC 5321 requires CRLF)
  friend bool operator==(const Line&, const Line&) = default;
};

class LineParser {
 public:
  enum class State { need_more, done, failed };

  explicit LineParser(std::size_t max_line_bytes = limits::kSmtpLineBytes) : max_(max_line_bytes) {}

  std::size_t push(std::string_view bytes);
  State state() const { return state_; }
  const Line& line() const { return line_; }  // valid when done
  Line take();                                // valid when done; resets
  const Error& error() const { return error_; }  // valid when failed
  std::size_t buffered() const { return line_.text.size(); }
  // A new limit for the lines that follow (e.g. RFC 4954 §4's 12288 octets
  // during an AUTH exchange); takes effect from the next line on.
  void set_max_line_bytes(std::size_t max) { max_ = max; }
  std::size_t max_line_bytes() const { return max_; }
  void reset();

 private:
  std::size_t max_;
  State state_ = State::need_more;
  Line line_;
  Error error_;
};

}  // namespace mxsec::smtp

// smtp/proto/reply.hpp: a sans-I/O push parser for SMTP replies.
//
// Contract
// - Grammar (RFC 5321 §4.2):
//     Reply-line = *( Reply-code "-" [ textstring ] CRLF )
//                  Reply-code [ SP textstring ] CRLF
//     Reply-code = %x32-35 %x30-35 %x30-39
//   Every line of a multiline reply must carry the same code (§4.2.1:
//   "each line of a multiline reply ... MUST have the same reply code").
// - Line ends: CRLF is the standard. A bare LF is also accepted as a line
//   end, as Postfix's SMTP client does: a reply is read-only data to us, and
//   accepting it changes no command boundary. A CR that is not followed by
//   LF, and any NUL, is a parse error (fail closed: such a reply is not SMTP).
// - Limits (fail closed, Errc::limit): a line longer than
//   `max_line_bytes` octets (excluding its line end) and a reply of more than
//   `max_lines` lines. Defaults: limits::kSmtpReplyLineBytes,
//   limits::kSmtpReplyLines. The check is made as bytes arrive, so a peer that
//   never sends a line end cannot grow the buffer past the limit.
// - push() consumes bytes up to and including the line end of the last line
//   of one reply and returns how many it consumed; bytes after that belong to
//   the next reply (or, after a STARTTLS 220, are plaintext the caller must
//   discard: RFC 3207 §5 injection). The outcome does not depend on how the
//   input is split across push() calls ("parsegrind" in the tests).
// - After done, take() returns the reply and resets the parser. After
//   failed, the parser stays failed (sticky error) until reset().
// - Reply::enhanced is the RFC 3463 status code (class.subject.detail) when
//   the first line's text starts with one whose class equals the reply
//   code's first digit (RFC 2034 §4), followed by SP or the end of the line.
//   `lines` hold the text after "code-"/"code SP", enhanced code included.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/limits.hpp"
#include "core/result.hpp"

namespace mxsec::smtp {

struct EnhancedStatus {
  int klass = 0;  // 2, 4 or 5
  int subject = 0;
  int detail = 0;
  std::string to_string() const;
  friend bool operator==(const EnhancedStatus&, const EnhancedStatus&) = default;
};

struct Reply {
  int code = 0;
  std::optional<EnhancedStatus> enhanced;
  std::vector<std::string> lines;
  bool positive_completion() const { return code >= 200 && code < 300; }
  bool transient_failure() const { return code >= 400 && code < 500; }
  bool permanent_failure() const { return code >= 500 && code < 600; }
  // "250-a\r\n250 b" style one-line rendering for logs (escaped).
  std::string to_log_string() const;
  friend bool operator==(const Reply&, const Reply&) = default;
};

struct ReplyLimits {
  std::size_t max_line_bytes = limits::kSmtpReplyLineBytes;
  int max_lines = limits::kSmtpReplyLines;
};

class ReplyParser {
 public:
  enum class State { need_more, done, failed };

  explicit ReplyParser(ReplyLimits limits = {}) : limits_(limits) {}

  std::size_t push(std::string_view bytes);
  State state() const { return state_; }
  // Valid when state() == done.
  const Reply& reply() const { return reply_; }
  Reply take();
  // Valid when state() == failed.
  const Error& error() const { return error_; }
  // Octets held in the partial-line buffer (bounded by the line limit).
  std::size_t buffered() const { return line_.size(); }
  void reset();

 private:
  void fail(Errc code, std::string message);
  void finish_line();

  ReplyLimits limits_;
  State state_ = State::need_more;
  Reply reply_;
  Error error_;
  std::string line_;
};

// Parses a complete reply held in one buffer (all of it must be consumed).
Result<Reply> parse_reply(std::string_view bytes, ReplyLimits limits = {});

}  // namespace mxsec::smtp

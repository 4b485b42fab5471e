#include "delivery/lmtp.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/address.hpp>
#include <algorithm>
#include <exception>
#include <optional>

#include "smtp/proto/data_encoder.hpp"
#include "smtp/proto/ehlo.hpp"

namespace mxsec::delivery {

const char* to_string(LmtpStatus s) {
  switch (s) {
    case LmtpStatus::delivered: return "sent";
    case LmtpStatus::deferred: return "deferred";
    case LmtpStatus::failed: return "bounced";
  }
  return "unknown";
}

std::string LmtpDestination::text() const {
  return "lmtp[" + address.to_string() + "]:" + std::to_string(port);
}

namespace {

using smtp::EnhancedStatus;
using smtp::Reply;

// Past the session deadline the connection has closed itself; this margin
// only covers the coroutine winding down before the io_context gives up.
constexpr std::chrono::seconds kWindDownMargin{5};

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

bool any_eight_bit(const std::vector<std::string_view>& slices) {
  return std::any_of(slices.begin(), slices.end(), [](std::string_view s) { return !is_ascii(s); });
}

// A non-ASCII octet in the header section (up to the first empty line).
bool header_non_ascii(const std::vector<std::string_view>& slices) {
  bool line_empty = true;
  for (std::string_view s : slices)
    for (char c : s) {
      if (c == '\n') {
        if (line_empty) return false;
        line_empty = true;
      } else if (c != '\r') {
        if (static_cast<unsigned char>(c) >= 0x80) return true;
        line_empty = false;
      }
    }
  return false;
}

// The verdicts of one transaction, filled in as replies arrive.
class Verdicts {
 public:
  Verdicts(std::size_t n, std::string peer) : out_(n), decided_(n, false), peer_(std::move(peer)) {}

  void set_enhanced_codes(bool offered) { enhanced_codes_ = offered; }
  const std::string& peer() const { return peer_; }
  bool decided(std::size_t i) const { return decided_[i]; }

  void decide(std::size_t i, LmtpStatus status, EnhancedStatus enhanced, std::string text) {
    if (decided_[i]) return;
    decided_[i] = true;
    out_[i] = LmtpOutcome{status, enhanced, std::move(text)};
  }

  // A reply that is not the one the step expects (`step` says where, for
  // our reason): 4xx defers, 5xx fails, any other code is a protocol error
  // (deferred).
  void refused(std::size_t i, const Reply& r, std::string_view step) {
    if (r.transient_failure() || r.permanent_failure())
      decide(i, r.permanent_failure() ? LmtpStatus::failed : LmtpStatus::deferred, status_of(r), r.to_log_string());
    else
      deferred(i, r, step);
  }
  // The same, but a 5xx defers too (a refused session: see the header).
  void deferred(std::size_t i, const Reply& r, std::string_view step) {
    if (r.transient_failure()) {
      decide(i, LmtpStatus::deferred, status_of(r), r.to_log_string());
    } else if (r.permanent_failure()) {
      const EnhancedStatus s = status_of(r);
      decide(i, LmtpStatus::deferred, {4, s.subject, s.detail},
             peer_ + " refused the session " + std::string(step) + ": " + r.to_log_string());
    } else {
      decide(i, LmtpStatus::deferred, {4, 5, 0},
             "unexpected reply from " + peer_ + " " + std::string(step) + ": " + r.to_log_string());
    }
  }
  // The reply after "." for one recipient (RFC 2033 §4.2).
  void final_reply(std::size_t i, const Reply& r) {
    if (r.positive_completion())
      decide(i, LmtpStatus::delivered, status_of(r), r.to_log_string());
    else
      refused(i, r, "after end of data");
  }
  void refused_all(const Reply& r, std::string_view step) {
    for (std::size_t i = 0; i < out_.size(); ++i) refused(i, r, step);
  }
  void deferred_all(const Reply& r, std::string_view step) {
    for (std::size_t i = 0; i < out_.size(); ++i) deferred(i, r, step);
  }
  void fail_all(EnhancedStatus enhanced, const std::string& text) {
    for (std::size_t i = 0; i < out_.size(); ++i) decide(i, LmtpStatus::failed, enhanced, text);
  }
  // Connection trouble: every recipient still open is deferred.
  void broken(const Error& e, std::string_view phase) {
    std::string text;
    EnhancedStatus enhanced{4, 4, 2};
    switch (e.code) {
      case Errc::limit:
      case Errc::parse:
        text = "bad reply from " + peer_ + " while " + std::string(phase) + ": " + e.message;
        enhanced = {4, 5, 0};
        break;
      case Errc::invalid_argument:
        text = "cannot talk to " + peer_ + " while " + std::string(phase) + ": " + e.message;
        enhanced = {4, 5, 0};
        break;
      default:
        text = "lost connection with " + peer_ + " while " + std::string(phase) + ": " + e.message;
        break;
    }
    for (std::size_t i = 0; i < out_.size(); ++i) decide(i, LmtpStatus::deferred, enhanced, text);
  }

  std::vector<LmtpOutcome> take() { return std::move(out_); }

 private:
  // RFC 2034 §3: enhanced codes are meaningful once the server announced them.
  EnhancedStatus status_of(const Reply& r) const {
    if (enhanced_codes_ && r.enhanced) return *r.enhanced;
    return EnhancedStatus{r.code / 100, 0, 0};
  }

  std::vector<LmtpOutcome> out_;
  std::vector<bool> decided_;
  std::string peer_;
  bool enhanced_codes_ = false;  // the server offered ENHANCEDSTATUSCODES
};

// QUIT, best effort, once the verdicts are in; only on a connection that is
// still in step with the server.
asio::awaitable<void> quit(smtp::Connection& conn) {
  std::string line = "QUIT";
  auto ignored = co_await conn.command(std::move(line));
  (void)ignored;
}

// Sends the message text and the end mark, in blocks.
asio::awaitable<Result<void>> send_text(smtp::Connection& conn, const std::vector<std::string_view>& slices) {
  smtp::DataEncoder encoder;
  std::string block;
  block.reserve(limits::kLmtpDataBlockBytes * 2 + 8);  // a block of text at worst doubles (bare LF -> CRLF)
  for (std::string_view slice : slices) {
    for (std::size_t pos = 0; pos < slice.size(); pos += limits::kLmtpDataBlockBytes) {
      encoder.push(slice.substr(pos, limits::kLmtpDataBlockBytes), block);
      if (block.size() < limits::kLmtpDataBlockBytes) continue;
      conn.queue(block);
      block.clear();
      auto sent = co_await conn.flush();
      if (!sent) co_return sent.error();
    }
  }
  encoder.finish(block);
  conn.queue(block);
  co_return co_await conn.flush();
}

asio::awaitable<std::vector<LmtpOutcome>> transaction(const LmtpDestination& destination, const LmtpEnvelope& envelope,
                                                      const std::vector<std::string_view>& slices,
                                                      const LmtpOptions& options) {
  smtp::SessionConfig config;
  config.timeouts.connect = options.timeouts.connect;
  config.timeouts.read = options.timeouts.command;
  config.timeouts.write = options.timeouts.command;
  config.timeouts.session = options.timeouts.session;
  config.reply_limits = options.reply_limits;
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address(destination.address.to_string()), destination.port);
  auto connected = co_await smtp::Connection::connect(endpoint, config);
  if (!connected) {
    const std::string why = "connect to " + destination.text() + ": " + connected.error().message;
    co_return std::vector<LmtpOutcome>(envelope.recipients.size(), LmtpOutcome{LmtpStatus::deferred, {4, 4, 1}, why});
  }
  smtp::Connection conn = std::move(*connected);
  std::string peer = destination.text();
  co_return co_await lmtp_dialogue(conn, std::move(peer), envelope, slices, options);
}

// The steps of the dialogue; each exit leaves a verdict for every recipient.
asio::awaitable<void> run_steps(smtp::Connection& conn, Verdicts& v, const LmtpEnvelope& envelope,
                                const std::vector<std::string_view>& slices, const LmtpOptions& options) {
  const std::size_t n = envelope.recipients.size();
  conn.timeouts().read = options.timeouts.command;
  conn.timeouts().write = options.timeouts.command;

  // --- greeting (RFC 5321 §4.3.1: 220, or 554 / 421 to refuse) ------------
  auto greeting = co_await conn.read_reply();
  if (!greeting) {
    v.broken(greeting.error(), "receiving the greeting");
    co_return;
  }
  if (greeting->code != 220) {
    v.deferred_all(*greeting, "in its greeting");
    co_await quit(conn);
    co_return;
  }

  // --- LHLO (RFC 2033 §4.1) ------------------------------------------------
  std::string lhlo_line = "LHLO " + options.lhlo_name;
  auto lhlo = co_await conn.command(std::move(lhlo_line));
  if (!lhlo) {
    v.broken(lhlo.error(), "sending LHLO");
    co_return;
  }
  const smtp::EhloCapabilities caps = smtp::parse_ehlo(*lhlo);
  if (!caps.ok) {
    v.deferred_all(*lhlo, "in its reply to LHLO");
    co_await quit(conn);
    co_return;
  }
  v.set_enhanced_codes(caps.enhanced_status_codes());

  // --- what the message needs ---------------------------------------------
  bool envelope_utf8 = !is_ascii(envelope.reverse_path);
  for (std::string_view r : envelope.recipients) envelope_utf8 = envelope_utf8 || !is_ascii(r);
  const bool utf8_header = envelope.smtputf8 && header_non_ascii(slices);
  if ((envelope_utf8 || utf8_header) && !caps.smtputf8()) {
    // RFC 6531 §3.2: "If the SMTPUTF8 SMTP extension is not offered by the
    // SMTP server, the SMTPUTF8-aware SMTP client MUST NOT transmit an
    // internationalized email address and MUST NOT transmit a mail message
    // containing internationalized mail headers".
    v.fail_all(envelope_utf8 ? EnhancedStatus{5, 6, 7} : EnhancedStatus{5, 6, 9},
               "SMTPUTF8 is required, but was not offered by " + v.peer());
    co_await quit(conn);
    co_return;
  }
  std::vector<std::string> lines;
  lines.reserve(n + 1);
  lines.push_back("MAIL FROM:<" + std::string(envelope.reverse_path) + ">");
  if (caps.eight_bit_mime() && any_eight_bit(slices)) lines.front() += " BODY=8BITMIME";
  if (envelope_utf8 || utf8_header) lines.front() += " SMTPUTF8";
  for (std::string_view r : envelope.recipients) lines.push_back("RCPT TO:<" + std::string(r) + ">");

  // --- MAIL and RCPT: groups of one, or pipelined (RFC 2920) ----------------
  // Line 0 is MAIL, line i + 1 the RCPT of recipient i.
  const std::size_t group_size = caps.pipelining() ? limits::kLmtpPipelineRcpts : 1;
  std::vector<std::size_t> accepted;
  std::size_t next = 0;
  while (next < lines.size()) {
    const std::size_t end = std::min(lines.size(), next + group_size + (next == 0 && caps.pipelining() ? 1 : 0));
    std::vector<std::string> group(lines.begin() + static_cast<std::ptrdiff_t>(next),
                                   lines.begin() + static_cast<std::ptrdiff_t>(end));
    auto replies = co_await conn.pipeline(std::move(group));
    if (!replies) {
      v.broken(replies.error(), next == 0 ? "sending MAIL FROM" : "sending RCPT TO");
      co_return;
    }
    for (std::size_t k = 0; k < replies->size(); ++k) {
      const std::size_t line = next + k;
      const Reply& r = (*replies)[k];
      if (line == 0) {
        if (!r.positive_completion()) {
          // The RCPTs pipelined behind a refused MAIL were refused for lack
          // of a transaction: MAIL's reply decides for every recipient.
          v.refused_all(r, "to MAIL FROM");
          co_await quit(conn);
          co_return;
        }
      } else if (r.positive_completion()) {
        accepted.push_back(line - 1);
      } else {
        v.refused(line - 1, r, "to RCPT TO");
      }
    }
    next = end;
  }
  if (accepted.empty()) {
    co_await quit(conn);
    co_return;
  }

  // --- DATA and the text --------------------------------------------------
  std::string data_line = "DATA";
  auto data = co_await conn.command(std::move(data_line));
  if (!data) {
    v.broken(data.error(), "sending DATA");
    co_return;
  }
  if (data->code != 354) {
    for (std::size_t i : accepted) v.refused(i, *data, "to DATA");
    co_await quit(conn);
    co_return;
  }
  conn.timeouts().write = options.timeouts.data;
  auto sent = co_await send_text(conn, slices);
  if (!sent) {
    v.broken(sent.error(), "sending the message text");
    co_return;
  }

  // --- one reply per accepted recipient, in RCPT order (RFC 2033 §4.2) ------
  conn.timeouts().read = options.timeouts.data_done;
  for (std::size_t i : accepted) {
    auto reply = co_await conn.read_reply();
    if (!reply) {
      // Recipients answered before the break keep their verdicts: their
      // copies are in the store (or refused) already.
      v.broken(reply.error(), "waiting for the replies after end of data");
      co_return;
    }
    v.final_reply(i, *reply);
  }
  conn.timeouts().read = options.timeouts.command;
  conn.timeouts().write = options.timeouts.command;
  co_await quit(conn);
}

}  // namespace

asio::awaitable<std::vector<LmtpOutcome>> lmtp_dialogue(smtp::Connection& conn, std::string peer,
                                                        const LmtpEnvelope& envelope,
                                                        const std::vector<std::string_view>& slices,
                                                        const LmtpOptions& options) {
  Verdicts v(envelope.recipients.size(), std::move(peer));
  if (!envelope.recipients.empty()) co_await run_steps(conn, v, envelope, slices, options);
  conn.close();
  co_return v.take();
}

std::vector<LmtpOutcome> deliver_lmtp(const LmtpDestination& destination, const LmtpEnvelope& envelope,
                                      const std::vector<std::string_view>& slices, const LmtpOptions& options) {
  // Declared before the io_context: if the deadline below stops the
  // io_context with the coroutine still suspended, its frame is destroyed
  // with the io_context and never writes here again.
  std::optional<std::vector<LmtpOutcome>> result;
  std::string failure;
  {
    asio::io_context io(1);
    asio::co_spawn(io, transaction(destination, envelope, slices, options),
                   [&](std::exception_ptr e, std::vector<LmtpOutcome> out) {
                     if (!e) {
                       result = std::move(out);
                       return;
                     }
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& ex) {
                       failure = ex.what();
                     } catch (...) {
                       failure = "unknown exception";
                     }
                   });
    io.run_for(options.timeouts.session + kWindDownMargin);
  }
  if (result && result->size() == envelope.recipients.size()) return std::move(*result);
  const std::string text = failure.empty()
                               ? "LMTP transaction with " + destination.text() + " did not finish within its deadline"
                               : "LMTP transaction with " + destination.text() + " failed: " + failure;
  return std::vector<LmtpOutcome>(envelope.recipients.size(), LmtpOutcome{LmtpStatus::deferred, {4, 4, 2}, text});
}

}  // namespace mxsec::delivery

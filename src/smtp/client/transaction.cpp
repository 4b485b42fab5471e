#include "smtp/client/transaction.hpp"

#include <algorithm>
#include <cstring>
#include <optional>

#include "smtp/proto/data_encoder.hpp"

namespace mxsec::smtp {

const char* to_string(RecipientStatus s) {
  switch (s) {
    case RecipientStatus::delivered: return "sent";
    case RecipientStatus::deferred: return "deferred";
    case RecipientStatus::failed: return "bounced";
  }
  return "unknown";
}

// --- verdicts -------------------------------------------------------------------

TransactionVerdicts::TransactionVerdicts(std::size_t recipients, std::string peer)
    : out_(recipients), decided_(recipients, false), peer_(std::move(peer)) {}

void TransactionVerdicts::decide(std::size_t i, RecipientStatus status, EnhancedStatus enhanced, std::string text) {
  if (decided_[i]) return;
  decided_[i] = true;
  out_[i] = RecipientOutcome{status, enhanced, std::move(text)};
}

// RFC 2034 §3: enhanced codes are meaningful once the server announced them.
EnhancedStatus TransactionVerdicts::status_of(const Reply& r) const {
  if (enhanced_codes_ && r.enhanced) return *r.enhanced;
  return EnhancedStatus{r.code / 100, 0, 0};
}

void TransactionVerdicts::refused(std::size_t i, const Reply& r, std::string_view step) {
  if (r.transient_failure() || r.permanent_failure())
    decide(i, r.permanent_failure() ? RecipientStatus::failed : RecipientStatus::deferred, status_of(r),
           r.to_log_string());
  else
    deferred(i, r, step);
}

void TransactionVerdicts::deferred(std::size_t i, const Reply& r, std::string_view step) {
  if (r.transient_failure()) {
    decide(i, RecipientStatus::deferred, status_of(r), r.to_log_string());
  } else if (r.permanent_failure()) {
    const EnhancedStatus s = status_of(r);
    decide(i, RecipientStatus::deferred, {4, s.subject, s.detail},
           peer_ + " refused the session " + std::string(step) + ": " + r.to_log_string());
  } else {
    decide(i, RecipientStatus::deferred, {4, 5, 0},
           "unexpected reply from " + peer_ + " " + std::string(step) + ": " + r.to_log_string());
  }
}

void TransactionVerdicts::final_reply(std::size_t i, const Reply& r) {
  if (r.positive_completion())
    decide(i, RecipientStatus::delivered, status_of(r), r.to_log_string());
  else
    refused(i, r, "after end of data");
}

void TransactionVerdicts::refused_all(const Reply& r, std::string_view step) {
  for (std::size_t i = 0; i < out_.size(); ++i) refused(i, r, step);
}

void TransactionVerdicts::deferred_all(const Reply& r, std::string_view step) {
  for (std::size_t i = 0; i < out_.size(); ++i) deferred(i, r, step);
}

void TransactionVerdicts::fail_all(EnhancedStatus enhanced, const std::string& text) {
  for (std::size_t i = 0; i < out_.size(); ++i) decide(i, RecipientStatus::failed, enhanced, text);
}

void TransactionVerdicts::defer_all(EnhancedStatus enhanced, const std::string& text) {
  for (std::size_t i = 0; i < out_.size(); ++i) decide(i, RecipientStatus::deferred, enhanced, text);
}

void TransactionVerdicts::broken(const Error& e, std::string_view phase) {
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
  defer_all(enhanced, text);
}

// --- MAIL parameters -------------------------------------------------------------

namespace {

bool is_ascii(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
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

// A line we send must be one line: CR or LF would smuggle a command, NUL
// is not SMTP.
bool sendable(std::string_view line) { return line.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos; }

}  // namespace

MessageNeeds message_needs(std::string_view reverse_path, const std::vector<std::string_view>& recipients,
                           const std::vector<std::string_view>& slices, bool received_smtputf8) {
  MessageNeeds n;
  n.eight_bit = std::any_of(slices.begin(), slices.end(), [](std::string_view s) { return !is_ascii(s); });
  n.envelope_utf8 = !is_ascii(reverse_path) ||
                    std::any_of(recipients.begin(), recipients.end(), [](std::string_view r) { return !is_ascii(r); });
  n.header_utf8 = received_smtputf8 && header_non_ascii(slices);
  return n;
}

bool refuse_unsupported_utf8(const MessageNeeds& needs, const EhloCapabilities& caps, TransactionVerdicts& v) {
  if (!needs.smtputf8() || caps.smtputf8()) return false;
  // RFC 6531 §3.2: "If the SMTPUTF8 SMTP extension is not offered by the
  // SMTP server, the SMTPUTF8-aware SMTP client MUST NOT transmit an
  // internationalized email address and MUST NOT transmit a mail message
  // containing internationalized mail headers".
  v.fail_all(needs.envelope_utf8 ? EnhancedStatus{5, 6, 7} : EnhancedStatus{5, 6, 9},
             "SMTPUTF8 is required, but was not offered by " + v.peer());
  return true;
}

const char* to_string(Downgrade8bit d) { return d == Downgrade8bit::bounce ? "bounce" : "convert"; }

EightBitDecision decide_eight_bit(const MessageNeeds& needs, const EhloCapabilities& caps,
                                  const std::vector<std::string_view>& slices, Downgrade8bit mode,
                                  TransactionVerdicts& v) {
  EightBitDecision d;
  if (!needs.eight_bit || caps.eight_bit_mime()) return d;
  // RFC 6152 §3 (see the contract): convert to 7 bit, or fail permanently.
  const std::string lead = "conversion required but not supported: the message holds 8-bit octets, " + v.peer() +
                           " does not offer 8BITMIME, and ";
  auto plan = codec::plan_downgrade(slices);
  if (!plan) {
    v.fail_all({5, 6, 3}, lead + "it cannot be converted to 7 bit: " + plan.error().message);
    d.refused = true;
  } else if (plan->dkim_signed && mode == Downgrade8bit::bounce) {
    v.fail_all({5, 6, 3}, lead + "it carries a DKIM-Signature that converting it would break "
                                 "([outbound] downgrade_8bit = \"bounce\")");
    d.refused = true;
  } else {
    d.plan = std::move(*plan);
  }
  return d;
}

MailParameters basic_mail_parameters(const MessageNeeds& needs, const EhloCapabilities& caps) {
  MailParameters p;
  p.body_8bitmime = needs.eight_bit && caps.eight_bit_mime();
  p.smtputf8 = needs.smtputf8();
  return p;
}

std::string mail_from_line(std::string_view reverse_path, const MailParameters& p) {
  std::string line = "MAIL FROM:<" + std::string(reverse_path) + ">";
  if (p.size) line += " SIZE=" + std::to_string(*p.size);
  if (p.body_8bitmime) line += " BODY=8BITMIME";
  if (p.smtputf8) line += " SMTPUTF8";
  if (p.ret == DsnRet::full) line += " RET=FULL";
  if (p.ret == DsnRet::hdrs) line += " RET=HDRS";
  if (!p.envid.empty()) line += " ENVID=" + xtext_encode(p.envid);
  if (p.requiretls) line += " REQUIRETLS";
  return line;
}

SessionConfig client_session_config(std::chrono::milliseconds connect, std::chrono::milliseconds command,
                                    std::chrono::milliseconds handshake, std::chrono::milliseconds session,
                                    ReplyLimits reply_limits) {
  SessionConfig config;
  config.timeouts.connect = connect;
  config.timeouts.read = command;
  config.timeouts.write = command;
  config.timeouts.handshake = handshake;
  config.timeouts.session = session;
  config.reply_limits = reply_limits;
  return config;
}

asio::ip::tcp::endpoint endpoint_of(const IpAddress& a, std::uint16_t port) {
  if (a.is_v4()) {
    asio::ip::address_v4::bytes_type b;
    std::memcpy(b.data(), a.bytes(), b.size());
    return {asio::ip::address_v4(b), port};
  }
  asio::ip::address_v6::bytes_type b;
  std::memcpy(b.data(), a.bytes(), b.size());
  return {asio::ip::address_v6(b), port};
}

bool is_wire_name(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= 33 && c <= 126; });
}

// --- the transaction ----------------------------------------------------------------

namespace {

asio::awaitable<Result<void>> write_block(Connection& conn, std::string& block) {
  conn.queue(block);
  block.clear();
  co_return co_await conn.flush();
}

}  // namespace

asio::awaitable<Result<void>> send_text(Connection& conn, const std::vector<std::string_view>& slices,
                                        std::size_t block_bytes, const codec::DowngradePlan* downgrade) {
  block_bytes = std::max<std::size_t>(block_bytes, 1);
  DataEncoder encoder;
  std::string block;
  block.reserve(block_bytes * 2 + 8);  // a block of text at worst doubles (bare LF -> CRLF)
  // The converted text comes in pieces from the stream, the text as it is
  // in pieces of its slices: neither is ever held whole.
  std::optional<codec::DowngradeStream> converted;
  if (downgrade) converted.emplace(*downgrade, slices);
  std::string piece;
  std::size_t slice = 0;
  std::size_t offset = 0;
  for (;;) {
    std::string_view next;
    if (converted) {
      piece.clear();
      if (!converted->next(piece, block_bytes)) break;
      next = piece;
    } else {
      while (slice < slices.size() && offset >= slices[slice].size()) {
        ++slice;
        offset = 0;
      }
      if (slice >= slices.size()) break;
      next = slices[slice].substr(offset, block_bytes);
      offset += next.size();
    }
    encoder.push(next, block);
    if (block.size() < block_bytes) continue;
    auto sent = co_await write_block(conn, block);
    if (!sent) co_return sent.error();
  }
  encoder.finish(block);
  co_return co_await write_block(conn, block);
}

namespace {

asio::awaitable<TransactionEnd> transaction_steps(Connection& conn, TransactionVerdicts& v, const TransactionPlan& plan,
                                                  const std::vector<std::string_view>& slices) {
  // Line 0 is MAIL, line i + 1 the RCPT of recipient i.
  std::vector<std::string> lines;
  lines.reserve(plan.rcpts.size() + 1);
  lines.push_back(plan.mail);
  lines.insert(lines.end(), plan.rcpts.begin(), plan.rcpts.end());
  for (const auto& l : lines)
    if (!sendable(l)) {
      v.defer_all({4, 5, 0}, "cannot talk to " + v.peer() +
                                 ": an address holds CR, LF or NUL; such a command line is never sent");
      co_return TransactionEnd::refused;
    }

  // --- MAIL and RCPT: groups of one, or pipelined (RFC 2920) ----------------
  const bool pipelining = plan.pipeline_group > 1;
  std::vector<std::size_t> accepted;
  std::size_t next = 0;
  while (next < lines.size()) {
    const std::size_t end = std::min(lines.size(), next + plan.pipeline_group + (next == 0 && pipelining ? 1 : 0));
    std::vector<std::string> group(lines.begin() + static_cast<std::ptrdiff_t>(next),
                                   lines.begin() + static_cast<std::ptrdiff_t>(end));
    conn.timeouts().read = next == 0 ? plan.timeouts.mail : plan.timeouts.rcpt;
    auto replies = co_await conn.pipeline(std::move(group));
    if (!replies) {
      v.broken(replies.error(), next == 0 ? "sending MAIL FROM" : "sending RCPT TO");
      co_return TransactionEnd::broken;
    }
    for (std::size_t k = 0; k < replies->size(); ++k) {
      const std::size_t line = next + k;
      const Reply& r = (*replies)[k];
      if (line == 0) {
        if (!r.positive_completion()) {
          // The RCPTs pipelined behind a refused MAIL were refused for lack
          // of a transaction: MAIL's reply decides for every recipient.
          v.refused_all(r, "to MAIL FROM");
          co_return TransactionEnd::refused;
        }
      } else if (r.positive_completion()) {
        accepted.push_back(line - 1);
      } else {
        v.refused(line - 1, r, "to RCPT TO");
      }
    }
    next = end;
  }
  if (accepted.empty()) co_return TransactionEnd::refused;

  // --- DATA and the text --------------------------------------------------
  conn.timeouts().read = plan.timeouts.data;
  std::string data_line = "DATA";
  auto data = co_await conn.command(std::move(data_line));
  if (!data) {
    v.broken(data.error(), "sending DATA");
    co_return TransactionEnd::broken;
  }
  if (data->code != 354) {
    for (std::size_t i : accepted) v.refused(i, *data, "to DATA");
    co_return TransactionEnd::refused;
  }
  conn.timeouts().write = plan.timeouts.block;
  auto sent = co_await send_text(conn, slices, plan.block_bytes, plan.downgrade);
  if (!sent) {
    v.broken(sent.error(), "sending the message text");
    co_return TransactionEnd::broken;
  }

  // --- the replies after "." ----------------------------------------------
  conn.timeouts().read = plan.timeouts.done;
  if (plan.final_replies == FinalReplies::one) {
    // RFC 5321 §4.1.1.4: one reply for the whole transaction.
    auto reply = co_await conn.read_reply();
    if (!reply) {
      v.broken(reply.error(), "waiting for the reply after end of data");
      co_return TransactionEnd::broken;
    }
    for (std::size_t i : accepted) v.final_reply(i, *reply);
    co_return TransactionEnd::done;
  }
  // RFC 2033 §4.2: one reply per accepted recipient, in RCPT order.
  for (std::size_t i : accepted) {
    auto reply = co_await conn.read_reply();
    if (!reply) {
      // Recipients answered before the break keep their verdicts.
      v.broken(reply.error(), "waiting for the replies after end of data");
      co_return TransactionEnd::broken;
    }
    v.final_reply(i, *reply);
  }
  co_return TransactionEnd::done;
}

}  // namespace

asio::awaitable<TransactionEnd> run_transaction(Connection& conn, TransactionVerdicts& v, TransactionPlan plan,
                                                const std::vector<std::string_view>& slices) {
  auto end = co_await transaction_steps(conn, v, plan, slices);
  conn.timeouts().read = plan.timeouts.restore;
  conn.timeouts().write = plan.timeouts.restore;
  co_return end;
}

}  // namespace mxsec::smtp

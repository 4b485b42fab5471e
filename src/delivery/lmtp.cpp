#include "delivery/lmtp.hpp"

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <algorithm>
#include <exception>
#include <optional>

#include "smtp/proto/ehlo.hpp"

namespace mxsec::delivery {

std::string LmtpDestination::text() const {
  return "lmtp[" + address.to_string() + "]:" + std::to_string(port);
}

namespace {

// Past the session deadline the connection has closed itself; this margin
// only covers the coroutine winding down before the io_context gives up.
constexpr std::chrono::seconds kWindDownMargin{5};

// QUIT, best effort, once the verdicts are in; only on a connection that is
// still in step with the server.
asio::awaitable<void> quit(smtp::Connection& conn) {
  std::string line = "QUIT";
  auto ignored = co_await conn.command(std::move(line));
  (void)ignored;
}

asio::awaitable<std::vector<LmtpOutcome>> transaction(const LmtpDestination& destination, const LmtpEnvelope& envelope,
                                                      const std::vector<std::string_view>& slices,
                                                      const LmtpOptions& options) {
  const LmtpTimeouts& t = options.timeouts;
  const smtp::SessionConfig config =
      smtp::client_session_config(t.connect, t.command, limits::kTlsHandshakeTimeout, t.session, options.reply_limits);
  const asio::ip::tcp::endpoint endpoint = smtp::endpoint_of(destination.address, destination.port);
  auto connected = co_await smtp::Connection::connect(endpoint, config);
  if (!connected) {
    const std::string why = "connect to " + destination.text() + ": " + connected.error().message;
    co_return std::vector<LmtpOutcome>(envelope.recipients.size(), LmtpOutcome{smtp::RecipientStatus::deferred, {4, 4, 1}, why});
  }
  smtp::Connection conn = std::move(*connected);
  std::string peer = destination.text();
  co_return co_await lmtp_dialogue(conn, std::move(peer), envelope, slices, options);
}

// The steps of the dialogue; each exit leaves a verdict for every recipient.
asio::awaitable<void> run_steps(smtp::Connection& conn, smtp::TransactionVerdicts& v, const LmtpEnvelope& envelope,
                                const std::vector<std::string_view>& slices, const LmtpOptions& options) {
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

  // --- the transaction (smtp/client/transaction.hpp) -----------------------
  const smtp::MessageNeeds needs =
      smtp::message_needs(envelope.reverse_path, envelope.recipients, slices, envelope.smtputf8);
  if (smtp::refuse_unsupported_utf8(needs, caps, v)) {
    co_await quit(conn);
    co_return;
  }
  // RFC 6152 §3: a store without 8BITMIME gets the text converted to 7 bit.
  const smtp::EightBitDecision eight_bit =
      smtp::decide_eight_bit(needs, caps, slices, smtp::Downgrade8bit::convert, v);
  if (eight_bit.refused) {
    co_await quit(conn);
    co_return;
  }
  smtp::TransactionPlan plan;
  plan.mail = smtp::mail_from_line(envelope.reverse_path, smtp::basic_mail_parameters(needs, caps));
  plan.downgrade = eight_bit.plan ? &*eight_bit.plan : nullptr;
  plan.rcpts.reserve(envelope.recipients.size());
  for (std::string_view r : envelope.recipients) plan.rcpts.push_back("RCPT TO:<" + std::string(r) + ">");
  plan.pipeline_group = caps.pipelining() ? limits::kLmtpPipelineRcpts : 1;
  plan.block_bytes = limits::kLmtpDataBlockBytes;
  plan.final_replies = smtp::FinalReplies::per_recipient;
  plan.timeouts = {options.timeouts.command, options.timeouts.command, options.timeouts.command,
                   options.timeouts.data,    options.timeouts.data_done, options.timeouts.command};
  const smtp::TransactionEnd end = co_await smtp::run_transaction(conn, v, std::move(plan), slices);
  if (end != smtp::TransactionEnd::broken) co_await quit(conn);
}

}  // namespace

asio::awaitable<std::vector<LmtpOutcome>> lmtp_dialogue(smtp::Connection& conn, std::string peer,
                                                        const LmtpEnvelope& envelope,
                                                        const std::vector<std::string_view>& slices,
                                                        const LmtpOptions& options) {
  smtp::TransactionVerdicts v(envelope.recipients.size(), std::move(peer));
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
  return std::vector<LmtpOutcome>(envelope.recipients.size(), LmtpOutcome{smtp::RecipientStatus::deferred, {4, 4, 2}, text});
}

}  // namespace mxsec::delivery

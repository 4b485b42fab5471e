// delivery/notify.cpp: see notify.hpp.
#include "delivery/notify.hpp"

#include <spdlog/spdlog.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <algorithm>
#include <optional>

#include "codec/idna.hpp"
#include "core/strings.hpp"
#include "delivery/dsn.hpp"
#include "smtp/proto/command.hpp"

namespace mxsec::delivery {
namespace {

// RFC 3463 §3.5, X.4.7 Delivery time expired: "If possible, the code for
// the actual problem found when delivery was attempted should be returned
// rather than this code." So an expired recipient reports the status of the
// last reply, and 4.4.7 only when the last reason was not a reply.
constexpr std::string_view kExpiredStatus = "4.4.7";

// "5 days", "1 hour", "12 minutes", "0 seconds": the age, floored to the
// largest unit that fits.
std::string age_text(std::int64_t seconds) {
  struct Unit {
    std::int64_t seconds;
    const char* name;
  };
  for (const Unit u : {Unit{24 * 3600, "day"}, Unit{3600, "hour"}, Unit{60, "minute"}, Unit{1, "second"}}) {
    if (seconds < u.seconds && u.seconds > 1) continue;
    const std::int64_t n = seconds / u.seconds;
    return std::to_string(n) + " " + u.name + (n == 1 ? "" : "s");
  }
  return "0 seconds";
}

// Remote-MTA from a last_host such as "mx.example[192.0.2.1]:25": the name
// before the bracket, or the address inside it when there is no name or
// the name is an agent's ("lmtp[127.0.0.1]:24"). Local agents ("maildir")
// and "none" have no remote MTA.
std::string remote_mta_of(std::string_view host) {
  const std::size_t open = host.find('[');
  const std::size_t close = host.find(']');
  if (open == std::string_view::npos || close == std::string_view::npos || close < open) return {};
  const std::string_view name = host.substr(0, open);
  if (!name.empty() && name != "lmtp") return std::string(name);
  return std::string(host.substr(open + 1, close - open - 1));
}

bool is_local_domain(const config::ServerConfig& config, std::string_view domain_ascii) {
  for (const auto& d : config.domains)
    if (d.name_ascii == domain_ascii) return true;
  return false;
}

// The whole original, or (`header_only`) its slices up to the end of the
// header, which is all a header-only DSN reads.
std::string original_text(const std::vector<std::string_view>& slices, bool header_only) {
  std::string out;
  for (std::string_view s : slices) {
    if (header_only && out.find("\r\n\r\n") != std::string::npos) break;
    out += s;
  }
  return out;
}

asio::awaitable<void> commit_into(queue::Spool& spool, queue::MessageWriter writer, queue::Envelope envelope,
                                  std::optional<Result<void>>& out) {
  auto committing = spool.commit(std::move(writer), std::move(envelope), std::string());
  Result<void> done = co_await std::move(committing);
  out = done;
}

// Spool::commit() run to completion on this (runner) thread: the runner's
// threads do blocking I/O by design (runner.hpp).
Result<void> commit_now(queue::Spool& spool, queue::MessageWriter writer, queue::Envelope envelope) {
  asio::io_context io;
  std::optional<Result<void>> out;
  asio::co_spawn(io, commit_into(spool, std::move(writer), std::move(envelope), out), asio::detached);
  io.run();
  if (!out) return make_error(Errc::internal, "commit did not complete");
  return *out;
}

// The one recipient of a DSN: the original sender, routed by its A-label domain.
queue::Recipient sender_as_recipient(const std::string& sender) {
  queue::Recipient r;
  r.address = sender;
  const std::size_t at = sender.rfind('@');
  const std::string domain = at == std::string::npos ? std::string() : sender.substr(at + 1);
  auto ascii = domain.empty() || domain.front() == '[' ? Result<std::string>(to_lower(domain))
                                                       : codec::to_a_label_domain(domain);
  // A domain that does not convert cannot be routed; the DSN then waits and
  // expires like any undeliverable message (from <>, so nothing follows).
  r.domain_ascii = ascii ? *ascii : to_lower(domain);
  return r;
}

struct Notice {
  DsnAction action;
  std::vector<std::size_t> recipients;  // indices into the envelope's
};

const char* log_name(DsnAction a) {
  switch (a) {
    case DsnAction::failed: return "non-delivery notification";
    case DsnAction::delayed: return "delay notification";
    case DsnAction::delivered:
    case DsnAction::relayed: return "delivery status notification";
  }
  return "notification";
}

// `reason_before_expiry`: the last reason of a recipient expire() bounced
// in this attempt, or null.
DsnRecipient report_recipient(const queue::Recipient& r, const RecipientBefore& before, DsnAction action,
                              const std::string* reason_before_expiry, std::int64_t now) {
  DsnRecipient d;
  d.address = r.address;
  d.orcpt = r.orcpt;
  if (reason_before_expiry) d.status = reply_status(*reason_before_expiry).value_or(std::string(kExpiredStatus));
  d.remote_mta = remote_mta_of(r.last_host);
  // A local agent's success text names the mailbox path, which is not the
  // sender's business; a server's reply (LMTP "250 2.1.5 ...") is.
  const bool reply = r.last_result.size() >= 3 && is_digit(r.last_result[0]);
  if (action != DsnAction::delivered || reply) d.diagnostic = r.last_result;
  if (r.attempts != before.attempts) d.last_attempt = now;
  return d;
}

Result<queue::Envelope> queue_dsn(queue::Spool& spool, const config::ServerConfig& config, const queue::Envelope& e,
                                  const Snapshot& before, const Notice& notice,
                                  const std::vector<std::size_t>& expired, const std::vector<std::string>& reasons,
                                  const std::vector<std::string_view>& slices, std::int64_t now,
                                  const NotifyOptions& options) {
  auto writer = spool.create();
  if (!writer) return writer.error();
  DsnReport report;
  report.action = notice.action;
  report.reporting_mta = config.hostname_ascii;
  report.queue_id = e.id;
  report.sender = e.reverse_path;
  report.envid = e.envid;
  report.arrival = e.arrival;
  report.now = now;
  report.retry_until = e.arrival + options.max_lifetime.count();
  report.message_id = writer->id();
  report.smtputf8 = e.smtputf8;
  report.requiretls = e.requiretls;
  report.ret = static_cast<smtp::DsnRet>(e.dsn_ret);
  for (const std::size_t i : notice.recipients) {
    const bool was_expired = std::find(expired.begin(), expired.end(), i) != expired.end();
    report.recipients.push_back(
        report_recipient(e.recipients[i], before[i], notice.action, was_expired ? &reasons[i] : nullptr, now));
  }
  // Only a failed DSN without RET=HDRS (or REQUIRETLS) may return more than
  // the header; the builder decides from the whole text whether it does.
  const bool header_only =
      notice.action != DsnAction::failed || report.ret == smtp::DsnRet::hdrs || report.requiretls;
  const DsnMessage dsn = build_dsn(report, original_text(slices, header_only));
  if (auto written = writer->write(dsn.text); !written) return written.error();
  queue::Envelope d;
  d.id = writer->id();
  d.reverse_path = "";  // RFC 5321 §6.1, RFC 3461 §6.2
  d.recipients.push_back(sender_as_recipient(e.reverse_path));
  d.arrival = now;
  d.smtputf8 = dsn.global;
  d.eight_bit = dsn.eight_bit;
  d.requiretls = e.requiretls;
  d.listener = "local";
  d.text_bytes = dsn.text.size();
  if (auto committed = commit_now(spool, std::move(*writer), d); !committed) return committed.error();
  return d;
}

}  // namespace

Snapshot snapshot(const queue::Envelope& e) {
  Snapshot s;
  s.reserve(e.recipients.size());
  for (const auto& r : e.recipients) s.push_back({r.state, r.attempts});
  return s;
}

bool notify_allows(unsigned notify, unsigned flag) {
  // RFC 3461 §4.1: "NOTIFY=NEVER requests that a DSN not be returned to the
  // sender under any conditions"; without NOTIFY, mxsec reports as if
  // FAILURE,DELAY had been given.
  if (notify == 0) notify = smtp::kNotifyFailure | smtp::kNotifyDelay;
  if (notify & smtp::kNotifyNever) return false;
  return (notify & flag) != 0;
}

std::vector<std::size_t> expire(queue::Envelope& e, std::int64_t now, std::chrono::seconds max_lifetime) {
  std::vector<std::size_t> out;
  if (now - e.arrival < max_lifetime.count()) return out;
  for (std::size_t i = 0; i < e.recipients.size(); ++i) {
    queue::Recipient& r = e.recipients[i];
    if (r.state != queue::RecipientState::pending || r.attempts == 0) continue;
    r.state = queue::RecipientState::bounced;
    r.last_result = "message expired after " + age_text(now - e.arrival) + " in the queue: " + r.last_result;
    spdlog::info("{}: to=<{}>, relay=none, delay={}, status=bounced ({})", e.id, escape_for_log(r.address),
                 now - e.arrival, escape_for_log(r.last_result));
    out.push_back(i);
  }
  return out;
}

std::vector<queue::Envelope> notify_sender(queue::Spool& spool, const config::ServerConfig& config,
                                           queue::Envelope& e, const Snapshot& before,
                                           const std::vector<std::string_view>& original, std::int64_t now,
                                           const NotifyOptions& options) {
  std::vector<queue::Envelope> queued;
  if (before.size() != e.recipients.size()) {
    spdlog::error("{}: recipients changed during the attempt; no notifications", e.id);
    return queued;
  }
  std::vector<std::string> reasons;  // before expiry: for its status, and to restore it if set back to pending
  for (const auto& r : e.recipients) reasons.push_back(r.state == queue::RecipientState::pending ? r.last_result : "");
  const std::vector<std::size_t> expired = expire(e, now, options.max_lifetime);
  Notice failed{DsnAction::failed, {}};
  Notice delayed{DsnAction::delayed, {}};
  Notice delivered{DsnAction::delivered, {}};
  Notice relayed{DsnAction::relayed, {}};
  bool pending = false;
  for (std::size_t i = 0; i < e.recipients.size(); ++i) {
    const queue::Recipient& r = e.recipients[i];
    const bool was_pending = before[i].state == queue::RecipientState::pending;
    pending |= r.state == queue::RecipientState::pending;
    if (was_pending && r.state == queue::RecipientState::bounced && notify_allows(r.notify, smtp::kNotifyFailure))
      failed.recipients.push_back(i);
    if (was_pending && r.state == queue::RecipientState::delivered && notify_allows(r.notify, smtp::kNotifySuccess)) {
      // RFC 3461 §5.2.3: a delivery into the recipient's mailbox is
      // "delivered". §5.2.1: relayed to a server that offers DSN, the
      // NOTIFY went on with the message and that server answers it; §5.2.2:
      // relayed to one that does not, we answer it now with "relayed".
      if (is_local_domain(config, r.domain_ascii)) delivered.recipients.push_back(i);
      else if (!r.dsn_passed_on) relayed.recipients.push_back(i);
    }
  }
  const bool delay_due = !e.delay_notified && options.delay_warning.count() > 0 && pending &&
                         now - e.arrival >= options.delay_warning.count();
  if (delay_due) {
    for (std::size_t i = 0; i < e.recipients.size(); ++i)
      if (e.recipients[i].state == queue::RecipientState::pending &&
          notify_allows(e.recipients[i].notify, smtp::kNotifyDelay))
        delayed.recipients.push_back(i);
    e.delay_notified = true;  // once, whether or not anyone asked for it
  }
  for (const Notice* n : {&failed, &delayed, &delivered, &relayed}) {
    if (n->recipients.empty()) continue;
    if (e.reverse_path.empty()) {
      spdlog::info("{}: no sender {}: the sender is <> (RFC 5321 §6.1)", e.id, log_name(n->action));
      continue;
    }
    auto dsn = queue_dsn(spool, config, e, before, *n, expired, reasons, original, now, options);
    if (dsn) {
      spdlog::info("{}: sender {}: {}", e.id, log_name(n->action), dsn->id);
      queued.push_back(std::move(*dsn));
      continue;
    }
    spdlog::error("{}: cannot queue the sender {}: {}", e.id, log_name(n->action), dsn.error().message);
    // Not lost: the recipients wait and the notice is tried again (notify.hpp).
    if (n->action == DsnAction::failed)
      for (const std::size_t i : n->recipients) {
        e.recipients[i].state = queue::RecipientState::pending;
        e.recipients[i].next_attempt = now + options.retry_after.count();
        if (std::find(expired.begin(), expired.end(), i) != expired.end()) e.recipients[i].last_result = reasons[i];
      }
    if (n->action == DsnAction::delayed) e.delay_notified = false;
  }
  return queued;
}

}  // namespace mxsec::delivery

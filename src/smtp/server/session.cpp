#include "smtp/server/session.hpp"

#include <spdlog/spdlog.h>

#include <asio/co_spawn.hpp>
#include <asio/this_coro.hpp>
#include <asio/use_awaitable.hpp>
#include <chrono>
#include <string_view>
#include <utility>
#include <vector>

#include "core/date.hpp"
#include "core/strings.hpp"
#include "smtp/proto/command.hpp"
#include "smtp/proto/data.hpp"
#include "smtp/server/outbound_dkim.hpp"
#include "smtp/server/sasl.hpp"

namespace mxsec::smtp::server {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Text gathered from DATA/BDAT before it is handed to the spool writer.
constexpr std::size_t kTextChunkBytes = 64 * 1024;
// RFC 5321 §4.5.3.1.10 allows a server to answer 452 past its limit; the
// minimum data rate is judged only after this grace period.
constexpr std::chrono::seconds kDataRateGrace{30};

enum class Flow { next, close };

// A named coroutine (not a lambda in a co_await expression: g++ 12 mishandles
// those), run on the blocking pool by co_spawn; the awaiting session
// resumes on its own executor.
asio::awaitable<bool> verify_password(const UserDb* users, std::string user, std::string password) {
  const bool valid = users->verify(user, password);
  wipe_secret(password);
  co_return valid;
}

struct Transaction {
  std::optional<MailFrom> mail;
  std::vector<RcptTo> recipients;
  auth::spf::SpfResult spf;
  std::optional<auth::spf::SpfResult> helo_spf;
  bool spf_checked = false;
  // BDAT (RFC 3030): the message being built chunk by chunk.
  std::optional<queue::MessageWriter> bdat_writer;
  std::optional<BdatDecoder> bdat;
  bool bdat_failed = false;  // a chunk was refused: the rest of the transaction is
};

// The outcome of reading one message text (DATA or BDAT).
struct TextOutcome {
  TextCounters counters;
  bool write_failed = false;
  std::string write_error;
};

bool safe_local_part(std::string_view local) {
  // Maildir paths substitute the local part (%u): nothing that can leave
  // the directory or hide as a dot file.
  if (local.empty() || local.front() == '.' || local.find("..") != std::string_view::npos) return false;
  for (unsigned char c : local) {
    if (c >= 0x80 || is_alnum(static_cast<char>(c))) continue;
    if (std::string_view("!#$&'*+-=?^_`{|}~.").find(static_cast<char>(c)) == std::string_view::npos) return false;
  }
  return true;
}

std::string received_protocol(bool smtputf8, bool esmtp, bool tls, bool authenticated) {
  // RFC 3848 (ESMTPS/ESMTPA/ESMTPSA) and RFC 6531 §4.3 (UTF8SMTP...).
  if (!esmtp) return "SMTP";
  std::string p = smtputf8 ? "UTF8SMTP" : "ESMTP";
  if (tls) p += "S";
  if (authenticated) p += "A";
  return p;
}

// Counts a session begun and running for as long as it lives.
class CountedSession {
 public:
  CountedSession(Counters* counters, config::ListenerKind listener) : counters_(counters), listener_(listener) {
    if (!counters_) return;
    counters_->sessions[listener_].inc();
    counters_->sessions_active[listener_].inc();
  }
  ~CountedSession() {
    if (counters_) counters_->sessions_active[listener_].dec();
  }
  CountedSession(const CountedSession&) = delete;
  CountedSession& operator=(const CountedSession&) = delete;

 private:
  Counters* counters_;
  config::ListenerKind listener_;
};

class Session {
 public:
  Session(Connection& c, ClientInfo client, Services& s)
      : conn_(c), client_(std::move(client)), services_(s), config_(*s.config), limits_(s.config->limits) {
    tls_active_ = client_.tls_on_connect;
    client_text_ = "[" + client_.address.to_string() + "]";
  }

  asio::awaitable<void> run() {
    const CountedSession counted(services_.counters, client_.listener);
    log_info("connect from {}", client_text_);
    conn_.queue("220 " + hostname() + " ESMTP mxsec\r\n");
    for (;;) {
      if (conn_.buffered() == 0 && conn_.queued() > 0) {
        // RFC 2920 §3.2: replies to a pipelined group may be held until
        // the client waits for them, i.e. until no more input is buffered.
        if (!co_await flush()) break;
      }
      auto line = co_await conn_.read_line();
      if (!line) {
        if (co_await on_read_error(line.error()) == Flow::close) break;
        continue;
      }
      if (co_await on_line(std::move(*line)) == Flow::close) break;
    }
    if (conn_.queued() > 0) co_await flush();
    conn_.close();
    log_info("disconnect from {} commands={} bad={}", client_text_, commands_, bad_commands_);
  }

 private:
  // --- replies ------------------------------------------------------------------
  void reply(int code, std::string_view status, std::string_view text) {
    // RFC 2034 §3: enhanced codes go with 2yz, 4yz and 5yz replies only.
    std::string line = std::to_string(code);
    line += ' ';
    if (!status.empty()) {
      line += status;
      line += ' ';
    }
    line += text;
    line += "\r\n";
    conn_.queue(line);
  }

  asio::awaitable<bool> flush() {
    auto sent = co_await conn_.flush();
    if (!sent) log_info("write to {} failed: {}", client_text_, sent.error().message);
    co_return static_cast<bool>(sent);
  }

  // Replies with 421 and ends the session (RFC 5321 §3.8).
  asio::awaitable<Flow> close_with(std::string_view status, std::string_view text) {
    reply(421, status, hostname() + " " + std::string(text));
    co_await flush();
    co_return Flow::close;
  }

  asio::awaitable<Flow> limit_hit(LimitName limit, std::string_view status, std::string_view text) {
    count_limit(limit);
    log_warn("limit {} reached by {}", to_string(limit), client_text_);
    co_return co_await close_with(status, text);
  }

  // A command refused for its syntax or its place in the dialogue.
  asio::awaitable<Flow> bad_command(int code, std::string_view status, std::string_view text) {
    reply(code, status, text);
    if (++bad_commands_ > limits_.bad_commands)
      co_return co_await limit_hit(LimitName::bad_commands, "4.7.0", "Error: too many errors");
    co_return Flow::next;
  }

  asio::awaitable<Flow> on_read_error(const Error& e) {
    if (e.code == Errc::limit) {
      count_limit(LimitName::line_bytes);
      co_return co_await bad_command(500, "5.5.6", "Error: line too long");
    }
    if (e.code == Errc::timeout) {
      count_limit(LimitName::timeout);
      log_warn("timeout ({}) for {}", e.message, client_text_);
    } else if (!conn_.eof()) {
      log_info("read from {} failed: {}", client_text_, e.message);
    }
    co_return Flow::close;
  }

  // --- dispatch -------------------------------------------------------------------
  asio::awaitable<Flow> on_line(Line line) {
    if (line.bare_lf)
      co_return co_await bad_command(500, "5.5.2", "Error: bare <LF> received; lines end with <CR><LF>");
    if (++commands_ > limits_.commands_per_session)
      co_return co_await limit_hit(LimitName::commands_per_session, "4.7.0", "Error: too many commands");
    Command cmd = parse_command(line.text);
    switch (cmd.verb) {
      case Verb::ehlo: co_return on_hello(cmd, true);
      case Verb::helo: co_return on_hello(cmd, false);
      case Verb::starttls: co_return co_await on_starttls(cmd);
      case Verb::auth: co_return co_await on_auth(cmd);
      case Verb::mail: co_return co_await on_mail(cmd);
      case Verb::rcpt: co_return co_await on_rcpt(cmd);
      case Verb::data: co_return co_await on_data(cmd);
      case Verb::bdat: co_return co_await on_bdat(cmd);
      case Verb::rset:
        reset_transaction();
        reply(250, "2.0.0", "Ok");
        co_return Flow::next;
      case Verb::noop: reply(250, "2.0.0", "Ok"); co_return Flow::next;
      case Verb::quit:
        reply(221, "2.0.0", "Bye");
        co_return Flow::close;
      case Verb::vrfy: reply(252, "2.5.0", "Cannot VRFY user, but will accept message"); co_return Flow::next;
      case Verb::expn: co_return co_await bad_command(502, "5.5.1", "Error: command not implemented");
      case Verb::help: reply(214, "2.0.0", "See RFC 5321"); co_return Flow::next;
      case Verb::unknown: break;
    }
    co_return co_await bad_command(500, "5.5.2", "Error: command not recognized");
  }

  // --- HELO / EHLO ----------------------------------------------------------------
  Flow on_hello(const Command& cmd, bool extended) {
    const std::string_view name = trim(cmd.argument);
    if (name.empty() || name.find(' ') != std::string_view::npos) {
      reply(501, "5.5.4", extended ? "Syntax: EHLO hostname" : "Syntax: HELO hostname");
      return Flow::next;
    }
    reset_transaction();
    helo_ = std::string(name);
    esmtp_ = extended;
    if (!extended) {
      conn_.queue("250 " + hostname() + "\r\n");
      return Flow::next;
    }
    std::vector<std::string> lines{hostname(), "PIPELINING", "SIZE " + std::to_string(limits_.message_bytes),
                                   "8BITMIME", "SMTPUTF8", "ENHANCEDSTATUSCODES", "CHUNKING", "DSN"};
    if (starttls_offered()) lines.emplace_back("STARTTLS");
    if (auth_offered()) lines.emplace_back("AUTH PLAIN LOGIN");
    // RFC 8689 §4.1: REQUIRETLS is offered only on a TLS-protected session.
    if (tls_active_) lines.emplace_back("REQUIRETLS");
    std::string out;
    for (std::size_t i = 0; i < lines.size(); ++i)
      out += "250" + std::string(i + 1 < lines.size() ? "-" : " ") + lines[i] + "\r\n";
    conn_.queue(out);
    return Flow::next;
  }

  bool starttls_offered() const { return services_.tls && !tls_active_; }
  bool auth_offered() const { return services_.users && tls_active_ && !authenticated(); }
  bool authenticated() const { return !auth_user_.empty(); }

  // --- STARTTLS (RFC 3207) --------------------------------------------------------
  asio::awaitable<Flow> on_starttls(const Command& cmd) {
    if (!cmd.argument.empty()) co_return co_await bad_command(501, "5.5.4", "Syntax: STARTTLS");
    if (!starttls_offered()) co_return co_await bad_command(503, "5.5.1", "Error: STARTTLS not available");
    reply(220, "2.0.0", "Ready to start TLS");
    if (!co_await flush()) co_return Flow::close;
    auto up = co_await conn_.upgrade_tls(services_.tls, TlsRole::server);
    if (!up) {
      if (services_.counters) services_.counters->tls_handshake_failures[TlsMode::starttls].inc();
      log_info("STARTTLS with {} failed: {}", client_text_, up.error().message);
      co_return Flow::close;
    }
    if (up->plaintext_discarded > 0)
      log_warn("{} pipelined {} octets after STARTTLS; discarded (RFC 3207 §4.2)", client_text_,
               up->plaintext_discarded);
    if (services_.counters) services_.counters->tls_handshakes[TlsMode::starttls].inc();
    // RFC 3207 §4.2: forget everything learnt before TLS.
    tls_active_ = true;
    helo_.clear();
    esmtp_ = false;
    auth_user_.clear();
    reset_transaction();
    co_return Flow::next;
  }

  // --- AUTH (RFC 4954) --------------------------------------------------------------
  asio::awaitable<Flow> on_auth(const Command& cmd) {
    if (!services_.users) co_return co_await bad_command(502, "5.5.1", "Error: authentication not enabled");
    if (!tls_active_)
      co_return co_await bad_command(538, "5.7.11", "Encryption required for requested authentication mechanism");
    if (authenticated()) co_return co_await bad_command(503, "5.5.1", "Error: already authenticated");
    if (txn_.mail) co_return co_await bad_command(503, "5.5.1", "Error: AUTH not allowed during a mail transaction");
    auto argument = parse_auth_argument(cmd.argument);
    if (auto* r = std::get_if<Refusal>(&argument)) co_return co_await bad_command(r->code, r->status, r->text);
    const auto& a = std::get<AuthArgument>(argument);
    SaslOptions options;
    options.encrypted = tls_active_;
    SaslServer sasl(a.mechanism, a.initial_response, options);
    SaslStep step = sasl.start();
    for (;;) {
      if (const auto* challenge = std::get_if<SaslChallenge>(&step)) {
        conn_.queue(challenge->line + "\r\n");
        if (!co_await flush()) co_return Flow::close;
        // RFC 4954 §4: responses may be up to 12288 octets, more than a
        // command line; the usual limit is back for the next command.
        const std::size_t command_limit = conn_.max_line_bytes();
        conn_.set_max_line_bytes(std::max(command_limit, sasl.max_line_bytes()));
        auto line = co_await conn_.read_line();
        conn_.set_max_line_bytes(command_limit);
        if (!line && line.error().code == Errc::limit) {
          step = sasl.line_too_long();
          continue;
        }
        if (!line) co_return co_await on_read_error(line.error());
        step = sasl.next(line->text);
        continue;
      }
      if (const auto* r = std::get_if<Refusal>(&step)) {
        if (r->code == 535) co_return co_await auth_failed(parse_sasl_mechanism(a.mechanism));
        co_return co_await bad_command(r->code, r->status, r->text);
      }
      co_return co_await check_credentials(std::get<SaslCredentials>(step));
    }
  }

  asio::awaitable<Flow> check_credentials(const SaslCredentials& c) {
    bool valid = false;
    if (services_.blocking) {
      auto task = verify_password(services_.users, c.authcid, c.password);
      valid = co_await asio::co_spawn(*services_.blocking, std::move(task), asio::use_awaitable);
    } else {
      valid = services_.users->verify(c.authcid, c.password);
    }
    if (valid) {
      if (services_.counters) services_.counters->auth_successes[c.mechanism].inc();
      auth_user_ = c.authcid;
      log_info("{} authenticated as {}", client_text_, escape_for_log(auth_user_));
      reply(235, "2.7.0", "Authentication successful");
      co_return Flow::next;
    }
    log_warn("authentication failed for {} from {}", escape_for_log(c.authcid), client_text_);
    co_return co_await auth_failed(c.mechanism);
  }

  // RFC 4954 §6: 535 5.7.8; after limits.auth_failures the session ends.
  asio::awaitable<Flow> auth_failed(std::optional<SaslMechanism> mechanism) {
    if (services_.counters && mechanism) services_.counters->auth_failures[*mechanism].inc();
    const Refusal r = auth_failed_refusal();
    reply(r.code, r.status, r.text);
    if (++auth_failures_ >= limits_.auth_failures)
      co_return co_await limit_hit(LimitName::auth_failures, "4.7.0", "Error: too many authentication failures");
    co_return Flow::next;
  }

  // --- MAIL ----------------------------------------------------------------------------
  Extensions extensions() const {
    Extensions e;
    e.max_size = limits_.message_bytes;
    e.requiretls = tls_active_;
    e.auth = true;
    return e;
  }

  bool submission() const { return client_.listener != config::ListenerKind::smtp; }
  bool trusted_client() const { return authenticated() || in_relay_networks(); }
  bool in_relay_networks() const {
    for (const auto& n : config_.relay.networks)
      if (n.contains(client_.address)) return true;
    return false;
  }

  asio::awaitable<Flow> on_mail(const Command& cmd) {
    if (helo_.empty()) co_return co_await bad_command(503, "5.5.1", "Error: send HELO/EHLO first");
    if (txn_.mail) co_return co_await bad_command(503, "5.5.1", "Error: nested MAIL command");
    if (submission() && !authenticated()) co_return co_await bad_command(530, "5.7.0", "Authentication required");
    auto parsed = parse_mail(cmd.argument, extensions());
    if (auto* r = std::get_if<Refusal>(&parsed)) {
      if (r->code == 552) {  // SIZE= above limits.message_bytes (RFC 1870 §6.2)
        count_limit(LimitName::message_bytes);
        reject(MessageRejection::size);
      }
      co_return co_await bad_command(r->code, r->status, r->text);
    }
    MailFrom mail = std::move(std::get<MailFrom>(parsed));
    if (services_.inbound && config_.inbound.verify && !trusted_client()) {
      txn_.spf = co_await services_.inbound->check_sender(client_.address, helo_, mail.path.address());
      txn_.spf_checked = true;
      // For the null path check_sender() already checked the HELO identity.
      if (!mail.path.is_null() && is_valid_domain_name(helo_))
        txn_.helo_spf = co_await services_.inbound->check_helo(client_.address, helo_);
      if (txn_.spf.verdict == auth::spf::Verdict::fail && config_.inbound.spf_fail == config::SpfFailAction::reject) {
        reject(MessageRejection::spf);
        log_info("reject: MAIL from {}: SPF fail for <{}>: {}", client_text_, escape_for_log(mail.path.address()),
                 escape_for_log(txn_.spf.reason));
        // RFC 7372 §3.2: X.7.23 "SPF validation failed".
        reply(550, "5.7.23", "SPF check failed for " + txn_.spf.domain);
        co_return Flow::next;
      }
    }
    txn_.mail = std::move(mail);
    reply(250, "2.1.0", "Ok");
    co_return Flow::next;
  }

  // --- RCPT ------------------------------------------------------------------------------
  const config::LocalDomain* local_domain(std::string_view domain_ascii) const {
    for (const auto& d : config_.domains)
      if (d.name_ascii == domain_ascii) return &d;
    return nullptr;
  }

  asio::awaitable<Flow> on_rcpt(const Command& cmd) {
    if (!txn_.mail) co_return co_await bad_command(503, "5.5.1", "Error: need MAIL command");
    if (static_cast<int>(txn_.recipients.size()) >= limits_.recipients) {
      count_limit(LimitName::recipients);
      reject(RecipientRejection::limit);
      log_warn("limit recipients reached by {}", client_text_);
      reply(452, "4.5.3", "Error: too many recipients");
      co_return Flow::next;
    }
    auto parsed = parse_rcpt(cmd.argument, extensions(), txn_.mail->smtputf8);
    if (auto* r = std::get_if<Refusal>(&parsed)) {
      reject(RecipientRejection::syntax);
      co_return co_await bad_command(r->code, r->status, r->text);
    }
    RcptTo rcpt = std::move(std::get<RcptTo>(parsed));
    if (rcpt.path.domain.empty()) {
      // RFC 5321 §4.1.1.3: "<Postmaster>" without a domain is our postmaster.
      rcpt.path.domain = rcpt.path.domain_ascii = config_.hostname_ascii;
    }
    if (const auto* local = local_domain(rcpt.path.domain_ascii)) {
      if (local->delivery.kind == config::Delivery::Kind::maildir && !safe_local_part(rcpt.path.local_part)) {
        reject(RecipientRejection::mailbox);
        reply(550, "5.1.1", "Error: no such mailbox here");
        co_return Flow::next;
      }
    } else if (!trusted_client()) {
      reject(RecipientRejection::relay);
      log_info("reject: RCPT from {}: relay access denied for <{}>", client_text_,
               escape_for_log(rcpt.path.address()));
      reply(554, "5.7.1", "Error: relay access denied");
      co_return Flow::next;
    }
    txn_.recipients.push_back(std::move(rcpt));
    reply(250, "2.1.5", "Ok");
    co_return Flow::next;
  }

  // --- DATA ------------------------------------------------------------------------------
  asio::awaitable<Flow> on_data(const Command& cmd) {
    if (!cmd.argument.empty()) co_return co_await bad_command(501, "5.5.4", "Syntax: DATA");
    if (txn_.bdat_writer) co_return co_await bad_command(503, "5.5.1", "Error: DATA during BDAT");
    if (!txn_.mail) co_return co_await bad_command(503, "5.5.1", "Error: need MAIL command");
    if (txn_.recipients.empty()) {
      reject(MessageRejection::recipients);
      co_return co_await bad_command(554, "5.5.1", "Error: no valid recipients");
    }
    auto writer = services_.spool->create();
    if (!writer) {
      log_error("queue file: {}", writer.error().message);
      reject(MessageRejection::queue_error);
      reply(451, "4.3.0", "Error: queue file write error");
      co_return Flow::next;
    }
    reply(354, "", "End data with <CR><LF>.<CR><LF>");
    if (!co_await flush()) co_return Flow::close;
    TextOutcome outcome;
    const Flow flow = co_await read_data(*writer, outcome);
    if (flow == Flow::close) co_return Flow::close;
    co_return co_await finish_message(std::move(*writer), outcome);
  }

  asio::awaitable<Flow> read_data(queue::MessageWriter& writer, TextOutcome& outcome) {
    DataDecoder decoder(limits_.message_bytes);
    std::string text;
    const auto started = SteadyClock::now();
    while (!decoder.done()) {
      auto got = co_await conn_.read_some();
      if (!got) {
        if (got.error().code == Errc::timeout) reject(MessageRejection::limit);
        co_return co_await on_read_error(got.error());
      }
      const std::size_t used = decoder.push(*got, text);
      conn_.consume(used);
      if (text.size() >= kTextChunkBytes) store(writer, text, outcome);
      if (too_slow(started, decoder.counters().octets)) {
        reject(MessageRejection::limit);
        co_return co_await limit_hit(LimitName::min_data_rate, "4.4.2", "Error: data rate too low");
      }
    }
    store(writer, text, outcome);
    outcome.counters = decoder.counters();
    co_return Flow::next;
  }

  void store(queue::MessageWriter& writer, std::string& text, TextOutcome& outcome) {
    if (!outcome.write_failed && !text.empty()) {
      auto written = writer.write(text);
      if (!written) {
        outcome.write_failed = true;
        outcome.write_error = written.error().message;
      }
    }
    text.clear();
  }

  bool too_slow(SteadyClock::time_point started, std::uint64_t octets) const {
    const auto elapsed = SteadyClock::now() - started;
    if (elapsed < kDataRateGrace || limits_.min_data_rate == 0) return false;
    const double seconds = std::chrono::duration<double>(elapsed).count();
    return static_cast<double>(octets) / seconds < static_cast<double>(limits_.min_data_rate);
  }

  // --- BDAT (RFC 3030) --------------------------------------------------------------
  asio::awaitable<Flow> on_bdat(const Command& cmd) {
    const auto args = split(trim(cmd.argument), ' ');
    std::optional<std::uint64_t> size;
    bool last = false;
    if (!args.empty()) size = parse_uint(args[0], 1ull << 40);
    if (args.size() == 2) last = iequals(args[1], "LAST");
    if (!size || args.size() > 2 || (args.size() == 2 && !last))
      co_return co_await bad_command(501, "5.5.4", "Syntax: BDAT size [LAST]");
    // The chunk is read whatever happens, so the dialogue stays in step.
    const bool refuse = !txn_.mail || txn_.recipients.empty() || txn_.bdat_failed;
    if (!refuse && !txn_.bdat_writer) {
      auto writer = services_.spool->create();
      if (!writer) {
        log_error("queue file: {}", writer.error().message);
        txn_.bdat_failed = true;
      } else {
        txn_.bdat_writer.emplace(std::move(*writer));
        txn_.bdat.emplace(limits_.message_bytes);
      }
    }
    TextOutcome outcome;
    if (co_await read_chunk(*size, outcome) == Flow::close) co_return Flow::close;
    if (refuse) {
      const bool no_recipients = txn_.mail && txn_.recipients.empty();
      if (no_recipients && last) reject(MessageRejection::recipients);
      co_return co_await bad_command(no_recipients ? 554 : 503, "5.5.1",
                                     txn_.bdat_failed ? "Error: transaction failed; send RSET"
                                                      : (no_recipients ? "Error: no valid recipients"
                                                                       : "Error: need MAIL and RCPT commands"));
    }
    if (txn_.bdat_failed || outcome.write_failed) {
      // The first failure of this transaction: later chunks are refused
      // above without being counted again.
      txn_.bdat_failed = true;
      reject(MessageRejection::queue_error);
      reply(451, "4.3.0", "Error: queue file write error");
      co_return Flow::next;
    }
    if (!last) {
      reply(250, "2.0.0", std::to_string(*size) + " octets received");
      co_return Flow::next;
    }
    std::string text;
    txn_.bdat->finish(text);
    store(*txn_.bdat_writer, text, outcome);
    outcome.counters = txn_.bdat->counters();
    queue::MessageWriter writer = std::move(*txn_.bdat_writer);
    co_return co_await finish_message(std::move(writer), outcome);
  }

  asio::awaitable<Flow> read_chunk(std::uint64_t size, TextOutcome& outcome) {
    std::string text;
    const auto started = SteadyClock::now();
    std::uint64_t left = size;
    const bool building = txn_.bdat_writer.has_value();  // a message is in progress
    while (left > 0) {
      auto got = co_await conn_.read_some();
      if (!got) {
        if (building && got.error().code == Errc::timeout) reject(MessageRejection::limit);
        co_return co_await on_read_error(got.error());
      }
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, got->size()));
      if (txn_.bdat) txn_.bdat->push(got->substr(0, take), text);
      conn_.consume(take);
      left -= take;
      if (txn_.bdat_writer && text.size() >= kTextChunkBytes) store(*txn_.bdat_writer, text, outcome);
      if (too_slow(started, size - left)) {
        if (building) reject(MessageRejection::limit);
        co_return co_await limit_hit(LimitName::min_data_rate, "4.4.2", "Error: data rate too low");
      }
    }
    if (txn_.bdat_writer) store(*txn_.bdat_writer, text, outcome);
    text.clear();
    co_return Flow::next;
  }

  // --- end of data ------------------------------------------------------------------
  asio::awaitable<Flow> finish_message(queue::MessageWriter writer, const TextOutcome& outcome) {
    const auto refused = refusal_for(outcome);
    if (refused) {
      writer.abort();
      reject(refused->reason);
      if (refused->reason == MessageRejection::size) count_limit(LimitName::message_bytes);
      reply(refused->refusal.code, refused->refusal.status, refused->refusal.text);
      reset_transaction();
      co_return Flow::next;
    }
    std::string prepend = received_header(writer.id());
    auto verdict = co_await verify(writer);
    bool hold = false;
    if (verdict) {
      if (auto r = dmarc_refusal(*verdict)) {
        record(*verdict, "reject");
        writer.abort();
        reject(MessageRejection::dmarc);
        reply(r->code, r->status, r->text);
        reset_transaction();
        co_return Flow::next;
      }
      const bool quarantine = quarantined(*verdict);
      record(*verdict, quarantine ? "quarantine" : "accept");
      if (quarantine) {
        prepend = "X-Mxsec-Quarantine: DMARC policy of " + verdict->from_domain + "\r\n" + prepend;
        hold = config_.inbound.quarantine == config::QuarantineAction::hold;
      }
      prepend = verdict->auth_results_header + prepend;
    }
    // After every header change above: the signature goes on top.
    prepend = dkim_signatures(writer, prepend) + prepend;
    queue::Envelope envelope = make_envelope(writer, outcome);
    auto committed = co_await services_.spool->commit(std::move(writer), envelope, std::move(prepend));
    if (!committed) {
      log_error("{}: commit failed: {}", envelope.id, committed.error().message);
      reject(MessageRejection::queue_error);
      reply(451, "4.3.0", "Error: queue file write error");
      reset_transaction();
      co_return Flow::next;
    }
    if (services_.counters) services_.counters->messages_accepted.inc();
    log_info("{}: client={}, from=<{}>, size={}, nrcpt={}{}", envelope.id, client_text_,
             escape_for_log(envelope.reverse_path), envelope.text_bytes, envelope.recipients.size(),
             auth_user_.empty() ? std::string() : ", sasl_username=" + escape_for_log(auth_user_));
    if (hold) {
      auto held = services_.spool->set_hold(envelope.id, true);
      if (!held) log_error("{}: cannot hold: {}", envelope.id, held.error().message);
      else log_info("{}: held (DMARC quarantine)", envelope.id);
    }
    reply(250, "2.0.0", "Ok: queued as " + envelope.id);
    reset_transaction();
    if (services_.on_committed) services_.on_committed(envelope);
    co_return Flow::next;
  }

  struct TextRefusal {
    Refusal refusal;
    MessageRejection reason;
  };

  std::optional<TextRefusal> refusal_for(const TextOutcome& outcome) const {
    if (outcome.write_failed) {
      log_error("queue file write: {}", outcome.write_error);
      return TextRefusal{{451, "4.3.0", "Error: queue file write error"}, MessageRejection::queue_error};
    }
    if (outcome.counters.overflow)
      return TextRefusal{
          {552, "5.3.4", "Error: message too big (limit " + std::to_string(limits_.message_bytes) + " octets)"},
          MessageRejection::size};
    if (!outcome.counters.clean()) {
      log_warn("reject: {}: bare CR ({}) or bare LF ({}) in message text", client_text_, outcome.counters.bare_cr,
               outcome.counters.bare_lf);
      return TextRefusal{{550, "5.6.0", "Error: bare <CR> or <LF> in message text (RFC 5321 §2.3.8)"},
                         MessageRejection::bare_newline};
    }
    return std::nullopt;
  }

  asio::awaitable<std::optional<auth::MessageVerdict>> verify(queue::MessageWriter& writer) {
    if (!services_.inbound || !config_.inbound.verify || trusted_client()) co_return std::nullopt;
    if (!writer.flush()) co_return std::nullopt;
    auto mapped = services_.spool->map_incoming(writer);
    if (!mapped) co_return std::nullopt;
    auth::VerifyInput input;
    input.ip = client_.address;
    input.helo = helo_;
    input.mail_from = txn_.mail->path.address();
    input.receiver = config_.hostname_ascii;
    input.authserv_id = authserv_id();
    input.helo_spf = txn_.helo_spf;
    if (!txn_.spf_checked)
      txn_.spf = co_await services_.inbound->check_sender(client_.address, helo_, txn_.mail->path.address());
    auto v = co_await services_.inbound->check_message(mapped->view(), std::move(input), txn_.spf);
    if (!v) {
      log_warn("{}: message not verified: {}", client_text_, v.error().message);
      co_return std::nullopt;
    }
    co_return std::move(*v);
  }

  // DKIM-Signature fields for mail of our own users (outbound_dkim.hpp),
  // "" when it is not signed. Never refuses: a failure is logged and the
  // message goes out with the signatures that could be made.
  std::string dkim_signatures(queue::MessageWriter& writer, const std::string& prepend) const {
    if (config_.dkim.empty() || !trusted_client()) return {};
    auto mapped = services_.spool->map_incoming(writer);
    if (!mapped) {
      log_error("{}: not DKIM signed: cannot read the spooled text: {}", writer.id(), mapped.error().message);
      return {};
    }
    SystemClock system_clock;
    const Clock& clock = services_.clock ? *services_.clock : static_cast<const Clock&>(system_clock);
    auto s = sign_outbound(config_.dkim, prepend, mapped->view(), clock);
    switch (s.status) {
      case DkimSigning::signed_: log_info("{}: DKIM signed: {}", writer.id(), s.detail); break;
      case DkimSigning::no_key: spdlog::debug("{}: not DKIM signed: {}", writer.id(), s.detail); break;
      case DkimSigning::failed: log_error("{}: DKIM signing failed, accepted with what was made: {}", writer.id(), s.detail); break;
      default: log_info("{}: not DKIM signed: {}", writer.id(), s.detail); break;
    }
    return std::move(s.fields);
  }

  std::optional<Refusal> dmarc_refusal(const auth::MessageVerdict& v) const {
    using auth::dmarc::Verdict;
    if (v.dmarc.result != Verdict::fail) return std::nullopt;
    if (v.dmarc.policy.applied != auth::dmarc::Policy::reject) return std::nullopt;
    if (config_.inbound.dmarc_reject != config::DmarcAction::reject) return std::nullopt;
    log_info("reject: {}: DMARC policy of {} is reject", client_text_, v.from_domain);
    return Refusal{550, "5.7.1", "Error: DMARC policy of " + v.from_domain + " rejects this message"};
  }

  // RFC 9989 §5.x: what a receiver does with a failing message depends on
  // the policy it applies; p=reject turned into quarantine by
  // dmarc_reject = "quarantine" is quarantined too.
  bool quarantined(const auth::MessageVerdict& v) const {
    if (v.dmarc.result != auth::dmarc::Verdict::fail) return false;
    if (v.dmarc.policy.applied == auth::dmarc::Policy::quarantine)
      return config_.inbound.dmarc_reject != config::DmarcAction::none;
    return v.dmarc.policy.applied == auth::dmarc::Policy::reject &&
           config_.inbound.dmarc_reject == config::DmarcAction::quarantine;
  }

  void record(const auth::MessageVerdict& v, std::string_view disposition) const {
    if (services_.on_verdict) services_.on_verdict(v, client_, disposition);
  }

  std::string authserv_id() const {
    return config_.inbound.authserv_id.empty() ? config_.hostname_ascii : config_.inbound.authserv_id;
  }

  std::string received_header(const queue::QueueId& id) const {
    // RFC 5321 §4.4 trace field; "for" only with a single recipient, so
    // the other recipients of a message are not disclosed.
    std::string h = "Received: from " + escape_for_log(helo_, 255) + " (" + client_text_ + ")\r\n\tby " + hostname() +
                    " (mxsec) with " + received_protocol(txn_.mail->smtputf8, esmtp_, tls_active_, authenticated());
    if (const char* v = tls_active_ && conn_.ssl() ? SSL_get_version(conn_.ssl()) : nullptr) {
      h += "\r\n\t(";
      h += v;
      h += " with cipher ";
      h += SSL_get_cipher_name(conn_.ssl());
      h += ")";
    }
    h += " id " + id;
    if (txn_.recipients.size() == 1) h += "\r\n\tfor <" + txn_.recipients[0].path.address() + ">";  // parsed: no CR, LF or invalid UTF-8
    h += "; " + rfc5322_date(now()) + "\r\n";
    return h;
  }

  queue::Envelope make_envelope(const queue::MessageWriter& writer, const TextOutcome& outcome) const {
    queue::Envelope e;
    e.id = writer.id();
    e.reverse_path = txn_.mail->path.address();
    for (const auto& r : txn_.recipients) {
      queue::Recipient q;
      q.address = r.path.address();
      q.domain_ascii = r.path.domain_ascii;
      q.notify = r.notify;
      q.orcpt = r.orcpt;
      e.recipients.push_back(std::move(q));
    }
    e.arrival = now();
    e.smtputf8 = txn_.mail->smtputf8;
    e.eight_bit = txn_.mail->body == Body::eight_bit_mime;
    e.requiretls = txn_.mail->requiretls;
    e.dsn_ret = static_cast<int>(txn_.mail->ret);
    e.envid = txn_.mail->envid;
    e.client_address = client_.address.to_string();
    e.client_helo = helo_;
    e.auth_user = auth_user_;
    e.listener = config::to_string(client_.listener);
    e.text_bytes = outcome.counters.octets;
    return e;
  }

  // --- helpers -----------------------------------------------------------------------
  void reset_transaction() { txn_ = Transaction{}; }
  std::int64_t now() const { return services_.clock ? services_.clock->now() : 0; }
  const std::string& hostname() const { return config_.hostname_ascii; }
  void count_limit(LimitName limit) {
    if (services_.counters) services_.counters->limit_hits[limit].inc();
  }
  void reject(MessageRejection reason) {
    if (services_.counters) services_.counters->messages_rejected[reason].inc();
  }
  void reject(RecipientRejection reason) {
    if (services_.counters) services_.counters->recipients_rejected[reason].inc();
  }

  template <class... A>
  void log_info(fmt::format_string<A...> f, A&&... a) const { spdlog::info(f, std::forward<A>(a)...); }
  template <class... A>
  void log_warn(fmt::format_string<A...> f, A&&... a) const { spdlog::warn(f, std::forward<A>(a)...); }
  template <class... A>
  void log_error(fmt::format_string<A...> f, A&&... a) const { spdlog::error(f, std::forward<A>(a)...); }

  Connection& conn_;
  ClientInfo client_;
  Services& services_;
  const config::ServerConfig& config_;
  const config::ServerLimits& limits_;
  std::string client_text_;
  std::string helo_;
  bool esmtp_ = false;
  bool tls_active_ = false;
  std::string auth_user_;
  int auth_failures_ = 0;
  int commands_ = 0;
  int bad_commands_ = 0;
  Transaction txn_;
};

}  // namespace

// Each count is the enum's last value + 1, so that Labeled<> covers them all.
static_assert(static_cast<std::size_t>(MessageRejection::queue_error) + 1 == kMessageRejections);
static_assert(static_cast<std::size_t>(RecipientRejection::syntax) + 1 == kRecipientRejections);
static_assert(static_cast<std::size_t>(LimitName::max_sessions_per_client) + 1 == kLimitNames);
static_assert(static_cast<std::size_t>(TlsMode::implicit) + 1 == kTlsModes);
static_assert(static_cast<std::size_t>(config::ListenerKind::smtps) + 1 == kListenerKinds);
static_assert(static_cast<std::size_t>(SaslMechanism::login) + 1 == kSaslMechanisms);

const char* to_string(MessageRejection r) {
  switch (r) {
    case MessageRejection::spf: return "spf";
    case MessageRejection::dmarc: return "dmarc";
    case MessageRejection::size: return "size";
    case MessageRejection::recipients: return "recipients";
    case MessageRejection::bare_newline: return "bare_newline";
    case MessageRejection::limit: return "limit";
    case MessageRejection::queue_error: return "queue_error";
  }
  return "?";
}

const char* to_string(RecipientRejection r) {
  switch (r) {
    case RecipientRejection::relay: return "relay";
    case RecipientRejection::mailbox: return "mailbox";
    case RecipientRejection::limit: return "limit";
    case RecipientRejection::syntax: return "syntax";
  }
  return "?";
}

const char* to_string(LimitName l) {
  switch (l) {
    case LimitName::line_bytes: return "line_bytes";
    case LimitName::commands_per_session: return "commands_per_session";
    case LimitName::bad_commands: return "bad_commands";
    case LimitName::recipients: return "recipients";
    case LimitName::message_bytes: return "message_bytes";
    case LimitName::timeout: return "timeout";
    case LimitName::min_data_rate: return "min_data_rate";
    case LimitName::auth_failures: return "auth_failures";
    case LimitName::max_sessions: return "max_sessions";
    case LimitName::max_sessions_per_client: return "max_sessions_per_client";
  }
  return "?";
}

const char* to_string(TlsMode m) { return m == TlsMode::starttls ? "starttls" : "implicit"; }

asio::awaitable<void> run_session(Connection connection, ClientInfo client, Services& services) {
  Session session(connection, std::move(client), services);
  co_await session.run();
}

}  // namespace mxsec::smtp::server

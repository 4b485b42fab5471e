#include "smtp/client/session.hpp"

#include "core/strings.hpp"

namespace mxsec::smtp {

using policy::Authentication;
using policy::Verdict;
using policy::tlsrpt::ResultType;

const char* to_string(OpenStage s) {
  switch (s) {
    case OpenStage::policy: return "policy";
    case OpenStage::connect: return "connect";
    case OpenStage::greeting: return "greeting";
    case OpenStage::ehlo: return "ehlo";
    case OpenStage::starttls: return "starttls";
    case OpenStage::handshake: return "tls-handshake";
    case OpenStage::verification: return "tls-verification";
    case OpenStage::ehlo_tls: return "ehlo-after-tls";
    case OpenStage::auth: return "auth";
  }
  return "unknown";
}

std::string peer_name(std::string_view host, const IpAddress& address, std::uint16_t port) {
  return std::string(host) + "[" + address.to_string() + "]:" + std::to_string(port);
}

struct ClientSession::Impl {
  Impl(Connection c, policy::MxDecision m, std::string p, ClientOptions o)
      : conn(std::move(c)), mx(std::move(m)), peer(std::move(p)), options(std::move(o)) {}

  Connection conn;
  policy::MxDecision mx;
  std::string peer;
  ClientOptions options;
  TlsExpectation expect;
  TlsJudgement tls;
  EhloCapabilities caps;
  std::size_t plaintext_discarded = 0;
  std::size_t messages = 0;
  bool usable = true;
  bool relaxed = false;
};

namespace {

EnhancedStatus status_of_error(const Error& e) {
  switch (e.code) {
    case Errc::limit:
    case Errc::parse:
    case Errc::invalid_argument: return {4, 5, 0};
    default: return {4, 4, 2};
  }
}

// The reply's own subject and detail, class 4: a refused session defers.
EnhancedStatus deferred_status(const Reply& r) {
  if (r.enhanced) return {4, r.enhanced->subject, r.enhanced->detail};
  return {4, 0, 0};
}

asio::awaitable<void> send_quit(Connection& conn) {
  std::string line = "QUIT";
  auto ignored = co_await conn.command(std::move(line));
  (void)ignored;
}

std::string notify_value(unsigned notify) {
  if (notify & kNotifyNever) return "NEVER";
  std::string v;
  auto add = [&v](const char* word) { v += (v.empty() ? "" : ",") + std::string(word); };
  if (notify & kNotifySuccess) add("SUCCESS");
  if (notify & kNotifyFailure) add("FAILURE");
  if (notify & kNotifyDelay) add("DELAY");
  return v;
}

// RFC 3461 §4.2: ORCPT=addr-type ";" xtext.
std::string orcpt_value(std::string_view orcpt) {
  const std::size_t semi = orcpt.find(';');
  if (semi == std::string_view::npos || semi == 0) return {};
  return std::string(orcpt.substr(0, semi)) + ";" + xtext_encode(orcpt.substr(semi + 1));
}

// The open() dialogue. Each exit either fills `failure` or leaves the
// session ready for MAIL.
class Opener {
 public:
  explicit Opener(ClientSession::Impl& s) : s_(s), req_(policy::requirements(s.mx.verdict)) {
    const bool relax = s.options.tls_required_no && s.mx.verdict != Verdict::none;
    tls_mandatory_ = req_.tls_required && !relax;
    auth_mandatory_ = req_.authentication != Authentication::none && !relax;
    s_.expect = expectation_for(s.mx);
    s_.expect.verify_time = s.options.verify_time;
  }

  std::optional<HostFailure> failure;

  asio::awaitable<void> run() {
    Connection& c = s_.conn;
    c.timeouts().read = s_.options.timeouts.command;
    c.timeouts().write = s_.options.timeouts.command;
    c.timeouts().handshake = s_.options.timeouts.handshake;

    // --- greeting (RFC 5321 §4.3.1: 220, or 554 to refuse) -------------------
    c.timeouts().read = s_.options.timeouts.greeting;
    auto greeting = co_await c.read_reply();
    c.timeouts().read = s_.options.timeouts.command;
    if (!greeting) co_return fail(OpenStage::greeting, greeting.error());
    if (greeting->code != 220) {
      refused(OpenStage::greeting, *greeting, "refused the session in its greeting");
      co_await send_quit(c);
      co_return;
    }

    // --- EHLO, HELO when EHLO is refused and TLS is optional ------------------
    std::string ehlo_line = "EHLO " + s_.options.ehlo_name;
    auto ehlo = co_await c.command(std::move(ehlo_line));
    if (!ehlo) co_return fail(OpenStage::ehlo, ehlo.error());
    s_.caps = parse_ehlo(*ehlo);
    if (!s_.caps.ok) {
      // HELO only after a 5xx (a server without EHLO) and only when TLS is
      // optional: HELO offers no STARTTLS.
      if (tls_mandatory_ || !ehlo->permanent_failure()) {
        refused(OpenStage::ehlo, *ehlo,
                tls_mandatory_ ? "refused EHLO, and TLS is required by policy " + verdict_name() : "refused EHLO");
        if (tls_mandatory_) {
          failure->tlsrpt = ResultType::starttls_not_supported;
          failure->enhanced = {4, 7, 4};
        }
        co_await send_quit(c);
        co_return;
      }
      std::string helo_line = "HELO " + s_.options.ehlo_name;
      auto helo = co_await c.command(std::move(helo_line));
      if (!helo) co_return fail(OpenStage::ehlo, helo.error());
      if (!helo->positive_completion()) {
        refused(OpenStage::ehlo, *helo, "refused EHLO and HELO");
        co_await send_quit(c);
        co_return;
      }
      s_.caps = EhloCapabilities{};
      s_.caps.ok = true;
    }

    // --- STARTTLS (RFC 3207) ---------------------------------------------------
    if (s_.mx.verdict == Verdict::none) co_return;
    if (s_.options.clear_text_retry) {
      s_.tls = judge_clear(s_.expect, ResultType::validation_failure, "clear-text retry after a failed TLS handshake");
      co_return settle();
    }
    if (!s_.caps.starttls()) {
      if (tls_mandatory_) {
        tls_failure(OpenStage::ehlo, ResultType::starttls_not_supported, {4, 7, 4},
                    "STARTTLS is required by policy " + verdict_name() + ", but was not offered");
        co_await send_quit(c);
        co_return;
      }
      s_.tls = judge_clear(s_.expect, ResultType::starttls_not_supported, "STARTTLS was not offered");
      co_return settle();
    }
    std::string starttls_line = "STARTTLS";
    auto starttls = co_await c.command(std::move(starttls_line));
    if (!starttls) co_return fail(OpenStage::starttls, starttls.error());
    if (starttls->code != 220) {
      const std::string why = "STARTTLS refused: " + starttls->to_log_string();
      if (tls_mandatory_) {
        tls_failure(OpenStage::starttls, ResultType::starttls_not_supported, {4, 7, 4},
                    why + " (TLS is required by policy " + verdict_name() + ")");
        failure->reply = *starttls;
        co_await send_quit(c);
        co_return;
      }
      // The session is still in its plaintext state: go on in clear text.
      s_.tls = judge_clear(s_.expect, ResultType::starttls_not_supported, why);
      co_return settle();
    }
    if (!s_.options.tls_context)
      co_return fail(OpenStage::handshake, make_error(Errc::invalid_argument, "no TLS context"));
    // RFC 3207 §5: plaintext after the 220 could be an injected reply; the
    // session layer drops it and counts it.
    auto started = c.start_tls(s_.options.tls_context, TlsRole::client);
    if (!started) co_return fail(OpenStage::handshake, started.error());
    s_.plaintext_discarded = started->plaintext_discarded;
    SSL* ssl = c.ssl();
    auto armed = arm_tls(ssl, s_.expect);
    std::string tls_error;
    if (!armed) {
      tls_error = "cannot arm TLS: " + armed.error().message;
    } else {
      auto handshake = co_await c.handshake();
      if (!handshake) tls_error = "TLS handshake failed: " + handshake.error().message;
    }
    if (!tls_error.empty()) {
      tls_failure(OpenStage::handshake, ResultType::validation_failure, {4, 7, 5}, std::move(tls_error));
      failure->retry_in_clear = !tls_mandatory_;
      c.close();
      co_return;
    }
    s_.tls = judge_tls(ssl, s_.expect, *armed);
    if (!s_.tls.authenticated && auth_mandatory_) {
      // RFC 7672 §2.2 / RFC 8461 §4.2: nothing but QUIT over this channel.
      start_failure(OpenStage::verification, make_error(Errc::crypto, s_.tls.failure_reason), {4, 7, 5});
      failure->tlsrpt = s_.tls.tlsrpt_failure ? s_.tls.tlsrpt_failure : ResultType::validation_failure;
      failure->tls = s_.tls;
      finish_failure();
      co_await send_quit(c);
      co_return;
    }

    // --- EHLO again over TLS (RFC 3207 §4.2: forget what was learnt) ----------
    s_.caps = EhloCapabilities{};
    std::string ehlo_tls_line = "EHLO " + s_.options.ehlo_name;
    auto ehlo_tls = co_await c.command(std::move(ehlo_tls_line));
    if (!ehlo_tls) co_return fail(OpenStage::ehlo_tls, ehlo_tls.error());
    s_.caps = parse_ehlo(*ehlo_tls);
    if (!s_.caps.ok) {
      refused(OpenStage::ehlo_tls, *ehlo_tls, "refused EHLO after STARTTLS");
      co_await send_quit(c);
      co_return;
    }
    settle();
  }

  // AUTH with the relay host's credentials (the contract of session.hpp),
  // after run() opened the session.
  asio::awaitable<void> authenticate() {
    Connection& c = s_.conn;
    if (!s_.tls.tls_established) {
      std::string why = "relay host offers no TLS; not sending credentials in clear";
      if (!s_.tls.failure_reason.empty()) why += " (" + s_.tls.failure_reason + ")";
      // RFC 3463 X.7.10 (RFC 5248): "Encryption Needed".
      auth_failure(std::move(why), {4, 7, 10});
      co_await send_quit(c);
      co_return;
    }
    if (s_.relaxed) {
      auth_failure("the TLS session does not meet policy " + verdict_name() + " (" + s_.tls.failure_reason +
                       "); not sending credentials",
                   {4, 7, 5});
      co_await send_quit(c);
      co_return;
    }
    const auto mechanism = choose_mechanism(s_.caps);
    if (!mechanism) {
      const auto* offered = s_.caps.params("AUTH");
      std::string list;
      if (offered)
        for (const auto& m : *offered) list += " " + m;
      auth_failure(offered ? "relay host offers AUTH" + escape_for_log(list, 100) +
                                 " over TLS, but neither PLAIN nor LOGIN; cannot authenticate"
                           : "relay host offers no AUTH over TLS (not in its EHLO reply); cannot authenticate",
                   {4, 7, 0});
      co_await send_quit(c);
      co_return;
    }
    const AuthOutcome outcome = co_await smtp::authenticate(c, *s_.options.credentials, *mechanism);
    switch (outcome.status) {
      case AuthOutcome::Status::ok: co_return;
      case AuthOutcome::Status::refused:
        // The reply's own code in class 4 (deferred_status): a wrong
        // password defers the mail, it never bounces it.
        auth_failure("relay host " + outcome.error.message, deferred_status(*outcome.reply));
        failure->reply = outcome.reply;
        co_await send_quit(c);
        co_return;
      case AuthOutcome::Status::broken: co_return fail(OpenStage::auth, outcome.error);
    }
  }

 private:
  std::string verdict_name() const { return policy::to_string(s_.mx.verdict); }

  // A session that stays open: relaxed when the policy's own requirements
  // were not met (only TLS-Required: No messages may use it).
  void settle() {
    const bool tls_ok = !req_.tls_required || s_.tls.tls_established;
    const bool auth_ok = req_.authentication == Authentication::none || (s_.tls.tls_established && s_.tls.authenticated);
    s_.relaxed = !(tls_ok && auth_ok);
  }

  void finish_failure() {
    failure->text = s_.peer + ": " + to_string(failure->stage) + ": " + failure->error.message;
    s_.usable = false;
  }

  void start_failure(OpenStage stage, Error e, EnhancedStatus enhanced) {
    failure = HostFailure{};
    failure->stage = stage;
    failure->error = std::move(e);
    failure->enhanced = enhanced;
  }

  void fail(OpenStage stage, Error e) {
    const EnhancedStatus enhanced = status_of_error(e);
    start_failure(stage, std::move(e), enhanced);
    failure->tls = s_.tls;
    finish_failure();
    s_.conn.close();
  }

  void refused(OpenStage stage, const Reply& r, const std::string& what) {
    start_failure(stage, make_error(Errc::unsupported, what + ": " + r.to_log_string()), deferred_status(r));
    failure->reply = r;
    failure->tls = s_.tls;
    finish_failure();
  }

  // A session that opened but may not carry the relay host's credentials.
  void auth_failure(std::string why, EnhancedStatus enhanced) {
    start_failure(OpenStage::auth, make_error(Errc::unsupported, std::move(why)), enhanced);
    failure->tls = s_.tls;
    finish_failure();
  }

  void tls_failure(OpenStage stage, ResultType type, EnhancedStatus enhanced, std::string why) {
    start_failure(stage, make_error(Errc::unsupported, std::move(why)), enhanced);
    failure->tlsrpt = type;
    s_.tls = judge_clear(s_.expect, type, failure->error.message);
    failure->tls = s_.tls;
    finish_failure();
  }

  ClientSession::Impl& s_;
  policy::Requirements req_;
  bool tls_mandatory_ = false;
  bool auth_mandatory_ = false;
};

std::optional<HostFailure> precheck(const policy::MxDecision& mx, const ClientOptions& o, const std::string& peer) {
  const auto req = policy::requirements(mx.verdict);
  const bool relax = o.tls_required_no && mx.verdict != Verdict::none;
  std::string why;
  if (!req.deliver)
    why = "policy " + std::string(policy::to_string(mx.verdict)) + ": this host must not be tried now";
  else if (!is_wire_name(o.ehlo_name))
    why = "the EHLO name must be 1 to 255 printable octets without spaces";
  else if ((!mx.sni_name().empty() && !is_wire_name(mx.sni_name())) || !is_wire_name(mx.host))
    why = "the MX host name is not a name we can send";
  else if (o.clear_text_retry && req.tls_required && !relax)
    why = "policy " + std::string(policy::to_string(mx.verdict)) + " requires TLS: no clear-text retry";
  else if (!o.tls_context && !o.clear_text_retry && mx.verdict != Verdict::none)
    why = "no TLS context";
  if (why.empty()) return std::nullopt;
  HostFailure f;
  f.stage = OpenStage::policy;
  f.error = make_error(Errc::invalid_argument, why);
  f.enhanced = {4, 3, 5};  // RFC 3463 X.3.5: system incorrectly configured
  f.text = peer + ": policy: " + why;
  return f;
}

}  // namespace

ClientSession::ClientSession(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ClientSession::~ClientSession() = default;

asio::awaitable<OpenResult> ClientSession::start(Connection conn, policy::MxDecision mx, std::string peer,
                                                 ClientOptions options) {
  OpenResult out;
  if (auto refused = precheck(mx, options, peer)) {
    conn.close();
    out.failure = std::move(refused);
    co_return out;
  }
  auto impl = std::make_unique<Impl>(std::move(conn), std::move(mx), std::move(peer), std::move(options));
  Opener opener(*impl);
  co_await opener.run();
  if (!opener.failure && impl->options.credentials) co_await opener.authenticate();
  if (opener.failure) {
    impl->conn.close();
    out.failure = std::move(opener.failure);
    co_return out;
  }
  out.session = std::unique_ptr<ClientSession>(new ClientSession(std::move(impl)));
  co_return out;
}

asio::awaitable<OpenResult> ClientSession::open(policy::MxDecision mx, IpAddress address, ClientOptions options) {
  std::string peer = peer_name(mx.host, address, options.port);
  OpenResult out;
  if (auto refused = precheck(mx, options, peer)) {
    out.failure = std::move(refused);
    co_return out;
  }
  const ClientTimeouts& t = options.timeouts;
  const SessionConfig config = client_session_config(t.connect, t.command, t.handshake, t.session, options.reply_limits);
  const asio::ip::tcp::endpoint endpoint = endpoint_of(address, options.port);
  auto connected = co_await Connection::connect(endpoint, config);
  if (!connected) {
    HostFailure f;
    f.stage = OpenStage::connect;
    f.error = connected.error();
    f.enhanced = {4, 4, 1};
    f.text = peer + ": connect: " + f.error.message;
    out.failure = std::move(f);
    co_return out;
  }
  co_return co_await start(std::move(*connected), std::move(mx), std::move(peer), std::move(options));
}

asio::awaitable<std::vector<RecipientOutcome>> ClientSession::send(const OutboundMessage& m) {
  Impl& s = *impl_;
  TransactionVerdicts v(m.recipients.size(), s.peer);
  v.set_enhanced_codes(s.caps.enhanced_status_codes());
  if (m.recipients.empty()) co_return v.take();
  if (!s.usable || !s.conn.is_open()) {
    v.defer_all({4, 4, 2}, "the session with " + s.peer + " is no longer usable");
    co_return v.take();
  }

  // --- REQUIRETLS (RFC 8689 §4.2, §5) ------------------------------------------
  if (m.requiretls) {
    const bool dane_ok = s.mx.verdict == Verdict::dane && s.tls.dane.status == tls::dane::DaneStatus::matched;
    const bool sts_ok = s.mx.verdict == Verdict::mta_sts && s.tls.webpki &&
                        s.tls.webpki->verdict == tls::WebPkiVerdict::ok;
    if (!s.tls.tls_established || s.relaxed || !(dane_ok || sts_ok)) {
      v.fail_all({5, 7, 30}, "REQUIRETLS support required: the message requires TLS authenticated by DANE or "
                             "MTA-STS, and the session with " + s.peer + " is tls=" + to_string(s.tls.label) +
                                 " under policy " + policy::to_string(s.mx.verdict));
      co_return v.take();
    }
    if (!s.caps.requiretls()) {
      v.fail_all({5, 7, 30}, "REQUIRETLS support required, but not offered by " + s.peer);
      co_return v.take();
    }
  } else if (s.relaxed && !m.tls_required_no) {
    v.defer_all({4, 7, 5}, "the session with " + s.peer + " does not meet policy " +
                               policy::to_string(s.mx.verdict) + " (" + s.tls.failure_reason +
                               "); only messages with TLS-Required: No may use it");
    co_return v.take();
  }

  // --- what the message needs, what the server offers ----------------------------
  std::vector<std::string_view> addresses;
  addresses.reserve(m.recipients.size());
  for (const auto& r : m.recipients) addresses.push_back(r.address);
  const MessageNeeds needs = message_needs(m.reverse_path, addresses, m.slices, m.smtputf8);
  if (refuse_unsupported_utf8(needs, s.caps, v)) co_return v.take();
  const EightBitDecision eight_bit = decide_eight_bit(needs, s.caps, m.slices, s.options.downgrade_8bit, v);
  if (eight_bit.refused) co_return v.take();
  std::uint64_t size = 0;
  for (std::string_view slice : m.slices) size += slice.size();
  if (eight_bit.plan) size = eight_bit.plan->output_bytes;
  const auto limit = s.caps.size_limit();
  if (limit && *limit > 0 && size > *limit) {
    // RFC 1870 §6: the server would refuse it; bounce without trying.
    v.fail_all({5, 3, 4}, "message size " + std::to_string(size) + " exceeds the limit " + std::to_string(*limit) +
                              " of " + s.peer);
    co_return v.take();
  }
  const bool dsn = s.caps.has("DSN");
  MailParameters params = basic_mail_parameters(needs, s.caps);
  if (s.caps.has("SIZE")) params.size = size;
  if (dsn) {
    params.ret = m.ret;
    params.envid = std::string(m.envid);
  }
  params.requiretls = m.requiretls;

  TransactionPlan plan;
  plan.mail = mail_from_line(m.reverse_path, params);
  plan.rcpts.reserve(m.recipients.size());
  for (const auto& r : m.recipients) {
    std::string line = "RCPT TO:<" + std::string(r.address) + ">";
    if (dsn && r.notify) line += " NOTIFY=" + notify_value(r.notify);
    if (dsn && !r.orcpt.empty()) {
      const std::string orcpt = orcpt_value(r.orcpt);
      if (!orcpt.empty()) line += " ORCPT=" + orcpt;
    }
    plan.rcpts.push_back(std::move(line));
  }
  plan.pipeline_group = s.caps.pipelining() ? limits::kSmtpPipelineRcpts : 1;
  plan.block_bytes = limits::kSmtpDataBlockBytes;
  plan.final_replies = FinalReplies::one;
  const ClientTimeouts& t = s.options.timeouts;
  plan.timeouts = {t.mail, t.rcpt, t.data, t.data_block, t.data_done, t.command};
  plan.downgrade = eight_bit.plan ? &*eight_bit.plan : nullptr;
  const TransactionEnd end = co_await run_transaction(s.conn, v, std::move(plan), m.slices);
  if (end == TransactionEnd::broken) {
    s.usable = false;
    s.conn.close();
  } else if (end == TransactionEnd::refused) {
    // RFC 5321 §4.1.1.5: RSET aborts the transaction; the session goes on.
    std::string rset_line = "RSET";
    auto rset = co_await s.conn.command(std::move(rset_line));
    if (!rset || !rset->positive_completion()) {
      s.usable = false;
      if (rset) co_await send_quit(s.conn);
      s.conn.close();
    }
  } else {
    ++s.messages;
  }
  std::vector<RecipientOutcome> out = v.take();
  for (auto& o : out) o.dsn_passed_on = dsn && o.status == RecipientStatus::delivered;
  co_return out;
}

asio::awaitable<void> ClientSession::quit() {
  Impl& s = *impl_;
  if (s.usable && s.conn.is_open()) co_await send_quit(s.conn);
  s.usable = false;
  s.conn.close();
}

asio::awaitable<bool> ClientSession::reset() {
  Impl& s = *impl_;
  if (!s.usable || !s.conn.is_open()) co_return false;
  std::string rset_line = "RSET";
  auto rset = co_await s.conn.command(std::move(rset_line));
  if (rset && rset->positive_completion()) co_return true;
  s.usable = false;
  if (rset) co_await send_quit(s.conn);
  s.conn.close();
  co_return false;
}

const TlsJudgement& ClientSession::tls() const { return impl_->tls; }
const EhloCapabilities& ClientSession::capabilities() const { return impl_->caps; }
const std::string& ClientSession::peer() const { return impl_->peer; }
bool ClientSession::usable() const { return impl_->usable && impl_->conn.is_open(); }
bool ClientSession::relaxed() const { return impl_->relaxed; }
std::size_t ClientSession::plaintext_discarded() const { return impl_->plaintext_discarded; }
std::size_t ClientSession::messages_sent() const { return impl_->messages; }
SessionCounters ClientSession::counters() const { return impl_->conn.counters(); }

}  // namespace mxsec::smtp

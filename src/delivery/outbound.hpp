// delivery/outbound.hpp: relaying a queued message to the MX hosts of one
// recipient domain, under that domain's transport-security policy (the
// seed's central algorithm: MX with DNSSEC, addresses, TLSA, STARTTLS,
// verification by DANE or MTA-STS, deliver only when it all holds).
//
// Contract
// - OutboundAgent owns one event loop thread with its own runtime (the
//   validating resolver, the MTA-STS source and the policy engine:
//   runtime/runtime.hpp) and one client TLS context (system roots plus
//   [tls] ca_file). deliver() blocks the calling thread (a queue runner
//   thread) until the attempt for one domain is over; calls from several
//   threads run concurrently on the agent's loop.
// - One attempt for one domain:
//     1. the policy engine decides (policy/engine/engine.hpp); with a
//        relay host ([outbound] relayhost) it decides for that host instead
//        of the recipient domain (decide_relayhost: the same checks, the
//        relay host's own TLSA and [[outbound.policy]]), on the host's port. A null MX
//        (RFC 7505 §3: "the domain ... does not accept email") fails every
//        recipient at once with 556 5.1.10; a domain that does not exist
//        (NXDOMAIN) with 550 5.1.2. A domain-level defer (the MX lookup
//        failed or was bogus, or every MX host is deferred) defers every
//        recipient with the engine's reason and connects to nothing.
//     2. the MX hosts in preference order, randomised among equal
//        preferences (RFC 5321 §5.1: "... the SMTP client SHOULD randomize
//        them to spread the load"). A host whose verdict is defer is
//        skipped, never contacted. Each address of a host is tried in turn
//        with smtp::ClientSession (smtp/client/session.hpp), which enforces
//        the verdict on the wire; a host failure (no connection, refused
//        greeting, STARTTLS missing where required, TLSA mismatch, WebPKI
//        failure under MTA-STS) moves on to the next address, then the next
//        host. After an opportunistic handshake failure the same address is
//        tried once more in clear text, as the session allows.
//     3. the first session that opens carries the message: one transaction,
//        one outcome per recipient (delivered, deferred on 4xx, failed on
//        5xx). Then the session is parked idle in the connection cache
//        (delivery/session_cache.hpp) under the key of its next-hop (the
//        domain, or the relay host's text), MX host, address, port and
//        policy fingerprint, or QUIT when the cache does not keep it. Before
//        opening a connection the attempt takes a Lease from the cache: an
//        idle session for exactly that key, which is probed with RSET and
//        carries the message when alive; or, when none is idle or the probe
//        fails (the session is dropped, nothing is counted or reported),
//        the right to open a new connection, granted within the per-next-hop
//        and global connection limits (the attempt waits for a slot). A
//        clear-text retry session is never parked. Without a cache
//        (RelayContext::cache null) every attempt opens and QUITs.
//     4. when no session opened, every recipient is deferred with the last
//        host's reason ("mx.example[192.0.2.1]:25: tls-verification: TLSA
//        mismatch ..."): a policy failure never bounces by itself, the
//        queue's lifetime decides.
// - AUTH to the relay host: with RelayContext::relay_credentials (the
//   agent's set_relay_credentials(), from [outbound] relayhost_username and
//   relayhost_password_file) every session to the relay host authenticates
//   after its EHLO over TLS, and only over TLS (smtp/client/session.hpp). A
//   refused or impossible AUTH is a host failure like any other: the
//   message is deferred with its reason, never bounced for it. A cached
//   session is reused only under the credentials it authenticated with
//   (SessionKey::auth).
// - TLS-RPT (RFC 8460): every session attempt to an MX address records one
//   event in the store (reporting/tlsrpt_store.hpp) with the host's policy
//   block (decision.hpp): a success, or the §4.3 result type of the failure
//   (the session's judgement, or for a host deferred before any connection,
//   the decision's own MxDecision::tlsrpt_result, set by the engine). An
//   attempt that ended before TLS could be judged (no connection, a refused
//   greeting) is not a TLS session and records nothing. A store that fails
//   to record is logged, never a reason to hold mail back. A reused session
//   records nothing more: RFC 8460 §4.4 counts sessions, not messages, and
//   the store counts one event as one session.
// - OutboundAgent::deliver_async() starts the attempt on the loop and
//   returns at once; its callback runs once, on the loop thread, so queue
//   runner threads are not held while mail is on the wire and the
//   concurrency limits decide how many connections are open. deliver()
//   waits for the same attempt. The agent's destructor QUITs the idle
//   sessions (waiting at most limits::kOutboundQuitOnStop for replies).
// - RFC 8689: the message's REQUIRETLS flag and its "TLS-Required: No"
//   field are passed to the session, which refuses or relaxes as that RFC
//   says (session.hpp).
// - RelayOutcome::relay is the peer that decided ("mx.example[192.0.2.1]:25")
//   or "none"; RelayOutcome::tls is the session's `tls=` label (dane-ee,
//   dane-ta, mta-sts, opportunistic, none), "" when no session carried the
//   message; `policy` is the MX host's verdict (to_string(Verdict)).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <asio/awaitable.hpp>
#include <random>

#include "core/clock.hpp"
#include "delivery/session_cache.hpp"
#include "core/result.hpp"
#include "policy/engine/engine.hpp"
#include "queue/spool.hpp"
#include "reporting/tlsrpt_store.hpp"
#include "runtime/options.hpp"
#include "smtp/client/session.hpp"

namespace mxsec::delivery {

struct RelayOutcome {
  smtp::RecipientStatus status = smtp::RecipientStatus::deferred;
  std::string text;    // the reply or our reason (Recipient::last_result)
  std::string relay = "none";
  std::string tls;     // "" when no session carried the message
  std::string policy;  // the verdict of the MX host tried last, "" before any
  std::optional<policy::Verdict> verdict;  // the same as a value (metrics)
  // Delivered to a server that offered DSN: NOTIFY/ORCPT went on (RFC 3461
  // §5.2.1), so no "relayed" DSN from us (delivery/notify.hpp).
  bool dsn_passed_on = false;
};

// What the agent counts (thread-safe): the RFC 8460 failure types of the TLS
// session attempts it recorded, indexed by policy::tlsrpt::ResultType, and
// the successes.
struct OutboundCounters {
  std::array<std::atomic<std::uint64_t>, policy::tlsrpt::kResultTypeCount> tls_failures{};
  std::atomic<std::uint64_t> tls_successes{0};
  std::atomic<std::uint64_t> sessions_opened{0};  // SMTP sessions opened that carried mail
  std::atomic<std::uint64_t> sessions_reused{0};  // messages carried by a cached session
};

struct OutboundOptions {
  std::string ehlo_name;     // our host name, A-labels
  std::uint16_t port = 25;   // SMTP port of every MX host (tests change it)
  smtp::ClientTimeouts timeouts;
  // [outbound] relayhost: every domain goes to this host, decided by
  // PolicyEngine::decide_relayhost() (no MX lookup for "[host]"), on its port.
  std::optional<policy::RelayHost> relayhost;
  // [outbound] downgrade_8bit: a DKIM-signed message for a host without
  // 8BITMIME is converted to 7 bit, or returned (smtp/client/transaction.hpp).
  smtp::Downgrade8bit downgrade_8bit = smtp::Downgrade8bit::convert;
  // Connection reuse and concurrency ([outbound] connection_cache_time,
  // connection_reuse_limit, connection_max_age, destination_concurrency,
  // max_connections).
  CacheLimits connections;
};

// One attempt for one domain (steps 1-4 of the contract) on the caller's
// executor, with the caller's policy engine and TLS context (tests drive it
// with a dns::FakeResolver and loopback servers). `random` orders equal
// preferences; the references must outlive the coroutine.
struct RelayContext {
  policy::PolicyEngine& engine;
  SSL_CTX* tls = nullptr;
  const OutboundOptions& options;
  std::mt19937_64& random;
  reporting::TlsRptStore* events = nullptr;  // null: no TLS-RPT events recorded
  const Clock* clock = nullptr;              // event times; null = system clock
  OutboundCounters* counters = nullptr;      // null: nothing counted
  // AUTH to the relay host (options.relayhost), never to an MX host; null =
  // no AUTH. The session sends them only over TLS (smtp/client/session.hpp).
  std::shared_ptr<const smtp::ClientCredentials> relay_credentials = nullptr;
  SessionCache* cache = nullptr;             // null: a new connection per attempt, QUIT after it
};
asio::awaitable<std::vector<RelayOutcome>> relay_to_domain(RelayContext context, const queue::Envelope& envelope,
                                                           std::string domain_ascii,
                                                           const std::vector<const queue::Recipient*>& recipients,
                                                           const std::vector<std::string_view>& slices,
                                                           bool tls_required_no);

class OutboundAgent {
 public:
  // `clock` (null = system clock) must outlive the agent.
  // `events` (may be null) and `clock` (null = system clock) must outlive the agent.
  static Result<std::unique_ptr<OutboundAgent>> create(const runtime::RuntimeOptions& runtime, OutboundOptions options,
                                                       reporting::TlsRptStore* events = nullptr,
                                                       const Clock* clock = nullptr);
  ~OutboundAgent();  // QUITs idle sessions, stops the loop; no attempt may be running
  OutboundAgent(const OutboundAgent&) = delete;
  OutboundAgent& operator=(const OutboundAgent&) = delete;

  // The recipients (all of `domain_ascii`) of `envelope`, whose text is
  // `slices`; one outcome per recipient, in order.
  const OutboundCounters& counters() const;
  // The relay host's credentials for the attempts that start from now on
  // (start-up and SIGHUP reload); null = no AUTH. Thread-safe.
  void set_relay_credentials(std::shared_ptr<const smtp::ClientCredentials> credentials);

  std::vector<RelayOutcome> deliver(const queue::Envelope& envelope, const std::string& domain_ascii,
                                    const std::vector<const queue::Recipient*>& recipients,
                                    const std::vector<std::string_view>& slices, bool tls_required_no);

  // The same attempt without waiting: `done` gets the outcomes, on the
  // agent's loop thread (it must not block). `envelope`, the recipients and
  // the text the slices point to must stay alive until `done` is called.
  using RelayDone = std::function<void(std::vector<RelayOutcome>)>;
  void deliver_async(const queue::Envelope& envelope, std::string domain_ascii,
                     std::vector<const queue::Recipient*> recipients, std::vector<std::string_view> slices,
                     bool tls_required_no, RelayDone done);

  struct Impl;

 private:
  explicit OutboundAgent(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxsec::delivery

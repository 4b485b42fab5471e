// delivery/session_cache.hpp: outbound SMTP connections of the delivery
// agent: which idle sessions may carry the next message (connection reuse)
// and how many connections may be open at once (concurrency limits).
//
// Contract
// - A SessionKey names what makes reuse safe: the next-hop (the recipient
//   domain, or the relay host), the MX host name, its address and port, and
//   the credentials it authenticated with to a relay host (SMTP AUTH), and
//   the exact policy the session was opened and judged under
//   (policy_fingerprint(): the verdict, the SNI and reference names, the
//   usable TLSA records, the TLS-RPT policy block, which holds the TLSA
//   records or the MTA-STS policy text, and whether the session was opened
//   for "TLS-Required: No" messages). An idle session is handed out only for
//   a key equal in every field, so a session verified under a weaker policy
//   (or under other TLSA records, another MTA-STS policy, for another
//   next-hop) never carries mail that needs a stronger one.
// - acquire(key) returns a Lease on one connection to key.nexthop: an idle
//   session parked under exactly `key` (Lease::session set, its age and use
//   count carried over), or the right to open a new connection
//   (Lease::session null). A Lease counts as one open connection against
//   the next-hop's limit (CacheLimits::per_destination, Postfix's
//   default_destination_concurrency_limit) and the global one
//   (CacheLimits::global); idle sessions, and sessions being QUIT, count
//   too, so a server never sees more connections than the limits. When a
//   limit is reached, acquire() starts closing an idle session that stands
//   in the way (of the same next-hop for its limit, the longest idle for the
//   global one) and waits, first come first served, until a slot comes free
//   or a session is parked under its key. A limit of 0 is read as 1 (fail
//   closed: never unlimited).
// - release(lease, session) ends a use: the session is parked idle under
//   the lease's key when it is usable, caching is on (idle_time > 0), it
//   has carried fewer than reuse_limit messages and is younger than
//   max_age, and no waiter needs its slot for another key; otherwise it is
//   QUIT (RFC 5321 §4.1.1.10) in the background and its slot freed. A null
//   session (the connection failed or was dropped) frees the slot. A Lease
//   destroyed without release() frees its slot and closes its session.
// - Idle sessions expire idle_time after they were parked, or at max_age
//   after they were opened: acquire() never hands out an expired one, and
//   expire() (called by sweep(), a loop the agent runs) QUITs them. An
//   idle session the server has closed is found by the caller: it probes a
//   reused session with RSET (smtp::ClientSession::reset()) and, when that
//   fails, drops it and opens a new connection on the same Lease.
// - close_all() QUITs every idle session (the agent stops), waiting at most
//   `deadline` for the replies, and ends sweep(); later releases QUIT.
// - Concurrency: one thread. Every call runs on the executor given to the
//   constructor (the agent's loop); there is no lock.
// - Time comes from `now` (steady; tests pin it): expiry is judged on it,
//   never on wall-clock time.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "config/server_config.hpp"
#include "core/ip_address.hpp"
#include "policy/engine/decision.hpp"
#include "smtp/client/auth.hpp"
#include "smtp/client/session.hpp"

namespace mxsec::delivery {

struct CacheLimits {
  std::chrono::seconds idle_time{2};    // [outbound] connection_cache_time; 0 = no reuse
  std::size_t reuse_limit = 100;        // [outbound] connection_reuse_limit: messages per connection
  std::chrono::seconds max_age{300};    // [outbound] connection_max_age
  std::size_t per_destination = 20;     // [outbound] destination_concurrency
  std::size_t global = 100;             // [outbound] max_connections
};
// The limits of the [outbound] section.
CacheLimits cache_limits(const config::OutboundConfig& outbound);

// What the policy verdict of `mx` was judged against, as one string; equal
// strings mean the same wire requirements and the same TLS-RPT policy.
std::string policy_fingerprint(const policy::MxDecision& mx, bool tls_required_no);

// The identity a relay-host session authenticated with (SMTP AUTH): the
// user name and a SHA-256 of the password, "" without AUTH. A session
// authenticated under credentials since replaced (SIGHUP) is not reused.
std::string credentials_fingerprint(const smtp::ClientCredentials* credentials);

struct SessionKey {
  std::string nexthop;  // recipient domain or relay host, A-labels
  std::string mx_host;
  IpAddress address;
  std::uint16_t port = 25;
  std::string policy;   // policy_fingerprint()
  std::string auth;     // credentials_fingerprint(): who the session authenticated as
  // Every field, length-prefixed (no field can forge another's bytes).
  std::string text() const;
};

class SessionCache;

class Lease {
 public:
  Lease() = default;
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&& other) noexcept;
  ~Lease();  // frees the slot (and closes the session) unless released

  std::unique_ptr<smtp::ClientSession> session;  // an idle session for the key, or null: open one
  const SessionKey& key() const { return key_; }
  std::size_t uses() const { return uses_; }      // messages carried before this use
  bool reused() const { return reused_; }         // `session` came from the cache
  bool valid() const { return cache_ != nullptr; }

 private:
  friend class SessionCache;
  SessionCache* cache_ = nullptr;
  SessionKey key_;
  std::chrono::steady_clock::time_point opened_{};
  std::size_t uses_ = 0;
  bool reused_ = false;
};

struct CacheCounters {
  std::uint64_t reused = 0;   // leases that came with an idle session
  std::uint64_t opened = 0;   // leases for a new connection
  std::uint64_t parked = 0;   // sessions kept idle after a use
  std::uint64_t expired = 0;  // idle sessions QUIT for idle time or age
  std::uint64_t evicted = 0;  // idle sessions QUIT to make room
  std::uint64_t waits = 0;    // acquire() calls that had to wait for a slot
};

class SessionCache {
 public:
  using Now = std::function<std::chrono::steady_clock::time_point()>;
  SessionCache(asio::any_io_executor executor, CacheLimits limits, Now now = {});
  ~SessionCache();  // idle sessions are closed without QUIT: call close_all() first
  SessionCache(const SessionCache&) = delete;
  SessionCache& operator=(const SessionCache&) = delete;

  asio::awaitable<Lease> acquire(SessionKey key);
  // `session` may be null. A session that came with the lease and was
  // used again counts one more message.
  void release(Lease lease, std::unique_ptr<smtp::ClientSession> session);
  // The lease's cached session was dropped and a new connection opened on
  // its slot: its age and use count start again.
  void reopened(Lease& lease);

  void expire();                   // QUITs the idle sessions past idle_time or max_age
  asio::awaitable<void> sweep();   // expire() about every second until close_all()
  // True when every QUIT was answered (or failed) within `deadline`.
  asio::awaitable<bool> close_all(std::chrono::milliseconds deadline);

  std::size_t open() const { return open_; }  // leases out plus idle sessions
  std::size_t open(const std::string& nexthop) const;
  std::size_t idle() const { return idle_.size(); }
  std::size_t peak() const { return peak_; }  // the most open at once
  const CacheCounters& counters() const { return counters_; }
  const CacheLimits& limits() const { return limits_; }

 private:
  friend class Lease;
  struct Idle {
    SessionKey key;
    std::unique_ptr<smtp::ClientSession> session;
    std::chrono::steady_clock::time_point opened;
    std::chrono::steady_clock::time_point parked;
    std::size_t uses = 0;
  };
  struct Waiter {
    std::string key;      // SessionKey::text()
    std::string nexthop;
    asio::steady_timer* timer = nullptr;
  };
  using IdleList = std::list<Idle>;

  bool expired(const Idle& idle, std::chrono::steady_clock::time_point now) const;
  bool room_for(const std::string& nexthop) const;
  bool evict_for(const std::string& nexthop);  // starts closing one idle session in the way
  void take_slot(const std::string& nexthop);
  void free_slot(const std::string& nexthop);
  void drop_idle(IdleList::iterator it);       // QUITs it, then frees its slot
  void quit_then_free(std::unique_ptr<smtp::ClientSession> session, std::string nexthop);
  void wake_one(const std::string& key, const std::string& nexthop);
  void abandon(Lease& lease);                  // ~Lease without release()

  asio::any_io_executor executor_;
  CacheLimits limits_;
  Now now_;
  IdleList idle_;                                     // oldest parked first
  std::multimap<std::string, IdleList::iterator> by_key_;
  std::map<std::string, std::size_t> per_nexthop_;    // open connections
  std::size_t open_ = 0;
  std::size_t peak_ = 0;
  std::deque<Waiter> waiters_;
  std::size_t quitting_ = 0;
  asio::steady_timer* closing_ = nullptr;  // close_all() waiting for QUITs
  bool stopped_ = false;
  std::unique_ptr<asio::steady_timer> sweep_timer_;
  CacheCounters counters_;
};

}  // namespace mxsec::delivery

// delivery/session_cache.cpp: see session_cache.hpp.
#include "delivery/session_cache.hpp"

#include <algorithm>
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <openssl/sha.h>

namespace mxsec::delivery {
namespace {

using Steady = std::chrono::steady_clock;

// One field: its length, a colon, its octets (the length keeps a field's
// octets from being read as the next field).
void field(std::string& out, std::string_view value) {
  out += std::to_string(value.size());
  out += ':';
  out += value;
}

void field(std::string& out, std::uint64_t value) { field(out, std::to_string(value)); }

std::size_t at_least_one(std::size_t n) { return std::max<std::size_t>(n, 1); }

}  // namespace

CacheLimits cache_limits(const config::OutboundConfig& o) {
  CacheLimits l;
  l.idle_time = o.connection_cache_time;
  l.reuse_limit = static_cast<std::size_t>(o.connection_reuse_limit);
  l.max_age = o.connection_max_age;
  l.per_destination = static_cast<std::size_t>(o.destination_concurrency);
  l.global = static_cast<std::size_t>(o.max_connections);
  return l;
}

std::string policy_fingerprint(const policy::MxDecision& mx, bool tls_required_no) {
  std::string out;
  field(out, policy::to_string(mx.verdict));
  field(out, tls_required_no ? "tls-required-no" : "tls-required");
  field(out, mx.sni_name());
  field(out, mx.reference_names.size());
  for (const auto& name : mx.reference_names) field(out, name);
  // The records the DANE verdict authenticates with (RFC 7672 §2.2): other
  // records, another session.
  field(out, mx.tlsa.usable.size());
  for (const auto& r : mx.tlsa.usable) {
    field(out, r.usage);
    field(out, r.selector);
    field(out, r.matching_type);
    field(out, r.data);
  }
  // The TLS-RPT policy block (RFC 8460 §4.4): the policy type and its
  // strings, the TLSA records or the MTA-STS policy text (which carries
  // the policy's mode and MX patterns), so a new MTA-STS policy means a new
  // session, and the session's one event stays true for every message.
  field(out, static_cast<std::uint64_t>(mx.tlsrpt.type));
  field(out, mx.tlsrpt.policy_domain);
  field(out, mx.tlsrpt.mx_host);
  field(out, mx.tlsrpt.policy_string.size());
  for (const auto& s : mx.tlsrpt.policy_string) field(out, s);
  field(out, mx.sts_mx_match ? (*mx.sts_mx_match ? "sts-match" : "sts-mismatch") : "no-sts");
  return out;
}

std::string credentials_fingerprint(const smtp::ClientCredentials* credentials) {
  if (!credentials) return {};
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(credentials->password.data()), credentials->password.size(), digest);
  std::string out;
  field(out, credentials->username);
  field(out, std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
  return out;
}

std::string SessionKey::text() const {
  std::string out;
  field(out, nexthop);
  field(out, mx_host);
  field(out, address.to_string());
  field(out, port);
  field(out, policy);
  field(out, auth);
  return out;
}

// --- Lease -------------------------------------------------------------------------

Lease::Lease(Lease&& other) noexcept
    : session(std::move(other.session)), cache_(std::exchange(other.cache_, nullptr)), key_(std::move(other.key_)),
      opened_(other.opened_), uses_(other.uses_), reused_(other.reused_) {}

Lease& Lease::operator=(Lease&& other) noexcept {
  if (this != &other) {
    if (cache_) cache_->abandon(*this);
    session = std::move(other.session);
    cache_ = std::exchange(other.cache_, nullptr);
    key_ = std::move(other.key_);
    opened_ = other.opened_;
    uses_ = other.uses_;
    reused_ = other.reused_;
  }
  return *this;
}

Lease::~Lease() {
  if (cache_) cache_->abandon(*this);
}

// --- SessionCache ----------------------------------------------------------------

SessionCache::SessionCache(asio::any_io_executor executor, CacheLimits limits, Now now)
    : executor_(std::move(executor)), limits_(limits), now_(now ? std::move(now) : Now([] { return Steady::now(); })) {
  limits_.per_destination = at_least_one(limits_.per_destination);
  limits_.global = at_least_one(limits_.global);
  limits_.reuse_limit = at_least_one(limits_.reuse_limit);
}

SessionCache::~SessionCache() = default;

std::size_t SessionCache::open(const std::string& nexthop) const {
  const auto it = per_nexthop_.find(nexthop);
  return it == per_nexthop_.end() ? 0 : it->second;
}

bool SessionCache::expired(const Idle& idle, Steady::time_point now) const {
  return now - idle.parked >= limits_.idle_time || now - idle.opened >= limits_.max_age;
}

bool SessionCache::room_for(const std::string& nexthop) const {
  return open_ < limits_.global && open(nexthop) < limits_.per_destination;
}

bool SessionCache::evict_for(const std::string& nexthop) {
  auto victim = idle_.end();
  if (open(nexthop) >= limits_.per_destination)
    victim = std::find_if(idle_.begin(), idle_.end(), [&](const Idle& i) { return i.key.nexthop == nexthop; });
  else if (!idle_.empty())
    victim = idle_.begin();  // the longest idle
  if (victim == idle_.end()) return false;
  ++counters_.evicted;
  drop_idle(victim);
  return true;
}

void SessionCache::take_slot(const std::string& nexthop) {
  ++per_nexthop_[nexthop];
  ++open_;
  peak_ = std::max(peak_, open_);
}

void SessionCache::free_slot(const std::string& nexthop) {
  auto it = per_nexthop_.find(nexthop);
  if (it != per_nexthop_.end() && --it->second == 0) per_nexthop_.erase(it);
  --open_;
  // The first waiter the freed slot lets in.
  for (auto w = waiters_.begin(); w != waiters_.end(); ++w)
    if (room_for(w->nexthop)) {
      w->timer->cancel();
      waiters_.erase(w);
      return;
    }
}

void SessionCache::drop_idle(IdleList::iterator it) {
  const std::string key = it->key.text();
  for (auto [b, e] = by_key_.equal_range(key); b != e; ++b)
    if (b->second == it) {
      by_key_.erase(b);
      break;
    }
  std::unique_ptr<smtp::ClientSession> session = std::move(it->session);
  std::string nexthop = std::move(it->key.nexthop);
  idle_.erase(it);
  quit_then_free(std::move(session), std::move(nexthop));
}

// The slot stays taken until the connection is closed, so the servers never
// see more connections than the limits allow.
// XXX a peer that does not answer QUIT holds its slot for the command
// timeout (ClientTimeouts::command), as a delivery to it would.
void SessionCache::quit_then_free(std::unique_ptr<smtp::ClientSession> session, std::string nexthop) {
  if (!session) return free_slot(nexthop);
  ++quitting_;
  auto quit = [](std::unique_ptr<smtp::ClientSession> s, std::string n, SessionCache* self) -> asio::awaitable<void> {
    auto quitting = s->quit();
    co_await std::move(quitting);
    s.reset();
    self->free_slot(n);
    if (--self->quitting_ == 0 && self->closing_) self->closing_->cancel();
  };
  asio::co_spawn(executor_, quit(std::move(session), std::move(nexthop), this), asio::detached);
}

void SessionCache::wake_one(const std::string& key, const std::string& nexthop) {
  auto it = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.key == key; });
  if (it == waiters_.end())
    it = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.nexthop == nexthop; });
  if (it == waiters_.end() && open_ >= limits_.global) it = waiters_.begin();
  if (it == waiters_.end()) return;
  it->timer->cancel();
  waiters_.erase(it);
}

void SessionCache::reopened(Lease& lease) {
  lease.opened_ = now_();
  lease.uses_ = 0;
  lease.reused_ = false;
}

void SessionCache::abandon(Lease& lease) {
  lease.cache_ = nullptr;
  lease.session.reset();  // closed with the connection, no QUIT: an error path
  free_slot(lease.key_.nexthop);
}

asio::awaitable<Lease> SessionCache::acquire(SessionKey key) {
  const std::string text = key.text();
  bool waited = false;
  for (;;) {
    // An idle session for exactly this key (expired ones are closed).
    const Steady::time_point now = now_();
    for (auto b = by_key_.find(text); b != by_key_.end() && b->first == text; b = by_key_.find(text)) {
      const IdleList::iterator it = b->second;
      if (expired(*it, now)) {
        ++counters_.expired;
        drop_idle(it);
        continue;
      }
      by_key_.erase(b);
      Lease lease;
      lease.cache_ = this;
      lease.key_ = std::move(key);
      lease.session = std::move(it->session);
      lease.opened_ = it->opened;
      lease.uses_ = it->uses;
      lease.reused_ = true;
      idle_.erase(it);  // its slot passes to the lease
      ++counters_.reused;
      co_return lease;
    }
    // After close_all() nothing waits: the connection is QUIT at release.
    if (stopped_ || room_for(key.nexthop)) {
      take_slot(key.nexthop);
      Lease lease;
      lease.cache_ = this;
      lease.key_ = std::move(key);
      lease.opened_ = now;
      ++counters_.opened;
      co_return lease;
    }
    // Close an idle session in the way (its slot comes free when it is
    // closed), or wait for a lease to come back.
    evict_for(key.nexthop);
    if (!waited) ++counters_.waits;
    waited = true;
    asio::steady_timer timer(executor_, Steady::time_point::max());
    waiters_.push_back({text, key.nexthop, &timer});
    std::error_code ec;
    co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    // Woken (the waker removed the entry) or cancelled from outside.
    auto self = std::find_if(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.timer == &timer; });
    if (self != waiters_.end()) waiters_.erase(self);
  }
}

void SessionCache::release(Lease lease, std::unique_ptr<smtp::ClientSession> session) {
  if (!lease.cache_) return;
  lease.cache_ = nullptr;
  const Steady::time_point now = now_();
  const std::string text = lease.key_.text();
  const std::size_t uses = lease.uses_ + 1;
  const std::string& nexthop = lease.key_.nexthop;
  // A waiter for another key that this slot would let in goes first: an
  // idle session must not block it until it expires.
  const bool same_key_waits =
      std::any_of(waiters_.begin(), waiters_.end(), [&](const Waiter& w) { return w.key == text; });
  const bool other_needs_slot = std::any_of(waiters_.begin(), waiters_.end(), [&](const Waiter& w) {
    return w.key != text && (w.nexthop == nexthop || open_ >= limits_.global);
  });
  const bool keep = session && session->usable() && !stopped_ && limits_.idle_time.count() > 0 &&
                    uses < limits_.reuse_limit && now - lease.opened_ < limits_.max_age &&
                    (same_key_waits || !other_needs_slot);
  if (!keep) return quit_then_free(std::move(session), nexthop);
  ++counters_.parked;
  idle_.push_back(Idle{std::move(lease.key_), std::move(session), lease.opened_, now, uses});
  by_key_.emplace(text, std::prev(idle_.end()));
  wake_one(text, idle_.back().key.nexthop);
}

void SessionCache::expire() {
  const Steady::time_point now = now_();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto next = std::next(it);
    if (expired(*it, now)) {
      ++counters_.expired;
      drop_idle(it);
    }
    it = next;
  }
}

asio::awaitable<void> SessionCache::sweep() {
  sweep_timer_ = std::make_unique<asio::steady_timer>(executor_);
  constexpr std::chrono::seconds tick{1};  // expiry is judged to the second anyway
  while (!stopped_) {
    sweep_timer_->expires_after(tick);
    std::error_code ec;
    co_await sweep_timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (stopped_) break;
    expire();
  }
}

asio::awaitable<bool> SessionCache::close_all(std::chrono::milliseconds deadline) {
  stopped_ = true;
  if (sweep_timer_) sweep_timer_->cancel();
  while (!idle_.empty()) drop_idle(idle_.begin());
  for (auto& w : waiters_) w.timer->cancel();
  waiters_.clear();
  if (quitting_ == 0) co_return true;
  asio::steady_timer timer(executor_, deadline);
  closing_ = &timer;
  std::error_code ec;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  closing_ = nullptr;
  co_return quitting_ == 0;
}

}  // namespace mxsec::delivery

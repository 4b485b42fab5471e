// dns/caching_resolver.hpp: answers repeated questions from memory until
// their TTL runs out, in front of any Resolver.
//
// Contract
// - Caches answers that ended: ok, nodata and nxdomain with their security,
//   for min(ttl, options.max_ttl) seconds of the injected Clock. A TTL of 0
//   is not cached. Bogus answers are kept for options.bogus_ttl (as
//   unbound's val-bogus-ttl does) so a broken zone is not hammered; SERVFAIL,
//   timeouts and resolver errors are never cached.
// - The cache holds at most options.max_entries answers; when full, expired
//   entries go first, then the oldest insertions.
// - A cached answer is returned exactly as the upstream gave it (security,
//   why_bogus, canonical_name), with the TTL reduced by the time it spent in
//   the cache.
// - Counts hits and upstream questions (misses), so callers can report the
//   DNS queries a task really sent.
// - Not thread-safe: one per io_context (share-nothing workers).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

#include "core/clock.hpp"
#include "dns/resolver.hpp"

namespace mxsec::dns {

struct CacheOptions {
  std::size_t max_entries = 100000;
  std::uint32_t max_ttl = 86400;
  std::uint32_t bogus_ttl = 60;
};

class CachingResolver final : public Resolver {
 public:
  CachingResolver(Resolver& upstream, const Clock& clock, CacheOptions options = {});

  asio::awaitable<RawAnswer> resolve(std::string name, RrType type) override;

  std::size_t hits() const { return hits_; }
  std::size_t misses() const { return misses_; }
  std::size_t size() const { return entries_.size(); }
  void clear();

 private:
  struct Entry {
    RawAnswer answer;
    std::int64_t stored_at = 0;
    std::int64_t expires_at = 0;
  };
  static std::string key(std::string_view name, RrType type);
  void insert(std::string k, RawAnswer answer, std::int64_t now);

  Resolver& upstream_;
  const Clock& clock_;
  CacheOptions options_;
  std::unordered_map<std::string, Entry> entries_;
  std::deque<std::string> order_;  // insertion order, for eviction
  std::size_t hits_ = 0;
  std::size_t misses_ = 0;
};

}  // namespace mxsec::dns

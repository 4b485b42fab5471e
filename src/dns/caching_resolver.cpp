// dns/caching_resolver.cpp: see caching_resolver.hpp.
#include "dns/caching_resolver.hpp"

#include <algorithm>

#include "core/strings.hpp"

namespace mxsec::dns {

CachingResolver::CachingResolver(Resolver& upstream, const Clock& clock, CacheOptions options)
    : upstream_(upstream), clock_(clock), options_(options) {}

std::string CachingResolver::key(std::string_view name, RrType type) {
  std::string k = normalize_domain(name);
  k.push_back('/');
  k += std::to_string(static_cast<unsigned>(type));
  return k;
}

void CachingResolver::clear() {
  entries_.clear();
  order_.clear();
}

void CachingResolver::insert(std::string k, RawAnswer answer, std::int64_t now) {
  std::uint32_t ttl = 0;
  if (answer.security == Security::bogus) {
    ttl = options_.bogus_ttl;
  } else if (answer.status == Status::ok || answer.status == Status::nodata || answer.status == Status::nxdomain) {
    ttl = std::min(answer.ttl, options_.max_ttl);
  }
  if (ttl == 0 || options_.max_entries == 0) return;
  if (entries_.size() >= options_.max_entries) {
    std::erase_if(entries_, [now](const auto& e) { return e.second.expires_at <= now; });
    while (entries_.size() >= options_.max_entries && !order_.empty()) {
      entries_.erase(order_.front());
      order_.pop_front();
    }
    if (order_.size() > 2 * options_.max_entries) {
      std::erase_if(order_, [this](const std::string& o) { return !entries_.contains(o); });
    }
  }
  auto [it, inserted] = entries_.insert_or_assign(k, Entry{std::move(answer), now, now + ttl});
  if (inserted) order_.push_back(std::move(k));
}

asio::awaitable<RawAnswer> CachingResolver::resolve(std::string name, RrType type) {
  const std::int64_t now = clock_.now();
  std::string k = key(name, type);
  if (auto it = entries_.find(k); it != entries_.end()) {
    if (it->second.expires_at > now) {
      ++hits_;
      RawAnswer a = it->second.answer;
      const auto aged = static_cast<std::uint32_t>(now - it->second.stored_at);
      a.ttl = a.ttl > aged ? a.ttl - aged : 0;
      co_return a;
    }
    entries_.erase(it);
  }
  ++misses_;
  RawAnswer a = co_await upstream_.resolve(std::move(name), type);
  insert(std::move(k), a, now);
  co_return a;
}

}  // namespace mxsec::dns

// auth/dkim/header_index.hpp: header fields by name, for h= selection.
//
// Internal to the dkim module (not part of dkim.hpp). One index per message,
// built in O(n log n) for n fields without copying or lower-casing names;
// a lookup is O(log n). RFC 6376 §5.4.2: "If there are multiple instances of
// a field, the instances are signed ... from the bottom of the header block
// to the top", so Selector hands out instances from the last one upwards.
//
// Field names are compared case-insensitively (RFC 5322 §1.2.2). Names are
// bucketed by a 64-bit hash; a hash shared by two different names (possible
// for crafted names) is detected at construction and the lookups then filter
// by name, which stays correct and costs at most O(n) per lookup.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <vector>

#include "codec/message.hpp"
#include "core/strings.hpp"

namespace mxsec::auth::dkim::detail {

class HeaderIndex {
 public:
  explicit HeaderIndex(const std::vector<codec::HeaderField>& headers) : headers_(&headers) {
    entries_.reserve(headers.size());
    for (std::size_t i = 0; i < headers.size(); ++i) entries_.push_back({hash(headers[i].name), i});
    std::sort(entries_.begin(), entries_.end(), [](const Entry& a, const Entry& b) {
      return a.hash != b.hash ? a.hash < b.hash : a.index < b.index;
    });
    for (std::size_t k = 1; k < entries_.size(); ++k)
      if (entries_[k].hash == entries_[k - 1].hash &&
          !iequals(headers[entries_[k].index].name, headers[entries_[k - 1].index].name))
        collisions_ = true;
  }

  // Number of fields named `name`.
  std::size_t count(std::string_view name) const {
    const auto [lo, hi] = range(name);
    if (!collisions_) return static_cast<std::size_t>(hi - lo);
    std::size_t n = 0;
    for (auto it = lo; it != hi; ++it) n += iequals((*headers_)[it->index].name, name) ? 1 : 0;
    return n;
  }

  // The index of the k-th field named `name` counted from the bottom
  // (k = 0 is the last one), or npos.
  std::size_t from_bottom(std::string_view name, std::size_t k) const {
    const auto [lo, hi] = range(name);
    if (!collisions_) return k < static_cast<std::size_t>(hi - lo) ? (hi - 1 - k)->index : npos;
    for (auto it = hi; it != lo;) {
      --it;
      if (!iequals((*headers_)[it->index].name, name)) continue;
      if (k == 0) return it->index;
      --k;
    }
    return npos;
  }

  static constexpr std::size_t npos = static_cast<std::size_t>(-1);

 private:
  struct Entry {
    std::uint64_t hash;
    std::size_t index;
  };

  // A fast hash of the name folded to lower case, 8 octets at a time.
  // Folding ORs 0x20 into every octet, so it also merges a few non-letters
  // ('@' with '`', for instance): such names, like any other hash
  // collision, are told apart by the iequals() check above.
  static std::uint64_t hash(std::string_view name) {
    std::uint64_t h = 0x9E3779B97F4A7C15ULL ^ name.size();
    const char* p = name.data();
    std::size_t n = name.size();
    while (n > 0) {
      const std::size_t take = n < 8 ? n : 8;
      std::uint64_t w = 0;
      std::memcpy(&w, p, take);
      w |= 0x2020202020202020ULL;  // the unread octets too: equal names have equal lengths
      h = (h ^ w) * 0xBF58476D1CE4E5B9ULL;
      h ^= h >> 31;
      p += take;
      n -= take;
    }
    return h;
  }

  std::pair<std::vector<Entry>::const_iterator, std::vector<Entry>::const_iterator> range(std::string_view name) const {
    const std::uint64_t h = hash(name);
    const auto lo = std::lower_bound(entries_.begin(), entries_.end(), h,
                                     [](const Entry& e, std::uint64_t v) { return e.hash < v; });
    const auto hi =
        std::upper_bound(lo, entries_.end(), h, [](std::uint64_t v, const Entry& e) { return v < e.hash; });
    return {lo, hi};
  }

  const std::vector<codec::HeaderField>* headers_;
  std::vector<Entry> entries_;
  bool collisions_ = false;
};

// Hands out the instances of each name from the bottom up, once each, for
// one h= list. Names are looked up as given (h= names are lower case).
class Selector {
 public:
  // `names`: how many names will be asked for at most (a reservation only).
  Selector(const HeaderIndex& index, std::size_t names) : index_(&index) { used_.reserve(names); }
  // The next unused field named `name`, or npos when all are used: RFC 6376
  // §5.4: "nonexistent header fields do not contribute to the signature
  // computation".
  std::size_t next(std::string_view name) {
    for (auto& u : used_)
      if (iequals(u.first, name)) return index_->from_bottom(name, u.second++);
    used_.push_back({name, 1});
    return index_->from_bottom(name, 0);
  }

 private:
  const HeaderIndex* index_;
  std::vector<std::pair<std::string_view, std::size_t>> used_;  // h= has at most kDkimSignedHeaders names
};

}  // namespace mxsec::auth::dkim::detail

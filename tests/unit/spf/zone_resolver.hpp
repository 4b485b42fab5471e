// tests/unit/spf/zone_resolver.hpp: the DNS of one test-suite scenario.
//
// A dns::FakeResolver plus the behaviour the SPF suites expect from a real
// recursive resolver: CNAMEs are followed (a loop or a chain over 8 hops is a
// SERVFAIL), a name can be marked as timing out for every type it has no
// records of (OpenSPF's bare "TIMEOUT"), and names matching a predicate
// fail temporarily (OpenSPF: absent names under "error."; mail-auth: names
// containing "_dns_error"). Every question is counted.
#pragma once

#include <functional>
#include <map>
#include <set>
#include <string>

#include "core/strings.hpp"
#include "dns/fake_resolver.hpp"

namespace mxsec::test {

class ZoneResolver final : public dns::Resolver {
 public:
  dns::FakeResolver fake;

  void add_txt(std::string_view name, const std::vector<std::string>& strings) {
    // TXT <character-string>s hold at most 255 octets; split longer ones as a
    // zone file compiler would.
    std::vector<std::string> chunks;
    for (const auto& s : strings) {
      if (s.empty()) chunks.emplace_back();
      for (std::size_t i = 0; i < s.size(); i += 255) chunks.push_back(s.substr(i, 255));
    }
    fake.add_txt(name, chunks);
    mark(name, dns::RrType::txt);
  }
  void add_a(std::string_view name, std::string_view address) {
    fake.add_a(name, address);
    mark(name, address.find(':') == std::string_view::npos ? dns::RrType::a : dns::RrType::aaaa);
  }
  void add_mx(std::string_view name, std::uint16_t pref, std::string_view exchange) {
    fake.add_mx(name, pref, exchange);
    mark(name, dns::RrType::mx);
  }
  void add_ptr(std::string_view name, std::string_view target) {
    fake.add_ptr(name, target);
    mark(name, dns::RrType::ptr);
  }
  void add_cname(std::string_view name, std::string_view target) {
    fake.add_cname(name, target);
    cnames_[normalize_domain(name)] = normalize_domain(target);
  }
  // Every type that `name` has no records of times out.
  void add_name_timeout(std::string_view name) { timeouts_.insert(normalize_domain(name)); }
  // This one question times out.
  void add_type_timeout(std::string_view name, dns::RrType type) {
    fake.set_outcome(name, type, dns::Status::timeout, dns::Security::indeterminate);
    mark(name, type);
  }
  void set_temp_fail(std::function<bool(const std::string&)> pred) { temp_fail_ = std::move(pred); }

  asio::awaitable<dns::RawAnswer> resolve(std::string name, dns::RrType type) override { co_return lookup(name, type); }

  dns::RawAnswer lookup(std::string_view name, dns::RrType type) {
    ++queries_;
    std::string key = normalize_domain(name);
    for (int hop = 0; hop < 8; ++hop) {
      const bool has = typed_.count({key, type}) != 0;
      if (!has && (timeouts_.count(key) || (temp_fail_ && temp_fail_(key)))) return failed(key, type, dns::Status::timeout);
      auto c = cnames_.find(key);
      if (!has && type != dns::RrType::cname && c != cnames_.end()) {
        key = c->second;
        continue;
      }
      dns::RawAnswer a = fake.lookup(key, type);
      if (key != normalize_domain(name)) a.canonical_name = key;
      return a;
    }
    return failed(key, type, dns::Status::servfail);  // CNAME loop
  }

  std::size_t query_count() const { return queries_; }

 private:
  void mark(std::string_view name, dns::RrType t) { typed_.insert({normalize_domain(name), t}); }
  static dns::RawAnswer failed(const std::string& key, dns::RrType type, dns::Status s) {
    dns::RawAnswer a;
    a.qname = key;
    a.qtype = type;
    a.status = s;
    a.security = dns::Security::indeterminate;
    return a;
  }

  std::set<std::pair<std::string, dns::RrType>> typed_;
  std::map<std::string, std::string> cnames_;
  std::set<std::string> timeouts_;
  std::function<bool(const std::string&)> temp_fail_;
  std::size_t queries_ = 0;
};

}  // namespace mxsec::test

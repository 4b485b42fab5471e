// bench/spf_shapes.hpp: the SPF benchmark shapes and the warm-cache resolver,
// shared by spf_bench (Google Benchmark) and spf_one (callgrind driver).
// Keep kShapes in sync with SHAPES in spf_pyspf.py.
#pragma once

#include <string>
#include <unordered_map>

#include "auth/spf/spf.hpp"
#include "dns/fake_resolver.hpp"

namespace mxsec::bench {

using auth::spf::Verdict;

// A resolver with a warm cache and nothing else: one hash lookup and a copy
// of the cached answer per question, as a caching stub resolver would do.
// FakeResolver is built for tests (it normalises names, counts every
// question per name and type in std::maps) and costs more than the SPF
// evaluation itself; both are measured.
class WarmCacheResolver final : public dns::Resolver {
 public:
  explicit WarmCacheResolver(dns::FakeResolver& zone) : zone_(zone) {}
  asio::awaitable<dns::RawAnswer> resolve(std::string name, dns::RrType type) override {
    name += static_cast<char>(type);
    auto it = cache_.find(name);
    if (it == cache_.end()) {
      name.pop_back();
      dns::RawAnswer a = zone_.lookup(name, type);
      name += static_cast<char>(type);
      it = cache_.emplace(std::move(name), std::move(a)).first;
    }
    co_return it->second;
  }

 private:
  dns::FakeResolver& zone_;
  std::unordered_map<std::string, dns::RawAnswer> cache_;
};

struct Shape {
  const char* name;
  Verdict expect;
  void (*zone)(dns::FakeResolver&);
};

inline const Shape kShapes[] = {
    {"ip4", Verdict::pass,
     [](dns::FakeResolver& d) { d.add_txt("example.com", {"v=spf1 ip4:198.51.100.0/24 ip4:192.0.2.0/24 -all"}); }},
    {"include", Verdict::pass,
     [](dns::FakeResolver& d) {
       d.add_txt("example.com", {"v=spf1 include:_spf.example.net -all"});
       d.add_txt("_spf.example.net", {"v=spf1 ip4:203.0.113.0/24 ip4:192.0.2.0/24 -all"});
     }},
    {"a_mx", Verdict::pass,
     [](dns::FakeResolver& d) {
       d.add_txt("example.com", {"v=spf1 a mx -all"});
       d.add_a("example.com", "198.51.100.1");
       d.add_mx("example.com", 10, "mail.example.com");
       d.add_a("mail.example.com", "192.0.2.55");
     }},
    {"fail_exp", Verdict::fail,
     [](dns::FakeResolver& d) {
       d.add_txt("example.com", {"v=spf1 ip4:198.51.100.0/24 -all exp=exp.example.com"});
       d.add_txt("exp.example.com", {"%{i} is not allowed to send mail for %{d}"});
     }},
    {"nested", Verdict::pass,
     [](dns::FakeResolver& d) {
       d.add_txt("example.com", {"v=spf1 ip4:198.51.100.7 include:_spf.mail.example include:spf.out.example ~all"});
       d.add_txt("_spf.mail.example", {"v=spf1 include:_nb1.mail.example include:_nb2.mail.example ~all"});
       d.add_txt("_nb1.mail.example",
                 {"v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 ip4:66.102.0.0/20 ip6:2001:4860:4000::/36 ~all"});
       d.add_txt("_nb2.mail.example", {"v=spf1 ip4:108.177.8.0/21 ip4:172.217.0.0/19 ip6:2404:6800:4000::/36 ~all"});
       d.add_txt("spf.out.example", {"v=spf1 ip4:40.92.0.0/15 ip4:192.0.2.0/24 ip6:2a01:111:f400::/48 -all"});
     }},
};

}  // namespace mxsec::bench

#include "dns/fake_resolver.hpp"

#include <stdexcept>

#include "core/strings.hpp"
#include "dns/rdata.hpp"

namespace mxsec::dns {

FakeResolver::Entry& FakeResolver::entry(std::string_view name, RrType type) {
  auto [it, inserted] = entries_.try_emplace({normalize_domain(name), type});
  if (inserted) it->second.security = default_security_;
  return it->second;
}

void FakeResolver::add_raw(std::string_view name, RrType type, std::string rdata) {
  Entry& e = entry(name, type);
  e.rdata.push_back(std::move(rdata));
  e.status = Status::ok;
}

void FakeResolver::add_txt(std::string_view name, std::vector<std::string> strings) {
  auto rd = encode_txt(TxtRecord{std::move(strings)});
  if (!rd) throw std::invalid_argument(rd.error().message);
  add_raw(name, RrType::txt, std::move(*rd));
}

void FakeResolver::add_a(std::string_view name, std::string_view address) {
  auto ip = IpAddress::parse(address);
  if (!ip) throw std::invalid_argument("bad address " + std::string(address));
  add_raw(name, ip->is_v4() ? RrType::a : RrType::aaaa, encode_address(*ip));
}

void FakeResolver::add_mx(std::string_view name, std::uint16_t preference, std::string_view exchange) {
  auto rd = encode_mx(MxRecord{preference, std::string(exchange)});
  if (!rd) throw std::invalid_argument(rd.error().message);
  add_raw(name, RrType::mx, std::move(*rd));
}

void FakeResolver::add_ptr(std::string_view name, std::string_view target) {
  auto rd = encode_name(target);
  if (!rd) throw std::invalid_argument(rd.error().message);
  add_raw(name, RrType::ptr, std::move(*rd));
}

void FakeResolver::add_cname(std::string_view name, std::string_view target) {
  auto rd = encode_name(target);
  if (!rd) throw std::invalid_argument(rd.error().message);
  add_raw(name, RrType::cname, std::move(*rd));
}

void FakeResolver::add_tlsa(std::string_view name, const TlsaRecord& tlsa) { add_raw(name, RrType::tlsa, encode_tlsa(tlsa)); }

void FakeResolver::set_outcome(std::string_view name, RrType type, Status status, Security security,
                               std::string why_bogus) {
  Entry& e = entry(name, type);
  e.status = status;
  e.security = security;
  e.why_bogus = std::move(why_bogus);
}

void FakeResolver::set_security(std::string_view name, RrType type, Security security, std::string why_bogus) {
  Entry& e = entry(name, type);
  e.security = security;
  e.why_bogus = std::move(why_bogus);
}

std::size_t FakeResolver::query_count(std::string_view name, RrType type) const {
  auto it = counts_.find({normalize_domain(name), type});
  return it == counts_.end() ? 0 : it->second;
}

void FakeResolver::reset_counts() {
  counts_.clear();
  queries_ = 0;
}

RawAnswer FakeResolver::lookup(std::string_view name, RrType type) {
  ++queries_;
  std::string key = normalize_domain(name);
  ++counts_[{key, type}];
  RawAnswer out;
  out.qname = key;
  out.qtype = type;
  auto it = entries_.find({key, type});
  if (it != entries_.end()) {
    const Entry& e = it->second;
    out.status = e.status;
    out.security = e.security;
    out.why_bogus = e.why_bogus;
    out.ttl = 300;
    if (e.status == Status::ok) out.rdata = e.rdata;
    if (e.status == Status::ok && e.rdata.empty()) out.status = Status::nodata;
    return out;
  }
  bool name_exists = false;
  for (auto e = entries_.lower_bound({key, RrType{0}}); e != entries_.end() && e->first.first == key; ++e) {
    name_exists = true;
    break;
  }
  out.status = name_exists ? Status::nodata : Status::nxdomain;
  out.security = default_security_;
  return out;
}

asio::awaitable<RawAnswer> FakeResolver::resolve(std::string name, RrType type) { co_return lookup(name, type); }

}  // namespace mxsec::dns

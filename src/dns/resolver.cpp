#include "dns/resolver.hpp"

#include "core/limits.hpp"
#include "dns/rdata.hpp"

namespace mxsec::dns {
namespace {

template <class T, class Decode>
Answer<T> decode_answer(RawAnswer raw, Decode decode) {
  Answer<T> out;
  out.qname = std::move(raw.qname);
  out.status = raw.status;
  out.security = raw.security;
  out.why_bogus = std::move(raw.why_bogus);
  out.error = std::move(raw.error);
  out.ttl = raw.ttl;
  out.canonical_name = std::move(raw.canonical_name);
  if (raw.rdata.size() > limits::kDnsMaxRecordsPerAnswer) {
    out.status = Status::error;
    out.error = "too many records in the answer";
    return out;
  }
  out.records.reserve(raw.rdata.size());
  for (const auto& rd : raw.rdata) {
    auto rec = decode(rd);
    if (!rec) {
      // A malformed record poisons the whole answer (fail closed).
      out.status = Status::error;
      out.error = rec.error().message;
      out.records.clear();
      return out;
    }
    out.records.push_back(std::move(*rec));
  }
  if (out.status == Status::ok && out.records.empty()) out.status = Status::nodata;
  return out;
}

}  // namespace

MxAnswer to_mx_answer(RawAnswer raw) { return decode_answer<MxRecord>(std::move(raw), decode_mx); }
TxtAnswer to_txt_answer(RawAnswer raw) { return decode_answer<TxtRecord>(std::move(raw), decode_txt); }
TlsaAnswer to_tlsa_answer(RawAnswer raw) { return decode_answer<TlsaRecord>(std::move(raw), decode_tlsa); }
NameAnswer to_name_answer(RawAnswer raw) { return decode_answer<std::string>(std::move(raw), decode_name_rdata); }
AddressAnswer to_address_answer(RawAnswer raw) {
  const RrType type = raw.qtype;
  return decode_answer<IpAddress>(std::move(raw), [type](std::string_view rd) { return decode_address(rd, type); });
}

asio::awaitable<MxAnswer> Resolver::mx(std::string name) { co_return to_mx_answer(co_await resolve(std::move(name), RrType::mx)); }
asio::awaitable<TxtAnswer> Resolver::txt(std::string name) { co_return to_txt_answer(co_await resolve(std::move(name), RrType::txt)); }
asio::awaitable<AddressAnswer> Resolver::a(std::string name) { co_return to_address_answer(co_await resolve(std::move(name), RrType::a)); }
asio::awaitable<AddressAnswer> Resolver::aaaa(std::string name) { co_return to_address_answer(co_await resolve(std::move(name), RrType::aaaa)); }
asio::awaitable<TlsaAnswer> Resolver::tlsa(std::string name) { co_return to_tlsa_answer(co_await resolve(std::move(name), RrType::tlsa)); }
asio::awaitable<NameAnswer> Resolver::ptr(std::string name) { co_return to_name_answer(co_await resolve(std::move(name), RrType::ptr)); }
asio::awaitable<NameAnswer> Resolver::cname(std::string name) { co_return to_name_answer(co_await resolve(std::move(name), RrType::cname)); }

}  // namespace mxsec::dns

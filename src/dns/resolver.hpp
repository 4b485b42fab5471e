// dns/resolver.hpp: the interface through which all protocol code reaches DNS.
//
// Contract
// - resolve() asks one question and always completes with a RawAnswer; it
//   never throws for DNS-level failures (they are Status/Security values).
// - The typed helpers decode the rdata. Malformed rdata turns the whole
//   answer into Status::error, so a broken record can never be half-used.
// - Implementations: UnboundResolver (dns/unbound_resolver.hpp) validates
//   DNSSEC in-process; FakeResolver (dns/fake_resolver.hpp) is for tests.
// - Names are presentation form, with or without a trailing dot.
#pragma once

#include <asio/awaitable.hpp>
#include <string>

#include "dns/types.hpp"

namespace mxsec::dns {

class Resolver {
 public:
  virtual ~Resolver() = default;
  virtual asio::awaitable<RawAnswer> resolve(std::string name, RrType type) = 0;

  asio::awaitable<MxAnswer> mx(std::string name);
  asio::awaitable<TxtAnswer> txt(std::string name);
  asio::awaitable<AddressAnswer> a(std::string name);
  asio::awaitable<AddressAnswer> aaaa(std::string name);
  asio::awaitable<TlsaAnswer> tlsa(std::string name);
  asio::awaitable<NameAnswer> ptr(std::string name);
  asio::awaitable<NameAnswer> cname(std::string name);
};

// Decodes a raw answer into typed records (exposed for tests and fuzzing).
MxAnswer to_mx_answer(RawAnswer raw);
TxtAnswer to_txt_answer(RawAnswer raw);
AddressAnswer to_address_answer(RawAnswer raw);
TlsaAnswer to_tlsa_answer(RawAnswer raw);
NameAnswer to_name_answer(RawAnswer raw);

}  // namespace mxsec::dns

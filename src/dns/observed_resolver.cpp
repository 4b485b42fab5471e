// dns/observed_resolver.cpp: see observed_resolver.hpp.
#include "dns/observed_resolver.hpp"

namespace mxsec::dns {

asio::awaitable<RawAnswer> ObservedResolver::resolve(std::string name, RrType type) {
  RawAnswer answer = co_await upstream_.resolve(std::move(name), type);
  observer_.answered(type, answer);
  co_return answer;
}

}  // namespace mxsec::dns

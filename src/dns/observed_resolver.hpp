// dns/observed_resolver.hpp: a Resolver that passes every question to
// another one and reports each answer to an observer (the daemon counts
// queries and failures with it).
//
// Contract
// - resolve() asks `upstream` and returns its answer unchanged; after the
//   answer is in, and before it is returned, observer.answered() is called
//   once with the question's type and the answer. Placed between the cache
//   and the validating resolver (runtime/runtime.hpp), it sees exactly the
//   questions that left the cache.
// - The observer is called on the resolving thread, the worker's event
//   loop: it must be quick and must not block (atomic counters). It may be
//   shared by the resolvers of several threads only if it is thread-safe.
// - Both references must outlive the resolver.
#pragma once

#include "dns/resolver.hpp"

namespace mxsec::dns {

class QueryObserver {
 public:
  virtual ~QueryObserver() = default;
  virtual void answered(RrType type, const RawAnswer& answer) = 0;
};

class ObservedResolver final : public Resolver {
 public:
  ObservedResolver(Resolver& upstream, QueryObserver& observer) : upstream_(upstream), observer_(observer) {}
  asio::awaitable<RawAnswer> resolve(std::string name, RrType type) override;

 private:
  Resolver& upstream_;
  QueryObserver& observer_;
};

}  // namespace mxsec::dns

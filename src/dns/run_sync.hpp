// dns/run_sync.hpp: run one awaitable to completion on a private io_context.
//
// For the CLI, tests and benchmarks: code that is not itself a coroutine
// calls run_sync(io, resolver_op()). Exceptions from the coroutine are
// rethrown to the caller. Never call this from inside a coroutine.
#pragma once

#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <asio/use_future.hpp>
#include <exception>
#include <optional>

namespace mxsec {

template <class T>
T run_sync(asio::io_context& io, asio::awaitable<T> op) {
  std::optional<T> result;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(op), [&](std::exception_ptr e, T value) {
    if (e) error = e; else result.emplace(std::move(value));
  });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

}  // namespace mxsec

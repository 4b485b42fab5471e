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
  // The result is stored from inside the coroutine, so T needs no default
  // constructor (asio's co_spawn completion handler would require one).
  std::optional<T> result;
  std::exception_ptr error;
  auto wrapper = [](asio::awaitable<T> inner, std::optional<T>& out) -> asio::awaitable<void> {
    out.emplace(co_await std::move(inner));
  };
  asio::co_spawn(io, wrapper(std::move(op), result), [&](std::exception_ptr e) { error = e; });
  io.restart();
  io.run();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

}  // namespace mxsec

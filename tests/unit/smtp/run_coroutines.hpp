// Shared by the session-layer tests: runs coroutines on one io_context to
// completion, or until a generous guard (a hang is a failure, never a
// wait). An exception escaping a coroutine fails the test.
#pragma once

#include <gtest/gtest.h>

#include <asio/awaitable.hpp>
#include <asio/co_spawn.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <vector>

namespace mxsec::test {

inline void run(asio::io_context& io, std::vector<std::function<asio::awaitable<void>()>> tasks) {
  std::size_t done = 0;
  for (auto& t : tasks)
    asio::co_spawn(io, t(), [&](std::exception_ptr e) {
      ++done;
      if (e) ADD_FAILURE() << "coroutine threw";
    });
  io.run_for(std::chrono::seconds(20));
  EXPECT_EQ(done, tasks.size()) << "a coroutine did not finish";
}

}  // namespace mxsec::test

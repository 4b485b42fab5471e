// Shared helpers for the DMARC unit tests.
#pragma once

#include <asio/io_context.hpp>
#include <optional>
#include <string>

#include "dns/fake_resolver.hpp"
#include "dns/run_sync.hpp"

namespace mxsec::auth::dmarc::testing {

// co_spawn needs a default-constructible result; Result<T> is not.
template <class T>
asio::awaitable<std::optional<T>> wrap(asio::awaitable<T> op) {
  co_return co_await std::move(op);
}

template <class T>
T run(asio::awaitable<T> op) {
  asio::io_context io;
  std::optional<T> r = mxsec::run_sync(io, wrap(std::move(op)));
  return std::move(*r);
}

inline std::string testdata(const std::string& rel) { return std::string(MXSEC_TESTDATA_DIR) + "/" + rel; }

}  // namespace mxsec::auth::dmarc::testing

// core/result.hpp: Result<T>, the value-or-error type used across mxsec.
//
// Contract
// - Result<T> holds either a T or an Error. It is for operations that can fail
//   (I/O, malformed input, resource limits). Protocol verdicts such as an SPF
//   "fail" or a DKIM "fail" are *values*, not errors: a completed evaluation
//   returns its verdict inside a successful Result.
// - Error carries a coarse category (Errc) for callers that branch, and a
//   human-readable message that names what was wrong and where. Messages may
//   quote attacker-controlled text only after core::escape_for_log().
// - g++ 12 has no std::expected under C++20; this is the small substitute.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace mxsec {

enum class Errc {
  invalid_argument,  // caller passed something unusable
  parse,             // malformed input (record, header, message, ...)
  limit,             // a named limit was hit; fail closed
  io,                // file or socket error
  dns,               // DNS failure that is not a verdict (e.g. resolver setup)
  crypto,            // OpenSSL reported an error
  not_found,         // a requested object does not exist
  timeout,           // an operation ran out of time
  cancelled,         // the caller cancelled the operation (Asio per-operation cancellation)
  unsupported,       // valid input we do not implement
  internal,          // a bug
};

const char* errc_name(Errc code);

struct Error {
  Errc code = Errc::internal;
  std::string message;
};

inline Error make_error(Errc code, std::string message) { return Error{code, std::move(message)}; }

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
  Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { assert(has_value()); return std::get<0>(v_); }
  const T& value() const& { assert(has_value()); return std::get<0>(v_); }
  T&& value() && { assert(has_value()); return std::get<0>(std::move(v_)); }
  const Error& error() const { assert(!has_value()); return std::get<1>(v_); }

  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  template <class U>
  T value_or(U&& fallback) const& { return has_value() ? value() : static_cast<T>(std::forward<U>(fallback)); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT
  bool has_value() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { assert(!ok_); return error_; }

 private:
  Error error_;
  bool ok_ = true;
};

}  // namespace mxsec

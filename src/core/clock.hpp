// core/clock.hpp: the only way protocol code learns the time.
//
// Contract: Clock::now() returns seconds since the Unix epoch (UTC). Protocol
// modules (DKIM t=/x=, MTA-STS max_age, report windows) take a `const Clock&`
// so tests can pin time; production passes SystemClock.
#pragma once

#include <cstdint>

namespace mxsec {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::int64_t now() const = 0;
};

class SystemClock final : public Clock {
 public:
  std::int64_t now() const override;
};

// A clock frozen at a given instant, for tests and vector replay.
class FixedClock final : public Clock {
 public:
  explicit FixedClock(std::int64_t t) : t_(t) {}
  std::int64_t now() const override { return t_; }
  void set(std::int64_t t) { t_ = t; }

 private:
  std::int64_t t_;
};

}  // namespace mxsec

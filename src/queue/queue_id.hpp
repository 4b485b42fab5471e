// queue/queue_id.hpp: making queue IDs (valid_id() is declared in spool.hpp).
//
// Contract
// - An ID is kIdLength characters [0-9A-Z]: kIdTimeChars base-36 digits of
//   the microseconds since 1970 (fixed width, so IDs sort by time as strings;
//   11 digits last for 4e9 years), then random base-36 digits from
//   std::random_device (the kernel's generator), so IDs of different
//   processes do not collide. Uniqueness within the spool is still settled by
//   O_EXCL when the file is created.
// - IdGenerator::next() is thread-safe and strictly increasing within a
//   process: the time part never repeats or goes back, even when the clock
//   does or when two IDs are made in the same microsecond.
#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <random>
#include <string>

#include "queue/spool.hpp"

namespace mxsec::queue {

inline constexpr std::size_t kIdLength = 16;
inline constexpr std::size_t kIdTimeChars = 11;
inline constexpr std::size_t kIdRandomChars = kIdLength - kIdTimeChars;

// `time_part` in kIdTimeChars base-36 digits (the high digits are dropped past
// 36^11) followed by `random_part` in kIdRandomChars digits (taken modulo 36^5).
QueueId format_id(std::uint64_t time_part, std::uint64_t random_part);

class IdGenerator {
 public:
  QueueId next();
  // A random number for temporary file names.
  std::uint32_t random();

 private:
  std::mutex mutex_;
  std::random_device device_;
  std::uint64_t last_micros_ = 0;
};

}  // namespace mxsec::queue

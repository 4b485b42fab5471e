// queue/queue_id.cpp: see queue_id.hpp.
#include "queue/queue_id.hpp"

#include <algorithm>
#include <chrono>

namespace mxsec::queue {
namespace {

constexpr char kDigits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

constexpr std::uint64_t power_of_36(std::size_t n) {
  std::uint64_t p = 1;
  for (std::size_t i = 0; i < n; ++i) p *= 36;
  return p;
}

void append_base36(QueueId& out, std::uint64_t value, std::size_t width) {
  const std::size_t start = out.size();
  out.append(width, '0');
  for (std::size_t i = width; i > 0; --i) {
    out[start + i - 1] = kDigits[value % 36];
    value /= 36;
  }
}

}  // namespace

bool valid_id(std::string_view id) {
  return id.size() == kIdLength &&
         std::all_of(id.begin(), id.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); });
}

QueueId format_id(std::uint64_t time_part, std::uint64_t random_part) {
  QueueId id;
  id.reserve(kIdLength);
  append_base36(id, time_part, kIdTimeChars);
  append_base36(id, random_part % power_of_36(kIdRandomChars), kIdRandomChars);
  return id;
}

QueueId IdGenerator::next() {
  const auto now = std::chrono::system_clock::now().time_since_epoch();
  const auto micros = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
  std::uniform_int_distribution<std::uint64_t> pick(0, power_of_36(kIdRandomChars) - 1);
  std::lock_guard lock(mutex_);
  last_micros_ = std::max(micros, last_micros_ + 1);
  return format_id(last_micros_, pick(device_));
}

std::uint32_t IdGenerator::random() {
  std::lock_guard lock(mutex_);
  return device_();
}

}  // namespace mxsec::queue

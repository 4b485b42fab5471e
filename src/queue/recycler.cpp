// queue/recycler.cpp: see recycler.hpp.
#include "queue/recycler.hpp"

#include "core/limits.hpp"

namespace mxsec::queue {

bool FileRecycler::offer(std::string name, std::uint64_t bytes, std::uint64_t generation) {
  if (bytes > limits::kQueueRecycleFileBytes) return false;
  std::lock_guard lock(mu_);
  if (entries_.size() >= limits::kQueueRecycleFiles || bytes_ + bytes > limits::kQueueRecycleBytes) return false;
  // A file whose removal is already durable is eligible now; it goes to the
  // front so that it does not wait behind files that are not.
  Entry entry{File{std::move(name), bytes}, generation};
  if (generation == kAlreadyDurable)
    entries_.push_front(std::move(entry));
  else
    entries_.push_back(std::move(entry));
  bytes_ += bytes;
  return true;
}

std::optional<FileRecycler::File> FileRecycler::take(std::uint64_t completed) {
  std::lock_guard lock(mu_);
  if (entries_.empty()) return std::nullopt;
  const Entry& front = entries_.front();
  if (front.generation != kAlreadyDurable && completed <= front.generation) return std::nullopt;
  File file = std::move(entries_.front().file);
  entries_.pop_front();
  bytes_ -= file.bytes;
  return file;
}

std::size_t FileRecycler::files() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

std::uint64_t FileRecycler::bytes() const {
  std::lock_guard lock(mu_);
  return bytes_;
}

}  // namespace mxsec::queue

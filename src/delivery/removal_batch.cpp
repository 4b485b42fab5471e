// delivery/removal_batch.cpp: see removal_batch.hpp.
#include "delivery/removal_batch.hpp"

#include <map>
#include <optional>
#include <utility>

namespace mxsec::delivery {

RemovalBatch::RemovalBatch(Sync sync, Done done, std::chrono::milliseconds gather)
    : sync_(std::move(sync)), done_(std::move(done)), gather_(gather), thread_([this] { run(); }) {}

RemovalBatch::~RemovalBatch() { stop(); }

void RemovalBatch::add(queue::QueueId id, std::vector<std::string> directories) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      pending_.push_back({std::move(id), std::move(directories)});
      if (pending_.size() == 1 || pending_.size() >= kRemovalBatchItems) cv_.notify_all();
      return;
    }
  }
  std::vector<Item> late;
  late.push_back({std::move(id), std::move(directories)});
  complete(late);
}

void RemovalBatch::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t RemovalBatch::syncs() const {
  std::lock_guard lock(mu_);
  return syncs_;
}

void RemovalBatch::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return stopping_ || !pending_.empty(); });
    if (pending_.empty()) return;  // stopping, nothing left
    // Gather: more deliveries into the same directories share the fsync.
    cv_.wait_for(lock, gather_, [this] { return stopping_ || pending_.size() >= kRemovalBatchItems; });
    std::vector<Item> batch;
    if (pending_.size() <= kRemovalBatchItems) {
      batch.swap(pending_);
    } else {
      batch.assign(std::make_move_iterator(pending_.begin()),
                   std::make_move_iterator(pending_.begin() + static_cast<std::ptrdiff_t>(kRemovalBatchItems)));
      pending_.erase(pending_.begin(), pending_.begin() + static_cast<std::ptrdiff_t>(kRemovalBatchItems));
    }
    lock.unlock();
    complete(batch);
    lock.lock();
  }
}

void RemovalBatch::complete(std::vector<Item>& batch) {
  std::map<std::string, Result<void>, std::less<>> synced;
  std::uint64_t made = 0;
  for (const Item& item : batch)
    for (const std::string& dir : item.directories)
      if (!synced.count(dir)) {
        synced.emplace(dir, sync_(dir));
        ++made;
      }
  {
    std::lock_guard lock(mu_);
    syncs_ += made;
  }
  for (const Item& item : batch) {
    Result<void> result;
    for (const std::string& dir : item.directories)
      if (const Result<void>& r = synced.at(dir); !r && result) result = r;
    done_(item.id, result);
  }
}

}  // namespace mxsec::delivery

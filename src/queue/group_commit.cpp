// queue/group_commit.cpp: see group_commit.hpp.
#include "queue/group_commit.hpp"

namespace mxsec::queue {

void GroupCommit::join(std::unique_ptr<Waiter> waiter) {
  {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(waiter));
    if (syncing_) return;
    syncing_ = true;
  }
  for (;;) {
    std::vector<std::unique_ptr<Waiter>> batch;
    {
      std::lock_guard lock(mutex_);
      if (pending_.empty()) {
        syncing_ = false;
        return;
      }
      batch.swap(pending_);
      started_.fetch_add(1);
    }
    const Result<void> synced = sync_();
    syncs_.fetch_add(1);
    for (auto& w : batch) w->complete(synced);
  }
}

}  // namespace mxsec::queue

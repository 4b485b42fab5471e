// queue/group_commit.hpp: one directory fsync for every rename completed
// so far (group commit).
//
// Contract
// - join() is called after a commit's rename has completed. The waiter joins
//   the pending batch; if no thread is syncing, the calling thread becomes
//   the syncer: it takes the whole pending batch, runs `sync` once (the
//   fsync of queue/), completes every waiter of the batch with its result,
//   and repeats while waiters arrived meanwhile. Otherwise join() returns at
//   once and the running syncer picks the waiter up in its next batch.
// - Why this is durable: a waiter is added only after its rename returned,
//   and the batch is taken before the fsync starts, so every rename of a
//   batch precedes the fsync that completes it.
// - Waiters are completed on the syncer's thread; a waiter that must resume
//   a coroutine posts to that coroutine's executor itself. Thread-safe.
// - started() counts the syncs begun so far and syncs() those completed.
//   Syncs run one after another, so once syncs() exceeds a value that
//   started() had at some moment, a sync that began after that moment has
//   completed: whatever was renamed or removed in the directory before that
//   moment is on stable storage (the spool recycles queue files on that
//   rule, spool.hpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "core/result.hpp"

namespace mxsec::queue {

class GroupCommit {
 public:
  class Waiter {
   public:
    virtual ~Waiter() = default;
    // noexcept: a waiter that could not be completed would hang its commit forever.
    virtual void complete(const Result<void>& synced) noexcept = 0;
  };

  explicit GroupCommit(std::function<Result<void>()> sync) : sync_(std::move(sync)) {}
  void join(std::unique_ptr<Waiter> waiter);
  std::uint64_t syncs() const { return syncs_.load(); }
  std::uint64_t started() const { return started_.load(); }

 private:
  std::function<Result<void>()> sync_;
  std::mutex mutex_;
  std::vector<std::unique_ptr<Waiter>> pending_;
  bool syncing_ = false;
  std::atomic<std::uint64_t> syncs_{0};
  std::atomic<std::uint64_t> started_{0};
};

}  // namespace mxsec::queue

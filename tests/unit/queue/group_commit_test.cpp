// Tests for queue/group_commit.cpp: renames that complete while a directory
// fsync runs share the next one; a failed fsync fails its whole batch; no
// waiter is completed by a sync that started before it joined.
#include "queue/group_commit.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

namespace mxsec::queue {
namespace {

class Counting final : public GroupCommit::Waiter {
 public:
  Counting(std::atomic<int>& ok, std::atomic<int>& failed) : ok_(ok), failed_(failed) {}
  void complete(const Result<void>& synced) noexcept override { ++(synced ? ok_ : failed_); }

 private:
  std::atomic<int>& ok_;
  std::atomic<int>& failed_;
};

// The first sync blocks until released, so the test decides what arrives during it.
class GatedSync {
 public:
  Result<void> operator()() {
    std::unique_lock lock(mutex_);
    ++entered_;
    changed_.notify_all();
    if (entered_ == 1) changed_.wait(lock, [this] { return released_; });
    if (fail_first_ && entered_ == 1) return make_error(Errc::io, "queue: fsync: Input/output error");
    return {};
  }
  void wait_entered() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [this] { return entered_ >= 1; });
  }
  void release() {
    std::lock_guard lock(mutex_);
    released_ = true;
    changed_.notify_all();
  }
  bool fail_first_ = false;

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int entered_ = 0;
  bool released_ = false;
};

TEST(GroupCommit, WaitersArrivingDuringASyncShareTheNextOne) {
  GatedSync gate;
  GroupCommit group([&gate] { return gate(); });
  std::atomic<int> ok{0}, failed{0};
  std::thread syncer([&] { group.join(std::make_unique<Counting>(ok, failed)); });
  gate.wait_entered();
  for (int i = 0; i < 10; ++i) group.join(std::make_unique<Counting>(ok, failed));  // returns at once
  EXPECT_EQ(ok.load(), 0);
  gate.release();
  syncer.join();
  EXPECT_EQ(ok.load(), 11);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(group.syncs(), 2u);
}

TEST(GroupCommit, AFailedSyncFailsItsWholeBatchOnly) {
  GatedSync gate;
  gate.fail_first_ = true;
  GroupCommit group([&gate] { return gate(); });
  std::atomic<int> ok{0}, failed{0};
  std::thread syncer([&] { group.join(std::make_unique<Counting>(ok, failed)); });
  gate.wait_entered();
  for (int i = 0; i < 3; ++i) group.join(std::make_unique<Counting>(ok, failed));
  gate.release();
  syncer.join();
  EXPECT_EQ(failed.load(), 1);  // the first batch
  EXPECT_EQ(ok.load(), 3);      // the next batch synced fine
}

TEST(GroupCommit, AloneEachJoinSyncsOnce) {
  int syncs = 0;
  GroupCommit group([&syncs]() -> Result<void> {
    ++syncs;
    return {};
  });
  std::atomic<int> ok{0}, failed{0};
  for (int i = 0; i < 5; ++i) group.join(std::make_unique<Counting>(ok, failed));
  EXPECT_EQ(ok.load(), 5);
  EXPECT_EQ(syncs, 5);
  EXPECT_EQ(group.syncs(), 5u);
}

// Many threads: every waiter is completed exactly once, by a sync that
// started after it joined (the durability rule), with fewer syncs than joins.
TEST(GroupCommit, EveryWaiterIsCoveredByALaterSync) {
  std::atomic<std::uint64_t> started{0};
  std::uint64_t current = 0;  // written and read by the syncer thread only
  GroupCommit group([&]() -> Result<void> {
    current = ++started;
    std::this_thread::sleep_for(std::chrono::microseconds(500));
    return {};
  });
  std::atomic<int> completed{0}, early{0};
  class Checking final : public GroupCommit::Waiter {
   public:
    Checking(std::uint64_t joined_at, const std::uint64_t& current, std::atomic<int>& completed,
             std::atomic<int>& early)
        : joined_at_(joined_at), current_(current), completed_(completed), early_(early) {}
    void complete(const Result<void>&) noexcept override {
      ++completed_;
      if (current_ <= joined_at_) ++early_;
    }

   private:
    std::uint64_t joined_at_;
    const std::uint64_t& current_;
    std::atomic<int>& completed_;
    std::atomic<int>& early_;
  };
  constexpr int kThreads = 8, kJoins = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kJoins; ++i) group.join(std::make_unique<Checking>(started.load(), current, completed, early));
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(completed.load(), kThreads * kJoins);
  EXPECT_EQ(early.load(), 0);
  EXPECT_LT(group.syncs(), static_cast<std::uint64_t>(kThreads * kJoins));
}

}  // namespace
}  // namespace mxsec::queue

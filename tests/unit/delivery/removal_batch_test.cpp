// Tests for delivery/removal_batch.cpp: one sync per directory per batch,
// failures reach exactly the messages of that directory, stop() drains.
#include "delivery/removal_batch.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mxsec::delivery {
namespace {

struct Recorder {
  std::mutex mu;
  std::map<std::string, int> syncs;        // directory -> fsyncs
  std::vector<std::string> done;           // ids in completion order
  std::map<std::string, std::string> errors;  // id -> error
  std::atomic<bool> sync_in_progress{false};
  std::vector<std::string> synced_before_done;  // directories synced when each id completed

  RemovalBatch::Sync sync(std::string failing = {}) {
    return [this, failing](const std::string& dir) -> Result<void> {
      std::lock_guard lock(mu);
      ++syncs[dir];
      if (dir == failing) return make_error(Errc::io, dir + ": fsync: Input/output error");
      return {};
    };
  }
  RemovalBatch::Done on_done() {
    return [this](const queue::QueueId& id, const Result<void>& r) {
      std::lock_guard lock(mu);
      done.push_back(id);
      if (!r) errors[id] = r.error().message;
    };
  }
};

TEST(RemovalBatch, MessagesGatheredTogetherShareOneSyncPerDirectory) {
  Recorder rec;
  {
    RemovalBatch batch(rec.sync(), rec.on_done(), std::chrono::seconds(30));
    for (int i = 0; i < 100; ++i)
      batch.add("M" + std::to_string(i), {i % 2 ? "/box/a/new" : "/box/b/new"});
    batch.stop();
    EXPECT_EQ(batch.syncs(), 2u);
  }
  EXPECT_EQ(rec.syncs["/box/a/new"], 1);
  EXPECT_EQ(rec.syncs["/box/b/new"], 1);
  ASSERT_EQ(rec.done.size(), 100u);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rec.done[static_cast<std::size_t>(i)], "M" + std::to_string(i));
  EXPECT_TRUE(rec.errors.empty());
}

TEST(RemovalBatch, AFailedSyncKeepsOnlyTheMessagesOfThatDirectory) {
  Recorder rec;
  RemovalBatch batch(rec.sync("/box/bad/new"), rec.on_done(), std::chrono::seconds(30));
  batch.add("GOOD", {"/box/ok/new"});
  batch.add("BAD", {"/box/ok/new", "/box/bad/new"});
  batch.add("NONE", {});
  batch.stop();
  ASSERT_EQ(rec.done, (std::vector<std::string>{"GOOD", "BAD", "NONE"}));
  ASSERT_EQ(rec.errors.size(), 1u);
  EXPECT_NE(rec.errors["BAD"].find("/box/bad/new"), std::string::npos);
}

TEST(RemovalBatch, CompletesWithoutStopAfterTheGatherTime) {
  Recorder rec;
  RemovalBatch batch(rec.sync(), rec.on_done(), std::chrono::milliseconds(1));
  batch.add("ONE", {"/box/a/new"});
  for (int i = 0; i < 5000; ++i) {
    {
      std::lock_guard lock(rec.mu);
      if (!rec.done.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  std::lock_guard lock(rec.mu);
  EXPECT_EQ(rec.done, std::vector<std::string>{"ONE"});
}

TEST(RemovalBatch, AddAfterStopCompletesAtOnce) {
  Recorder rec;
  RemovalBatch batch(rec.sync(), rec.on_done());
  batch.stop();
  batch.add("LATE", {"/box/a/new"});
  EXPECT_EQ(rec.done, std::vector<std::string>{"LATE"});
  EXPECT_EQ(rec.syncs["/box/a/new"], 1);
}

TEST(RemovalBatch, ABatchIsCappedAndTheRestFollows) {
  Recorder rec;
  RemovalBatch batch(rec.sync(), rec.on_done(), std::chrono::seconds(30));
  const std::size_t n = kRemovalBatchItems + 10;
  for (std::size_t i = 0; i < n; ++i) batch.add("M" + std::to_string(i), {"/box/a/new"});
  batch.stop();
  EXPECT_EQ(rec.done.size(), n);
  EXPECT_EQ(rec.syncs["/box/a/new"], 2);  // two batches
}

}  // namespace
}  // namespace mxsec::delivery

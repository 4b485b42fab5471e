// delivery/removal_batch.hpp: delivered messages leave the queue in
// batches, after one fsync per Maildir new/ directory for the whole batch.
//
// Why: a Maildir delivery is durable once its file is fsync()ed and its
// rename into new/ is on stable storage; only then may its queue file go
// (runner.hpp: at least once, never lost). Syncing new/ per delivery costs
// an fsync per message; a batch of deliveries into the same Maildir needs
// one. Nothing waits for the removal: the client had its 250 when the
// message was queued, and the reader sees the message in new/ at once.
//
// Contract
// - add(id, directories): the message `id` was delivered to every
//   recipient; `directories` are the new/ directories whose renames are not
//   yet synced (may be empty). Thread-safe; returns at once.
// - A thread of its own gathers what was added for at most `gather` (or
//   until kRemovalBatchItems are waiting), fsyncs each distinct directory of
//   the batch once with `sync`, then calls done(id, result) for each
//   message of the batch in the order added: result is the first failed
//   sync among the message's directories, or success. `done` removes the
//   message from the queue on success (and must not, on failure: the
//   message stays queued and is delivered again later).
// - stop() (and the destructor) completes everything added so far, then
//   joins the thread; add() after stop() completes at once on the caller's
//   thread. syncs() counts the fsyncs made.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "queue/spool.hpp"

namespace mxsec::delivery {

inline constexpr std::chrono::milliseconds kRemovalGather{10};
inline constexpr std::size_t kRemovalBatchItems = 1024;

class RemovalBatch {
 public:
  using Sync = std::function<Result<void>(const std::string& directory)>;
  using Done = std::function<void(const queue::QueueId& id, const Result<void>& synced)>;

  RemovalBatch(Sync sync, Done done, std::chrono::milliseconds gather = kRemovalGather);
  ~RemovalBatch();
  RemovalBatch(const RemovalBatch&) = delete;
  RemovalBatch& operator=(const RemovalBatch&) = delete;

  void add(queue::QueueId id, std::vector<std::string> directories);
  void stop();
  std::uint64_t syncs() const;

 private:
  struct Item {
    queue::QueueId id;
    std::vector<std::string> directories;
  };
  void run();
  void complete(std::vector<Item>& batch);

  Sync sync_;
  Done done_;
  std::chrono::milliseconds gather_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Item> pending_;
  bool stopping_ = false;
  std::uint64_t syncs_ = 0;
  std::thread thread_;  // last: started when everything above exists
};

}  // namespace mxsec::delivery

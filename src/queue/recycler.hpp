// queue/recycler.hpp: which queue files of delivered messages may carry a
// new message (the bookkeeping; the renames are the spool's, spool.hpp).
//
// Why: a file created and deleted per message costs the file system an
// inode allocation and release each time, and on ext4 without a journal
// every allocation also scans past the inodes freed in the last
// dirty_expire interval (recently_deleted()): at a few thousand messages a
// second that scan was the largest single cost of receiving. A delivered
// message's file moved to free/ and later renamed to incoming/NEWID is
// written over in place instead: no inode is allocated or freed, and a
// message of similar size needs no new blocks either.
//
// Contract
// - offer(name, bytes, generation) keeps a file for reuse and returns true,
//   or returns false (the caller unlinks it) when the file is larger than
//   limits::kQueueRecycleFileBytes or keeping it would exceed
//   limits::kQueueRecycleFiles files or limits::kQueueRecycleBytes in all:
//   a spool never holds more than that much disk for old files.
// - `generation` is GroupCommit::started() (group_commit.hpp) read after the
//   file left queue/; take(completed) hands out the oldest file only when
//   `completed` (GroupCommit::syncs()) exceeds it, i.e. once an fsync of
//   queue/ that began after the file left has completed. A file is thus
//   written over only after its old name is gone from queue/ on stable
//   storage, so a crash can never show a delivered message's name with a
//   new message's octets. generation 0 with completed 0 is not eligible;
//   kAlreadyDurable marks a file whose removal was synced by the caller.
// - take() returns std::nullopt when nothing is eligible (the caller
//   creates a new file); a taken file is no longer counted. forget() drops
//   a file the caller could not reuse after all.
// - Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <limits>
#include <mutex>
#include <optional>
#include <string>

namespace mxsec::queue {

class FileRecycler {
 public:
  struct File {
    std::string name;
    std::uint64_t bytes = 0;
  };
  // Passed as the generation of a file whose removal is already durable.
  static constexpr std::uint64_t kAlreadyDurable = std::numeric_limits<std::uint64_t>::max();

  bool offer(std::string name, std::uint64_t bytes, std::uint64_t generation);
  std::optional<File> take(std::uint64_t completed);
  std::size_t files() const;
  std::uint64_t bytes() const;

 private:
  struct Entry {
    File file;
    std::uint64_t generation = 0;
  };
  mutable std::mutex mu_;
  std::deque<Entry> entries_;  // oldest first; generations never decrease along it
  std::uint64_t bytes_ = 0;
};

}  // namespace mxsec::queue

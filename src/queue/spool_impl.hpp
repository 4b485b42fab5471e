// queue/spool_impl.hpp: what spool.cpp, writer.cpp and commit.cpp share
// (not a public header).
//
// - SpoolDirs: the spool's directory descriptors, opened once by
//   Spool::open(); every file is reached with openat()/renameat()/unlinkat()
//   from them, with a validated ID as the name. Shared (shared_ptr) with the
//   writers, which may outlive the Spool.
// - MessageWriter::Impl owns the incoming/ID descriptor and its write buffer;
//   while `linked` it removes incoming/ID when it is destroyed.
#pragma once

#include <asio/thread_pool.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/unique_fd.hpp"
#include "queue/group_commit.hpp"
#include "queue/queue_id.hpp"
#include "queue/recycler.hpp"
#include "queue/spool.hpp"

namespace mxsec::queue {

inline constexpr const char* kIncomingDir = "incoming";
inline constexpr const char* kQueueDir = "queue";
inline constexpr const char* kStateDir = "state";
inline constexpr const char* kHoldDir = "hold";
inline constexpr const char* kCorruptDir = "corrupt";
inline constexpr const char* kFreeDir = "free";

struct SpoolDirs {
  std::string root;
  UniqueFd root_fd;  // holds the server's flock()
  UniqueFd incoming, queue, state, hold;
  UniqueFd free;  // Mode::server only: queue files kept for reuse (recycler.hpp)

  // "<root>/<sub>/<name>", for messages.
  std::string path(const char* sub, std::string_view name) const {
    return root + "/" + sub + "/" + std::string(name);
  }
};

// rename() that never replaces an existing file (renameat2 RENAME_NOREPLACE;
// on a file system without it, a plain rename: the callers have already
// skipped names that exist, and only the server adds to those directories).
int rename_no_replace(int from_dir, const char* from, int to_dir, const char* to);

// CRC-32 (zlib's, crc32(0, NULL, 0) = 0 to start) of `text` continued from `crc`.
std::uint32_t update_crc32(std::uint32_t crc, std::string_view text);

struct MessageWriter::Impl {
  std::shared_ptr<const SpoolDirs> dirs;
  QueueId id;
  UniqueFd fd;  // incoming/ID, O_RDWR (map_incoming() maps it)
  bool linked = false;  // incoming/ID exists and is ours to remove
  // A recycled file's size when it was taken: commit() cuts the file to its
  // new length when the old one was longer (the footer must end the file).
  std::uint64_t stale_bytes = 0;
  std::unique_ptr<char[]> buffer;
  std::size_t capacity = 0;
  std::size_t used = 0;
  std::uint64_t in_file = 0;  // octets already written to the file
  std::optional<std::uint32_t> crc;  // running CRC-32 of the text (SyncMethod::syncfs only)
  std::optional<Error> failed;  // sticky

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { discard(); }

  std::string path() const { return dirs->path(kIncomingDir, id); }
  Result<void> write(std::string_view text);
  Result<void> flush();
  // Removes incoming/ID (if still ours) and closes it.
  void discard() noexcept;
};

struct Spool::Impl {
  Options options;
  Mode mode = Mode::client;
  std::shared_ptr<SpoolDirs> dirs;
  IdGenerator ids;
  GroupCommit group;
  FileRecycler recycler;  // Mode::server only
  // Last member: joined in ~Impl() before anything it uses goes away.
  asio::thread_pool pool;

  Impl(Options o, Mode m, std::shared_ptr<SpoolDirs> d);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { pool.join(); }

  Result<void> sync_queue_directory() const;
  // Recycling (recycler.hpp), Mode::server: a writer on a file of free/, or
  // nullptr; and remove()'s first step (spool.cpp).
  std::unique_ptr<MessageWriter::Impl> reuse_free_file();
  Result<void> take_out_of_queue(const QueueId& id, bool& removed, std::uint64_t& kept_bytes, bool& kept);
  // What a commit's group sync does: fsync of queue/, or syncfs of the spool.
  Result<void> sync_committed() const;
  std::vector<std::string> recovery;  // Spool::recovery_report()
};

}  // namespace mxsec::queue

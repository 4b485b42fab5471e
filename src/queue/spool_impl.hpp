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
#include "queue/spool.hpp"

namespace mxsec::queue {

inline constexpr const char* kIncomingDir = "incoming";
inline constexpr const char* kQueueDir = "queue";
inline constexpr const char* kStateDir = "state";
inline constexpr const char* kHoldDir = "hold";
inline constexpr const char* kCorruptDir = "corrupt";

struct SpoolDirs {
  std::string root;
  UniqueFd root_fd;  // holds the server's flock()
  UniqueFd incoming, queue, state, hold;

  // "<root>/<sub>/<name>", for messages.
  std::string path(const char* sub, std::string_view name) const {
    return root + "/" + sub + "/" + std::string(name);
  }
};

// CRC-32 (zlib's, crc32(0, NULL, 0) = 0 to start) of `text` continued from `crc`.
std::uint32_t update_crc32(std::uint32_t crc, std::string_view text);

struct MessageWriter::Impl {
  std::shared_ptr<const SpoolDirs> dirs;
  QueueId id;
  UniqueFd fd;  // incoming/ID, O_RDWR (map_incoming() maps it)
  bool linked = false;  // incoming/ID exists and is ours to remove
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
  // Last member: joined in ~Impl() before anything it uses goes away.
  asio::thread_pool pool;

  Impl(Options o, Mode m, std::shared_ptr<SpoolDirs> d);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { pool.join(); }

  Result<void> sync_queue_directory() const;
  // What a commit's group sync does: fsync of queue/, or syncfs of the spool.
  Result<void> sync_committed() const;
  std::vector<std::string> recovery;  // Spool::recovery_report()
};

}  // namespace mxsec::queue

// core/file.hpp: reading and writing files through descriptors, with limits.
//
// Contract
// - read_file_bounded() opens `path` read-only (O_CLOEXEC), refuses anything
//   that is not a regular file, and reads it whole. A file larger than
//   `max_bytes` is Errc::limit (nothing past the limit is buffered); any
//   other failure is Errc::io. Every message names the file and, when given,
//   `what` it is ("trust anchor file", "local policy file").
// - read_fd_bounded() is the same for a descriptor the caller opened (e.g.
//   with openat() and O_NOFOLLOW); `label` names the file in messages.
// - write_all() writes every octet of `data` (retrying short writes and
//   EINTR); pread_exact() reads exactly `size` octets at `offset`, and a file
//   that ends first is Errc::io ("unexpected end of file"). Messages are
//   "<label>: <call>: <strerror>".
// - SyncMethod names how the spool and the Maildir delivery make what they
//   wrote durable before they report it done:
//     fsync   each file is fdatasync()ed or fsync()ed, then renamed, then its
//             directory fsync()ed (commits that finish together share the
//             directory fsync);
//     syncfs  writes and renames are not synced one by one; commits that
//             finish together share one syncfs() of the file system, which
//             writes back every dirty page and inode of it and flushes the
//             device cache. Since Linux 5.8 syncfs() reports write-back
//             errors of the file system, so a failed flush fails every
//             commit of its batch. A file can then reach the disk in any
//             order relative to its rename, so readers after a crash check
//             what they find (queue/spool.hpp: text checksums).
//   fsync_fd() and syncfs_fd() wrap the calls (Errc::io, "<label>: fsync: ...").
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mxsec {

Result<std::string> read_file_bounded(const std::string& path, std::size_t max_bytes, std::string_view what = "file");
Result<std::string> read_fd_bounded(int fd, std::size_t max_bytes, const std::string& label);
Result<void> write_all(int fd, std::string_view data, const std::string& label);
Result<void> pread_exact(int fd, char* out, std::size_t size, std::uint64_t offset, const std::string& label);

enum class SyncMethod { fsync, syncfs };
const char* to_string(SyncMethod m);  // "fsync", "syncfs"
Result<void> fsync_fd(int fd, const std::string& label);
Result<void> syncfs_fd(int fd, const std::string& label);

// "<label>: <call>: <strerror(errno)>" as Errc::io; reads errno.
Error errno_error(const std::string& label, std::string_view call);

}  // namespace mxsec

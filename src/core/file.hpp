// core/file.hpp: owning file descriptors, bounded reads, complete writes.
//
// Contract
// - UniqueFd owns one file descriptor from the line that acquires it and
//   closes it when destroyed (move-only). A negative value owns nothing.
// - read_file_bounded() opens `path` read-only (O_CLOEXEC), refuses anything
//   that is not a regular file, and reads it whole. A file larger than
//   `max_bytes` is Errc::limit (nothing past the limit is buffered); any
//   other failure is Errc::io. Every message names the file and, when given,
//   `what` it is ("trust anchor file", "local policy file").
// - read_fd_bounded() is the same read for a descriptor the caller opened
//   (with its own flags, e.g. O_NOFOLLOW, and after its own fstat); `label`
//   starts every message ("users file /etc/mxsec/users").
// - write_all() writes every byte, retrying short writes and EINTR; a
//   failure is Errc::io naming `label`. It does not fsync.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace mxsec {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();

  int get() const { return fd_; }
  explicit operator bool() const { return fd_ >= 0; }
  int release();

 private:
  int fd_ = -1;
};

Result<std::string> read_file_bounded(const std::string& path, std::size_t max_bytes, std::string_view what = "file");
Result<std::string> read_fd_bounded(int fd, std::size_t max_bytes, const std::string& label);
Result<void> write_all(int fd, std::string_view bytes, const std::string& label);

}  // namespace mxsec

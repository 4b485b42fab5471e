// core/unique_fd.hpp: ownership of one POSIX file descriptor.
//
// Contract
// - UniqueFd owns a descriptor from the line that acquires it and closes it
//   exactly once: in the destructor, in reset(), or never after release().
//   -1 means empty.
// - close() errors are not reported: what must be durable is fsync()ed before
//   the descriptor is dropped, and on Linux the descriptor is gone even when
//   close() fails (so it is never retried).
#pragma once

#include <unistd.h>

#include <utility>

namespace mxsec {

class UniqueFd {
 public:
  UniqueFd() = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) reset(std::exchange(other.fd_, -1));
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  explicit operator bool() const noexcept { return fd_ >= 0; }
  int release() noexcept { return std::exchange(fd_, -1); }
  void reset(int fd = -1) noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_ = -1;
};

}  // namespace mxsec

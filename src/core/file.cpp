// core/file.cpp: see file.hpp.
#include "core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "core/unique_fd.hpp"

namespace mxsec {

const char* to_string(SyncMethod m) { return m == SyncMethod::syncfs ? "syncfs" : "fsync"; }

Result<void> fsync_fd(int fd, const std::string& label) {
  if (::fsync(fd) != 0) return errno_error(label, "fsync");
  return {};
}

Result<void> syncfs_fd(int fd, const std::string& label) {
  if (::syncfs(fd) != 0) return errno_error(label, "syncfs");
  return {};
}

Error errno_error(const std::string& label, std::string_view call) {
  const int saved = errno;
  return make_error(Errc::io, label + ": " + std::string(call) + ": " + std::strerror(saved));
}

Result<std::string> read_file_bounded(const std::string& path, std::size_t max_bytes, std::string_view what) {
  const std::string label = std::string(what) + " " + path;
  const UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return make_error(Errc::io, label + ": " + std::strerror(errno));
  return read_fd_bounded(fd.get(), max_bytes, label);
}

Result<std::string> read_fd_bounded(int fd, std::size_t max_bytes, const std::string& label) {
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return make_error(Errc::io, label + ": not a regular file");
  std::string out;
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(Errc::io, label + ": " + std::strerror(errno));
    }
    if (n == 0) break;
    if (out.size() + static_cast<std::size_t>(n) > max_bytes)
      return make_error(Errc::limit, label + ": larger than " + std::to_string(max_bytes) + " bytes");
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

Result<void> write_all(int fd, std::string_view data, const std::string& label) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(label, "write");
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return {};
}

Result<void> pread_exact(int fd, char* out, std::size_t size, std::uint64_t offset, const std::string& label) {
  while (size > 0) {
    const ssize_t n = ::pread(fd, out, size, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error(label, "pread");
    }
    if (n == 0) return make_error(Errc::io, label + ": pread: unexpected end of file");
    out += n;
    size -= static_cast<std::size_t>(n);
    offset += static_cast<std::uint64_t>(n);
  }
  return {};
}

}  // namespace mxsec

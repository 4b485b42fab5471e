#include "delivery/maildir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include "core/file.hpp"
#include "core/strings.hpp"
#include "core/unique_fd.hpp"

namespace mxsec::delivery {
namespace {

Error io_error(const std::string& what, const std::string& path) { return errno_error(path, what); }

Result<void> make_dir(const std::string& path) {
  if (::mkdir(path.c_str(), 0700) == 0 || errno == EEXIST) return {};
  return io_error("mkdir", path);
}

Result<void> make_dirs(const std::string& path) {
  // Each component in turn, like `mkdir -p`, without a shell.
  for (std::size_t slash = path.find('/', 1); slash != std::string::npos; slash = path.find('/', slash + 1)) {
    auto made = make_dir(path.substr(0, slash));
    if (!made) return made;
  }
  return make_dir(path);
}

std::string unique_name(const std::string& hostname) {
  static std::atomic<unsigned long> counter{0};
  timeval tv{};
  ::gettimeofday(&tv, nullptr);
  std::string host;
  for (char c : hostname) {
    if (c == '/') host += "\\057";
    else if (c == ':') host += "\\072";
    else host += c;
  }
  return std::to_string(tv.tv_sec) + ".M" + std::to_string(tv.tv_usec) + "P" + std::to_string(::getpid()) + "Q" +
         std::to_string(++counter) + "." + host;
}

}  // namespace

Result<std::string> maildir_path(std::string_view pattern, std::string_view local_part, std::string_view domain) {
  if (local_part.empty() || local_part.front() == '.' || local_part.find('/') != std::string_view::npos ||
      local_part.find('\0') != std::string_view::npos)
    return make_error(Errc::invalid_argument, "local part not usable in a path: " + escape_for_log(local_part));
  std::string out;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    const char c = pattern[++i];
    if (c == 'u') out += to_lower(local_part);
    else if (c == 'd') out += to_lower(domain);
    else if (c == '%') out += '%';
    else return make_error(Errc::invalid_argument, std::string("unknown %-sequence in maildir path: %") + c);
  }
  return out;
}

Result<std::string> deliver_maildir(const std::string& maildir, const std::vector<std::string_view>& slices,
                                    const MaildirOptions& options) {
  for (const char* sub : {"", "/tmp", "/new", "/cur"}) {
    auto made = sub[0] ? make_dir(maildir + sub) : make_dirs(maildir);
    if (!made) return made.error();
  }
  const std::string name = unique_name(options.hostname);
  const std::string tmp = maildir + "/tmp/" + name;
  const std::string final_path = maildir + "/new/" + name;
  {
    UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return io_error("open", tmp);
    Result<void> written;
    for (auto slice : slices)
      if (written) written = write_all(fd.get(), slice, tmp);
    if (written && options.fsync && ::fsync(fd.get()) != 0) written = io_error("fsync", tmp);
    if (!written) {
      ::unlink(tmp.c_str());
      return written.error();
    }
  }
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    auto e = io_error("rename", final_path);
    ::unlink(tmp.c_str());
    return e;
  }
  if (options.fsync) {
    const std::string dir = maildir + "/new";
    UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d || ::fsync(d.get()) != 0) return io_error("fsync", dir);
  }
  return final_path;
}

}  // namespace mxsec::delivery

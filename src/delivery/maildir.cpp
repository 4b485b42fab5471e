#include "delivery/maildir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <future>

#include "core/file.hpp"
#include "core/strings.hpp"
#include "core/unique_fd.hpp"
#include "queue/group_commit.hpp"

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

Result<void> fsync_directory(const std::string& dir) {
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d || ::fsync(d.get()) != 0) return io_error("fsync", dir);
  return {};
}

Result<void> syncfs_directory(const std::string& dir) {
  UniqueFd d(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!d) return io_error("open", dir);
  return syncfs_fd(d.get(), dir);
}

Result<void> make_maildir(const std::string& maildir) {
  for (const char* sub : {"", "/tmp", "/new", "/cur"}) {
    auto made = sub[0] ? make_dir(maildir + sub) : make_dirs(maildir);
    if (!made) return made.error();
  }
  return {};
}

// A blocking wait on one group-commit batch.
class SyncWaiter final : public queue::GroupCommit::Waiter {
 public:
  explicit SyncWaiter(std::promise<Result<void>>& done) : done_(done) {}
  void complete(const Result<void>& synced) noexcept override { done_.set_value(synced); }

 private:
  std::promise<Result<void>>& done_;
};

Result<std::string> write_message(const std::string& maildir, const std::string& name,
                                  const std::vector<std::string_view>& slices, bool fsync) {
  const std::string tmp = maildir + "/tmp/" + name;
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd) return io_error("open", tmp);
  Result<void> written;
  for (auto slice : slices)
    if (written) written = write_all(fd.get(), slice, tmp);
  if (written && fsync && ::fsync(fd.get()) != 0) written = io_error("fsync", tmp);
  if (!written) {
    ::unlink(tmp.c_str());
    return written.error();
  }
  return tmp;
}

}  // namespace

namespace {
Result<void> sync_file_system(const std::string& dir, MaildirShared* shared) {
  return shared ? shared->sync_file_system(dir) : syncfs_directory(dir);
}
}  // namespace

MaildirShared::MaildirShared() = default;
MaildirShared::~MaildirShared() = default;

bool MaildirShared::known(const std::string& maildir) {
  std::lock_guard lock(mu_);
  return known_.count(maildir) != 0;
}

void MaildirShared::remember(const std::string& maildir) {
  std::lock_guard lock(mu_);
  if (known_.size() >= kMaildirSharedEntries) known_.clear();
  known_.insert(maildir);
}

void MaildirShared::forget(const std::string& maildir) {
  std::lock_guard lock(mu_);
  known_.erase(maildir);
}

Result<void> MaildirShared::sync_directory(const std::string& dir) {
  return join(dir, [dir] { return fsync_directory(dir); });
}

Result<void> MaildirShared::sync_file_system(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0) return io_error("stat", dir);
  return join("dev " + std::to_string(st.st_dev), [dir] { return syncfs_directory(dir); });
}

Result<void> MaildirShared::join(const std::string& key, std::function<Result<void>()> sync) {
  std::shared_ptr<queue::GroupCommit> group;
  {
    std::lock_guard lock(mu_);
    auto it = groups_.find(key);
    if (it == groups_.end()) {
      // A batch in progress keeps its group alive through the shared_ptr.
      if (groups_.size() >= kMaildirSharedEntries) groups_.clear();
      auto counted = [this, sync = std::move(sync)] {
        syncs_.fetch_add(1);
        return sync();
      };
      it = groups_.emplace(key, std::make_shared<queue::GroupCommit>(std::move(counted))).first;
    }
    group = it->second;
  }
  std::promise<Result<void>> done;
  auto result = done.get_future();
  group->join(std::make_unique<SyncWaiter>(done));
  return result.get();
}

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
  const bool known = options.shared && options.shared->known(maildir);
  if (!known)
    if (auto made = make_maildir(maildir); !made) return made.error();
  const std::string name = unique_name(options.hostname);
  const bool fsync_file = options.fsync && options.sync == SyncMethod::fsync;
  auto tmp = write_message(maildir, name, slices, fsync_file);
  if (!tmp && known && tmp.error().code == Errc::io) {
    // Removed while we remembered it: make it again, once.
    options.shared->forget(maildir);
    if (auto made = make_maildir(maildir); !made) return made.error();
    tmp = write_message(maildir, name, slices, fsync_file);
  }
  if (!tmp) return tmp.error();
  if (options.shared) options.shared->remember(maildir);
  const bool syncfs = options.fsync && options.sync == SyncMethod::syncfs;
  // syncfs: the text is on the disk before the name appears in new/, so a
  // crash never leaves a partial message where a reader looks.
  if (syncfs)
    if (auto synced = sync_file_system(maildir, options.shared); !synced) {
      ::unlink(tmp->c_str());
      return synced.error();
    }
  const std::string final_path = maildir + "/new/" + name;
  if (::rename(tmp->c_str(), final_path.c_str()) != 0) {
    auto e = io_error("rename", final_path);
    ::unlink(tmp->c_str());
    return e;
  }
  const bool caller_syncs = !syncfs && !options.sync_new_directory;
  if (options.fsync && !caller_syncs) {
    const std::string dir = maildir + "/new";
    auto synced = syncfs                ? sync_file_system(dir, options.shared)
                  : options.shared ? options.shared->sync_directory(dir)
                                   : fsync_directory(dir);
    if (!synced) return synced.error();
  }
  return final_path;
}

}  // namespace mxsec::delivery

// delivery/maildir.hpp: delivery into a Maildir (the format of qmail's
// maildir(5), read by Dovecot, Courier, mutt and others).
//
// Contract
// - maildir_path() expands a delivery pattern: %u is the recipient's local
//   part (ASCII lower-cased), %d its A-label domain, %% a percent sign. A
//   local part that could leave the directory ("/", a leading ".", NUL) is
//   refused (Errc::invalid_argument); the server refuses such recipients at
//   RCPT already, this is the second lock.
// - deliver_maildir() writes the slices to tmp/<unique>, fsyncs the file,
//   renames it to new/<unique> and fsyncs new/, so a message counts as
//   delivered only once it is on stable storage (the queue entry is removed
//   after that). cur/, new/ and tmp/ are created (0700) when missing. The
//   unique name is "<seconds>.M<microseconds>P<pid>Q<counter>.<host>", with
//   "/" and ":" in the host name replaced as maildir(5) asks.
// - Files are created O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0600. Returns the
//   path in new/.
// - MaildirShared (optional, thread-safe) is what concurrent deliveries
//   share: the Maildirs known to exist (no mkdir per message; a Maildir
//   removed while known is noticed at open() and made again) and one group
//   commit per new/ directory: a delivery waits for an fsync of new/ that
//   began after its rename, so deliveries that finish together share one
//   fsync (queue/group_commit.hpp) and each still returns only once its
//   rename is on stable storage. At most kMaildirSharedEntries directories
//   are remembered; past that the memory starts over.
#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace mxsec::queue {
class GroupCommit;
}

namespace mxsec::delivery {

inline constexpr std::size_t kMaildirSharedEntries = 4096;

class MaildirShared {
 public:
  MaildirShared();
  ~MaildirShared();
  bool known(const std::string& maildir);
  void remember(const std::string& maildir);
  void forget(const std::string& maildir);
  // Blocks until an fsync of `dir` that began after this call has completed.
  Result<void> sync_directory(const std::string& dir);

 private:
  std::mutex mu_;
  std::set<std::string, std::less<>> known_;
  std::map<std::string, std::shared_ptr<queue::GroupCommit>, std::less<>> groups_;
};

Result<std::string> maildir_path(std::string_view pattern, std::string_view local_part, std::string_view domain);

struct MaildirOptions {
  std::string hostname;  // for unique names
  bool fsync = true;
  MaildirShared* shared = nullptr;  // nullptr: mkdir and fsync per delivery
};

Result<std::string> deliver_maildir(const std::string& maildir, const std::vector<std::string_view>& slices,
                                    const MaildirOptions& options);

}  // namespace mxsec::delivery

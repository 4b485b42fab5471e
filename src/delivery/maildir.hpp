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
//   after that). Under MaildirOptions::sync = SyncMethod::syncfs the two
//   fsyncs are two syncfs() of the Maildir's file system, one after writing
//   (so the text is on the disk before its name appears in new/: a crash
//   never leaves a partial message where a reader looks) and one after the
//   rename; deliveries that reach either point together share it. cur/, new/ and tmp/ are created (0700) when missing. The
//   unique name is "<seconds>.M<microseconds>P<pid>Q<counter>.<host>", with
//   "/" and ":" in the host name replaced as maildir(5) asks. With
//   MaildirOptions::sync_new_directory false (fsync only), the fsync of
//   new/ is left to the caller.
// - Files are created O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0600. Returns the
//   path in new/.
// - MaildirShared (optional, thread-safe) is what concurrent deliveries
//   share: the Maildirs known to exist (no mkdir per message; a Maildir
//   removed while known is noticed at open() and made again) and one group
//   commit per new/ directory (or, under syncfs, per file system): a delivery waits for an fsync of new/ that
//   began after its rename, so deliveries that finish together share one
//   fsync (queue/group_commit.hpp) and each still returns only once its
//   rename is on stable storage. At most kMaildirSharedEntries directories
//   are remembered; past that the memory starts over.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/file.hpp"
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
  // Blocks until a syncfs() of the file system holding `dir` that began
  // after this call has completed (one group per file system).
  Result<void> sync_file_system(const std::string& dir);
  std::uint64_t syncs() const { return syncs_.load(); }  // fsyncs and syncfs() made so far

 private:
  Result<void> join(const std::string& key, std::function<Result<void>()> sync);
  std::mutex mu_;
  std::set<std::string, std::less<>> known_;
  std::map<std::string, std::shared_ptr<queue::GroupCommit>, std::less<>> groups_;
  std::atomic<std::uint64_t> syncs_{0};
};

Result<std::string> maildir_path(std::string_view pattern, std::string_view local_part, std::string_view domain);

struct MaildirOptions {
  std::string hostname;  // for unique names
  bool fsync = true;
  SyncMethod sync = SyncMethod::fsync;
  MaildirShared* shared = nullptr;  // nullptr: mkdir and fsync per delivery
  // SyncMethod::fsync only: false leaves the fsync of new/ (which makes the
  // rename durable) to the caller, who must make it before anything relies
  // on the delivery (the queue runner syncs many deliveries' new/ at once
  // before their queue files go: delivery/removal_batch.hpp). The file
  // itself is still fsync()ed before the rename.
  bool sync_new_directory = true;
};

Result<std::string> deliver_maildir(const std::string& maildir, const std::vector<std::string_view>& slices,
                                    const MaildirOptions& options);

}  // namespace mxsec::delivery

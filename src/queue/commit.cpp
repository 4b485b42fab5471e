// queue/commit.cpp: Spool::commit(), see spool.hpp. On a thread of the sync
// pool: append the JSON and footer, fdatasync() (SyncMethod::fsync), rename
// incoming/ID to queue/ID, then join the group commit (group_commit.hpp) for
// the fsync of queue/ or the syncfs() of the spool's file system. The
// awaiting coroutine is resumed on its own executor.
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <unistd.h>

#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/execution/outstanding_work.hpp>
#include <asio/post.hpp>
#include <asio/prefer.hpp>
#include <asio/use_awaitable.hpp>
#include <type_traits>
#include <utility>

#include "core/file.hpp"
#include "queue/queue_file.hpp"
#include "queue/spool_impl.hpp"

namespace mxsec::queue {
namespace {

// Completes the awaiting coroutine on the coroutine's own executor (never on
// a sync thread), and keeps that executor's context from running out of work
// while the commit is in flight.
template <class Handler>
class ResumeCoroutine final : public GroupCommit::Waiter {
 public:
  explicit ResumeCoroutine(Handler handler)
      : handler_(std::move(handler)),
        work_(asio::prefer(asio::get_associated_executor(handler_), asio::execution::outstanding_work.tracked)) {}

  void complete(const Result<void>& result) noexcept override {
    Invoke invoke{std::move(handler_), result};
    asio::post(work_, std::move(invoke));
  }

 private:
  struct Invoke {
    Handler handler;
    Result<void> result;
    void operator()() { std::move(handler)(std::move(result)); }
  };
  Handler handler_;
  std::decay_t<decltype(asio::prefer(std::declval<asio::associated_executor_t<Handler>>(),
                                     asio::execution::outstanding_work.tracked))>
      work_;
};

// After the rename: a failed directory fsync means the message is not
// acknowledged, so its queue file goes too (best effort; see spool.hpp).
class RenamedMessage final : public GroupCommit::Waiter {
 public:
  RenamedMessage(std::shared_ptr<const SpoolDirs> dirs, QueueId id, std::unique_ptr<GroupCommit::Waiter> next)
      : dirs_(std::move(dirs)), id_(std::move(id)), next_(std::move(next)) {}

  void complete(const Result<void>& synced) noexcept override {
    if (!synced) ::unlinkat(dirs_->queue.get(), id_.c_str(), 0);
    next_->complete(synced);
  }

 private:
  std::shared_ptr<const SpoolDirs> dirs_;
  QueueId id_;
  std::unique_ptr<GroupCommit::Waiter> next_;
};

struct CommitJob {
  Spool::Impl* spool = nullptr;
  std::unique_ptr<MessageWriter::Impl> writer;
  Envelope envelope;
  std::string prepend;
  std::unique_ptr<GroupCommit::Waiter> waiter;

  // Runs on a thread of the sync pool.
  void operator()() {
    const Result<void> renamed = write_and_rename();
    if (!renamed) {
      writer->discard();  // before the coroutine resumes, so it sees no leftover
      waiter->complete(renamed);
      return;
    }
    if (!spool->options.fsync) {
      waiter->complete(renamed);
      return;
    }
    auto batch_member = std::make_unique<RenamedMessage>(writer->dirs, writer->id, std::move(waiter));
    spool->group.join(std::move(batch_member));
  }

  Result<void> write_and_rename() {
    auto tail = encode_tail(envelope, prepend);
    if (!tail) return tail.error();
    if (auto r = writer->flush(); !r) return r;
    const std::string path = writer->path();
    if (auto r = write_all(writer->fd.get(), *tail, path); !r) return r;
    // A recycled file longer than this message: the footer must end the file.
    const std::uint64_t length = writer->in_file + tail->size();
    if (writer->stale_bytes > length && ::ftruncate(writer->fd.get(), static_cast<off_t>(length)) != 0)
      return errno_error(path, "ftruncate");
    // Under SyncMethod::syncfs the batch's syncfs() writes the text back.
    if (spool->options.fsync && spool->options.sync == SyncMethod::fsync && ::fdatasync(writer->fd.get()) != 0)
      return errno_error(path, "fdatasync");
    const SpoolDirs& dirs = *writer->dirs;
    const char* name = writer->id.c_str();
    if (rename_no_replace(dirs.incoming.get(), name, dirs.queue.get(), name) != 0)
      return errno_error(path, "rename to " + dirs.path(kQueueDir, writer->id));
    writer->linked = false;  // queue/ID now; the writer must not remove it
    writer->fd.reset();
    return {};
  }
};

// The initiation of the commit operation: hands the job, with the coroutine's
// completion handler, to the sync pool.
struct StartCommit {
  Spool::Impl* spool;

  template <class Handler>
  void operator()(Handler&& handler, CommitJob job) const {
    job.waiter = std::make_unique<ResumeCoroutine<std::decay_t<Handler>>>(std::forward<Handler>(handler));
    asio::post(spool->pool, std::move(job));
  }
};

}  // namespace

int rename_no_replace(int from_dir, const char* from, int to_dir, const char* to) {
  if (::renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0) return 0;
  if (errno != EINVAL && errno != ENOSYS) return -1;
  // XXX a file system without RENAME_NOREPLACE: plain rename (spool_impl.hpp).
  return ::renameat(from_dir, from, to_dir, to);
}

asio::awaitable<Result<void>> Spool::commit(MessageWriter writer, Envelope envelope, std::string prepend) {
  std::unique_ptr<MessageWriter::Impl> w = std::move(writer.impl_);
  if (w && w->failed) {
    Result<void> refused = *w->failed;
    co_return refused;
  }
  if (!w || !w->fd || w->dirs != impl_->dirs) {
    Result<void> refused = make_error(Errc::invalid_argument, "commit: not an open writer of this spool");
    co_return refused;
  }
  envelope.id = w->id;
  envelope.text_bytes = w->in_file + w->used;
  envelope.text_crc32 = w->crc;
  CommitJob job{impl_.get(), std::move(w), std::move(envelope), std::move(prepend), nullptr};
  // Named locals, not temporaries in the co_await expression: g++ 12
  // miscompiles some temporaries that live across a suspension.
  StartCommit start{impl_.get()};
  auto committing =
      asio::async_initiate<const asio::use_awaitable_t<>&, void(Result<void>)>(start, asio::use_awaitable, std::move(job));
  Result<void> done = co_await std::move(committing);
  co_return done;
}

}  // namespace mxsec::queue

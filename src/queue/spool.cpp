// queue/spool.cpp: opening the spool, creating writers, reading committed
// messages, state, hold and removal; see spool.hpp. commit() is in commit.cpp.
#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

#include "core/file.hpp"
#include "core/limits.hpp"
#include "core/strings.hpp"
#include "queue/queue_file.hpp"
#include "queue/spool_impl.hpp"

namespace mxsec::queue {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
constexpr std::string_view kTmpMarker = ".tmp.";
// Attempts at an unused ID (O_EXCL) before create() gives up.
constexpr int kCreateAttempts = 16;

Error bad_id(std::string_view id) {
  return make_error(Errc::invalid_argument, "not a queue ID: \"" + escape_for_log(id, 40) + "\"");
}

bool exists_at(int dir_fd, const std::string& name) {
  struct stat st {};
  return ::fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
}

// Unlinks `name` in `dir_fd`; a missing file is fine. Sets `removed`.
Result<void> unlink_if_present(int dir_fd, const std::string& name, const std::string& label, bool& removed) {
  removed = ::unlinkat(dir_fd, name.c_str(), 0) == 0;
  if (!removed && errno != ENOENT) return errno_error(label, "unlink");
  return {};
}

struct DirCloser {
  void operator()(DIR* d) const { ::closedir(d); }
};

// The names in the directory `dir_fd` (without "." and "..").
Result<std::vector<std::string>> names_in(int dir_fd, const std::string& label) {
  // A descriptor of its own: readdir() moves the file offset, and `dir_fd` is
  // shared by every thread using the spool.
  UniqueFd fd(::openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return errno_error(label, "open");
  std::unique_ptr<DIR, DirCloser> dir(::fdopendir(fd.get()));
  if (!dir) return errno_error(label, "fdopendir");
  fd.release();  // owned by `dir` now
  std::vector<std::string> names;
  for (;;) {
    errno = 0;
    const dirent* entry = ::readdir(dir.get());
    if (entry == nullptr) break;
    const std::string_view name = entry->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  if (errno != 0) return errno_error(label, "readdir");
  return names;
}

// Anyone who can write to a spool directory can inject or remove messages.
Result<void> refuse_writable_by_others(int dir_fd, const std::string& label) {
  struct stat st {};
  if (::fstat(dir_fd, &st) != 0) return errno_error(label, "fstat");
  if ((st.st_mode & (S_IWGRP | S_IWOTH)) != 0)
    return make_error(Errc::io, label + ": group- or world-writable; refusing to use it as a spool");
  return {};
}

// Opens (and in server mode creates) one directory of the spool.
Result<UniqueFd> open_dir(int parent_fd, const char* name, const std::string& label, Mode mode, bool& created) {
  if (mode == Mode::server) {
    if (::mkdirat(parent_fd, name, 0700) == 0)
      created = true;
    else if (errno != EEXIST)
      return errno_error(label, "mkdir");
  }
  UniqueFd fd(::openat(parent_fd, name, kDirFlags));
  if (!fd) return errno_error(label, "open");
  if (mode == Mode::server)
    if (auto r = refuse_writable_by_others(fd.get(), label); !r) return r.error();
  return fd;
}

std::string parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Result<std::shared_ptr<SpoolDirs>> open_dirs(const Options& options, Mode mode) {
  auto dirs = std::make_shared<SpoolDirs>();
  dirs->root = options.directory;
  bool root_created = false;
  if (mode == Mode::server) {
    if (::mkdir(dirs->root.c_str(), 0700) == 0)
      root_created = true;
    else if (errno != EEXIST)
      return errno_error("spool " + dirs->root, "mkdir");
  }
  // O_NOFOLLOW only inside the spool: the spool path may be a link (spool.hpp).
  dirs->root_fd.reset(::open(dirs->root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dirs->root_fd) return errno_error("spool " + dirs->root, "open");
  if (mode == Mode::server) {
    if (auto r = refuse_writable_by_others(dirs->root_fd.get(), "spool " + dirs->root); !r) return r.error();
    if (::flock(dirs->root_fd.get(), LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK) return make_error(Errc::io, "spool " + dirs->root + ": in use by another server");
      return errno_error("spool " + dirs->root, "flock");
    }
  }
  bool created = false;
  const std::array<std::pair<const char*, UniqueFd*>, 5> subs{{{kIncomingDir, &dirs->incoming},
                                                               {kQueueDir, &dirs->queue},
                                                               {kStateDir, &dirs->state},
                                                               {kHoldDir, &dirs->hold},
                                                               {kFreeDir, &dirs->free}}};
  for (const auto& [name, fd] : subs) {
    // A client never receives or recycles, so it needs no incoming/ or free/
    // (and must not create them).
    if (mode == Mode::client && (fd == &dirs->incoming || fd == &dirs->free)) continue;
    auto opened = open_dir(dirs->root_fd.get(), name, dirs->root + "/" + name, mode, created);
    if (!opened) return opened.error();
    *fd = std::move(*opened);
  }
  if (options.fsync && created)
    if (auto r = fsync_fd(dirs->root_fd.get(), "spool " + dirs->root); !r) return r.error();
  if (options.fsync && root_created) {
    // The spool's own entry must be durable before anything in it is acknowledged.
    const std::string parent = parent_directory(dirs->root);
    const UniqueFd parent_fd(::open(parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent_fd) return errno_error(parent, "open");
    if (auto r = fsync_fd(parent_fd.get(), parent); !r) return r.error();
  }
  return dirs;
}

// Mode::server start-up: incoming/ is emptied (nothing there was
// acknowledged); state/ and hold/ files of messages that are gone, and
// temporary state files, are removed.
Result<void> clean_up(const SpoolDirs& dirs) {
  const std::string incoming_label = dirs.root + "/" + kIncomingDir;
  auto incoming = names_in(dirs.incoming.get(), incoming_label);
  if (!incoming) return incoming.error();
  for (const std::string& name : *incoming)
    if (::unlinkat(dirs.incoming.get(), name.c_str(), 0) != 0 && errno != ENOENT)
      return errno_error(dirs.path(kIncomingDir, name), "unlink");

  struct Sub {
    const char* name;
    int fd;
    bool has_temporaries;
  };
  for (const Sub sub : {Sub{kStateDir, dirs.state.get(), true}, Sub{kHoldDir, dirs.hold.get(), false}}) {
    auto names = names_in(sub.fd, dirs.root + "/" + sub.name);
    if (!names) return names.error();
    for (const std::string& name : *names) {
      const bool temporary = sub.has_temporaries && name.size() > kIdLength &&
                             valid_id(std::string_view(name).substr(0, kIdLength)) &&
                             name.compare(kIdLength, kTmpMarker.size(), kTmpMarker) == 0;
      const bool orphan = valid_id(name) && !exists_at(dirs.queue.get(), name);
      if (!temporary && !orphan) continue;
      if (::unlinkat(sub.fd, name.c_str(), 0) != 0 && errno != ENOENT)
        return errno_error(dirs.path(sub.name, name), "unlink");
    }
  }
  return {};
}

// Mode::server start-up: the files left in free/ by the last run are kept
// for reuse when each is a plain file with one link whose name is not in
// queue/ (after a crash on a file system without a journal, a rename into
// free/ may show up with its old name as well: such a file still holds a
// queued message and is never written over); the rest is removed. One fsync
// of queue/ then makes every kept file's departure from queue/ durable.
Result<void> load_free_files(const SpoolDirs& dirs, const Options& options, FileRecycler& recycler) {
  auto names = names_in(dirs.free.get(), dirs.root + "/" + kFreeDir);
  if (!names) return names.error();
  bool kept = false;
  for (const std::string& name : *names) {
    struct stat st {};
    const bool usable = valid_id(name) && ::fstatat(dirs.free.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                        S_ISREG(st.st_mode) && st.st_nlink == 1 && !exists_at(dirs.queue.get(), name);
    if (usable && recycler.offer(name, static_cast<std::uint64_t>(st.st_size), FileRecycler::kAlreadyDurable)) {
      kept = true;
      continue;
    }
    if (::unlinkat(dirs.free.get(), name.c_str(), 0) != 0 && errno != ENOENT)
      return errno_error(dirs.path(kFreeDir, name), "unlink");
  }
  if (kept && options.fsync) return fsync_fd(dirs.queue.get(), dirs.root + "/" + kQueueDir);
  return {};
}

// queue/ID read up to the message text: the descriptor, the footer, the envelope.
struct QueueFile {
  UniqueFd fd;
  Footer footer;
  StoredEnvelope stored;
};

Result<QueueFile> read_queue_file(const SpoolDirs& dirs, const QueueId& id) {
  if (!valid_id(id)) return bad_id(id);
  const std::string path = dirs.path(kQueueDir, id);
  QueueFile out;
  out.fd.reset(::openat(dirs.queue.get(), id.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!out.fd) {
    if (errno == ENOENT) return make_error(Errc::not_found, "queue file " + path + ": no such message");
    return errno_error("queue file " + path, "open");
  }
  struct stat st {};
  if (::fstat(out.fd.get(), &st) != 0) return errno_error("queue file " + path, "fstat");
  const std::string damaged = "damaged queue file " + path + ": ";
  if (!S_ISREG(st.st_mode)) return make_error(Errc::parse, damaged + "not a regular file");
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size < kFooterBytes) return make_error(Errc::parse, damaged + "shorter than its footer");
  std::string footer_text(kFooterBytes, '\0');
  if (auto r = pread_exact(out.fd.get(), footer_text.data(), kFooterBytes, size - kFooterBytes, "queue file " + path); !r)
    return r.error();
  auto footer = parse_footer(footer_text, size);
  if (!footer) return make_error(Errc::parse, damaged + footer.error().message);
  out.footer = *footer;
  std::string json(static_cast<std::size_t>(footer->json_bytes), '\0');
  if (auto r = pread_exact(out.fd.get(), json.data(), json.size(), footer->text_bytes, "queue file " + path); !r)
    return r.error();
  auto stored = parse_envelope(json, footer_text, *footer, id);
  if (!stored) return make_error(Errc::parse, damaged + stored.error().message);
  out.stored = std::move(*stored);
  return out;
}

Result<void> require_queue_file(const SpoolDirs& dirs, const QueueId& id) {
  if (!valid_id(id)) return bad_id(id);
  if (!exists_at(dirs.queue.get(), id))
    return make_error(Errc::not_found, "queue file " + dirs.path(kQueueDir, id) + ": no such message");
  return {};
}

// The text of an open queue file checked against its envelope's CRC-32, read
// in blocks of limits::kQueueVerifyBlockBytes (never whole into the heap).
Result<void> check_text(const QueueFile& file, const std::string& path) {
  const auto& expected = file.stored.envelope.text_crc32;
  if (!expected) return {};
  std::string block(limits::kQueueVerifyBlockBytes, '\0');
  std::uint32_t crc = 0;
  for (std::uint64_t at = 0; at < file.footer.text_bytes;) {
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(block.size(), file.footer.text_bytes - at));
    if (auto r = pread_exact(file.fd.get(), block.data(), n, at, "queue file " + path); !r) return r;
    crc = update_crc32(crc, std::string_view(block.data(), n));
    at += n;
  }
  if (crc != *expected) return make_error(Errc::parse, "damaged queue file " + path + ": text checksum mismatch");
  return {};
}

// Mode::server start-up, after clean_up(): every queue file is read through
// (its footer, envelope and, when it has one, text checksum); one that is
// damaged moves to corrupt/ID, out of delivery's way, and the report says
// so. After a crash under SyncMethod::syncfs this is how a file whose
// rename reached the disk before its text did is caught: that message was
// never acknowledged (its batch's syncfs() had not returned), and its sender
// still has it.
Result<std::vector<std::string>> recover(const SpoolDirs& dirs) {
  std::vector<std::string> report;
  auto names = names_in(dirs.queue.get(), dirs.root + "/" + kQueueDir);
  if (!names) return names.error();
  UniqueFd corrupt;
  for (const std::string& name : *names) {
    const std::string path = dirs.path(kQueueDir, name);
    Result<void> checked;
    if (!valid_id(name)) {
      checked = make_error(Errc::parse, "damaged queue file " + path + ": not a queue ID");
    } else if (auto file = read_queue_file(dirs, name); !file) {
      if (file.error().code != Errc::parse) return file.error();
      checked = file.error();
    } else {
      checked = check_text(*file, path);
    }
    if (checked) continue;
    if (checked.error().code != Errc::parse) return checked.error();
    if (!corrupt) {
      bool created = false;
      auto opened = open_dir(dirs.root_fd.get(), kCorruptDir, dirs.root + "/" + kCorruptDir, Mode::server, created);
      if (!opened) return opened.error();
      corrupt = std::move(*opened);
    }
    if (::renameat(dirs.queue.get(), name.c_str(), corrupt.get(), name.c_str()) != 0)
      return errno_error(path, "rename to " + dirs.path(kCorruptDir, name));
    ::unlinkat(dirs.state.get(), name.c_str(), 0);
    ::unlinkat(dirs.hold.get(), name.c_str(), 0);
    report.push_back(checked.error().message + "; moved to " + dirs.path(kCorruptDir, name));
  }
  if (corrupt)
    if (auto r = fsync_fd(dirs.queue.get(), dirs.root + "/" + kQueueDir); !r) return r.error();
  return report;
}

}  // namespace

Spool::Impl::Impl(Options o, Mode m, std::shared_ptr<SpoolDirs> d)
    : options(std::move(o)),
      mode(m),
      dirs(std::move(d)),
      group([this] { return sync_committed(); }),
      pool(std::max<std::size_t>(options.sync_threads, 1)) {}

Result<void> Spool::Impl::sync_queue_directory() const {
  return fsync_fd(dirs->queue.get(), dirs->root + "/" + kQueueDir);
}

Result<void> Spool::Impl::sync_committed() const {
  if (options.sync == SyncMethod::syncfs) return syncfs_fd(dirs->root_fd.get(), "spool " + dirs->root);
  return sync_queue_directory();
}

Spool::Spool(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Spool::~Spool() = default;

Result<std::unique_ptr<Spool>> Spool::open(Options options, Mode mode) {
  if (options.directory.empty()) return make_error(Errc::invalid_argument, "spool: no directory given");
  auto dirs = open_dirs(options, mode);
  if (!dirs) return dirs.error();
  if (mode == Mode::server)
    if (auto r = clean_up(**dirs); !r) return r.error();
  auto impl = std::make_unique<Impl>(std::move(options), mode, std::move(*dirs));
  if (mode == Mode::server) {
    auto report = recover(*impl->dirs);
    if (!report) return report.error();
    impl->recovery = std::move(*report);
    if (auto r = load_free_files(*impl->dirs, impl->options, impl->recycler); !r) return r.error();
  }
  return std::unique_ptr<Spool>(new Spool(std::move(impl)));
}

const Options& Spool::options() const { return impl_->options; }

const std::vector<std::string>& Spool::recovery_report() const { return impl_->recovery; }

std::uint64_t Spool::directory_syncs() const { return impl_->group.syncs(); }

// A file of free/ renamed to incoming/<new ID> and opened for writing over,
// or nullptr when none is eligible or the reuse fails (the file is then
// removed and the caller creates a new one).
std::unique_ptr<MessageWriter::Impl> Spool::Impl::reuse_free_file() {
  auto file = recycler.take(group.syncs());
  if (!file) return nullptr;
  const SpoolDirs& d = *dirs;
  auto w = std::make_unique<MessageWriter::Impl>();
  w->dirs = dirs;
  w->id = ids.next();
  if (rename_no_replace(d.free.get(), file->name.c_str(), d.incoming.get(), w->id.c_str()) != 0) {
    ::unlinkat(d.free.get(), file->name.c_str(), 0);
    return nullptr;
  }
  w->linked = true;  // from here on `w` removes incoming/ID when it is dropped
  w->fd.reset(::openat(d.incoming.get(), w->id.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC));
  if (!w->fd || exists_at(d.queue.get(), w->id)) return nullptr;
  w->stale_bytes = file->bytes;
  return w;
}

Result<MessageWriter> Spool::create() {
  if (impl_->mode != Mode::server) return make_error(Errc::invalid_argument, "spool opened as a client cannot receive");
  const SpoolDirs& dirs = *impl_->dirs;
  auto ready = [this](std::unique_ptr<MessageWriter::Impl> w) {
    if (impl_->options.sync == SyncMethod::syncfs) w->crc = 0;
    w->capacity = impl_->options.write_buffer_bytes;
    if (w->capacity > 0) w->buffer = std::make_unique_for_overwrite<char[]>(w->capacity);
    return MessageWriter(std::move(w));
  };
  if (auto reused = impl_->reuse_free_file()) return ready(std::move(reused));
  for (int attempt = 0; attempt < kCreateAttempts; ++attempt) {
    auto w = std::make_unique<MessageWriter::Impl>();
    w->dirs = impl_->dirs;
    w->id = impl_->ids.next();
    w->fd.reset(::openat(dirs.incoming.get(), w->id.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!w->fd) {
      if (errno == EEXIST) continue;
      return errno_error(w->path(), "open");
    }
    w->linked = true;
    // commit() renames without replacing; an ID already committed is skipped
    // here so that the rename cannot fail on it.
    if (exists_at(dirs.queue.get(), w->id)) continue;  // `w` removes its incoming file
    return ready(std::move(w));
  }
  return make_error(Errc::io, "spool " + dirs.root + ": no unused queue ID after " + std::to_string(kCreateAttempts) +
                                  " attempts");
}

Result<MappedText> Spool::map_incoming(MessageWriter& writer) const {
  if (!writer.impl_ || !writer.impl_->fd || writer.impl_->dirs != impl_->dirs)
    return make_error(Errc::invalid_argument, "map_incoming: not an open writer of this spool");
  if (auto r = writer.flush(); !r) return r.error();
  return MappedText::map(writer.impl_->fd.get(), writer.impl_->in_file, writer.impl_->path());
}

Result<std::vector<QueueId>> Spool::list() const {
  auto names = names_in(impl_->dirs->queue.get(), impl_->dirs->root + "/" + kQueueDir);
  if (!names) return names.error();
  std::vector<QueueId> ids;
  for (std::string& name : *names)
    if (valid_id(name)) ids.push_back(std::move(name));
  std::sort(ids.begin(), ids.end());  // IDs sort by time (queue_id.hpp)
  return ids;
}

Result<Envelope> Spool::load(const QueueId& id) const {
  auto file = read_queue_file(*impl_->dirs, id);
  if (!file) return file.error();
  Envelope envelope = std::move(file->stored.envelope);
  const std::string path = impl_->dirs->path(kStateDir, id);
  const UniqueFd state(::openat(impl_->dirs->state.get(), id.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!state) {
    if (errno == ENOENT) return envelope;
    return errno_error("state file " + path, "open");
  }
  auto text = read_fd_bounded(state.get(), limits::kQueueStateBytes, "state file " + path);
  if (!text) return text.error();
  if (auto r = merge_state(*text, envelope); !r)
    return make_error(Errc::parse, "damaged state file " + path + ": " + r.error().message);
  return envelope;
}

Result<Spool::Message> Spool::open_message(const QueueId& id) const {
  auto file = read_queue_file(*impl_->dirs, id);
  if (!file) return file.error();
  auto text = MappedText::map(file->fd.get(), file->footer.text_bytes, "queue file " + impl_->dirs->path(kQueueDir, id));
  if (!text) return text.error();
  return Message{std::move(file->stored.prepend), std::move(*text)};
}

Result<void> Spool::save_state(const Envelope& envelope) {
  const SpoolDirs& dirs = *impl_->dirs;
  if (auto r = require_queue_file(dirs, envelope.id); !r) return r;
  const std::string contents = encode_state(envelope);
  const std::string path = dirs.path(kStateDir, envelope.id);
  std::string tmp;
  UniqueFd fd;
  for (int attempt = 0; attempt < kCreateAttempts && !fd; ++attempt) {
    tmp = envelope.id + std::string(kTmpMarker);
    append_hex(tmp, static_cast<unsigned char>(attempt));
    const std::uint32_t r = impl_->ids.random();
    for (int shift = 24; shift >= 0; shift -= 8) append_hex(tmp, static_cast<unsigned char>(r >> shift));
    fd.reset(::openat(dirs.state.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd && errno != EEXIST) return errno_error(dirs.path(kStateDir, tmp), "open");
  }
  if (!fd) return make_error(Errc::io, "state file " + path + ": no unused temporary name");
  // Removes the temporary file on every early return.
  struct TmpGuard {
    int dir;
    const std::string& name;
    bool armed = true;
    ~TmpGuard() {
      if (armed) ::unlinkat(dir, name.c_str(), 0);
    }
  } guard{dirs.state.get(), tmp};
  const std::string tmp_label = "state file " + dirs.path(kStateDir, tmp);
  if (auto r = write_all(fd.get(), contents, tmp_label); !r) return r;
  if (impl_->options.fsync && ::fdatasync(fd.get()) != 0) return errno_error(tmp_label, "fdatasync");
  if (::renameat(dirs.state.get(), tmp.c_str(), dirs.state.get(), envelope.id.c_str()) != 0)
    return errno_error(tmp_label, "rename to " + path);
  guard.armed = false;
  if (impl_->options.fsync) return fsync_fd(dirs.state.get(), dirs.root + "/" + kStateDir);
  return {};
}

// Takes queue/ID out of queue/: in Mode::server into free/ for reuse when
// the recycler has room (recycler.hpp), otherwise (and in Mode::client) by
// unlinking it. `kept` is set when it went to free/ and still has to be
// offered (after the caller knows when its removal is durable).
Result<void> Spool::Impl::take_out_of_queue(const QueueId& id, bool& removed, std::uint64_t& kept_bytes,
                                             bool& kept) {
  const SpoolDirs& d = *dirs;
  const std::string label = "queue file " + d.path(kQueueDir, id);
  kept = false;
  struct stat st {};
  if (mode == Mode::server && ::fstatat(d.queue.get(), id.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
      S_ISREG(st.st_mode) && static_cast<std::uint64_t>(st.st_size) <= limits::kQueueRecycleFileBytes &&
      recycler.files() < limits::kQueueRecycleFiles &&
      rename_no_replace(d.queue.get(), id.c_str(), d.free.get(), id.c_str()) == 0) {
    removed = kept = true;
    kept_bytes = static_cast<std::uint64_t>(st.st_size);
    return {};
  }
  return unlink_if_present(d.queue.get(), id, label, removed);
}

Result<void> Spool::remove(const QueueId& id) {
  if (!valid_id(id)) return bad_id(id);
  const SpoolDirs& dirs = *impl_->dirs;
  bool queue_removed = false, state_removed = false, hold_removed = false, kept = false;
  std::uint64_t kept_bytes = 0;
  if (auto r = impl_->take_out_of_queue(id, queue_removed, kept_bytes, kept); !r) return r;
  // The message is gone for good before its state goes (see spool.hpp).
  const bool has_state = exists_at(dirs.state.get(), id) || exists_at(dirs.hold.get(), id);
  const bool sync_now = queue_removed && has_state && impl_->options.fsync;
  if (sync_now)
    if (auto r = impl_->sync_queue_directory(); !r) return r;
  if (kept) {
    // Without fsync nothing is ever durable, and nothing needs to wait.
    const bool durable = sync_now || !impl_->options.fsync;
    const std::uint64_t generation = durable ? FileRecycler::kAlreadyDurable : impl_->group.started();
    if (!impl_->recycler.offer(id, kept_bytes, generation)) ::unlinkat(dirs.free.get(), id.c_str(), 0);
  }
  if (auto r = unlink_if_present(dirs.state.get(), id, "state file " + dirs.path(kStateDir, id), state_removed); !r)
    return r;
  if (auto r = unlink_if_present(dirs.hold.get(), id, "hold file " + dirs.path(kHoldDir, id), hold_removed); !r)
    return r;
  if (!queue_removed && !state_removed && !hold_removed)
    return make_error(Errc::not_found, "queue file " + dirs.path(kQueueDir, id) + ": no such message");
  return {};
}

Result<void> Spool::set_hold(const QueueId& id, bool hold) {
  const SpoolDirs& dirs = *impl_->dirs;
  if (auto r = require_queue_file(dirs, id); !r) return r;
  const std::string label = "hold file " + dirs.path(kHoldDir, id);
  if (hold) {
    const UniqueFd fd(::openat(dirs.hold.get(), id.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd) return errno_error(label, "open");
  } else {
    bool removed = false;
    if (auto r = unlink_if_present(dirs.hold.get(), id, label, removed); !r) return r;
  }
  if (impl_->options.fsync) return fsync_fd(dirs.hold.get(), dirs.root + "/" + kHoldDir);
  return {};
}

bool Spool::held(const QueueId& id) const { return valid_id(id) && exists_at(impl_->dirs->hold.get(), id); }

}  // namespace mxsec::queue

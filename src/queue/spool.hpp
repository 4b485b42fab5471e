// queue/spool.hpp: the durable mail queue on disk.
//
// Contract
// - Layout under Options::directory:
//     incoming/ID   a message being received (never acknowledged)
//     queue/ID      a committed message: the message text, then its envelope
//                   (JSON) and a fixed footer that locates both
//     state/ID      per-recipient delivery state, replaced atomically (rename)
//     hold/ID       present while the message is on hold (`mxsec queue hold`)
//     corrupt/ID    a queue file found damaged at start-up (kept for the admin)
//     free/NAME     the file of a delivered message, kept to carry a new one
//                   (Mode::server; queue/recycler.hpp)
//   The footer is written last, so a queue file either parses completely or
//   is rejected as damaged; open() in Mode::server deletes every file left in
//   incoming/ (those messages were never acknowledged).
// - Durability (the rule every acknowledgement rests on): commit() returns
//   success only after the text and the envelope are on stable storage: the
//   file is fdatasync()ed, renamed from incoming/ into queue/ (the atomic
//   "ready" marker) and the queue/ directory is fsync()ed. Commits that
//   finish at the same moment share one directory fsync (group commit). A
//   server replies 250 only after commit() succeeded; after a crash at any
//   moment every acknowledged message is in queue/.
//   Under Options::sync = SyncMethod::syncfs (core/file.hpp) the file is not
//   fdatasync()ed: it is renamed into queue/ and commits that finish
//   together share one syncfs() of the spool's file system, which makes the
//   text, the envelope and the rename durable at once. Such a file carries a
//   CRC-32 of its text in the envelope (text_crc32), because after a crash
//   its rename may be on the disk while part of its text is not: open() in
//   Mode::server reads every queue file through and moves a damaged one
//   (footer, envelope or text checksum) to corrupt/ID, with a line in
//   recovery_report(). No acknowledged message can be damaged that way: its
//   batch's syncfs() had returned.
//   Options::fsync = false skips the syncs (tests of logic only; `serve`
//   always syncs).
// - Memory: MessageWriter buffers at most Options::write_buffer_bytes and
//   writes the rest to the file as it arrives; the text is never held whole
//   in the heap. map() gives read-only access to a file's message text
//   through a memory mapping (DKIM verification, delivery).
// - IDs: 16 characters [0-9A-Z], time-ordered then random, unique within the
//   spool (O_EXCL); valid_id() checks what a CLI user typed before it is used
//   as a file name.
// - Concurrency: a Spool may be used from several threads. Several processes
//   may read it while a server runs (the queue CLI); only the server writes
//   queue/ and state/; the CLI writes hold/ and removes messages.
// - Errors: Errc::io with the path and strerror; Errc::parse for a damaged
//   queue file; Errc::not_found for an unknown ID.
//
// On-disk format and further rules
// - queue/ID = text | JSON | footer. The footer is 64 ASCII octets,
//     "\nmxsec-queue 1 t=<16 hex> j=<8 hex> c=<16 hex>\n"
//   (lower-case hex): the text length, the JSON length, and FNV-1a 64 over the
//   JSON followed by the footer up to "c=". load() preads the footer, checks
//   text + JSON + footer = file size, the checksum, the JSON against the
//   envelope schema, that its id is the file name and its text_bytes the
//   footer's; anything else is Errc::parse "damaged queue file <path>: ...".
//   The text itself is not checksummed (it is never read whole; the rename
//   makes a file appear complete or not at all). The JSON part of a file and
//   a state file are bounded by limits::kQueueEnvelopeBytes / kQueueStateBytes.
// - commit() takes envelope.id and envelope.text_bytes from the writer. JSON
//   holds text, so every string of the envelope and the prepend must be
//   UTF-8 (SMTP input is ASCII or, with SMTPUTF8, UTF-8; RFC 6531 §3.3);
//   otherwise commit() fails with Errc::invalid_argument and the message is
//   discarded. A failed commit() leaves nothing in incoming/ or queue/ (if the
//   directory fsync fails, the renamed file is unlinked again, best effort).
// - state/ID holds, per recipient in envelope order, the address (checked on
//   load), state, attempts, next_attempt, last_result and last_host; and
//   for the message, whether its delay notice was sent (delay_notified; a
//   state file without it reads as false).
//   last_result and last_host quote remote servers, so invalid UTF-8 in them
//   is stored as U+FFFD. load() fails with Errc::parse if the state file does
//   not parse or does not match the envelope's recipients. save_state()
//   writes a uniquely named state/ID.tmp.* (O_EXCL), fdatasync()s it, renames
//   it over state/ID and fsync()s state/ (Options::fsync); save_state() on an
//   ID without a queue file is Errc::not_found.
// - Recycling (Mode::server): remove() moves queue/ID to free/ID instead of
//   unlinking it while the recycler has room (at most
//   limits::kQueueRecycleFiles files of at most kQueueRecycleFileBytes,
//   kQueueRecycleBytes in all), and create() renames such a file to
//   incoming/<new ID> and writes over it; commit() cuts it to the new
//   message's length. A file is reused only after an fsync of queue/ that
//   began after it left queue/ has completed, so its old name never comes
//   back after a crash holding a new message's octets (recycler.hpp). At
//   start-up free/ files that have a second link or a twin in queue/ are
//   removed, the rest are kept. A reader that opened queue/ID before its
//   removal (the queue CLI) may see the file change under it: the
//   envelope's id then no longer matches and the reader gets Errc::parse.
//   Clients never recycle.
// - remove() takes queue/ID out of queue/ (above), then (after an fsync of queue/, so that a
//   crash cannot bring the message back without its state) state/ID and
//   hold/ID. A message with neither (every recipient done at the first
//   attempt: the common case) costs no fsync: if a crash undoes the unlink,
//   the message is delivered again, which at-least-once allows and the
//   crash test counts as a duplicate. Files already missing are fine, an ID with none of them is
//   Errc::not_found. set_hold() on an ID without a queue file is
//   Errc::not_found. An ID that is not valid_id() is Errc::invalid_argument
//   for every call that takes one (held() answers false).
// - Mode::server creates the directory and its subdirectories (0700) if
//   missing, refuses a spool directory that is group- or world-writable,
//   holds an exclusive flock() on the spool directory (a second server on the
//   same spool fails with Errc::io), empties incoming/, and removes state/
//   and hold/ files that have no queue file as well as state/ID.tmp.*
//   leftovers. Mode::client creates and deletes nothing except through
//   set_hold(), remove() and save_state(); create() is Errc::invalid_argument.
// - Options::directory itself may be a symbolic link (the administrator's
//   choice); nothing inside it is followed (O_NOFOLLOW, openat() from
//   directory descriptors opened once).
// - commit() ignores per-operation cancellation: once started, it completes
//   with the message either committed (durable) or not there at all.
// - Group commit: after its rename, a commit joins the pending batch; one
//   thread of the sync pool at a time takes every rename completed so far,
//   fsync()s queue/ once and completes the whole batch. directory_syncs()
//   counts those fsyncs.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/file.hpp"
#include "core/result.hpp"

namespace mxsec::queue {

using QueueId = std::string;
bool valid_id(std::string_view id);

enum class RecipientState { pending, delivered, bounced };
const char* to_string(RecipientState s);

struct Recipient {
  std::string address;       // as received ("user@domain"; U-labels kept)
  std::string domain_ascii;  // A-label domain, for routing
  unsigned notify = 0;       // smtp::NotifyFlag bits (RFC 3461), 0 = default
  std::string orcpt;
  RecipientState state = RecipientState::pending;
  int attempts = 0;
  std::int64_t next_attempt = 0;  // unix seconds; 0 = now
  std::string last_result;        // the last attempt's reply or reason, for `queue show` and DSNs
  std::string last_host;          // "mx.example[192.0.2.1]:25" or "maildir:/path"
  // Relayed recipients: the MX host's transport policy at the last attempt
  // (policy::to_string(Verdict): "dane", "mta-sts", ...) and the TLS the
  // session had (`tls=`: dane-ee, dane-ta, mta-sts, opportunistic, none);
  // "" when not relayed or no session carried the message.
  std::string last_policy;
  std::string last_tls;
  // Set by the attempt that relayed the recipient: the server that accepted
  // it offered DSN, so its NOTIFY and ORCPT went on with the message (RFC
  // 3461 §5.2.1) and a NOTIFY=SUCCESS is that server's to answer, not ours
  // (delivery/notify.hpp). Not saved in state/ID: only the notices of that
  // same attempt read it.
  bool dsn_passed_on = false;
};

struct Envelope {
  QueueId id;
  std::string reverse_path;  // "" = null sender (never bounced to)
  std::vector<Recipient> recipients;
  std::int64_t arrival = 0;   // unix seconds
  bool smtputf8 = false;
  bool eight_bit = false;
  bool requiretls = false;    // RFC 8689, recorded with the message
  int dsn_ret = 0;            // smtp::DsnRet
  std::string envid;
  std::string client_address;  // "192.0.2.1"
  std::string client_helo;
  std::string auth_user;       // SMTP AUTH identity, "" if none
  std::string listener;        // "smtp", "submission", "smtps", "local"
  std::uint64_t text_bytes = 0;  // the message text, as received
  // CRC-32 (zlib) of the text, written by commits under SyncMethod::syncfs
  // and checked by Spool::recover(); older files and fsync commits have none.
  std::optional<std::uint32_t> text_crc32;
  // Delivery state of the whole message (state/ID, not the queue file):
  bool delay_notified = false;   // the "delayed" DSN was sent (RFC 3464), never twice
};

struct Options {
  std::string directory;
  bool fsync = true;
  SyncMethod sync = SyncMethod::fsync;  // how commit() makes a message durable (when fsync)
  std::size_t write_buffer_bytes = 64 * 1024;
  std::size_t sync_threads = 4;  // threads doing fdatasync (parallel) and the directory syncs; 0 counts as 1
};

enum class Mode { server, client };

class Spool;

// A message being received into incoming/. Destroying it without commit()
// removes the file.
class MessageWriter {
 public:
  MessageWriter(MessageWriter&&) noexcept;
  MessageWriter& operator=(MessageWriter&&) noexcept;
  ~MessageWriter();
  const QueueId& id() const;
  Result<void> write(std::string_view text);
  std::uint64_t size() const;  // octets written so far
  // Writes the buffer out so that map_incoming() sees every octet. A write
  // error is sticky: later write(), flush() and commit() return it.
  Result<void> flush();
  // Removes the file now; later write() and commit() fail.
  void abort();
  // The heap the writer holds for text: Options::write_buffer_bytes, fixed at
  // create() (for tests of the memory bound).
  std::size_t buffer_capacity() const;

  // Opaque (queue/spool_impl.hpp); public so that the implementation's
  // helpers can name it.
  struct Impl;

 private:
  friend class Spool;
  explicit MessageWriter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A read-only mapping of a message's text (empty text maps to an empty view).
class MappedText {
 public:
  MappedText() = default;
  MappedText(MappedText&&) noexcept;
  MappedText& operator=(MappedText&&) noexcept;
  ~MappedText();
  std::string_view view() const { return {static_cast<const char*>(data_), size_}; }

 private:
  friend class Spool;
  friend class MessageWriter;
  // Maps the first `size` octets of `fd` read-only; `label` names the file.
  static Result<MappedText> map(int fd, std::uint64_t size, const std::string& label);
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

class Spool {
 public:
  Spool(const Spool&) = delete;
  Spool& operator=(const Spool&) = delete;
  static Result<std::unique_ptr<Spool>> open(Options options, Mode mode);
  ~Spool();
  const Options& options() const;
  // Mode::server: one line per queue file that open() found damaged and
  // moved to corrupt/ (see recover in the contract); the server logs them.
  const std::vector<std::string>& recovery_report() const;

  // --- receiving (server) ---------------------------------------------------
  Result<MessageWriter> create();
  // The text written so far, for verification (flushes the writer first).
  Result<MappedText> map_incoming(MessageWriter& writer) const;
  // Makes the message durable (see the contract); `prepend` is header text
  // (CRLF-terminated fields, e.g. Received and Authentication-Results) that
  // delivery writes before the message text. Completes on the awaiting
  // coroutine's executor.
  asio::awaitable<Result<void>> commit(MessageWriter writer, Envelope envelope, std::string prepend);

  // --- reading (delivery, queue CLI) ------------------------------------------
  Result<std::vector<QueueId>> list() const;  // committed messages, oldest first
  // The envelope with the recipients' state from state/ID merged in.
  Result<Envelope> load(const QueueId& id) const;
  // prepend + message text, as delivery writes it out.
  struct Message {
    std::string prepend;
    MappedText text;
  };
  Result<Message> open_message(const QueueId& id) const;

  // --- state --------------------------------------------------------------------
  Result<void> save_state(const Envelope& envelope);  // atomic replace of state/ID
  Result<void> remove(const QueueId& id);              // the message and its state
  Result<void> set_hold(const QueueId& id, bool hold);
  bool held(const QueueId& id) const;

  // Directory fsyncs made by commits so far (group commit: fewer than commits).
  std::uint64_t directory_syncs() const;

  struct Impl;  // opaque, as MessageWriter::Impl

 private:
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxsec::queue

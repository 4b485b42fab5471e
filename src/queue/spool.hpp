// queue/spool.hpp: the durable mail queue on disk.
//
// Contract
// - Layout under Options::directory:
//     incoming/ID   a message being received (never acknowledged)
//     queue/ID      a committed message: the message text, then its envelope
//                   (JSON) and a fixed footer that locates both
//     state/ID      per-recipient delivery state, replaced atomically (rename)
//     hold/ID       present while the message is on hold (`mxsec queue hold`)
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
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

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
};

struct Options {
  std::string directory;
  bool fsync = true;
  std::size_t write_buffer_bytes = 64 * 1024;
  std::size_t sync_threads = 4;  // threads doing fdatasync (parallel) and the directory syncs
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
  // Writes the buffer out so that map_text() sees every octet.
  Result<void> flush();
  void abort();

 private:
  friend class Spool;
  struct Impl;
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
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

class Spool {
 public:
  static Result<std::unique_ptr<Spool>> open(Options options, Mode mode);
  ~Spool();
  const Options& options() const;

  // --- receiving (server) ---------------------------------------------------
  Result<MessageWriter> create();
  // The text written so far (after writer.flush()), for verification.
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

 private:
  struct Impl;
  explicit Spool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mxsec::queue

// smtp/session/memory_stream.hpp: an in-memory byte-stream pair with fault
// injection, for driving SMTP sessions (and TLS over them) in unit tests.
//
// Contract
// - make_memory_pair() returns two connected ends: bytes written to one are
//   read from the other, in order. Each end is an Asio AsyncReadStream and
//   AsyncWriteStream (executor_type, async_read_some, async_write_some) and
//   its own lowest layer, so asio::ssl::stream<MemoryStream&> layers TLS on
//   it exactly as on a tcp::socket.
// - Operations never complete inside the initiating call (they are posted),
//   as with a socket. One read and one write may be outstanding per end.
// - Per-operation cancellation: a pending read or write ends with
//   asio::error::operation_aborted when its bound cancellation slot is
//   emitted (terminal, partial or total: nothing has moved until the
//   operation completes), like a socket's.
// - Faults, set per end before or between operations (MemoryFaults):
//     max_read / max_write   - short reads / short writes (0 = no limit);
//     delay                  - every read and write of this end waits this
//                              long before it looks at the pipe;
//     read_error/write_error - the next read / write fails with this code
//                              (one shot), after any buffered bytes for reads.
// - close() is a socket close: pending and later operations of this end end
//   with operation_aborted; the peer reads the bytes already written and then
//   asio::error::eof, and its writes fail with broken_pipe.
//   shutdown_send() only half-closes: the peer reads EOF, this end may read.
// - Ownership: both ends share one state object; either end may be destroyed
//   first (the peer then sees EOF). Single-threaded: use one executor.
// - Counters: bytes_read()/bytes_written() per end, so tests can assert that
//   work stayed bounded.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/buffer.hpp>
#include <asio/cancellation_state.hpp>
#include <asio/compose.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <system_error>
#include <utility>

namespace mxsec::smtp {

struct MemoryFaults {
  std::size_t max_read = 0;   // at most this many octets per read (0 = no limit)
  std::size_t max_write = 0;  // at most this many octets accepted per write (0 = no limit)
  std::chrono::milliseconds delay{0};
  std::error_code read_error;   // one shot
  std::error_code write_error;  // one shot
};

namespace detail {

// One direction of the pair.
struct MemoryPipe {
  explicit MemoryPipe(const asio::any_io_executor& ex) : ready(ex), read_delay(ex), write_delay(ex) {}
  std::string data;               // written, not yet read
  bool writer_closed = false;     // reader sees EOF once `data` is drained
  bool reader_closed = false;     // writer gets broken_pipe; reader gets operation_aborted
  asio::steady_timer ready;       // a waiting reader parks here; writers cancel it to wake it
  asio::steady_timer read_delay;  // MemoryFaults::delay of the reading end
  asio::steady_timer write_delay;  // MemoryFaults::delay of the writing end
  void wake() { ready.cancel(); }
};

struct MemoryPairState {
  explicit MemoryPairState(const asio::any_io_executor& ex) : zero_to_one(ex), one_to_zero(ex) {}
  MemoryPipe zero_to_one;
  MemoryPipe one_to_zero;
  std::array<MemoryFaults, 2> faults{};
  std::array<std::size_t, 2> read{};
  std::array<std::size_t, 2> written{};
  MemoryPipe& from(int end) { return end == 0 ? zero_to_one : one_to_zero; }  // what `end` writes
  MemoryPipe& to(int end) { return end == 0 ? one_to_zero : zero_to_one; }    // what `end` reads
};

}  // namespace detail

class MemoryStream {
 public:
  using executor_type = asio::any_io_executor;
  using lowest_layer_type = MemoryStream;

  MemoryStream(std::shared_ptr<detail::MemoryPairState> state, int end) : state_(std::move(state)), end_(end) {}
  MemoryStream(MemoryStream&&) noexcept = default;
  MemoryStream& operator=(MemoryStream&&) noexcept = default;
  MemoryStream(const MemoryStream&) = delete;
  MemoryStream& operator=(const MemoryStream&) = delete;
  ~MemoryStream();

  executor_type get_executor() const { return in().ready.get_executor(); }
  lowest_layer_type& lowest_layer() { return *this; }
  const lowest_layer_type& lowest_layer() const { return *this; }

  MemoryFaults& faults() { return state_->faults[end_]; }
  std::size_t bytes_read() const { return state_->read[end_]; }
  std::size_t bytes_written() const { return state_->written[end_]; }
  bool is_open() const { return state_ && !in().reader_closed; }

  void close();
  void shutdown_send();

  template <class MutableBufferSequence, class ReadToken>
  auto async_read_some(const MutableBufferSequence& buffers, ReadToken&& token) {
    return asio::async_compose<ReadToken, void(std::error_code, std::size_t)>(
        ReadOp{state_, end_, first_mutable(buffers)}, token, get_executor());
  }

  template <class ConstBufferSequence, class WriteToken>
  auto async_write_some(const ConstBufferSequence& buffers, WriteToken&& token) {
    return asio::async_compose<WriteToken, void(std::error_code, std::size_t)>(
        WriteOp{state_, end_, first_const(buffers)}, token, get_executor());
  }

 private:
  detail::MemoryPipe& in() const { return state_->to(end_); }

  template <class Buffers>
  static asio::mutable_buffer first_mutable(const Buffers& b) {
    for (auto it = asio::buffer_sequence_begin(b); it != asio::buffer_sequence_end(b); ++it)
      if (asio::mutable_buffer(*it).size() > 0) return *it;
    return {};
  }
  template <class Buffers>
  static asio::const_buffer first_const(const Buffers& b) {
    for (auto it = asio::buffer_sequence_begin(b); it != asio::buffer_sequence_end(b); ++it)
      if (asio::const_buffer(*it).size() > 0) return *it;
    return {};
  }

  enum class Phase { start, delayed, check };

  struct ReadOp {
    std::shared_ptr<detail::MemoryPairState> s;
    int end;
    asio::mutable_buffer buf;
    Phase phase = Phase::start;

    template <class Self>
    void operator()(Self& self, std::error_code = {}) {
      detail::MemoryPipe& p = s->to(end);
      MemoryFaults& f = s->faults[end];
      if (phase == Phase::start) {
        // Nothing is consumed or delivered until the op completes, so any
        // cancellation type is safe (composed ops default to terminal only).
        self.reset_cancellation_state(asio::enable_total_cancellation());
        phase = f.delay.count() > 0 ? Phase::delayed : Phase::check;
        if (phase == Phase::delayed) {
          p.read_delay.expires_after(f.delay);
          p.read_delay.async_wait(std::move(self));
        } else {
          asio::post(std::move(self));  // never complete inside the initiating call
        }
        return;
      }
      phase = Phase::check;
      if (self.get_cancellation_state().cancelled() != asio::cancellation_type::none || p.reader_closed) {
        self.complete(asio::error::operation_aborted, 0);
        return;
      }
      if (!p.data.empty() && buf.size() > 0) {
        std::size_t n = std::min(buf.size(), p.data.size());
        if (f.max_read > 0) n = std::min(n, f.max_read);
        p.data.copy(static_cast<char*>(buf.data()), n);
        p.data.erase(0, n);
        s->read[end] += n;
        self.complete(std::error_code{}, n);
        return;
      }
      if (f.read_error) {
        self.complete(std::exchange(f.read_error, std::error_code{}), 0);
        return;
      }
      if (p.writer_closed && p.data.empty()) {
        self.complete(asio::error::eof, 0);
        return;
      }
      if (buf.size() == 0) {
        self.complete(std::error_code{}, 0);
        return;
      }
      p.ready.expires_at(asio::steady_timer::time_point::max());
      p.ready.async_wait(std::move(self));
    }
  };

  struct WriteOp {
    std::shared_ptr<detail::MemoryPairState> s;
    int end;
    asio::const_buffer buf;
    Phase phase = Phase::start;

    template <class Self>
    void operator()(Self& self, std::error_code = {}) {
      detail::MemoryPipe& out = s->from(end);
      detail::MemoryPipe& own_in = s->to(end);
      MemoryFaults& f = s->faults[end];
      if (phase == Phase::start) {
        // Nothing is consumed or delivered until the op completes, so any
        // cancellation type is safe (composed ops default to terminal only).
        self.reset_cancellation_state(asio::enable_total_cancellation());
        phase = f.delay.count() > 0 ? Phase::delayed : Phase::check;
        if (phase == Phase::delayed) {
          out.write_delay.expires_after(f.delay);
          out.write_delay.async_wait(std::move(self));
        } else {
          asio::post(std::move(self));
        }
        return;
      }
      if (self.get_cancellation_state().cancelled() != asio::cancellation_type::none || own_in.reader_closed) {
        self.complete(asio::error::operation_aborted, 0);
        return;
      }
      if (f.write_error) {
        self.complete(std::exchange(f.write_error, std::error_code{}), 0);
        return;
      }
      if (out.reader_closed || out.writer_closed) {
        self.complete(asio::error::broken_pipe, 0);
        return;
      }
      std::size_t n = buf.size();
      if (f.max_write > 0) n = std::min(n, f.max_write);
      out.data.append(static_cast<const char*>(buf.data()), n);
      s->written[end] += n;
      out.wake();
      self.complete(std::error_code{}, n);
    }
  };

  std::shared_ptr<detail::MemoryPairState> state_;
  int end_ = 0;
};

struct MemoryPair {
  MemoryStream client;
  MemoryStream server;
};

MemoryPair make_memory_pair(const asio::any_io_executor& ex);

}  // namespace mxsec::smtp

#include "smtp/session/memory_stream.hpp"

namespace mxsec::smtp {

MemoryStream::~MemoryStream() { close(); }

void MemoryStream::close() {
  if (!state_) return;
  detail::MemoryPipe& own_in = in();
  own_in.reader_closed = true;
  own_in.wake();
  own_in.read_delay.cancel();
  detail::MemoryPipe& out = state_->from(end_);
  out.writer_closed = true;
  out.wake();
  out.write_delay.cancel();
}

void MemoryStream::shutdown_send() {
  if (!state_) return;
  detail::MemoryPipe& out = state_->from(end_);
  out.writer_closed = true;
  out.wake();
}

MemoryPair make_memory_pair(const asio::any_io_executor& ex) {
  auto state = std::make_shared<detail::MemoryPairState>(ex);
  return MemoryPair{MemoryStream(state, 0), MemoryStream(state, 1)};
}

}  // namespace mxsec::smtp

// queue/writer.cpp: MessageWriter (a message being received into incoming/)
// and MappedText; see spool.hpp.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <utility>

#include "core/file.hpp"
#include "queue/spool_impl.hpp"

namespace mxsec::queue {

std::uint32_t update_crc32(std::uint32_t crc, std::string_view text) {
  uLong c = crc;
  while (!text.empty()) {
    const auto n = static_cast<uInt>(std::min<std::size_t>(text.size(), 1u << 30));
    c = ::crc32(c, reinterpret_cast<const Bytef*>(text.data()), n);
    text.remove_prefix(n);
  }
  return static_cast<std::uint32_t>(c);
}

// --- MessageWriter::Impl --------------------------------------------------------

Result<void> MessageWriter::Impl::write(std::string_view text) {
  if (failed) return *failed;
  if (crc) *crc = update_crc32(*crc, text);
  if (text.size() <= capacity - used) {
    if (!text.empty()) std::memcpy(buffer.get() + used, text.data(), text.size());
    used += text.size();
    return {};
  }
  if (auto r = flush(); !r) return r;
  if (text.size() < capacity) {
    std::memcpy(buffer.get(), text.data(), text.size());
    used = text.size();
    return {};
  }
  // Larger than the whole buffer: straight to the file, never copied.
  if (auto r = write_all(fd.get(), text, path()); !r) {
    failed = r.error();
    return r;
  }
  in_file += text.size();
  return {};
}

Result<void> MessageWriter::Impl::flush() {
  if (failed) return *failed;
  if (used == 0) return {};
  if (auto r = write_all(fd.get(), std::string_view(buffer.get(), used), path()); !r) {
    failed = r.error();
    return r;
  }
  in_file += used;
  used = 0;
  return {};
}

void MessageWriter::Impl::discard() noexcept {
  if (linked) ::unlinkat(dirs->incoming.get(), id.c_str(), 0);
  linked = false;
  fd.reset();
  buffer.reset();
  capacity = used = 0;
}

// --- MessageWriter ----------------------------------------------------------------

MessageWriter::MessageWriter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MessageWriter::MessageWriter(MessageWriter&&) noexcept = default;
MessageWriter& MessageWriter::operator=(MessageWriter&&) noexcept = default;
MessageWriter::~MessageWriter() = default;

const QueueId& MessageWriter::id() const {
  static const QueueId kNone;
  return impl_ ? impl_->id : kNone;
}

Result<void> MessageWriter::write(std::string_view text) {
  if (!impl_ || !impl_->fd) return make_error(Errc::invalid_argument, "write to a closed message writer");
  return impl_->write(text);
}

std::uint64_t MessageWriter::size() const { return impl_ ? impl_->in_file + impl_->used : 0; }

Result<void> MessageWriter::flush() {
  if (!impl_ || !impl_->fd) return make_error(Errc::invalid_argument, "flush of a closed message writer");
  return impl_->flush();
}

void MessageWriter::abort() {
  if (!impl_) return;
  impl_->discard();
  impl_->failed = make_error(Errc::invalid_argument, "message " + impl_->id + " was aborted");
}

std::size_t MessageWriter::buffer_capacity() const { return impl_ ? impl_->capacity : 0; }

// --- MappedText -------------------------------------------------------------------

MappedText::MappedText(MappedText&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

MappedText& MappedText::operator=(MappedText&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) ::munmap(data_, size_);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

MappedText::~MappedText() {
  if (data_ != nullptr) ::munmap(data_, size_);
}

Result<MappedText> MappedText::map(int fd, std::uint64_t size, const std::string& label) {
  MappedText out;
  if (size == 0) return out;  // mmap() of zero octets is EINVAL; an empty view needs no mapping
  if (size > std::numeric_limits<std::size_t>::max()) return make_error(Errc::limit, label + ": too large to map");
  void* p = ::mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) return errno_error(label, "mmap");
  out.data_ = p;
  out.size_ = static_cast<std::size_t>(size);
  return out;
}

}  // namespace mxsec::queue

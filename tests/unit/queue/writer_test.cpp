// Tests for queue/writer.cpp: MessageWriter buffers at most
// write_buffer_bytes and writes the rest through as it arrives; a writer that
// is not committed leaves nothing; map_incoming() and MappedText.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <string>

#include "queue/queue_file.hpp"
#include "spool_test_util.hpp"

namespace mxsec::queue {
namespace {

std::uint64_t size_on_disk(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
  return static_cast<std::uint64_t>(st.st_size);
}

class Writer : public test::SpoolTest {
 protected:
  std::string incoming_path(const MessageWriter& w) const { return sub("incoming/" + w.id()); }
  // Opens the spool with a write buffer of `bytes` and creates a writer.
  Result<MessageWriter> start_with_buffer(std::size_t bytes) {
    Options o = options();
    o.write_buffer_bytes = bytes;
    if (!start(o)) return make_error(Errc::internal, "the spool did not open");
    return spool_->create();
  }
};

TEST_F(Writer, CreatesAPrivateFileInIncoming) {
  ASSERT_TRUE(start());
  auto w = spool_->create();
  ASSERT_TRUE(w) << w.error().message;
  EXPECT_TRUE(valid_id(w->id()));
  struct stat st {};
  ASSERT_EQ(::lstat(incoming_path(*w).c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto second = spool_->create();
  ASSERT_TRUE(second);
  EXPECT_LT(w->id(), second->id());
}

TEST_F(Writer, DestroyedWithoutCommitLeavesNothing) {
  ASSERT_TRUE(start());
  {
    auto w = spool_->create();
    ASSERT_TRUE(w);
    ASSERT_TRUE(w->write(std::string(200000, 'x')));
    EXPECT_EQ(test::files_in(sub("incoming")).size(), 1u);
  }
  EXPECT_TRUE(test::files_in(sub("incoming")).empty());
  EXPECT_TRUE(test::files_in(sub("queue")).empty());
}

TEST_F(Writer, AbortRemovesTheFileAndRefusesMore) {
  ASSERT_TRUE(start());
  auto w = spool_->create();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("abc"));
  w->abort();
  EXPECT_TRUE(test::files_in(sub("incoming")).empty());
  EXPECT_FALSE(w->write("more"));
  EXPECT_FALSE(w->flush());
  auto r = test::commit_now(*spool_, std::move(*w), test::sample_envelope(), "");
  EXPECT_FALSE(r);
  EXPECT_TRUE(test::files_in(sub("queue")).empty());
}

TEST_F(Writer, BuffersUpToTheLimitThenWritesThrough) {
  auto w = start_with_buffer(16);
  ASSERT_TRUE(w) << w.error().message;
  const std::string path = incoming_path(*w);
  EXPECT_EQ(w->buffer_capacity(), 16u);
  ASSERT_TRUE(w->write("0123456789"));  // 10 buffered
  EXPECT_EQ(size_on_disk(path), 0u);
  ASSERT_TRUE(w->write("abcdef"));  // 16: exactly full, still buffered
  EXPECT_EQ(size_on_disk(path), 0u);
  ASSERT_TRUE(w->write("g"));  // the full buffer goes out, "g" is buffered
  EXPECT_EQ(size_on_disk(path), 16u);
  ASSERT_TRUE(w->write(std::string(40, 'h')));  // "g" out, 40 octets straight through
  EXPECT_EQ(size_on_disk(path), 57u);
  EXPECT_EQ(w->size(), 57u);
  ASSERT_TRUE(w->write("tail"));
  EXPECT_EQ(size_on_disk(path), 57u);
  EXPECT_EQ(w->size(), 61u);
  ASSERT_TRUE(w->flush());
  EXPECT_EQ(size_on_disk(path), 61u);
  EXPECT_EQ(test::read_whole(path), "0123456789abcdefg" + std::string(40, 'h') + "tail");
}

TEST_F(Writer, UnbufferedWritesGoStraightToTheFile) {
  auto w = start_with_buffer(0);
  ASSERT_TRUE(w) << w.error().message;
  ASSERT_TRUE(w->write(""));
  ASSERT_TRUE(w->write("a"));
  EXPECT_EQ(size_on_disk(incoming_path(*w)), 1u);
  EXPECT_EQ(w->buffer_capacity(), 0u);
}

// 20 MB through a 64 KiB buffer: the heap held for text stays the buffer (a
// fixed array, buffer_capacity()), and at every moment all but at most one
// buffer's worth of what was written is already in the file.
TEST_F(Writer, TwentyMegabytesThroughA64KiBBuffer) {
  auto w = start_with_buffer(64 * 1024);
  ASSERT_TRUE(w) << w.error().message;
  const std::string path = incoming_path(*w);
  constexpr std::uint64_t kTotal = 20 * 1024 * 1024;
  std::string piece;
  std::uint64_t hash = fnv1a64("");
  std::uint64_t written = 0;
  for (int i = 0; written < kTotal; ++i) {
    // Pieces of uneven sizes, now and then one larger than the buffer.
    const std::size_t size = std::min<std::uint64_t>(i % 50 == 0 ? 100000 : 1000 + i % 777, kTotal - written);
    piece.assign(size, static_cast<char>('a' + i % 26));
    hash = fnv1a64(piece, hash);
    ASSERT_TRUE(w->write(piece));
    written += size;
    ASSERT_EQ(w->size(), written);
    if (i % 64 == 0) {
      ASSERT_GE(size_on_disk(path) + 64 * 1024, written);
    }
    ASSERT_EQ(w->buffer_capacity(), 64u * 1024);
  }
  const QueueId id = w->id();
  ASSERT_TRUE(test::commit_now(*spool_, std::move(*w), test::sample_envelope(), ""));
  auto message = spool_->open_message(id);
  ASSERT_TRUE(message) << message.error().message;
  EXPECT_EQ(message->text.view().size(), kTotal);
  EXPECT_EQ(fnv1a64(message->text.view()), hash);
}

TEST_F(Writer, MapIncomingSeesEverythingWritten) {
  ASSERT_TRUE(start());
  auto w = spool_->create();
  ASSERT_TRUE(w);
  auto empty = spool_->map_incoming(*w);
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->view().empty());
  ASSERT_TRUE(w->write("From: a@example.org\r\n\r\n"));
  ASSERT_TRUE(w->write("body\r\n"));
  auto mapped = spool_->map_incoming(*w);  // flushes the buffer first
  ASSERT_TRUE(mapped) << mapped.error().message;
  EXPECT_EQ(mapped->view(), "From: a@example.org\r\n\r\nbody\r\n");
  MappedText moved = std::move(*mapped);
  EXPECT_EQ(moved.view().size(), 29u);
  EXPECT_TRUE(mapped->view().empty());
  w->abort();  // the mapping outlives the file
  EXPECT_EQ(moved.view(), "From: a@example.org\r\n\r\nbody\r\n");
  EXPECT_FALSE(spool_->map_incoming(*w));
}

TEST_F(Writer, WriterOfAnotherSpoolIsRefused) {
  ASSERT_TRUE(start());
  test::TempDir other_dir;
  auto other = test::open_spool(test::options_for(other_dir.spool()));
  ASSERT_TRUE(other);
  auto w = spool_->create();
  ASSERT_TRUE(w);
  EXPECT_FALSE(other->map_incoming(*w));
  auto r = test::commit_now(*other, std::move(*w), test::sample_envelope(), "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_TRUE(test::files_in(sub("incoming")).empty());  // the writer was consumed and discarded
}

// Restores the file size limit and SIGXFSZ however the test ends.
class FileSizeLimit {
 public:
  explicit FileSizeLimit(rlim_t bytes) {
    ::getrlimit(RLIMIT_FSIZE, &saved_);
    old_handler_ = ::signal(SIGXFSZ, SIG_IGN);  // write() fails with EFBIG instead
    rlimit limited = saved_;
    limited.rlim_cur = bytes;
    ::setrlimit(RLIMIT_FSIZE, &limited);
  }
  ~FileSizeLimit() {
    ::setrlimit(RLIMIT_FSIZE, &saved_);
    ::signal(SIGXFSZ, old_handler_);
  }

 private:
  rlimit saved_{};
  sighandler_t old_handler_;
};

TEST_F(Writer, AWriteErrorIsStickyAndNamesTheFile) {
  ASSERT_TRUE(start());
  auto w = spool_->create();
  ASSERT_TRUE(w);
  {
    FileSizeLimit limit(100000);
    auto failed = w->write(std::string(200000, 'x'));
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, Errc::io);
    EXPECT_NE(failed.error().message.find(incoming_path(*w)), std::string::npos) << failed.error().message;
    EXPECT_NE(failed.error().message.find("File too large"), std::string::npos) << failed.error().message;
  }
  auto again = w->write("x");
  ASSERT_FALSE(again);
  EXPECT_NE(again.error().message.find("File too large"), std::string::npos);
  EXPECT_FALSE(test::commit_now(*spool_, std::move(*w), test::sample_envelope(), ""));
  EXPECT_TRUE(test::files_in(sub("incoming")).empty());
  EXPECT_TRUE(test::files_in(sub("queue")).empty());
}

}  // namespace
}  // namespace mxsec::queue

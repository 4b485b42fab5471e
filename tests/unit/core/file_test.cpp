// Tests for core/file.cpp: bounded reads (by path and by descriptor), and
// the write_all / pread_exact helpers with their error messages.
#include "core/file.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <string>

#include "core/unique_fd.hpp"

namespace mxsec {
namespace {

class TempFile : public ::testing::Test {
 protected:
  void SetUp() override {
    path_ = ::testing::TempDir() + "mxsec-file-XXXXXX";
    fd_.reset(::mkostemp(path_.data(), O_CLOEXEC));
    ASSERT_TRUE(fd_);
  }
  void TearDown() override { ::unlink(path_.c_str()); }
  std::string path_;
  UniqueFd fd_;
};

TEST_F(TempFile, WriteAllThenReadBack) {
  const std::string data(200000, 'q');
  ASSERT_TRUE(write_all(fd_.get(), data, path_));
  ASSERT_TRUE(write_all(fd_.get(), "", path_));
  auto whole = read_file_bounded(path_, data.size(), "test file");
  ASSERT_TRUE(whole);
  EXPECT_EQ(*whole, data);
  const UniqueFd again(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  auto by_fd = read_fd_bounded(again.get(), data.size(), path_);
  ASSERT_TRUE(by_fd);
  EXPECT_EQ(by_fd->size(), data.size());
}

TEST_F(TempFile, BoundedReadsStopAtTheLimit) {
  ASSERT_TRUE(write_all(fd_.get(), std::string(100, 'x'), path_));
  auto over = read_file_bounded(path_, 99, "test file");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::limit);
  EXPECT_NE(over.error().message.find("test file " + path_), std::string::npos);
  const UniqueFd again(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
  EXPECT_EQ(read_fd_bounded(again.get(), 99, path_).error().code, Errc::limit);
  const UniqueFd dir(::open(::testing::TempDir().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  auto not_regular = read_fd_bounded(dir.get(), 99, "a directory");
  ASSERT_FALSE(not_regular);
  EXPECT_EQ(not_regular.error().message, "a directory: not a regular file");
}

TEST_F(TempFile, PreadExactReadsAtAnOffsetAndRefusesShortFiles) {
  ASSERT_TRUE(write_all(fd_.get(), "0123456789", path_));
  char out[4] = {};
  ASSERT_TRUE(pread_exact(fd_.get(), out, 4, 3, path_));
  EXPECT_EQ(std::string(out, 4), "3456");
  auto short_read = pread_exact(fd_.get(), out, 4, 8, path_);
  ASSERT_FALSE(short_read);
  EXPECT_EQ(short_read.error().code, Errc::io);
  EXPECT_EQ(short_read.error().message, path_ + ": pread: unexpected end of file");
}

TEST(FileErrors, NameTheFileTheCallAndTheReason) {
  auto bad = write_all(-1, "x", "queue file /spool/queue/X");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, Errc::io);
  EXPECT_EQ(bad.error().message, "queue file /spool/queue/X: write: Bad file descriptor");
  errno = ENOENT;
  EXPECT_EQ(errno_error("f", "open").message, "f: open: No such file or directory");
}

TEST(UniqueFd, ClosesOnceAndMoves) {
  int fds[2];
  ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
  UniqueFd a(fds[0]);
  UniqueFd b(std::move(a));
  EXPECT_FALSE(a);
  EXPECT_EQ(b.get(), fds[0]);
  b = UniqueFd(fds[1]);  // closes fds[0]
  EXPECT_EQ(::fcntl(fds[0], F_GETFD), -1);
  const int raw = b.release();
  EXPECT_FALSE(b);
  EXPECT_EQ(::close(raw), 0);
}

}  // namespace
}  // namespace mxsec

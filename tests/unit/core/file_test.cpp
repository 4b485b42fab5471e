// Tests for core/file.cpp: UniqueFd, bounded reads, complete writes.
#include "core/file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <utility>

namespace mxsec {
namespace {

class TempFilePath {
 public:
  TempFilePath() {
    const char* base = std::getenv("TMPDIR");
    path_ = std::string(base && *base ? base : "/tmp") + "/mxsec-file-XXXXXX";
    const int fd = ::mkstemp(path_.data());
    EXPECT_GE(fd, 0);
    if (fd >= 0) ::close(fd);
  }
  ~TempFilePath() { ::unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

bool is_open(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

TEST(File, UniqueFdClosesOnce) {
  int raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  ASSERT_GE(raw, 0);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a);  // NOLINT: moved-from owns nothing
    EXPECT_EQ(b.get(), raw);
    UniqueFd c;
    c = std::move(b);
    EXPECT_EQ(c.get(), raw);
    EXPECT_TRUE(is_open(raw));
  }
  EXPECT_FALSE(is_open(raw));

  raw = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  UniqueFd d(raw);
  EXPECT_EQ(d.release(), raw);
  EXPECT_FALSE(d);
  EXPECT_TRUE(is_open(raw));
  ::close(raw);
}

TEST(File, WriteAllThenReadBounded) {
  TempFilePath tmp;
  const std::string text(200000, 'x');  // several read() chunks
  {
    UniqueFd fd(::open(tmp.path().c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC));
    ASSERT_TRUE(fd);
    ASSERT_TRUE(write_all(fd.get(), text, tmp.path()));
  }
  auto whole = read_file_bounded(tmp.path(), text.size(), "test file");
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(*whole, text);

  auto over = read_file_bounded(tmp.path(), text.size() - 1, "test file");
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, Errc::limit);
  EXPECT_EQ(over.error().message.rfind("test file " + tmp.path() + ": larger than", 0), 0u) << over.error().message;

  UniqueFd fd(::open(tmp.path().c_str(), O_RDONLY | O_CLOEXEC));
  auto via_fd = read_fd_bounded(fd.get(), text.size(), "label");
  ASSERT_TRUE(via_fd);
  EXPECT_EQ(via_fd->size(), text.size());
}

TEST(File, Refusals) {
  auto missing = read_file_bounded("/nonexistent/mxsec", 10, "key file");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::io);
  EXPECT_EQ(missing.error().message.rfind("key file /nonexistent/mxsec: ", 0), 0u);

  auto dir = read_file_bounded("/", 10);
  ASSERT_FALSE(dir);
  EXPECT_EQ(dir.error().message, "file /: not a regular file");

  UniqueFd null(::open("/dev/null", O_WRONLY | O_CLOEXEC));
  auto device = read_fd_bounded(null.get(), 10, "label");
  ASSERT_FALSE(device);
  EXPECT_EQ(device.error().message, "label: not a regular file");

  auto bad_write = write_all(-1, "x", "nowhere");
  ASSERT_FALSE(bad_write);
  EXPECT_EQ(bad_write.error().code, Errc::io);
  EXPECT_EQ(bad_write.error().message.rfind("cannot write nowhere: ", 0), 0u);
}

}  // namespace
}  // namespace mxsec

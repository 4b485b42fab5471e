// Tests for queue/recycler.cpp and the spool's reuse of delivered messages'
// files (free/): eligibility only after a later fsync of queue/, the caps,
// a recycled file cut to its new message, start-up with free/ left over.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <string>

#include "core/limits.hpp"
#include "queue/recycler.hpp"
#include "spool_test_util.hpp"

namespace mxsec::queue {
namespace {

TEST(FileRecycler, AFileWaitsForASyncThatBeganAfterItsRemoval) {
  FileRecycler r;
  // Removed while started() was 3: sync 3 may have read queue/ before the
  // removal, so only the completion of sync 4 makes it durable.
  ASSERT_TRUE(r.offer("A", 100, 3));
  EXPECT_FALSE(r.take(0));
  EXPECT_FALSE(r.take(3));
  auto a = r.take(4);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->name, "A");
  EXPECT_EQ(a->bytes, 100u);
  EXPECT_EQ(r.files(), 0u);
  EXPECT_EQ(r.bytes(), 0u);
}

TEST(FileRecycler, OldestFirstAndAlreadyDurableAtOnce) {
  FileRecycler r;
  ASSERT_TRUE(r.offer("A", 1, 0));
  ASSERT_TRUE(r.offer("B", 2, 1));
  ASSERT_TRUE(r.offer("C", 3, FileRecycler::kAlreadyDurable));
  EXPECT_EQ(r.take(0)->name, "C");  // durable: no sync needed
  EXPECT_FALSE(r.take(0));          // A needs sync 1
  EXPECT_EQ(r.take(1)->name, "A");
  EXPECT_FALSE(r.take(1));
  EXPECT_EQ(r.take(2)->name, "B");
  EXPECT_FALSE(r.take(100));
}

TEST(FileRecycler, CapsOnSizeCountAndTotal) {
  FileRecycler r;
  EXPECT_FALSE(r.offer("big", limits::kQueueRecycleFileBytes + 1, 0));
  EXPECT_TRUE(r.offer("max", limits::kQueueRecycleFileBytes, 0));
  std::uint64_t total = limits::kQueueRecycleFileBytes;
  std::size_t n = 1;
  while (total + limits::kQueueRecycleFileBytes <= limits::kQueueRecycleBytes && n < limits::kQueueRecycleFiles) {
    ASSERT_TRUE(r.offer("f" + std::to_string(n), limits::kQueueRecycleFileBytes, 0));
    total += limits::kQueueRecycleFileBytes;
    ++n;
  }
  EXPECT_FALSE(r.offer("one-too-many", limits::kQueueRecycleFileBytes, 0));
  EXPECT_EQ(r.bytes(), total);
  EXPECT_LE(r.bytes(), limits::kQueueRecycleBytes);
  FileRecycler small;
  for (std::size_t i = 0; i < limits::kQueueRecycleFiles; ++i) ASSERT_TRUE(small.offer(std::to_string(i), 1, 0));
  EXPECT_FALSE(small.offer("x", 1, 0));
  EXPECT_EQ(small.files(), limits::kQueueRecycleFiles);
}

using SpoolRecycle = test::SpoolTest;

ino_t inode_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_ino;
}

off_t size_of(const std::string& path) {
  struct stat st {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st.st_size;
}

TEST_F(SpoolRecycle, ADeliveredMessagesFileCarriesTheNextOneCutToItsLength) {
  ASSERT_TRUE(start(options(/*fsync=*/true)));
  const QueueId big = test::commit_message(*spool_, 50000);
  const ino_t inode = inode_of(sub("queue/" + big));
  ASSERT_TRUE(spool_->remove(big));
  EXPECT_EQ(test::files_in(sub("free")), std::vector<std::string>{big});
  EXPECT_TRUE(test::files_in(sub("queue")).empty());
  // No fsync of queue/ has begun since the removal: a new file, not this one.
  const QueueId first = test::commit_message(*spool_, 100);
  EXPECT_NE(inode_of(sub("queue/" + first)), inode);
  EXPECT_EQ(test::files_in(sub("free")), std::vector<std::string>{big});
  // That commit's fsync of queue/ began after the removal: now it is reused.
  const QueueId small = test::commit_message(*spool_, 300);
  EXPECT_EQ(inode_of(sub("queue/" + small)), inode);
  EXPECT_TRUE(test::files_in(sub("free")).empty());
  // The old, longer message is gone: the file ends with the new footer, and
  // both the envelope and the text are the new message's.
  auto loaded = spool_->load(small);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->text_bytes, 300u);
  EXPECT_EQ(loaded->id, small);
  auto message = spool_->open_message(small);
  ASSERT_TRUE(message);
  EXPECT_EQ(std::string(message->text.view()), test::text_for(small, 300));
  EXPECT_LT(size_of(sub("queue/" + small)), 50000);
  spool_.reset();
  ASSERT_TRUE(start(options(/*fsync=*/true)));
  EXPECT_TRUE(spool_->recovery_report().empty());
  EXPECT_EQ(*spool_->list(), (std::vector<QueueId>{first, small}));
}

TEST_F(SpoolRecycle, AFileGrowsForALongerMessage) {
  ASSERT_TRUE(start());
  const QueueId a = test::commit_message(*spool_, 200);
  const ino_t inode = inode_of(sub("queue/" + a));
  ASSERT_TRUE(spool_->remove(a));
  const QueueId b = test::commit_message(*spool_, 70000, 1000);
  EXPECT_EQ(inode_of(sub("queue/" + b)), inode);
  auto message = spool_->open_message(b);
  ASSERT_TRUE(message);
  EXPECT_EQ(std::string(message->text.view()), test::text_for(b, 70000));
}

TEST_F(SpoolRecycle, AnAbortedMessageOnARecycledFileLeavesNothing) {
  ASSERT_TRUE(start());
  const QueueId a = test::commit_message(*spool_, 200);
  ASSERT_TRUE(spool_->remove(a));
  {
    auto writer = spool_->create();
    ASSERT_TRUE(writer);
    ASSERT_TRUE(writer->write("partial"));
  }
  EXPECT_TRUE(test::files_in(sub("incoming")).empty());
  EXPECT_TRUE(test::files_in(sub("free")).empty());
  EXPECT_TRUE(spool_->list()->empty());
}

TEST_F(SpoolRecycle, LargeFilesAndClientRemovalsAreDeleted) {
  ASSERT_TRUE(start());
  const QueueId large = test::commit_message(*spool_, limits::kQueueRecycleFileBytes + 1, 65536);
  ASSERT_TRUE(spool_->remove(large));
  EXPECT_TRUE(test::files_in(sub("free")).empty());
  const QueueId small = test::commit_message(*spool_, 100);
  auto client = test::open_spool(options(), Mode::client);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->remove(small));
  EXPECT_TRUE(test::files_in(sub("free")).empty());
  EXPECT_TRUE(spool_->list()->empty());
}

TEST_F(SpoolRecycle, StartUpKeepsPlainFreeFilesAndDropsTwinsOfQueuedMessages) {
  ASSERT_TRUE(start());
  const QueueId queued = test::commit_message(*spool_, 100);
  const QueueId done = test::commit_message(*spool_, 100);
  ASSERT_TRUE(spool_->remove(done));
  spool_.reset();
  // What a crash on a file system without a journal can leave: a rename into
  // free/ whose old name in queue/ survived too (two links to one file).
  ASSERT_EQ(::link(sub("queue/" + queued).c_str(), sub("free/" + queued).c_str()), 0);
  test::write_whole(sub("free/not-an-id"), "junk");
  ASSERT_TRUE(start());
  EXPECT_EQ(test::files_in(sub("free")), std::vector<std::string>{done});
  // The queued message is never written over: the next message takes `done`.
  const ino_t queued_inode = inode_of(sub("queue/" + queued));
  const ino_t done_inode = inode_of(sub("free/" + done));
  const QueueId next = test::commit_message(*spool_, 100);
  EXPECT_EQ(inode_of(sub("queue/" + next)), done_inode);
  EXPECT_NE(inode_of(sub("queue/" + next)), queued_inode);
  auto message = spool_->open_message(queued);
  ASSERT_TRUE(message);
  EXPECT_EQ(std::string(message->text.view()), test::text_for(queued, 100));
}

TEST_F(SpoolRecycle, ClientsNeverCreateFree) {
  ASSERT_TRUE(start());
  spool_.reset();
  ASSERT_EQ(::rmdir(sub("free").c_str()), 0);
  auto client = test::open_spool(options(), Mode::client);
  ASSERT_TRUE(client);
  struct stat st {};
  EXPECT_NE(::lstat(sub("free").c_str(), &st), 0);
}

}  // namespace
}  // namespace mxsec::queue

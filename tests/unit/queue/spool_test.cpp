// Tests for queue/spool.cpp: opening in server and client mode, listing,
// loading (damaged files are Errc::parse), state, hold and removal.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "queue/queue_file.hpp"
#include "spool_test_util.hpp"

namespace mxsec::queue {
namespace {

// One fixture (a server spool in a temporary directory), several suites.
using SpoolOpen = test::SpoolTest;
using SpoolList = test::SpoolTest;
using SpoolLoad = test::SpoolTest;
using SpoolState = test::SpoolTest;
using SpoolHold = test::SpoolTest;
using SpoolRemove = test::SpoolTest;

void touch(const std::string& path) { test::write_whole(path, "leftover"); }

TEST_F(SpoolOpen, ServerCreatesPrivateDirectories) {
  ASSERT_TRUE(start());
  for (const char* sub : {"", "/incoming", "/queue", "/state", "/hold", "/free"}) {
    struct stat st {};
    ASSERT_EQ(::lstat((dir_.spool() + sub).c_str(), &st), 0) << sub;
    EXPECT_TRUE(S_ISDIR(st.st_mode));
    EXPECT_EQ(st.st_mode & 0777, 0700u) << sub;
  }
}

TEST_F(SpoolOpen, ServerRemovesLeftovers) {
  ASSERT_TRUE(start());
  const QueueId kept = test::commit_message(*spool_, 100);
  const QueueId gone = test::commit_message(*spool_, 100);
  for (const QueueId& id : {kept, gone}) {
    ASSERT_TRUE(spool_->save_state(*spool_->load(id)));
    ASSERT_TRUE(spool_->set_hold(id, true));
  }
  spool_.reset();
  // What a crash leaves behind: messages being received, a queue file whose
  // state and hold files outlived it, a temporary state file.
  touch(sub("incoming/0000000000000001"));
  touch(sub("incoming/not-an-id"));
  ASSERT_EQ(::unlink(sub("queue/" + gone).c_str()), 0);
  touch(sub("state/" + kept + ".tmp.0001020304"));
  touch(sub("state/unrelated"));
  ASSERT_TRUE(start());
  EXPECT_TRUE(test::files_in(sub("incoming")).empty());
  EXPECT_EQ(test::files_in(sub("state")), (std::vector<std::string>{kept, "unrelated"}));
  EXPECT_EQ(test::files_in(sub("hold")), std::vector<std::string>{kept});
  EXPECT_TRUE(spool_->load(kept));
}

TEST_F(SpoolOpen, ClientCreatesAndDeletesNothing) {
  auto missing = Spool::open(options(), Mode::client);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, Errc::io);
  EXPECT_NE(missing.error().message.find(dir_.spool()), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(dir_.spool()));

  ASSERT_TRUE(start());
  const QueueId id = test::commit_message(*spool_, 10);
  spool_.reset();
  touch(sub("incoming/0000000000000001"));
  ASSERT_EQ(::unlink(sub("queue/" + id).c_str()), 0);
  touch(sub("state/" + id));
  auto client = test::open_spool(options(), Mode::client);
  ASSERT_TRUE(client);
  EXPECT_EQ(test::files_in(sub("incoming")), std::vector<std::string>{"0000000000000001"});
  EXPECT_EQ(test::files_in(sub("state")), std::vector<std::string>{id});
  auto refused = client->create();
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Errc::invalid_argument);
}

TEST_F(SpoolOpen, OneServerAtATime) {
  ASSERT_TRUE(start());
  auto second = Spool::open(options(), Mode::server);
  ASSERT_FALSE(second);
  EXPECT_NE(second.error().message.find("another server"), std::string::npos);
  EXPECT_TRUE(Spool::open(options(), Mode::client));  // readers are welcome
  spool_.reset();
  EXPECT_TRUE(Spool::open(options(), Mode::server));
}

TEST_F(SpoolOpen, RefusesAWritableSpoolAndALinkedSubdirectory) {
  ASSERT_TRUE(Spool::open(options(), Mode::server));
  ASSERT_EQ(::chmod(dir_.spool().c_str(), 0777), 0);
  auto writable = Spool::open(options(), Mode::server);
  ASSERT_FALSE(writable);
  EXPECT_NE(writable.error().message.find("world-writable"), std::string::npos);
  ASSERT_EQ(::chmod(dir_.spool().c_str(), 0700), 0);

  ASSERT_EQ(::rmdir(sub("hold").c_str()), 0);
  ASSERT_EQ(::mkdir((dir_.path() + "/elsewhere").c_str(), 0700), 0);
  ASSERT_EQ(::symlink((dir_.path() + "/elsewhere").c_str(), sub("hold").c_str()), 0);
  auto linked = Spool::open(options(), Mode::server);
  ASSERT_FALSE(linked);
  EXPECT_NE(linked.error().message.find(sub("hold")), std::string::npos) << linked.error().message;
}

TEST_F(SpoolOpen, NoDirectoryIsInvalid) {
  auto r = Spool::open(Options{}, Mode::server);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
}

TEST_F(SpoolList, OldestFirstSkippingForeignNames) {
  ASSERT_TRUE(start());
  auto empty = spool_->list();
  ASSERT_TRUE(empty);
  EXPECT_TRUE(empty->empty());
  std::vector<QueueId> ids;
  for (int i = 0; i < 5; ++i) ids.push_back(test::commit_message(*spool_, 10));
  touch(dir_.spool() + "/queue/README");
  touch(dir_.spool() + "/queue/0123456789abcdef");
  touch(dir_.spool() + "/queue/.0123456789ABCDE");
  auto listed = spool_->list();
  ASSERT_TRUE(listed);
  EXPECT_EQ(*listed, ids);
}

TEST_F(SpoolLoad, InvalidAndUnknownIds) {
  ASSERT_TRUE(start());
  for (const QueueId& bad : {QueueId("../queue/x"), QueueId(""), QueueId("0123456789abcdef")}) {
    for (const Errc code : {spool_->load(bad).error().code, spool_->open_message(bad).error().code,
                            spool_->remove(bad).error().code, spool_->set_hold(bad, true).error().code})
      EXPECT_EQ(code, Errc::invalid_argument) << bad;
    EXPECT_FALSE(spool_->held(bad));
  }
  const QueueId unknown = "0000000000000000";
  EXPECT_EQ(spool_->load(unknown).error().code, Errc::not_found);
  EXPECT_EQ(spool_->open_message(unknown).error().code, Errc::not_found);
  EXPECT_EQ(spool_->remove(unknown).error().code, Errc::not_found);
  EXPECT_EQ(spool_->set_hold(unknown, true).error().code, Errc::not_found);
  Envelope e;
  e.id = unknown;
  EXPECT_EQ(spool_->save_state(e).error().code, Errc::not_found);
}

// Truncated at every offset of its JSON and footer (and a few in the text),
// or with any octet there changed, a queue file is Errc::parse. (The file is
// damaged and repaired in place with truncate() and pwrite(): rewriting it
// whole would make ext4 flush it every time, auto_da_alloc.)
TEST_F(SpoolLoad, DamagedQueueFilesAreParseErrors) {
  ASSERT_TRUE(start());
  constexpr std::size_t kText = 300;
  const QueueId id = test::commit_message(*spool_, kText);
  const std::string path = sub("queue/" + id);
  const std::string original = test::read_whole(path);
  ASSERT_TRUE(spool_->load(id));
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  auto put_back = [&](std::size_t from) {
    const std::string_view rest = std::string_view(original).substr(from);
    ASSERT_EQ(::pwrite(fd, rest.data(), rest.size(), static_cast<off_t>(from)), static_cast<ssize_t>(rest.size()));
  };
  std::vector<std::size_t> cuts = {0, 1, kText / 2, kText - 1};
  for (std::size_t cut = kText; cut < original.size(); ++cut) cuts.push_back(cut);
  for (const std::size_t cut : cuts) {
    ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(cut)), 0);
    auto r = spool_->load(id);
    ASSERT_FALSE(r) << "cut at " << cut;
    ASSERT_EQ(r.error().code, Errc::parse) << r.error().message;
    EXPECT_NE(r.error().message.find("damaged queue file " + path), std::string::npos);
    EXPECT_EQ(spool_->open_message(id).error().code, Errc::parse);
    put_back(cut);
  }
  for (std::size_t at = kText; at < original.size(); ++at) {
    for (const unsigned char mask : {0x01, 0x04, 0x80}) {
      const char changed = static_cast<char>(original[at] ^ mask);
      ASSERT_EQ(::pwrite(fd, &changed, 1, static_cast<off_t>(at)), 1);
      auto r = spool_->load(id);
      ASSERT_FALSE(r) << "octet " << at;
      ASSERT_EQ(r.error().code, Errc::parse);
      put_back(at);
    }
  }
  ASSERT_EQ(::pwrite(fd, "x", 1, static_cast<off_t>(original.size())), 1);  // appended to
  EXPECT_EQ(spool_->load(id).error().code, Errc::parse);
  ASSERT_EQ(::ftruncate(fd, static_cast<off_t>(original.size())), 0);
  ::close(fd);
  EXPECT_TRUE(spool_->load(id));
  EXPECT_EQ(test::read_whole(path), original);
}

TEST_F(SpoolLoad, QueueFileThatIsALinkOrADirectory) {
  ASSERT_TRUE(start());
  const QueueId id = test::commit_message(*spool_, 10);
  const std::string path = sub("queue/" + id);
  ASSERT_EQ(::rename(path.c_str(), (dir_.path() + "/real").c_str()), 0);
  ASSERT_EQ(::symlink((dir_.path() + "/real").c_str(), path.c_str()), 0);
  auto linked = spool_->load(id);
  ASSERT_FALSE(linked);
  EXPECT_EQ(linked.error().code, Errc::io);  // ELOOP: O_NOFOLLOW
  ASSERT_EQ(::unlink(path.c_str()), 0);
  ASSERT_EQ(::mkdir(path.c_str(), 0700), 0);
  EXPECT_EQ(spool_->load(id).error().code, Errc::parse);
}

TEST_F(SpoolState, SaveAndLoadMerge) {
  ASSERT_TRUE(start(options(/*fsync=*/true)));
  const QueueId id = test::commit_message(*spool_, 50);
  auto e = spool_->load(id);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->recipients[0].state, RecipientState::pending);
  e->recipients[0].state = RecipientState::delivered;
  e->recipients[0].attempts = 1;
  e->recipients[0].last_result = "250 2.0.0 Ok: queued as 4Xyz";
  e->recipients[0].last_host = "mx.example.net[192.0.2.7]:25";
  e->recipients[1].state = RecipientState::bounced;
  e->recipients[1].next_attempt = 99;
  ASSERT_TRUE(spool_->save_state(*e));
  EXPECT_EQ(test::files_in(sub("state")), std::vector<std::string>{id});  // no temporary left
  auto loaded = spool_->load(id);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->recipients[0].state, RecipientState::delivered);
  EXPECT_EQ(loaded->recipients[0].attempts, 1);
  EXPECT_EQ(loaded->recipients[0].last_result, "250 2.0.0 Ok: queued as 4Xyz");
  EXPECT_EQ(loaded->recipients[0].last_host, "mx.example.net[192.0.2.7]:25");
  EXPECT_EQ(loaded->recipients[1].state, RecipientState::bounced);
  EXPECT_EQ(loaded->recipients[1].next_attempt, 99);
  // Replaced again, atomically.
  loaded->recipients[1].attempts = 3;
  ASSERT_TRUE(spool_->save_state(*loaded));
  EXPECT_EQ(spool_->load(id)->recipients[1].attempts, 3);
  // A client reading the spool sees the same state.
  auto client = test::open_spool(options(), Mode::client);
  ASSERT_TRUE(client);
  EXPECT_EQ(client->load(id)->recipients[1].attempts, 3);
}

TEST_F(SpoolState, MismatchedStateIsAParseError) {
  ASSERT_TRUE(start());
  const QueueId id = test::commit_message(*spool_, 50);
  auto e = spool_->load(id);
  ASSERT_TRUE(e);
  e->recipients.pop_back();
  ASSERT_TRUE(spool_->save_state(*e));
  auto r = spool_->load(id);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::parse);
  EXPECT_NE(r.error().message.find("damaged state file " + sub("state/" + id)), std::string::npos)
      << r.error().message;
  test::write_whole(sub("state/" + id), "{not json");
  EXPECT_EQ(spool_->load(id).error().code, Errc::parse);
}

TEST_F(SpoolHold, HoldAndRelease) {
  ASSERT_TRUE(start());
  const QueueId id = test::commit_message(*spool_, 10);
  EXPECT_FALSE(spool_->held(id));
  ASSERT_TRUE(spool_->set_hold(id, true));
  EXPECT_TRUE(spool_->held(id));
  ASSERT_TRUE(spool_->set_hold(id, true));  // twice is fine
  auto client = test::open_spool(options(), Mode::client);
  ASSERT_TRUE(client);
  EXPECT_TRUE(client->held(id));
  ASSERT_TRUE(client->set_hold(id, false));
  EXPECT_FALSE(spool_->held(id));
  ASSERT_TRUE(client->set_hold(id, false));  // releasing a released message is fine
  EXPECT_TRUE(test::files_in(sub("hold")).empty());
}

TEST_F(SpoolRemove, RemovesMessageStateAndHold) {
  ASSERT_TRUE(start(options(/*fsync=*/true)));
  const QueueId id = test::commit_message(*spool_, 10);
  const QueueId other = test::commit_message(*spool_, 10);
  ASSERT_TRUE(spool_->save_state(*spool_->load(id)));
  ASSERT_TRUE(spool_->set_hold(id, true));
  auto client = test::open_spool(options(), Mode::client);
  ASSERT_TRUE(client);
  ASSERT_TRUE(client->remove(id));
  EXPECT_EQ(spool_->load(id).error().code, Errc::not_found);
  EXPECT_FALSE(spool_->held(id));
  EXPECT_EQ(*spool_->list(), std::vector<QueueId>{other});
  EXPECT_TRUE(test::files_in(sub("state")).empty());
  EXPECT_TRUE(test::files_in(sub("hold")).empty());
  EXPECT_EQ(client->remove(id).error().code, Errc::not_found);
  // Only a state file left over (a crash between the unlinks) still counts.
  touch(sub("state/" + id));
  EXPECT_TRUE(client->remove(id));
  EXPECT_TRUE(test::files_in(sub("state")).empty());
}

}  // namespace
}  // namespace mxsec::queue

// Tests for queue/commit.cpp: what commit() makes durable reads back the
// same; concurrent commits share directory fsyncs (group commit); a refused
// commit leaves nothing; and after a SIGKILL at a random moment every
// acknowledged message is in queue/ and loads intact.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <zlib.h>

#include <algorithm>
#include <map>
#include <chrono>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>

#include "queue/queue_file.hpp"
#include "spool_test_util.hpp"

namespace mxsec::queue {
namespace {

using Commit = test::SpoolTest;

void expect_message(const Spool& spool, const QueueId& id, std::size_t text_size) {
  auto e = spool.load(id);
  ASSERT_TRUE(e) << e.error().message;
  const Envelope sample = test::sample_envelope();
  EXPECT_EQ(e->id, id);
  EXPECT_EQ(e->text_bytes, text_size);
  EXPECT_EQ(e->reverse_path, sample.reverse_path);
  EXPECT_EQ(e->client_helo, sample.client_helo);
  EXPECT_EQ(e->requiretls, sample.requiretls);
  ASSERT_EQ(e->recipients.size(), sample.recipients.size());
  EXPECT_EQ(e->recipients[1].address, sample.recipients[1].address);
  EXPECT_EQ(e->recipients[1].state, RecipientState::delivered);
  auto m = spool.open_message(id);
  ASSERT_TRUE(m) << m.error().message;
  EXPECT_EQ(m->prepend, test::sample_prepend(id));
  EXPECT_EQ(m->text.view().size(), text_size);
  EXPECT_TRUE(m->text.view() == test::text_for(id, text_size)) << "text of " << id << " differs";
}

TEST_F(Commit, RoundTripOfEnvelopePrependAndText) {
  Options o = options(/*fsync=*/true);
  o.write_buffer_bytes = 4096;
  ASSERT_TRUE(start(o));
  for (const std::size_t size : {std::size_t{0}, std::size_t{1}, std::size_t{4096}, std::size_t{4097},
                                 std::size_t{100000}, std::size_t{5 * 1024 * 1024}}) {
    const QueueId id = test::commit_message(*spool_, size, 1000);
    ASSERT_FALSE(id.empty());
    expect_message(*spool_, id, size);
  }
  EXPECT_TRUE(test::files_in(sub("incoming")).empty());
  EXPECT_EQ(spool_->list()->size(), 6u);
  EXPECT_EQ(spool_->directory_syncs(), 6u);  // one at a time: one fsync each
}

TEST_F(Commit, EnvelopeIdAndSizeComeFromTheWriter) {
  ASSERT_TRUE(start());
  auto w = spool_->create();
  ASSERT_TRUE(w);
  const QueueId id = w->id();
  ASSERT_TRUE(w->write("12345"));
  Envelope e = test::sample_envelope();
  e.id = "ZZZZZZZZZZZZZZZZ";
  e.text_bytes = 999;
  ASSERT_TRUE(test::commit_now(*spool_, std::move(*w), e, ""));
  auto loaded = spool_->load(id);
  ASSERT_TRUE(loaded);
  EXPECT_EQ(loaded->text_bytes, 5u);
  EXPECT_EQ(spool_->directory_syncs(), 0u);  // fsync = false
}

TEST_F(Commit, RefusedEnvelopeLeavesNothing) {
  ASSERT_TRUE(start(options(/*fsync=*/true)));
  auto w = spool_->create();
  ASSERT_TRUE(w);
  ASSERT_TRUE(w->write("text"));
  Envelope e = test::sample_envelope();
  e.client_helo = "\xff\xfe";
  auto r = test::commit_now(*spool_, std::move(*w), e, "");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::invalid_argument);
  EXPECT_TRUE(test::files_in(sub("incoming")).empty());
  EXPECT_TRUE(test::files_in(sub("queue")).empty());
}

asio::awaitable<void> commit_and_count(Spool& spool, MessageWriter writer, std::thread::id loop_thread, int& ok,
                                       int& on_other_thread) {
  const QueueId id = writer.id();
  Envelope envelope = test::sample_envelope();
  std::string prepend = test::sample_prepend(id);
  auto committing = spool.commit(std::move(writer), std::move(envelope), std::move(prepend));
  Result<void> done = co_await std::move(committing);
  if (std::this_thread::get_id() != loop_thread) ++on_other_thread;
  if (done) ++ok;
}

// 50 commits in flight at once from coroutines on one io_context: all are
// durable, each coroutine resumes on the io_context's thread, and the
// directory fsyncs are shared.
TEST_F(Commit, ConcurrentCommitsShareDirectorySyncs) {
  Options o = options(/*fsync=*/true);
  o.sync_threads = 4;
  ASSERT_TRUE(start(o));
  constexpr int kCommits = 50;
  asio::io_context io;
  int ok = 0, on_other_thread = 0;
  std::set<QueueId> ids;
  for (int i = 0; i < kCommits; ++i) {
    auto w = spool_->create();
    ASSERT_TRUE(w);
    ids.insert(w->id());
    ASSERT_TRUE(w->write(test::text_for(w->id(), 5000)));
    asio::co_spawn(io, commit_and_count(*spool_, std::move(*w), std::this_thread::get_id(), ok, on_other_thread),
                   asio::detached);
  }
  io.run();
  EXPECT_EQ(ok, kCommits);
  EXPECT_EQ(on_other_thread, 0);
  auto listed = spool_->list();
  ASSERT_TRUE(listed);
  EXPECT_EQ(std::set<QueueId>(listed->begin(), listed->end()), ids);
  for (const QueueId& id : ids) expect_message(*spool_, id, 5000);
  const std::uint64_t syncs = spool_->directory_syncs();
  std::printf("[ info ] %d concurrent commits used %llu directory fsyncs\n", kCommits,
              static_cast<unsigned long long>(syncs));
  EXPECT_GE(syncs, 1u);
  EXPECT_LT(syncs, static_cast<std::uint64_t>(kCommits));
}

// --- crash test ------------------------------------------------------------------

std::size_t crash_text_size(const QueueId& id) { return fnv1a64(id) % 20000; }

asio::awaitable<void> commit_forever(Spool& spool, int ack_fd) {
  for (int i = 0; i < 100000; ++i) {
    auto w = spool.create();
    if (!w) ::_exit(2);
    const QueueId id = w->id();
    const std::string text = test::text_for(id, crash_text_size(id));
    for (std::size_t at = 0; at < text.size(); at += 3000)
      if (!w->write(std::string_view(text).substr(at, 3000))) ::_exit(3);
    Envelope envelope = test::sample_envelope();
    std::string prepend = test::sample_prepend(id);
    auto committing = spool.commit(std::move(*w), std::move(envelope), std::move(prepend));
    Result<void> done = co_await std::move(committing);
    if (!done) ::_exit(4);
    // Acknowledged only now, as a server replies 250 only now.
    const std::string line = id + "\n";
    if (::write(ack_fd, line.data(), line.size()) != static_cast<ssize_t>(line.size())) ::_exit(5);
  }
}

[[noreturn]] void run_committer(const std::string& directory, SyncMethod sync, int ack_fd) {
  Options o = test::options_for(directory, /*fsync=*/true);
  o.sync = sync;
  o.sync_threads = 2;
  auto spool = Spool::open(o, Mode::server);
  if (!spool) ::_exit(1);
  asio::io_context io;
  for (int i = 0; i < 4; ++i) asio::co_spawn(io, commit_forever(**spool, ack_fd), asio::detached);
  io.run();
  ::_exit(0);
}

std::vector<QueueId> read_acks(int fd) {
  std::string all;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    all.append(buf, static_cast<std::size_t>(n));
  }
  std::vector<QueueId> ids;
  std::istringstream lines(all);
  for (std::string line; std::getline(lines, line);) ids.push_back(line);
  return ids;
}

// Rounds of: a child commits from 4 coroutines and reports each
// acknowledgement on a pipe; SIGKILL at a random moment; the spool reopened
// in server mode (which recovers it) must hold every acknowledged message,
// whole, and only whole messages.
class CommitCrash : public test::SpoolTest {
 protected:
  void survive_sigkills(SyncMethod sync);
};

void CommitCrash::survive_sigkills(SyncMethod sync) {
  std::random_device seed;
  std::mt19937 random(seed());
  std::set<QueueId> acknowledged, verified;
  constexpr int kRounds = 5;
  for (int round = 0; round < kRounds; ++round) {
    int ack[2];
    ASSERT_EQ(::pipe2(ack, O_CLOEXEC), 0);
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      ::close(ack[0]);
      run_committer(dir_.spool(), sync, ack[1]);
    }
    ::close(ack[1]);
    const int delay_ms = std::uniform_int_distribution<int>(50, 500)(random);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ASSERT_EQ(::kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the committer exited early with " << WEXITSTATUS(status);
    const auto killed = std::chrono::steady_clock::now();
    const std::vector<QueueId> acks = read_acks(ack[0]);
    ::close(ack[0]);
    acknowledged.insert(acks.begin(), acks.end());

    ASSERT_TRUE(start());
    EXPECT_TRUE(test::files_in(sub("incoming")).empty());
    auto listed = spool_->list();
    ASSERT_TRUE(listed);
    const std::set<QueueId> present(listed->begin(), listed->end());
    for (const QueueId& id : acknowledged) ASSERT_TRUE(present.count(id)) << "acknowledged " << id << " is lost";
    // Every message of this round is whole, acknowledged or not (committed
    // just before the kill); earlier rounds' were checked in their round.
    for (const QueueId& id : present)
      if (verified.insert(id).second) expect_message(*spool_, id, crash_text_size(id));
    const auto checked_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - killed).count();
    std::printf("[ info ] %s round %d: killed after %d ms, %zu acknowledged, %zu in queue/, %zu set aside, "
                "checked in %lld ms\n",
                to_string(sync), round, delay_ms, acks.size(), present.size(), spool_->recovery_report().size(),
                static_cast<long long>(checked_ms));
    spool_.reset();  // the next round's server needs the spool's lock
  }
  EXPECT_GT(acknowledged.size(), 0u);
}

TEST_F(CommitCrash, EveryAcknowledgedMessageSurvivesSigkill) { survive_sigkills(SyncMethod::fsync); }

TEST_F(CommitCrash, EveryAcknowledgedMessageSurvivesSigkillUnderSyncfs) { survive_sigkills(SyncMethod::syncfs); }

// --- syncfs: text checksums and start-up recovery ------------------------------------

std::uint32_t zlib_crc32(std::string_view text) {
  return static_cast<std::uint32_t>(
      ::crc32(::crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(text.data()), static_cast<uInt>(text.size())));
}

Options syncfs_options(const std::string& directory) {
  Options o = test::options_for(directory, /*fsync=*/true);
  o.sync = SyncMethod::syncfs;
  o.write_buffer_bytes = 4096;
  return o;
}

TEST_F(Commit, SyncfsCommitsCarryTheTextChecksumAndShareFlushes) {
  ASSERT_TRUE(start(syncfs_options(dir_.spool())));
  constexpr int kCommits = 30;
  asio::io_context io;
  int ok = 0, on_other_thread = 0;
  std::map<QueueId, std::size_t> sizes;
  for (int i = 0; i < kCommits; ++i) {
    auto w = spool_->create();
    ASSERT_TRUE(w);
    const std::size_t size = static_cast<std::size_t>(i) * 3001;  // 0, and pieces past the 4096 buffer
    sizes[w->id()] = size;
    const std::string text = test::text_for(w->id(), size);
    for (std::size_t at = 0; at < text.size(); at += 1500)
      ASSERT_TRUE(w->write(std::string_view(text).substr(at, 1500)));
    asio::co_spawn(io, commit_and_count(*spool_, std::move(*w), std::this_thread::get_id(), ok, on_other_thread),
                   asio::detached);
  }
  io.run();
  EXPECT_EQ(ok, kCommits);
  for (const auto& [id, size] : sizes) {
    auto e = spool_->load(id);
    ASSERT_TRUE(e) << e.error().message;
    ASSERT_TRUE(e->text_crc32.has_value()) << id;
    EXPECT_EQ(*e->text_crc32, zlib_crc32(test::text_for(id, size))) << id;
  }
  EXPECT_GE(spool_->directory_syncs(), 1u);
  EXPECT_LT(spool_->directory_syncs(), static_cast<std::uint64_t>(kCommits));
  EXPECT_TRUE(test::files_in(sub("incoming")).empty());
}

TEST_F(Commit, FsyncCommitsCarryNoTextChecksum) {
  ASSERT_TRUE(start(options(/*fsync=*/true)));
  const QueueId id = test::commit_message(*spool_, 5000);
  auto e = spool_->load(id);
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->text_crc32.has_value());
}

// What a crash under syncfs can leave behind: a rename on the disk whose
// text is not (a hole reads as zeros), or whose file is empty or cut short.
// The server's open() sets each aside in corrupt/ and says why; whole files
// stay, and so does a file without a checksum whose text changed (fsync
// commits: nothing to check it against).
TEST_F(Commit, ServerStartMovesDamagedQueueFilesToCorrupt) {
  ASSERT_TRUE(start(syncfs_options(dir_.spool())));
  const QueueId whole = test::commit_message(*spool_, 20000);
  const QueueId holed = test::commit_message(*spool_, 20000);
  const QueueId empty = test::commit_message(*spool_, 300);
  const QueueId cut = test::commit_message(*spool_, 9000);
  Envelope with_state = *spool_->load(holed);
  with_state.recipients[0].attempts = 1;
  ASSERT_TRUE(spool_->save_state(with_state));
  spool_.reset();
  {
    Options plain = test::options_for(dir_.spool(), /*fsync=*/true);
    ASSERT_TRUE(start(plain));
  }
  const QueueId unchecked = test::commit_message(*spool_, 7000);
  spool_.reset();

  const std::string q = sub("queue") + "/";
  std::string bytes = test::read_whole(q + holed);
  std::fill(bytes.begin() + 4096, bytes.begin() + 8192, '\0');
  test::write_whole(q + holed, bytes);
  test::write_whole(q + empty, "");
  bytes = test::read_whole(q + cut);
  test::write_whole(q + cut, bytes.substr(0, bytes.size() - 1));
  bytes = test::read_whole(q + unchecked);
  bytes[10] ^= 1;
  test::write_whole(q + unchecked, bytes);

  ASSERT_TRUE(start(syncfs_options(dir_.spool())));
  const auto& report = spool_->recovery_report();
  ASSERT_EQ(report.size(), 3u);
  const auto mentions = [&](const QueueId& id, const std::string& why) {
    for (const std::string& line : report)
      if (line.find(id) != std::string::npos && line.find(why) != std::string::npos &&
          line.find("moved to " + sub("corrupt") + "/" + id) != std::string::npos)
        return true;
    return false;
  };
  EXPECT_TRUE(mentions(holed, "text checksum mismatch"));
  EXPECT_TRUE(mentions(empty, "shorter than its footer"));
  EXPECT_TRUE(mentions(cut, "damaged queue file"));
  auto listed = spool_->list();
  ASSERT_TRUE(listed);
  EXPECT_EQ(std::set<QueueId>(listed->begin(), listed->end()), (std::set<QueueId>{whole, unchecked}));
  const auto corrupt = test::files_in(sub("corrupt"));
  EXPECT_EQ(std::set<std::string>(corrupt.begin(), corrupt.end()), (std::set<std::string>{holed, empty, cut}));
  EXPECT_TRUE(test::files_in(sub("state")).empty());  // the set-aside message's state went with it
  expect_message(*spool_, whole, 20000);

  // A client (the queue CLI) never moves anything.
  spool_.reset();
  test::write_whole(q + whole, "");
  auto client = Spool::open(syncfs_options(dir_.spool()), Mode::client);
  ASSERT_TRUE(client);
  EXPECT_TRUE((*client)->recovery_report().empty());
  EXPECT_EQ(test::files_in(sub("queue")).size(), 2u);
}

}  // namespace
}  // namespace mxsec::queue

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

[[noreturn]] void run_committer(const std::string& directory, int ack_fd) {
  Options o = test::options_for(directory, /*fsync=*/true);
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

TEST_F(Commit, EveryAcknowledgedMessageSurvivesSigkill) {
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
      run_committer(dir_.spool(), ack[1]);
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
    std::printf("[ info ] round %d: killed after %d ms, %zu acknowledged, %zu in queue/, checked in %lld ms\n", round,
                delay_ms, acks.size(), present.size(), static_cast<long long>(checked_ms));
    spool_.reset();  // the next round's server needs the spool's lock
  }
  EXPECT_GT(acknowledged.size(), 0u);
}

}  // namespace
}  // namespace mxsec::queue

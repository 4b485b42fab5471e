#include "delivery/maildir.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <set>
#include <thread>

namespace mxsec::delivery {
namespace {

namespace fs = std::filesystem;

TEST(MaildirPath, Expands) {
  EXPECT_EQ(*maildir_path("/m/%d/%u", "Bob", "Example.TEST"), "/m/example.test/bob");
  EXPECT_EQ(*maildir_path("/m/100%%/%u", "a", "d"), "/m/100%/a");
  EXPECT_FALSE(maildir_path("/m/%x", "a", "d"));
}

TEST(MaildirPath, RefusesLocalPartsThatLeaveTheDirectory) {
  for (const char* bad : {"../etc", "a/b", ".hidden", ""}) EXPECT_FALSE(maildir_path("/m/%u", bad, "d")) << bad;
  EXPECT_FALSE(maildir_path("/m/%u", std::string_view("a\0b", 3), "d"));
}

TEST(DeliverMaildir, WritesIntoNewWithUniqueNames) {
  const fs::path dir = fs::temp_directory_path() / ("mxsec-maildir-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  const std::string box = (dir / "a/b/box").string();
  std::vector<std::string_view> slices{"Received: x\r\n", "Subject: s\r\n\r\n", "body\r\n"};
  auto first = deliver_maildir(box, slices, {"mx.example:1/2", false});
  auto second = deliver_maildir(box, slices, {"mx.example", true});
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_NE(*first, *second);
  EXPECT_EQ(fs::path(*first).parent_path(), fs::path(box) / "new");
  EXPECT_NE(first->find("mx.example\\0721\\0572"), std::string::npos) << *first;
  for (const char* sub : {"cur", "new", "tmp"}) EXPECT_TRUE(fs::is_directory(fs::path(box) / sub));
  EXPECT_TRUE(fs::is_empty(fs::path(box) / "tmp"));
  std::ifstream in(*first, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  EXPECT_EQ(ss.str(), "Received: x\r\nSubject: s\r\n\r\nbody\r\n");
  EXPECT_EQ(fs::status(*first).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  fs::remove_all(dir);
}

TEST(DeliverMaildir, ReportsAnUnwritableDirectory) {
  auto r = deliver_maildir("/proc/mxsec-no-such/box", {"x"}, {"h", false});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::io);
  EXPECT_NE(r.error().message.find("/proc/mxsec-no-such"), std::string::npos);
}

// Deliveries that share the group syncs (fsync of new/, or syncfs of the
// file system) from many threads: every one lands once, whole, with its own
// name, nothing stays in tmp/, and the syncs are fewer than the deliveries
// would make one by one.
void deliver_concurrently(SyncMethod sync) {
  const fs::path dir = fs::temp_directory_path() /
                       ("mxsec-maildir-shared-" + std::string(to_string(sync)) + std::to_string(::getpid()));
  fs::remove_all(dir);
  MaildirShared shared;
  constexpr int kThreads = 8, kEach = 40;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        const std::string body = "message " + std::to_string(t) + "/" + std::to_string(i) + "\r\n";
        auto r = deliver_maildir((dir / (t % 2 ? "odd" : "even")).string(), {body}, {"mx.example", true, sync, &shared});
        if (!r) ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, 0);
  std::set<std::string> bodies;
  for (const char* box : {"odd", "even"}) {
    EXPECT_TRUE(fs::is_empty(dir / box / "tmp"));
    for (const auto& f : fs::directory_iterator(dir / box / "new")) {
      std::ifstream in(f.path(), std::ios::binary);
      std::stringstream ss;
      ss << in.rdbuf();
      bodies.insert(ss.str());
    }
  }
  EXPECT_EQ(bodies.size(), static_cast<std::size_t>(kThreads * kEach));
  const int per_delivery = sync == SyncMethod::syncfs ? 2 : 1;  // syncfs: before and after the rename
  std::printf("[ info ] %s: %d deliveries, %llu group syncs\n", to_string(sync), kThreads * kEach,
              static_cast<unsigned long long>(shared.syncs()));
  EXPECT_GE(shared.syncs(), static_cast<std::uint64_t>(per_delivery));
  EXPECT_LT(shared.syncs(), static_cast<std::uint64_t>(per_delivery * kThreads * kEach));
  fs::remove_all(dir);
}

TEST(DeliverMaildir, ConcurrentDeliveriesShareDirectoryFsyncs) { deliver_concurrently(SyncMethod::fsync); }

TEST(DeliverMaildir, ConcurrentDeliveriesShareFileSystemSyncs) { deliver_concurrently(SyncMethod::syncfs); }

// A Maildir removed while the shared state remembers it is made again.
TEST(DeliverMaildir, RemembersMaildirsAndRemakesARemovedOne) {
  const fs::path dir = fs::temp_directory_path() / ("mxsec-maildir-known-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  MaildirShared shared;
  const std::string box = (dir / "box").string();
  ASSERT_TRUE(deliver_maildir(box, {"one\r\n"}, {"h", true, SyncMethod::fsync, &shared}));
  EXPECT_TRUE(shared.known(box));
  fs::remove_all(dir);
  auto again = deliver_maildir(box, {"two\r\n"}, {"h", true, SyncMethod::fsync, &shared});
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(fs::exists(*again));
  fs::remove_all(dir);
}

}  // namespace
}  // namespace mxsec::delivery

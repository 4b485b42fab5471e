// Tests for queue/queue_id.cpp: valid_id() and the ID generator.
#include "queue/queue_id.hpp"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

namespace mxsec::queue {
namespace {

TEST(ValidId, Cases) {
  struct Case {
    std::string id;
    bool valid;
  };
  for (const Case& c : std::vector<Case>{
           {"0123456789ABCDEF", true},
           {"ZZZZZZZZZZZZZZZZ", true},
           {"0000000000000000", true},
           {"", false},
           {"0123456789ABCDE", false},    // 15
           {"0123456789ABCDEF0", false},  // 17
           {"0123456789abcdef", false},   // lower case
           {"0123456789ABCDE-", false},
           {"../../etc/passwd", false},
           {"0123456789ABCDE/", false},
           {"0123456789ABCD.F", false},
           {"0123456789ABCDE ", false},
           {std::string("0123456789ABCDE\0", 16), false},
           {"0123456789ABCDE\xc3", false},
           {"..", false},
       })
    EXPECT_EQ(valid_id(c.id), c.valid) << c.id;
}

TEST(FormatId, FixedWidthBase36) {
  EXPECT_EQ(format_id(0, 0), "0000000000000000");
  EXPECT_EQ(format_id(35, 35), "0000000000Z0000Z");
  EXPECT_EQ(format_id(36, 36), "0000000001000010");
  // The random part is taken modulo 36^5; the time part keeps its low 11 digits.
  EXPECT_EQ(format_id(0, 60466176), "0000000000000000");
  const std::uint64_t micros_2024 = 1704067200000000ULL;
  const QueueId id = format_id(micros_2024, 12345);
  EXPECT_TRUE(valid_id(id));
  EXPECT_LT(format_id(micros_2024, 60466175), format_id(micros_2024 + 1, 0));  // time decides the order
}

TEST(IdGenerator, ValidStrictlyIncreasingAndUnique) {
  IdGenerator ids;
  QueueId last;
  for (int i = 0; i < 10000; ++i) {
    QueueId id = ids.next();
    ASSERT_TRUE(valid_id(id)) << id;
    ASSERT_LT(last, id);
    last = std::move(id);
  }
}

TEST(IdGenerator, ThreadSafe) {
  IdGenerator ids;
  std::vector<std::vector<QueueId>> made(4);
  std::vector<std::thread> threads;
  for (auto& out : made)
    threads.emplace_back([&ids, &out] {
      for (int i = 0; i < 2000; ++i) out.push_back(ids.next());
    });
  for (auto& t : threads) t.join();
  std::set<QueueId> all;
  for (const auto& out : made) all.insert(out.begin(), out.end());
  EXPECT_EQ(all.size(), 8000u);
}

TEST(IdGenerator, TimePartIsNow) {
  IdGenerator ids;
  const QueueId id = ids.next();
  const auto micros = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  // Same time prefix as an ID made from the clock a moment later, give or take a minute.
  EXPECT_LE(format_id(micros - 60000000, 0), id);
  EXPECT_GE(format_id(micros + 60000000, 0), id);
}

}  // namespace
}  // namespace mxsec::queue

#include <gtest/gtest.h>

#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "shared/event/event.h"

namespace cjd {
namespace {

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

TEST(EventId, IsAUuidV7String) {
  const std::string id = NewEventId(1'795'439'556'120);
  ASSERT_EQ(id.size(), 36u);
  for (size_t i = 0; i < id.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      EXPECT_EQ(id[i], '-') << id;
    } else {
      EXPECT_TRUE(IsLowerHex(id[i])) << id;
    }
  }
  EXPECT_EQ(id[14], '7') << id << ": version 7";
  EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id << ": variant 0b10";
}

TEST(EventId, StartsWithTheMillisecondTimestampInBigEndianHex) {
  const std::string id = NewEventId(0x01A1'FF8C'5E18);
  EXPECT_EQ(id.substr(0, 13), "01a1ff8c-5e18");
  EXPECT_EQ(NewEventId(0).substr(0, 13), "00000000-0000");
}

TEST(EventId, SortsByTimestampAcrossMilliseconds) {
  std::string previous = NewEventId(1'700'000'000'000);
  for (int64_t ms = 1'700'000'000'001; ms < 1'700'000'001'000; ++ms) {
    const std::string id = NewEventId(ms);
    ASSERT_LT(previous, id);
    previous = id;
  }
}

TEST(EventId, IsUniqueWithinTheSameMillisecond) {
  std::set<std::string> ids;
  for (int i = 0; i < 100'000; ++i) ids.insert(NewEventId(1'700'000'000'000));
  EXPECT_EQ(ids.size(), 100'000u);
}

TEST(EventId, IsUniqueAcrossThreads) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 10'000;
  std::vector<std::vector<std::string>> out(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&out, t] {
      for (int i = 0; i < kPerThread; ++i) out[t].push_back(NewEventId(1'700'000'000'000));
    });
  }
  for (auto& th : threads) th.join();
  std::set<std::string> ids;
  for (const auto& v : out) ids.insert(v.begin(), v.end());
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace cjd

#include "hub/ingest/sequence_tracker.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace cjd::hub {
namespace {

using Ranges = std::vector<std::pair<uint64_t, uint64_t>>;

TEST(SequenceTracker, AdvancesOverContiguousBatches) {
  SequenceTracker t;
  t.Add(1, 10);
  t.Add(11, 20);
  EXPECT_EQ(t.acked(), 20u);
  EXPECT_TRUE(t.pending().empty());
}

TEST(SequenceTracker, HoldsOutOfOrderRangesUntilTheGapFills) {
  SequenceTracker t;
  t.Add(21, 30);
  t.Add(11, 15);
  EXPECT_EQ(t.acked(), 0u);
  EXPECT_EQ(t.pending(), (Ranges{{11, 15}, {21, 30}}));
  t.Add(1, 10);
  EXPECT_EQ(t.acked(), 15u);
  t.Add(16, 20);
  EXPECT_EQ(t.acked(), 30u);
  EXPECT_TRUE(t.pending().empty());
}

TEST(SequenceTracker, OverlappingAndRepeatedRangesChangeNothing) {
  SequenceTracker t;
  t.Add(1, 10);
  t.Add(5, 8);
  t.Add(1, 10);
  EXPECT_EQ(t.acked(), 10u);
  t.Add(20, 30);
  t.Add(25, 40);
  t.Add(19, 19);
  EXPECT_EQ(t.pending(), (Ranges{{19, 40}}));
}

TEST(SequenceTracker, CoversOnlyWhatIsHeld) {
  SequenceTracker t;
  t.Add(1, 10);
  t.Add(20, 30);
  EXPECT_TRUE(t.Covers(1, 10));
  EXPECT_TRUE(t.Covers(3, 4));
  EXPECT_TRUE(t.Covers(22, 30));
  EXPECT_FALSE(t.Covers(9, 12));
  EXPECT_FALSE(t.Covers(11, 19));
  EXPECT_FALSE(t.Covers(25, 31));
}

TEST(SequenceTracker, HeldIsTheHighestSequenceHeldAboveAGapToo) {
  SequenceTracker t;
  EXPECT_EQ(t.held(), 0u);
  t.Add(1, 5);
  EXPECT_EQ(t.held(), 5u);
  t.Add(9, 12);
  EXPECT_EQ(t.acked(), 5u);
  EXPECT_EQ(t.held(), 12u);
  t.Add(6, 8);
  EXPECT_EQ(t.held(), 12u);
  EXPECT_EQ(t.acked(), 12u);
}

TEST(SequenceTracker, RestoresFromPersistedState) {
  SequenceTracker t(10, {{15, 20}});
  EXPECT_EQ(t.acked(), 10u);
  t.Add(11, 14);
  EXPECT_EQ(t.acked(), 20u);
}

TEST(SequenceTracker, AnyDeliveryOrderConverges) {
  std::vector<std::pair<uint64_t, uint64_t>> batches;
  for (uint64_t i = 0; i < 200; ++i) batches.emplace_back(i * 7 + 1, i * 7 + 7);
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    auto order = batches;
    // Duplicates too: every batch may arrive twice.
    order.insert(order.end(), batches.begin(), batches.begin() + 50);
    std::shuffle(order.begin(), order.end(), rng);
    SequenceTracker t;
    for (const auto& [f, l] : order) t.Add(f, l);
    EXPECT_EQ(t.acked(), 1400u);
    EXPECT_TRUE(t.pending().empty());
  }
}

}  // namespace
}  // namespace cjd::hub

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

// An independent model: the set of held numbers, as a bitmap. The ack is the longest held prefix;
// the pending ranges are the maximal runs of held numbers above it.
struct Model {
  std::vector<bool> held = std::vector<bool>(2000, false);
  void Add(uint64_t f, uint64_t l) {
    for (uint64_t i = f; i <= l; ++i) held[i] = true;
  }
  uint64_t Acked() const {
    uint64_t n = 0;
    while (n + 1 < held.size() && held[n + 1]) ++n;
    return n;
  }
  Ranges Pending() const {
    Ranges out;
    for (uint64_t i = Acked() + 1; i < held.size(); ++i) {
      if (!held[i]) continue;
      uint64_t j = i;
      while (j + 1 < held.size() && held[j + 1]) ++j;
      out.emplace_back(i, j);
      i = j;
    }
    return out;
  }
};

TEST(SequenceTracker, EveryStepOfAnyDeliveryOrderMatchesAModel) {
  std::vector<std::pair<uint64_t, uint64_t>> batches;
  for (uint64_t i = 0; i < 200; ++i) batches.emplace_back(i * 7 + 1, i * 7 + 7);
  std::mt19937 rng(42);
  for (int round = 0; round < 20; ++round) {
    auto order = batches;
    // Duplicates too: every batch may arrive twice; and overlapping resends of other sizes.
    order.insert(order.end(), batches.begin(), batches.begin() + 50);
    for (int k = 0; k < 30; ++k) {
      const uint64_t f = std::uniform_int_distribution<uint64_t>(1, 1390)(rng);
      order.emplace_back(f, f + std::uniform_int_distribution<uint64_t>(0, 9)(rng));
    }
    std::shuffle(order.begin(), order.end(), rng);
    SequenceTracker t;
    Model m;
    for (size_t step = 0; step < order.size(); ++step) {
      const auto [f, l] = order[step];
      const bool covered = t.Covers(f, l);
      bool model_covered = true;
      for (uint64_t i = f; i <= l; ++i) model_covered = model_covered && m.held[i];
      // Covers may answer false for a range held in two merged pieces only if they are not
      // merged; the tracker merges adjacent ranges, so it must agree exactly.
      ASSERT_EQ(covered, model_covered) << "round " << round << " step " << step;
      t.Add(f, l);
      m.Add(f, l);
      ASSERT_EQ(t.acked(), m.Acked()) << "round " << round << " step " << step;
      ASSERT_EQ(t.pending(), m.Pending()) << "round " << round << " step " << step;
      ASSERT_EQ(t.pending_count(), m.Pending().size());
    }
    EXPECT_EQ(t.acked(), 1400u);
    EXPECT_TRUE(t.pending().empty());
  }
}

// Near the top of the number space `last + 1` must not wrap (the ingestor caps sequences at
// kMaxSeq; the tracker itself stays exact up to UINT64_MAX - 1).
TEST(SequenceTracker, RangesNearTheTopDoNotWrap) {
  const uint64_t top = UINT64_MAX - 1;
  SequenceTracker t;
  t.Add(top - 10, top);
  t.Add(5, 9);
  EXPECT_EQ(t.acked(), 0u);
  EXPECT_EQ(t.pending(), (Ranges{{5, 9}, {top - 10, top}}));
  EXPECT_FALSE(t.Covers(1, top));
}

}  // namespace
}  // namespace cjd::hub

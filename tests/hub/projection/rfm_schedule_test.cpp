// RfmSchedule: when the RFM cut points are due (pure logic, no SQLite).
#include "hub/projection/rfm_schedule.h"

#include <gtest/gtest.h>

namespace cjd::hub {
namespace {

TEST(RfmSchedule, FirstChangeIsDueAtOnceWhenNothingWasScored) {
  RfmSchedule s({5, 30'000});
  s.Computed(1'000, 0);
  EXPECT_FALSE(s.Due(1'000, /*idle=*/true));  // nothing changed
  s.OrdersChanged(1);
  EXPECT_TRUE(s.Due(1'000, /*idle=*/true));
  EXPECT_FALSE(s.Due(1'000, /*idle=*/false));  // while events flow: the min interval
  EXPECT_TRUE(s.Due(31'000, /*idle=*/false));
}

TEST(RfmSchedule, WaitsForTheShareOfCustomersToChange) {
  RfmSchedule s({5, 30'000});
  s.Computed(0, 50'000);
  EXPECT_EQ(s.Threshold(), 2'500);
  s.OrdersChanged(2'499);
  EXPECT_FALSE(s.Due(1'000'000, /*idle=*/true));
  s.OrdersChanged(1);
  EXPECT_TRUE(s.Due(1'000'000, /*idle=*/true));
  s.Computed(1'000'000, 52'000);
  EXPECT_EQ(s.pending(), 0);
  EXPECT_EQ(s.Threshold(), 2'600);
  s.Computed(0, 41);  // rounds up: 2.05 -> 3
  EXPECT_EQ(s.Threshold(), 3);
}

TEST(RfmSchedule, AFailedRecomputeKeepsWhatIsPendingAndRetriesLater) {
  RfmSchedule s({5, 30'000});
  s.Computed(0, 100);
  s.OrdersChanged(10);
  ASSERT_TRUE(s.Due(60'000, /*idle=*/true));
  s.Failed(60'000);
  EXPECT_EQ(s.pending(), 10);
  EXPECT_FALSE(s.Due(60'001, /*idle=*/true));
  EXPECT_TRUE(s.Due(90'000, /*idle=*/true));
}

TEST(RfmSchedule, ZeroPercentRecomputesOnEveryChange) {
  RfmSchedule s({0, 0});
  s.Computed(0, 1'000'000);
  EXPECT_EQ(s.Threshold(), 1);
  s.OrdersChanged(1);
  EXPECT_TRUE(s.Due(0, /*idle=*/false));
}

}  // namespace
}  // namespace cjd::hub

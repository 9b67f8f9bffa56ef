#include "hub/ingest/reject_log.h"

#include <gtest/gtest.h>

namespace cjd::hub {
namespace {

using Summaries = std::vector<std::pair<std::string, int64_t>>;

TEST(RejectLog, LogsTheFirstFewPerReasonAndWindowThenSummarises) {
  RejectLog log(/*per_window=*/3, /*window_ms=*/60'000);
  int logged = 0;
  for (int i = 0; i < 10'000; ++i) {
    const RejectLog::Decision d = log.Admit("malformed", 1'000 + i);
    logged += d.log ? 1 : 0;
    EXPECT_EQ(d.suppressed, 0);
  }
  EXPECT_EQ(logged, 3);
  // Another reason has its own allowance.
  EXPECT_TRUE(log.Admit("bad_seal", 2'000).log);
  // Nothing to summarise while the window runs.
  EXPECT_TRUE(log.TakeSummaries(60'999).empty());
  // Once it is over: one summary with the count, given once.
  EXPECT_EQ(log.TakeSummaries(61'000), (Summaries{{"malformed", 9'997}}));
  EXPECT_TRUE(log.TakeSummaries(61'001).empty());
  // A new window logs in full again.
  EXPECT_TRUE(log.Admit("malformed", 61'500).log);
}

TEST(RejectLog, TheNextRejectionReportsWhatTheLastWindowSuppressed) {
  RejectLog log(1, 1'000);
  EXPECT_TRUE(log.Admit("replay", 0).log);
  EXPECT_FALSE(log.Admit("replay", 10).log);
  EXPECT_FALSE(log.Admit("replay", 20).log);
  const RejectLog::Decision d = log.Admit("replay", 1'000);
  EXPECT_TRUE(d.log);
  EXPECT_EQ(d.suppressed, 2);
  EXPECT_TRUE(log.TakeSummaries(5'000).empty());  // already reported
}

}  // namespace
}  // namespace cjd::hub

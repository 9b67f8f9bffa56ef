#include <gtest/gtest.h>

#include "agent/uplink/uplink.h"

namespace cjd::agent {
namespace {

std::vector<WireEvent> Seqs(std::initializer_list<uint64_t> seqs) {
  std::vector<WireEvent> out;
  for (uint64_t s : seqs) out.push_back(WireEvent{s, "e" + std::to_string(s), 2, 0, "{}"});
  return out;
}

TEST(ClampBatch, KeepsABatchWithinTheSpanTheHubTakes) {
  auto events = Seqs({11, 12, 15});
  EXPECT_EQ(ClampBatch(10, &events), 15u);
  EXPECT_EQ(events.size(), 3u);
}

// Telemetry dropped under budget leaves holes; the hub refuses a frame claiming more than
// kMaxFrameSeqSpan numbers (bad_range), which would leave the device stuck forever.
TEST(ClampBatch, SplitsALongHoleIntoFramesTheHubTakes) {
  const uint64_t far = 10 + kMaxFrameSeqSpan + 5;
  auto events = Seqs({11, far});
  EXPECT_EQ(ClampBatch(10, &events), 11u);
  ASSERT_EQ(events.size(), 1u);
  // Only events beyond the span: an empty frame covering the hole's first part.
  events = Seqs({far, far + 1});
  const uint64_t last = ClampBatch(11, &events);
  EXPECT_EQ(last, 11 + kMaxFrameSeqSpan);
  EXPECT_TRUE(events.empty());
  EXPECT_LT(last - 12, kMaxFrameSeqSpan);  // [12, last] is within the span
  // The next frame reaches the events.
  events = Seqs({far, far + 1});
  EXPECT_EQ(ClampBatch(last, &events), far + 1);
  EXPECT_EQ(events.size(), 2u);
}

}  // namespace
}  // namespace cjd::agent

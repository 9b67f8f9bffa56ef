#include "hub/ingest/status_freshness.h"

#include <gtest/gtest.h>

namespace cjd::hub {
namespace {

DeviceStatus Heartbeat(int64_t clock_ms, int64_t will_ms) {
  DeviceStatus s;
  s.online = true;
  s.clock_ms = clock_ms;
  s.will_ms = will_ms;
  return s;
}

DeviceStatus Offline(int64_t clock_ms) {
  DeviceStatus s;
  s.online = false;
  s.clock_ms = clock_ms;
  return s;
}

TEST(StatusFreshness, TakesNewerStatusesAndRefusesOlderOnes) {
  StatusMark m;
  ASSERT_EQ(JudgeStatus(m, Heartbeat(1'000, 900)), Freshness::kNew);
  m = NextMark(m, Heartbeat(1'000, 900));
  ASSERT_EQ(JudgeStatus(m, Heartbeat(2'000, 900)), Freshness::kNew);
  m = NextMark(m, Heartbeat(2'000, 900));
  EXPECT_EQ(JudgeStatus(m, Heartbeat(2'000, 900)), Freshness::kSame);
  EXPECT_EQ(JudgeStatus(m, Heartbeat(1'000, 900)), Freshness::kStale);
  EXPECT_EQ(JudgeStatus(m, Offline(1'500)), Freshness::kStale);  // not the named will
}

TEST(StatusFreshness, TakesTheWillOfTheCurrentConnectionOnlyOnce) {
  StatusMark m;
  m = NextMark(m, Heartbeat(1'000, 900));
  m = NextMark(m, Heartbeat(2'000, 900));
  // The broker publishes the will the agent registered at 900 when the connection drops.
  ASSERT_EQ(JudgeStatus(m, Offline(900)), Freshness::kNew);
  m = NextMark(m, Offline(900));
  EXPECT_EQ(m.clock_ms, 2'000);  // the mark never goes back
  // That will, or any older status, replayed: refused.
  EXPECT_EQ(JudgeStatus(m, Offline(900)), Freshness::kStale);
  EXPECT_EQ(JudgeStatus(m, Heartbeat(1'000, 900)), Freshness::kStale);
  // The agent reconnects (new will at 2'500) and heartbeats again.
  ASSERT_EQ(JudgeStatus(m, Heartbeat(3'000, 2'500)), Freshness::kNew);
  m = NextMark(m, Heartbeat(3'000, 2'500));
  EXPECT_EQ(JudgeStatus(m, Offline(900)), Freshness::kStale);  // an earlier connection's will
  EXPECT_EQ(JudgeStatus(m, Offline(2'500)), Freshness::kNew);
  // A goodbye (SIGTERM) is built at that moment: newer than everything.
  EXPECT_EQ(JudgeStatus(m, Offline(3'100)), Freshness::kNew);
}

TEST(StatusFreshness, ATakenWillHoldsTheLastHeartbeatsFiguresAndItsRedeliveryIsNoReplay) {
  const std::string heartbeat =
      R"({"online":true,"clock_ms":2000,"will_ms":900,"last_seq":3,"acked_seq":3,"backlog":5})";
  StatusMark m = MarkFromStored(heartbeat);
  DeviceStatus will = Offline(900);
  will.last_seq = 0;  // built when the device connected
  ASSERT_TRUE(IsWillOf(m, will));
  EXPECT_FALSE(IsWillOf(m, Offline(1'500)));
  const std::string held = WillStatus(heartbeat);
  auto decoded = DecodeDeviceStatus(held);
  ASSERT_TRUE(decoded.ok()) << held;
  EXPECT_FALSE(decoded->online);
  EXPECT_EQ(decoded->last_seq, 3u);
  EXPECT_EQ(decoded->backlog, 5);
  m = NextMark(m, *decoded);
  EXPECT_EQ(m.clock_ms, 2'000);
  EXPECT_FALSE(m.online);
  // The retained will again (a hub start), in memory or from what was stored: the one held.
  EXPECT_EQ(JudgeStatus(m, Offline(900)), Freshness::kSame);
  EXPECT_EQ(JudgeStatus(MarkFromStored(held), Offline(900)), Freshness::kSame);
  EXPECT_EQ(JudgeStatus(m, Offline(1'000)), Freshness::kStale);
  // The device reconnects: its heartbeats are taken again.
  EXPECT_EQ(JudgeStatus(m, Heartbeat(3'000, 2'500)), Freshness::kNew);
  // Nothing usable held: no status.
  EXPECT_EQ(WillStatus(""), "");
  EXPECT_EQ(WillStatus(R"({"online":true})"), "");  // no clock
}

TEST(StatusFreshness, TheMarkIsRestoredFromTheStoredStatus) {
  const StatusMark m = MarkFromStored(R"({"online":true,"clock_ms":5000,"will_ms":4000})");
  EXPECT_EQ(m.clock_ms, 5'000);
  EXPECT_TRUE(m.online);
  EXPECT_EQ(m.will_ms, 4'000);
  // After a hub restart a captured older status is still refused, the retained one ignored.
  EXPECT_EQ(JudgeStatus(m, Heartbeat(4'500, 4'000)), Freshness::kStale);
  EXPECT_EQ(JudgeStatus(m, Heartbeat(5'000, 4'000)), Freshness::kSame);
  EXPECT_EQ(JudgeStatus(m, Offline(4'000)), Freshness::kNew);
  // Nothing stored, or a row stored before statuses were checked: no mark, anything is new.
  EXPECT_EQ(MarkFromStored("").clock_ms, -1);
  EXPECT_EQ(MarkFromStored(R"({"online":"yes","clock_ms":5000})").clock_ms, -1);
}

}  // namespace
}  // namespace cjd::hub

#include "hub/fleet/fleet_view.h"

#include <gtest/gtest.h>

#include <limits>

namespace cjd::hub {
namespace {

DeviceRow Row(const std::string& status, int64_t status_ms) {
  DeviceRow r;
  r.record.device_id = "pos-1";
  r.record.store_id = "s1";
  r.record.kind = "pos";
  r.state.acked_seq = 42;
  r.state.last_seen_ms = status_ms;
  r.state.status_json = status;
  r.state.status_ms = status_ms;
  return r;
}

TEST(FleetView, OnlineWhileHeartbeatsAreFresh) {
  auto e = DeviceEntry(Row(R"({"online":true,"backlog":7,"clock_ms":1000500})", 1'000'000),
                       1'030'000, 60'000);
  EXPECT_TRUE(e["online"].get<bool>());
  EXPECT_EQ(e["backlog"], 7);
  EXPECT_EQ(e["acked_seq"], 42);
  EXPECT_EQ(e["clock_skew_ms"], 500);
}

TEST(FleetView, OfflineWhenHeartbeatIsStaleOrLastWillArrived) {
  EXPECT_FALSE(DeviceEntry(Row(R"({"online":true})", 1'000'000), 1'061'000, 60'000)["online"]
                   .get<bool>());
  EXPECT_FALSE(DeviceEntry(Row(R"({"online":false})", 1'000'000), 1'000'001, 60'000)["online"]
                   .get<bool>());
}

TEST(FleetView, NeverSeenDeviceIsListedOffline) {
  auto e = DeviceEntry(Row("", 0), 1'000'000, 60'000);
  EXPECT_FALSE(e["online"].get<bool>());
  EXPECT_TRUE(e["last_seen"].is_null());
  EXPECT_EQ(e["backlog"], 0);
}

TEST(FleetView, SumsTheFleet) {
  auto j = FleetJson({Row(R"({"online":true,"backlog":3})", 1'000'000),
                      Row(R"({"online":true,"backlog":4})", 1'000'000)},
                     1'000'100, 60'000);
  EXPECT_EQ(j["count"], 2);
  EXPECT_EQ(j["online"], 2);
  EXPECT_EQ(j["backlog_total"], 7);
}

// Found by fuzz_device_status: a heartbeat is the device's own JSON. Members of the wrong type
// threw (GET /v1/devices answered 500 for the whole fleet) and extreme numbers overflowed.
TEST(FleetView, MistypedHeartbeatMembersReadAsAbsent) {
  nlohmann::json e;
  ASSERT_NO_THROW(e = DeviceEntry(Row(R"({"online":"yes","backlog":"7","backlog_age_s":1.5,)"
                                      R"("last_seq":-1,"version":7,"offers_version":"3",)"
                                      R"("clock_ms":-9223372036854775808})",
                                      1'000'000),
                                  1'000'100, 60'000));
  EXPECT_FALSE(e["online"].get<bool>());
  EXPECT_EQ(e["backlog"], 0);
  EXPECT_EQ(e["backlog_age_s"], 0);
  EXPECT_EQ(e["last_seq"], 0);
  EXPECT_EQ(e["version"], "");
  EXPECT_TRUE(e["offers_version"].is_null());
  EXPECT_TRUE(e["clock_skew_ms"].is_null());  // would overflow
  EXPECT_EQ(DeviceEntry(Row(R"({"backlog":18446744073709551615})", 1'000'000), 1'000'100,
                        60'000)["backlog"],
            0);
}

TEST(FleetView, FleetBacklogSaturatesInsteadOfOverflowing) {
  const auto row = Row(R"({"online":true,"backlog":9223372036854775807})", 1'000'000);
  nlohmann::json j;
  ASSERT_NO_THROW(j = FleetJson({row, row}, 1'000'100, 60'000));
  EXPECT_EQ(j["backlog_total"], std::numeric_limits<int64_t>::max());
}

}  // namespace
}  // namespace cjd::hub

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

TEST(FleetView, ALastWillGivesNoClockSkew) {
  // The will was built when the device connected (clock 1,000,000) and arrives when it dies,
  // eight hours later: that is no skew, and no clock_skew alert may follow from it.
  const int64_t eight_hours = 8 * 3'600'000;
  auto e = DeviceEntry(Row(R"({"online":false,"clock_ms":1000000})", 1'000'000 + eight_hours),
                       1'000'000 + eight_hours, 60'000);
  EXPECT_FALSE(e["online"].get<bool>());
  EXPECT_TRUE(e["clock_skew_ms"].is_null()) << e.dump();
}

TEST(FleetView, ShowsTheCurrentEpochAndTheResetsTheDeviceReported) {
  DeviceRow r = Row(R"({"online":true,"outbox_resets":[{"at":"2026-12-02T10:00:00Z",)"
                    R"("reason":"corrupt","detail":"moved to x.corrupt-1","epoch":"00000000000000ff",)"
                    R"("extra":1},{"reason":"restored"}]})",
                    1'000'000);
  r.state.epoch = 0xff;
  r.state.epochs.resize(2);
  auto e = DeviceEntry(r, 1'000'000, 60'000);
  EXPECT_EQ(e["epoch"], "00000000000000ff");
  EXPECT_EQ(e["epochs"], 2);
  ASSERT_EQ(e["outbox_resets"].size(), 2u);
  EXPECT_EQ(e["outbox_resets"][0]["reason"], "corrupt");
  EXPECT_EQ(e["outbox_resets"][0]["detail"], "moved to x.corrupt-1");
  EXPECT_FALSE(e["outbox_resets"][0].contains("extra"));
  EXPECT_EQ(e["outbox_resets"][1]["reason"], "restored");
  EXPECT_FALSE(e.contains("status_error"));
  // Resets are decoded as strictly as the rest of the status: an entry that is not an object, or
  // a reason that is not text, makes the stored status unreadable (named), never a 500.
  for (const char* bad : {R"({"online":true,"outbox_resets":["junk"]})",
                          R"({"online":true,"outbox_resets":[{"reason":5}]})",
                          R"({"online":true,"outbox_resets":{}})"}) {
    SCOPED_TRACE(bad);
    auto b = DeviceEntry(Row(bad, 1'000'000), 1'000'000, 60'000);
    EXPECT_TRUE(b["status_error"].is_string());
    EXPECT_NE(b["status_error"].get<std::string>().find("outbox_resets"), std::string::npos);
    EXPECT_TRUE(b["outbox_resets"].empty());
  }
  // A pre-epoch device: null epoch, no resets.
  auto legacy = DeviceEntry(Row(R"({"online":true})", 1'000'000), 1'000'000, 60'000);
  EXPECT_TRUE(legacy["epoch"].is_null());
  EXPECT_TRUE(legacy["outbox_resets"].empty());
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

// Rows stored before statuses were checked on arrival (or damaged since): each lists the device
// offline with the reason, and the rest of the fleet is served (GET /v1/devices answered 500).
TEST(FleetView, IllTypedStoredStatusListsTheDeviceWithoutFailingTheFleet) {
  for (const char* bad : {R"({"online":"yes","backlog":3})", R"({"online":true,"backlog":"3"})",
                          R"({"online":true,"clock_ms":"x"})", R"({"online":true,"version":1})",
                          R"({"online":true,"offers_version":-1})", "[1,2]", "not json"}) {
    SCOPED_TRACE(bad);
    nlohmann::json e;
    ASSERT_NO_THROW(e = DeviceEntry(Row(bad, 1'000'000), 1'000'100, 60'000));
    EXPECT_FALSE(e["online"].get<bool>());
    EXPECT_EQ(e["backlog"], 0);
    EXPECT_TRUE(e["status_error"].is_string());
    EXPECT_EQ(e["acked_seq"], 42);
  }
  nlohmann::json fleet;
  ASSERT_NO_THROW(fleet = FleetJson({Row(R"({"online":"yes"})", 1'000'000),
                                     Row(R"({"online":true,"backlog":4})", 1'000'000)},
                                    1'000'100, 60'000));
  EXPECT_EQ(fleet["count"], 2);
  EXPECT_EQ(fleet["online"], 1);
  EXPECT_EQ(fleet["backlog_total"], 4);
  EXPECT_FALSE(fleet["devices"][1].contains("status_error"));
}

TEST(FleetView, BacklogTotalSaturatesInsteadOfOverflowing) {
  const std::string huge = R"({"online":true,"backlog":9223372036854775807})";
  auto j = FleetJson({Row(huge, 1'000'000), Row(huge, 1'000'000)}, 1'000'100, 60'000);
  EXPECT_EQ(j["backlog_total"], INT64_MAX);
}

}  // namespace
}  // namespace cjd::hub

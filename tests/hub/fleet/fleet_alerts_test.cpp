// FleetAlerts over fleet documents built by hand: each kind at, below and above its threshold.
#include "hub/fleet/fleet_alerts.h"

#include <gtest/gtest.h>

#include "shared/event/event.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

constexpr int64_t kNow = 1'790'000'000'000;

json At(int64_t ms) { return FormatRfc3339(ms); }

json Device(const std::string& id) {
  return {{"device_id", id},  {"store_id", "s1"},       {"online", true},
          {"last_seen", At(kNow - 1000)}, {"registered_at", At(kNow - 86'400'000)},
          {"backlog", 0},     {"backlog_age_s", 0},     {"clock_skew_ms", 0},
          {"offers_version", nullptr},    {"offers_target", nullptr}, {"offers_sent_at", nullptr}};
}

std::vector<std::string> Kinds(const json& out) {
  std::vector<std::string> k;
  for (const json& a : out["alerts"]) k.push_back(a["device_id"].get<std::string>() + ":" +
                                                  a["kind"].get<std::string>());
  return k;
}

TEST(FleetAlerts, EachKindFiresOnlyPastItsThreshold) {
  AlertThresholds t;  // 10 min offline, 15 min backlog, 120 s skew, 10 min offers
  json fleet = {{"devices", json::array()}};
  json ok = Device("ok");
  json off = Device("off");
  off["online"] = false;
  off["last_seen"] = At(kNow - 11 * 60'000);
  json just_off = Device("just-off");
  just_off["online"] = false;
  just_off["last_seen"] = At(kNow - 9 * 60'000);
  json never = Device("never");
  never["online"] = false;
  never["last_seen"] = nullptr;  // registered a day ago, never heard from
  json old = Device("old");
  old["backlog"] = 40;
  old["backlog_age_s"] = 16 * 60;
  json empty_but_old = Device("empty");  // an age without a backlog is no alert
  empty_but_old["backlog_age_s"] = 99 * 60;
  json skew = Device("skew");
  skew["clock_skew_ms"] = -121'000;
  json skew_ok = Device("skew-ok");
  skew_ok["clock_skew_ms"] = 120'000;
  json behind = Device("behind");
  behind["offers_version"] = 3u;
  behind["offers_target"] = 5u;
  behind["offers_sent_at"] = At(kNow - 11 * 60'000);
  json just_sent = Device("just-sent");
  just_sent["offers_version"] = 3u;
  just_sent["offers_target"] = 5u;
  just_sent["offers_sent_at"] = At(kNow - 60'000);
  json current = Device("current");
  current["offers_version"] = 5u;
  current["offers_target"] = 5u;
  current["offers_sent_at"] = At(kNow - 60 * 60'000);
  for (const json& d : {ok, off, just_off, never, old, empty_but_old, skew, skew_ok, behind,
                        just_sent, current}) {
    fleet["devices"].push_back(d);
  }
  const json out = FleetAlerts(fleet, t, kNow);
  EXPECT_EQ(Kinds(out), (std::vector<std::string>{"off:device_offline", "never:device_offline",
                                                  "old:backlog_old", "skew:clock_skew",
                                                  "behind:offers_behind"}));
  EXPECT_EQ(out["count"], 5);
  const json& a = out["alerts"][0];
  EXPECT_EQ(a["store_id"], "s1");
  EXPECT_EQ(a["value"], 11);
  EXPECT_EQ(a["threshold"], 10);
  EXPECT_EQ(a["since"], At(kNow - 11 * 60'000));
  EXPECT_NE(a["message"].get<std::string>().find("11 min"), std::string::npos);
  EXPECT_EQ(out["alerts"][3]["value"], -121.0);
  EXPECT_EQ(out["thresholds"]["clock_skew_seconds"], 120);
}

TEST(FleetAlerts, ZeroThresholdsFireAtOnceAndAnEmptyFleetHasNone) {
  AlertThresholds t{0, 0, 0, 0};
  json off = Device("off");
  off["online"] = false;
  off["last_seen"] = At(kNow);
  EXPECT_EQ(Kinds(FleetAlerts({{"devices", {off}}}, t, kNow)),
            (std::vector<std::string>{"off:device_offline"}));
  EXPECT_EQ(FleetAlerts({{"devices", json::array()}}, t, kNow)["count"], 0);
  EXPECT_EQ(FleetAlerts(json::object(), t, kNow)["count"], 0);
}

}  // namespace
}  // namespace cjd::hub

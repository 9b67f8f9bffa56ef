// Alerts for operations, from the fleet view (fleet_view.h): what GET /v1/alerts lists and the
// dashboard shows. Thresholds from [alerts] in hub.toml. Pure.
//
// Kinds, one alert per device and kind:
//   device_offline   offline (fleet_view.h) and last heard from more than offline_minutes ago
//                    (never heard from: not an alert until it has been registered that long)
//   backlog_old      the device's oldest unacknowledged event is older than backlog_minutes
//   clock_skew       |device clock - hub clock| above clock_skew_seconds
//   offers_behind    the device holds an offer watermark below the hub's target (its cache is
//                    missing offer changes), reported in a heartbeat more than
//                    offers_behind_minutes after the hub last sent it an update
#pragma once

#include <cstdint>

#include <nlohmann/json.hpp>

namespace cjd::hub {

struct AlertThresholds {
  int64_t offline_minutes = 10;
  int64_t backlog_minutes = 15;
  int64_t clock_skew_seconds = 120;
  int64_t offers_behind_minutes = 10;
};

// `fleet`: FleetJson's document, each device with "offers_target" (null without offers) and
// "offers_sent_ms" (when the hub last sent the device an offer update; 0: never). Returns
// {"alerts": [{"kind", "severity", "device_id", "store_id", "value", "threshold", "since",
// "message"}], "count", "thresholds": {...}}, by device, then kind.
nlohmann::json FleetAlerts(const nlohmann::json& fleet, const AlertThresholds& t, int64_t now_ms);

}  // namespace cjd::hub

#include "hub/fleet/fleet_alerts.h"

#include <cstdlib>
#include <string>

#include "shared/event/event.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

std::optional<int64_t> TimeMs(const json& d, const char* key) {
  const auto it = d.find(key);
  if (it == d.end() || !it->is_string()) return std::nullopt;
  const Result<int64_t> ms = ParseRfc3339(it->get<std::string>());
  return ms.ok() ? std::optional<int64_t>(*ms) : std::nullopt;
}

int64_t Int(const json& d, const char* key) {
  const auto it = d.find(key);
  return it != d.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

}  // namespace

json FleetAlerts(const json& fleet, const AlertThresholds& t, int64_t now_ms) {
  json alerts = json::array();
  auto add = [&](const json& d, const char* kind, const char* severity, json value, json threshold,
                 std::optional<int64_t> since_ms, std::string message) {
    alerts.push_back({{"kind", kind},
                      {"severity", severity},
                      {"device_id", d.value("device_id", "")},
                      {"store_id", d.value("store_id", "")},
                      {"value", std::move(value)},
                      {"threshold", std::move(threshold)},
                      {"since", since_ms ? json(FormatRfc3339(*since_ms)) : json()},
                      {"message", std::move(message)}});
  };
  const auto devices = fleet.find("devices");
  if (devices != fleet.end() && devices->is_array()) {
    for (const json& d : *devices) {
      const std::string id = d.value("device_id", "");
      // Offline: by the last time the hub heard from it (or its registration, if never).
      if (!d.value("online", false)) {
        const std::optional<int64_t> seen = TimeMs(d, "last_seen");
        const std::optional<int64_t> since = seen ? seen : TimeMs(d, "registered_at");
        const int64_t minutes = since ? (now_ms - *since) / 60'000 : 0;
        if (since && now_ms - *since >= t.offline_minutes * 60'000) {
          add(d, "device_offline", "warning", minutes, t.offline_minutes, since,
              id + (seen ? " offline, last heard from " + std::to_string(minutes) + " min ago"
                         : " never heard from since its registration " +
                               std::to_string(minutes) + " min ago"));
        }
      }
      // The backlog the device reported: its oldest unacknowledged event.
      const int64_t backlog = Int(d, "backlog");
      const int64_t age_s = Int(d, "backlog_age_s");
      if (backlog > 0 && age_s > t.backlog_minutes * 60) {
        add(d, "backlog_old", "warning", age_s, t.backlog_minutes * 60, now_ms - age_s * 1000,
            id + " holds " + std::to_string(backlog) + " unacknowledged events, the oldest " +
                std::to_string(age_s / 60) + " min old");
      }
      if (d.contains("clock_skew_ms") && d["clock_skew_ms"].is_number_integer()) {
        const int64_t skew_ms = d["clock_skew_ms"].get<int64_t>();
        if (std::llabs(skew_ms) > t.clock_skew_seconds * 1000) {
          add(d, "clock_skew", "warning", static_cast<double>(skew_ms) / 1000.0,
              t.clock_skew_seconds, std::nullopt,
              id + "'s clock is " + std::to_string(skew_ms / 1000) + " s off the hub's");
        }
      }
      // Offers: a watermark below the target, still so more than N minutes after the hub last
      // sent the device an update (a device that was never sent one is not behind yet).
      if (d.contains("offers_version") && d["offers_version"].is_number_unsigned() &&
          d.contains("offers_target") && d["offers_target"].is_number_unsigned()) {
        const uint64_t held = d["offers_version"].get<uint64_t>();
        const uint64_t target = d["offers_target"].get<uint64_t>();
        const std::optional<int64_t> sent = TimeMs(d, "offers_sent_at");
        if (held < target && sent && now_ms - *sent >= t.offers_behind_minutes * 60'000) {
          add(d, "offers_behind", "info", held, target, sent,
              id + " holds offers up to version " + std::to_string(held) + " of " +
                  std::to_string(target));
        }
      }
    }
  }
  json out;
  out["count"] = alerts.size();
  out["alerts"] = std::move(alerts);
  out["thresholds"] = {{"offline_minutes", t.offline_minutes},
                       {"backlog_minutes", t.backlog_minutes},
                       {"clock_skew_seconds", t.clock_skew_seconds},
                       {"offers_behind_minutes", t.offers_behind_minutes}};
  return out;
}

}  // namespace cjd::hub

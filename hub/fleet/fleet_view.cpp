#include "hub/fleet/fleet_view.h"

#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"

namespace cjd::hub {
namespace {
nlohmann::json TimeOrNull(int64_t ms) {
  return ms > 0 ? nlohmann::json(FormatRfc3339(ms)) : nlohmann::json();
}
}  // namespace

nlohmann::json DeviceEntry(const DeviceRow& row, int64_t now_ms, int64_t offline_after_ms) {
  nlohmann::json status = nlohmann::json::object();
  if (!row.state.status_json.empty()) {
    status = nlohmann::json::parse(row.state.status_json, nullptr, false);
    if (status.is_discarded() || !status.is_object()) status = nlohmann::json::object();
  }
  const bool fresh = row.state.status_ms > 0 && now_ms - row.state.status_ms <= offline_after_ms;
  const bool online = fresh && status.value("online", false);
  nlohmann::json e;
  e["device_id"] = row.record.device_id;
  e["store_id"] = row.record.store_id;
  e["kind"] = row.record.kind;
  e["online"] = online;
  e["last_seen"] = TimeOrNull(row.state.last_seen_ms);
  e["acked_seq"] = row.state.acked_seq;
  e["pending_ranges"] = row.state.pending_ranges.size();
  // The outbox epoch the hub tracks as current (null: none yet, or a pre-epoch agent), and how
  // many epochs the hub has seen from the device (each reset of its outbox starts one).
  e["epoch"] = row.state.epoch != 0 ? nlohmann::json(EpochHex(row.state.epoch)) : nlohmann::json();
  e["epochs"] = row.state.epochs.size();
  // Resets the device reported in its heartbeat (a damaged outbox moved aside, a restore from a
  // backup detected): [{at, reason, detail, epoch}], the latest, oldest first.
  nlohmann::json resets = nlohmann::json::array();
  if (status.contains("outbox_resets") && status["outbox_resets"].is_array()) {
    for (const auto& r : status["outbox_resets"]) {
      if (resets.size() >= 20) break;
      if (!r.is_object()) continue;
      nlohmann::json item = nlohmann::json::object();
      for (const char* k : {"at", "reason", "detail", "epoch"}) {
        if (r.contains(k) && r[k].is_string()) item[k] = r[k].get<std::string>().substr(0, 1000);
      }
      resets.push_back(std::move(item));
    }
  }
  e["outbox_resets"] = std::move(resets);
  e["backlog"] = status.value("backlog", 0);
  e["backlog_age_s"] = status.value("backlog_age_s", 0);
  e["last_seq"] = status.value("last_seq", 0);
  e["version"] = status.value("version", "");
  // The offer watermark the device applied (offer_update.h); null for an agent without offers.
  e["offers_version"] = status.contains("offers_version") &&
                                status["offers_version"].is_number_unsigned()
                            ? status["offers_version"]
                            : nlohmann::json();
  e["status_at"] = TimeOrNull(row.state.status_ms);
  // The device's clock minus the hub's at the time the heartbeat arrived.
  e["clock_skew_ms"] = status.contains("clock_ms") && status["clock_ms"].is_number_integer() &&
                                   row.state.status_ms > 0
                           ? nlohmann::json(status["clock_ms"].get<int64_t>() - row.state.status_ms)
                           : nlohmann::json();
  e["registered_at"] = TimeOrNull(row.record.created_ms);
  return e;
}

nlohmann::json FleetJson(const std::vector<DeviceRow>& rows, int64_t now_ms,
                         int64_t offline_after_ms) {
  nlohmann::json list = nlohmann::json::array();
  int64_t online = 0;
  int64_t backlog = 0;
  for (const DeviceRow& r : rows) {
    nlohmann::json e = DeviceEntry(r, now_ms, offline_after_ms);
    online += e["online"].get<bool>() ? 1 : 0;
    backlog += e["backlog"].get<int64_t>();
    list.push_back(std::move(e));
  }
  return {{"devices", std::move(list)},
          {"count", rows.size()},
          {"online", online},
          {"backlog_total", backlog}};
}

}  // namespace cjd::hub

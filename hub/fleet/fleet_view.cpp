#include "hub/fleet/fleet_view.h"

#include <limits>

#include "shared/event/event.h"
#include "shared/protocol/device_status.h"
#include "shared/protocol/batch_codec.h"

namespace cjd::hub {
namespace {
nlohmann::json TimeOrNull(int64_t ms) {
  return ms > 0 ? nlohmann::json(FormatRfc3339(ms)) : nlohmann::json();
}

}  // namespace

nlohmann::json DeviceEntry(const DeviceRow& row, int64_t now_ms, int64_t offline_after_ms) {
  // A stored status is decoded like one arriving: a row written before the hub checked statuses
  // strictly (or damaged) shows as "no status" with the reason, and never fails the whole list.
  DeviceStatus status;
  std::string status_error;
  if (!row.state.status_json.empty()) {
    auto decoded = DecodeDeviceStatus(row.state.status_json);
    if (decoded.ok()) {
      status = std::move(*decoded);
    } else {
      status_error = decoded.status().ToString();
    }
  }
  const bool fresh = row.state.status_ms > 0 && now_ms - row.state.status_ms <= offline_after_ms;
  const bool online = fresh && status_error.empty() && status.online;
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
  for (const OutboxResetEntry& r : status.outbox_resets) {
    resets.push_back({{"at", r.at}, {"reason", r.reason}, {"detail", r.detail}, {"epoch", r.epoch}});
  }
  e["outbox_resets"] = std::move(resets);
  e["backlog"] = status.backlog;
  e["backlog_age_s"] = status.backlog_age_s;
  e["last_seq"] = status.last_seq;
  e["version"] = status.version;
  // The offer watermark the device applied (offer_update.h); null for an agent without offers.
  e["offers_version"] = status.offers_version ? nlohmann::json(*status.offers_version)
                                              : nlohmann::json();
  e["status_at"] = TimeOrNull(row.state.status_ms);
  // The device's clock minus the hub's at the time the heartbeat arrived. Only from a heartbeat:
  // an offline status says nothing of the skew, since a last will is built when the device
  // connects and the broker delivers it when the device dies, maybe hours later (its clock
  // minus its arrival is the connection's age, and alerted as skew before this was fixed).
  e["clock_skew_ms"] = status.online && status.clock_ms && row.state.status_ms > 0
                           ? nlohmann::json(*status.clock_ms - row.state.status_ms)
                           : nlohmann::json();
  e["registered_at"] = TimeOrNull(row.record.created_ms);
  if (!status_error.empty()) e["status_error"] = status_error;
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
    // Saturating: a device may report any count up to INT64_MAX.
    const int64_t b = e["backlog"].get<int64_t>();
    backlog = b > std::numeric_limits<int64_t>::max() - backlog
                  ? std::numeric_limits<int64_t>::max()
                  : backlog + b;
    list.push_back(std::move(e));
  }
  return {{"devices", std::move(list)},
          {"count", rows.size()},
          {"online", online},
          {"backlog_total", backlog}};
}

}  // namespace cjd::hub

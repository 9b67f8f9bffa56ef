#include "hub/fleet/fleet_view.h"

#include <algorithm>
#include <limits>
#include <optional>
#include <string>

#include "shared/event/event.h"

namespace cjd::hub {
namespace {
nlohmann::json TimeOrNull(int64_t ms) {
  return ms > 0 ? nlohmann::json(FormatRfc3339(ms)) : nlohmann::json();
}

// A heartbeat is whatever JSON object the device sealed: a member of the wrong type, or a number
// out of range, reads as absent (nlohmann's value() would throw, and one device would break the
// whole fleet view).
std::optional<int64_t> IntMember(const nlohmann::json& status, const char* key) {
  auto it = status.find(key);
  if (it == status.end() || !it->is_number_integer()) return std::nullopt;
  if (it->is_number_unsigned() &&
      it->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return std::nullopt;
  }
  return it->get<int64_t>();
}

int64_t IntOr(const nlohmann::json& status, const char* key, int64_t fallback) {
  return IntMember(status, key).value_or(fallback);
}

bool BoolOr(const nlohmann::json& status, const char* key, bool fallback) {
  auto it = status.find(key);
  return it != status.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::string StringOr(const nlohmann::json& status, const char* key) {
  auto it = status.find(key);
  return it != status.end() && it->is_string() ? it->get<std::string>() : std::string();
}
}  // namespace

nlohmann::json DeviceEntry(const DeviceRow& row, int64_t now_ms, int64_t offline_after_ms) {
  nlohmann::json status = nlohmann::json::object();
  if (!row.state.status_json.empty()) {
    status = nlohmann::json::parse(row.state.status_json, nullptr, false);
    if (status.is_discarded() || !status.is_object()) status = nlohmann::json::object();
  }
  const bool fresh = row.state.status_ms > 0 && now_ms - row.state.status_ms <= offline_after_ms;
  const bool online = fresh && BoolOr(status, "online", false);
  nlohmann::json e;
  e["device_id"] = row.record.device_id;
  e["store_id"] = row.record.store_id;
  e["kind"] = row.record.kind;
  e["online"] = online;
  e["last_seen"] = TimeOrNull(row.state.last_seen_ms);
  e["acked_seq"] = row.state.acked_seq;
  e["pending_ranges"] = row.state.pending_ranges.size();
  e["backlog"] = std::max<int64_t>(0, IntOr(status, "backlog", 0));
  e["backlog_age_s"] = IntOr(status, "backlog_age_s", 0);
  auto last_seq = status.find("last_seq");
  e["last_seq"] = last_seq != status.end() && last_seq->is_number_unsigned()
                      ? last_seq->get<uint64_t>()
                      : uint64_t{0};
  e["version"] = StringOr(status, "version");
  // The offer watermark the device applied (offer_update.h); null for an agent without offers.
  e["offers_version"] = status.contains("offers_version") &&
                                status["offers_version"].is_number_unsigned()
                            ? status["offers_version"]
                            : nlohmann::json();
  e["status_at"] = TimeOrNull(row.state.status_ms);
  // The device's clock minus the hub's at the time the heartbeat arrived.
  const std::optional<int64_t> clock_ms = IntMember(status, "clock_ms");
  int64_t skew = 0;
  e["clock_skew_ms"] = clock_ms && row.state.status_ms > 0 &&
                               !__builtin_sub_overflow(*clock_ms, row.state.status_ms, &skew)
                           ? nlohmann::json(skew)
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
    // Saturates: each backlog is a device's own figure.
    if (__builtin_add_overflow(backlog, e["backlog"].get<int64_t>(), &backlog)) {
      backlog = std::numeric_limits<int64_t>::max();
    }
    list.push_back(std::move(e));
  }
  return {{"devices", std::move(list)},
          {"count", rows.size()},
          {"online", online},
          {"backlog_total", backlog}};
}

}  // namespace cjd::hub

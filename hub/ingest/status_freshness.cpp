#include "hub/ingest/status_freshness.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace cjd::hub {

Freshness JudgeStatus(const StatusMark& mark, const DeviceStatus& s) {
  const int64_t t = s.clock_ms.value_or(-1);
  if (t > mark.clock_ms) return Freshness::kNew;
  if (!s.online && mark.online && mark.will_ms >= 0 && t == mark.will_ms) return Freshness::kNew;
  if (t == mark.clock_ms) return Freshness::kSame;
  // The will of a connection whose will was already taken (into the last heartbeat's figures:
  // WillStatus), redelivered as the broker's retained status: the one held.
  if (!s.online && !mark.online && mark.will_ms >= 0 && t == mark.will_ms) return Freshness::kSame;
  return Freshness::kStale;
}

StatusMark NextMark(const StatusMark& mark, const DeviceStatus& s) {
  StatusMark next;
  next.clock_ms = std::max(mark.clock_ms, s.clock_ms.value_or(-1));
  next.online = s.online;
  // A heartbeat names its connection's will; an offline status held in its place (WillStatus)
  // names the will already taken.
  next.will_ms = s.will_ms.value_or(-1);
  return next;
}

bool IsWillOf(const StatusMark& mark, const DeviceStatus& s) {
  return !s.online && mark.online && mark.will_ms >= 0 && s.clock_ms == mark.will_ms;
}

std::string WillStatus(std::string_view heartbeat_json) {
  auto j = nlohmann::json::parse(heartbeat_json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return "";
  j["online"] = false;
  std::string out = j.dump();
  auto s = DecodeDeviceStatus(out);
  if (!s.ok() || !s->clock_ms || s->online) return "";
  return out;
}

StatusMark MarkFromStored(std::string_view status_json) {
  if (status_json.empty()) return {};
  auto s = DecodeDeviceStatus(status_json);
  if (!s.ok() || !s->clock_ms) return {};
  return NextMark(StatusMark{}, *s);
}

}  // namespace cjd::hub

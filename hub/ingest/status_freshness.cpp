#include "hub/ingest/status_freshness.h"

#include <algorithm>

namespace cjd::hub {

Freshness JudgeStatus(const StatusMark& mark, const DeviceStatus& s) {
  const int64_t t = s.clock_ms.value_or(-1);
  if (t > mark.clock_ms) return Freshness::kNew;
  if (!s.online && mark.online && mark.will_ms >= 0 && t == mark.will_ms) return Freshness::kNew;
  if (t == mark.clock_ms) return Freshness::kSame;
  return Freshness::kStale;
}

StatusMark NextMark(const StatusMark& mark, const DeviceStatus& s) {
  StatusMark next;
  next.clock_ms = std::max(mark.clock_ms, s.clock_ms.value_or(-1));
  next.online = s.online;
  next.will_ms = s.online ? s.will_ms.value_or(-1) : -1;
  return next;
}

StatusMark MarkFromStored(std::string_view status_json) {
  if (status_json.empty()) return {};
  auto s = DecodeDeviceStatus(status_json);
  if (!s.ok() || !s->clock_ms) return {};
  return NextMark(StatusMark{}, *s);
}

}  // namespace cjd::hub

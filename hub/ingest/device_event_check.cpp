#include "hub/ingest/device_event_check.h"

namespace cjd::hub {

EventTypeSet DeviceEventTypes(std::string_view kind) {
  if (kind == "pos" || kind == "kiosk") return kPosEventTypes;
  return 0;
}

const char* CheckDeviceEvent(const DeviceRecord& device, WireEvent* e) {
  auto event = EventFromCanonical(e->body);
  if (!event.ok()) return "event_invalid";
  if (static_cast<uint8_t>(event->type) != e->type || event->event_id != e->event_id ||
      event->occurred_at_ms != e->occurred_at_ms) {
    return "event_invalid";
  }
  if ((DeviceEventTypes(device.kind) & TypeBit(event->type)) == 0) return "event_type";
  if (event->store_id != device.store_id) return "event_store";
  e->body = ToCanonicalJson(*event);
  return nullptr;
}

}  // namespace cjd::hub

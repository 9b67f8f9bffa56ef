// What a device may send, checked again at the hub: sealed means authenticated, not well-formed
// nor allowed (DESIGN.md, "One trust boundary"). A stolen device key must not let its holder
// write event types the agent API never takes (an `identify` rewriting another customer's
// attributes) or events for another store. Pure.
#pragma once

#include <string_view>

#include "hub/store/hub_store.h"
#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"

namespace cjd::hub {

// The event types a device of `kind` may send: what its agent's API accepts (POST /v1/events and
// the kiosk's impressions take kPosEventTypes). Nothing for an unknown kind.
EventTypeSet DeviceEventTypes(std::string_view kind);

// Checks one event of a verified batch from `device`. Returns nullptr when it may be stored, and
// then rewrites `e->body` to the canonical JSON of the validated event (what the projector reads
// without validating again). Otherwise returns the reason it is refused:
//   "event_invalid"  the body is not a valid event, or disagrees with the batch's type, id or time
//   "event_type"     a type this kind of device may not send
//   "event_store"    an event for another store than the device's
const char* CheckDeviceEvent(const DeviceRecord& device, WireEvent* e);

}  // namespace cjd::hub

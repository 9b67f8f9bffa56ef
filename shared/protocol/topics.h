// MQTT topic names. Pure functions; the broker ACLs in device-configs/mosquitto.conf and the ones
// cjdctl generates follow the same patterns.
//
//   cjd/v1/dev/{device_id}/up       device -> hub   sealed event batches (QoS 1)
//   cjd/v1/dev/{device_id}/down     hub -> device   sealed acks and downlink updates (QoS 1)
//   cjd/v1/dev/{device_id}/status   device -> hub   heartbeat JSON, retained; also the last will
//   cjd/v1/hub/status               retired: the hub's unsealed "(re)connected" hint, which anyone
//                                   on the broker could forge. The hub now sends each device a
//                                   sealed FrameKind::kResync on its own down topic; agents neither
//                                   subscribe here nor act on it.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cjd::topics {

enum class Channel { kUp, kDown, kStatus };

std::string Up(std::string_view device_id);
std::string Down(std::string_view device_id);
std::string Status(std::string_view device_id);
// Subscription filters for the hub.
std::string AllUp();       // "cjd/v1/dev/+/up"
std::string AllStatus();   // "cjd/v1/dev/+/status"
std::string HubStatus();   // "cjd/v1/hub/status" (retired, see above)

struct Parsed {
  std::string device_id;
  Channel channel;
};
// Parses a concrete topic; nullopt for anything that is not one of ours.
std::optional<Parsed> Parse(std::string_view topic);

// Device ids: 1..64 chars of [A-Za-z0-9_.-] (no MQTT wildcards or separators).
bool IsValidDeviceId(std::string_view id);

}  // namespace cjd::topics

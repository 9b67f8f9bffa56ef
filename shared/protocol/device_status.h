// The device status (heartbeat, goodbye and last will): JSON sealed in a FrameKind::kStatus frame
// on cjd/v1/dev/{id}/status. The agent writes it (agent/status/status_report.h); the hub decodes
// every one with DecodeDeviceStatus, on arrival (ingest) and when it reads a stored one back
// (fleet view, offer planner), so no consumer ever meets an ill-typed field.
//
// Schema (a JSON object of at most kMaxStatusBytes):
//   online        bool, required: false in the last will and the goodbye message
//   device_id, store_id, kind, version, clock, last_ack_at (string or null)   strings
//   clock_ms      integer >= 0: the device's clock when it built the status (freshness, skew)
//   will_ms       integer >= 0: clock_ms of the last will registered for the current connection
//                 (the hub accepts that will even though heartbeats newer than it arrived)
//   connected     bool
//   last_seq, acked_seq, offers_version                                     unsigned integers
//   uptime_s, backlog, backlog_bytes, budget_bytes, backlog_age_s, accepted_total,
//   refused_full, duplicates_total, batches_sent, resends, reconnects, bad_downlink, offers,
//   offer_assignments, offer_updates_applied, offer_updates_rejected, impressions_recorded,
//   impressions_dropped, refused_disk_full, acks_ignored, probes_sent       integers >= 0
//   epoch         string (16 hex digits: the outbox epoch), epoch_confirmed bool
//   outbox_resets array of at most kMaxOutboxResets objects {at, reason, detail, epoch}, strings
// Every field but `online` is optional; a known field of the wrong type (or a negative count) is
// an error naming it. Unknown fields are allowed (a newer agent may add some) and ignored.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"

namespace cjd {

inline constexpr size_t kMaxStatusBytes = 16 * 1024;
inline constexpr size_t kMaxOutboxResets = 20;

// One reset of the device's outbox as it reported it (agent/outbox: a damaged outbox moved
// aside, a restore from a backup detected).
struct OutboxResetEntry {
  std::string at;      // RFC 3339
  std::string reason;
  std::string detail;
  std::string epoch;   // the epoch started by the reset
};

// What the hub reads from a status; the rest is validated but not kept.
struct DeviceStatus {
  bool online = false;
  std::optional<std::string> device_id;
  std::optional<std::string> store_id;
  std::optional<std::string> kind;
  std::string version;
  std::optional<int64_t> clock_ms;
  std::optional<int64_t> will_ms;
  uint64_t last_seq = 0;
  uint64_t acked_seq = 0;
  int64_t backlog = 0;
  int64_t backlog_age_s = 0;
  std::optional<uint64_t> offers_version;  // absent for an agent without an offer cache
  std::optional<std::string> epoch;
  std::vector<OutboxResetEntry> outbox_resets;
};

// Strict: kInvalid with `field` naming the first bad field (or the whole body when it is not a
// JSON object or too large). Never throws.
Result<DeviceStatus> DecodeDeviceStatus(std::string_view json_text);

}  // namespace cjd

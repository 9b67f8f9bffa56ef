// The fleet as operations see it: one entry per device from its registration, its sequence
// progress and its last verified heartbeat. Pure.
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/store/hub_store.h"

namespace cjd::hub {

// A device is online when its last heartbeat said so and arrived within `offline_after_ms`.
// Entry fields: device_id, store_id, kind, online, last_seen (RFC 3339 or null), backlog,
// backlog_age_s, acked_seq, pending_ranges, version, offers_version (the offer version the
// device applied, null when it keeps no offers), clock_skew_ms, status_at, registered_at; and
// epoch (the outbox epoch tracked as current, 16 hex digits, null before any or for a pre-epoch
// agent), epochs (how many the hub has seen), outbox_resets (from the heartbeat: [{at, reason,
// detail, epoch}]); and status_error when the stored status does not decode
// (DecodeDeviceStatus): the device is then listed offline with no figures, and the rest of the
// fleet is unaffected.
nlohmann::json DeviceEntry(const DeviceRow& row, int64_t now_ms, int64_t offline_after_ms);

// {"devices": [...], "count": N, "online": K, "backlog_total": B}
nlohmann::json FleetJson(const std::vector<DeviceRow>& rows, int64_t now_ms,
                         int64_t offline_after_ms);

}  // namespace cjd::hub

// The agent's status as JSON: served by GET /v1/status and sent (sealed) as the MQTT heartbeat and
// last will. Pure: builds text from a snapshot.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "shared/storage/memory_report.h"

namespace cjd::agent {

// A reset's detail is cut to this many bytes in the status, so that the 20 resets kept fit the
// hub's status limit (kMaxStatusBytes) with room to spare.
inline constexpr size_t kMaxResetDetail = 300;

struct OutboxResetReport {
  int64_t at_ms = 0;
  std::string reason;
  std::string detail;
  uint64_t epoch = 0;
};

struct StatusSnapshot {
  // Only in GET /v1/status (the heartbeat leaves it out): the agent's memory right now.
  std::optional<MemoryReport> memory;
  std::string device_id;
  std::string store_id;
  std::string kind;
  bool online = true;             // false in the last will and the goodbye message
  bool connected = false;
  int64_t now_ms = 0;             // the agent's clock, so the hub can see skew (and freshness)
  int64_t will_ms = 0;            // now_ms of the last will registered for this connection; 0: none
  int64_t started_ms = 0;
  uint64_t last_seq = 0;
  uint64_t acked_seq = 0;
  int64_t backlog = 0;
  int64_t backlog_bytes = 0;
  int64_t budget_bytes = 0;
  int64_t oldest_accepted_ms = 0; // 0 when the backlog is empty
  int64_t last_ack_ms = 0;        // 0 when no ack yet in this run
  int64_t accepted_total = 0;
  int64_t refused_full = 0;
  int64_t refused_disk_full = 0;
  int64_t duplicates_total = 0;
  int64_t batches_sent = 0;
  int64_t resends = 0;
  int64_t reconnects = 0;
  int64_t bad_downlink = 0;
  uint64_t epoch = 0;                 // the outbox epoch (batch_codec.h)
  bool epoch_confirmed = false;       // the hub answered for it; batches are flowing
  int64_t acks_ignored = 0;
  int64_t probes_sent = 0;
  std::vector<OutboxResetReport> outbox_resets;  // the latest, oldest first
  // Offer cache (kiosk); reported only when offers_enabled.
  bool offers_enabled = false;
  uint64_t offers_version = 0;        // offer watermark: every change up to it is held
  int64_t offers_count = 0;
  int64_t offer_assignments = 0;
  int64_t offer_updates_applied = 0;
  int64_t offer_updates_rejected = 0;
  int64_t impressions_recorded = 0;
  int64_t impressions_dropped = 0;
};

// Fields: device_id, store_id, kind, version, online, connected, clock (RFC 3339), clock_ms,
// uptime_s, backlog, backlog_bytes, budget_bytes, backlog_age_s, last_seq, acked_seq,
// last_ack_at (RFC 3339 or null), accepted_total, refused_full, refused_disk_full, duplicates_total,
// batches_sent,
// resends, reconnects, bad_downlink, will_ms (only once a will was registered; the hub takes
// that will though it is older than the heartbeats, see hub/ingest/status_freshness.h), epoch
// (16 hex digits), epoch_confirmed, acks_ignored, probes_sent, outbox_resets ([{at, reason,
// detail (at most kMaxResetDetail bytes), epoch}], the latest, oldest first: the hub's decoder
// takes at most kMaxOutboxResets); with an offer cache also offers_version (the offer
// watermark: every change up to it is held; 0 before any), offers (live offers held), offer_assignments,
// offer_updates_applied, offer_updates_rejected, impressions_recorded, impressions_dropped;
// when `memory` is set, memory {rss_bytes, heap_bytes, sqlite_bytes, sqlite_peak_bytes}.
std::string StatusJson(const StatusSnapshot& s);

}  // namespace cjd::agent

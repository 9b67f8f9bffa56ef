// HubStore: the hub's durable state behind an interface, so a PostgreSQL backend can implement it
// for larger deployments. SqliteHubStore (sqlite_hub_store.h) is the embedded default.
//
// Contract for every backend:
//  - CommitIngest is atomic: the events, the devices' sequence progress and the counters of one
//    call commit together or not at all.
//  - Sequence progress is kept per (device, epoch): the epoch names one incarnation of the
//    device's outbox (batch_codec.h). A new epoch starts from nothing; the records of earlier
//    epochs are kept (audit, and late frames of an old epoch are still stored and acked).
//  - Events are unique by (source, event_id), the source being the device id or the collect
//    source's name: inserting one that exists changes nothing (counted as a duplicate), so
//    replaying any batch is harmless, and no source can shadow another's events.
//  - CommitCollect is atomic in the same way: all of a request's events or none.
//  - Device ids and collect source names share one namespace (both appear as events.source):
//    registering either under a name the other holds fails with kConflict.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "shared/core/status.h"
#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"

namespace cjd::hub {
class EventVault;
struct VaultedEvent;
}  // namespace cjd::hub

namespace cjd::hub {

struct DeviceRecord {
  std::string device_id;
  std::string store_id;
  std::string kind;          // "pos" | "kiosk"
  uint32_t key_id = 1;
  std::string public_key;    // base64 X25519
  int64_t created_ms = 0;
};

// The hub's sequence progress for one epoch of a device's outbox (0: legacy, no epoch).
struct EpochState {
  uint64_t epoch = 0;
  uint64_t acked_seq = 0;                                     // highest contiguous held
  std::vector<std::pair<uint64_t, uint64_t>> pending_ranges;  // held above the first gap
  int64_t first_seen_ms = 0;
  int64_t last_seen_ms = 0;
};

// What the hub knows about a device's uplink progress and health.
struct DeviceState {
  // The current epoch (the one that started last) and its progress, repeated from `epochs`.
  uint64_t epoch = 0;
  uint64_t acked_seq = 0;
  std::vector<std::pair<uint64_t, uint64_t>> pending_ranges;
  std::vector<EpochState> epochs;  // every epoch the hub saw, current included, oldest first
  int64_t last_seen_ms = 0;    // last verified frame of any kind
  std::string status_json;     // last verified heartbeat / will
  int64_t status_ms = 0;       // when it arrived
};

struct DeviceRow {
  DeviceRecord record;
  DeviceState state;
};

// One verified batch to commit.
struct IngestBatch {
  std::string device_id;
  uint64_t epoch = 0;
  std::vector<WireEvent> events;
};

// The new progress of one epoch after a group (computed by the ingest SequenceTracker).
struct EpochProgress {
  uint64_t epoch = 0;
  uint64_t acked_seq = 0;
  std::vector<std::pair<uint64_t, uint64_t>> pending_ranges;
  bool make_current = false;  // a new epoch: it becomes the device's current one
};

// The new state of a device after a group.
struct DeviceProgress {
  std::string device_id;
  std::vector<EpochProgress> epochs;  // the epochs whose batches arrived in this group
  int64_t last_seen_ms = 0;
  std::optional<std::string> status_json;  // set when a heartbeat arrived in this group
};

// A collect source (POST /v1/collect). Its key is never stored, only the key's hash.
struct SourceRecord {
  std::string name;          // 1..40 of [A-Za-z0-9._-]
  int64_t created_ms = 0;
  std::vector<std::string> allowed_origins;  // NormalizeOrigin forms (hub/collect/cors.h)
};

// One validated event from POST /v1/collect, ready to store.
struct CollectEvent {
  std::string event_id;
  EventType type = EventType::kPageView;
  int64_t occurred_at_ms = 0;
  std::string body;          // canonical event JSON (ToCanonicalJson)
};

struct IngestResult {
  int64_t inserted = 0;
  int64_t duplicates = 0;   // events whose event_id the hub already held
};

struct StoreCounters {
  int64_t events_total = 0;
  std::map<std::string, int64_t> events_by_type;
  std::map<std::string, int64_t> rejected_by_reason;
  int64_t duplicate_events = 0;
  int64_t last_event_rowid = 0;  // the log's head (rows are never deleted): projection lag
};

class HubStore {
 public:
  virtual ~HubStore() = default;

  // Devices. RegisterDevice fails with kConflict when the id exists.
  virtual Status RegisterDevice(const DeviceRecord& device) = 0;
  virtual Result<std::optional<DeviceRecord>> FindDevice(const std::string& device_id) = 0;
  virtual Result<std::vector<DeviceRow>> ListDevices() = 0;

  // Ingest: see the contract above. `received_ms` stamps the events.
  // `stored` (optional): each device's epochs of `progress` as stored by this commit. Several
  // hub instances may share a store (PostgreSQL), each seeing part of a device's frames: the
  // stored progress is then the caller's merged with what the others committed, and it is what
  // the caller acknowledges. With one writer it equals `progress`.
  virtual Result<IngestResult> CommitIngest(const std::vector<IngestBatch>& batches,
                                            const std::vector<DeviceProgress>& progress,
                                            const std::map<std::string, int64_t>& rejected,
                                            int64_t received_ms,
                                            std::vector<DeviceProgress>* stored = nullptr) = 0;

  // Collect sources. `key_hash` is SourceKeyHash(key) (hub/collect/source_key.h), 32 bytes.
  // RegisterSource fails with kInvalid for a bad name, kConflict when the name is a source or a
  // device already, or the hash is another source's.
  virtual Status RegisterSource(const std::string& name, const std::string& key_hash,
                                int64_t created_ms,
                                const std::vector<std::string>& allowed_origins = {}) = 0;
  // Replaces a source's allowed origins (normal forms). kNotFound for an unknown source.
  virtual Status SetSourceOrigins(const std::string& name,
                                  const std::vector<std::string>& allowed_origins) = 0;
  // The name of the source whose key hashes to `key_hash`, or nullopt.
  virtual Result<std::optional<std::string>> FindSourceByKeyHash(const std::string& key_hash) = 0;
  virtual Result<std::vector<SourceRecord>> ListSources() = 0;

  // Collect: inserts `events` for `source` (events.source = the name, seq NULL) in one
  // transaction. An event_id the hub holds already is skipped and counted as a duplicate. Bumps
  // the counters CommitIngest bumps (events_total, type:NAME, duplicate_events).
  virtual Result<IngestResult> CommitCollect(const std::string& source,
                                             const std::vector<CollectEvent>& events,
                                             int64_t received_ms) = 0;

  virtual Result<StoreCounters> Counters() = 0;

  // Erasure (issue 11): rewrites each of the log's events `ids` without its personal part
  // (RedactedEventJson, shared/event/event.h) in one transaction. The rows keep their ids,
  // types, times and every non-personal field (store totals stay); the bytes they held are
  // zeroed in the file (secure_delete). Returns how many rows changed (an id the log does not
  // hold, or a row redacted already, is skipped).
  virtual Result<int64_t> RedactEvents(const std::vector<int64_t>& ids) = 0;
  // Copies the write-ahead log back and empties it, so no earlier version of a redacted row
  // stays in it. False when a reader's snapshot kept part of it (retry later).
  virtual Result<bool> TruncateWal() = 0;
};

// ---- shared by the backends (hub_store.cpp) ---------------------------------------------------

// The personal parts of a collect request's events, or of a group's batches, sealed with `vault`
// (event_vault.h; without one, bodies whole), in the order the backend writes them.
Status SealCollectEvents(EventVault* vault, const std::string& source,
                         const std::vector<CollectEvent>& events, std::vector<VaultedEvent>* out);
Status SealIngestBatches(EventVault* vault, const std::vector<IngestBatch>& batches,
                         std::vector<VaultedEvent>* out);

// One row of a backend's counters table (events_total, duplicate_events, type:NAME,
// rejected:REASON) added to `c`.
void AddCounterRow(const std::string& name, int64_t value, StoreCounters* c);

}  // namespace cjd::hub

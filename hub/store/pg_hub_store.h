// PgHubStore: HubStore on PostgreSQL (issue 17), for deployments where several hub instances
// share one database. Same contract as SqliteHubStore (hub_store.h); how it is kept here:
//
//  - The log (`events`) is range-partitioned by month of `received_at_ms` (the hub's own clock,
//    so a partition is never written again once its month is over: it can be detached, archived
//    or dropped whole). Partitions are made on demand, the current and the next month's ahead.
//  - Uniqueness by (source, event_id) across partitions: a partitioned table's unique index must
//    hold the partition key, so the pair lives in `event_keys` (one row per event, unpartitioned,
//    the primary key), which also hands out the log's ids. An event is written only when its key
//    row was new, in the same transaction: replays, and two instances committing the same frame,
//    store it once.
//  - Ids follow commit order. Every writing transaction takes one transaction-scoped advisory
//    lock before it takes ids, so a transaction that took smaller ids has committed before a
//    later one's ids become visible: a reader that read up to id N never later finds a new row
//    below N (EventLogReader's cursor relies on it). The cost: the log's writers commit one at a
//    time across instances (as SQLite's single writer does); reads never wait.
//  - Devices' sequence progress: frames of one device may land on several instances (MQTT 5
//    shared subscriptions), so each commit merges its instance's progress into what the
//    database holds for that device and epoch, under the log's lock (CommitIngest), and returns
//    the merged progress for the acks.
//  - A lost connection (restart, failover) fails the commit in progress (kUnavailable: no ack,
//    the device sends the frame again) and is made again at the next one (pg::Connection).
//
// Threading: one instance per thread (one libpq connection each).
#pragma once

#include <memory>
#include <set>
#include <string>

#include "hub/store/event_log_reader.h"
#include "hub/store/event_vault.h"
#include "hub/store/hub_store.h"
#include "shared/storage/postgres.h"

namespace cjd::hub {

class PgHubStore final : public HubStore {
 public:
  // Connects to `url` (postgresql://...) and applies the store's migrations. With a `vault`,
  // the personal part of every event is sealed (event_vault.h), as in SqliteHubStore.
  static Result<std::unique_ptr<PgHubStore>> Open(const std::string& url,
                                                  std::shared_ptr<EventVault> vault = nullptr);

  Status RegisterDevice(const DeviceRecord& device) override;
  Result<std::optional<DeviceRecord>> FindDevice(const std::string& device_id) override;
  Result<std::vector<DeviceRow>> ListDevices() override;
  Result<IngestResult> CommitIngest(const std::vector<IngestBatch>& batches,
                                    const std::vector<DeviceProgress>& progress,
                                    const std::map<std::string, int64_t>& rejected,
                                    int64_t received_ms,
                                    std::vector<DeviceProgress>* stored = nullptr) override;
  Status RegisterSource(const std::string& name, const std::string& key_hash, int64_t created_ms,
                        const std::vector<std::string>& allowed_origins = {}) override;
  Status SetSourceOrigins(const std::string& name,
                          const std::vector<std::string>& allowed_origins) override;
  Result<std::optional<std::string>> FindSourceByKeyHash(const std::string& key_hash) override;
  Result<std::vector<SourceRecord>> ListSources() override;
  Result<IngestResult> CommitCollect(const std::string& source,
                                     const std::vector<CollectEvent>& events,
                                     int64_t received_ms) override;
  Result<StoreCounters> Counters() override;
  Result<int64_t> RedactEvents(const std::vector<int64_t>& ids) override;
  // PostgreSQL keeps a rewritten row's old version until VACUUM reclaims it: this runs VACUUM on
  // the log (its partitions and event_keys), so the space of redacted rows' old versions is
  // marked free. True when it ran. (The sealed personal parts are unreadable anyway once their
  // keys are destroyed; the plaintext of rows written before sealing is what this concerns.)
  Result<bool> TruncateWal() override;

  // The partitions of the log, oldest first (names as events_yYYYYmMM). For tests and ops.
  Result<std::vector<std::string>> Partitions();

  pg::Connection& connection() { return *db_; }

 private:
  PgHubStore(std::unique_ptr<pg::Connection> db, std::shared_ptr<EventVault> vault)
      : db_(std::move(db)), vault_(std::move(vault)) {}
  // Makes sure the partition holding `received_ms` exists (and the next month's).
  Status EnsurePartition(int64_t received_ms);
  // Takes the log's write lock for the current transaction (see the header comment).
  Status LockLog();
  // One event to write (views into the caller's data).
  struct PendingEvent {
    std::string_view source;
    std::string_view event_id;
    std::optional<uint64_t> seq;
    EventType type;
    int64_t occurred_at_ms;
    const VaultedEvent* sealed;
    std::optional<uint64_t> epoch;
  };
  // Writes the events whose (source, event_id) the log does not hold, in one statement; adds
  // them to `result` (inserted / duplicates) and to the type:NAME `counters`.
  Status InsertEvents(const std::vector<PendingEvent>& events, int64_t received_ms,
                      IngestResult* result, std::map<std::string, int64_t>* counters);
  Status AddCounters(const std::map<std::string, int64_t>& deltas);
  Result<bool> NameTaken(const std::string& name, bool is_device);

  std::unique_ptr<pg::Connection> db_;
  std::shared_ptr<EventVault> vault_;
  std::set<int64_t> partitions_;  // months (year * 12 + month - 1) known to exist
};

// The log's reads (event_log_reader.h) on PostgreSQL.
Result<std::unique_ptr<EventLogReader>> OpenPgEventLogReader(
    const std::string& url, std::shared_ptr<EventVault> vault = nullptr);

}  // namespace cjd::hub

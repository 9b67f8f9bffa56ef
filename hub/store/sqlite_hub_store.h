// SqliteHubStore: HubStore on one SQLite file (WAL, synchronous=FULL).
//
// Threading: one instance per thread. The ingest thread owns one for writing; the HTTP API and
// cjdctl open their own (WAL lets them read while ingest writes; SQLite serialises writers).
#pragma once

#include <memory>
#include <string>

#include "hub/store/event_vault.h"
#include "hub/store/hub_store.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

class SqliteHubStore final : public HubStore {
 public:
  // With a `vault`, the personal part of every event written is sealed (event_vault.h); without
  // one (tools, tests of other parts) bodies are stored whole.
  static Result<std::unique_ptr<SqliteHubStore>> Open(const std::string& path,
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
  Result<bool> TruncateWal() override;
  // Seals, in place, up to `limit` rows written before sealing existed (whole bodies), and
  // records how far it got. Returns how many rows it read: 0 when none is left.
  Result<int64_t> SealPlaintext(int limit);
  // PRAGMA synchronous of this connection (2: FULL, what every commit but a heartbeats-only one
  // uses; see CommitIngest). For tests.
  Result<int64_t> SynchronousMode() { return db_->QueryInt("PRAGMA synchronous"); }

 private:
  SqliteHubStore(std::unique_ptr<sqlite::Database> db, std::shared_ptr<EventVault> vault)
      : db_(std::move(db)), vault_(std::move(vault)) {}
  void BindPii(const VaultedEvent& v);
  Status Prepare();
  Status WriteIngest(const std::vector<IngestBatch>& batches,
                     const std::vector<DeviceProgress>& progress,
                     const std::map<std::string, int64_t>& rejected, int64_t received_ms,
                     const std::vector<VaultedEvent>& sealed, IngestResult* result);
  Status AddCounter(const std::string& name, int64_t delta);
  // Adds events_total, duplicate_events and type:NAME counters. REQUIRES: inside a transaction.
  Status AddEventCounters(const IngestResult& result, const std::map<EventType, int64_t>& by_type);
  // True when `name` is a device id (`is_device`) or a source name (otherwise).
  Result<bool> NameTaken(const std::string& name, bool is_device);

  std::unique_ptr<sqlite::Database> db_;
  std::shared_ptr<EventVault> vault_;
  sqlite::Statement insert_event_, add_counter_, update_progress_, update_current_,
      upsert_epoch_, delete_ranges_,
      insert_range_, update_status_, find_device_, find_source_;
};

}  // namespace cjd::hub

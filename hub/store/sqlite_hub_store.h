// SqliteHubStore: HubStore on one SQLite file (WAL, synchronous=FULL).
//
// Threading: one instance per thread. The ingest thread owns one for writing; the HTTP API and
// cjdctl open their own (WAL lets them read while ingest writes; SQLite serialises writers).
#pragma once

#include <memory>
#include <string>

#include "hub/store/hub_store.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

class SqliteHubStore final : public HubStore {
 public:
  static Result<std::unique_ptr<SqliteHubStore>> Open(const std::string& path);

  Status RegisterDevice(const DeviceRecord& device) override;
  Result<std::optional<DeviceRecord>> FindDevice(const std::string& device_id) override;
  Result<std::vector<DeviceRow>> ListDevices() override;
  Result<IngestResult> CommitIngest(const std::vector<IngestBatch>& batches,
                                    const std::vector<DeviceProgress>& progress,
                                    const std::map<std::string, int64_t>& rejected,
                                    int64_t received_ms) override;
  Result<StoreCounters> Counters() override;

 private:
  explicit SqliteHubStore(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  Status Prepare();
  Status WriteIngest(const std::vector<IngestBatch>& batches,
                     const std::vector<DeviceProgress>& progress,
                     const std::map<std::string, int64_t>& rejected, int64_t received_ms,
                     IngestResult* result);
  Status AddCounter(const std::string& name, int64_t delta);

  std::unique_ptr<sqlite::Database> db_;
  sqlite::Statement insert_event_, add_counter_, update_progress_, delete_ranges_,
      insert_range_, update_status_, find_device_;
};

}  // namespace cjd::hub

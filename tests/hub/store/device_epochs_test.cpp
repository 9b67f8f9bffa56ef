// SqliteHubStore: sequence progress per (device, outbox epoch). A new epoch becomes the device's
// current one and starts from nothing; earlier epochs keep their record; migration 4 carries a
// pre-epoch store's progress over as the legacy epoch 0.
#include <gtest/gtest.h>

#include "hub/store/sqlite_hub_store.h"
#include "shared/protocol/keys.h"
#include "shared/storage/sqlite.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub {
namespace {

using cjd::testing::TempDir;

constexpr uint64_t kEpochA = 0x8000000000000001ULL;  // the top bit set: stored as a negative
constexpr uint64_t kEpochB = 0x0123456789abcdefULL;

DeviceProgress Progress(uint64_t epoch, uint64_t acked, bool make_current,
                        std::vector<std::pair<uint64_t, uint64_t>> ranges = {}) {
  DeviceProgress p;
  p.device_id = "pos-1";
  p.last_seen_ms = 1000;
  p.epochs.push_back(EpochProgress{epoch, acked, std::move(ranges), make_current});
  return p;
}

IngestBatch Batch(uint64_t epoch, uint64_t seq, const std::string& id) {
  IngestBatch b;
  b.device_id = "pos-1";
  b.epoch = epoch;
  b.events.push_back(WireEvent{seq, id, 0, 0, "{}"});
  return b;
}

DeviceRow Only(const std::vector<DeviceRow>& rows) {
  EXPECT_EQ(rows.size(), 1u);
  return rows.empty() ? DeviceRow{} : rows.front();
}

class DeviceEpochsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    auto s = SqliteHubStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
    ASSERT_TRUE(store_->RegisterDevice(DeviceRecord{"pos-1", "s1", "pos", 1, "pk", 1}).ok());
  }
  std::string path() const { return dir_.Join("hub.db").string(); }
  std::vector<DeviceRow> Devices() {
    auto rows = store_->ListDevices();
    EXPECT_TRUE(rows.ok()) << rows.status().ToString();
    return rows.ok() ? *rows : std::vector<DeviceRow>{};
  }

  TempDir dir_;
  std::unique_ptr<SqliteHubStore> store_;
};

TEST_F(DeviceEpochsTest, NewEpochStartsFreshAndEarlierEpochsKeepTheirRecord) {
  ASSERT_TRUE(store_->CommitIngest({Batch(kEpochA, 1, "a1")}, {Progress(kEpochA, 7, true, {{9, 9}})},
                                   {}, 10).ok());
  {
    const DeviceRow d = Only(Devices());
    EXPECT_EQ(d.state.epoch, kEpochA);
    EXPECT_EQ(d.state.acked_seq, 7u);
    ASSERT_EQ(d.state.pending_ranges.size(), 1u);
    ASSERT_EQ(d.state.epochs.size(), 1u);
  }
  // The outbox was reset: epoch B counts from 1 again, seq 1 is a different event.
  ASSERT_TRUE(store_->CommitIngest({Batch(kEpochB, 1, "b1")}, {Progress(kEpochB, 1, true)}, {}, 20)
                  .ok());
  // A late frame of epoch A: its record moves on, the current epoch stays B.
  ASSERT_TRUE(store_->CommitIngest({Batch(kEpochA, 8, "a8")}, {Progress(kEpochA, 9, false)}, {}, 30)
                  .ok());
  const DeviceRow d = Only(Devices());
  EXPECT_EQ(d.state.epoch, kEpochB);
  EXPECT_EQ(d.state.acked_seq, 1u);
  EXPECT_TRUE(d.state.pending_ranges.empty());
  ASSERT_EQ(d.state.epochs.size(), 2u);
  for (const EpochState& e : d.state.epochs) {
    if (e.epoch == kEpochA) {
      EXPECT_EQ(e.acked_seq, 9u);
      EXPECT_TRUE(e.pending_ranges.empty());
    } else {
      EXPECT_EQ(e.epoch, kEpochB);
      EXPECT_EQ(e.acked_seq, 1u);
    }
  }
  // Both events with seq 1 are stored, each under its epoch.
  auto db = sqlite::Database::Open(path(), {});
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*(*db)->QueryInt("SELECT count(*) FROM events WHERE seq = 1"), 2);
  EXPECT_EQ(*(*db)->QueryInt("SELECT count(DISTINCT epoch) FROM events WHERE seq = 1"), 2);
}

TEST_F(DeviceEpochsTest, MigrationFourKeepsPreEpochProgressAsEpochZero) {
  store_.reset();
  {
    // Back to a version 3 store: progress in devices.acked_seq and an epoch-less seq_ranges.
    auto db = sqlite::Database::Open(path(), {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec(
        "DROP TABLE device_epochs; DROP TABLE seq_ranges;"
        "CREATE TABLE seq_ranges (device_id TEXT NOT NULL, first_seq INTEGER NOT NULL, "
        "last_seq INTEGER NOT NULL, PRIMARY KEY (device_id, first_seq)) WITHOUT ROWID;"
        "INSERT INTO seq_ranges VALUES ('pos-1', 12, 14);"
        "ALTER TABLE devices DROP COLUMN epoch; ALTER TABLE events DROP COLUMN epoch;"
        "ALTER TABLE events DROP COLUMN pii; ALTER TABLE events DROP COLUMN pii_keys;"
        "DROP TABLE store_meta; ALTER TABLE sources DROP COLUMN allowed_origins;"
        "INSERT INTO sources (name, key_hash, created_ms) VALUES ('old-web', x'00', 1);"
        "UPDATE devices SET acked_seq = 10; PRAGMA user_version = 3;").ok());
  }
  auto s = SqliteHubStore::Open(path());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  store_ = std::move(*s);
  // A source from before CORS keeps taking any origin (migration 6).
  auto sources = store_->ListSources();
  ASSERT_TRUE(sources.ok());
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ((*sources)[0].allowed_origins, std::vector<std::string>{"*"});
  const DeviceRow d = Only(Devices());
  EXPECT_EQ(d.state.epoch, 0u);
  EXPECT_EQ(d.state.acked_seq, 10u);
  ASSERT_EQ(d.state.epochs.size(), 1u);
  EXPECT_EQ(d.state.epochs[0].epoch, 0u);
  EXPECT_EQ(d.state.epochs[0].acked_seq, 10u);
  ASSERT_EQ(d.state.epochs[0].pending_ranges.size(), 1u);
  EXPECT_EQ(d.state.epochs[0].pending_ranges[0], (std::pair<uint64_t, uint64_t>{12, 14}));
}

}  // namespace
}  // namespace cjd::hub

// SqliteHubStore: collect sources and CommitCollect (atomic, idempotent, counted like device
// ingest), on a real SQLite file in a TempDir.
#include "hub/store/sqlite_hub_store.h"

#include <gtest/gtest.h>

#include "hub/collect/source_key.h"
#include "shared/protocol/keys.h"
#include "shared/storage/sqlite.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub {
namespace {

using cjd::testing::TempDir;

class SqliteHubStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    auto s = SqliteHubStore::Open(path());
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(*s);
  }
  std::string path() const { return dir_.Join("hub.db").string(); }

  static CollectEvent Ev(const std::string& id, EventType type = EventType::kPageView) {
    CollectEvent e;
    e.event_id = id;
    e.type = type;
    e.occurred_at_ms = 1'795'428'000'000;
    e.body = R"({"event_id":")" + id + R"("})";
    return e;
  }

  int64_t Count(const std::string& sql) {
    auto db = sqlite::Database::Open(path(), {});
    EXPECT_TRUE(db.ok());
    auto n = (*db)->QueryInt(sql);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }

  TempDir dir_;
  std::unique_ptr<SqliteHubStore> store_;
};

TEST_F(SqliteHubStoreTest, RegisteredSourceIsFoundByItsKeyHashOnly) {
  const std::string key = NewSourceKey();
  ASSERT_TRUE(store_->RegisterSource("webshop", SourceKeyHash(key), 1000).ok());

  auto found = store_->FindSourceByKeyHash(SourceKeyHash(key));
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ(**found, "webshop");
  auto other = store_->FindSourceByKeyHash(SourceKeyHash(NewSourceKey()));
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());

  auto list = store_->ListSources();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ((*list)[0].name, "webshop");
  EXPECT_EQ((*list)[0].created_ms, 1000);
  // The key itself is nowhere in the store's files.
  for (const std::string suffix : {"", "-wal"}) {
    EXPECT_EQ(cjd::testing::ReadFile(path() + suffix).find(key.substr(5)), std::string::npos);
  }
}

TEST_F(SqliteHubStoreTest, ASourcesAllowedOriginsAreKeptAndReplaced) {
  ASSERT_TRUE(store_->RegisterSource("web", SourceKeyHash(NewSourceKey()), 1,
                                     {"https://shop.test", "http://localhost:8000"})
                  .ok());
  ASSERT_TRUE(store_->RegisterSource("crm", SourceKeyHash(NewSourceKey()), 2).ok());
  auto list = store_->ListSources();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_TRUE((*list)[0].allowed_origins.empty());  // crm
  EXPECT_EQ((*list)[1].allowed_origins,
            (std::vector<std::string>{"https://shop.test", "http://localhost:8000"}));
  ASSERT_TRUE(store_->SetSourceOrigins("web", {"https://www.shop.test"}).ok());
  ASSERT_TRUE(store_->SetSourceOrigins("crm", {"*"}).ok());
  list = store_->ListSources();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[0].allowed_origins, (std::vector<std::string>{"*"}));
  EXPECT_EQ((*list)[1].allowed_origins, (std::vector<std::string>{"https://www.shop.test"}));
  ASSERT_TRUE(store_->SetSourceOrigins("web", {}).ok());
  EXPECT_TRUE((*store_->ListSources())[1].allowed_origins.empty());
  EXPECT_EQ(store_->SetSourceOrigins("nosuch", {"*"}).code(), Code::kNotFound);
}

TEST_F(SqliteHubStoreTest, SourceNameTakenBySourceOrDeviceIsAConflict) {
  ASSERT_TRUE(store_->RegisterSource("crm", SourceKeyHash(NewSourceKey()), 1).ok());
  Status again = store_->RegisterSource("crm", SourceKeyHash(NewSourceKey()), 2);
  EXPECT_EQ(again.code(), Code::kConflict);
  EXPECT_NE(again.message().find("already registered"), std::string::npos) << again.message();

  DeviceRecord d;
  d.device_id = "pos-1";
  d.store_id = "s1";
  d.kind = "pos";
  d.public_key = "pk";
  ASSERT_TRUE(store_->RegisterDevice(d).ok());
  Status as_device = store_->RegisterSource("pos-1", SourceKeyHash(NewSourceKey()), 3);
  EXPECT_EQ(as_device.code(), Code::kConflict);
  EXPECT_NE(as_device.message().find("device"), std::string::npos) << as_device.message();

  d.device_id = "crm";
  Status device_as_source = store_->RegisterDevice(d);
  EXPECT_EQ(device_as_source.code(), Code::kConflict);
  EXPECT_NE(device_as_source.message().find("collect source"), std::string::npos)
      << device_as_source.message();

  EXPECT_EQ(store_->RegisterSource("bad name", SourceKeyHash("k"), 1).code(), Code::kInvalid);
  EXPECT_EQ(store_->RegisterSource(std::string(41, 'a'), SourceKeyHash("k"), 1).code(),
            Code::kInvalid);
  auto list = store_->ListSources();
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->size(), 1u);
}

TEST_F(SqliteHubStoreTest, CommitCollectStoresEventsUnderTheSourceAndCounts) {
  auto r = store_->CommitCollect(
      "web", {Ev("e1"), Ev("e2", EventType::kAddToCart), Ev("e3")}, 5000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inserted, 3);
  EXPECT_EQ(r->duplicates, 0);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE source = 'web' AND seq IS NULL AND "
                  "received_at_ms = 5000 AND occurred_at_ms = 1795428000000"),
            3);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE event_id = 'e2' AND type = 'add_to_cart'"),
            1);

  auto c = store_->Counters();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->events_total, 3);
  EXPECT_EQ(c->events_by_type["page_view"], 2);
  EXPECT_EQ(c->events_by_type["add_to_cart"], 1);
  EXPECT_EQ(c->duplicate_events, 0);
}

TEST_F(SqliteHubStoreTest, CommitCollectIsIdempotentPerSource) {
  ASSERT_TRUE(store_->CommitCollect("web", {Ev("e1"), Ev("e2")}, 1).ok());
  // The same source again: e1 is a duplicate, e3 new, e3 twice in the same call.
  auto r = store_->CommitCollect("web", {Ev("e1"), Ev("e3"), Ev("e3")}, 2);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->inserted, 1);
  EXPECT_EQ(r->duplicates, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 3);
  // Another source's "e1" is its own event: one source never shadows another's ids.
  auto other = store_->CommitCollect("crm", {Ev("e1")}, 3);
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->inserted, 1);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE event_id = 'e1'"), 2);

  auto c = store_->Counters();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->events_total, 4);
  EXPECT_EQ(c->duplicate_events, 2);
  EXPECT_EQ(c->events_by_type["page_view"], 4);
}

TEST_F(SqliteHubStoreTest, CommitCollectIsAllOrNothing) {
  ASSERT_TRUE(store_->CommitCollect("web", {Ev("e1")}, 1).ok());
  // A NOT NULL violation on the third event rolls back the first two and the counters.
  auto db = sqlite::Database::Open(path(), {});
  ASSERT_TRUE(db.ok());
  ASSERT_TRUE((*db)->Exec("CREATE TRIGGER no_bad BEFORE INSERT ON events "
                          "WHEN NEW.event_id = 'bad' BEGIN SELECT RAISE(ABORT, 'refused'); END")
                  .ok());
  auto r = store_->CommitCollect("web", {Ev("e2"), Ev("e3"), Ev("bad"), Ev("e4")}, 2);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 1);
  auto c = store_->Counters();
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->events_total, 1);

  // The store keeps working after the rollback.
  ASSERT_TRUE((*db)->Exec("DROP TRIGGER no_bad").ok());
  auto again = store_->CommitCollect("web", {Ev("e2"), Ev("e3")}, 3);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(again->inserted, 2);
  EXPECT_EQ(Count("SELECT count(*) FROM events"), 3);
}

TEST_F(SqliteHubStoreTest, MigrationTwoKeepsAnExistingVersionOneStore) {
  // A store written before sources existed (user_version 1) opens and gains the table.
  store_.reset();
  const std::string old_path = dir_.Join("old.db").string();
  {
    auto db = sqlite::Database::Open(old_path, {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Migrate({{1, "CREATE TABLE devices (device_id TEXT PRIMARY KEY, "
                                    "store_id TEXT NOT NULL, kind TEXT NOT NULL, key_id INTEGER "
                                    "NOT NULL, public_key TEXT NOT NULL, created_ms INTEGER NOT "
                                    "NULL, acked_seq INTEGER NOT NULL DEFAULT 0, last_seen_ms "
                                    "INTEGER NOT NULL DEFAULT 0, status_json TEXT, status_ms "
                                    "INTEGER NOT NULL DEFAULT 0);"
                                    "CREATE TABLE seq_ranges (device_id TEXT, first_seq INTEGER, "
                                    "last_seq INTEGER, PRIMARY KEY (device_id, first_seq));"
                                    "CREATE TABLE events (id INTEGER PRIMARY KEY, event_id TEXT "
                                    "NOT NULL UNIQUE, source TEXT NOT NULL, seq INTEGER, type "
                                    "TEXT NOT NULL, occurred_at_ms INTEGER NOT NULL, "
                                    "received_at_ms INTEGER NOT NULL, body TEXT NOT NULL);"
                                    "CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER "
                                    "NOT NULL);"}})
                    .ok());
  }
  {
    auto db = sqlite::Database::Open(old_path, {});
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("INSERT INTO events VALUES (7, 'x', 'pos-1', 1, 'transaction', 0, 0, '{}')").ok());
  }
  auto s = SqliteHubStore::Open(old_path);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_TRUE((*s)->RegisterSource("web", SourceKeyHash("k"), 1).ok());
  // Migration 3 kept the event and its row id, and ids are now unique per source.
  auto db = sqlite::Database::Open(old_path, {});
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(*(*db)->QueryInt("SELECT id FROM events WHERE event_id = 'x'"), 7);
  EXPECT_TRUE((*s)->CommitCollect("web", {Ev("x")}, 2).ok());
  EXPECT_EQ(*(*db)->QueryInt("SELECT count(*) FROM events WHERE event_id = 'x'"), 2);
}

TEST(SourceKey, KeysAreRandomPrefixedAndHashTo32Bytes) {
  ASSERT_TRUE(InitCrypto().ok());
  const std::string a = NewSourceKey(), b = NewSourceKey();
  EXPECT_NE(a, b);
  EXPECT_EQ(a.rfind("cjds_", 0), 0u);
  EXPECT_EQ(a.size(), 5u + 43u);  // 32 bytes in unpadded base64url
  EXPECT_EQ(a.find_first_not_of(
                "cjds_ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-"),
            std::string::npos);
  EXPECT_EQ(SourceKeyHash(a).size(), 32u);
  EXPECT_EQ(SourceKeyHash(a), SourceKeyHash(a));
  EXPECT_NE(SourceKeyHash(a), SourceKeyHash(b));
}

// Known answers computed independently of libsodium: Python's
//   hashlib.blake2b(key, digest_size=32).hexdigest()
// and `printf %s KEY | b2sum -l 256` agree on each (a function returning the raw key, or any other
// hash, fails here).
TEST(SourceKey, HashIsBlake2b256OfTheKeyText) {
  ASSERT_TRUE(InitCrypto().ok());
  auto hex = [](const std::string& raw) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 15]);
    }
    return out;
  };
  EXPECT_EQ(hex(SourceKeyHash("cjds_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
            "bec991c7e807a4dcc7a48fdd99f0db0e96b921b9e98e42fb3ac84834b1811c5c");
  EXPECT_EQ(hex(SourceKeyHash("cjds_known-answer-vector_0123456789abcdefghijklmn")),
            "71d2773cddc8643e3aa81e700b11d0689e1324a0e51135f5705694595032eadb");
  EXPECT_EQ(hex(SourceKeyHash("")),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
}

TEST(SourceKey, NamesAreOneToFortySafeCharacters) {
  EXPECT_TRUE(IsValidSourceName("webshop"));
  EXPECT_TRUE(IsValidSourceName("crm.eu-west_1"));
  EXPECT_TRUE(IsValidSourceName(std::string(40, 'x')));
  EXPECT_FALSE(IsValidSourceName(""));
  EXPECT_FALSE(IsValidSourceName(std::string(41, 'x')));
  EXPECT_FALSE(IsValidSourceName("web shop"));
  EXPECT_FALSE(IsValidSourceName("web/shop"));
  EXPECT_FALSE(IsValidSourceName("tienda-ñ"));
}

// A group of heartbeats only is committed without the WAL sync (nothing acked depends on it);
// the connection is back at synchronous=FULL for the next commit, which carries events.
TEST_F(SqliteHubStoreTest, AHeartbeatOnlyCommitIsStoredAndEveryOtherCommitStaysFull) {
  DeviceRecord d;
  d.device_id = "pos-1";
  d.store_id = "s1";
  d.kind = "pos";
  d.public_key = "k";
  ASSERT_TRUE(store_->RegisterDevice(d).ok());
  EXPECT_EQ(*store_->SynchronousMode(), 2);
  DeviceProgress heartbeat;
  heartbeat.device_id = "pos-1";
  heartbeat.last_seen_ms = 5000;
  heartbeat.status_json = R"({"online":true,"backlog":0})";
  auto r = store_->CommitIngest({}, {heartbeat}, {}, 5000);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*store_->SynchronousMode(), 2);
  auto devices = store_->ListDevices();
  ASSERT_TRUE(devices.ok());
  ASSERT_EQ(devices->size(), 1u);
  EXPECT_EQ((*devices)[0].state.status_json, R"({"online":true,"backlog":0})");
  EXPECT_EQ((*devices)[0].state.last_seen_ms, 5000);

  IngestBatch batch;
  batch.device_id = "pos-1";
  WireEvent e;
  e.seq = 1;
  e.event_id = "ev-1";
  e.type = static_cast<uint8_t>(EventType::kLoyaltyScan);
  e.occurred_at_ms = 1'795'428'000'000;
  e.body = R"({"event_id":"ev-1"})";
  batch.events = {e};
  DeviceProgress progress;
  progress.device_id = "pos-1";
  progress.last_seen_ms = 6000;
  progress.epochs = {EpochProgress{0, 1, {}, false}};
  auto r2 = store_->CommitIngest({batch}, {progress}, {}, 6000);
  ASSERT_TRUE(r2.ok()) << r2.status().ToString();
  EXPECT_EQ(r2->inserted, 1);
  EXPECT_EQ(*store_->SynchronousMode(), 2);
  EXPECT_EQ(Count("SELECT count(*) FROM events WHERE event_id = 'ev-1'"), 1);
}

}  // namespace
}  // namespace cjd::hub

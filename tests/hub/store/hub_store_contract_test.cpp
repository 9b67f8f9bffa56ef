// HubStore's contract (hub/store/hub_store.h), checked on both backends: SqliteHubStore on a real
// SQLite file and PgHubStore on a real PostgreSQL server (Debian's, initdb in a temporary folder,
// tests/support/postgres.h; the PostgreSQL cases skip with a reason when it is not installed).
// Then what only the PostgreSQL backend has to show: the log partitioned by month, several
// writers at once (idempotent, ids in commit order), several processes migrating at once.
#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>

#include <nlohmann/json.hpp>

#include "hub/store/event_log_reader.h"
#include "hub/store/event_vault.h"
#include "hub/store/pg_hub_store.h"
#include "hub/store/sqlite_hub_store.h"
#include "shared/protocol/keys.h"
#include "tests/support/postgres.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub {
namespace {

using cjd::testing::Postgres;
using cjd::testing::TempDir;

constexpr int64_t kDec2026 = 1'796'083'200'000;  // 2026-12-01T00:00:00Z
constexpr int64_t kJan2027 = 1'798'761'600'000;  // 2027-01-01T00:00:00Z

constexpr char kIdentify[] =
    R"({"customer":{"email":"ann.contract@shop.test","loyalty_id":"LC-1"},"event_id":"p1",)"
    R"("type":"identify"})";

// One server for the whole binary (started on first use), a new database per test.
Postgres* SharedPostgres() {
  static Postgres pg = Postgres::Start();  // stopped, and its folder removed, at exit
  return &pg;
}

std::string FreshDatabase() {
  static std::atomic<int> n{0};
  return SharedPostgres()->CreateDatabase("contract_" + std::to_string(::getpid()) + "_" +
                                          std::to_string(++n));
}

CollectEvent Ev(const std::string& id, EventType type = EventType::kPageView,
                const std::string& body = "") {
  CollectEvent e;
  e.event_id = id;
  e.type = type;
  e.occurred_at_ms = kDec2026 + 1000;
  e.body = body.empty() ? R"({"event_id":")" + id + R"(","type":"page_view"})" : body;
  return e;
}

IngestBatch Batch(const std::string& device, uint64_t epoch, uint64_t first_seq, int n,
                  const std::string& prefix) {
  IngestBatch b;
  b.device_id = device;
  b.epoch = epoch;
  for (int i = 0; i < n; ++i) {
    const std::string id = prefix + std::to_string(first_seq + i);
    b.events.push_back(WireEvent{first_seq + i, id, static_cast<uint8_t>(EventType::kPageView),
                                 kDec2026 + i, R"({"event_id":")" + id + R"(","type":"page_view"})"});
  }
  return b;
}

DeviceProgress Progress(const std::string& device, uint64_t epoch, uint64_t acked,
                        bool make_current,
                        std::vector<std::pair<uint64_t, uint64_t>> ranges = {}) {
  DeviceProgress p;
  p.device_id = device;
  p.last_seen_ms = kDec2026 + 5000;
  p.epochs.push_back(EpochProgress{epoch, acked, std::move(ranges), make_current});
  return p;
}

class HubStoreContract : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    if (postgres()) {
      if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
      url_ = FreshDatabase();
    }
    EventVault::Options vo;
    vo.keys_path = dir_.Join("keys.db").string();
    vo.master_key_file = dir_.Join("master.key").string();
    vo.pepper.fill(3);
    auto vault = EventVault::Open(vo);
    ASSERT_TRUE(vault.ok()) << vault.status().ToString();
    vault_ = *vault;
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
  }
  bool postgres() const { return GetParam() == "postgres"; }

  std::unique_ptr<HubStore> OpenStore() {
    if (postgres()) {
      auto s = PgHubStore::Open(url_, vault_);
      EXPECT_TRUE(s.ok()) << s.status().ToString();
      return s.ok() ? std::unique_ptr<HubStore>(std::move(*s)) : nullptr;
    }
    auto s = SqliteHubStore::Open(dir_.Join("hub.db").string(), vault_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::unique_ptr<HubStore>(std::move(*s)) : nullptr;
  }
  std::unique_ptr<EventLogReader> OpenReader() {
    auto r = postgres() ? OpenPgEventLogReader(url_, vault_)
                        : OpenSqliteEventLogReader(dir_.Join("hub.db").string(), vault_);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : nullptr;
  }
  std::vector<std::pair<int64_t, std::string>> ReadAll() {
    std::vector<std::pair<int64_t, std::string>> rows;
    auto reader = OpenReader();
    EXPECT_TRUE(reader->ReadAfter(0, 100000, &rows).ok());
    return rows;
  }
  StoreCounters Counters() {
    auto c = store_->Counters();
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? *c : StoreCounters{};
  }

  TempDir dir_;
  std::string url_;
  std::shared_ptr<EventVault> vault_;
  std::unique_ptr<HubStore> store_;
};

TEST_P(HubStoreContract, DevicesRegisterOnceAndShareTheirNamespaceWithSources) {
  ASSERT_TRUE(store_->RegisterDevice(DeviceRecord{"pos-1", "s1", "pos", 2, "pk1", 10}).ok());
  EXPECT_EQ(store_->RegisterDevice(DeviceRecord{"pos-1", "s2", "pos", 1, "pk2", 11}).code(),
            Code::kConflict);
  EXPECT_EQ(store_->RegisterSource("pos-1", std::string(32, 'k'), 12).code(), Code::kConflict);
  ASSERT_TRUE(store_->RegisterSource("web", std::string(32, 'w'), 12, {"https://shop.test"}).ok());
  EXPECT_EQ(store_->RegisterDevice(DeviceRecord{"web", "s1", "kiosk", 1, "pk3", 13}).code(),
            Code::kConflict);
  EXPECT_EQ(store_->RegisterSource("web2", std::string(32, 'w'), 14).code(), Code::kConflict)
      << "a key registered to another source";
  EXPECT_EQ(store_->RegisterSource("bad name", std::string(32, 'x'), 14).field(), "name");

  auto found = store_->FindDevice("pos-1");
  ASSERT_TRUE(found.ok());
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->store_id, "s1");
  EXPECT_EQ((*found)->key_id, 2u);
  EXPECT_EQ((*found)->public_key, "pk1");
  EXPECT_EQ((*found)->created_ms, 10);
  EXPECT_FALSE(store_->FindDevice("pos-9")->has_value());

  EXPECT_EQ(**store_->FindSourceByKeyHash(std::string(32, 'w')), "web");
  EXPECT_FALSE(store_->FindSourceByKeyHash(std::string(32, 'z'))->has_value());
  ASSERT_TRUE(store_->SetSourceOrigins("web", {"https://a.test", "http://b.test:8080"}).ok());
  EXPECT_EQ(store_->SetSourceOrigins("nope", {}).code(), Code::kNotFound);
  auto sources = store_->ListSources();
  ASSERT_TRUE(sources.ok());
  ASSERT_EQ(sources->size(), 1u);
  EXPECT_EQ((*sources)[0].allowed_origins,
            (std::vector<std::string>{"https://a.test", "http://b.test:8080"}));
}

TEST_P(HubStoreContract, IngestStoresEachEventOnceAndKeepsEverySequenceProgress) {
  ASSERT_TRUE(store_->RegisterDevice(DeviceRecord{"pos-1", "s1", "pos", 1, "pk", 1}).ok());
  constexpr uint64_t kEpochA = 0x8000000000000001ULL;  // stored as its signed bit pattern
  constexpr uint64_t kEpochB = 0x0123456789abcdefULL;
  auto r = store_->CommitIngest({Batch("pos-1", kEpochA, 1, 3, "a")},
                                {Progress("pos-1", kEpochA, 3, true)}, {{"bad_seal", 2}},
                                kDec2026 + 10);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inserted, 3);
  // A replay of the same frame plus two new events, out of order (a gap at 6).
  IngestBatch replay = Batch("pos-1", kEpochA, 1, 3, "a");
  IngestBatch later = Batch("pos-1", kEpochA, 4, 1, "a");
  IngestBatch above = Batch("pos-1", kEpochA, 7, 2, "a");
  r = store_->CommitIngest({replay, later, above},
                           {Progress("pos-1", kEpochA, 4, false, {{7, 8}})}, {}, kDec2026 + 20);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inserted, 3);
  EXPECT_EQ(r->duplicates, 3);

  auto devices = store_->ListDevices();
  ASSERT_TRUE(devices.ok());
  ASSERT_EQ(devices->size(), 1u);
  DeviceState s = (*devices)[0].state;
  EXPECT_EQ(s.epoch, kEpochA);
  EXPECT_EQ(s.acked_seq, 4u);
  EXPECT_EQ(s.pending_ranges, (std::vector<std::pair<uint64_t, uint64_t>>{{7, 8}}));
  EXPECT_EQ(s.last_seen_ms, kDec2026 + 5000);

  // A new epoch becomes current and starts from nothing; the old one keeps its record.
  r = store_->CommitIngest({Batch("pos-1", kEpochB, 1, 1, "b")},
                           {Progress("pos-1", kEpochB, 1, true)}, {}, kDec2026 + 30);
  ASSERT_TRUE(r.ok());
  devices = store_->ListDevices();
  s = (*devices)[0].state;
  EXPECT_EQ(s.epoch, kEpochB);
  EXPECT_EQ(s.acked_seq, 1u);
  EXPECT_TRUE(s.pending_ranges.empty());
  ASSERT_EQ(s.epochs.size(), 2u);
  EXPECT_EQ(s.epochs[0].epoch, kEpochA);
  EXPECT_EQ(s.epochs[0].acked_seq, 4u);
  EXPECT_EQ(s.epochs[0].pending_ranges, (std::vector<std::pair<uint64_t, uint64_t>>{{7, 8}}));

  // A heartbeat alone: the status is kept, nothing else changes.
  DeviceProgress hb;
  hb.device_id = "pos-1";
  hb.last_seen_ms = kDec2026 + 9000;
  hb.status_json = R"({"backlog":0})";
  ASSERT_TRUE(store_->CommitIngest({}, {hb}, {}, kDec2026 + 40).ok());
  devices = store_->ListDevices();
  EXPECT_EQ((*devices)[0].state.status_json, R"({"backlog":0})");
  EXPECT_EQ((*devices)[0].state.status_ms, kDec2026 + 9000);
  EXPECT_EQ((*devices)[0].state.last_seen_ms, kDec2026 + 9000);

  const StoreCounters c = Counters();
  EXPECT_EQ(c.events_total, 7);
  EXPECT_EQ(c.duplicate_events, 3);
  EXPECT_EQ(c.events_by_type.at("page_view"), 7);
  EXPECT_EQ(c.rejected_by_reason.at("bad_seal"), 2);
  const auto rows = ReadAll();
  ASSERT_EQ(rows.size(), 7u);
  EXPECT_EQ(c.last_event_rowid, rows.back().first);
}

TEST_P(HubStoreContract, CollectIsAtomicAndIdempotentPerSource) {
  ASSERT_TRUE(store_->RegisterSource("web", std::string(32, 'w'), 1).ok());
  ASSERT_TRUE(store_->RegisterSource("app", std::string(32, 'a'), 1).ok());
  auto r = store_->CommitCollect("web", {Ev("1001"), Ev("1002", EventType::kAddToCart)}, 100);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inserted, 2);
  r = store_->CommitCollect("web", {Ev("1002"), Ev("1003")}, 200);
  EXPECT_EQ(r->inserted, 1);
  EXPECT_EQ(r->duplicates, 1);
  // Another source's "1001" is another event: never shadowed.
  r = store_->CommitCollect("app", {Ev("1001")}, 300);
  EXPECT_EQ(r->inserted, 1);
  const StoreCounters c = Counters();
  EXPECT_EQ(c.events_total, 4);
  EXPECT_EQ(c.duplicate_events, 1);
  EXPECT_EQ(c.events_by_type.at("add_to_cart"), 1);
  EXPECT_EQ(c.events_by_type.at("page_view"), 3);
}

TEST_P(HubStoreContract, BodiesComeBackByteForByteAndAnIdTwiceInOneRequestIsStoredOnce) {
  // Quotes, backslashes, braces, commas, NULL-looking text and non-ASCII: what an array literal
  // or a quoting bug would mangle.
  const std::string tricky =
      R"({"event_id":"q1","page":{"title":"say "hi", {NULL} \ back\slash été"},)"
      "\"type\":\"page_view\",\"x\":\"caf\u00e9 \xe2\x82\xac 100\"}";
  auto r = store_->CommitCollect(
      "web", {Ev("q1", EventType::kPageView, tricky), Ev("q2"), Ev("q2"), Ev("NULL")}, 5);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->inserted, 3);
  EXPECT_EQ(r->duplicates, 1);
  const auto rows = ReadAll();
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].second, tricky);
  EXPECT_EQ(nlohmann::json::parse(rows[2].second).at("event_id"), "NULL");
  EXPECT_EQ(Counters().events_total, 3);
  EXPECT_EQ(Counters().duplicate_events, 1);
}

TEST_P(HubStoreContract, TheLogIsReadInIdOrderWithItsPersonalPartOpened) {
  ASSERT_TRUE(
      store_->CommitCollect("web", {Ev("p1", EventType::kIdentify, kIdentify), Ev("x2")}, 1).ok());
  ASSERT_TRUE(store_->CommitCollect("web", {Ev("x3")}, 2).ok());
  auto reader = OpenReader();
  std::vector<std::pair<int64_t, std::string>> rows;
  ASSERT_TRUE(reader->ReadAfter(0, 2, &rows).ok());
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(nlohmann::json::parse(rows[0].second), nlohmann::json::parse(kIdentify));
  std::vector<std::pair<int64_t, std::string>> rest;
  ASSERT_TRUE(reader->ReadAfter(rows[1].first, 10, &rest).ok());
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_LT(rows[1].first, rest[0].first);

  // Visit: the ids asked for, in that order, an unknown one skipped.
  std::vector<std::string> seen;
  const std::vector<int64_t> ids = {rest[0].first, 999999, rows[0].first};
  ASSERT_TRUE(reader
                  ->Visit(ids,
                          [&](const LoggedEvent& e) {
                            seen.push_back(std::string(e.event_id) + "@" + std::string(e.source));
                            return Status::Ok();
                          })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"x3@web", "p1@web"}));

  // The person is not in the stored body: it is sealed (and opens again above).
  if (postgres()) {
    const std::string plain = SharedPostgres()->Psql(
        "SELECT body FROM events ORDER BY id LIMIT 1", url_.substr(url_.rfind('/') + 1));
    EXPECT_EQ(plain.find("ann.contract"), std::string::npos) << plain;
  }
}

TEST_P(HubStoreContract, RedactionRewritesTheEventsWithoutThePerson) {
  ASSERT_TRUE(
      store_->CommitCollect("web", {Ev("p1", EventType::kIdentify, kIdentify), Ev("x2")}, 1).ok());
  const auto before = ReadAll();
  // The eraser passes the person's events only; an id the log does not hold is skipped.
  auto n = store_->RedactEvents({before[0].first, 424242});
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 1);
  const auto after = ReadAll();
  EXPECT_EQ(after[0].second.find("ann.contract"), std::string::npos) << after[0].second;
  EXPECT_NE(after[0].second.find("identify"), std::string::npos);
  EXPECT_EQ(after[1].second, before[1].second);
  EXPECT_EQ(*store_->RedactEvents({before[0].first}), 0) << "redacted once only";
  auto truncated = store_->TruncateWal();
  ASSERT_TRUE(truncated.ok()) << truncated.status().ToString();
}

INSTANTIATE_TEST_SUITE_P(Backends, HubStoreContract, ::testing::Values("sqlite", "postgres"),
                         [](const ::testing::TestParamInfo<std::string>& p) { return p.param; });

// ---- PostgreSQL only ---------------------------------------------------------------------------

class PgHubStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    if (!Postgres::Available()) GTEST_SKIP() << Postgres::UnavailableReason();
    url_ = FreshDatabase();
  }
  std::unique_ptr<PgHubStore> Open() {
    auto s = PgHubStore::Open(url_);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::string url_;
};

TEST_F(PgHubStoreTest, TheLogIsPartitionedByMonthOfArrival) {
  auto store = Open();
  ASSERT_TRUE(store->CommitCollect("web", {Ev("d1")}, kDec2026 + 5).ok());
  ASSERT_TRUE(store->CommitCollect("web", {Ev("j1"), Ev("j2")}, kJan2027 + 5).ok());
  auto parts = store->Partitions();
  ASSERT_TRUE(parts.ok()) << parts.status().ToString();
  EXPECT_EQ(*parts, (std::vector<std::string>{"events_y2026m12", "events_y2027m01",
                                              "events_y2027m02"}));
  auto in = [&](const std::string& part) {
    return store->connection().QueryInt("SELECT count(*) FROM " + part);
  };
  EXPECT_EQ(*in("events_y2026m12"), 1);
  EXPECT_EQ(*in("events_y2027m01"), 2);
  // Uniqueness holds across partitions: the December event again in January is a duplicate.
  auto r = store->CommitCollect("web", {Ev("d1")}, kJan2027 + 9);
  EXPECT_EQ(r->duplicates, 1);
  EXPECT_EQ(*in("events_y2027m01"), 2);
}

TEST_F(PgHubStoreTest, WritersAtOnceStoreEachEventOnceAndIdsFollowCommitOrder) {
  // Four writers (as four hub instances) commit overlapping batches of the same 400 events while
  // a reader follows the log by its cursor: every event is stored once, and the reader, which
  // never goes back below its cursor, still sees every one of them.
  constexpr int kWriters = 4, kEvents = 400, kBatch = 10;
  std::atomic<bool> writing{true};
  std::set<std::string> followed;
  std::atomic<int> reader_errors{0};
  std::thread reader([&] {
    auto r = OpenPgEventLogReader(url_);
    if (!r.ok()) {
      ++reader_errors;
      return;
    }
    int64_t cursor = 0;
    while (true) {
      const bool last_round = !writing.load();
      std::vector<std::pair<int64_t, std::string>> rows;
      if (!(*r)->ReadAfter(cursor, 50, &rows).ok()) {
        ++reader_errors;
        return;
      }
      for (const auto& [id, body] : rows) {
        followed.insert(nlohmann::json::parse(body).at("event_id").get<std::string>());
        cursor = id;
      }
      if (rows.empty() && last_round) return;
    }
  });
  std::vector<std::thread> writers;
  std::atomic<int64_t> inserted{0}, errors{0};
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      auto store = PgHubStore::Open(url_);
      if (!store.ok()) {
        ++errors;
        return;
      }
      // Each writer goes through all events, starting at its own offset.
      for (int k = 0; k < kEvents / kBatch; ++k) {
        const int first = ((k + w * 7) % (kEvents / kBatch)) * kBatch;
        std::vector<CollectEvent> batch;
        for (int i = first; i < first + kBatch; ++i) batch.push_back(Ev("e" + std::to_string(i)));
        auto r = (*store)->CommitCollect("web", batch, kDec2026 + 1);
        if (!r.ok()) {
          ++errors;
          continue;
        }
        inserted += r->inserted;
      }
    });
  }
  for (auto& t : writers) t.join();
  writing = false;
  reader.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(reader_errors.load(), 0);
  EXPECT_EQ(inserted.load(), kEvents);
  EXPECT_EQ(followed.size(), static_cast<size_t>(kEvents));
  auto store = Open();
  EXPECT_EQ(*store->connection().QueryInt("SELECT count(*) FROM events"), kEvents);
  EXPECT_EQ(*store->connection().QueryInt("SELECT count(DISTINCT event_id) FROM events"), kEvents);
  auto c = store->Counters();
  EXPECT_EQ(c->events_total, kEvents);
  EXPECT_EQ(c->duplicate_events, static_cast<int64_t>(kWriters - 1) * kEvents);
}

TEST_F(PgHubStoreTest, ADevicesFramesOnTwoInstancesMergeIntoOneProgress) {
  // Two hub instances, each with its own view of the device's sequence numbers (the broker gave
  // each part of the frames): what each commits is merged with what the other committed, and
  // that merged progress is what each acknowledges.
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a->RegisterDevice(DeviceRecord{"pos-1", "s1", "pos", 1, "pk", 1}).ok());
  constexpr uint64_t kEpoch = 77;
  std::vector<DeviceProgress> stored;
  // b saw 6..10 only (a gap below), a saw 1..5; b commits first.
  ASSERT_TRUE(b->CommitIngest({Batch("pos-1", kEpoch, 6, 5, "e")},
                              {Progress("pos-1", kEpoch, 0, true, {{6, 10}})}, {}, kDec2026,
                              &stored)
                  .ok());
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].epochs[0].acked_seq, 0u);
  ASSERT_TRUE(a->CommitIngest({Batch("pos-1", kEpoch, 1, 5, "e")},
                              {Progress("pos-1", kEpoch, 5, true)}, {}, kDec2026, &stored)
                  .ok());
  EXPECT_EQ(stored[0].epochs[0].acked_seq, 10u) << "a acknowledges b's frames too";
  EXPECT_TRUE(stored[0].epochs[0].pending_ranges.empty());
  // b then gets 12 (11 still missing): its own view says acked 0, the store says 10.
  ASSERT_TRUE(b->CommitIngest({Batch("pos-1", kEpoch, 12, 1, "e")},
                              {Progress("pos-1", kEpoch, 0, false, {{6, 10}, {12, 12}})}, {},
                              kDec2026, &stored)
                  .ok());
  EXPECT_EQ(stored[0].epochs[0].acked_seq, 10u);
  EXPECT_EQ(stored[0].epochs[0].pending_ranges,
            (std::vector<std::pair<uint64_t, uint64_t>>{{12, 12}}));
  auto devices = a->ListDevices();
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ((*devices)[0].state.acked_seq, 10u);
  EXPECT_EQ((*devices)[0].state.pending_ranges,
            (std::vector<std::pair<uint64_t, uint64_t>>{{12, 12}}));
  EXPECT_EQ(a->Counters()->events_total, 11);
}

TEST_F(PgHubStoreTest, InstancesStartingTogetherMigrateOnce) {
  std::vector<std::thread> starters;
  std::atomic<int> failures{0};
  for (int i = 0; i < 4; ++i) {
    starters.emplace_back([&] {
      auto s = PgHubStore::Open(url_);
      if (!s.ok()) ++failures;
    });
  }
  for (auto& t : starters) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto store = Open();
  EXPECT_EQ(*store->connection().QueryInt(
                "SELECT count(*) FROM schema_versions WHERE module = 'hub_store'"),
            1);
}

TEST_F(PgHubStoreTest, AnUnreachableServerIsAClearError) {
  auto s = PgHubStore::Open("postgresql://cjd:secret@127.0.0.1:1/none?connect_timeout=2");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Code::kUnavailable);
  EXPECT_NE(s.status().message().find("127.0.0.1"), std::string::npos) << s.status().message();
  EXPECT_EQ(s.status().message().find("secret"), std::string::npos) << "no password in messages";
}

}  // namespace
}  // namespace cjd::hub

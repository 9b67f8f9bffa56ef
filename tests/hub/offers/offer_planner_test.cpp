// The OfferPlanner on real files: events projected into profiles.db by the real Projector,
// segment membership in a segments.db, devices in hub.db. What it publishes is opened with the
// device's own keys and applied to a real agent OfferCache, so the tests check what a kiosk
// would show, not the planner's internals.
#include "hub/offers/offer_planner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "agent/offers/offer_cache.h"
#include "hub/projection/projector.h"
#include "hub/store/sqlite_hub_store.h"
#include "shared/event/json_exact.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/offer_update.h"
#include "shared/protocol/topics.h"
#include "tests/support/postgres.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub::offers {
namespace {

using json = nlohmann::json;

constexpr int64_t kNow = 1'796'169'600'000;  // 2026-12-02T00:00:00Z

struct Kiosk {
  std::string id;
  std::string store;
  KeyPair keys;
  SessionKeys session;
  std::unique_ptr<agent::OfferCache> cache;
  std::vector<OfferUpdate> received;  // decoded, in arrival order
  bool offline = false;               // drop what arrives (a clean session while away)
  int64_t connection = 0;             // the heartbeat's will_ms (its MQTT connection); 0: none
  int broker_takes = -1;              // >= 0: the broker takes this many more, then refuses
};

class OfferPlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_.store_path = dir_.Join("hub.db").string();
    config_.profiles_path = dir_.Join("profiles.db").string();
    config_.segments_path = dir_.Join("segments.db").string();
    config_.offers_path = dir_.Join("offers.db").string();
    config_.identity_key_file = dir_.Join("identity.key").string();
    auto store = SqliteHubStore::Open(config_.store_path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    store_ = std::move(*store);
    auto log = sqlite::Database::Open(config_.store_path, {});
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
    auto keys = LoadOrCreateIdentityKeys(config_.identity_key_file);
    ASSERT_TRUE(keys.ok());
    id_keys_ = *keys;
    hub_keys_ = NewKeyPair();
    projector_ = std::make_unique<Projector>(config_, id_keys_, &clock_);
    ASSERT_TRUE(projector_->Start().ok());
    // segments.db as the segment engine keeps it (hub/segments/README.md).
    auto seg = sqlite::Database::Open(config_.segments_path, {});
    ASSERT_TRUE(seg.ok());
    segments_ = std::move(*seg);
    ASSERT_TRUE(segments_
                    ->Exec("CREATE TABLE IF NOT EXISTS segments (id TEXT PRIMARY KEY, rule TEXT);"
                           "CREATE TABLE IF NOT EXISTS segment_members (segment_id TEXT NOT NULL, "
                           "profile_id INTEGER NOT NULL, since_ms INTEGER NOT NULL DEFAULT 0, "
                           "PRIMARY KEY (segment_id, profile_id)) WITHOUT ROWID;"
                           "INSERT OR IGNORE INTO segments VALUES ('vip', 'orders >= 1');")
                    .ok());
    AddKiosk("k1", "s1");
    AddKiosk("k2", "s1");
    AddKiosk("k3", "s2");
  }

  void TearDown() override {
    if (planner_) planner_->Stop();
    if (projector_) projector_->Stop();
  }

  void AddKiosk(const std::string& id, const std::string& store) {
    auto k = std::make_unique<Kiosk>();
    k->id = id;
    k->store = store;
    k->keys = NewKeyPair();
    auto session = DeviceSessionKeys(k->keys, hub_keys_.public_key, 1);
    ASSERT_TRUE(session.ok());
    k->session = *session;
    auto cache = agent::OfferCache::Open(dir_.Join(id + ".offers.db").string(),
                                         agent::OfferCache::LookupKey(k->keys.secret_key));
    ASSERT_TRUE(cache.ok());
    k->cache = std::move(*cache);
    DeviceRecord r;
    r.device_id = id;
    r.store_id = store;
    r.kind = "kiosk";
    r.key_id = 1;
    r.public_key = KeyToBase64(k->keys.public_key);
    r.created_ms = kNow;
    ASSERT_TRUE(store_->RegisterDevice(r).ok());
    kiosks_[id] = std::move(k);
  }

  // The planner, publishing into the kiosks (opened with each device's key, applied).
  // `shared_url`: the offers shared in that PostgreSQL, sent under its lease (the devices stay
  // in hub.db).
  void StartPlanner(const std::string& shared_url = "") {
    PlannerOptions o = PlannerOptionsFrom(config_);
    o.run_thread = false;  // the test drives every round with RunOnce
    o.shared_url = shared_url;
    if (chunk_items_ > 0) o.chunk_items = chunk_items_;
    planner_ = std::make_unique<OfferPlanner>(o, hub_keys_, id_keys_, &clock_);
    planner_->set_publisher([this](const std::string& topic, const std::string& payload) {
      // cjd/v1/dev/{id}/down
      const size_t end = topic.rfind('/');
      const std::string id = topic.substr(topic.rfind('/', end - 1) + 1, end - topic.rfind('/', end - 1) - 1);
      EXPECT_EQ(topics::Down(id), topic);
      auto it = kiosks_.find(id);
      EXPECT_NE(it, kiosks_.end()) << topic;
      if (it == kiosks_.end()) return false;
      Kiosk& k = *it->second;
      if (k.broker_takes == 0) return false;
      if (k.broker_takes > 0) --k.broker_takes;
      ++published_;
      if (k.offline) return true;  // the broker took it; the device never sees it
      FrameHeader header;
      auto plain = OpenFrame(payload, k.id, k.session.downlink, &header);
      EXPECT_TRUE(plain.ok()) << plain.status().ToString();
      if (!plain.ok()) return false;
      auto update = DecodeOfferUpdateFrame(header, *plain);
      EXPECT_TRUE(update.ok()) << update.status().ToString();
      if (!update.ok()) return false;
      EXPECT_TRUE(k.cache->Apply(*update).ok());
      k.received.push_back(*update);
      return true;
    });
    ASSERT_TRUE(planner_->Start().ok());
  }

  void Round() {
    Status st = planner_->RunOnce();
    ASSERT_TRUE(st.ok()) << st.ToString();
  }

  // The heartbeat each kiosk would send now.
  void Heartbeats() {
    for (auto& [id, k] : kiosks_) {
      json status{{"online", true}, {"offers_version", k->cache->applied_version()}};
      if (k->connection != 0) status["will_ms"] = k->connection;
      planner_->DeviceStatus(id, status.dump());
    }
  }

  void Log(const std::string& text) {
    Result<json> j = ParseJsonExact(text);
    ASSERT_TRUE(j.ok()) << text;
    Result<Event> e = ValidateEvent(*j);
    ASSERT_TRUE(e.ok()) << e.status().ToString() << " " << text;
    e->event_id = "ev-" + std::to_string(++seq_);
    auto ins = log_->Prepare(
        "INSERT INTO events (event_id, source, seq, type, occurred_at_ms, received_at_ms, body) "
        "VALUES (?1, 'test', NULL, ?2, ?3, ?4, ?5)");
    ASSERT_TRUE(ins.ok());
    ins->Bind(1, e->event_id).Bind(2, EventTypeName(e->type)).Bind(3, e->occurred_at_ms)
        .Bind(4, clock_.NowMillis()).Bind(5, ToCanonicalJson(*e));
    ASSERT_TRUE(ins->Run().ok());
  }

  void Scan(const std::string& loyalty_id, const std::string& store) {
    Log(R"({"type":"loyalty_scan","occurred_at":"2026-11-20T10:00:00Z","store_id":")" + store +
        R"(","customer":{"loyalty_id":")" + loyalty_id + R"("}})");
  }
  void Consent(const std::string& loyalty_id, bool given, const std::string& when) {
    Log(R"({"type":"consent_update","occurred_at":")" + when +
        R"(","store_id":"s1","customer":{"loyalty_id":")" + loyalty_id +
        R"("},"consent":{"marketing":)" + (given ? "true" : "false") + "}}");
  }

  // Projects the log and tells the planner which profiles changed.
  void Project() {
    std::vector<int64_t> changed;
    auto c = projector_->CatchUp();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto ids = sqlite::Database::Open(config_.profiles_path, {});
    ASSERT_TRUE(ids.ok());
    auto s = (*ids)->Prepare("SELECT profile_id FROM profiles");
    ASSERT_TRUE(s.ok());
    while (*s->Step()) changed.push_back(s->ColumnInt(0));
    planner_->ProfilesChanged(changed);
  }

  int64_t ProfileOf(const std::string& loyalty_id) {
    auto db = sqlite::Database::Open(config_.profiles_path, {});
    EXPECT_TRUE(db.ok());
    auto s = (*db)->Prepare("SELECT profile_id FROM identifiers WHERE id_key = ?1");
    EXPECT_TRUE(s.ok());
    const auto key = identity::IdentifierKey(identity::IdType::kLoyaltyId, loyalty_id,
                                             id_keys_.pepper);
    s->BindBlob(1, std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
    auto row = s->Step();
    EXPECT_TRUE(row.ok() && *row) << loyalty_id;
    return row.ok() && *row ? s->ColumnInt(0) : 0;
  }

  void Member(const std::string& segment, int64_t profile_id) {
    auto s = segments_->Prepare("INSERT OR IGNORE INTO segment_members VALUES (?1, ?2, 0)");
    ASSERT_TRUE(s.ok());
    s->Bind(1, segment).Bind(2, profile_id);
    ASSERT_TRUE(s->Run().ok());
  }

  void Put(const std::string& body) {
    auto spec = ParseOfferSpec(json::parse(body));
    ASSERT_TRUE(spec.ok()) << spec.status().ToString();
    auto put = planner_->PutOffer(*spec);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }

  static std::string OfferBody(const std::string& id, const std::string& segment, int priority,
                               const std::string& extra = "") {
    return R"({"id":")" + id + R"(","title":"Title )" + id + R"(","text":"t","segment":")" +
           segment + R"(","valid_from":"2026-12-01T00:00:00Z","valid_until":"2027-01-01T00:00:00Z",)"
           R"("priority":)" + std::to_string(priority) + extra + "}";
  }

  std::vector<std::string> Shown(const std::string& kiosk, const std::string& loyalty_id) {
    std::vector<std::string> ids;
    for (const auto& v : kiosks_.at(kiosk)->cache->Lookup(loyalty_id, clock_.NowMillis()))
      ids.push_back(v.id);
    return ids;
  }

  cjd::testing::TempDir dir_;
  HubConfig config_;
  FakeClock clock_{kNow};
  IdentityKeys id_keys_;
  KeyPair hub_keys_;
  std::unique_ptr<SqliteHubStore> store_;
  std::unique_ptr<sqlite::Database> log_;
  std::unique_ptr<sqlite::Database> segments_;
  std::unique_ptr<Projector> projector_;
  std::unique_ptr<OfferPlanner> planner_;
  std::map<std::string, std::unique_ptr<Kiosk>> kiosks_;
  int published_ = 0;
  int seq_ = 0;
  size_t chunk_items_ = 0;  // > 0: items per update (PlannerOptions::chunk_items)
};

using Ids = std::vector<std::string>;

TEST_F(OfferPlannerTest, EachCustomerSeesTheEligibleOffersOfTheirStoreRankedOthersTheGeneralList) {
  Scan("L-1", "s1");
  Scan("L-2", "s1");
  Scan("L-3", "s2");
  Consent("L-1", true, "2026-11-21T10:00:00Z");
  StartPlanner();
  Project();
  Member("vip", ProfileOf("L-1"));
  Member("vip", ProfileOf("L-3"));
  Put(OfferBody("o-all", "all", 1));
  Put(OfferBody("o-vip", "vip", 5));
  Put(OfferBody("o-consent", "all", 3, R"(,"requires_consent":true)"));
  Put(OfferBody("o-s2", "all", 2, R"(,"stores":["s2"])"));
  Put(R"({"id":"o-later","title":"Later","segment":"all","valid_from":"2026-12-20T00:00:00Z",
          "valid_until":"2027-01-01T00:00:00Z","priority":0})");
  Round();

  EXPECT_EQ(Shown("k1", "L-1"), (Ids{"o-vip", "o-consent", "o-all"}));  // member, consent
  EXPECT_EQ(Shown("k2", "L-1"), (Ids{"o-vip", "o-consent", "o-all"}));  // every device of s1
  EXPECT_EQ(Shown("k1", "L-2"), (Ids{"o-all"}));      // no consent, not a member: general
  EXPECT_EQ(Shown("k1", "stranger"), (Ids{"o-all"}));  // unknown: the store's general list
  EXPECT_EQ(Shown("k1", "L-3"), (Ids{"o-all"}));      // a vip, but not known at s1
  EXPECT_EQ(Shown("k3", "L-3"), (Ids{"o-vip", "o-s2", "o-all"}));
  EXPECT_EQ(Shown("k3", "stranger"), (Ids{"o-s2", "o-all"}));
  // Only customers whose list differs from the general list cost an assignment on the kiosk.
  EXPECT_EQ(kiosks_.at("k1")->cache->Stats().assignments, 1);
  EXPECT_EQ(kiosks_.at("k3")->cache->Stats().assignments, 1);
  // An offer that starts later is held, and shown from its first day without any sync.
  clock_.Set(1'797'724'800'000);  // 2026-12-20T00:00:00Z
  EXPECT_EQ(Shown("k1", "stranger"), (Ids{"o-all", "o-later"}));
  // Past its end no offer is shown, with no sync at all.
  clock_.Set(1'798'761'600'000);  // 2027-01-01T00:00:00Z
  EXPECT_TRUE(Shown("k1", "L-1").empty());
  EXPECT_TRUE(Shown("k1", "stranger").empty());
}

TEST_F(OfferPlannerTest, AChangeToOneOfferSendsThatOfferOnly) {
  for (int i = 0; i < 50; ++i) Scan("L-" + std::to_string(i), "s1");
  StartPlanner();
  Project();
  for (int i = 0; i < 50; i += 2) Member("vip", ProfileOf("L-" + std::to_string(i)));
  Put(OfferBody("o-all", "all", 1));
  Put(OfferBody("o-vip", "vip", 5));
  Round();
  Kiosk& k1 = *kiosks_.at("k1");
  ASSERT_FALSE(k1.received.empty());
  EXPECT_EQ(k1.cache->Stats().assignments, 25);
  const uint64_t before = k1.cache->applied_version();
  k1.received.clear();

  Put(R"({"id":"o-all","title":"New title","segment":"all","valid_from":"2026-12-01T00:00:00Z",
          "valid_until":"2027-01-01T00:00:00Z","priority":1})");
  Round();
  ASSERT_EQ(k1.received.size(), 1u);
  const OfferUpdate& u = k1.received[0];
  EXPECT_EQ(u.base, before);
  ASSERT_EQ(u.offers.size(), 1u);
  EXPECT_EQ(u.offers[0].id, "o-all");
  EXPECT_EQ(u.offers[0].title, "New title");
  EXPECT_TRUE(u.assignments.empty());
  EXPECT_FALSE(u.general.has_value());
  EXPECT_EQ(k1.cache->applied_version(), u.version);
  EXPECT_EQ(k1.cache->Lookup("L-1", kNow)[0].title, "New title");
  // Nothing changed: nothing sent.
  k1.received.clear();
  Round();
  EXPECT_TRUE(k1.received.empty());
}

TEST_F(OfferPlannerTest, RevokingConsentRemovesConsentBoundOffersAtTheNextSync) {
  Scan("L-1", "s1");
  Consent("L-1", true, "2026-11-21T10:00:00Z");
  StartPlanner();
  Project();
  Put(OfferBody("o-all", "all", 1));
  Put(OfferBody("o-consent", "all", 3, R"(,"requires_consent":true)"));
  Round();
  EXPECT_EQ(Shown("k1", "L-1"), (Ids{"o-consent", "o-all"}));
  Consent("L-1", false, "2026-11-22T10:00:00Z");
  Project();
  Round();
  EXPECT_EQ(Shown("k1", "L-1"), (Ids{"o-all"}));
  EXPECT_EQ(Shown("k2", "L-1"), (Ids{"o-all"}));
}

TEST_F(OfferPlannerTest, RedeemedUpToTheLimitTheOfferLeavesTheCustomersList) {
  Scan("L-1", "s1");
  Scan("L-2", "s1");
  StartPlanner();
  Project();
  Put(OfferBody("o-once", "all", 2, R"(,"max_per_customer":1)"));
  Put(OfferBody("o-all", "all", 1));
  Round();
  EXPECT_EQ(Shown("k1", "L-1"), (Ids{"o-once", "o-all"}));
  Log(R"({"type":"transaction","occurred_at":"2026-12-01T12:00:00Z","store_id":"s1",
          "customer":{"loyalty_id":"L-1"},"order":{"order_id":"T-1","currency":"GBP",
          "items":[{"sku":"c1","quantity":1,"unit_price":"5.00","offer_id":"o-once"}]}})");
  Project();
  Round();
  EXPECT_EQ(Shown("k1", "L-1"), (Ids{"o-all"}));
  EXPECT_EQ(Shown("k1", "L-2"), (Ids{"o-once", "o-all"}));
}

TEST_F(OfferPlannerTest, DeletedOffersLeaveEveryKiosk) {
  Scan("L-1", "s1");
  StartPlanner();
  Project();
  Member("vip", ProfileOf("L-1"));
  Put(OfferBody("o-all", "all", 1));
  Put(OfferBody("o-vip", "vip", 5));
  Round();
  EXPECT_EQ(Shown("k1", "L-1"), (Ids{"o-vip", "o-all"}));
  ASSERT_TRUE(planner_->DeleteOffer("o-vip").ok());
  Round();
  EXPECT_EQ(Shown("k1", "L-1"), (Ids{"o-all"}));
  EXPECT_EQ(kiosks_.at("k1")->cache->Stats().offers, 1);
  EXPECT_EQ(planner_->DeleteOffer("o-vip").status().code(), Code::kNotFound);
  // Its definition stays readable (for its stats).
  auto row = planner_->GetOffer("o-vip");
  ASSERT_TRUE(row.ok());
  EXPECT_TRUE(row->deleted);
}

TEST_F(OfferPlannerTest, UnknownSegmentIsRefusedNamingTheField) {
  StartPlanner();
  auto spec = ParseOfferSpec(json::parse(OfferBody("o-x", "nosuch", 1)));
  ASSERT_TRUE(spec.ok());
  auto put = planner_->PutOffer(*spec);
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.status().code(), Code::kInvalid);
  EXPECT_EQ(put.status().field(), "segment");
}

TEST_F(OfferPlannerTest, AnUpdateLostWhileAwayIsResentFromTheReportedWatermark) {
  Scan("L-1", "s1");
  StartPlanner();
  Project();
  Put(OfferBody("o-all", "all", 1));
  Round();
  Heartbeats();
  Round();
  Kiosk& k2 = *kiosks_.at("k2");
  const uint64_t held = k2.cache->applied_version();
  ASSERT_GT(held, 0u);
  // k2 is away: what is published for it is lost.
  k2.offline = true;
  Put(OfferBody("o-new", "all", 9));
  Round();
  EXPECT_EQ(Shown("k1", "x"), (Ids{"o-new", "o-all"}));
  EXPECT_EQ(Shown("k2", "x"), (Ids{"o-all"}));
  k2.offline = false;
  // A heartbeat right after the send proves nothing yet; one well after it does.
  Heartbeats();
  Round();
  EXPECT_EQ(Shown("k2", "x"), (Ids{"o-all"}));
  clock_.Advance((config_.offers_resend_after_s + 1) * 1000);
  Heartbeats();
  Round();
  EXPECT_EQ(Shown("k2", "x"), (Ids{"o-new", "o-all"}));
  ASSERT_FALSE(k2.received.empty());
  EXPECT_EQ(k2.received.back().base, held);
  EXPECT_EQ(planner_->Stats().resends, 1);
  // Both current now.
  Heartbeats();
  Round();
  auto sync = planner_->DeviceSync("k2");
  ASSERT_TRUE(sync.has_value());
  EXPECT_EQ(sync->reported, sync->target);
  EXPECT_EQ(planner_->Stats().devices_current, 3);
}

// A kiosk that connects again (or for the first time) after a send it missed gets it at its
// first heartbeat from the new connection, not resend_after later; a heartbeat from the
// connection the update went to waits, as above.
TEST_F(OfferPlannerTest, AKioskConnectedAgainAfterASendItMissedGetsItAtItsFirstHeartbeat) {
  Scan("L-1", "s1");
  Kiosk& k2 = *kiosks_.at("k2");
  k2.offline = true;  // never connected yet: the first state is lost
  StartPlanner();
  Project();
  Put(OfferBody("o-all", "all", 1));
  Round();
  EXPECT_EQ(Shown("k2", "x"), Ids{});
  k2.offline = false;
  k2.connection = 1'000;
  // A heartbeat no newer than the send (here: the same millisecond) may have been sent before
  // the update reached the device: not taken as a reconnection.
  Heartbeats();
  Round();
  EXPECT_EQ(Shown("k2", "x"), Ids{});
  EXPECT_EQ(planner_->Stats().resends, 0);
  clock_.Advance(1'000);
  Heartbeats();
  Round();  // a second later, well within resend_after
  EXPECT_EQ(Shown("k2", "x"), (Ids{"o-all"}));
  ASSERT_EQ(k2.received.size(), 1u);
  EXPECT_EQ(k2.received.back().base, 0u);
  EXPECT_EQ(planner_->Stats().resends, 1);
  Heartbeats();
  Round();
  const uint64_t held = k2.cache->applied_version();

  // Away again: the next update is lost; a heartbeat of the old connection proves nothing yet.
  k2.offline = true;
  Put(OfferBody("o-new", "all", 9));
  Round();
  k2.offline = false;
  clock_.Advance(1'000);
  Heartbeats();
  Round();
  EXPECT_EQ(Shown("k2", "x"), (Ids{"o-all"}));
  EXPECT_EQ(planner_->Stats().resends, 1);
  // Connected again: answered at once, from what it holds.
  k2.connection = 2'000;
  clock_.Advance(1'000);
  Heartbeats();
  Round();
  EXPECT_EQ(Shown("k2", "x"), (Ids{"o-new", "o-all"}));
  EXPECT_EQ(k2.received.back().base, held);
  EXPECT_EQ(planner_->Stats().resends, 2);
  // Then current, and nothing more is sent on its heartbeats.
  const size_t received = k2.received.size();
  Heartbeats();
  Round();
  Heartbeats();
  Round();
  EXPECT_EQ(k2.received.size(), received);
  EXPECT_EQ(planner_->Stats().devices_current, 3);
}

// A reconnection's resend that the broker refuses half-way goes on from the last update it took
// at the next round, not from the device's watermark again (found in review: it started over
// every round, so a large state could never get through a broker that kept refusing part-way).
TEST_F(OfferPlannerTest, AReconnectionsResendRefusedHalfWayGoesOnFromWhereItStopped) {
  Scan("L-1", "s1");
  Scan("L-2", "s1");
  chunk_items_ = 1;  // one item per update
  StartPlanner();
  Project();
  Put(OfferBody("o-all", "all", 1));
  Kiosk& k2 = *kiosks_.at("k2");
  k2.connection = 1'000;
  Heartbeats();
  Round();
  clock_.Advance(1'000);
  Heartbeats();
  Round();
  const uint64_t held = k2.cache->applied_version();
  ASSERT_GT(held, 0u);
  k2.offline = true;
  Put(OfferBody("o-new", "all", 9));  // the offer, the general list, two assignments
  Round();
  k2.offline = false;
  k2.connection = 2'000;
  k2.broker_takes = 1;
  const size_t before = k2.received.size();
  clock_.Advance(1'000);
  Heartbeats();
  Round();  // one update taken, the next refused
  ASSERT_EQ(k2.received.size(), before + 1);
  EXPECT_EQ(k2.received.back().base, held);
  const uint64_t got = k2.received.back().version;
  EXPECT_GE(planner_->Stats().publish_failures, 1);
  k2.broker_takes = -1;
  Round();  // no heartbeat in between
  ASSERT_GT(k2.received.size(), before + 1);
  EXPECT_EQ(k2.received[before + 1].base, got);
  EXPECT_EQ(Shown("k2", "L-1"), (Ids{"o-new", "o-all"}));
  EXPECT_EQ(Shown("k2", "L-2"), (Ids{"o-new", "o-all"}));
}

// Found by fuzz_device_status: a heartbeat whose "online" is not a boolean threw out of
// DeviceStatus (json::value), on the hub's ingest thread.
TEST_F(OfferPlannerTest, AHeartbeatWithMistypedMembersIsIgnoredWithoutThrowing) {
  StartPlanner();
  Round();
  const auto before = planner_->DeviceSync("k1");
  ASSERT_TRUE(before.has_value());
  ASSERT_GT(before->target, 0u);
  for (const char* status : {R"({"online":"no","offers_version":5000})",
                             R"({"online":null,"offers_version":-1})", R"({"online":1})", "[1]",
                             "not json"}) {
    EXPECT_NO_THROW(planner_->DeviceStatus("k1", status)) << status;
  }
  // None of them is a heartbeat: nothing reported, and no renumbering of the store on the word
  // of a watermark above anything the hub wrote.
  Round();
  auto after = planner_->DeviceSync("k1");
  EXPECT_EQ(after->reported, 0u);
  EXPECT_EQ(after->target, before->target);
  // The store's version in a well-formed heartbeat counts.
  planner_->DeviceStatus("k1", json{{"online", true}, {"offers_version", before->target}}.dump());
  Round();
  EXPECT_EQ(planner_->DeviceSync("k1")->reported, before->target);
}

TEST_F(OfferPlannerTest, ANewKioskOrADeletedCacheGetsTheWholeStateAndRestartKeepsVersions) {
  Scan("L-1", "s1");
  StartPlanner();
  Project();
  Member("vip", ProfileOf("L-1"));
  Put(OfferBody("o-all", "all", 1));
  Put(OfferBody("o-vip", "vip", 5));
  Round();
  Heartbeats();
  planner_->Stop();
  planner_.reset();
  // A kiosk added while the hub was down, and the hub restarted.
  AddKiosk("k4", "s1");
  StartPlanner();
  Round();
  EXPECT_EQ(Shown("k4", "L-1"), (Ids{"o-vip", "o-all"}));
  EXPECT_EQ(kiosks_.at("k4")->received.front().base, 0u);
  // The restarted hub did not resend to the kiosks that hold everything already.
  EXPECT_TRUE(kiosks_.at("k1")->received.size() >= 1);
  const size_t k1_before = kiosks_.at("k1")->received.size();
  Heartbeats();
  Round();
  EXPECT_EQ(kiosks_.at("k1")->received.size(), k1_before);
}

// Found in review: a customer whose list is empty (they redeemed the one offer for everyone up
// to its limit) must see nothing, not the general list; and full rounds must not rewrite them.
TEST_F(OfferPlannerTest, AnEmptyListShowsNothingAndFullRoundsDoNotRewriteIt) {
  Scan("L-1", "s1");
  StartPlanner();
  Project();
  Put(OfferBody("o-once", "all", 2, R"(,"max_per_customer":1)"));
  Round();
  EXPECT_EQ(Shown("k1", "L-1"), (Ids{"o-once"}));
  Log(R"({"type":"transaction","occurred_at":"2026-12-01T12:00:00Z","store_id":"s1",
          "customer":{"loyalty_id":"L-1"},"order":{"order_id":"T-1","currency":"GBP",
          "items":[{"sku":"c1","quantity":1,"unit_price":"5.00","offer_id":"o-once"}]}})");
  Project();
  Round();
  EXPECT_EQ(Shown("k1", "L-1"), (Ids{}));
  EXPECT_EQ(Shown("k1", "L-2"), (Ids{"o-once"}));
  const int64_t changed = planner_->Stats().items_changed;
  for (int i = 0; i < 6; ++i) {
    Heartbeats();
    clock_.Advance(301'000);  // past the full interval each time
    Round();
  }
  EXPECT_EQ(planner_->Stats().items_changed, changed);
  EXPECT_EQ(Shown("k1", "L-1"), (Ids{}));
}

// Offers scheduled ahead never crowd today's out of a list, and ride along for offline kiosks.
TEST_F(OfferPlannerTest, OffersThatStartLaterDoNotCrowdOutRunningOnes) {
  StartPlanner();
  for (int i = 0; i < 12; ++i) {
    Put(R"({"id":"xmas-)" + std::to_string(i) + R"(","title":"X","segment":"all",
          "valid_from":"2026-12-20T00:00:00Z","valid_until":"2027-01-01T00:00:00Z",
          "priority":100})");
  }
  Put(OfferBody("o-now", "all", 1));
  Round();
  EXPECT_EQ(Shown("k1", "stranger"), (Ids{"o-now"}));
  // 20 December, the kiosk offline: the scheduled offers show up from their first minute.
  clock_.Set(1'797'724'800'000);
  auto shown = Shown("k1", "stranger");
  EXPECT_EQ(shown.size(), 13u);
  // Online, a round re-ranks: the ten best of the running offers.
  Round();
  shown = Shown("k1", "stranger");
  ASSERT_EQ(shown.size(), 10u);
  EXPECT_EQ(shown.front(), "xmas-0");
  EXPECT_EQ(std::count(shown.begin(), shown.end(), "o-now"), 0);
}

// offers.db restored from a backup older than what the kiosks hold: the store is renumbered above
// the kiosks' watermark, so nothing new can land at a version they believe they hold.
TEST_F(OfferPlannerTest, ARestoredOffersDbRenumbersAboveWhatTheKiosksHold) {
  for (int i = 0; i < 30; ++i) Scan("L-" + std::to_string(i), "s1");
  StartPlanner();
  Project();
  Put(OfferBody("o-all", "all", 1));
  Put(OfferBody("o-vip", "vip", 5));
  Round();
  Heartbeats();
  Round();
  planner_->Stop();
  planner_.reset();
  std::filesystem::copy_file(config_.offers_path, config_.offers_path + ".bak");
  StartPlanner();
  Put(OfferBody("o-x", "all", 3));
  Round();
  Heartbeats();
  Round();
  const uint64_t w = kiosks_.at("k1")->cache->applied_version();
  // What the ingestor keeps of the last heartbeat (a status DecodeDeviceStatus accepted).
  ASSERT_TRUE(log_->Exec("UPDATE devices SET status_json = '{\"online\":true,"
                         "\"offers_version\":" + std::to_string(w) + "}'").ok());
  planner_->Stop();
  planner_.reset();
  std::filesystem::copy_file(config_.offers_path + ".bak", config_.offers_path,
                             std::filesystem::copy_options::overwrite_existing);
  for (int i = 0; i < 30; ++i) Member("vip", ProfileOf("L-" + std::to_string(i)));
  StartPlanner();
  Round();
  Heartbeats();
  Round();
  int right = 0;
  for (int i = 0; i < 30; ++i) right += Shown("k1", "L-" + std::to_string(i)) == Ids{"o-vip", "o-all"};
  EXPECT_EQ(right, 30);
  EXPECT_EQ(Shown("k1", "stranger"), (Ids{"o-all"}));
  EXPECT_GT(kiosks_.at("k1")->cache->applied_version(), w);
}

// A round whose device listing fails (here the table is away; a locked or failing disk alike)
// plans nothing, says so, and still sends: what was planned before and the resends go out.
TEST_F(OfferPlannerTest, ARoundWhoseDeviceListingFailsStillSendsWhatWasPlanned) {
  Scan("L-1", "s1");
  StartPlanner();
  Project();
  Put(OfferBody("o-all", "all", 1));
  Round();
  Heartbeats();
  Round();
  Kiosk& k2 = *kiosks_.at("k2");
  k2.offline = true;  // the update below is lost for k2
  Put(OfferBody("o-new", "all", 9));
  Round();
  k2.offline = false;
  ASSERT_TRUE(log_->Exec("ALTER TABLE devices RENAME TO devices_away").ok());
  clock_.Advance(31'000);  // past the resend delay and the devices' 30 s reload
  Heartbeats();
  Status st = planner_->RunOnce();
  EXPECT_FALSE(st.ok()) << "the failed listing is reported";
  EXPECT_EQ(Shown("k2", "x"), (Ids{"o-new", "o-all"})) << "resent all the same";
  EXPECT_EQ(planner_->Stats().resends, 1);
  ASSERT_TRUE(log_->Exec("ALTER TABLE devices_away RENAME TO devices").ok());
  Round();
}

// Several instances: the planner sends under the lease offers.device_sync, on a real
// PostgreSQL. Its session ends (a failover, an operator) and its next check takes the lease
// again on a new session: "held" before and after. Nobody sent in between: it goes on with its
// numbering, nothing resent. Another instance did (it recorded its numbering as the last
// sender, as a taker does before sending): it takes the sending over, every store renumbered
// and sent whole.
TEST_F(OfferPlannerTest, ALeaseLostAndTakenAgainIsATakeOverWhenAnotherInstanceSentMeanwhile) {
  if (!cjd::testing::Postgres::Available()) {
    GTEST_SKIP() << cjd::testing::Postgres::UnavailableReason();
  }
  cjd::testing::Postgres pg = cjd::testing::Postgres::Start();
  const std::string db = "planner_" + std::to_string(::getpid());
  const std::string url = pg.CreateDatabase(db);
  Scan("L-1", "s1");
  StartPlanner(url);
  Project();
  Put(OfferBody("o-all", "all", 1));
  Round();
  Heartbeats();
  Round();
  ASSERT_EQ(planner_->Stats().sync_lease, "held");
  ASSERT_EQ(planner_->Stats().lease_takeovers, 1);
  Kiosk& k1 = *kiosks_.at("k1");
  const uint64_t held = k1.cache->applied_version();
  ASSERT_GT(held, 0u);
  auto end_sessions = [&] {
    ASSERT_EQ(std::stoi(pg.Psql("SELECT count(pg_terminate_backend(pid)) FROM "
                                "pg_stat_activity WHERE datname = '" + db +
                                "' AND pid <> pg_backend_pid()")),
              2)
        << "the lease's session and the catalogue's";
  };
  auto rounds = [&] {  // a round may fail on a session found ended; the next ones reconnect
    for (int i = 0; i < 4; ++i) {
      clock_.Advance(PlannerOptions{}.lease_check_ms);
      (void)planner_->RunOnce();
      Heartbeats();
    }
    EXPECT_EQ(planner_->Stats().sync_lease, "held");
    EXPECT_EQ(pg.Psql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"),
              "1")
        << "taken again";
  };

  end_sessions();
  k1.received.clear();
  rounds();
  EXPECT_EQ(planner_->Stats().lease_takeovers, 1) << "its own numbering goes on";
  EXPECT_TRUE(k1.received.empty()) << "nothing resent";
  EXPECT_EQ(k1.cache->applied_version(), held);

  pg.Psql("UPDATE offers_sender SET numbering = 'another-instance'", db);
  ASSERT_EQ(pg.Psql("SELECT numbering FROM offers_sender", db), "another-instance");
  end_sessions();
  rounds();
  EXPECT_EQ(planner_->Stats().lease_takeovers, 2);
  ASSERT_FALSE(k1.received.empty());
  EXPECT_EQ(k1.received.front().base, 0u) << "sent whole";
  EXPECT_GT(k1.cache->applied_version(), held + (uint64_t{1} << 24)) << "renumbered above";
  EXPECT_EQ(Shown("k1", "x"), (Ids{"o-all"}));

  // Held all along, but another instance recorded itself as the sender (one whose session had
  // ended and which believed it held the lease until its next check: it may have sent in its
  // numbering): taken over again at the next check (found in review).
  const uint64_t second = k1.cache->applied_version();
  EXPECT_GE(std::stoull(pg.Psql("SELECT top FROM offers_sender", db)), second)
      << "the taker recorded the top it numbered (of every store)";
  // The stale holder numbered far above (its devices not reported yet): the next numbering
  // starts above its recorded top, so the two never overlap on a kiosk.
  const uint64_t stale_top = second + (uint64_t{1} << 30);
  pg.Psql("UPDATE offers_sender SET numbering = 'a-stale-holder', top = " +
              std::to_string(stale_top),
          db);
  k1.received.clear();
  clock_.Advance(PlannerOptions{}.lease_check_ms);
  Round();
  Heartbeats();
  EXPECT_EQ(planner_->Stats().sync_lease, "held");
  EXPECT_EQ(planner_->Stats().lease_takeovers, 3);
  EXPECT_NE(pg.Psql("SELECT numbering FROM offers_sender", db), "a-stale-holder");
  ASSERT_FALSE(k1.received.empty());
  EXPECT_EQ(k1.received.front().base, 0u) << "sent whole";
  EXPECT_GT(k1.cache->applied_version(), stale_top + (uint64_t{1} << 24))
      << "renumbered above the stale holder's top";
  EXPECT_EQ(Shown("k1", "x"), (Ids{"o-all"}));
  // And then it goes on: nothing more.
  k1.received.clear();
  for (int i = 0; i < 2; ++i) {
    clock_.Advance(PlannerOptions{}.lease_check_ms);
    Round();
    Heartbeats();
  }
  EXPECT_EQ(planner_->Stats().lease_takeovers, 3);
  EXPECT_TRUE(k1.received.empty());
  planner_->Stop();
  planner_.reset();  // before the server goes
}

// A lone instance on PostgreSQL, restarted: it was the last sender, so the kiosks hold its
// numbering; nothing is renumbered or resent (every store whole at every start, before).
TEST_F(OfferPlannerTest, AnInstanceThatWasTheLastSenderResendsNothingAfterARestart) {
  if (!cjd::testing::Postgres::Available()) {
    GTEST_SKIP() << cjd::testing::Postgres::UnavailableReason();
  }
  cjd::testing::Postgres pg = cjd::testing::Postgres::Start();
  const std::string url = pg.CreateDatabase("restart_" + std::to_string(::getpid()));
  Scan("L-1", "s1");
  StartPlanner(url);
  Project();
  Put(OfferBody("o-all", "all", 1));
  Round();
  Heartbeats();
  Round();
  ASSERT_EQ(planner_->Stats().lease_takeovers, 1) << "the first sender takes over from nobody";
  planner_->Stop();
  planner_.reset();  // its session ends: the lease is free
  // What the ingestor keeps of each kiosk's last heartbeat (read at start).
  for (const auto& [id, k] : kiosks_) {
    ASSERT_TRUE(log_->Exec("UPDATE devices SET status_json = '{\"online\":true,"
                           "\"offers_version\":" + std::to_string(k->cache->applied_version()) +
                           "}' WHERE device_id = '" + id + "'")
                    .ok());
  }
  const int sent = published_;
  const uint64_t held = kiosks_.at("k1")->cache->applied_version();
  StartPlanner(url);
  Round();
  Heartbeats();
  Round();
  EXPECT_EQ(planner_->Stats().sync_lease, "held");
  EXPECT_EQ(planner_->Stats().lease_takeovers, 0);
  EXPECT_EQ(published_, sent) << "nothing resent";
  EXPECT_EQ(kiosks_.at("k1")->cache->applied_version(), held);
  Put(OfferBody("o-new", "all", 9));
  Round();
  EXPECT_EQ(Shown("k1", "x"), (Ids{"o-new", "o-all"}));
  planner_->Stop();
  planner_.reset();
}

}  // namespace
}  // namespace cjd::hub::offers

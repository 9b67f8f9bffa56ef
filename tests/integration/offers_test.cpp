// The kiosk's side of offers with a real Mosquitto and real cjd-hub and cjd-agent processes,
// the updates published by the test itself (sealed with the hub -> device key, as the hub
// does): out-of-order and forged updates, expiry without a sync, a kiosk answering with broker
// and hub down. The hub's own planner is switched off here ([offers] enabled = false) so that
// only the test's updates reach the kiosk; offers planned by the hub from segments, consent and
// redemptions are in offers_hub_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "shared/core/clock.h"
#include "shared/event/event.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/offer_update.h"
#include "shared/protocol/topics.h"
#include "shared/storage/sqlite.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using cjd::testing::WaitUntil;

OfferRecord Offer(const std::string& id, uint64_t version, const std::string& title,
                  int64_t from_ms, int64_t until_ms) {
  OfferRecord o;
  o.id = id;
  o.title = title;
  o.text = "Show this screen at the till";
  o.valid_from = FormatRfc3339(from_ms);
  o.valid_until = FormatRfc3339(until_ms);
  o.priority = 1;
  o.version = version;
  return o;
}

int64_t Now() { return Clock::Real()->NowMillis(); }
constexpr int64_t kDay = 86'400'000;

class Offers : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    kiosk_ = &fleet_.AddDevice("kiosk-1", "s1", "kiosk");
    SetTomlKey(fleet_.hub_config(), "offers", "enabled", "false");
    fleet_.StartHub();
    ASSERT_TRUE(fleet_.StartAgent(*kiosk_));
    ASSERT_TRUE(fleet_.WaitAgentConnected(*kiosk_, true));
    keys_ = DeviceKeysFromConfig(kiosk_->config);
    probe_ = std::make_unique<MqttProbe>(fleet_.broker().Uri(), "itest-offers-probe");
  }

  int64_t StatusInt(const std::string& key) {
    const nlohmann::json s = fleet_.AgentStatus(*kiosk_);
    return s.is_object() && s.contains(key) && s[key].is_number() ? s[key].get<int64_t>() : -1;
  }

  // Publishes the sealed update (again every 2 s: the agent may not have subscribed yet; repeats
  // are harmless) until `done` holds.
  bool Deliver(const OfferUpdate& u, const std::function<bool()>& done,
               const SymmetricKey* key = nullptr) {
    const std::string frame =
        SealOfferUpdate(u, kiosk_->id, key ? *key : keys_.downlink, keys_.key_id);
    for (int i = 0; i < 30; ++i) {
      probe_->Publish(topics::Down(kiosk_->id), frame);
      if (WaitUntil(done, 2s)) return true;
    }
    return false;
  }
  bool DeliverVersion(const OfferUpdate& u) {
    const auto v = static_cast<int64_t>(u.version);
    return Deliver(u, [&] { return StatusInt("offers_version") == v; });
  }

  // GET /v1/offers; the ids served, best first (empty with status != 200).
  std::vector<std::string> Served(const std::string& loyalty_id, int* status = nullptr,
                                  std::vector<std::string>* titles = nullptr) {
    HttpClient client(kiosk_->port, 10s);
    const std::string target =
        loyalty_id.empty() ? "/v1/offers" : "/v1/offers?loyalty_id=" + loyalty_id;
    const HttpResponse r = client.Get(target, kiosk_->token);
    if (status) *status = r.status;
    std::vector<std::string> ids;
    if (r.status != 200) return ids;
    const auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (!j.is_object() || !j["offers"].is_array()) return ids;
    for (const auto& o : j["offers"]) {
      ids.push_back(o.value("id", ""));
      EXPECT_TRUE(o.contains("title") && o.contains("text") && o.contains("valid_until")) << o;
      if (titles) titles->push_back(o.value("title", ""));
    }
    return ids;
  }

  // The last heartbeat JSON the hub stored for the kiosk ("" if none or unreadable).
  std::string HubStoredStatus() {
    if (fleet_.postgres() != nullptr) {  // CJD_ITEST_DATABASE=postgres
      return fleet_.postgres()->Psql(
          "SELECT coalesce(status_json, '') FROM devices WHERE device_id = '" + kiosk_->id + "'",
          "hub");
    }
    sqlite::OpenOptions o;
    o.read_only = true;
    o.wal = false;
    auto db = sqlite::Database::Open(fleet_.hub_db().string(), o);
    if (!db.ok()) return "";
    auto stmt = (*db)->Prepare("SELECT status_json FROM devices WHERE device_id = ?1");
    if (!stmt.ok()) return "";
    stmt->Bind(1, kiosk_->id);
    auto row = stmt->Step();
    return row.ok() && *row && !stmt->ColumnIsNull(0) ? stmt->ColumnText(0) : "";
  }

  int64_t HubImpressions() {
    int64_t n = 0;
    for (const auto& row : ReadHubEvents(fleet_.hub_db())) n += row.type == "offer_impression";
    return n;
  }

  Fleet fleet_{"cjd-itest-offers-"};
  FleetAgent* kiosk_ = nullptr;
  SessionKeys keys_;
  std::unique_ptr<MqttProbe> probe_;
};

using Strings = std::vector<std::string>;

TEST_F(Offers, MatchingCustomerSeesTheOfferOthersGetGeneralAndImpressionsReachTheHub) {
  const int64_t now = Now();
  OfferUpdate u;
  u.version = 1;
  u.offers = {Offer("candles-10", 1, "10% off candles", now - kDay, now + kDay),
              Offer("welcome", 1, "Welcome coffee", now - kDay, now + kDay)};
  u.assignments = {{"LOY-1", {"candles-10", "welcome"}, 1}};
  u.general = GeneralOffers{{"welcome"}, 1};
  ASSERT_TRUE(DeliverVersion(u)) << fleet_.Diagnostics();
  EXPECT_EQ(StatusInt("offers"), 2);
  EXPECT_EQ(StatusInt("offer_assignments"), 1);

  EXPECT_EQ(Served("LOY-1"), (Strings{"candles-10", "welcome"}));
  EXPECT_EQ(Served("LOY-2"), (Strings{"welcome"}));
  EXPECT_EQ(Served(""), (Strings{"welcome"}));

  int status = 0;
  Served(std::string(65, 'x'), &status);
  EXPECT_EQ(status, 400);
  HttpClient client(kiosk_->port, 10s);
  EXPECT_EQ(client.Get("/v1/offers?loyalty_id=LOY-1").status, 401);
  EXPECT_EQ(client.Get("/v1/offers?loyalty_id=LOY-1", "wrong-token-wrong-token").status, 401);
  const auto bad = client.Get("/v1/offers?loyalty_id=a%01b", kiosk_->token);
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("loyalty_id"), std::string::npos) << bad.body;

  // Three non-empty answers: three impressions through the outbox and the uplink.
  EXPECT_TRUE(WaitUntil([&] { return HubImpressions() == 3; }, kDeliveryTimeout))
      << HubImpressions() << "\n" << fleet_.Diagnostics();
  EXPECT_TRUE(fleet_.WaitBacklogDrained(*kiosk_));
  EXPECT_EQ(StatusInt("impressions_recorded"), 3);
  EXPECT_EQ(StatusInt("impressions_dropped"), 0);
}

TEST_F(Offers, OutOfOrderUpdatesLeaveTheNewerAndForgedOnesAreRejected) {
  const int64_t now = Now();
  OfferUpdate newer;
  newer.version = 3;
  newer.offers = {Offer("a", 3, "new title", now - kDay, now + kDay)};
  newer.assignments = {{"LOY-1", {"a"}, 3}};
  OfferUpdate older;
  older.version = 2;
  older.offers = {Offer("a", 2, "old title", now - kDay, now + kDay),
                  Offer("b", 2, "b", now - kDay, now + kDay)};
  older.assignments = {{"LOY-1", {"b"}, 2}};
  // Each update published exactly once (the agent is subscribed: it reports connected only after
  // its subscription was acknowledged, and QoS 1 delivers), so "applied 2" can only mean the
  // older update was processed after the newer one, never a repeat of the newer one.
  const int64_t applied_before = StatusInt("offer_updates_applied");
  ASSERT_TRUE(probe_->Publish(topics::Down(kiosk_->id),
                              SealOfferUpdate(newer, kiosk_->id, keys_.downlink, keys_.key_id)));
  ASSERT_TRUE(WaitUntil([&] { return StatusInt("offers_version") == 3; }, 60s))
      << fleet_.Diagnostics();
  EXPECT_EQ(StatusInt("offer_updates_applied"), applied_before + 1);
  ASSERT_TRUE(probe_->Publish(topics::Down(kiosk_->id),
                              SealOfferUpdate(older, kiosk_->id, keys_.downlink, keys_.key_id)));
  ASSERT_TRUE(
      WaitUntil([&] { return StatusInt("offer_updates_applied") == applied_before + 2; }, 60s))
      << fleet_.Diagnostics();
  std::vector<std::string> titles;
  EXPECT_EQ(Served("LOY-1", nullptr, &titles), (Strings{"a"}));
  EXPECT_EQ(titles, (Strings{"new title"}));
  EXPECT_EQ(StatusInt("offers_version"), 3);

  // Sealed with the wrong direction's key: dropped and counted, nothing applied.
  OfferUpdate forged;
  forged.version = 9;
  forged.assignments = {{"LOY-1", {"b"}, 9}};
  const int64_t bad_before = StatusInt("bad_downlink");
  EXPECT_TRUE(Deliver(forged, [&] { return StatusInt("bad_downlink") > bad_before; },
                      &keys_.uplink));
  EXPECT_EQ(StatusInt("offers_version"), 3);
  EXPECT_EQ(Served("LOY-1"), (Strings{"a"}));
  // The version also reaches the hub in the sealed heartbeat it stores, and GET /v1/devices.
  EXPECT_TRUE(WaitUntil(
      [&] {
        const auto j = nlohmann::json::parse(HubStoredStatus(), nullptr, false);
        return j.is_object() && j.value("offers_version", int64_t{-1}) == 3;
      },
      30s))
      << HubStoredStatus();
  const nlohmann::json devices = fleet_.HubDevices();
  ASSERT_TRUE(devices.is_object()) << fleet_.Diagnostics();
  EXPECT_EQ(devices["devices"][0].value("offers_version", int64_t{-1}), 3) << devices;
}

TEST_F(Offers, ExpiredOfferDisappearsWithoutAnySync) {
  const int64_t now = Now();
  OfferUpdate u;
  u.version = 1;
  // Long enough that even a slow machine serves it before it ends: the check below never skips.
  const int64_t until = now + 20'000;
  u.offers = {Offer("flash", 1, "Flash sale", now - kDay, until),
              Offer("steady", 1, "Steady", now - kDay, now + kDay)};
  u.general = GeneralOffers{{"flash", "steady"}, 1};
  ASSERT_TRUE(DeliverVersion(u)) << fleet_.Diagnostics();
  EXPECT_EQ(Served(""), (Strings{"flash", "steady"}));
  ASSERT_LT(Now(), until) << "the served list above was read after the offer ended";
  const int64_t applied = StatusInt("offer_updates_applied");
  EXPECT_TRUE(WaitUntil([&] { return Served("") == Strings{"steady"}; }, 60s));
  EXPECT_GE(Now(), until);
  EXPECT_EQ(StatusInt("offer_updates_applied"), applied);  // no sync happened meanwhile
}

TEST_F(Offers, KioskAnswersWithBrokerAndHubDown) {
  const int64_t now = Now();
  OfferUpdate u;
  u.version = 4;
  u.offers = {Offer("o1", 1, "One", now - kDay, now + kDay)};
  u.assignments = {{"LOY-7", {"o1"}, 1}};
  ASSERT_TRUE(DeliverVersion(u)) << fleet_.Diagnostics();
  probe_.reset();
  fleet_.KillHub();
  fleet_.broker().Stop();
  ASSERT_TRUE(fleet_.WaitAgentConnected(*kiosk_, false));
  for (int i = 0; i < 20; ++i) EXPECT_EQ(Served("LOY-7"), (Strings{"o1"}));
  EXPECT_EQ(Served("LOY-8"), Strings{});  // no general list: an empty answer, still 200
  int status = 0;
  Served("LOY-8", &status);
  EXPECT_EQ(status, 200);
  // The impressions wait in the outbox for the uplink.
  EXPECT_TRUE(WaitUntil([&] { return StatusInt("impressions_recorded") == 20; }, 10s));
  EXPECT_GE(StatusInt("backlog"), 20);
  EXPECT_EQ(StatusInt("offers_version"), 4);
}

int64_t VmRssKiB(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

// Figures, not assertions (STYLE 10): a real cjd-agent with 100,000 customers' assignments,
// GET /v1/offers paced at 1,000 requests/s over one keep-alive connection (each answer also
// queues an impression for the outbox), and the delay from publishing an update to its offer
// being served.
TEST_F(Offers, FiguresKioskLookupAt1000RequestsPerSecondWith100kCustomers) {
  constexpr int kCustomers = 100'000;
  const int64_t now = Now();
  const int64_t rss0 = VmRssKiB(kiosk_->process.pid());
  OfferUpdate base;
  base.version = 1;
  for (int i = 0; i < 40; ++i)
    base.offers.push_back(Offer("offer-" + std::to_string(i), 1, "Offer", now - kDay, now + kDay));
  base.general = GeneralOffers{{"offer-0"}, 1};
  ASSERT_TRUE(DeliverVersion(base));
  uint64_t v = 1;
  for (int start = 0; start < kCustomers; start += 5000) {
    OfferUpdate u;
    u.version = ++v;
    for (int c = start; c < start + 5000; ++c) {
      OfferAssignment a{"LOY-" + std::to_string(1'000'000 + c), {}, 1};
      for (int k = 0; k < 5; ++k) a.offers.push_back("offer-" + std::to_string((c + 7 * k) % 40));
      u.assignments.push_back(std::move(a));
    }
    probe_->Publish(topics::Down(kiosk_->id), SealOfferUpdate(u, kiosk_->id, keys_.downlink,
                                                                 keys_.key_id));
  }
  ASSERT_TRUE(WaitUntil([&] { return StatusInt("offer_assignments") == kCustomers; }, 120s))
      << StatusInt("offer_assignments");
  const int64_t rss1 = VmRssKiB(kiosk_->process.pid());

  HttpClient client(kiosk_->port, 10s);
  std::vector<double> us;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 5000; ++i) {
    std::this_thread::sleep_until(start + std::chrono::microseconds(1000 * i));
    const std::string id = std::to_string(1'000'000 + (i * 7919) % (kCustomers + 10'000));
    const auto a = std::chrono::steady_clock::now();
    const auto r = client.Get("/v1/offers?loyalty_id=LOY-" + id, kiosk_->token);
    us.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  const double elapsed_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(us.begin(), us.end());

  // The same pace for customers without offers (empty general list): HTTP and lookup only, no
  // impression queued, so no outbox commit competes for the CPU.
  OfferUpdate no_general;
  no_general.version = ++v;
  no_general.general = GeneralOffers{{}, 2};
  ASSERT_TRUE(DeliverVersion(no_general));
  std::vector<double> bare;
  const auto start2 = std::chrono::steady_clock::now();
  for (int i = 0; i < 5000; ++i) {
    std::this_thread::sleep_until(start2 + std::chrono::microseconds(1000 * i));
    const auto a = std::chrono::steady_clock::now();
    const auto r = client.Get("/v1/offers?loyalty_id=NOBODY-" + std::to_string(i), kiosk_->token);
    bare.push_back(
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - a).count());
    ASSERT_EQ(r.status, 200) << r.body;
  }
  std::sort(bare.begin(), bare.end());

  // Publish -> served: a new offer for one customer, polled every millisecond.
  OfferUpdate change;
  change.version = ++v;
  change.offers = {Offer("fresh", 1, "Fresh", now - kDay, now + kDay)};
  change.assignments = {{"LOY-1000001", {"fresh"}, 2}};
  const auto p0 = std::chrono::steady_clock::now();
  probe_->Publish(topics::Down(kiosk_->id),
                  SealOfferUpdate(change, kiosk_->id, keys_.downlink, keys_.key_id));
  const bool seen = WaitUntil(
      [&] {
        const auto ids = Served("LOY-1000001");
        return !ids.empty() && ids.front() == "fresh";
      },
      30s, 1ms);
  const double appear_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - p0).count();
  EXPECT_TRUE(seen);

  const std::filesystem::path outbox = GetTomlString(kiosk_->config, "outbox", "path");
  const std::filesystem::path db =
      (outbox.is_absolute() ? outbox : kiosk_->config.parent_path() / outbox).parent_path() /
      (kiosk_->id + ".offers.db");
  std::error_code ec;
  const auto db_bytes = std::filesystem::file_size(db, ec);
  const auto wal_bytes = std::filesystem::file_size(db.string() + "-wal", ec);
  std::printf(
      "[figures] cjd-agent, %d customers x 5 of 40 offers; 5000 GET /v1/offers paced at 1000/s "
      "(achieved %.0f/s), one keep-alive connection, client-side latency incl. loopback HTTP:\n"
      "  p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us (each answer queues an impression)\n"
      "  empty answers (no impression): p50 %.0f us, p99 %.0f us, p99.9 %.0f us, max %.0f us\n"
      "  agent VmRSS %.1f MiB -> %.1f MiB after the 100k assignments; offers db %.1f MiB "
      "(wal %.1f MiB)\n"
      "  publish -> served at the kiosk: %.1f ms\n",
      kCustomers, 5000 / elapsed_s, us[us.size() / 2], us[us.size() * 99 / 100],
      us[us.size() * 999 / 1000], us.back(), bare[bare.size() / 2],
      bare[bare.size() * 99 / 100], bare[bare.size() * 999 / 1000], bare.back(), rss0 / 1024.0,
      rss1 / 1024.0,
      static_cast<double>(db_bytes) / 1048576.0, static_cast<double>(wal_bytes) / 1048576.0,
      appear_ms);
}

}  // namespace
}  // namespace cjd::itest

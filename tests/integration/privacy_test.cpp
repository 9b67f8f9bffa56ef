// Erasure requests (issue 11) with a real broker, hub, agents and SQLite files: an erasure
// removes the person from the projection, segments and metrics, rewrites the hub's event log
// without them, and reaches every device of the stores where they were seen (an offline one
// when it reconnects), each confirming with a sealed receipt; afterwards no byte of their email,
// phone (as sent and normalised), loyalty id, card fingerprint or name is left in any file of
// the hub's folder or the agents' (databases, WAL, logs); other customers and the store totals
// are unchanged; requests survive a restart; "suppress" keeps the person out of later events;
// bad requests get a 400 naming the field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "hub/store/event_log_reader.h"
#include "hub/store/event_vault.h"
#include "shared/protocol/keys.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;

constexpr const char* kEmail = "Grace.Okafor@Example-Mail.com";
constexpr const char* kPhone = "+44 20 7946 0958";
constexpr const char* kPhoneQuery = "%2B442079460958";  // in a query string
constexpr const char* kLoyalty = "LOY-778812";
constexpr const char* kCard = "fp-7f3a9c2e11d04b";
constexpr const char* kFirstName = "Gracelyn";
constexpr const char* kOtherEmail = "bob.other@fastpost.net";

// Every needle found, as raw bytes, in any regular file under `dir`: "file: needle".
std::vector<std::string> FindBytes(const std::filesystem::path& dir,
                                   const std::vector<std::string>& needles) {
  std::vector<std::string> found;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(dir)) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string bytes = ss.str();
    for (const std::string& n : needles) {
      if (bytes.find(n) != std::string::npos) {
        found.push_back(entry.path().filename().string() + ": " + n);
      }
    }
  }
  return found;
}

class Privacy : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    key_ = fleet_.AddSource("webshop");
    fleet_.StartHub();
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 30s);
  }

  std::filesystem::path HubDir() const { return fleet_.hub_config().parent_path(); }

  void Collect(const json& event) {
    HttpResponse r = hub_->Post("/v1/collect", event.dump(), key_);
    ASSERT_EQ(r.status, 202) << r.body;
  }

  void WaitProjected(int64_t events) {
    ASSERT_TRUE(fleet_.WaitHubEventsTotal(events)) << fleet_.Diagnostics();
    ASSERT_TRUE(cjd::testing::WaitUntil(
        [&] {
          json s = fleet_.HubStats();
          return s.contains("projection") && s["projection"]["cursor"].get<int64_t>() >= events;
        },
        30s))
        << fleet_.HubStats().dump();
  }

  // Posts an erasure and waits for its hub part; returns the request as GET shows it then.
  json Erase(const json& body) {
    HttpResponse r = hub_->Post("/v1/privacy/erasures", body.dump(), fleet_.hub_token());
    EXPECT_EQ(r.status, 202) << r.body;
    if (r.status != 202) return json();
    const json accepted = r.Json();
    EXPECT_EQ(accepted["state"], "pending");
    EXPECT_GT(accepted["seq"].get<int64_t>(), 0);
    const std::string id = accepted["id"];
    json doc;
    EXPECT_TRUE(cjd::testing::WaitUntil(
        [&] {
          HttpResponse g = hub_->Get("/v1/privacy/erasures/" + id, fleet_.hub_token());
          if (g.status != 200) return false;
          doc = g.Json();
          return doc["hub"]["state"] == "done";
        },
        30s))
        << doc.dump() << fleet_.Diagnostics();
    return doc;
  }

  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> hub_;
};

TEST_F(Privacy, ErasureReachesEveryDeviceAndLeavesNoPersonalByte) {
  // Store S1: two online tills and a kiosk, and one till that is offline (its broker address
  // leads nowhere) holding an unsent sale of hers. Store S9: a till that never saw her.
  FleetAgent& till1 = fleet_.AddDevice("till-1", "S1");
  FleetAgent& kiosk = fleet_.AddDevice("kiosk-1", "S1", "kiosk");
  FleetAgent& till2 = fleet_.AddDevice("till-2", "S1");
  FleetAgent& offline = fleet_.AddDevice("till-3", "S1");
  FleetAgent& far = fleet_.AddDevice("till-9", "S9");
  const std::string real_broker = GetTomlString(offline.config, "mqtt", "broker");
  SetTomlKey(offline.config, "mqtt", "broker",
             TomlQuote("tcp://127.0.0.1:" + std::to_string(cjd::testing::FreeLoopbackPort())));
  for (FleetAgent* a : {&till1, &kiosk, &till2, &offline, &far}) ASSERT_TRUE(fleet_.StartAgent(*a));

  // Grace: identified at the web shop, two sales at store S1 (one paid by card), one web order.
  Collect({{"type", "identify"},
           {"occurred_at", "2026-11-20T10:00:00Z"},
           {"customer", {{"email", kEmail}, {"phone", kPhone}, {"loyalty_id", kLoyalty}}},
           {"attributes", {{"first_name", kFirstName}}}});
  Collect({{"type", "order_completed"},
           {"occurred_at", "2026-11-21T10:00:00Z"},
           {"customer", {{"email", kEmail}}},
           {"order", {{"order_id", "W-1"}, {"currency", "EUR"},
                      {"items", {{{"sku", "S1"}, {"quantity", 3}, {"unit_price", "4.10"}}}}}}});
  HttpClient agent1(till1.port, 30s);
  json sale = MakeTransaction("S1");
  sale["customer"] = {{"loyalty_id", kLoyalty}};
  sale["order"]["payment"] = {{"method", "card"}, {"card_fingerprint", kCard}};
  ASSERT_EQ(PostEvents(agent1, till1.token, sale).status, 202);
  json sale2 = MakeTransaction("S1");
  sale2["customer"] = {{"loyalty_id", kLoyalty}};
  ASSERT_EQ(PostEvents(agent1, till1.token, sale2).status, 202);
  // Bob, another customer, at another store.
  HttpClient agent9(far.port, 30s);
  json bob_sale = MakeTransaction("S9");
  bob_sale["customer"] = {{"email", kOtherEmail}};
  ASSERT_EQ(PostEvents(agent9, far.token, bob_sale).status, 202);
  // The offline till's sale of hers waits in its outbox (phone as typed at the till).
  HttpClient agent3(offline.port, 30s);
  json unsent = MakeTransaction("S1");
  unsent["customer"] = {{"phone", kPhone}, {"loyalty_id", kLoyalty}};
  ASSERT_EQ(PostEvents(agent3, offline.token, unsent).status, 202);
  WaitProjected(5);

  const std::string token = fleet_.hub_token();
  const json before = hub_->Get("/v1/metrics", token).Json();
  ASSERT_EQ(before["customers"], 2) << before.dump();
  HttpResponse bob_before =
      hub_->Get(std::string("/v1/profiles?identifier=email:") + kOtherEmail, token);
  ASSERT_EQ(bob_before.status, 200);
  HttpResponse grace = hub_->Get(std::string("/v1/profiles?identifier=email:") + kEmail, token);
  ASSERT_EQ(grace.status, 200);
  const int64_t grace_id = grace.Json()["profile_id"];

  // Before: the offline till's outbox holds her in plain text (it needs her until it sends);
  // the hub's files never do, not even before the erasure: its log holds her sealed under
  // keys an erasure destroys. A copy of the hub's folder taken now is kept for later.
  const std::vector<std::string> needles = {kEmail, "grace.okafor@example-mail.com", kPhone,
                                            "+442079460958", kLoyalty, kCard, kFirstName};
  EXPECT_THAT(FindBytes(HubDir(), needles), ::testing::IsEmpty());
  EXPECT_THAT(FindBytes(HubDir(), {kOtherEmail}), ::testing::IsEmpty());
  EXPECT_FALSE(FindBytes(offline.config.parent_path(), needles).empty());
  const std::filesystem::path copy = HubDir().parent_path() / "hub-copy-before-erasure";
  std::filesystem::create_directories(copy);
  for (const char* f : {"hub.db", "hub.db-wal"}) {
    if (std::filesystem::exists(HubDir() / f)) std::filesystem::copy_file(HubDir() / f, copy / f);
  }
  auto read_copy = [&] {
    // The copy's log read with the hub's keys as they are now.
    EXPECT_TRUE(cjd::InitCrypto().ok());
    cjd::hub::EventVault::Options vo;
    vo.keys_path = (HubDir() / "keys.db").string();
    vo.master_key_file = (HubDir() / "master.key").string();
    auto vault = cjd::hub::EventVault::Open(vo);
    EXPECT_TRUE(vault.ok()) << vault.status().ToString();
    auto reader = cjd::hub::OpenSqliteEventLogReader((copy / "hub.db").string(), *vault);
    EXPECT_TRUE(reader.ok()) << reader.status().ToString();
    std::vector<std::pair<int64_t, std::string>> rows;
    EXPECT_TRUE((*reader)->ReadAfter(0, 1000, &rows).ok());
    std::string all;
    for (const auto& r : rows) all += r.second + "\n";
    return all;
  };
  {
    const std::string readable = read_copy();
    EXPECT_NE(readable.find(kEmail), std::string::npos);  // sealed, not lost
    EXPECT_NE(readable.find(kOtherEmail), std::string::npos);
  }

  const json hub_done = Erase(json{{"identifier", std::string("email:") + kEmail}});
  ASSERT_FALSE(hub_done.is_null());
  const std::string id = hub_done["id"];
  EXPECT_EQ(hub_done["hub"]["profile_id"], grace_id);
  EXPECT_EQ(hub_done["hub"]["events_redacted"], 4) << hub_done.dump();
  EXPECT_EQ(hub_done["subject"]["identifier_type"], "email");
  EXPECT_EQ(hub_done["suppress"], false);
  // Every device of store S1 (where she was seen) must confirm; the till of S9 need not.
  std::vector<std::string> listed;
  for (const json& d : hub_done["devices"]) listed.push_back(d["device_id"]);
  EXPECT_THAT(listed, ::testing::ElementsAre("kiosk-1", "till-1", "till-2", "till-3"));

  // The online devices confirm; the offline one keeps the request pending.
  json doc;
  auto device_state = [&](const std::string& device) {
    for (const json& d : doc["devices"]) {
      if (d["device_id"] == device) return d["state"].get<std::string>();
    }
    return std::string("absent");
  };
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        doc = hub_->Get("/v1/privacy/erasures/" + id, token).Json();
        return device_state("till-1") == "done" && device_state("till-2") == "done" &&
               device_state("kiosk-1") == "done";
      },
      30s))
      << doc.dump() << fleet_.Diagnostics();
  EXPECT_EQ(device_state("till-3"), "pending");
  EXPECT_EQ(doc["state"], "pending");
  // Operations see it in Prometheus: one request open, one receipt owed, none overdue.
  const std::string metrics = hub_->Get("/metrics").body;
  EXPECT_NE(metrics.find("\ncjd_hub_erasures_pending 1\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("\ncjd_hub_erasure_receipts_owed 1\n"), std::string::npos);
  EXPECT_NE(metrics.find("\ncjd_hub_erasures_overdue 0\n"), std::string::npos);
  EXPECT_TRUE(doc["met"].is_null());  // the deadline (an hour) has not passed

  // Gone from the hub's answers; the figures keep her orders as anonymous ones.
  for (const std::string& q : {std::string("email:") + kEmail, std::string("loyalty_id:") + kLoyalty,
                               std::string("phone:") + kPhoneQuery}) {
    EXPECT_EQ(hub_->Get("/v1/profiles?identifier=" + q, token).status, 404) << q;
  }
  EXPECT_EQ(hub_->Get("/v1/profiles/" + std::to_string(grace_id), token).status, 404);
  const json after = hub_->Get("/v1/metrics", token).Json();
  EXPECT_EQ(after["customers"], 1) << after.dump();
  for (const char* total : {"orders", "revenue_gross", "revenue_net", "returns_value"}) {
    EXPECT_EQ(after["store_totals"][total], before["store_totals"][total]) << total;
  }
  EXPECT_EQ(after["store_totals"]["anonymous_orders"].get<int64_t>(),
            before["store_totals"]["anonymous_orders"].get<int64_t>() + 3);
  HttpResponse bob_after =
      hub_->Get(std::string("/v1/profiles?identifier=email:") + kOtherEmail, token);
  ASSERT_EQ(bob_after.status, 200);
  EXPECT_EQ(bob_after.Json()["traits"], bob_before.Json()["traits"]);
  EXPECT_EQ(hub_->Get(std::string("/v1/privacy/export?identifier=email:") + kEmail, token).status,
            404);

  // The offline till reconnects: it gets the command before it sends anything (the hub answers
  // its probe with what it owes first), so its unsent sale arrives without her -- the hub never
  // makes a profile of her again --, it confirms, and the request is done.
  const int64_t created_before =
      fleet_.HubStats()["projection"]["profiles_created"].get<int64_t>();
  fleet_.KillAgent(offline);
  SetTomlKey(offline.config, "mqtt", "broker", TomlQuote(real_broker));
  ASSERT_TRUE(fleet_.StartAgent(offline));
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        doc = hub_->Get("/v1/privacy/erasures/" + id, token).Json();
        return doc["state"] == "done";
      },
      60s))
      << doc.dump() << fleet_.Diagnostics();
  EXPECT_EQ(doc["met"], true);
  EXPECT_FALSE(doc["done_at"].is_null());
  EXPECT_NE(hub_->Get("/metrics").body.find("\ncjd_hub_erasures_pending 0\n"), std::string::npos);
  ASSERT_TRUE(fleet_.WaitBacklogDrained(offline)) << fleet_.Diagnostics();
  ASSERT_TRUE(fleet_.WaitHubEventsTotal(6)) << fleet_.Diagnostics();
  WaitProjected(6);
  const json last = hub_->Get("/v1/metrics", token).Json();
  EXPECT_EQ(last["customers"], 1) << last.dump();
  EXPECT_EQ(last["store_totals"]["orders"].get<int64_t>(),
            before["store_totals"]["orders"].get<int64_t>() + 1);
  EXPECT_EQ(hub_->Get(std::string("/v1/profiles?identifier=loyalty_id:") + kLoyalty, token).status,
            404);
  EXPECT_EQ(fleet_.HubStats()["projection"]["profiles_created"].get<int64_t>(), created_before)
      << "the offline till's sale reached the hub with her";

  // No byte of hers in any file of the hub's folder or any agent's (databases, their WAL,
  // logs), as sent and as normalised.
  EXPECT_THAT(FindBytes(HubDir(), needles), ::testing::IsEmpty());
  for (FleetAgent* a : {&till1, &kiosk, &till2, &offline, &far}) {
    EXPECT_THAT(FindBytes(a->config.parent_path(), needles), ::testing::IsEmpty()) << a->id;
  }
  // The copy taken before the erasure holds none of her values in plain text, and with her keys
  // destroyed its sealed parts no longer open: she is gone from it too. Bob's still open.
  EXPECT_THAT(FindBytes(copy, needles), ::testing::IsEmpty());
  {
    const std::string readable = read_copy();
    for (const std::string& n : needles) EXPECT_EQ(readable.find(n), std::string::npos) << n;
    EXPECT_NE(readable.find(kOtherEmail), std::string::npos);
  }

  // The request survives a restart.
  fleet_.KillHub();
  fleet_.StartHub();
  hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 30s);
  HttpResponse again = hub_->Get("/v1/privacy/erasures/" + id, token);
  ASSERT_EQ(again.status, 200) << again.body;
  EXPECT_EQ(again.Json()["state"], "done");
  EXPECT_EQ(again.Json()["devices"], doc["devices"]);
  HttpResponse list = hub_->Get("/v1/privacy/erasures", token);
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.Json()["erasures"].size(), 1u);
  EXPECT_EQ(list.Json()["erasures"][0]["id"], id);
  // The audit log names the request by its id, never by the person.
  HttpResponse audit = hub_->Get("/v1/audit", token);
  ASSERT_EQ(audit.status, 200);
  bool found = false;
  const json entries = audit.Json()["entries"];
  for (const json& e : entries) {
    if (e["action"] == "POST /v1/privacy/erasures") {
      found = true;
      EXPECT_EQ(e["status"], 202);
      EXPECT_EQ(e["detail"]["id"], id) << e.dump();
    }
  }
  EXPECT_TRUE(found) << audit.body.substr(0, 2000);
  EXPECT_EQ(audit.body.find("Okafor"), std::string::npos);
}

TEST_F(Privacy, UnknownIdentifierReachesEveryDeviceAndSuppressKeepsThePersonOut) {
  FleetAgent& till = fleet_.AddDevice("till-1", "S1");
  FleetAgent& kiosk = fleet_.AddDevice("kiosk-2", "S2", "kiosk");
  ASSERT_TRUE(fleet_.StartAgent(till));
  ASSERT_TRUE(fleet_.StartAgent(kiosk));
  const std::string token = fleet_.hub_token();

  // Nobody holds it: still a request, and every device must look in its outbox.
  const json nobody = Erase(json{{"identifier", "loyalty_id:NOBODY-1"}});
  EXPECT_TRUE(nobody["hub"]["profile_id"].is_null());
  EXPECT_EQ(nobody["devices"].size(), 2u) << nobody.dump();

  // Suppress: the person is erased and their later events are kept without them.
  Collect({{"type", "identify"},
           {"occurred_at", "2026-11-20T10:00:00Z"},
           {"customer", {{"email", kEmail}}},
           {"attributes", {{"first_name", kFirstName}}}});
  WaitProjected(1);
  const json suppressed = Erase(json{{"identifier", std::string("email:") + kEmail}, {"suppress", true}});
  EXPECT_EQ(suppressed["suppress"], true);
  EXPECT_FALSE(suppressed["hub"]["profile_id"].is_null());
  Collect({{"type", "order_completed"},
           {"occurred_at", "2026-11-22T10:00:00Z"},
           {"customer", {{"email", kEmail}, {"phone", kPhone}}},
           {"order", {{"order_id", "W-2"}, {"currency", "EUR"},
                      {"items", {{{"sku", "S1"}, {"quantity", 1}, {"unit_price", "9.99"}}}}}}});
  WaitProjected(2);
  EXPECT_EQ(hub_->Get(std::string("/v1/profiles?identifier=email:") + kEmail, token).status, 404);
  // The phone came with a suppressed email: it made no profile either.
  EXPECT_EQ(hub_->Get(std::string("/v1/profiles?identifier=phone:") + kPhoneQuery, token).status,
            404);
  const json m = hub_->Get("/v1/metrics", token).Json();
  EXPECT_EQ(m["customers"], 0) << m.dump();
  EXPECT_EQ(m["store_totals"]["orders"], 1) << m.dump();
  // ... and the new event is redacted in the log too.
  EXPECT_TRUE(cjd::testing::WaitUntil(
      [&] { return FindBytes(HubDir(), {kEmail, "grace.okafor@example-mail.com", kPhone}).empty(); },
      30s))
      << ::testing::PrintToString(FindBytes(HubDir(), {kEmail, kPhone}));
  // Suppression survives a restart.
  fleet_.KillHub();
  fleet_.StartHub();
  hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 30s);
  Collect({{"type", "identify"},
           {"occurred_at", "2026-11-23T10:00:00Z"},
           {"customer", {{"email", kEmail}}}});
  WaitProjected(3);
  EXPECT_EQ(hub_->Get(std::string("/v1/profiles?identifier=email:") + kEmail, token).status, 404);
}

TEST_F(Privacy, BadRequestsNameTheField) {
  const std::string token = fleet_.hub_token();
  struct Case {
    std::string body;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"identifier":"email:not-an-email"})", "identifier"},
      {R"({"identifier":"shoe_size:42"})", "identifier"},
      {R"({"identifier":""})", "identifier"},
      {R"({"identifier":7})", "identifier"},
      {R"({})", "identifier"},
      {R"({"identifier":"email:a@b.com","profile_id":3})", "profile_id"},
      {R"({"profile_id":"x1"})", "profile_id"},
      {R"({"profile_id":-4})", "profile_id"},
      {R"({"identifier":"email:a@b.com","suppress":"yes"})", "suppress"},
      {R"({"identifier":"email:a@b.com","reason":"asked"})", "reason"},
      {R"([1])", "?"},  // the body as a whole
  };
  for (const Case& c : cases) {
    HttpResponse r = hub_->Post("/v1/privacy/erasures", c.body, token);
    EXPECT_EQ(r.status, 400) << c.body << " -> " << r.body;
    const json err = r.Json().value("error", json::object());
    EXPECT_EQ(err.value("field", std::string("?")), c.field) << c.body << " -> " << r.body;
  }
  EXPECT_EQ(hub_->Post("/v1/privacy/erasures", "{not json", token).status, 400);
  EXPECT_EQ(hub_->Post("/v1/privacy/erasures", R"({"profile_id":999999})", token).status, 404);
  EXPECT_EQ(hub_->Get("/v1/privacy/erasures/era_00", token).status, 404);
  EXPECT_EQ(hub_->Get("/v1/privacy/erasures?limit=0", token).status, 400);
  EXPECT_EQ(hub_->Get("/v1/privacy/erasures?sort=x", token).status, 400);
  EXPECT_EQ(hub_->Post("/v1/privacy/erasures", R"({"identifier":"email:a@b.com"})", "").status, 401);
  // Nothing was recorded by the refused requests.
  HttpResponse list = hub_->Get("/v1/privacy/erasures", token);
  ASSERT_EQ(list.status, 200);
  EXPECT_TRUE(list.Json()["erasures"].empty()) << list.body;
}

}  // namespace
// A till whose network drops stays up with a sale of hers in its outbox; meanwhile she is erased.
// When its link comes back it gets the erase command before it sends anything (the hub publishes
// it before the ack that names the till's probe, and the till sends nothing before that ack), so
// its sale reaches the hub without her, the request is done and she is nowhere. The order is
// checked through the projection: had the sale left with her, it would have made her a profile
// again (the hub's last pass would then have erased it, so the outcome alone would not tell).
TEST_F(Privacy, AReconnectingDeviceErasesBeforeItSendsAnything) {
  FleetAgent& till = fleet_.AddDevice("till-1", "S1");
  ASSERT_TRUE(fleet_.StartAgent(till));
  HttpClient agent(till.port, 30s);
  json sale = MakeTransaction("S1");
  sale["customer"] = {{"loyalty_id", "LR-5"}};
  ASSERT_EQ(PostEvents(agent, till.token, sale).status, 202);
  WaitProjected(1);
  const int64_t created = fleet_.HubStats()["projection"]["profiles_created"].get<int64_t>();
  ASSERT_EQ(created, 1);

  fleet_.broker().Stop();
  ASSERT_TRUE(fleet_.WaitAgentConnected(till, false)) << fleet_.Diagnostics();
  json unsent = MakeTransaction("S1");
  unsent["customer"] = {{"loyalty_id", "LR-5"}};
  ASSERT_EQ(PostEvents(agent, till.token, unsent).status, 202);
  const json hub_done = Erase(json{{"identifier", "loyalty_id:LR-5"}});
  ASSERT_FALSE(hub_done.is_null());
  ASSERT_EQ(hub_done["devices"].size(), 1u) << hub_done.dump();
  const std::string id = hub_done["id"];

  fleet_.broker().Restart();
  json doc;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        doc = hub_->Get("/v1/privacy/erasures/" + id, fleet_.hub_token()).Json();
        return doc["state"] == "done";
      },
      60s))
      << doc.dump() << fleet_.Diagnostics();
  ASSERT_TRUE(fleet_.WaitBacklogDrained(till)) << fleet_.Diagnostics();
  WaitProjected(2);
  // The order: the unsent sale left the till only after the till had erased her from it. Had it
  // left first, the projection would have made her a profile again (and the eraser's last pass
  // erased it afterwards).
  EXPECT_EQ(fleet_.HubStats()["projection"]["profiles_created"].get<int64_t>(), created)
      << fleet_.Diagnostics();
  const json m = hub_->Get("/v1/metrics", fleet_.hub_token()).Json();
  EXPECT_EQ(m["store_totals"]["orders"], 2) << m.dump();
  EXPECT_EQ(m["customers"], 0) << m.dump();
  EXPECT_EQ(hub_->Get("/v1/profiles?identifier=loyalty_id:LR-5", fleet_.hub_token()).status, 404);
  EXPECT_THAT(FindBytes(HubDir(), {"LR-5"}), ::testing::IsEmpty());
  EXPECT_THAT(FindBytes(till.config.parent_path(), {"LR-5"}), ::testing::IsEmpty());
}

// `cjdctl rotate-master-key` while the hub runs: events before and after it stay readable, across
// a restart under the new key alone; the old key opens nothing.
TEST_F(Privacy, MasterKeyRotationNeedsNoDowntime) {
  const std::string token = fleet_.hub_token();
  Collect({{"type", "identify"},
           {"occurred_at", "2026-11-20T10:00:00Z"},
           {"customer", {{"email", "ada.before@fastpost.net"}}},
           {"attributes", {{"first_name", "Ada"}}}});
  WaitProjected(1);
  const std::string old_key = cjd::testing::ReadFile(HubDir() / "master.key");
  ASSERT_FALSE(old_key.empty());
  std::string out;
  ASSERT_EQ(cjd::testing::RunCommand({cjd::testing::CjdctlBinary(), "rotate-master-key", "--hub-dir",
                        HubDir().string()},
                       60s, &out),
            0)
      << out;
  EXPECT_NE(out.find("1 data keys re-wrapped"), std::string::npos) << out;
  EXPECT_NE(cjd::testing::ReadFile(HubDir() / "master.key"), old_key);
  // The running hub seals a new customer's event under the new master.
  Collect({{"type", "identify"},
           {"occurred_at", "2026-11-21T10:00:00Z"},
           {"customer", {{"email", "bea.after@fastpost.net"}}},
           {"attributes", {{"first_name", "Bea"}}}});
  WaitProjected(2);
  // The rotation is in the audit log.
  bool audited = false;
  const json audit = hub_->Get("/v1/audit", token).Json();
  for (const json& e : audit["entries"]) {
    if (e["action"] == "rotate-master-key") audited = true;
  }
  EXPECT_TRUE(audited) << audit.dump();
  // After a restart (new master only), both people's events open: the export shows them whole.
  fleet_.KillHub();
  fleet_.StartHub();
  hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 30s);
  for (const char* email : {"ada.before@fastpost.net", "bea.after@fastpost.net"}) {
    HttpResponse r =
        hub_->Get(std::string("/v1/privacy/export?identifier=email:") + email, token);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_NE(r.body.find(email), std::string::npos) << r.body;
    EXPECT_EQ(r.body.find("\"redacted\""), std::string::npos) << r.body;
  }
  // The old master key no longer opens keys.db: the hub refuses to start with it, naming the key.
  fleet_.KillHub();
  { std::ofstream(HubDir() / "master.key", std::ios::trunc) << old_key; }
  std::string refused;
  EXPECT_NE(cjd::testing::RunCommand({cjd::testing::HubBinary(), "--config", fleet_.hub_config().string()}, 30s,
                       &refused),
            0);
  EXPECT_NE(refused.find("privacy.master_key_file"), std::string::npos) << refused;
}

}  // namespace cjd::itest

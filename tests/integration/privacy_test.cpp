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

#include "tests/integration/fleet_fixture.h"
#include "tests/support/ports.h"
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

  // Before: the hub's log and the offline till's outbox hold her in plain text.
  const std::vector<std::string> needles = {kEmail, "grace.okafor@example-mail.com", kPhone,
                                            "+442079460958", kLoyalty, kCard, kFirstName};
  EXPECT_FALSE(FindBytes(HubDir(), needles).empty());
  EXPECT_FALSE(FindBytes(offline.config.parent_path(), needles).empty());

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

  // The offline till reconnects: it gets the command, its unsent sale arrives without her, it
  // confirms, and the request is done.
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

  // No byte of hers in any file of the hub's folder or any agent's (databases, their WAL,
  // logs), as sent and as normalised.
  EXPECT_THAT(FindBytes(HubDir(), needles), ::testing::IsEmpty());
  for (FleetAgent* a : {&till1, &kiosk, &till2, &offline, &far}) {
    EXPECT_THAT(FindBytes(a->config.parent_path(), needles), ::testing::IsEmpty()) << a->id;
  }
  // Bob's is still there (the scan finds what is present).
  EXPECT_FALSE(FindBytes(HubDir(), {kOtherEmail}).empty());

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
}  // namespace cjd::itest

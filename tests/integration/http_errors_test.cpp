// The agent's HTTP error contract (400 with the first bad field, 401, 413, 507) and bad configs.
// After every refusal nothing accepted before is lost: the outbox counts stay put, and once the
// broker and the hub run, the hub holds exactly the accepted events.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"

namespace cjd::itest {
namespace {

using cjd::testing::RunCommand;

struct BadRequest {
  std::string what;
  nlohmann::json body;
  std::string field;  // the expected error.field
};

// A valid transaction for s1 with one change applied by `edit`.
nlohmann::json Tx(const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = MakeTransaction("s1");
  edit(j);
  return j;
}

class HttpErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    agent_ = &fleet_.AddDevice("pos-1", "s1");
    SetTomlKey(agent_->config, "http", "max_body_bytes", "4096");
    SetTomlKey(agent_->config, "outbox", "budget_bytes", "65536");
    // The broker goes away before the agent starts and the hub is not running: nothing drains.
    ASSERT_TRUE(fleet_.broker().Stop().has_value());
    ASSERT_TRUE(fleet_.StartAgent(*agent_));
    client_ = std::make_unique<HttpClient>(agent_->port, 30s);
  }

  // Posts `body` and records the ids of a 202.
  PostResult Post(const nlohmann::json& body) {
    PostResult r = PostEvents(*client_, agent_->token, body);
    if (r.status == 202) accepted_.insert(r.event_ids.begin(), r.event_ids.end());
    return r;
  }

  // The agent's outbox still holds exactly what was accepted.
  void ExpectNothingLost() {
    const nlohmann::json s = fleet_.AgentStatus(*agent_);
    ASSERT_TRUE(s.is_object());
    EXPECT_EQ(s["last_seq"], accepted_.size()) << s.dump();
    EXPECT_EQ(s["backlog"], accepted_.size()) << s.dump();
  }

  Fleet fleet_;
  FleetAgent* agent_ = nullptr;
  std::unique_ptr<HttpClient> client_;
  std::set<std::string> accepted_;
};

TEST_F(HttpErrors, RefusalsNameTheProblemAndLoseNothing) {
  ASSERT_EQ(Post(MakeTransaction("s1")).status, 202);
  ASSERT_EQ(Post(nlohmann::json::array({MakeLoyaltyScan("s1"), MakeTransaction("s1", "tx-1")})).status, 202);
  ExpectNothingLost();

  // Malformed JSON.
  for (const std::string raw : {"{", "[1, 2", "{\"type\": \"transaction\",}", "not json"}) {
    const PostResult r = PostRaw(*client_, agent_->token, raw);
    EXPECT_EQ(r.status, 400) << raw << ": " << r.body;
    EXPECT_EQ(r.json["error"]["code"], "invalid_json") << raw << ": " << r.body;
  }

  nlohmann::json bad_array = nlohmann::json::array();
  for (int i = 0; i < 5; ++i) bad_array.push_back(MakeTransaction("s1"));
  bad_array[3]["order"]["items"][0]["quantity"] = 0;
  nlohmann::json mixed = nlohmann::json::array({MakeLoyaltyScan("s1"), MakeLoyaltyScan("s2")});

  const std::vector<BadRequest> cases = {
      {"quantity as a string", Tx([](auto& j) { j["order"]["items"][0]["quantity"] = "two"; }),
       "order.items[0].quantity"},
      {"store_id as a number", Tx([](auto& j) { j["store_id"] = 5; }), "store_id"},
      {"type as an array", Tx([](auto& j) { j["type"] = nlohmann::json::array(); }), "type"},
      {"missing occurred_at", Tx([](auto& j) { j.erase("occurred_at"); }), "occurred_at"},
      {"missing store_id", Tx([](auto& j) { j.erase("store_id"); }), "store_id"},
      {"transaction without order", Tx([](auto& j) { j.erase("order"); }), "order"},
      {"loyalty_scan without loyalty_id",
       [] {
         nlohmann::json j = MakeLoyaltyScan("s1");
         j["customer"] = {{"email", "a@b.com"}};
         return j;
       }(),
       "customer.loyalty_id"},
      {"bad currency", Tx([](auto& j) { j["order"]["currency"] = "EURO"; }), "order.currency"},
      {"lower-case currency", Tx([](auto& j) { j["order"]["currency"] = "eur"; }), "order.currency"},
      {"impossible date", Tx([](auto& j) { j["occurred_at"] = "2026-13-45T25:00:00+01:00"; }),
       "occurred_at"},
      {"date without offset", Tx([](auto& j) { j["occurred_at"] = "2026-11-23T10:00:00"; }),
       "occurred_at"},
      {"unknown field", Tx([](auto& j) { j["colour"] = "blue"; }), "colour"},
      {"unknown item field", Tx([](auto& j) { j["order"]["items"][0]["colour"] = "blue"; }),
       "order.items[0].colour"},
      {"bad element at index 3", bad_array, "[3].order.items[0].quantity"},
      {"another store's event at index 1", mixed, "[1].store_id"},
      {"this agent's store only", MakeTransaction("s2"), "store_id"},
  };
  for (const auto& c : cases) {
    const PostResult r = Post(c.body);
    EXPECT_EQ(r.status, 400) << c.what << ": " << r.body;
    EXPECT_TRUE(r.json.is_object() && r.json.contains("error")) << c.what << ": " << r.body;
    if (!r.json.is_object() || !r.json.contains("error")) continue;
    EXPECT_EQ(r.json["error"].value("code", ""), "invalid") << c.what << ": " << r.body;
    EXPECT_EQ(r.json["error"].value("field", ""), c.field) << c.what << ": " << r.body;
    EXPECT_FALSE(r.json["error"].value("message", "").empty()) << c.what;
  }
  ExpectNothingLost();

  // Authentication.
  {
    const PostResult none = PostEvents(*client_, "", MakeTransaction("s1"));
    EXPECT_EQ(none.status, 401) << none.body;
    const PostResult wrong = PostEvents(*client_, agent_->token + "x", MakeTransaction("s1"));
    EXPECT_EQ(wrong.status, 401) << wrong.body;
    const PostResult other = PostEvents(*client_, "0123456789abcdef0123456789abcdef", MakeTransaction("s1"));
    EXPECT_EQ(other.status, 401) << other.body;
  }
  ExpectNothingLost();

  // A body over [http] max_body_bytes (4096): 413, and the agent keeps serving.
  {
    nlohmann::json big = nlohmann::json::array();
    while (big.dump().size() <= 8192) big.push_back(MakeTransaction("s1"));
    const PostResult r = Post(big);
    EXPECT_EQ(r.status, 413) << r.body;
    client_->Close();
    ASSERT_EQ(Post(MakeLoyaltyScan("s1", "after-413")).status, 202);
  }
  ExpectNothingLost();

  // Fill the 64 KiB budget (nothing drains: no broker): 507 for what does not fit, 202 before.
  int refused = 0;
  for (int i = 0; i < 1000 && refused == 0; ++i) {
    nlohmann::json batch = nlohmann::json::array();
    for (int k = 0; k < 5; ++k) batch.push_back(MakeTransaction("s1", "fill-" + std::to_string(i * 5 + k)));
    const PostResult r = Post(batch);
    if (r.status == 507) {
      ++refused;
      EXPECT_EQ(r.json["error"]["code"], "insufficient_storage") << r.body;
    } else {
      ASSERT_EQ(r.status, 202) << r.body;
    }
  }
  ASSERT_EQ(refused, 1) << "the 64 KiB budget never filled";
  ExpectNothingLost();
  {
    const nlohmann::json s = fleet_.AgentStatus(*agent_);
    EXPECT_GT(s["refused_full"].get<int64_t>(), 0) << s.dump();
    EXPECT_LE(s["backlog_bytes"].get<int64_t>(), 65536) << s.dump();
    EXPECT_EQ(s["connected"], false);
  }

  // Broker and hub come up: exactly the accepted events arrive, and the freed budget accepts
  // again.
  fleet_.broker().Restart();
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.WaitHubEventsTotal(static_cast<int64_t>(accepted_.size())))
      << "events_total " << fleet_.HubEventsTotal() << " of " << accepted_.size()
      << fleet_.Diagnostics();
  EXPECT_TRUE(fleet_.WaitBacklogDrained(*agent_)) << fleet_.AgentStatus(*agent_).dump();
  EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted_));
  EXPECT_EQ(Post(MakeTransaction("s1", "fill-0")).duplicates, 1);  // still remembered
  EXPECT_EQ(Post(MakeTransaction("s1", "after-drain")).status, 202);
  EXPECT_TRUE(fleet_.WaitHubEventsTotal(static_cast<int64_t>(accepted_.size())));
  EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted_));
}

TEST(BadConfig, AgentWithoutHttpTokenExitsNamingTheKey) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub();
  FleetAgent& agent = fleet.AddDevice("pos-1", "s1");
  ASSERT_TRUE(RemoveTomlKey(agent.config, "http", "token"));
  std::string output;
  const int rc = RunCommand({cjd::testing::AgentBinary(), "--config", agent.config.string()}, 30s,
                            &output);
  EXPECT_NE(rc, 0) << output;
  EXPECT_NE(rc, -1) << "did not exit in time: " << output;
  EXPECT_NE(output.find("http.token"), std::string::npos) << output;
}

TEST(BadConfig, HubWithABadStoreUrlOrSharedGroupExitsNamingTheKey) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub();
  const struct {
    const char* section;
    const char* key;
    const char* value;
    const char* named;
  } cases[] = {{"store", "url", "\"mysql://cjd@127.0.0.1/cjd\"", "store.url"},
               {"mqtt", "shared_group", "\"a/b\"", "mqtt.shared_group"},
               {"mqtt", "shared_group", "\"+\"", "mqtt.shared_group"}};
  for (const auto& c : cases) {
    SetTomlKey(fleet.hub_config(), c.section, c.key, c.value);
    std::string output;
    const int rc = RunCommand({cjd::testing::HubBinary(), "--config", fleet.hub_config().string()},
                              30s, &output);
    EXPECT_EQ(rc, 2) << c.named << ": " << output;
    EXPECT_NE(output.find(c.named), std::string::npos) << output;
    ASSERT_TRUE(RemoveTomlKey(fleet.hub_config(), c.section, c.key));
  }
  // An unreachable database: the hub exits naming it (without the password), not a crash loop.
  SetTomlKey(fleet.hub_config(), "store", "url",
             "\"postgresql://cjd:hunter2@127.0.0.1:1/cjd?connect_timeout=2\"");
  std::string output;
  const int rc = RunCommand({cjd::testing::HubBinary(), "--config", fleet.hub_config().string()},
                            30s, &output);
  EXPECT_NE(rc, 0) << output;
  EXPECT_NE(rc, -1) << "did not exit in time: " << output;
  EXPECT_NE(output.find("127.0.0.1:1"), std::string::npos) << output;
  EXPECT_EQ(output.find("hunter2"), std::string::npos) << output;
}

TEST(BadConfig, HubWithAMissingConfigFileExitsNonZero) {
  TempDir dir;
  const std::string missing = dir.Join("no-such-hub.toml").string();
  std::string output;
  const int rc = RunCommand({cjd::testing::HubBinary(), "--config", missing}, 30s, &output);
  EXPECT_NE(rc, 0) << output;
  EXPECT_NE(rc, -1) << "did not exit in time: " << output;
  EXPECT_NE(output.find("no-such-hub.toml"), std::string::npos) << output;
}

}  // namespace
}  // namespace cjd::itest

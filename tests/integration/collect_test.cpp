// POST /v1/collect end to end: the real `cjdctl init-hub` and `cjdctl add-source`, a real cjd-hub
// process, events posted over HTTP with a source key, and the hub's /v1/stats and SQLite store
// checked after every step.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"

namespace cjd::itest {
namespace {

using cjd::testing::RunCommand;

struct AddSourceResult {
  int rc = -1;
  std::string out;  // stdout only
  std::string err;  // stderr only
};

// Runs `cjdctl add-source` with stdout and stderr captured apart (through sh).
AddSourceResult AddSource(const TempDir& dir, const std::filesystem::path& hub_dir,
                          const std::string& name) {
  const std::filesystem::path err_file = dir.Join("add-source.err");
  AddSourceResult r;
  const std::string script = "exec \"$0\" add-source --hub-dir \"$1\" --name \"$2\" 2>\"$3\"";
  r.rc = RunCommand({"/bin/sh", "-c", script, cjd::testing::CjdctlBinary(), hub_dir.string(), name,
                     err_file.string()},
                    60s, &r.out);
  r.err = cjd::testing::ReadFile(err_file);
  return r;
}

nlohmann::json PageView(const std::string& id = "") {
  nlohmann::json j = {{"type", "page_view"},
                      {"occurred_at", "2026-11-23T10:15:00+01:00"},
                      {"customer", {{"anonymous_id", "anon-42"}}},
                      {"properties", {{"url", "https://shop.example/candles"}}}};
  if (!id.empty()) j["event_id"] = id;
  return j;
}

nlohmann::json OrderCompleted(const std::string& id) {
  return {{"type", "order_completed"},
          {"event_id", id},
          {"occurred_at", "2026-11-23T10:20:00Z"},
          {"customer", {{"email", "ana@example.com"}}},
          {"order",
           {{"order_id", "W-" + id},
            {"currency", "EUR"},
            {"items", {{{"sku", "CANDLE-01"}, {"quantity", 2}, {"unit_price", "12.10"}}}}}}};
}

class Collect : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    const AddSourceResult r = AddSource(fleet_.dir(), hub_dir(), "webshop");
    ASSERT_EQ(r.rc, 0) << r.out << r.err;
    key_ = OnlyLine(r.out);
    ASSERT_FALSE(key_.empty()) << "stdout must be exactly one line: [" << r.out << "]";
    fleet_.StartHub();
    client_ = std::make_unique<HttpClient>(fleet_.hub_port(), 30s);
  }

  std::filesystem::path hub_dir() const { return fleet_.hub_config().parent_path(); }

  // The line if `out` is exactly one newline-terminated line, else "".
  static std::string OnlyLine(const std::string& out) {
    if (out.empty() || out.back() != '\n' || out.find('\n') != out.size() - 1) return "";
    return out.substr(0, out.size() - 1);
  }

  HttpResponse Post(const nlohmann::json& body, const std::string& key) {
    return client_->Post("/v1/collect", body.dump(), key);
  }

  int64_t EventsTotal() { return fleet_.HubEventsTotal(); }

  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(Collect, AddSourcePrintsOnlyTheKey) {
  EXPECT_EQ(key_.rfind("cjds_", 0), 0u) << key_;
  EXPECT_EQ(key_.size(), 48u) << key_;
  // The key is not in the hub's files, only its hash.
  EXPECT_EQ(cjd::testing::ReadFile(fleet_.hub_db()).find(key_.substr(5)), std::string::npos);
}

TEST_F(Collect, RefusesRequestsWithoutAValidSourceKey) {
  for (const std::string& key : {std::string(), std::string("cjds_wrong"), fleet_.hub_token(),
                                 key_ + "x"}) {
    const HttpResponse r = Post(PageView(), key);
    EXPECT_EQ(r.status, 401) << key << ": " << r.body;
    EXPECT_EQ(r.Json()["error"]["code"], "unauthorized") << r.body;
    const auto challenge = r.headers.find("WWW-Authenticate");
    EXPECT_TRUE(challenge != r.headers.end() && challenge->second == "Bearer") << key;
  }
  // A source key is no admin token.
  EXPECT_EQ(client_->Get("/v1/stats", key_).status, 401);
  EXPECT_EQ(client_->Get("/v1/collect", key_).status, 405);
  EXPECT_EQ(EventsTotal(), 0);
}

TEST_F(Collect, AcceptsOneEventAndBatches) {
  HttpResponse r = Post(PageView(), key_);
  ASSERT_EQ(r.status, 202) << r.body;
  nlohmann::json j = r.Json();
  EXPECT_EQ(j["accepted"], 1);
  EXPECT_EQ(j["duplicates"], 0);
  ASSERT_EQ(j["event_ids"].size(), 1u);

  nlohmann::json batch = {PageView("pv-1"), OrderCompleted("oc-1"), PageView()};
  batch[2]["type"] = "add_to_cart";
  batch[2]["properties"] = {{"sku", "CANDLE-01"}, {"quantity", 2}};
  r = Post(batch, key_);
  ASSERT_EQ(r.status, 202) << r.body;
  j = r.Json();
  EXPECT_EQ(j["accepted"], 3);
  EXPECT_EQ(j["duplicates"], 0);
  ASSERT_EQ(j["event_ids"].size(), 3u);
  EXPECT_EQ(j["event_ids"][0], "pv-1");
  EXPECT_EQ(j["event_ids"][1], "oc-1");

  const nlohmann::json stats = fleet_.HubStats();
  EXPECT_EQ(stats["events_total"], 4) << stats.dump();
  EXPECT_EQ(stats["events_by_type"]["page_view"], 2) << stats.dump();
  EXPECT_EQ(stats["events_by_type"]["order_completed"], 1) << stats.dump();
  EXPECT_EQ(stats["events_by_type"]["add_to_cart"], 1) << stats.dump();
  EXPECT_EQ(stats["events_by_type"]["support_contact"], 0) << stats.dump();
  EXPECT_EQ(stats["events_by_type"]["transaction"], 0) << stats.dump();
  // What the hub's memory is made of (ops watch it; the soak benchmark reads it).
  const nlohmann::json& mem = stats["memory"];
  EXPECT_GT(mem["rss_bytes"].get<int64_t>(), 0) << stats.dump();
  EXPECT_GT(mem["sqlite_bytes"].get<int64_t>(), 0) << stats.dump();
  EXPECT_GE(mem["sqlite_peak_bytes"].get<int64_t>(), mem["sqlite_bytes"].get<int64_t>());

  const std::vector<HubEventRow> rows = ReadHubEvents(fleet_.hub_db());
  ASSERT_EQ(rows.size(), 4u);
  for (const HubEventRow& row : rows) EXPECT_EQ(row.source, "webshop") << row.event_id;
}

TEST_F(Collect, BadEventInABatchNamesTheFieldAndStoresNothing) {
  ASSERT_EQ(Post(PageView("before"), key_).status, 202);
  nlohmann::json batch = {PageView("b-0"), PageView("b-1"), OrderCompleted("b-2"),
                          PageView("b-3")};
  batch[2]["order"]["items"][0]["unit_price"] = "12.1.0";
  HttpResponse r = Post(batch, key_);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["error"]["field"], "[2].order.items[0].unit_price") << r.body;
  EXPECT_EQ(EventsTotal(), 1);
  EXPECT_EQ(ReadHubEvents(fleet_.hub_db()).size(), 1u);

  r = client_->Post("/v1/collect", "[{\"type\": ", key_);
  EXPECT_EQ(r.status, 400) << r.body;
  EXPECT_EQ(r.Json()["error"]["code"], "invalid_json") << r.body;
  r = client_->Request("POST", "/v1/collect", PageView().dump(),
                       {{"Authorization", "Bearer " + key_}, {"Content-Type", "text/csv"}});
  EXPECT_EQ(r.status, 415) << r.body;
  EXPECT_EQ(EventsTotal(), 1);

  // The same batch, fixed, goes in whole.
  batch[2]["order"]["items"][0]["unit_price"] = "12.10";
  r = Post(batch, key_);
  EXPECT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(EventsTotal(), 5);
}

TEST_F(Collect, ReplayedEventIdsAreDuplicatesNotNewEvents) {
  const nlohmann::json batch = {PageView("r-1"), OrderCompleted("r-2"), PageView("r-3")};
  ASSERT_EQ(Post(batch, key_).status, 202);
  const HttpResponse r = Post(batch, key_);
  ASSERT_EQ(r.status, 202) << r.body;
  EXPECT_EQ(r.Json()["accepted"], 3);
  EXPECT_EQ(r.Json()["duplicates"], 3);
  const nlohmann::json stats = fleet_.HubStats();
  EXPECT_EQ(stats["events_total"], 3) << stats.dump();
  EXPECT_EQ(stats["duplicate_events"], 3) << stats.dump();
  // (Not HubHoldsExactly: collect events have no device sequence.)
  std::multiset<std::string> ids;
  for (const HubEventRow& row : ReadHubEvents(fleet_.hub_db())) ids.insert(row.event_id);
  EXPECT_EQ(ids, (std::multiset<std::string>{"r-1", "r-2", "r-3"}));
}

TEST_F(Collect, SourceAddedWhileTheHubRunsWorksAtOnce) {
  ASSERT_EQ(Post(PageView(), key_).status, 202);
  const AddSourceResult added = AddSource(fleet_.dir(), hub_dir(), "crm");
  ASSERT_EQ(added.rc, 0) << added.err;
  const std::string crm_key = OnlyLine(added.out);
  ASSERT_FALSE(crm_key.empty()) << added.out;
  const HttpResponse r = Post(PageView("crm-1"), crm_key);
  ASSERT_EQ(r.status, 202) << r.body;
  bool found = false;
  for (const HubEventRow& row : ReadHubEvents(fleet_.hub_db())) {
    if (row.event_id == "crm-1") found = row.source == "crm";
  }
  EXPECT_TRUE(found);
  // The first source still works (cached).
  EXPECT_EQ(Post(PageView(), key_).status, 202);
}

TEST_F(Collect, AddSourceRefusesTakenOrBadNamesAndMissingHub) {
  AddSourceResult r = AddSource(fleet_.dir(), hub_dir(), "webshop");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("already registered"), std::string::npos) << r.err;

  fleet_.AddDevice("pos-1", "s1");
  r = AddSource(fleet_.dir(), hub_dir(), "pos-1");
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.err.find("device"), std::string::npos) << r.err;

  r = AddSource(fleet_.dir(), hub_dir(), "web shop");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("--name"), std::string::npos) << r.err;

  r = AddSource(fleet_.dir(), fleet_.dir().Join("no-hub"), "other");
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(r.out, "");
  EXPECT_NE(r.err.find("no hub"), std::string::npos) << r.err;

  // add-device refuses an id that is a source name.
  std::string output;
  const int rc = RunCommand({cjd::testing::CjdctlBinary(), "add-device", "--hub-dir",
                             hub_dir().string(), "--id", "webshop", "--store", "s1", "--kind",
                             "pos", "--out", fleet_.dir().Join("webshop.toml").string()},
                            60s, &output);
  EXPECT_EQ(rc, 1) << output;
  EXPECT_NE(output.find("collect source"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(fleet_.dir().Join("webshop.toml")));
}

}  // namespace
}  // namespace cjd::itest

// The fixture of the projection tests: a hub event log and a projection in a temp dir, events
// appended the way ingest and /v1/collect append them, a Projector (its change feed recorded)
// and a ProfileReader on them.
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "hub/projection/profile_reader.h"
#include "hub/projection/projector.h"
#include "hub/store/sqlite_hub_store.h"
#include "shared/event/json_exact.h"
#include "tests/support/temp_dir.h"

namespace cjd::hub {

class ProjectorTest : public ::testing::Test {
 protected:
  using json = nlohmann::json;

  void SetUp() override {
    config_.store_path = dir_.Join("hub.db").string();
    config_.profiles_path = dir_.Join("profiles.db").string();
    config_.identity_key_file = dir_.Join("identity.key").string();
    auto store = SqliteHubStore::Open(config_.store_path);  // creates the log's schema
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    auto log = sqlite::Database::Open(config_.store_path, {});
    ASSERT_TRUE(log.ok());
    log_ = std::move(*log);
    auto keys = LoadOrCreateIdentityKeys(config_.identity_key_file);
    ASSERT_TRUE(keys.ok()) << keys.status().ToString();
    keys_ = *keys;
    StartProjection();
  }
  void TearDown() override {
    reader_.reset();
    if (projector_) projector_->Stop();
  }

  void StopProjection() {
    reader_.reset();
    projector_->Stop();
    projector_.reset();
  }

  // The rows of a query on profiles.db whose one column is text (a separate connection, as a
  // reader sees the committed state).
  std::vector<std::string> Rows(const std::string& sql) {
    std::vector<std::string> out;
    auto db = sqlite::Database::Open(config_.profiles_path);
    EXPECT_TRUE(db.ok()) << db.status().ToString();
    if (!db.ok()) return out;
    auto s = (*db)->Prepare(sql);
    EXPECT_TRUE(s.ok()) << s.status().ToString() << " " << sql;
    if (!s.ok()) return out;
    while (true) {
      auto r = s->Step();
      EXPECT_TRUE(r.ok()) << r.status().ToString();
      if (!r.ok() || !*r) break;
      out.push_back(s->ColumnText(0));
    }
    return out;
  }

  void StartProjection() {
    projector_ = std::make_unique<Projector>(config_, keys_, &clock_);
    projector_->set_rfm(&rfm_);
    // The hooks run on the projector's thread too (it polls the log): record under a mutex.
    projector_->set_on_profiles_changed([this](const std::vector<int64_t>& ids) {
      std::lock_guard lock(feed_mu_);
      feed_.push_back(ids);
    });
    projector_->set_on_rfm_changed([this] {
      std::lock_guard lock(feed_mu_);
      ++rfm_recomputes_;
    });
    ASSERT_TRUE(projector_->Start().ok());
    auto reader = ProfileReader::Open(config_.profiles_path, config_.store_path, keys_, &rfm_);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    reader_ = std::move(*reader);
  }

  // Appends one event (JSON text, validated like the collect API does) to the log.
  void Log(const std::string& text) {
    Result<json> j = ParseJsonExact(text);
    ASSERT_TRUE(j.ok()) << text;
    Result<Event> e = ValidateEvent(*j);
    ASSERT_TRUE(e.ok()) << e.status().ToString() << " " << text;
    if (e->event_id.empty()) e->event_id = "ev-" + std::to_string(++seq_);
    auto ins = log_->Prepare(
        "INSERT INTO events (event_id, source, seq, type, occurred_at_ms, received_at_ms, body) "
        "VALUES (?1, 'test', NULL, ?2, ?3, ?4, ?5)");
    ASSERT_TRUE(ins.ok());
    ins->Bind(1, e->event_id).Bind(2, EventTypeName(e->type)).Bind(3, e->occurred_at_ms)
        .Bind(4, clock_.NowMillis()).Bind(5, ToCanonicalJson(*e));
    ASSERT_TRUE(ins->Run().ok());
  }

  void Order(const std::string& order_id, const std::string& customer_json,
             const std::string& items_json, const std::string& when = "2011-01-10T10:00:00Z",
             const std::string& store = "s1") {
    Log(R"({"type":"order_completed","occurred_at":")" + when + R"(","store_id":")" + store +
        R"(","channel":"store")" + (customer_json.empty() ? "" : ",\"customer\":" + customer_json) +
        R"(,"order":{"order_id":")" + order_id + R"(","currency":"GBP","items":)" + items_json +
        "}}");
  }

  void CatchUp() {
    auto c = projector_->CatchUp();
    ASSERT_TRUE(c.ok()) << c.status().ToString();
  }

  int64_t ProfileOf(const std::string& typed) {
    auto parsed = identity::ParseTypedIdentifier(typed, {config_.default_country});
    EXPECT_TRUE(parsed.ok()) << typed;
    auto pid = reader_->FindByIdentifier(
        identity::IdentifierKey(parsed->first, parsed->second, keys_.pepper));
    return pid.ok() ? *pid : 0;
  }

  json Profile(int64_t id) {
    auto p = reader_->Profile(id, 50, 0, clock_.NowMillis());
    EXPECT_TRUE(p.ok()) << p.status().ToString();
    return p.ok() ? *p : json();
  }

  json Metrics(MetricsQuery q = {}) {
    auto m = reader_->Metrics(q);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    return m.ok() ? *m : json();
  }

  // The change feed's calls since the last TakeFeed(). Which commit an event lands in depends on
  // the projector's polling, so tests compare the union of the calls, after checking each call
  // is sorted and unique.
  std::vector<std::vector<int64_t>> TakeFeed() {
    std::lock_guard lock(feed_mu_);
    for (const auto& ids : feed_) {
      EXPECT_FALSE(ids.empty());
      EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
      EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end());
    }
    return std::exchange(feed_, {});
  }
  std::set<int64_t> FeedUnion() {
    std::set<int64_t> out;
    for (const auto& ids : TakeFeed()) out.insert(ids.begin(), ids.end());
    return out;
  }
  int RfmRecomputes() {
    std::lock_guard lock(feed_mu_);
    return rfm_recomputes_;
  }

  std::mutex feed_mu_;
  std::vector<std::vector<int64_t>> feed_;
  int rfm_recomputes_ = 0;
  cjd::testing::TempDir dir_;
  HubConfig config_;
  FakeClock clock_{1'700'000'000'000};
  IdentityKeys keys_;
  RfmModel rfm_;
  std::unique_ptr<sqlite::Database> log_;
  std::unique_ptr<Projector> projector_;
  std::unique_ptr<ProfileReader> reader_;
  int seq_ = 0;
};

}  // namespace cjd::hub

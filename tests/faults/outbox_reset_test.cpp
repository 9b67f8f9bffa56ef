// Fault tests: the agent's outbox is lost, restored from an old backup, or damaged while the agent
// is stopped. Real Mosquitto, real cjd-hub and cjd-agent processes, real SQLite files. In every
// case each event the agent answered 202 for reaches the hub exactly once (counted by event id in
// the hub's store and by /v1/stats), and the reset shows in the agent's status and the fleet view.
//
// Why these fail without outbox epochs: the new outbox numbers its events from where it stands
// (1, or the backup's last sequence + 1); the hub held those sequence numbers already, treated the
// frames as resends and dropped them, and the agent deleted the rows on the hub's ack.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

namespace fs = std::filesystem;
using cjd::testing::WaitUntil;

fs::path OutboxPath(const FleetAgent& a) { return a.config.parent_path() / (a.id + ".outbox.db"); }

// Posts `n` transactions in requests of 5 and adds the ids of the 202s to `ids`.
void Post(const FleetAgent& a, int n, std::set<std::string>* ids) {
  HttpClient client(a.port, 30s);
  for (int sent = 0; sent < n; sent += 5) {
    nlohmann::json body = nlohmann::json::array();
    for (int i = sent; i < std::min(n, sent + 5); ++i) body.push_back(MakeTransaction(a.store));
    PostResult r = PostEvents(client, a.token, body);
    ASSERT_EQ(r.status, 202) << r.body;
    ids->insert(r.event_ids.begin(), r.event_ids.end());
  }
}

void RemoveOutboxFiles(const fs::path& db) {
  for (const char* suffix : {"", "-wal", "-shm"}) fs::remove(db.string() + suffix);
}

class OutboxResetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    agent_ = &fleet_.AddDevice("pos-1", "s1");
    fleet_.StartHub();
    ASSERT_TRUE(fleet_.StartAgent(*agent_));
  }

  // Everything accepted is at the hub exactly once, and the agent holds nothing back.
  void ExpectAllDelivered(const std::set<std::string>& ids) {
    ASSERT_TRUE(fleet_.WaitHubEventsTotal(static_cast<int64_t>(ids.size())))
        << "hub events_total " << fleet_.HubEventsTotal() << ", expected " << ids.size() << "\n"
        << fleet_.Diagnostics();
    ASSERT_TRUE(fleet_.WaitBacklogDrained(*agent_)) << fleet_.Diagnostics();
    EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), ids));
    EXPECT_EQ(fleet_.HubEventsTotal(), static_cast<int64_t>(ids.size()));
  }

  // The fleet view's entry for the agent once its heartbeat reports `reason` and the hub tracks
  // `epochs` epochs for it (null json on timeout).
  nlohmann::json WaitFleetShowsReset(const std::string& reason, size_t epochs) {
    nlohmann::json found;
    WaitUntil(
        [&] {
          const nlohmann::json d = fleet_.HubDevices();
          if (!d.is_object()) return false;
          for (const auto& e : d["devices"]) {
            if (e.value("device_id", "") != agent_->id) continue;
            if (e.value("epochs", size_t{0}) != epochs) return false;
            for (const auto& r : e["outbox_resets"]) {
              if (r.value("reason", "") == reason) {
                found = e;
                return true;
              }
            }
          }
          return false;
        },
        kDeliveryTimeout, 100ms);
    return found;
  }

  Fleet fleet_{"cjd-faults-"};
  FleetAgent* agent_ = nullptr;
};

TEST_F(OutboxResetTest, DeletedOutboxStartsANewEpochAndNothingIsLost) {
  std::set<std::string> ids;
  Post(*agent_, 30, &ids);
  ASSERT_TRUE(fleet_.WaitBacklogDrained(*agent_)) << fleet_.Diagnostics();
  const std::string epoch_before = fleet_.AgentStatus(*agent_).value("epoch", "");
  ASSERT_EQ(agent_->process.Terminate(), std::optional<int>(0));

  RemoveOutboxFiles(OutboxPath(*agent_));  // a new disk, a re-imaged till
  ASSERT_TRUE(fleet_.StartAgent(*agent_));
  Post(*agent_, 10, &ids);  // sequence numbers 1..10 again, under a new epoch
  ExpectAllDelivered(ids);

  const nlohmann::json status = fleet_.AgentStatus(*agent_);
  EXPECT_NE(status.value("epoch", ""), epoch_before);
  EXPECT_EQ(status.value("last_seq", 0), 10);
  EXPECT_EQ(status.value("acks_ignored", -1), 0);
  ASSERT_TRUE(WaitUntil(
      [&] {
        const nlohmann::json d = fleet_.HubDevices();
        return d.is_object() && !d["devices"].empty() &&
               d["devices"][0].value("epochs", 0) == 2 &&
               d["devices"][0].value("epoch", "") == status.value("epoch", "x");
      },
      kDeliveryTimeout, 100ms))
      << fleet_.HubDevices().dump();
}

TEST_F(OutboxResetTest, OutboxRestoredFromAnOldBackupStartsANewEpochAndNothingIsLost) {
  std::set<std::string> ids;
  Post(*agent_, 20, &ids);  // seq 1..20, acknowledged
  ASSERT_TRUE(fleet_.WaitBacklogDrained(*agent_)) << fleet_.Diagnostics();

  // The hub is away: 10 more wait in the outbox (sent, not acknowledged) when the backup is taken.
  fleet_.KillHub();
  Post(*agent_, 10, &ids);  // seq 21..30
  ASSERT_TRUE(WaitUntil([&] { return fleet_.AgentStatus(*agent_).value("backlog", 0) == 10; },
                        kStartTimeout));
  const fs::path db = OutboxPath(*agent_);
  const fs::path backup = fleet_.dir().Join("backup");
  fs::create_directories(backup);
  // A file-level backup of the running agent's outbox (it is idle: nothing is being written).
  for (const char* suffix : {"", "-wal"}) {
    if (fs::exists(db.string() + suffix)) {
      fs::copy_file(db.string() + suffix, (backup / db.filename()).string() + suffix);
    }
  }
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.WaitBacklogDrained(*agent_)) << fleet_.Diagnostics();
  Post(*agent_, 25, &ids);  // seq 31..55, acknowledged
  ASSERT_TRUE(fleet_.WaitBacklogDrained(*agent_)) << fleet_.Diagnostics();
  const std::string epoch_before = fleet_.AgentStatus(*agent_).value("epoch", "");
  ASSERT_EQ(agent_->process.Terminate(), std::optional<int>(0));

  // Restore the backup: the outbox is back at last_seq 30, 21..30 waiting.
  RemoveOutboxFiles(db);
  for (const char* suffix : {"", "-wal"}) {
    if (fs::exists((backup / db.filename()).string() + suffix)) {
      fs::copy_file((backup / db.filename()).string() + suffix, db.string() + suffix);
    }
  }
  ASSERT_TRUE(fleet_.StartAgent(*agent_));
  Post(*agent_, 15, &ids);  // would be seq 31..45 again: numbers the hub holds for other events
  ExpectAllDelivered(ids);

  const nlohmann::json status = fleet_.AgentStatus(*agent_);
  EXPECT_NE(status.value("epoch", ""), epoch_before);
  // 21..30 and the 15 new ones, renumbered 1..25 under the new epoch.
  EXPECT_EQ(status.value("last_seq", 0), 25) << status.dump();
  ASSERT_TRUE(status["outbox_resets"].is_array()) << status.dump();
  ASSERT_EQ(status["outbox_resets"].size(), 1u) << status.dump();
  EXPECT_EQ(status["outbox_resets"][0].value("reason", ""), "restored");
  EXPECT_EQ(status["outbox_resets"][0].value("epoch", ""), status.value("epoch", "x"));
  const nlohmann::json entry = WaitFleetShowsReset("restored", 2);
  EXPECT_TRUE(entry.is_object()) << fleet_.HubDevices().dump();
  // Every event of the restored rows was stored once: they were resent, the hub deduped them.
  const nlohmann::json stats = fleet_.HubStats();
  EXPECT_GE(stats.value("duplicate_events", int64_t{0}), 10) << stats.dump();
}

TEST_F(OutboxResetTest, DamagedOutboxIsMovedAsideReportedAndTheAgentKeepsServing) {
  std::set<std::string> ids;
  Post(*agent_, 30, &ids);
  ASSERT_TRUE(fleet_.WaitBacklogDrained(*agent_)) << fleet_.Diagnostics();
  ASSERT_EQ(agent_->process.Terminate(), std::optional<int>(0));

  // Garbage over every page but the first, while the agent is stopped.
  const fs::path db = OutboxPath(*agent_);
  fs::remove(db.string() + "-wal");
  fs::remove(db.string() + "-shm");
  const auto size = fs::file_size(db);
  ASSERT_GT(size, 4096u);
  {
    std::fstream f(db, std::ios::in | std::ios::out | std::ios::binary);
    std::string junk(size - 4096, '\0');
    for (size_t i = 0; i < junk.size(); ++i) junk[i] = static_cast<char>((i * 197 + 11) & 0xff);
    f.seekp(4096);
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }

  ASSERT_TRUE(fleet_.StartAgent(*agent_));
  Post(*agent_, 12, &ids);
  ExpectAllDelivered(ids);

  // The damaged file is still there, under a new name.
  int moved = 0;
  for (const auto& entry : fs::directory_iterator(db.parent_path())) {
    if (entry.path().filename().string().rfind(db.filename().string() + ".corrupt-", 0) == 0 &&
        entry.path().string().find("-wal") == std::string::npos &&
        entry.path().string().find("-shm") == std::string::npos) {
      ++moved;
      EXPECT_EQ(fs::file_size(entry.path()), size);
    }
  }
  EXPECT_EQ(moved, 1);
  const nlohmann::json entry = WaitFleetShowsReset("corrupt", 2);
  ASSERT_TRUE(entry.is_object()) << fleet_.HubDevices().dump();
  const nlohmann::json& reset = entry["outbox_resets"][0];
  EXPECT_NE(reset.value("detail", "").find(".corrupt-"), std::string::npos) << reset.dump();
  EXPECT_FALSE(reset.value("at", "").empty());
}

}  // namespace
}  // namespace cjd::itest

// Full disks, with real processes. The agent's outbox, or the hub's whole folder, sits on a small
// tmpfs (mounting needs root; skipped with the reason otherwise) that a filler file and the
// traffic itself fill up.
//
// Agent: sales get a 507 naming the full disk, offer impressions (telemetry) are dropped first and
// counted, nothing accepted is lost, the outbox stays sound (PRAGMA integrity_check), and once the
// filler is deleted the agent takes sales again and drains its backlog by itself.
// Hub: it stops acknowledging (every sequence an agent holds as acknowledged is in the hub's
// store), keeps answering HTTP, and once space returns every accepted event arrives exactly once.
#include <gtest/gtest.h>

#include <map>

#include "tests/faults/fault_fixture.h"
#include "tests/support/small_fs.h"
#include "tests/support/wait.h"

namespace cjd::faults {
namespace {

using cjd::testing::SmallFilesystem;
using cjd::testing::WaitUntil;

HttpResponse GetOffers(const FleetAgent& kiosk) {
  HttpClient c(kiosk.port, 10s);
  return c.Get("/v1/offers", kiosk.token);
}

nlohmann::json Sales(const FleetAgent& agent, const std::string& prefix, int n,
                     std::vector<std::string>* ids) {
  nlohmann::json body = nlohmann::json::array();
  for (int i = 0; i < n; ++i) {
    ids->push_back(prefix + "-" + std::to_string(i));
    body.push_back(MakeTransaction(agent.store, ids->back(), 3));
  }
  return body;
}

TEST(FaultFullDisk, AgentRefusesSalesWith507DropsImpressionsFirstAndRecoversBySelf) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  Fleet fleet("cjd-fault-disk-agent-");
  std::string why;
  auto disk = SmallFilesystem::Mount(fleet.dir().Join("kiosk-data"), 4 << 20, &why);
  if (!disk) GTEST_SKIP() << why;
  fleet.StartBroker();
  fleet.InitHub();
  SetTomlKey(fleet.hub_config(), "offers", "resend_after_s", "2");
  FleetAgent& kiosk = fleet.AddDevice("kiosk-1", "s1", "kiosk");
  const auto outbox = disk->path() / "kiosk-1.outbox.db";
  SetTomlKey(kiosk.config, "outbox", "path", TomlQuote(outbox.string()));
  SetTomlKey(kiosk.config, "outbox", "min_free_bytes", std::to_string(256 << 10));
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(kiosk));
  ASSERT_TRUE(fleet.WaitAgentConnected(kiosk, true)) << fleet.Diagnostics();

  // An offer for everyone, so each kiosk answer records an impression.
  nlohmann::json offer = {{"id", "welcome"}, {"title", "Welcome"}, {"text", "10 % off"},
                          {"segment", "all"}, {"stores", nlohmann::json::array()},
                          {"valid_from", "2020-01-01T00:00:00Z"},
                          {"valid_until", "2099-01-01T00:00:00Z"}, {"priority", 0},
                          {"max_per_customer", 0}, {"requires_consent", false}};
  {
    HttpClient hub(fleet.hub_port(), 30s);
    const HttpResponse r = hub.Post("/v1/offers", offer.dump(), fleet.hub_token());
    ASSERT_EQ(r.status, 201) << r.body;
  }
  ASSERT_TRUE(WaitUntil([&] { return GetOffers(kiosk).body.find("welcome") != std::string::npos; },
                        kDeliveryTimeout))
      << fleet.Diagnostics();

  // The store goes offline and its backlog fills the disk.
  fleet.broker().Stop();
  ASSERT_TRUE(fleet.WaitAgentConnected(kiosk, false));
  disk->Fill(900 << 10);
  std::set<std::string> accepted;
  HttpClient client(kiosk.port, 10s);
  PostResult refused;
  int64_t accepted_at_first_drop = -1;
  for (int i = 0; i < 5000 && refused.status == 0; ++i) {
    ASSERT_EQ(GetOffers(kiosk).status, 200) << "the kiosk answers even on a full disk";
    std::vector<std::string> ids;
    const PostResult r = PostEvents(client, kiosk.token, Sales(kiosk, "sale" + std::to_string(i), 5, &ids));
    if (r.status == 202) {
      accepted.insert(ids.begin(), ids.end());
    } else {
      ASSERT_EQ(r.status, 507) << r.body;
      refused = r;
    }
    if (accepted_at_first_drop < 0 &&
        fleet.AgentStatus(kiosk).value("impressions_dropped", int64_t{0}) > 0) {
      accepted_at_first_drop = static_cast<int64_t>(accepted.size());
    }
  }
  ASSERT_EQ(refused.status, 507) << "the disk never filled";
  EXPECT_EQ(refused.json["error"]["code"], "insufficient_storage") << refused.body;
  EXPECT_NE(refused.json["error"]["message"].get<std::string>().find("disk full"),
            std::string::npos)
      << refused.body;
  nlohmann::json status = fleet.AgentStatus(kiosk);
  EXPECT_GE(status.value("refused_disk_full", int64_t{0}), 5) << status.dump();
  EXPECT_EQ(status.value("refused_full", int64_t{-1}), 0) << "the budget was not the cause";
  // Impressions went first: they were dropped while sales were still accepted.
  EXPECT_GE(accepted_at_first_drop, 0) << status.dump();
  EXPECT_LT(accepted_at_first_drop, static_cast<int64_t>(accepted.size())) << status.dump();
  EXPECT_GE(status.value("backlog", int64_t{0}), static_cast<int64_t>(accepted.size()))
      << "every accepted sale is kept: " << status.dump();
  // Still full: still refused, and the agent stays up.
  {
    std::vector<std::string> ids;
    EXPECT_EQ(PostEvents(client, kiosk.token, Sales(kiosk, "still-full", 5, &ids)).status, 507);
  }
  EXPECT_TRUE(kiosk.process.Running());
  EXPECT_EQ(IntegrityCheck(outbox), "ok");

  // Space returns and the store comes back online: sales are taken, the backlog drains.
  disk->Release();
  fleet.broker().Restart();
  std::vector<std::string> ids;
  const nlohmann::json after = Sales(kiosk, "after", 5, &ids);
  ASSERT_TRUE(WaitUntil([&] { return PostEvents(client, kiosk.token, after).status == 202; }, 30s))
      << fleet.AgentStatus(kiosk).dump();
  accepted.insert(ids.begin(), ids.end());
  EXPECT_TRUE(fleet.WaitBacklogDrained(kiosk)) << fleet.AgentStatus(kiosk).dump()
                                                << fleet.Diagnostics();
  status = fleet.AgentStatus(kiosk);
  // At the hub: every accepted sale once, and exactly the impressions the agent recorded.
  std::map<std::string, int> sales;
  int64_t impressions = 0;
  for (const HubEventRow& row : ReadHubEvents(fleet.hub_db())) {
    if (row.type == "offer_impression") ++impressions;
    else ++sales[row.event_id];
  }
  EXPECT_EQ(sales.size(), accepted.size());
  for (const auto& id : accepted) EXPECT_EQ(sales[id], 1) << id;
  EXPECT_EQ(impressions, status.value("impressions_recorded", int64_t{-1})) << status.dump();
  EXPECT_GT(status.value("impressions_dropped", int64_t{0}), 0);
  EXPECT_EQ(IntegrityCheck(outbox), "ok");
}

// Every sequence 1..acked of `device` is in the hub's store: nothing acknowledged is missing.
::testing::AssertionResult AckedAreStored(Fleet& fleet, const FleetAgent& agent) {
  const uint64_t acked = fleet.AgentStatus(agent).value("acked_seq", uint64_t{0});
  std::set<int64_t> seqs;
  for (const HubEventRow& row : ReadHubEvents(fleet.hub_db())) {
    if (row.source == agent.id) seqs.insert(row.seq);
  }
  for (uint64_t s = 1; s <= acked; ++s) {
    if (seqs.count(static_cast<int64_t>(s)) == 0) {
      return ::testing::AssertionFailure()
             << agent.id << " holds " << acked << " as acknowledged but seq " << s
             << " is not in the hub's store";
    }
  }
  return ::testing::AssertionSuccess() << acked << " acknowledged, all stored";
}

TEST(FaultFullDisk, HubStopsAcknowledgingOnAFullDiskAndLosesNothing) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  Fleet fleet("cjd-fault-disk-hub-");
  std::string why;
  auto disk = SmallFilesystem::Mount(fleet.dir().Join("hub"), 16 << 20, &why);
  if (!disk) GTEST_SKIP() << why;
  fleet.StartBroker();
  fleet.InitHub();
  FleetAgent& a = fleet.AddDevice("pos-1", "s1");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(a));
  SteadyTraffic traffic({&a}, FaultSeed(), 20ms);
  ASSERT_TRUE(WaitProgress(fleet, traffic, 50)) << fleet.Diagnostics();

  disk->Fill(0);
  // The hub stops acknowledging once a commit finds no room (bounded: the WAL it holds fills
  // within seconds at this rate).
  uint64_t last_acked = 0;
  int unchanged = 0;
  for (int i = 0; i < 90 && unchanged < 4; ++i) {
    std::this_thread::sleep_for(1000ms);
    const nlohmann::json s = fleet.AgentStatus(a);
    const uint64_t acked = s.value("acked_seq", uint64_t{0});
    unchanged = (acked == last_acked && s.value("backlog", int64_t{0}) > 0) ? unchanged + 1 : 0;
    last_acked = acked;
  }
  ASSERT_EQ(unchanged, 4) << "the hub never stopped acknowledging on a full disk"
                          << fleet.Diagnostics();
  EXPECT_TRUE(AckedAreStored(fleet, a));
  EXPECT_TRUE(fleet.hub_process().Running()) << fleet.Diagnostics();
  EXPECT_TRUE(fleet.HubHealthy());
  const int64_t accepted_when_full = traffic.accepted();
  std::this_thread::sleep_for(3000ms);
  EXPECT_GT(traffic.accepted(), accepted_when_full) << "the agent kept taking sales";
  EXPECT_EQ(fleet.AgentStatus(a).value("acked_seq", uint64_t{0}), last_acked);
  EXPECT_TRUE(AckedAreStored(fleet, a));

  disk->Release();
  ASSERT_TRUE(WaitProgress(fleet, traffic, 50)) << fleet.Diagnostics();
  traffic.Stop();
  ExpectExactlyOnce(fleet, traffic);
  EXPECT_EQ(IntegrityCheck(fleet.hub_db()), "ok");
}

}  // namespace
}  // namespace cjd::faults

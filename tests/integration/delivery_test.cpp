// 10,000 events through two POS agents arrive at the hub exactly once.
#include <gtest/gtest.h>

#include <mutex>
#include <random>
#include <thread>

#include "tests/integration/fleet_fixture.h"

namespace cjd::itest {
namespace {

constexpr int kEvents = 10'000;
constexpr int kThreadsPerAgent = 2;
constexpr int kBatchSizes[] = {1, 1, 2, 7, 50, 1, 13, 200, 3, 1, 100, 25, 1, 5, 64};

struct ClientTally {
  std::set<std::string> ids;
  int64_t transactions = 0;
  int64_t scans = 0;
  int64_t retries = 0;
  std::string failure;  // first failure, if any
};

// Posts `count` distinct events in batches of various sizes. Every third batch carries client
// event ids; every fifth accepted batch is posted again with the ids the agent returned (a retry)
// and must come back as all duplicates with the same ids.
void Client(const FleetAgent& agent, int thread, int count, ClientTally* tally) {
  HttpClient client(agent.port, 30s);
  int sent = 0;
  int batch_no = 0;
  while (sent < count) {
    const int size = std::min(kBatchSizes[(batch_no + thread) % std::size(kBatchSizes)], count - sent);
    const bool client_ids = batch_no % 3 == 0;
    nlohmann::json body = nlohmann::json::array();
    int tx = 0;
    for (int i = 0; i < size; ++i) {
      const std::string id = client_ids ? "c-" + agent.id + "-" + std::to_string(thread) + "-" +
                                              std::to_string(sent + i)
                                        : "";
      if ((sent + i) % 4 == 3) {
        body.push_back(MakeLoyaltyScan(agent.store, id));
      } else {
        body.push_back(MakeTransaction(agent.store, id, 1 + i % 3));
        ++tx;
      }
    }
    // A single event goes as a bare object now and then.
    const nlohmann::json payload = (size == 1 && batch_no % 2 == 0) ? body[0] : body;
    PostResult r = PostEvents(client, agent.token, payload);
    if (r.status != 202 || static_cast<int>(r.event_ids.size()) != size || r.duplicates != 0) {
      tally->failure = "POST " + std::to_string(size) + " events to " + agent.id + ": " +
                       std::to_string(r.status) + " " + r.body.substr(0, 300);
      return;
    }
    for (const auto& id : r.event_ids) tally->ids.insert(id);
    if (batch_no % 5 == 4) {
      nlohmann::json again = body;
      for (size_t i = 0; i < again.size(); ++i) again[i]["event_id"] = r.event_ids[i];
      PostResult retry = PostEvents(client, agent.token, again);
      ++tally->retries;
      if (retry.status != 202 || retry.event_ids != r.event_ids || retry.duplicates != size) {
        tally->failure = "retry of " + std::to_string(size) + " events to " + agent.id + ": " +
                         std::to_string(retry.status) + " duplicates=" +
                         std::to_string(retry.duplicates) + " " + retry.body.substr(0, 300);
        return;
      }
    }
    tally->transactions += tx;
    tally->scans += size - tx;
    sent += size;
    ++batch_no;
  }
}

TEST(Delivery, TenThousandEventsThroughTwoAgentsArriveExactlyOnce) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub();
  FleetAgent& a = fleet.AddDevice("pos-1", "s1");
  FleetAgent& b = fleet.AddDevice("pos-2", "s2");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(a));
  ASSERT_TRUE(fleet.StartAgent(b));

  std::vector<ClientTally> tallies(2 * kThreadsPerAgent);
  {
    std::vector<std::thread> threads;
    const int per_thread = kEvents / static_cast<int>(tallies.size());
    for (int t = 0; t < static_cast<int>(tallies.size()); ++t) {
      const FleetAgent& agent = t % 2 == 0 ? a : b;
      threads.emplace_back(Client, std::cref(agent), t, per_thread, &tallies[t]);
    }
    for (auto& t : threads) t.join();
  }
  std::set<std::string> accepted;
  int64_t transactions = 0;
  int64_t scans = 0;
  int64_t retries = 0;
  for (const auto& t : tallies) {
    ASSERT_TRUE(t.failure.empty()) << t.failure << fleet.Diagnostics();
    accepted.insert(t.ids.begin(), t.ids.end());
    transactions += t.transactions;
    scans += t.scans;
    retries += t.retries;
  }
  ASSERT_EQ(accepted.size(), static_cast<size_t>(kEvents));
  EXPECT_GT(retries, 0);

  ASSERT_TRUE(fleet.WaitHubEventsTotal(kEvents))
      << "events_total " << fleet.HubEventsTotal() << fleet.Diagnostics();
  EXPECT_TRUE(fleet.WaitBacklogDrained(a)) << fleet.AgentStatus(a).dump();
  EXPECT_TRUE(fleet.WaitBacklogDrained(b)) << fleet.AgentStatus(b).dump();
  EXPECT_TRUE(fleet.WaitDeviceCaughtUp(a)) << fleet.HubDevices().dump();
  EXPECT_TRUE(fleet.WaitDeviceCaughtUp(b)) << fleet.HubDevices().dump();
  EXPECT_TRUE(HubHoldsExactly(fleet.hub_db(), accepted));

  const nlohmann::json stats = fleet.HubStats();
  ASSERT_TRUE(stats.is_object());
  EXPECT_EQ(stats["events_total"], kEvents);
  EXPECT_EQ(stats["events_by_type"]["transaction"], transactions);
  EXPECT_EQ(stats["events_by_type"]["loyalty_scan"], scans);
  EXPECT_EQ(stats["rejected_total"], 0) << stats.dump();
  // Both agents together got every event once; the retries were caught at the agents.
  const nlohmann::json sa = fleet.AgentStatus(a);
  const nlohmann::json sb = fleet.AgentStatus(b);
  EXPECT_EQ(sa["last_seq"].get<int64_t>() + sb["last_seq"].get<int64_t>(), kEvents);
  EXPECT_GT(sa["duplicates_total"].get<int64_t>() + sb["duplicates_total"].get<int64_t>(), 0);
}

}  // namespace
}  // namespace cjd::itest

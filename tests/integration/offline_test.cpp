// Broker outage: the agents keep accepting events into their outboxes, and once the broker is
// back everything reaches the hub exactly once.
#include <gtest/gtest.h>

#include "tests/integration/fleet_fixture.h"

namespace cjd::itest {
namespace {

// Posts `n` events to `agent` in batches of 20 (every other batch with client ids); adds the ids
// of every 202 to `accepted`. Fails the test on anything else.
void PostBatches(const FleetAgent& agent, int n, const std::string& tag,
                 std::set<std::string>* accepted) {
  HttpClient client(agent.port, 30s);
  for (int sent = 0, batch = 0; sent < n; ++batch) {
    const int size = std::min(20, n - sent);
    nlohmann::json body = nlohmann::json::array();
    for (int i = 0; i < size; ++i) {
      const std::string id = batch % 2 == 0 ? tag + "-" + agent.id + "-" + std::to_string(sent + i) : "";
      body.push_back(i % 5 == 0 ? MakeLoyaltyScan(agent.store, id) : MakeTransaction(agent.store, id));
    }
    const PostResult r = PostEvents(client, agent.token, body);
    ASSERT_EQ(r.status, 202) << r.body;
    ASSERT_EQ(r.event_ids.size(), static_cast<size_t>(size));
    accepted->insert(r.event_ids.begin(), r.event_ids.end());
    sent += size;
  }
}

TEST(Offline, AgentsBufferWhileTheBrokerIsDownAndDeliverExactlyOnceAfterwards) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub();
  FleetAgent& a = fleet.AddDevice("pos-1", "s1");
  FleetAgent& b = fleet.AddDevice("pos-2", "s2");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(a));
  ASSERT_TRUE(fleet.StartAgent(b));

  // Online first: a few events go straight through.
  std::set<std::string> accepted;
  ASSERT_NO_FATAL_FAILURE(PostBatches(a, 100, "on", &accepted));
  ASSERT_NO_FATAL_FAILURE(PostBatches(b, 100, "on", &accepted));
  ASSERT_TRUE(fleet.WaitHubEventsTotal(200)) << fleet.Diagnostics();
  ASSERT_TRUE(fleet.WaitBacklogDrained(a));
  ASSERT_TRUE(fleet.WaitBacklogDrained(b));

  // The broker goes away: both agents notice, and keep answering 202 from their outboxes.
  ASSERT_TRUE(fleet.broker().Stop().has_value());
  EXPECT_TRUE(fleet.WaitAgentConnected(a, false)) << fleet.AgentStatus(a).dump();
  EXPECT_TRUE(fleet.WaitAgentConnected(b, false)) << fleet.AgentStatus(b).dump();
  const size_t before = accepted.size();
  ASSERT_NO_FATAL_FAILURE(PostBatches(a, 1000, "off", &accepted));
  ASSERT_NO_FATAL_FAILURE(PostBatches(b, 600, "off", &accepted));
  ASSERT_EQ(accepted.size(), before + 1600);
  const nlohmann::json sa = fleet.AgentStatus(a);
  const nlohmann::json sb = fleet.AgentStatus(b);
  EXPECT_EQ(sa["connected"], false);
  EXPECT_EQ(sb["connected"], false);
  EXPECT_EQ(sa["backlog"], 1000) << sa.dump();
  EXPECT_EQ(sb["backlog"], 600) << sb.dump();
  EXPECT_EQ(fleet.HubEventsTotal(), 200);  // the hub is up but nothing can reach it

  // The broker returns on the same port: everything drains, exactly once.
  fleet.broker().Restart();
  EXPECT_TRUE(fleet.WaitAgentConnected(a, true, kDeliveryTimeout));
  EXPECT_TRUE(fleet.WaitAgentConnected(b, true, kDeliveryTimeout));
  ASSERT_TRUE(fleet.WaitHubEventsTotal(static_cast<int64_t>(accepted.size())))
      << "events_total " << fleet.HubEventsTotal() << fleet.Diagnostics();
  EXPECT_TRUE(fleet.WaitBacklogDrained(a)) << fleet.AgentStatus(a).dump();
  EXPECT_TRUE(fleet.WaitBacklogDrained(b)) << fleet.AgentStatus(b).dump();
  EXPECT_TRUE(fleet.WaitDeviceCaughtUp(a)) << fleet.HubDevices().dump();
  EXPECT_TRUE(fleet.WaitDeviceCaughtUp(b)) << fleet.HubDevices().dump();
  EXPECT_TRUE(HubHoldsExactly(fleet.hub_db(), accepted));
}

}  // namespace
}  // namespace cjd::itest

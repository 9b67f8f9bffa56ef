// SIGTERM is a clean shutdown: cjd-agent and cjd-hub exit 0 within a bound, with the broker up
// or down, and nothing accepted is lost across the restart.
#include <gtest/gtest.h>

#include "tests/integration/fleet_fixture.h"

namespace cjd::itest {
namespace {

constexpr auto kStopBound = 20s;

std::set<std::string> PostSome(const FleetAgent& agent, int n, const std::string& tag) {
  HttpClient client(agent.port, 30s);
  std::set<std::string> ids;
  for (int i = 0; i < n; ++i) {
    const PostResult r = PostEvents(client, agent.token, MakeTransaction(agent.store, tag + std::to_string(i)));
    EXPECT_EQ(r.status, 202) << r.body;
    ids.insert(r.event_ids.begin(), r.event_ids.end());
  }
  return ids;
}

TEST(Sigterm, AgentAndHubExitZero) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub();
  FleetAgent& agent = fleet.AddDevice("pos-1", "s1");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(agent));
  std::set<std::string> accepted = PostSome(agent, 50, "a-");
  ASSERT_TRUE(fleet.WaitHubEventsTotal(50)) << fleet.Diagnostics();
  ASSERT_TRUE(fleet.WaitAgentConnected(agent, true));

  // Connected agent, then the hub.
  EXPECT_EQ(agent.process.Terminate(kStopBound), 0) << agent.process.LogTail();
  EXPECT_EQ(fleet.hub_process().Terminate(kStopBound), 0) << fleet.hub_process().LogTail();

  // Both again; then SIGTERM with the broker gone (the agent holds a backlog, the hub is
  // disconnected).
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(agent));
  ASSERT_TRUE(fleet.broker().Stop().has_value());
  ASSERT_TRUE(fleet.WaitAgentConnected(agent, false));
  const std::set<std::string> offline = PostSome(agent, 20, "b-");
  accepted.insert(offline.begin(), offline.end());
  EXPECT_EQ(agent.process.Terminate(kStopBound), 0) << agent.process.LogTail();
  EXPECT_EQ(fleet.hub_process().Terminate(kStopBound), 0) << fleet.hub_process().LogTail();

  // Nothing was lost by the clean stops: the backlog is delivered after a restart.
  fleet.broker().Restart();
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(agent));
  ASSERT_TRUE(fleet.WaitHubEventsTotal(static_cast<int64_t>(accepted.size()))) << fleet.Diagnostics();
  EXPECT_TRUE(HubHoldsExactly(fleet.hub_db(), accepted));
}

}  // namespace
}  // namespace cjd::itest

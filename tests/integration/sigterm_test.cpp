// SIGTERM is a clean shutdown: cjd-agent and cjd-hub exit 0 within a bound, with the broker up
// or down, and nothing accepted is lost across the restart.
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/wait.h"

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
  // A round trip first: the agent's connection is established before the broker goes (a broker
  // that dies while an agent is still connecting hits the MqttLink race described in the report
  // of these tests; that is not what this test is about).
  const std::set<std::string> again = PostSome(agent, 1, "c-");
  accepted.insert(again.begin(), again.end());
  ASSERT_TRUE(fleet.WaitHubEventsTotal(static_cast<int64_t>(accepted.size()))) << fleet.Diagnostics();
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

// A client that posts batches with client event ids until `stop`, retrying a batch with the same
// ids on transport errors and 503 (the agent is stopping or down).
struct LoadClient {
  const FleetAgent* agent = nullptr;
  std::atomic<bool> stop{false};
  std::atomic<int64_t> accepted_count{0};
  std::set<std::string> accepted;  // read after join
  std::string failure;
  std::thread thread;

  void Run() {
    HttpClient client(agent->port, 5s);
    for (int n = 0; !stop.load() && n < 200'000;) {
      nlohmann::json body = nlohmann::json::array();
      for (int i = 0; i < 10; ++i) body.push_back(MakeTransaction(agent->store, "load-" + std::to_string(n++)));
      const auto deadline = std::chrono::steady_clock::now() + 90s;
      while (true) {
        const PostResult r = PostEvents(client, agent->token, body);
        if (r.status == 202) {
          accepted.insert(r.event_ids.begin(), r.event_ids.end());
          accepted_count += 10;
          break;
        }
        if ((r.status != 0 && r.status != 503) || std::chrono::steady_clock::now() > deadline) {
          failure = std::to_string(r.status) + " " + r.body;
          return;
        }
        client.Close();
        std::this_thread::sleep_for(20ms);
      }
      std::this_thread::sleep_for(5ms);
    }
  }
};

TEST(Sigterm, CleanStopsUnderLoadExitZeroAndLoseNothing) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub();
  FleetAgent& agent = fleet.AddDevice("pos-1", "s1");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(agent));

  LoadClient load;
  load.agent = &agent;
  load.thread = std::thread([&] { load.Run(); });
  auto busy = [&](int64_t more) {
    const int64_t mark = load.accepted_count.load();
    return cjd::testing::WaitUntil([&] { return load.accepted_count.load() >= mark + more; },
                                   kDeliveryTimeout, 5ms);
  };
  for (int round = 0; round < 3 && !HasFailure(); ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    // The agent, while requests come in and its uplink sends.
    EXPECT_TRUE(busy(50));
    EXPECT_EQ(agent.process.Terminate(kStopBound), 0) << agent.process.LogTail();
    if (!fleet.StartAgent(agent)) break;
    // The hub, while it ingests.
    EXPECT_TRUE(busy(50));
    EXPECT_EQ(fleet.hub_process().Terminate(kStopBound), 0) << fleet.hub_process().LogTail();
    fleet.StartHub();
  }
  load.stop = true;
  load.thread.join();
  ASSERT_TRUE(load.failure.empty()) << load.failure << fleet.Diagnostics();
  ASSERT_FALSE(HasFailure()) << fleet.Diagnostics();
  ASSERT_TRUE(fleet.WaitHubEventsTotal(static_cast<int64_t>(load.accepted.size())))
      << "events_total " << fleet.HubEventsTotal() << " of " << load.accepted.size()
      << fleet.Diagnostics();
  EXPECT_TRUE(fleet.WaitBacklogDrained(agent)) << fleet.AgentStatus(agent).dump();
  EXPECT_TRUE(HubHoldsExactly(fleet.hub_db(), load.accepted));
}

}  // namespace
}  // namespace cjd::itest

// kill -9 of the agent, the hub and the broker at random points during steady posting through
// two agents. The seed (printed; CJD_FAULT_SEED=N replays it) picks the order of the faults
// (each kind four times), the agent hit, and the delay before each kill. Every fault waits until
// the whole path works again (202s at the agents and new events at the hub) before the next.
// In the end: every 202-acknowledged event at the hub exactly once, backlogs drained.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "tests/faults/fault_fixture.h"

namespace cjd::faults {
namespace {

enum class Victim { kAgent, kHub, kBroker };

const char* Name(Victim v) {
  switch (v) {
    case Victim::kAgent: return "agent";
    case Victim::kHub: return "hub";
    case Victim::kBroker: return "broker";
  }
  return "?";
}

TEST(FaultMatrix, KillNineOfAgentHubAndBrokerAtRandomPointsLosesAndDuplicatesNothing) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  const uint32_t seed = FaultSeed();
  Fleet fleet("cjd-fault-kill-");
  fleet.StartBroker();
  fleet.InitHub();
  FleetAgent& a = fleet.AddDevice("pos-1", "s1");
  FleetAgent& b = fleet.AddDevice("pos-2", "s2");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(a));
  ASSERT_TRUE(fleet.StartAgent(b));

  std::mt19937 rng(seed);
  std::vector<Victim> plan;
  for (int i = 0; i < 4; ++i) {
    plan.insert(plan.end(), {Victim::kAgent, Victim::kHub, Victim::kBroker});
  }
  std::shuffle(plan.begin(), plan.end(), rng);

  SteadyTraffic traffic({&a, &b}, seed);
  for (size_t i = 0; i < plan.size() && !::testing::Test::HasFailure(); ++i) {
    ASSERT_TRUE(WaitProgress(fleet, traffic, 20))
        << "no progress before fault " << i << fleet.Diagnostics();
    const int delay_ms = std::uniform_int_distribution<int>(0, 600)(rng);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    FleetAgent& victim_agent = std::uniform_int_distribution<int>(0, 1)(rng) == 0 ? a : b;
    std::fprintf(stderr, "fault %zu: kill -9 %s%s after %d ms (%lld accepted so far)\n", i,
                 Name(plan[i]),
                 plan[i] == Victim::kAgent ? (" " + victim_agent.id).c_str() : "", delay_ms,
                 static_cast<long long>(traffic.accepted()));
    switch (plan[i]) {
      case Victim::kAgent:
        fleet.KillAgent(victim_agent);
        ASSERT_TRUE(fleet.StartAgent(victim_agent));
        break;
      case Victim::kHub:
        fleet.KillHub();
        fleet.StartHub();
        ASSERT_TRUE(fleet.hub_process().Running()) << fleet.Diagnostics();
        break;
      case Victim::kBroker:
        fleet.broker().Kill();
        std::this_thread::sleep_for(
            std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 500)(rng)));
        fleet.broker().Restart();
        break;
    }
  }
  ASSERT_TRUE(WaitProgress(fleet, traffic, 20)) << "no progress after the last fault"
                                                << fleet.Diagnostics();
  traffic.Stop();
  ExpectExactlyOnce(fleet, traffic);
  // The faults were felt: clients retried requests across agent kills. (The agents' `resends`
  // counts only ack-timeout resends, not the rewinds after a reconnect or a hub restart, so it
  // is no measure here.)
  EXPECT_GT(traffic.retries(), 0);
}

}  // namespace
}  // namespace cjd::faults

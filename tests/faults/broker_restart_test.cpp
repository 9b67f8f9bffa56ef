// Broker restarts during steady posting, with and without Mosquitto's persistence. Without it a
// restart forgets every session and queued message: the agents resend from their outboxes when the
// hub announces itself again. With it the hub's persistent session (clean_session=false) and the
// frames queued for it survive the restart, also while the hub itself is down. Either way: every
// 202-acknowledged event at the hub exactly once, backlogs drained.
#include <random>

#include <gtest/gtest.h>

#include "tests/faults/fault_fixture.h"
#include "tests/support/wait.h"

namespace cjd::faults {
namespace {

class FaultBroker : public ::testing::TestWithParam<bool> {};

TEST_P(FaultBroker, RestartsDuringPostingLoseAndDuplicateNothing) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  const bool persistence = GetParam();
  const uint32_t seed = FaultSeed();
  std::mt19937 rng(seed);
  Fleet fleet(persistence ? "cjd-fault-broker-persist-" : "cjd-fault-broker-");
  fleet.StartBroker(persistence);
  fleet.InitHub();
  FleetAgent& a = fleet.AddDevice("pos-1", "s1");
  FleetAgent& b = fleet.AddDevice("pos-2", "s2");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(a));
  ASSERT_TRUE(fleet.StartAgent(b));
  SteadyTraffic traffic({&a, &b}, seed);

  // 1. Clean restarts (SIGTERM: a persistent broker writes its database) and a crash (kill -9:
  //    a persistent broker comes back from its last autosave, a second old at most).
  for (int round = 0; round < 3 && !::testing::Test::HasFailure(); ++round) {
    ASSERT_TRUE(WaitProgress(fleet, traffic, 20)) << fleet.Diagnostics();
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 600)(rng)));
    const bool crash = round == 2;
    std::fprintf(stderr, "broker %s %d (persistence %s)\n", crash ? "kill -9" : "restart", round,
                 persistence ? "on" : "off");
    if (crash) fleet.broker().Kill();
    fleet.broker().Restart();
  }

  // 2. The hub down, the broker restarted meanwhile: frames published for the hub's session wait
  //    in the broker (and, with persistence, survive the restart); the hub gets them at start.
  ASSERT_TRUE(WaitProgress(fleet, traffic, 20)) << fleet.Diagnostics();
  ASSERT_TRUE(fleet.hub_process().Terminate(10s).has_value()) << fleet.Diagnostics();
  const int64_t accepted_while_down = traffic.accepted();
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] { return traffic.accepted() > accepted_while_down + 50; }, kDeliveryTimeout, 20ms));
  fleet.broker().Restart();
  std::this_thread::sleep_for(500ms);
  fleet.StartHub();

  ASSERT_TRUE(WaitProgress(fleet, traffic, 20)) << fleet.Diagnostics();
  traffic.Stop();
  ExpectExactlyOnce(fleet, traffic);
}

INSTANTIATE_TEST_SUITE_P(Persistence, FaultBroker, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("WithPersistence")
                                             : std::string("WithoutPersistence");
                         });

}  // namespace
}  // namespace cjd::faults

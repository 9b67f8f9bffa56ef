// Faults where nothing dies and nothing is reset: a hub that hangs (SIGSTOP for some seconds,
// then SIGCONT) and a silent partition between one agent and the broker (a TcpProxy in this
// process stops forwarding and keeps every connection open). Steady posting goes on throughout;
// nothing may be acknowledged that the hub did not commit, the agent behind the partition must
// notice the dead link by itself (MQTT keep-alive), and in the end every 202-acknowledged event
// is at the hub exactly once with every backlog drained.
#include <csignal>
#include <random>

#include <gtest/gtest.h>

#include "tests/faults/fault_fixture.h"
#include "tests/faults/tcp_proxy.h"
#include "tests/support/wait.h"

namespace cjd::faults {
namespace {

using cjd::testing::WaitUntil;

uint64_t AckedSeq(Fleet& fleet, const FleetAgent& agent) {
  return fleet.AgentStatus(agent).value("acked_seq", uint64_t{0});
}

TEST(FaultStall, HungHubAcknowledgesNothingWhileStoppedAndLosesNothing) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  const uint32_t seed = FaultSeed();
  std::mt19937 rng(seed);
  Fleet fleet("cjd-fault-hung-hub-");
  fleet.StartBroker();
  fleet.InitHub();
  FleetAgent& a = fleet.AddDevice("pos-1", "s1");
  FleetAgent& b = fleet.AddDevice("pos-2", "s2");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(a));
  ASSERT_TRUE(fleet.StartAgent(b));
  SteadyTraffic traffic({&a, &b}, seed);
  for (int round = 0; round < 2 && !::testing::Test::HasFailure(); ++round) {
    ASSERT_TRUE(WaitProgress(fleet, traffic, 20)) << fleet.Diagnostics();
    const int stopped_ms = std::uniform_int_distribution<int>(4000, 8000)(rng);
    std::fprintf(stderr, "hung hub %d: SIGSTOP for %d ms\n", round, stopped_ms);
    ASSERT_TRUE(fleet.hub_process().Signal(SIGSTOP));
    // Acks already on their way may still land; after that, none while the hub is stopped.
    std::this_thread::sleep_for(2000ms);
    const uint64_t a_acked = AckedSeq(fleet, a);
    const uint64_t b_acked = AckedSeq(fleet, b);
    const int64_t accepted_at_stop = traffic.accepted();
    std::this_thread::sleep_for(std::chrono::milliseconds(stopped_ms - 2000));
    EXPECT_EQ(AckedSeq(fleet, a), a_acked) << "an ack while the hub was stopped";
    EXPECT_EQ(AckedSeq(fleet, b), b_acked) << "an ack while the hub was stopped";
    EXPECT_GT(traffic.accepted(), accepted_at_stop) << "the agents kept taking sales";
    ASSERT_TRUE(fleet.hub_process().Signal(SIGCONT));
  }
  ASSERT_TRUE(WaitProgress(fleet, traffic, 20)) << fleet.Diagnostics();
  traffic.Stop();
  ExpectExactlyOnce(fleet, traffic);
}

TEST(FaultStall, SilentPartitionBetweenAgentAndBrokerIsDetectedAndLosesNothing) {
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  const uint32_t seed = FaultSeed();
  std::mt19937 rng(seed);
  Fleet fleet("cjd-fault-partition-");
  fleet.StartBroker();
  fleet.InitHub();
  TcpProxy proxy(fleet.broker().port());
  // pos-1 reaches the broker only through the proxy; pos-2 directly (it must not be disturbed).
  FleetAgent& a = fleet.AddDevice("pos-1", "s1");
  FleetAgent& b = fleet.AddDevice("pos-2", "s2");
  SetTomlKey(a.config, "mqtt", "broker", TomlQuote("tcp://127.0.0.1:" + std::to_string(proxy.port())));
  SetTomlKey(a.config, "mqtt", "keepalive_s", "3");
  fleet.StartHub();
  ASSERT_TRUE(fleet.StartAgent(a));
  ASSERT_TRUE(fleet.StartAgent(b));
  ASSERT_TRUE(fleet.WaitAgentConnected(a, true)) << fleet.Diagnostics();
  SteadyTraffic traffic({&a, &b}, seed);
  for (int round = 0; round < 2 && !::testing::Test::HasFailure(); ++round) {
    ASSERT_TRUE(WaitProgress(fleet, traffic, 20)) << fleet.Diagnostics();
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 500)(rng)));
    std::fprintf(stderr, "partition %d: pos-1 cut off from the broker\n", round);
    proxy.SetPartitioned(true);
    std::this_thread::sleep_for(2000ms);  // acks already past the proxy may still land
    const uint64_t a_acked = AckedSeq(fleet, a);
    const uint64_t b_acked = AckedSeq(fleet, b);
    // No reset, no close: the agent must find out from the silence (keep-alive 3 s).
    EXPECT_TRUE(fleet.WaitAgentConnected(a, false, 60s))
        << "pos-1 never noticed the silent link: " << fleet.AgentStatus(a).dump();
    const int64_t accepted_in_partition = traffic.accepted();
    std::this_thread::sleep_for(2000ms);
    EXPECT_EQ(AckedSeq(fleet, a), a_acked) << "an ack crossed the partition";
    EXPECT_GT(fleet.AgentStatus(a).value("backlog", int64_t{0}), 0) << "pos-1 kept its sales";
    EXPECT_GT(AckedSeq(fleet, b), b_acked) << "pos-2, not partitioned, kept delivering";
    EXPECT_GT(traffic.accepted(), accepted_in_partition);
    std::fprintf(stderr, "partition %d: healed\n", round);
    proxy.SetPartitioned(false);
    EXPECT_TRUE(fleet.WaitAgentConnected(a, true, 60s)) << fleet.Diagnostics();
  }
  ASSERT_TRUE(WaitProgress(fleet, traffic, 20)) << fleet.Diagnostics();
  traffic.Stop();
  ExpectExactlyOnce(fleet, traffic);
  EXPECT_GE(proxy.connections_accepted(), 2) << "pos-1 dialled again after the silent link";
}

}  // namespace
}  // namespace cjd::faults

// kill -9 during a burst: the agent (crash_agent) or the hub (crash_hub) dies at 20+ random
// moments and is restarted each time. Clients retry failed requests with the same event ids. In
// the end every event id that ever got a 202 is at the hub exactly once, and nothing else is.
#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <random>
#include <thread>

#include "tests/integration/fleet_fixture.h"

namespace cjd::itest {
namespace {

constexpr int kKills = 22;
constexpr int kMaxEventsPerClient = 6000;   // bounds the burst if the kills are slow
constexpr auto kRetryDeadline = 90s;        // per request, across restarts

struct ClientTally {
  std::set<std::string> attempted;  // every id ever sent
  std::set<std::string> accepted;   // every id that got a 202
  int64_t transport_errors = 0;
  std::string failure;
};

// Posts batches of 1..20 events with client event ids until `stop` (or its own bound). A
// transport error (the agent is down) or a 503 is retried with the very same body.
void BurstClient(const FleetAgent* agent, int thread, uint32_t seed, const std::atomic<bool>* stop,
                 ClientTally* tally) {
  std::mt19937 rng(seed);
  HttpClient client(agent->port, 5s);
  int next = 0;
  while (!stop->load() && next < kMaxEventsPerClient) {
    const int size = std::uniform_int_distribution<int>(1, 20)(rng);
    nlohmann::json body = nlohmann::json::array();
    for (int i = 0; i < size; ++i) {
      const std::string id = agent->id + "-t" + std::to_string(thread) + "-" + std::to_string(next++);
      tally->attempted.insert(id);
      body.push_back(i % 3 == 2 ? MakeLoyaltyScan(agent->store, id) : MakeTransaction(agent->store, id));
    }
    const auto deadline = std::chrono::steady_clock::now() + kRetryDeadline;
    while (true) {
      const PostResult r = PostEvents(client, agent->token, body);
      if (r.status == 202) {
        if (static_cast<int>(r.event_ids.size()) != size) {
          tally->failure = "202 with " + std::to_string(r.event_ids.size()) + " ids for " +
                           std::to_string(size) + " events";
          return;
        }
        tally->accepted.insert(r.event_ids.begin(), r.event_ids.end());
        break;
      }
      if (r.status != 0 && r.status != 503) {
        tally->failure = "POST to " + agent->id + ": " + std::to_string(r.status) + " " + r.body;
        return;
      }
      ++tally->transport_errors;
      if (std::chrono::steady_clock::now() > deadline) {
        tally->failure = "no 202 within the retry deadline: " + r.body;
        return;
      }
      client.Close();
      std::this_thread::sleep_for(20ms);
    }
  }
}

class Crash : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    seed_ = std::random_device{}();
    RecordProperty("seed", std::to_string(seed_));
    std::fprintf(stderr, "crash test seed %u\n", seed_);
    fleet_.StartBroker();
    fleet_.InitHub();
  }

  // Starts `clients_per_agent` burst clients per agent, calls `kill_once` kKills times at random
  // moments (from this thread: processes must be started from the test thread), stops the
  // clients and checks exactly-once.
  void RunBurst(int clients_per_agent, const std::function<void()>& kill_and_restart) {
    std::vector<FleetAgent*> agents;
    for (auto& a : fleet_.agents()) agents.push_back(a.get());
    std::atomic<bool> stop{false};
    std::vector<ClientTally> tallies(agents.size() * clients_per_agent);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < tallies.size(); ++t) {
      threads.emplace_back(BurstClient, agents[t % agents.size()], static_cast<int>(t),
                           seed_ + static_cast<uint32_t>(t), &stop, &tallies[t]);
    }
    std::mt19937 rng(seed_);
    for (int k = 0; k < kKills && !HasFailure(); ++k) {
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(50, 600)(rng)));
      kill_and_restart();
    }
    std::this_thread::sleep_for(300ms);  // some more traffic after the last restart
    stop = true;
    for (auto& t : threads) t.join();
    ASSERT_FALSE(HasFailure()) << fleet_.Diagnostics();

    std::set<std::string> attempted;
    std::set<std::string> accepted;
    int64_t transport_errors = 0;
    for (const auto& t : tallies) {
      ASSERT_TRUE(t.failure.empty()) << t.failure << fleet_.Diagnostics();
      attempted.insert(t.attempted.begin(), t.attempted.end());
      accepted.insert(t.accepted.begin(), t.accepted.end());
      transport_errors += t.transport_errors;
    }
    std::fprintf(stderr, "crash test: %zu events accepted, %lld transport errors retried\n",
                 accepted.size(), static_cast<long long>(transport_errors));
    // Every request was retried until it got its 202.
    ASSERT_EQ(accepted, attempted);
    ASSERT_GT(accepted.size(), 0u);

    ASSERT_TRUE(fleet_.WaitHubEventsTotal(static_cast<int64_t>(accepted.size())))
        << "events_total " << fleet_.HubEventsTotal() << " of " << accepted.size()
        << fleet_.Diagnostics();
    for (FleetAgent* a : agents) {
      EXPECT_TRUE(fleet_.WaitBacklogDrained(*a)) << fleet_.AgentStatus(*a).dump();
    }
    EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted)) << fleet_.Diagnostics();
  }

  uint32_t seed_ = 0;
  Fleet fleet_;
};

TEST_F(Crash, AgentKilledDuringABurstLosesAndDuplicatesNothing) {
  FleetAgent& agent = fleet_.AddDevice("pos-1", "s1");
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.StartAgent(agent));
  RunBurst(3, [&] {
    fleet_.KillAgent(agent);
    ASSERT_TRUE(fleet_.StartAgent(agent));
  });
}

TEST_F(Crash, HubKilledDuringABurstLosesAndDuplicatesNothing) {
  FleetAgent& a = fleet_.AddDevice("pos-1", "s1");
  FleetAgent& b = fleet_.AddDevice("pos-2", "s2");
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.StartAgent(a));
  ASSERT_TRUE(fleet_.StartAgent(b));
  RunBurst(2, [&] {
    fleet_.KillHub();
    fleet_.StartHub();
    ASSERT_TRUE(fleet_.hub_process().Running()) << fleet_.Diagnostics();
  });
}

}  // namespace
}  // namespace cjd::itest

// kill -9 during a burst: the agent (crash_agent) or the hub (crash_hub) dies at 20+ random
// moments and is restarted each time. Clients retry failed requests with the same event ids. In
// the end every event id that ever got a 202 is at the hub exactly once, and nothing else is.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <functional>
#include <iterator>
#include <random>
#include <thread>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

constexpr int kKills = 22;
constexpr int kMaxEventsPerClient = 40'000;  // bounds the burst if the kills are slow
constexpr auto kClientPause = 15ms;            // between batches: keeps the burst going for
                                               // every kill without piling up a huge backlog
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
                 std::atomic<int64_t>* accepted_total, ClientTally* tally) {
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
        accepted_total->fetch_add(size);
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
    std::this_thread::sleep_for(kClientPause);
  }
}

class Crash : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    // CJD_CRASH_SEED=N replays the kill moments and batch sizes of an earlier run.
    const char* seed = std::getenv("CJD_CRASH_SEED");
    seed_ = seed != nullptr ? static_cast<uint32_t>(std::strtoul(seed, nullptr, 10))
                            : std::random_device{}();
    RecordProperty("seed", std::to_string(seed_));
    std::fprintf(stderr, "crash test seed %u\n", seed_);
    fleet_.StartBroker();
    fleet_.InitHub();
  }

  // Starts `clients_per_agent` burst clients per agent and calls `kill_and_restart` kKills times
  // (from this thread: processes must be started from the test thread), each time after
  // `busy()` says the restarted process is at work again and a random delay. Then stops the
  // clients and checks exactly-once. Returns the transport errors the clients retried.
  int64_t RunBurst(int clients_per_agent, const std::function<bool()>& busy,
                   const std::function<void()>& kill_and_restart) {
    std::vector<FleetAgent*> agents;
    for (auto& a : fleet_.agents()) agents.push_back(a.get());
    std::atomic<bool> stop{false};
    accepted_total_ = 0;
    std::vector<ClientTally> tallies(agents.size() * clients_per_agent);
    std::vector<std::thread> threads;
    for (size_t t = 0; t < tallies.size(); ++t) {
      threads.emplace_back(BurstClient, agents[t % agents.size()], static_cast<int>(t),
                           seed_ + static_cast<uint32_t>(t), &stop, &accepted_total_,
                           &tallies[t]);
    }
    std::mt19937 rng(seed_);
    int kills = 0;
    for (; kills < kKills && !HasFailure(); ++kills) {
      EXPECT_TRUE(cjd::testing::WaitUntil(busy, kDeliveryTimeout, 10ms))
          << "no progress before kill " << kills << fleet_.Diagnostics();
      std::this_thread::sleep_for(
          std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 400)(rng)));
      kill_and_restart();
    }
    std::this_thread::sleep_for(300ms);  // some more traffic after the last restart
    stop = true;
    for (auto& t : threads) t.join();
    EXPECT_EQ(kills, kKills);
    if (HasFailure()) return -1;

    std::set<std::string> attempted;
    std::set<std::string> accepted;
    int64_t transport_errors = 0;
    for (const auto& t : tallies) {
      EXPECT_TRUE(t.failure.empty()) << t.failure << fleet_.Diagnostics();
      if (!t.failure.empty()) return -1;
      attempted.insert(t.attempted.begin(), t.attempted.end());
      accepted.insert(t.accepted.begin(), t.accepted.end());
      transport_errors += t.transport_errors;
    }
    std::fprintf(stderr, "crash test: %zu events accepted, %lld transport errors retried\n",
                 accepted.size(), static_cast<long long>(transport_errors));
    // Every request was retried until it got its 202.
    std::vector<std::string> never;
    std::set_difference(attempted.begin(), attempted.end(), accepted.begin(), accepted.end(),
                        std::back_inserter(never));
    EXPECT_TRUE(never.empty()) << never.size() << " events never got a 202, e.g. " << never.front();
    EXPECT_EQ(accepted.size(), attempted.size());
    EXPECT_GT(accepted.size(), 0u);

    EXPECT_TRUE(fleet_.WaitHubEventsTotal(static_cast<int64_t>(accepted.size())))
        << "events_total " << fleet_.HubEventsTotal() << " of " << accepted.size()
        << fleet_.Diagnostics();
    for (FleetAgent* a : agents) {
      EXPECT_TRUE(fleet_.WaitBacklogDrained(*a)) << fleet_.AgentStatus(*a).dump();
      // The hub drops a second copy of an event id silently, so exactly-once at the hub cannot
      // see a duplicate the agent made (the same event stored under two sequence numbers):
      // the agent's own count must match too.
      const std::string prefix = a->id + "-t";
      const auto mine = std::count_if(accepted.begin(), accepted.end(), [&](const std::string& id) {
        return id.rfind(prefix, 0) == 0;
      });
      const nlohmann::json status = fleet_.AgentStatus(*a);
      EXPECT_EQ(status.value("last_seq", uint64_t{0}), static_cast<uint64_t>(mine))
          << a->id << ": " << status.dump();
    }
    EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted)) << fleet_.Diagnostics();
    return transport_errors;
  }

  uint32_t seed_ = 0;
  std::atomic<int64_t> accepted_total_{0};
  Fleet fleet_;
};

TEST_F(Crash, AgentKilledDuringABurstLosesAndDuplicatesNothing) {
  FleetAgent& agent = fleet_.AddDevice("pos-1", "s1");
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.StartAgent(agent));
  int64_t mark = 0;
  const int64_t retried = RunBurst(
      3,
      // Clients get 202s from the restarted agent again.
      [&] { return accepted_total_.load() > mark + 20; },
      [&] {
        fleet_.KillAgent(agent);
        ASSERT_TRUE(fleet_.StartAgent(agent));
        mark = accepted_total_.load();
      });
  // Requests hit the dead agent (or the kill cut them off) and were retried.
  EXPECT_GT(retried, 0);
}

TEST_F(Crash, HubKilledDuringABurstLosesAndDuplicatesNothing) {
  FleetAgent& a = fleet_.AddDevice("pos-1", "s1");
  FleetAgent& b = fleet_.AddDevice("pos-2", "s2");
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.StartAgent(a));
  ASSERT_TRUE(fleet_.StartAgent(b));
  int64_t mark = 0;
  RunBurst(
      2,
      // The restarted hub commits events again.
      [&] { return fleet_.HubEventsTotal() > mark; },
      [&] {
        fleet_.KillHub();
        fleet_.StartHub();
        ASSERT_TRUE(fleet_.hub_process().Running()) << fleet_.Diagnostics();
        mark = std::max<int64_t>(mark, fleet_.HubEventsTotal());
      });
  // The kills caught batches in flight: the agents resent them (on the hub's sealed resync
  // request when it came back, or after the ack timeout).
  int64_t resends = 0;
  for (FleetAgent* agent : {&a, &b}) resends += fleet_.AgentStatus(*agent).value("resends", 0);
  EXPECT_GT(resends, 0);
}

}  // namespace
}  // namespace cjd::itest

#include "tests/faults/fault_fixture.h"

#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <random>

#include "tests/support/wait.h"

namespace cjd::faults {

uint32_t FaultSeed() {
  const char* env = std::getenv("CJD_FAULT_SEED");
  const uint32_t seed = env != nullptr ? static_cast<uint32_t>(std::strtoul(env, nullptr, 10))
                                       : std::random_device{}();
  ::testing::Test::RecordProperty("seed", std::to_string(seed));
  std::fprintf(stderr, "fault test seed %u (replay: CJD_FAULT_SEED=%u)\n", seed, seed);
  return seed;
}

SteadyTraffic::SteadyTraffic(std::vector<FleetAgent*> agents, uint32_t seed,
                             std::chrono::milliseconds pause, int max_batch,
                             std::chrono::milliseconds retry_deadline)
    : pause_(pause), max_batch_(max_batch), retry_deadline_(retry_deadline) {
  tallies_.resize(agents.size());
  for (size_t i = 0; i < agents.size(); ++i) {
    tallies_[i].agent_id = agents[i]->id;
    threads_.emplace_back(
        [this, a = agents[i], s = seed + static_cast<uint32_t>(i), t = &tallies_[i]] {
          Run(a, s, t);
        });
  }
}

SteadyTraffic::~SteadyTraffic() { Stop(); }

void SteadyTraffic::Stop() {
  stop_ = true;
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
}

void SteadyTraffic::Run(const FleetAgent* agent, uint32_t seed, Tally* tally) {
  std::mt19937 rng(seed);
  HttpClient client(agent->port, 5s);
  int64_t next = 0;
  // Bounded: at most 200,000 events per thread (far beyond any test's length).
  while (!stop_.load() && next < 200'000) {
    const int size = std::uniform_int_distribution<int>(1, max_batch_)(rng);
    nlohmann::json body = nlohmann::json::array();
    std::vector<std::string> ids;
    for (int i = 0; i < size; ++i) {
      ids.push_back(agent->id + "-e" + std::to_string(next++));
      body.push_back(i % 4 == 3 ? MakeLoyaltyScan(agent->store, ids.back())
                                : MakeTransaction(agent->store, ids.back()));
    }
    const auto deadline = std::chrono::steady_clock::now() + retry_deadline_;
    while (true) {
      const PostResult r = PostEvents(client, agent->token, body);
      if (r.status == 202) {
        if (r.event_ids != ids) {
          tally->failure = "202 with other ids than sent: " + r.body;
          return;
        }
        tally->accepted.insert(ids.begin(), ids.end());
        accepted_total_.fetch_add(size);
        break;
      }
      if (r.status != 0 && r.status != 503 && r.status != 507) {
        tally->failure = "POST to " + agent->id + ": " + std::to_string(r.status) + " " + r.body;
        return;
      }
      retries_.fetch_add(1);
      if (std::chrono::steady_clock::now() > deadline) {
        tally->failure = agent->id + ": no 202 within the retry deadline, last: " +
                         std::to_string(r.status) + " " + r.body;
        return;
      }
      client.Close();
      std::this_thread::sleep_for(50ms);
    }
    std::this_thread::sleep_for(pause_);
  }
}

std::set<std::string> SteadyTraffic::AcceptedIds() const {
  std::set<std::string> all;
  for (const auto& t : tallies_) all.insert(t.accepted.begin(), t.accepted.end());
  return all;
}

std::map<std::string, std::set<std::string>> SteadyTraffic::AcceptedByAgent() const {
  std::map<std::string, std::set<std::string>> by;
  for (const auto& t : tallies_) by[t.agent_id].insert(t.accepted.begin(), t.accepted.end());
  return by;
}

std::string SteadyTraffic::Failures() const {
  std::string all;
  for (const auto& t : tallies_) {
    if (!t.failure.empty()) all += t.failure + "\n";
  }
  return all;
}

bool WaitProgress(Fleet& fleet, const SteadyTraffic& traffic, int64_t more,
                  std::chrono::milliseconds timeout) {
  const int64_t accepted_goal = traffic.accepted() + more;
  const int64_t hub_before = std::max<int64_t>(fleet.HubEventsTotal(), 0);
  return cjd::testing::WaitUntil(
      [&] { return traffic.accepted() >= accepted_goal && fleet.HubEventsTotal() > hub_before; },
      timeout, 20ms);
}

void ExpectExactlyOnce(Fleet& fleet, const SteadyTraffic& traffic) {
  ASSERT_EQ(traffic.Failures(), "") << fleet.Diagnostics();
  const std::set<std::string> accepted = traffic.AcceptedIds();
  ASSERT_GT(accepted.size(), 0u);
  std::fprintf(stderr, "fault test: %zu events accepted, %lld requests retried\n", accepted.size(),
               static_cast<long long>(traffic.retries()));
  EXPECT_TRUE(fleet.WaitHubEventsTotal(static_cast<int64_t>(accepted.size())))
      << "events_total " << fleet.HubEventsTotal() << " of " << accepted.size()
      << fleet.Diagnostics();
  const auto by_agent = traffic.AcceptedByAgent();
  for (auto& a : fleet.agents()) {
    EXPECT_TRUE(fleet.WaitBacklogDrained(*a)) << a->id << ": " << fleet.AgentStatus(*a).dump();
    const nlohmann::json s = fleet.AgentStatus(*a);
    auto it = by_agent.find(a->id);
    const size_t n = it == by_agent.end() ? 0 : it->second.size();
    EXPECT_EQ(s.value("last_seq", uint64_t{0}), n)
        << a->id << ": a sequence number per accepted event, none for a duplicate";
  }
  EXPECT_TRUE(HubHoldsExactly(fleet.hub_db(), accepted)) << fleet.Diagnostics();
}

std::string IntegrityCheck(const std::filesystem::path& db) {
  sqlite3* raw = nullptr;
  const std::string uri = "file:" + db.string() + "?mode=ro";
  if (sqlite3_open_v2(uri.c_str(), &raw, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr) !=
      SQLITE_OK) {
    std::string why = raw != nullptr ? sqlite3_errmsg(raw) : "cannot open";
    sqlite3_close(raw);
    return why;
  }
  sqlite3_busy_timeout(raw, 5000);
  std::string result;
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(raw, "PRAGMA integrity_check", -1, &stmt, nullptr) == SQLITE_OK) {
    while (sqlite3_step(stmt) == SQLITE_ROW) {
      if (!result.empty()) result += "; ";
      result += reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
    }
  } else {
    result = sqlite3_errmsg(raw);
  }
  sqlite3_finalize(stmt);
  sqlite3_close(raw);
  return result;
}

}  // namespace cjd::faults

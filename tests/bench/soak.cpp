// cjd-bench soak: steady POS traffic through N agents (default 10) for --minutes, with the broker
// and the hub restarted periodically, while the resident memory (VmRSS) and the open file
// descriptors of every process are sampled from /proc, and the hub's and agents' own memory
// reports (heap, SQLite's share) from their HTTP APIs. Prints, per process, the growth from the
// start of its life (after a warm-up) to its end, then checks exactly-once (every 202-acknowledged
// event at the hub once, every backlog drained). Bounded: the run, each restart and the final
// drain all have deadlines.
#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/faults/fault_fixture.h"

namespace cjd::bench {
namespace {

using Clock = std::chrono::steady_clock;
using cjd::faults::SteadyTraffic;
using cjd::itest::Fleet;
using cjd::itest::FleetAgent;

int64_t RssKb(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6));
  }
  return -1;
}

int64_t OpenFds(pid_t pid) {
  const std::string dir = "/proc/" + std::to_string(pid) + "/fd";
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return -1;
  int64_t n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] != '.') ++n;
  }
  ::closedir(d);
  return n;
}

struct Sample {
  double t_s;       // since the process (re)started
  int64_t rss_kb;
  int64_t fds;
  // From the process's own report (hub /v1/stats, agent /v1/status "memory"); -1 if none.
  int64_t heap_kb = -1;    // malloc'd and in use
  int64_t sqlite_kb = -1;  // of which SQLite (page caches, statements)
};

// What a life is judged on: its resident memory less what SQLite holds (the page caches fill
// up to their configured bound as the databases grow; that is a cache, not a leak).
int64_t OwnKb(const Sample& s) { return s.sqlite_kb >= 0 ? s.rss_kb - s.sqlite_kb : s.rss_kb; }

// One life of one process: from a start to a restart (or the end of the run).
struct Life {
  std::string process;
  int incarnation = 0;
  std::vector<Sample> samples;
};

// The mean of the samples in [from, to) of a life (by index), for one field.
template <typename Field>
double Mean(const std::vector<Sample>& s, size_t from, size_t to, Field field) {
  double sum = 0;
  size_t n = 0;
  for (size_t i = from; i < to && i < s.size(); ++i) {
    sum += static_cast<double>(field(s[i]));
    ++n;
  }
  return n ? sum / static_cast<double>(n) : 0;
}

void FillMemory(const nlohmann::json& status, Sample& s) {
  if (!status.is_object() || !status.contains("memory")) return;
  const nlohmann::json& m = status["memory"];
  if (m.value("heap_bytes", int64_t{-1}) >= 0) s.heap_kb = m["heap_bytes"].get<int64_t>() / 1024;
  if (m.contains("sqlite_bytes")) s.sqlite_kb = m["sqlite_bytes"].get<int64_t>() / 1024;
}

}  // namespace

int RunSoak(const SoakOptions& o) {
  const uint32_t seed = o.seed != 0 ? o.seed : std::random_device{}();
  Out("\n== soak: %d agents, %.1f min, broker restart every %.0f s, hub every %.0f s, "
      "sample every %.0f s, warm-up %.0f s, hub sqlite_memory_mib %lld, seed %u ==\n",
      o.agents, o.minutes, o.broker_every_s, o.hub_every_s, o.sample_s, o.warmup_s,
      static_cast<long long>(o.hub_sqlite_mib), seed);
  Out("  load before:    %s\n", LoadNow().c_str());
  Fleet fleet("cjd-soak-");
  fleet.StartBroker();
  fleet.InitHub(60);
  if (o.hub_sqlite_mib > 0) {
    cjd::itest::SetTomlKey(fleet.hub_config(), "store", "sqlite_memory_mib",
                           std::to_string(o.hub_sqlite_mib));
  }
  std::vector<FleetAgent*> agents;
  for (int i = 0; i < o.agents; ++i) {
    char id[32];
    std::snprintf(id, sizeof id, "pos-%02d", i + 1);
    FleetAgent& a = fleet.AddDevice(id, "store-" + std::to_string(i + 1));
    // Production timers, not the integration tests' short ones.
    cjd::itest::SetTomlKey(a.config, "uplink", "ack_timeout_ms", "10000");
    cjd::itest::SetTomlKey(a.config, "uplink", "heartbeat_s", "15");
    agents.push_back(&a);
  }
  fleet.StartHub();
  for (FleetAgent* a : agents) {
    if (!fleet.StartAgent(*a)) {
      Out("  FAILED: agent %s did not start\n%s\n", a->id.c_str(), fleet.Diagnostics().c_str());
      return 1;
    }
  }

  std::map<std::string, std::vector<Life>> lives;  // process -> its lives, in order
  auto new_life = [&](const std::string& name) {
    auto& v = lives[name];
    v.push_back(Life{name, static_cast<int>(v.size()) + 1, {}});
  };
  std::map<std::string, Clock::time_point> born;
  const auto start = Clock::now();
  for (const char* p : {"broker", "hub"}) {
    new_life(p);
    born[p] = start;
  }
  for (FleetAgent* a : agents) {
    new_life(a->id);
    born[a->id] = start;
  }
  auto agent_of = [&](const std::string& name) -> FleetAgent* {
    for (FleetAgent* a : agents) {
      if (a->id == name) return a;
    }
    return nullptr;
  };
  auto pid_of = [&](const std::string& name) -> pid_t {
    if (name == "broker") return fleet.broker().pid();
    if (name == "hub") return fleet.hub_process().pid();
    FleetAgent* a = agent_of(name);
    return a != nullptr ? a->process.pid() : -1;
  };

  SteadyTraffic traffic(agents, seed, std::chrono::milliseconds(o.pause_ms), 10, std::chrono::seconds(180));
  const auto end = start + std::chrono::milliseconds(static_cast<int64_t>(o.minutes * 60'000));
  auto next_sample = start;
  auto next_broker = start + std::chrono::milliseconds(static_cast<int64_t>(o.broker_every_s * 1000));
  auto next_hub = start + std::chrono::milliseconds(static_cast<int64_t>(o.hub_every_s * 1000));
  int broker_restarts = 0, hub_restarts = 0;
  bool ok = true;
  while (Clock::now() < end && !InterruptRequested()) {
    const auto now = Clock::now();
    if (now >= next_sample) {
      for (auto& [name, v] : lives) {
        const pid_t pid = pid_of(name);
        const double age = std::chrono::duration<double>(now - born[name]).count();
        Sample sample{age, pid > 0 ? RssKb(pid) : -1, pid > 0 ? OpenFds(pid) : -1};
        if (name == "hub") {
          FillMemory(fleet.HubStats(), sample);
        } else if (FleetAgent* a = agent_of(name)) {
          FillMemory(fleet.AgentStatus(*a), sample);
        }
        v.back().samples.push_back(sample);
      }
      next_sample += std::chrono::milliseconds(static_cast<int64_t>(o.sample_s * 1000));
    }
    if (now >= next_broker) {
      Out("  t=%4.0f s  broker restart (SIGTERM, start), %lld events accepted so far\n",
          std::chrono::duration<double>(now - start).count(), static_cast<long long>(traffic.accepted()));
      try {
        fleet.broker().Restart();
      } catch (const std::exception& e) {
        Out("  FAILED: broker restart: %s\n", e.what());
        ok = false;
        break;
      }
      ++broker_restarts;
      new_life("broker");
      born["broker"] = Clock::now();
      next_broker += std::chrono::milliseconds(static_cast<int64_t>(o.broker_every_s * 1000));
    }
    if (now >= next_hub) {
      Out("  t=%4.0f s  hub restart (SIGTERM, start), %lld events accepted so far\n",
          std::chrono::duration<double>(now - start).count(), static_cast<long long>(traffic.accepted()));
      fleet.hub_process().Terminate(std::chrono::seconds(20));
      fleet.StartHub();
      if (!fleet.HubHealthy()) {
        Out("  FAILED: the hub did not come back\n%s\n", fleet.Diagnostics().c_str());
        ok = false;
        break;
      }
      ++hub_restarts;
      new_life("hub");
      born["hub"] = Clock::now();
      next_hub += std::chrono::milliseconds(static_cast<int64_t>(o.hub_every_s * 1000));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  const double run_s = std::chrono::duration<double>(Clock::now() - start).count();
  traffic.Stop();
  const int64_t accepted = traffic.accepted();
  Out("  traffic stopped after %.0f s: %lld events accepted (%.0f events/s), %lld requests "
      "retried; %d broker and %d hub restarts\n",
      run_s, static_cast<long long>(accepted), accepted / std::max(run_s, 1.0),
      static_cast<long long>(traffic.retries()), broker_restarts, hub_restarts);
  Out("  load after:     %s\n", LoadNow().c_str());

  // Growth per life: the mean of the first samples after the warm-up vs the mean of the last
  // ones (a fifth of the life's samples each, at least one). Judged: resident memory less what
  // SQLite holds ("own"), and open fds; RSS and SQLite's share are shown beside them.
  Out("\n  %-8s %4s %7s | %9s %9s %8s | %9s %9s %8s | %8s %8s | %5s %5s %7s\n", "process", "life",
      "samples", "RSS KiB", "RSS KiB", "growth", "own KiB", "own KiB", "growth", "SQLite", "heap",
      "fds", "fds", "growth");
  Out("  %-8s %4s %7s | %9s %9s %8s | %9s %9s %8s | %8s %8s | %5s %5s %7s\n", "", "", "", "first",
      "last", "", "first", "last", "", "last KiB", "last KiB", "first", "last", "");
  double worst_rss = 0, worst_own = 0, worst_fds = 0;
  std::string worst_rss_name, worst_own_name, worst_fds_name;
  for (auto& [name, v] : lives) {
    for (const Life& life : v) {
      std::vector<Sample> s;
      for (const Sample& x : life.samples) {
        if (x.t_s >= o.warmup_s && x.rss_kb > 0) s.push_back(x);
      }
      if (s.size() < 2) {
        Out("  %-8s %4d %7zu | (too short after the %.0f s warm-up to measure)\n", name.c_str(),
            life.incarnation, s.size(), o.warmup_s);
        continue;
      }
      const size_t k = std::max<size_t>(1, s.size() / 5);
      auto growth = [&](auto field, double& first, double& last) {
        first = Mean(s, 0, k, field);
        last = Mean(s, s.size() - k, s.size(), field);
        return first > 0 ? (last - first) / first * 100 : 0;
      };
      double r0, r1, w0, w1, f0, f1;
      const double rg = growth([](const Sample& x) { return x.rss_kb; }, r0, r1);
      const double wg = growth([](const Sample& x) { return OwnKb(x); }, w0, w1);
      const double fg = growth([](const Sample& x) { return x.fds; }, f0, f1);
      const Sample& tail = s.back();
      Out("  %-8s %4d %7zu | %9.0f %9.0f %+7.1f%% | %9.0f %9.0f %+7.1f%% | %8s %8s | %5.0f %5.0f "
          "%+6.1f%%\n",
          name.c_str(), life.incarnation, s.size(), r0, r1, rg, w0, w1, wg,
          tail.sqlite_kb >= 0 ? std::to_string(tail.sqlite_kb).c_str() : "-",
          tail.heap_kb >= 0 ? std::to_string(tail.heap_kb).c_str() : "-", f0, f1, fg);
      if (rg > worst_rss) { worst_rss = rg; worst_rss_name = name; }
      if (wg > worst_own) { worst_own = wg; worst_own_name = name; }
      if (fg > worst_fds) { worst_fds = fg; worst_fds_name = name; }
    }
  }
  // The hub's lives over time (a line a minute): where its memory goes as the databases grow.
  for (const Life& life : lives["hub"]) {
    Out("\n  hub life %d over time (KiB): %6s %9s %9s %9s %9s\n", life.incarnation, "t s", "RSS",
        "heap", "SQLite", "own");
    double next_t = 0;
    for (const Sample& x : life.samples) {
      if (x.t_s + 1e-9 < next_t || x.rss_kb <= 0) continue;
      Out("  %27s %6.0f %9lld %9lld %9lld %9lld\n", "", x.t_s, static_cast<long long>(x.rss_kb),
          static_cast<long long>(x.heap_kb), static_cast<long long>(x.sqlite_kb),
          static_cast<long long>(OwnKb(x)));
      next_t = x.t_s + 60;
    }
  }
  Out("  worst growth: own memory (RSS less SQLite) %+.1f%% (%s), fds %+.1f%% (%s); aim: under "
      "5%% -> %s\n",
      worst_own, worst_own_name.empty() ? "-" : worst_own_name.c_str(), worst_fds,
      worst_fds_name.empty() ? "-" : worst_fds_name.c_str(),
      worst_own < 5 && worst_fds < 5 ? "met" : "NOT met");
  Out("  (RSS including SQLite's page caches: worst %+.1f%% (%s); the caches fill up to their "
      "configured size as the databases grow)\n",
      worst_rss, worst_rss_name.empty() ? "-" : worst_rss_name.c_str());

  // Exactly once.
  const std::string failures = traffic.Failures();
  if (!failures.empty()) {
    Out("  FAILED requests:\n%s", failures.c_str());
    ok = false;
  }
  const std::set<std::string> ids = traffic.AcceptedIds();
  const auto drain_start = Clock::now();
  const bool all_in = fleet.WaitHubEventsTotal(static_cast<int64_t>(ids.size()), std::chrono::seconds(300));
  bool drained = true;
  for (FleetAgent* a : agents) drained = fleet.WaitBacklogDrained(*a, std::chrono::seconds(120)) && drained;
  const auto exact = cjd::itest::HubHoldsExactly(fleet.hub_db(), ids);
  Out("  exactly once: %s (hub events_total %lld of %zu accepted, backlogs %s, drain %.1f s)%s%s\n",
      all_in && drained && exact ? "yes" : "NO", static_cast<long long>(fleet.HubEventsTotal()),
      ids.size(), drained ? "drained" : "NOT drained",
      std::chrono::duration<double>(Clock::now() - drain_start).count(), exact ? "" : ": ",
      exact ? "" : exact.message());
  return ok && all_in && drained && exact ? 0 : 1;
}

}  // namespace cjd::bench

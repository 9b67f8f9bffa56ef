#include "tests/bench/hub_probe.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/bench/common.h"

namespace cjd::bench {

HubState ReadHubState(CjdStack& stack) {
  const nlohmann::json j = stack.HubStats();
  HubState s;
  if (!j.is_object()) return s;
  s.ok = true;
  s.events_total = j.value("events_total", int64_t{0});
  if (j.contains("projection")) s.cursor = j["projection"].value("cursor", int64_t{0});
  if (j.contains("segments")) {
    s.queued = j["segments"].value("queued", int64_t{0});
    s.full_running = j["segments"].value("full_evaluation_running", false);
    s.full_evaluations = j["segments"].value("full_evaluations", int64_t{0});
    s.evaluations = j["segments"].value("evaluations", int64_t{0});
  }
  return s;
}

bool SettleHub(CjdStack& stack, int64_t events, double bound_s, HubState* last, int* polls) {
  const auto t0 = SteadyClock::now();
  int64_t previous_evaluations = -1;
  while (SecondsSince(t0) < bound_s) {
    CheckInterrupted();
    const HubState s = ReadHubState(stack);
    if (polls != nullptr) ++*polls;
    if (s.ok) *last = s;
    const bool quiet = s.ok && s.events_total >= events && s.cursor >= s.events_total &&
                       s.queued == 0 && !s.full_running;
    if (quiet && s.evaluations == previous_evaluations) return true;
    previous_evaluations = quiet ? s.evaluations : -1;
    SleepFor(Ms(250));
  }
  return false;
}

HubIdle MeasureHubIdle(CjdStack& stack, double idle_s) {
  HubIdle idle;
  const pid_t hub = stack.hub_pid();
  const double c0 = CpuSeconds(hub);
  const auto ti = SteadyClock::now();
  SleepFor(Ms(static_cast<int64_t>(idle_s * 1000)));
  idle.rate = (CpuSeconds(hub) - c0) / SecondsSince(ti);
  constexpr int kPolls = 20;
  const double c1 = CpuSeconds(hub);
  const auto tq = SteadyClock::now();
  for (int i = 0; i < kPolls; ++i) (void)ReadHubState(stack);
  idle.per_poll =
      std::max(0.0, (CpuSeconds(hub) - c1 - idle.rate * SecondsSince(tq)) / kPolls);
  return idle;
}

std::map<std::string, double> ThreadCpuSince(pid_t pid,
                                             const std::map<std::string, double>& before) {
  std::map<std::string, double> out;
  for (const auto& [name, s] : ThreadCpuSeconds(pid)) {
    const auto it = before.find(name);
    const double d = s - (it == before.end() ? 0.0 : it->second);
    if (d > 0) out[name] = d;
  }
  return out;
}

std::string PerUnitByThread(const std::map<std::string, double>& threads, int64_t units) {
  std::vector<std::pair<double, std::string>> by_thread;
  for (const auto& [name, s] : threads) by_thread.emplace_back(s, name);
  std::sort(by_thread.rbegin(), by_thread.rend());
  std::string line;
  for (const auto& [s, name] : by_thread) {
    line += " " + name + " " +
            std::to_string(std::lround(s / static_cast<double>(std::max<int64_t>(1, units)) * 1e6));
  }
  return line;
}

}  // namespace cjd::bench

// What the hub benchmarks (trickle, fleet) read of a running cjd-hub: its progress from
// GET /v1/stats, "settled" (everything stored, projected and evaluated), and its background CPU
// (idle and per /v1/stats poll) to subtract from a phase's CPU.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "tests/bench/stack.h"

namespace cjd::bench {

struct HubState {
  bool ok = false;
  int64_t events_total = 0, cursor = 0, queued = 0;
  bool full_running = false;
  int64_t full_evaluations = 0, evaluations = 0;
};

// GET /v1/stats of the stack's hub; ok = false when it did not answer.
HubState ReadHubState(CjdStack& stack);

// Polls every 250 ms until the hub holds `events` events, has projected them and the segment
// engine is idle (its evaluation count steady over two polls: the engine takes its queue in one
// go, so "queued 0" alone may hide a batch being evaluated). Bounded by `bound_s`; false when
// the bound was reached. `polls` (optional) counts the GET /v1/stats it made.
bool SettleHub(CjdStack& stack, int64_t events, double bound_s, HubState* last,
               int* polls = nullptr);

// The hub's background cost: CPU per second with no request, and the CPU one GET /v1/stats costs
// (it counts profiles.db's rows, so it grows with the customers).
struct HubIdle {
  double rate = 0;      // CPU s per s
  double per_poll = 0;  // CPU s per /v1/stats
};
HubIdle MeasureHubIdle(CjdStack& stack, double idle_s);

// CPU seconds per thread name of `pid` since `before` (ThreadCpuSeconds), threads that ran only.
std::map<std::string, double> ThreadCpuSince(pid_t pid, const std::map<std::string, double>& before);
// " name us name us ..." : each thread's CPU divided by `units`, in microseconds, largest first.
std::string PerUnitByThread(const std::map<std::string, double>& threads, int64_t units);

}  // namespace cjd::bench

// The benchmarks. Each prints its conditions and figures to stdout and returns its memory
// figures for the memory summary. Every loop is bounded in count and time.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cjd::bench {

class MemSampler;

// Agent memory in one phase: highest VmRSS sampled (every 50 ms) and VmHWM at the phase's end.
struct MemPhase {
  std::string phase;
  int64_t max_rss_kb = -1;
  int64_t hwm_kb = -1;
  int samples = 0;
  int64_t anon_kb = -1, file_kb = -1, shmem_kb = -1;  // at the highest VmRSS
};

struct IngestOptions {
  int64_t events = 20'000;            // per run (one client count, one repetition)
  std::vector<int> clients{1, 8, 64};
  int repeats = 3;
  int baseline_batch = 64;            // rows per transaction in the raw SQLite baseline
  double run_timeout_s = 300;         // a run stops posting after this long (reported)
  bool baseline = true;
};

struct DrainOptions {
  int64_t events = 1'000'000;         // our backlog
  int build_clients = 4;              // POSTers while building the backlog (not timed)
  int64_t build_batch = 500;          // events per POST while building
  double timeout_s = 900;             // bound on our drain
  bool bridge = true;
  int64_t bridge_events = 0;          // 0: same as `events`
  double bridge_timeout_s = 600;      // bound on the bridge's drain (partial rate reported)
  int bridge_inflight = 100;          // max_inflight_messages of both brokers
};

std::vector<MemPhase> RunIngest(const IngestOptions& o);
std::vector<MemPhase> RunDrain(const DrainOptions& o);
void PrintMemory(const std::vector<MemPhase>& phases);
// Stops `sampler` and returns its figures as `phase`.
MemPhase PhaseFrom(const std::string& phase, MemSampler& sampler);

}  // namespace cjd::bench

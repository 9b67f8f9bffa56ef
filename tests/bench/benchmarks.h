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

// cjd-bench import / metrics / profiles (tests/bench/retail.cpp): the hub's customer side.
struct ImportOptions {
  int runs = 3;                       // imports, each on a fresh hub; medians are reported
  double timeout_s = 900;             // bound on one run (cjdctl + projection)
  double poll_ms = 100;               // GET /v1/stats period while a run is timed
  // Where the hub keeps its event store, one run of each per round, alternating (issue 17):
  // "sqlite", "postgres" (a real PostgreSQL started for the run, tests/support/postgres.h).
  std::vector<std::string> backends = {"sqlite"};
};

struct MetricsOptions {
  int requests = 20;                  // of each kind (healthz, metrics, metrics with a range)
  // > 0: instead of the Online Retail import, this many generated orders of `customers`
  // customers written straight into the log (RunSyntheticMetrics).
  int64_t orders = 0;
  int64_t customers = 500'000;
  // The generated orders arrive in date order (one in 20 up to 30 days late), as a live stream
  // or an import of history does; otherwise each on a random day of the two years (the worst
  // case for anything kept by day).
  bool in_date_order = false;
  double projection_timeout_s = 1800;
};

struct ProfilesOptions {
  int64_t profiles = 1'000'000;       // identify events written into the log = profiles
  int64_t write_batch = 50'000;       // events per transaction when writing the log
  double write_timeout_s = 1800;      // bound on writing the log
  double projection_timeout_s = 1800; // bound on the projection (a partial rate is reported)
  double poll_ms = 1000;              // GET /v1/stats period while projecting (it counts rows)
  int clients = 4;                    // concurrent keep-alive lookup clients
  int64_t requests = 10'000;          // per kind of lookup, all clients together
  int64_t warmup = 1'000;             // per kind, before the timed phases (not counted)
  double phase_timeout_s = 300;       // bound on one timed phase
};

// cjd-bench offers (tests/bench/offers.cpp): the kiosk's offer cache on a real cjd-agent.
struct OffersOptions {
  int64_t customers = 100'000;        // known customers, each with an assignment
  int offers = 200;                   // offers in the store
  int64_t per_update = 25'000;        // assignments per offer update (the state is split)
  double fill_timeout_s = 300;        // bound on the cache fill
  int64_t lookups = 1'000'000;        // in-process OfferCache::Lookup calls (10 batches)
  double rate = 1000;                 // HTTP lookups per second (open loop)
  double duration_s = 20;             // per run
  int connections = 4;                // keep-alive connections sharing the schedule
  double unknown_share = 0.2;         // share of lookups with an unknown loyalty id
  int runs = 3;                       // load runs (each: /healthz, then /v1/offers); medians
  int changes = 20;                   // offer changes posted to the hub
  double change_timeout_s = 30;       // bound on one change reaching the kiosk
};
// Cache fill, kiosk lookups (with the /healthz and in-process baselines), then hub -> kiosk.
void RunOffers(const OffersOptions& o);

// cjd-bench trickle (tests/bench/trickle.cpp): hub CPU per sale trickled by one till.
struct TrickleOptions {
  std::vector<int64_t> customers{5'000, 50'000};  // known customers (0, the baseline, is added)
  int64_t sales = 300;                // per phase (loyalty, anonymous)
  double rate = 20;                   // sales per second
  double idle_s = 5;                  // idle baseline window
  double settle_timeout_s = 1800;     // bound on projecting the seed and settling
  int64_t batch_delay_ms = -1;       // the hub's [projection] batch_delay_ms; -1: its default
};
void RunTrickle(const TrickleOptions& o);

// cjd-bench fleet (tests/bench/fleet.cpp): many simulated tills trickling sales and heartbeats.
struct FleetOptions {
  std::vector<int> devices{50, 500};  // device counts, ascending (devices join, none leave)
  double seconds = 60;                // traffic per phase
  double rate = 0.1;                  // sales per second per till (one every 10 s)
  double heartbeat_s = 15;            // as the agent's [uplink] default
  double idle_s = 5;                  // idle baseline window per phase
  double ack_timeout_s = 120;         // bound on waiting for acks, then for the hub to settle
  bool keep_nagle = false;            // devices leave Nagle on (agents before TCP_NODELAY)
};
void RunFleet(const FleetOptions& o);

// cjd-bench instances (tests/bench/instances.cpp): the hub on PostgreSQL with 1, 2, 4 instances
// (MQTT 5 shared subscription) against the SQLite hub, simulated tills trickling single sales.
struct InstancesOptions {
  std::vector<int> instances{1, 2, 4};  // PostgreSQL instance counts
  int devices = 100;                    // simulated tills
  double rate = 100;                    // sales per second, all tills together
  double seconds = 30;                  // traffic per run
  double heartbeat_s = 15;              // per till
  double idle_s = 3;                    // idle baseline window per run
  double settle_s = 300;                // bound on acks and projection after the traffic
  int runs = 1;                         // rounds (each: sqlite, then every instance count)
};
void RunInstances(const InstancesOptions& o);

// Imports the UCI Online Retail set `runs` times (skips with a message when the data set is
// absent); with `metrics`, then times GET /v1/metrics on the hub of the last run.
void RunImport(const ImportOptions& o, const MetricsOptions* metrics = nullptr);
// One import, then the metrics benchmark.
void RunMetrics(const MetricsOptions& o);
void RunProfiles(const ProfilesOptions& o);

// cjd-bench soak (tests/bench/soak.cpp): N agents under steady traffic with periodic broker and
// hub restarts; RSS and open fds of every process sampled; exactly-once checked at the end.
// cjd-bench erasure (tests/bench/erasure.cpp): rights requests end to end.
struct ErasureOptions {
  int devices = 50;        // real cjd-agent processes, all asked to confirm each round trip
  int requests = 20;       // sequential round trips
  int64_t bulk = 10'000;   // web customers erased in bulk (hub part only); 0: skip
  int clients = 8;         // threads posting the bulk requests
  int bulk_timeout_s = 600;  // bound on the bulk's processing
};
void RunErasure(const ErasureOptions& o);

// cjd-bench sealing (tests/bench/sealing.cpp): the event log's sealing vs the same import
// without it, in the same run.
struct SealingOptions {
  int repeats = 5;   // runs of each; medians
  int batch = 500;   // events per commit (one collect request's worth)
};
void RunSealing(const SealingOptions& o);

// cjd-bench journeys (tests/bench/journeys.cpp): funnel, web metrics and retention over the
// in-memory timelines against hand-written SQL over the same touches, same run.
struct JourneysOptions {
  int64_t events = 10'000'000;
  int64_t persons = 1'000'000;
  int repeats = 5;
};
void RunJourneys(const JourneysOptions& o);

// cjd-bench predictions (tests/bench/predictions.cpp): RunBacktest of hub/predictions (fits,
// inner-split correction, scoring) over simulated customers, in-process, on one thread.
struct PredictionsOptions {
  std::vector<int64_t> customers{10'000, 1'000'000};  // customer counts, each simulated afresh
  int repeats = 3;                    // runs of each kind per count; medians
  double timeout_s = 600;             // no repeat starts after this (one run per count always)
  bool no_dropout = false;            // nobody drops out: the degenerate BG/NBD fit (a -> 0)
};
void RunPredictions(const PredictionsOptions& o);

// cjd-bench dedupe (tests/bench/dedupe.cpp): cjdctl dedupe on generated FEBRL-like records,
// next to the matcher in-process, same run.
struct DedupeBenchOptions {
  int64_t records = 100'000;
  int runs = 3;
  double timeout_s = 600;  // bound on one cjdctl run
};
void RunDedupe(const DedupeBenchOptions& o);

// cjd-bench matching (tests/bench/matching.cpp): the hub's probabilistic matcher during an import
// of identify events at a steady rate: its lag, CPU per event, fits, merges.
struct MatchingBenchOptions {
  int64_t records = 40'000;
  int rate = 1000;  // identify events per second (phase 2)
};
void RunMatching(const MatchingBenchOptions& o);

struct SoakOptions {
  double minutes = 10;                // length of the traffic phase
  int agents = 10;
  int pause_ms = 100;                 // per agent, between POSTs of 1-10 events
  double broker_every_s = 180;        // broker restart period (SIGTERM, start)
  double hub_every_s = 240;           // hub restart period (SIGTERM, start)
  double sample_s = 5;                // /proc sampling period
  double warmup_s = 30;               // samples this young (per process life) are not compared
  int64_t hub_sqlite_mib = 0;         // the hub's [store] sqlite_memory_mib (0: its default)
  uint32_t seed = 0;                  // 0: random (printed)
};
// Returns 0 when every accepted event reached the hub exactly once, else 1.
int RunSoak(const SoakOptions& o);

std::vector<MemPhase> RunIngest(const IngestOptions& o);
std::vector<MemPhase> RunDrain(const DrainOptions& o);
void PrintMemory(const std::vector<MemPhase>& phases);
// Stops `sampler` and returns its figures as `phase`.
MemPhase PhaseFrom(const std::string& phase, MemSampler& sampler);

}  // namespace cjd::bench

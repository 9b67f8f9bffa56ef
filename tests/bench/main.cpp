// cjd-bench: performance benchmarks of CustomerJourneyData against real processes on loopback.
//
//   cjd-bench ingest [--events N] [--clients 1,8,64] [--repeats 3]
//   cjd-bench drain  [--events 1000000] [--bridge-events N] [--no-bridge]
//   cjd-bench memory [--events N] [--drain-events N]
//   cjd-bench all
//   cjd-bench import   [--runs 3]
//   cjd-bench metrics  [--requests 20]
//   cjd-bench profiles [--profiles 1000000] [--clients 4] [--requests 10000]
//   cjd-bench offers   [--customers 100000] [--rate 1000] [--duration 20] [--runs 3]
//   cjd-bench soak     [--minutes 10] [--agents 10] [--broker-every 180] [--hub-every 240]
//   cjd-bench trickle  [--customers 5000,50000] [--sales 300] [--rate 20] [--batch-delay-ms N]
//   cjd-bench fleet    [--devices 50,500] [--seconds 60] [--rate 0.1] [--heartbeat 15]
//   cjd-bench instances [--instances 1,2,4] [--devices 100] [--rate 100] [--seconds 30] [--runs 1]
//   cjd-bench erasure  [--devices 50] [--requests 20] [--bulk 10000] [--clients 8]
//   cjd-bench sealing  [--repeats 5] [--batch 500]
//   cjd-bench journeys [--events 10000000] [--persons 1000000] [--repeats 5]
//   cjd-bench dedupe   [--records 100000] [--runs 3]
//   cjd-bench matching [--records 40000] [--rate 1000]
//   cjd-bench predictions [--customers 10000,1000000] [--repeats 3] [--timeout 600] [--no-dropout]
//
// See tests/bench/README.md for what each measures and under which conditions.
#include <cstdio>
#include <exception>
#include <string>

#include <CLI/CLI.hpp>

#include "tests/bench/common.h"
#include "tests/bench/benchmarks.h"
#include "tests/support/binaries.h"
#include "tests/support/mosquitto.h"

namespace {

using namespace cjd::bench;

void AddIngestOptions(CLI::App* app, IngestOptions* o) {
  app->add_option("--events", o->events, "events per run (per client count and repetition)")
      ->capture_default_str();
  app->add_option("--clients", o->clients, "client counts, comma separated")
      ->delimiter(',')
      ->capture_default_str();
  app->add_option("--repeats", o->repeats, "runs per client count; the median is reported")
      ->capture_default_str();
  app->add_option("--baseline-batch", o->baseline_batch, "rows per transaction in the baseline")
      ->capture_default_str();
  app->add_option("--run-timeout", o->run_timeout_s, "seconds after which a run stops posting")
      ->capture_default_str();
}

void AddDrainOptions(CLI::App* app, DrainOptions* o) {
  app->add_option("--events", o->events, "our backlog, events")->capture_default_str();
  app->add_option("--build-clients", o->build_clients, "clients posting the backlog")
      ->capture_default_str();
  app->add_option("--build-batch", o->build_batch, "events per POST while building (1..1000)")
      ->capture_default_str();
  app->add_option("--timeout", o->timeout_s, "seconds our drain may take")->capture_default_str();
  app->add_option("--bridge-events", o->bridge_events,
                  "the bridge's backlog (default: the same as --events)");
  app->add_option("--bridge-timeout", o->bridge_timeout_s,
                  "seconds the bridge's drain may take (a partial rate is reported after)")
      ->capture_default_str();
  app->add_option("--bridge-inflight", o->bridge_inflight,
                  "max_inflight_messages of the local and central brokers")
      ->capture_default_str();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"cjd-bench: CustomerJourneyData benchmarks on real processes (loopback only)"};
  app.require_subcommand(1);

  IngestOptions ingest;
  auto* ingest_cmd = app.add_subcommand(
      "ingest", "POS clients posting single events: throughput and 202 latency vs raw SQLite");
  AddIngestOptions(ingest_cmd, &ingest);
  bool no_baseline = false;
  ingest_cmd->add_flag("--no-baseline", no_baseline, "skip the raw SQLite baseline");

  DrainOptions drain;
  auto* drain_cmd = app.add_subcommand(
      "drain", "an offline backlog delivered to the hub, vs a Mosquitto bridge");
  AddDrainOptions(drain_cmd, &drain);
  bool no_bridge = false;
  drain_cmd->add_flag("--no-bridge", no_bridge, "skip the Mosquitto bridge peer");

  IngestOptions mem_ingest;
  mem_ingest.clients = {64};
  mem_ingest.repeats = 1;
  mem_ingest.baseline = false;
  DrainOptions mem_drain;
  mem_drain.bridge = false;
  auto* memory_cmd = app.add_subcommand(
      "memory", "agent VmRSS/VmHWM idle, during a 64-client ingest and during a drain");
  memory_cmd->add_option("--events", mem_ingest.events, "events of the 64-client ingest")
      ->capture_default_str();
  memory_cmd->add_option("--drain-events", mem_drain.events, "events of the drain")
      ->capture_default_str();

  auto* all_cmd = app.add_subcommand("all", "ingest, drain and memory with their defaults");

  ImportOptions import_o;
  MetricsOptions metrics_o;
  bool import_metrics = false;
  auto* import_cmd = app.add_subcommand(
      "import", "the UCI Online Retail set through cjdctl import into cjd-hub, until projected");
  import_cmd->add_option("--runs", import_o.runs, "imports, each on a fresh hub (median)")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  import_cmd->add_option("--timeout", import_o.timeout_s, "seconds one run may take")
      ->capture_default_str();
  import_cmd->add_option("--database", import_o.backends,
                         "event store backends, each run once per round: sqlite, postgres")
      ->check(CLI::IsMember({"sqlite", "postgres"}))
      ->delimiter(',')
      ->capture_default_str();
  import_cmd->add_flag("--metrics", import_metrics,
                       "then the metrics benchmark on the hub of the last run");
  auto* metrics_cmd = app.add_subcommand(
      "metrics", "one import, then GET /v1/metrics (whole range and 2011-06..09) vs /healthz");
  metrics_cmd->add_option("--orders", metrics_o.orders,
                          "generated orders written into the log instead of the Online Retail "
                          "import (0: the import)")
      ->check(CLI::Range(int64_t{0}, int64_t{20'000'000}));
  metrics_cmd->add_flag("--in-date-order", metrics_o.in_date_order,
                        "generated orders arrive in date order (one in 20 up to 30 days late) "
                        "instead of on random days");
  metrics_cmd->add_option("--customers", metrics_o.customers, "customers of the generated orders")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}));
  metrics_cmd->add_option("--requests", metrics_o.requests, "requests of each kind")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  import_cmd->add_option("--metrics-requests", metrics_o.requests,
                         "with --metrics: requests of each kind")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();

  ProfilesOptions profiles_o;
  auto* profiles_cmd = app.add_subcommand(
      "profiles", "N profiles projected by cjd-hub, then lookups by identifier and by id");
  profiles_cmd->add_option("--profiles", profiles_o.profiles, "identify events = profiles")
      ->check(CLI::Range(int64_t{1}, int64_t{20'000'000}))
      ->capture_default_str();
  profiles_cmd->add_option("--clients", profiles_o.clients, "concurrent keep-alive clients")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  profiles_cmd->add_option("--requests", profiles_o.requests, "requests per kind, all clients")
      ->check(CLI::Range(int64_t{1}, int64_t{1'000'000}))
      ->capture_default_str();
  profiles_cmd->add_option("--projection-timeout", profiles_o.projection_timeout_s,
                           "seconds the projection may take (a partial rate is reported)")
      ->capture_default_str();

  OffersOptions offers_o;
  auto* offers_cmd = app.add_subcommand(
      "offers", "kiosk offers: cache fill, GET /v1/offers at a fixed rate, hub change -> kiosk");
  offers_cmd->add_option("--customers", offers_o.customers, "known customers (assignments)")
      ->check(CLI::Range(int64_t{1}, int64_t{2'000'000}))
      ->capture_default_str();
  offers_cmd->add_option("--offers", offers_o.offers, "offers in the store")
      ->check(CLI::Range(8, 10'000))
      ->capture_default_str();
  offers_cmd->add_option("--per-update", offers_o.per_update, "assignments per offer update")
      ->check(CLI::Range(int64_t{1}, int64_t{200'000}))
      ->capture_default_str();
  offers_cmd->add_option("--rate", offers_o.rate, "lookups per second (open loop)")
      ->check(CLI::Range(1.0, 50'000.0))
      ->capture_default_str();
  offers_cmd->add_option("--duration", offers_o.duration_s, "seconds per load run")
      ->check(CLI::Range(1.0, 600.0))
      ->capture_default_str();
  offers_cmd->add_option("--connections", offers_o.connections, "keep-alive connections")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  offers_cmd->add_option("--runs", offers_o.runs, "load runs; medians are reported")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  offers_cmd->add_option("--changes", offers_o.changes, "offer changes posted to the hub")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();

  SealingOptions sealing_o;
  auto* sealing_cmd = app.add_subcommand(
      "sealing", "the UCI set committed to the event log with and without sealing (same run)");
  sealing_cmd->add_option("--repeats", sealing_o.repeats, "runs of each (median)")
      ->check(CLI::Range(1, 50))
      ->capture_default_str();
  sealing_cmd->add_option("--batch", sealing_o.batch, "events per commit")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  JourneysOptions journeys_o;
  auto* journeys_cmd = app.add_subcommand(
      "journeys", "funnel, web metrics, retention over N events against hand-written SQL");
  journeys_cmd->add_option("--events", journeys_o.events, "touches generated")
      ->check(CLI::Range(int64_t{1000}, int64_t{50'000'000}))
      ->capture_default_str();
  journeys_cmd->add_option("--persons", journeys_o.persons, "persons they belong to")
      ->check(CLI::Range(int64_t{1}, int64_t{10'000'000}))
      ->capture_default_str();
  journeys_cmd->add_option("--repeats", journeys_o.repeats, "runs of each question (median)")
      ->check(CLI::Range(1, 50))
      ->capture_default_str();
  PredictionsOptions predictions_o;
  auto* predictions_cmd = app.add_subcommand(
      "predictions", "BG/NBD and Gamma-Gamma fits, correction, scoring of simulated customers");
  predictions_cmd->add_option("--customers", predictions_o.customers, "customer counts")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{100}, int64_t{20'000'000}))
      ->capture_default_str();
  predictions_cmd->add_option("--repeats", predictions_o.repeats, "runs of each kind (median)")
      ->check(CLI::Range(1, 50))
      ->capture_default_str();
  predictions_cmd->add_flag("--no-dropout", predictions_o.no_dropout,
                            "nobody drops out (the degenerate BG/NBD fit, as on Online Retail)");
  predictions_cmd->add_option("--timeout", predictions_o.timeout_s,
                              "seconds after which no further repeat starts")
      ->check(CLI::Range(1.0, 86'400.0))
      ->capture_default_str();
  DedupeBenchOptions dedupe_o;
  auto* dedupe_cmd = app.add_subcommand(
      "dedupe", "cjdctl dedupe on generated FEBRL-like records, vs the matcher in-process");
  dedupe_cmd->add_option("--records", dedupe_o.records, "records")
      ->check(CLI::Range(int64_t{100}, int64_t{10'000'000}))
      ->capture_default_str();
  dedupe_cmd->add_option("--runs", dedupe_o.runs, "runs (median)")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  MatchingBenchOptions matching_o;
  auto* matching_cmd = app.add_subcommand(
      "matching", "the hub's probabilistic matcher during an import of identify events");
  matching_cmd->add_option("--records", matching_o.records, "identify events (person records)")
      ->check(CLI::Range(int64_t{100}, int64_t{10'000'000}))
      ->capture_default_str();
  matching_cmd->add_option("--rate", matching_o.rate, "events per second")
      ->check(CLI::Range(10, 100'000))
      ->capture_default_str();
  ErasureOptions erasure_o;
  auto* erasure_cmd = app.add_subcommand(
      "erasure", "erasure requests: round trips to every device, and a bulk of them on the hub");
  erasure_cmd->add_option("--devices", erasure_o.devices, "real agents, each confirms")
      ->check(CLI::Range(1, 500))
      ->capture_default_str();
  erasure_cmd->add_option("--requests", erasure_o.requests, "sequential round trips")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  erasure_cmd->add_option("--bulk", erasure_o.bulk, "customers erased in bulk (0: skip)")
      ->check(CLI::Range(int64_t{0}, int64_t{1'000'000}))
      ->capture_default_str();
  erasure_cmd->add_option("--clients", erasure_o.clients, "threads posting the bulk")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  erasure_cmd->add_option("--bulk-timeout", erasure_o.bulk_timeout_s, "seconds")
      ->check(CLI::Range(1, 3600))
      ->capture_default_str();

  SoakOptions soak_o;
  auto* soak_cmd = app.add_subcommand(
      "soak", "N agents, steady traffic, periodic broker and hub restarts: RSS/fd growth, exactly once");
  soak_cmd->add_option("--minutes", soak_o.minutes, "length of the traffic phase")
      ->check(CLI::Range(0.5, 24 * 60.0))
      ->capture_default_str();
  soak_cmd->add_option("--agents", soak_o.agents, "agents (POS terminals)")
      ->check(CLI::Range(1, 100))
      ->capture_default_str();
  soak_cmd->add_option("--pause-ms", soak_o.pause_ms, "per agent, between POSTs of 1-10 events")
      ->check(CLI::Range(1, 60'000))
      ->capture_default_str();
  soak_cmd->add_option("--broker-every", soak_o.broker_every_s, "seconds between broker restarts")
      ->check(CLI::Range(10.0, 86'400.0))
      ->capture_default_str();
  soak_cmd->add_option("--hub-every", soak_o.hub_every_s, "seconds between hub restarts")
      ->check(CLI::Range(10.0, 86'400.0))
      ->capture_default_str();
  soak_cmd->add_option("--sample", soak_o.sample_s, "seconds between /proc samples")
      ->check(CLI::Range(0.5, 600.0))
      ->capture_default_str();
  soak_cmd->add_option("--warmup", soak_o.warmup_s, "seconds of each process life not compared")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  soak_cmd->add_option("--hub-sqlite-mib", soak_o.hub_sqlite_mib,
                       "the hub's [store] sqlite_memory_mib (0: its default, no bound)")
      ->check(CLI::Range(int64_t{0}, int64_t{1} << 20));
  soak_cmd->add_option("--seed", soak_o.seed, "traffic seed (0: random)");

  TrickleOptions trickle_o;
  auto* trickle_cmd = app.add_subcommand(
      "trickle", "hub CPU per loyalty / anonymous sale from one till, with N known customers");
  trickle_cmd->add_option("--customers", trickle_o.customers, "known customer counts")
      ->delimiter(',')
      ->check(CLI::Range(int64_t{1}, int64_t{5'000'000}))
      ->capture_default_str();
  trickle_cmd->add_option("--sales", trickle_o.sales, "sales per phase")
      ->check(CLI::Range(int64_t{1}, int64_t{100'000}))
      ->capture_default_str();
  trickle_cmd->add_option("--rate", trickle_o.rate, "sales per second")
      ->check(CLI::Range(0.1, 1000.0))
      ->capture_default_str();
  trickle_cmd->add_option("--idle", trickle_o.idle_s, "seconds of the idle baseline")
      ->check(CLI::Range(1.0, 600.0))
      ->capture_default_str();
  trickle_cmd->add_option("--batch-delay-ms", trickle_o.batch_delay_ms,
                          "the hub's [projection] batch_delay_ms (-1: its default)")
      ->check(CLI::Range(int64_t{-1}, int64_t{10'000}))
      ->capture_default_str();
  FleetOptions fleet_o;
  auto* fleet_cmd = app.add_subcommand(
      "fleet", "many simulated tills (one MQTT client each) trickling sales and heartbeats");
  fleet_cmd->add_option("--devices", fleet_o.devices, "device counts")
      ->delimiter(',')
      ->check(CLI::Range(1, 5'000))
      ->capture_default_str();
  fleet_cmd->add_option("--seconds", fleet_o.seconds, "seconds of traffic per device count")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  fleet_cmd->add_option("--rate", fleet_o.rate, "sales per second per till")
      ->check(CLI::Range(0.001, 100.0))
      ->capture_default_str();
  fleet_cmd->add_option("--heartbeat", fleet_o.heartbeat_s, "seconds between heartbeats")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  fleet_cmd->add_flag("--keep-nagle", fleet_o.keep_nagle,
                     "the simulated devices leave Nagle on, like agents before TCP_NODELAY (A/B "
                     "against an older build via CJD_BINARY_DIR)");
  fleet_cmd->add_option("--idle", fleet_o.idle_s, "seconds of the idle baseline per phase")
      ->check(CLI::Range(1.0, 600.0))
      ->capture_default_str();
  InstancesOptions inst_o;
  auto* inst_cmd = app.add_subcommand(
      "instances", "the hub on PostgreSQL with 1, 2, 4 instances against the SQLite hub (issue 17)");
  inst_cmd->add_option("--instances", inst_o.instances, "PostgreSQL instance counts")
      ->delimiter(',')
      ->check(CLI::Range(1, 16))
      ->capture_default_str();
  inst_cmd->add_option("--devices", inst_o.devices, "simulated tills")
      ->check(CLI::Range(1, 5'000))
      ->capture_default_str();
  inst_cmd->add_option("--rate", inst_o.rate, "sales per second, all tills together")
      ->check(CLI::Range(0.1, 10'000.0))
      ->capture_default_str();
  inst_cmd->add_option("--seconds", inst_o.seconds, "seconds of traffic per run")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  inst_cmd->add_option("--heartbeat", inst_o.heartbeat_s, "seconds between a till's heartbeats")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  inst_cmd->add_option("--runs", inst_o.runs, "rounds (medians are printed)")
      ->check(CLI::Range(1, 20))
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  ingest.baseline = !no_baseline;
  drain.bridge = !no_bridge;

  InstallSignalHandlers();
  std::string cmdline;
  for (int i = 0; i < argc; ++i) cmdline += (i ? " " : "") + std::string(argv[i]);
  Out("cjd-bench (CustomerJourneyData %s)\n  command: %s\n", CJD_VERSION, cmdline.c_str());
  Out("%s", Conditions().c_str());
  Out("  programs:       %s, %s, %s\n", cjd::testing::AgentBinary().c_str(),
      cjd::testing::HubBinary().c_str(), cjd::testing::CjdctlBinary().c_str());
  Out("  network:        loopback only (127.0.0.1); every process is started by cjd-bench\n");
  // predictions and dedupe start no broker: they need no Mosquitto.
  if (!*predictions_cmd && !*dedupe_cmd && !cjd::testing::Mosquitto::Available()) {
    std::fprintf(stderr, "cjd-bench: %s\n", cjd::testing::Mosquitto::UnavailableReason().c_str());
    return 2;
  }

  try {
    if (*ingest_cmd) {
      RunIngest(ingest);
    } else if (*drain_cmd) {
      RunDrain(drain);
    } else if (*memory_cmd) {
      std::vector<MemPhase> mem = RunIngest(mem_ingest);
      auto more = RunDrain(mem_drain);
      mem.insert(mem.end(), more.begin(), more.end());
      PrintMemory(mem);
    } else if (*import_cmd) {
      RunImport(import_o, import_metrics ? &metrics_o : nullptr);
    } else if (*metrics_cmd) {
      RunMetrics(metrics_o);
    } else if (*profiles_cmd) {
      RunProfiles(profiles_o);
    } else if (*offers_cmd) {
      RunOffers(offers_o);
    } else if (*erasure_cmd) {
      RunErasure(erasure_o);
    } else if (*sealing_cmd) {
      RunSealing(sealing_o);
    } else if (*journeys_cmd) {
      RunJourneys(journeys_o);
    } else if (*dedupe_cmd) {
      RunDedupe(dedupe_o);
    } else if (*matching_cmd) {
      RunMatching(matching_o);
    } else if (*predictions_cmd) {
      RunPredictions(predictions_o);
    } else if (*soak_cmd) {
      if (RunSoak(soak_o) != 0) return 1;
    } else if (*trickle_cmd) {
      RunTrickle(trickle_o);
    } else if (*fleet_cmd) {
      RunFleet(fleet_o);
    } else if (*inst_cmd) {
      RunInstances(inst_o);
    } else if (*all_cmd) {
      std::vector<MemPhase> mem = RunIngest(IngestOptions{});
      auto more = RunDrain(DrainOptions{});
      mem.insert(mem.end(), more.begin(), more.end());
      PrintMemory(mem);
    }
  } catch (const Interrupted& e) {
    std::fprintf(stderr, "cjd-bench: %s; processes stopped, temporary files removed\n", e.what());
    return 130;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cjd-bench: FAILED: %s\n", e.what());
    return 1;
  }
  Out("\ncjd-bench finished %s\n", NowUtc().c_str());
  return 0;
}

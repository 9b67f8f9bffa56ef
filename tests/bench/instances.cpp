// cjd-bench instances: the hub on PostgreSQL with 1, 2 and 4 instances behind an MQTT 5 shared
// subscription, next to the SQLite hub in the same run (issue 17). See tests/bench/README.md.
//
// Per configuration (the SQLite hub first, the baseline; then PostgreSQL with each instance
// count), everything fresh: a Mosquitto, `cjdctl init-hub` (`--database` for PostgreSQL: one
// server for the run, a new database per configuration), `cjdctl add-device` for the simulated
// tills, the instances (the second and later: the first's hub.toml, hub.key, identity.key and
// master.key in a folder of their own, another port); then this process plays the tills (the
// fleet benchmark's simulated devices: one MQTT client and key pair each) sending single-sale
// frames and heartbeats at a fixed total rate for a bounded time, waits (bounded) until every
// sale is acknowledged and every instance has projected the whole log, and reads:
//   - each instance's CPU (utime + stime of cjd-hub, its idle rate measured just before and
//     subtracted), by thread;
//   - the PostgreSQL server's CPU (postmaster and its backends);
//   - what each instance committed (/v1/stats ingest.events_inserted) and the log's total;
//   - ack latency (publish -> the sealed ack back at the simulated till).
// Every instance projects the whole shared log (the derived views are per instance, issue 17),
// so the projection's cost is paid once per instance: the table splits ingest from the rest.
// Every loop is bounded in count and time.

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/bench/benchmarks.h"
#include "tests/bench/broker.h"
#include "tests/bench/common.h"
#include "tests/bench/hub_probe.h"
#include "tests/bench/sim_devices.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/http_client.h"
#include "tests/support/ports.h"
#include "tests/support/postgres.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace cjd::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::HttpClient;
using testing::Process;

// The threads that take a frame in and acknowledge it; the rest (projector, segments, journeys,
// offer planner, predictions, matching, http, ...) work on the derived views.
bool IngestThread(const std::string& name) {
  return name == "ingest" || name.rfind("MQTTAsync", 0) == 0 || name.rfind("MQTTAsync_", 0) == 0;
}

struct Instance {
  fs::path dir;
  uint16_t port = 0;
  Process process;
  std::unique_ptr<HttpClient> http;
  double idle_rate = 0;  // CPU s per s before the traffic
  double cpu0 = 0, cpu_s = 0;
  std::map<std::string, double> threads0, threads;
  int64_t inserted0 = 0, inserted = 0;
};

struct Run {
  std::string backend;
  int instances = 0;
  int64_t sales = 0, heartbeats = 0, publish_failures = 0, stored = 0, unacked = 0;
  double traffic_s = 0, wall_s = 0, db_cpu_s = 0;
  int64_t db_xacts = 0;  // transactions committed in the hub's database during the run
  // On disk after the run: events (all partitions, indexes, TOAST; SQLite: hub.db + WAL),
  // event_keys, vault_keys (PostgreSQL).
  int64_t events_bytes = 0, keys_bytes = 0, vault_bytes = 0, vault_keys = 0;
  bool settled = false;
  std::vector<double> latencies_ms;
  std::vector<Instance> hubs;
  double HubUs(const Instance& h) const {
    return (h.cpu_s - h.idle_rate * wall_s) / static_cast<double>(std::max<int64_t>(1, sales)) * 1e6;
  }
  double HubsUs() const {
    double t = 0;
    for (const Instance& h : hubs) t += HubUs(h);
    return t;
  }
  double IngestUs() const {  // summed over instances, idle not subtracted
    double t = 0;
    for (const Instance& h : hubs) {
      for (const auto& [name, s] : h.threads) {
        if (IngestThread(name)) t += s;
      }
    }
    return t / static_cast<double>(std::max<int64_t>(1, sales)) * 1e6;
  }
  double DbUs() const { return db_cpu_s / static_cast<double>(std::max<int64_t>(1, sales)) * 1e6; }
};

json Stats(Instance& h, const std::string& token) {
  auto r = h.http->Get("/v1/stats", token);
  return r.status == 200 ? r.Json() : json();
}

Run RunOne(const InstancesOptions& o, testing::Postgres* pg, int n_instances, int index) {
  Run run;
  run.backend = pg != nullptr ? "postgres" : "sqlite";
  run.instances = n_instances;
  testing::TempDir dir("cjd-bench-inst-");
  fs::create_directories(dir.Join("broker"));
  BenchBroker broker(dir.Join("broker"), BrokerOptions{});
  broker.Start();
  const fs::path hub_dir = dir.Join("hub");
  std::vector<std::string> init = {testing::CjdctlBinary(), "init-hub", "--dir", hub_dir.string(),
                                   "--listen", "127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()),
                                   "--broker", broker.Uri()};
  const std::string db_name = "inst_" + std::to_string(index);
  if (pg != nullptr) init.insert(init.end(), {"--database", pg->CreateDatabase(db_name)});
  auto xacts = [&]() -> int64_t {
    if (pg == nullptr) return 0;
    const std::string v =
        pg->Psql("SELECT pg_stat_force_next_flush(); SELECT xact_commit FROM pg_stat_database "
                 "WHERE datname = current_database()",
                 db_name);
    std::istringstream lines(v);
    std::string line, last;
    while (std::getline(lines, line)) {
      if (!line.empty()) last = line;
    }
    return last.empty() ? 0 : std::stoll(last);
  };
  std::string out;
  if (testing::RunCommand(init, std::chrono::seconds(60), &out) != 0) {
    throw std::runtime_error("cjdctl init-hub failed: " + out);
  }
  const std::string token = itest::GetTomlString(hub_dir / "hub.toml", "http", "token");
  std::vector<std::unique_ptr<SimDevice>> devices =
      ProvisionDevices(hub_dir, dir.Join("devices"), o.devices);

  run.hubs.resize(n_instances);
  for (int k = 0; k < n_instances; ++k) {
    Instance& h = run.hubs[k];
    h.dir = k == 0 ? hub_dir : dir.Join("hub" + std::to_string(k + 1));
    if (k > 0) {
      fs::create_directories(h.dir);
      for (const char* f :
           {"hub.toml", "hub.key", "hub.pub", "identity.key", "master.key", "audit.key"}) {
        fs::copy_file(hub_dir / f, h.dir / f);
      }
    }
    h.port = testing::FreeLoopbackPort();
    itest::SetTomlKey(h.dir / "hub.toml", "http", "listen",
                      itest::TomlQuote("127.0.0.1:" + std::to_string(h.port)));
    h.process = Process::Start({testing::HubBinary(), "--config", (h.dir / "hub.toml").string()},
                               h.dir / "hub.log");
    h.http = std::make_unique<HttpClient>(h.port, std::chrono::seconds(30));
    // The first instance's start makes identity.key and master.key, which the others copy.
    const bool up = testing::WaitUntil(
        [&] {
          CheckInterrupted();
          const json s = Stats(h, token);
          return !h.process.Running() ||
                 (s.is_object() && s.contains("ingest") && s["ingest"].value("connected", false));
        },
        std::chrono::seconds(60), std::chrono::milliseconds(20));
    if (!up || !h.process.Running()) {
      throw std::runtime_error("cjd-hub instance " + std::to_string(k + 1) +
                               " did not start or connect\n" + h.process.LogTail());
    }
  }
  AckSink sink;
  ConnectAll(devices, 0, o.devices, broker.Uri(), sink, /*keep_nagle=*/false);

  // Idle baselines (all instances at once), then the counters before the traffic.
  {
    std::vector<double> c0;
    for (Instance& h : run.hubs) c0.push_back(CpuSeconds(h.process.pid()));
    const auto ti = SteadyClock::now();
    SleepFor(Ms(static_cast<int64_t>(o.idle_s * 1000)));
    const double span = SecondsSince(ti);
    for (size_t k = 0; k < run.hubs.size(); ++k) {
      run.hubs[k].idle_rate = (CpuSeconds(run.hubs[k].process.pid()) - c0[k]) / span;
    }
  }
  for (Instance& h : run.hubs) {
    const json s = Stats(h, token);
    h.inserted0 = s.is_object() ? s["ingest"].value("events_inserted", int64_t{0}) : 0;
    h.cpu0 = CpuSeconds(h.process.pid());
    h.threads0 = ThreadCpuSeconds(h.process.pid());
  }
  const int64_t xacts0 = xacts();
  const double db0 = pg != nullptr ? CpuSecondsWithChildren(pg->pid()) : 0;
  const auto t0 = SteadyClock::now();

  // Sales spread evenly over the tills and the seconds; a heartbeat per till every heartbeat_s.
  const Traffic sent =
      PlayTraffic(devices, o.devices, o.devices / o.rate, o.heartbeat_s, o.seconds, t0);
  run.sales = sent.sales;
  run.heartbeats = sent.heartbeats;
  run.publish_failures = sent.publish_failures;
  run.traffic_s = SecondsSince(t0);

  // Every sale acknowledged, then every instance has projected the whole log (bounded).
  const auto ta = SteadyClock::now();
  run.unacked = WaitAcked(devices, o.devices, o.settle_s);
  std::vector<int64_t> last_cursor(run.hubs.size(), -1);
  while (SecondsSince(ta) < o.settle_s) {
    CheckInterrupted();
    bool all = true;
    for (size_t k = 0; k < run.hubs.size(); ++k) {
      const json s = Stats(run.hubs[k], token);
      if (!s.is_object()) {
        all = false;
        continue;
      }
      const int64_t total = s.value("events_total", int64_t{0});
      const int64_t cursor = s["projection"].value("cursor", int64_t{0});
      const int64_t queued = s.contains("segments") ? s["segments"].value("queued", int64_t{0}) : 0;
      const bool quiet = total >= run.sales && cursor >= total && queued == 0;
      if (!quiet || cursor != last_cursor[k]) all = false;
      last_cursor[k] = quiet ? cursor : -1;
      run.stored = total;
    }
    if (all) {
      run.settled = true;
      break;
    }
    SleepFor(Ms(250));
  }
  run.wall_s = SecondsSince(t0);
  for (Instance& h : run.hubs) {
    h.cpu_s = CpuSeconds(h.process.pid()) - h.cpu0;
    h.threads = ThreadCpuSince(h.process.pid(), h.threads0);
    const json s = Stats(h, token);
    h.inserted = (s.is_object() ? s["ingest"].value("events_inserted", int64_t{0}) : 0) - h.inserted0;
  }
  if (pg != nullptr) run.db_cpu_s = CpuSecondsWithChildren(pg->pid()) - db0;
  run.db_xacts = xacts() - xacts0;
  // What the log takes on disk per sale (with its indexes; heartbeats store no row).
  if (pg != nullptr) {
    const std::string v = pg->Psql(
        "SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = "
        "'events'::regclass) || ' ' || pg_total_relation_size('event_keys') || ' ' || "
        "pg_total_relation_size('vault_keys') || ' ' || (SELECT count(*) FROM vault_keys)",
        db_name);
    std::istringstream in(v);
    in >> run.events_bytes >> run.keys_bytes >> run.vault_bytes >> run.vault_keys;
  } else {
    std::error_code ec;
    for (const char* f : {"hub.db", "hub.db-wal"}) {
      const auto n = fs::file_size(hub_dir / f, ec);
      if (!ec) run.events_bytes += static_cast<int64_t>(n);
    }
  }
  if (pg != nullptr && std::string(std::getenv("CJD_PG_SETTINGS") != nullptr
                                       ? std::getenv("CJD_PG_SETTINGS")
                                       : "")
                               .find("pg_stat_statements") != std::string::npos) {
    // Where the server's time went (CJD_PG_SETTINGS="shared_preload_libraries=pg_stat_statements").
    try {
      Out("    statements by total time (pg_stat_statements; calls, ms, text):\n%s",
          pg->Psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements; SELECT calls, "
                   "round(total_exec_time::numeric, 1), round(total_plan_time::numeric, 1), "
                   "left(regexp_replace(query, '\\s+', ' ', 'g'), 110) FROM pg_stat_statements "
                   "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                   "ORDER BY total_exec_time + total_plan_time DESC LIMIT 15",
                   db_name)
              .c_str());
    } catch (const std::exception& e) {
      Out("    pg_stat_statements: %s\n", e.what());
    }
  }
  {
    std::lock_guard lock(sink.mu);
    run.latencies_ms = sink.latencies_ms;
  }
  std::sort(run.latencies_ms.begin(), run.latencies_ms.end());
  DisconnectAll(devices);
  for (Instance& h : run.hubs) h.process.Terminate(std::chrono::seconds(30));
  return run;
}

void Report(const Run& r, const Run* base) {
  const auto& l = r.latencies_ms;
  Out("  %s, %d instance%s: %lld sales + %lld heartbeats in %.1f s (%.1f sales/s); stored %lld, "
      "unacked %lld, publish failures %lld%s\n",
      r.backend.c_str(), r.instances, r.instances == 1 ? "" : "s",
      static_cast<long long>(r.sales), static_cast<long long>(r.heartbeats), r.traffic_s,
      static_cast<double>(r.sales) / r.traffic_s, static_cast<long long>(r.stored),
      static_cast<long long>(r.unacked), static_cast<long long>(r.publish_failures),
      r.settled ? "" : "; NOT settled within the bound");
  for (size_t k = 0; k < r.hubs.size(); ++k) {
    const Instance& h = r.hubs[k];
    Out("    instance %zu: committed %lld frames' events, %.0f us CPU per sale (idle %.2f ms/s "
        "subtracted); by thread, us/sale:%s\n",
        k + 1, static_cast<long long>(h.inserted), r.HubUs(h), h.idle_rate * 1e3,
        PerUnitByThread(h.threads, r.sales).c_str());
  }
  if (!l.empty()) {
    Out("    ack latency: p50 %.2f ms, p99 %.2f ms, max %.2f ms (%zu sales)\n", Percentile(l, 0.5),
        Percentile(l, 0.99), l.back(), l.size());
  }
  const double total = r.HubsUs() + r.DbUs();
  Out("    per sale: hubs %.0f us (ingest threads %.0f), database server %.0f us (%.1f "
      "transactions), total %.0f us",
      r.HubsUs(), r.IngestUs(), r.DbUs(),
      static_cast<double>(r.db_xacts) / static_cast<double>(std::max<int64_t>(1, r.sales)), total);
  if (base != nullptr && base != &r) {
    Out(" = %.2fx the sqlite hub's %.0f us", total / std::max(1.0, base->HubsUs()), base->HubsUs());
  }
  Out("\n");
  const double per_frame = static_cast<double>(r.sales) /
                           static_cast<double>(std::max<int64_t>(1, r.sales + r.heartbeats));
  Out("    per frame (sales and heartbeats alike): hubs %.0f us, database server %.0f us\n",
      r.HubsUs() * per_frame, r.DbUs() * per_frame);
  if (r.stored > 0) {
    Out("    on disk per stored event: %s %.0f bytes%s\n",
        r.backend == "postgres" ? "events (all partitions, indexes)" : "hub.db + WAL",
        static_cast<double>(r.events_bytes) / static_cast<double>(r.stored),
        r.backend == "postgres"
            ? (", event_keys " +
               std::to_string(r.keys_bytes / std::max<int64_t>(1, r.stored)) + " bytes; " +
               std::to_string(r.vault_keys) + " data keys, " +
               std::to_string(r.vault_bytes / std::max<int64_t>(1, r.vault_keys)) + " bytes each")
                  .c_str()
            : "");
  }
  if (r.stored != r.sales) {
    Out("    WARNING: the log holds %lld events for %lld sales\n", static_cast<long long>(r.stored),
        static_cast<long long>(r.sales));
  }
}

}  // namespace

void RunInstances(const InstancesOptions& o) {
  Out("\n== instances: %d simulated tills, %.0f single-sale frames/s in all, a heartbeat per till "
      "every %.0f s, %.0f s per run; the SQLite hub, then PostgreSQL with",
      o.devices, o.rate, o.heartbeat_s, o.seconds);
  for (int n : o.instances) Out(" %d", n);
  Out(" instance(s) ==\n");
  if (!InitCrypto().ok()) throw std::runtime_error("libsodium did not start");
  if (!testing::Postgres::Available()) throw std::runtime_error(testing::Postgres::UnavailableReason());
  RaiseFileLimit();
  testing::Postgres pg = testing::Postgres::Start();
  std::vector<Run> runs;
  int index = 0;
  for (int rep = 0; rep < o.runs; ++rep) {
    Out("\n  -- round %d of %d -- %s\n", rep + 1, o.runs, LoadNow().c_str());
    runs.push_back(RunOne(o, nullptr, 1, ++index));
    const size_t base = runs.size() - 1;
    Report(runs[base], nullptr);
    for (int n : o.instances) {
      Out("  %s\n", LoadNow().c_str());
      runs.push_back(RunOne(o, &pg, n, ++index));
      Report(runs.back(), &runs[base]);
    }
  }
  // Medians over the rounds.
  Out("\n  INSTANCES RESULT (medians of %d round%s; us of CPU per sale, heartbeats included, idle "
      "subtracted)\n",
      o.runs, o.runs == 1 ? "" : "s");
  Out("  %-9s | %-9s | %-14s | %-14s | %-16s | %-10s | %-10s | %s\n", "backend", "instances",
      "hubs us/sale", "ingest threads", "database us/sale", "total", "ack p99 ms", "vs sqlite");
  std::vector<std::pair<std::string, int>> configs = {{"sqlite", 1}};
  for (int n : o.instances) configs.emplace_back("postgres", n);
  double sqlite_total = 0;
  for (const auto& [backend, n] : configs) {
    std::vector<double> hubs, ingest, db, total, p99;
    for (const Run& r : runs) {
      if (r.backend != backend || r.instances != n) continue;
      hubs.push_back(r.HubsUs());
      ingest.push_back(r.IngestUs());
      db.push_back(r.DbUs());
      total.push_back(r.HubsUs() + r.DbUs());
      p99.push_back(r.latencies_ms.empty() ? 0 : Percentile(r.latencies_ms, 0.99));
    }
    if (total.empty()) continue;
    if (backend == "sqlite") sqlite_total = Median(total);
    Out("  %-9s | %9d | %14.0f | %14.0f | %16.0f | %10.0f | %10.2f | %.2fx\n", backend.c_str(), n,
        Median(hubs), Median(ingest), Median(db), Median(total), Median(p99),
        Median(total) / std::max(1.0, sqlite_total));
  }
}

}  // namespace cjd::bench

// cjd-bench ingest: POS clients posting single transactions to a real agent, against a raw SQLite
// baseline doing the same writes in the same process.
#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <mutex>
#include <filesystem>
#include <map>
#include <stdexcept>
#include <thread>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "tests/bench/common.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/stack.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace cjd::bench {
namespace fs = std::filesystem;
using testing::HttpClient;

namespace {

// ---- raw SQLite baseline ----------------------------------------------------------------------

// One row as the agent stores it: the canonical JSON (ToCanonicalJson) of the posted event.
struct Row {
  std::string event_id;
  int64_t occurred_at_ms = 0;
  std::string body;
};

std::vector<Row> CanonicalRows(const std::vector<std::string>& posted) {
  std::vector<Row> rows;
  rows.reserve(posted.size());
  for (const auto& text : posted) {
    auto j = ParseJsonExact(text);
    if (!j.ok()) throw std::runtime_error("generated event is not JSON: " + j.status().message());
    auto e = ValidateEvent(*j);
    if (!e.ok()) throw std::runtime_error("generated event is invalid: " + e.status().ToString());
    rows.push_back(Row{e->event_id, e->occurred_at_ms, ToCanonicalJson(*e)});
  }
  return rows;
}

void Check(sqlite3* db, int rc, const char* what) {
  if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW) {
    throw std::runtime_error(std::string("baseline: ") + what + ": " + sqlite3_errmsg(db));
  }
}

void Exec(sqlite3* db, const char* sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql, nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err != nullptr ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error(std::string("baseline: ") + sql + ": " + msg);
  }
}

// The agent's outbox schema (agent/outbox/outbox_store.cpp, migration 1) and per-event writes:
// insert the id (ON CONFLICT DO NOTHING), insert the row; per transaction two meta updates. WAL,
// synchronous=FULL, `batch` rows per transaction. Returns rows/s over the inserts and commits.
double BaselineRowsPerSec(const std::vector<Row>& rows, int batch, const fs::path& file) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(file.c_str(), &db,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    std::string msg = db != nullptr ? sqlite3_errmsg(db) : "?";
    sqlite3_close_v2(db);
    throw std::runtime_error("baseline: cannot open " + file.string() + ": " + msg);
  }
  struct Closer {
    sqlite3* db;
    std::vector<sqlite3_stmt*> stmts;
    ~Closer() {
      for (auto* s : stmts) sqlite3_finalize(s);
      sqlite3_close_v2(db);
    }
  } closer{db, {}};
  Exec(db, "PRAGMA journal_mode=WAL");
  Exec(db, "PRAGMA synchronous=FULL");
  Exec(db, "PRAGMA foreign_keys=ON");
  Exec(db, R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta VALUES ('last_seq', 0), ('acked_seq', 0);
      CREATE TABLE outbox (
        seq            INTEGER PRIMARY KEY,
        event_id       TEXT    NOT NULL,
        type           INTEGER NOT NULL,
        occurred_at_ms INTEGER NOT NULL,
        accepted_at_ms INTEGER NOT NULL,
        body           BLOB    NOT NULL
      );
      CREATE TABLE event_ids (
        event_id       TEXT PRIMARY KEY,
        seq            INTEGER NOT NULL,
        accepted_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX event_ids_by_time ON event_ids (accepted_at_ms);
  )sql");
  auto prepare = [&](const char* sql) {
    sqlite3_stmt* s = nullptr;
    Check(db, sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr), sql);
    closer.stmts.push_back(s);
    return s;
  };
  sqlite3_stmt* ins_id = prepare(
      "INSERT INTO event_ids (event_id, seq, accepted_at_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT DO NOTHING");
  sqlite3_stmt* ins_row = prepare(
      "INSERT INTO outbox (seq, event_id, type, occurred_at_ms, accepted_at_ms, body) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  sqlite3_stmt* set_meta = prepare("UPDATE meta SET value = ?2 WHERE key = ?1");
  auto run = [&](sqlite3_stmt* s, const char* what) {
    Check(db, sqlite3_step(s), what);
    sqlite3_reset(s);
  };
  const auto start = SteadyClock::now();
  int64_t seq = 0;
  for (size_t i = 0; i < rows.size();) {
    CheckInterrupted();
    Exec(db, "BEGIN IMMEDIATE");
    const int64_t now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
    for (int k = 0; k < batch && i < rows.size(); ++k, ++i) {
      const Row& r = rows[i];
      ++seq;
      sqlite3_bind_text(ins_id, 1, r.event_id.data(), static_cast<int>(r.event_id.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int64(ins_id, 2, seq);
      sqlite3_bind_int64(ins_id, 3, now_ms);
      run(ins_id, "insert event id");
      if (sqlite3_changes(db) == 0) throw std::runtime_error("baseline: duplicate event id");
      sqlite3_bind_int64(ins_row, 1, seq);
      sqlite3_bind_text(ins_row, 2, r.event_id.data(), static_cast<int>(r.event_id.size()),
                        SQLITE_STATIC);
      sqlite3_bind_int(ins_row, 3, 1);
      sqlite3_bind_int64(ins_row, 4, r.occurred_at_ms);
      sqlite3_bind_int64(ins_row, 5, now_ms);
      sqlite3_bind_blob(ins_row, 6, r.body.data(), static_cast<int>(r.body.size()), SQLITE_STATIC);
      run(ins_row, "insert row");
    }
    sqlite3_bind_text(set_meta, 1, "last_seq", -1, SQLITE_STATIC);
    sqlite3_bind_int64(set_meta, 2, seq);
    run(set_meta, "meta");
    sqlite3_bind_text(set_meta, 1, "acked_seq", -1, SQLITE_STATIC);
    sqlite3_bind_int64(set_meta, 2, 0);
    run(set_meta, "meta");
    Exec(db, "COMMIT");
  }
  return static_cast<double>(rows.size()) / SecondsSince(start);
}

// ---- one HTTP run -----------------------------------------------------------------------------

struct RunResult {
  int clients = 0;
  int64_t ok = 0;
  int64_t errors = 0;
  std::string first_error;
  double seconds = 0;
  double events_per_s = 0;
  double p50_ms = 0, p99_ms = 0, max_ms = 0;
  double agent_cpu_s = 0, hub_cpu_s = 0, broker_cpu_s = 0, bench_cpu_s = 0;
  bool timed_out = false;
};

RunResult PostRun(CjdStack& stack, const std::vector<std::string>& bodies, int clients,
                  double timeout_s) {
  RunResult r;
  r.clients = clients;
  const size_t n = bodies.size();
  std::vector<std::vector<double>> lat(clients);
  std::vector<int64_t> ok(clients, 0), err(clients, 0);
  std::vector<std::string> first_err(clients);
  std::atomic<int> ready{0};
  std::mutex gate_mu;
  std::condition_variable gate_cv;
  bool go = false;  // guarded by gate_mu
  std::atomic<bool> abort{false};
  std::atomic<int> finished{0};
  std::vector<SteadyClock::time_point> ended(clients);
  SteadyClock::time_point start;
  const std::string token = stack.agent_token();
  const uint16_t port = stack.agent_port();

  auto worker = [&](int c) {
    HttpClient http(port, std::chrono::seconds(10));
    http.Get("/healthz");  // open the keep-alive connection before the clock starts
    const size_t begin = n * c / clients;
    const size_t end = n * (c + 1) / clients;
    lat[c].reserve(end - begin);
    ready.fetch_add(1);
    {
      std::unique_lock lock(gate_mu);
      gate_cv.wait(lock, [&] { return go; });
    }
    for (size_t i = begin; i < end && !abort.load(); ++i) {
      const auto t0 = SteadyClock::now();
      auto resp = http.Post("/v1/events", bodies[i], token);
      const auto t1 = SteadyClock::now();
      lat[c].push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      if (resp.status == 202) {
        ++ok[c];
      } else {
        if (err[c]++ == 0) {
          first_err[c] = std::to_string(resp.status) + " " + resp.body.substr(0, 200);
        }
      }
    }
    ended[c] = SteadyClock::now();
    finished.fetch_add(1);
  };

  const double cpu_agent0 = CpuSeconds(stack.agent_pid());
  const double cpu_hub0 = CpuSeconds(stack.hub_pid());
  const double cpu_broker0 = CpuSeconds(stack.broker_pid());
  const double cpu_self0 = SelfCpuSeconds();
  std::vector<std::thread> threads;
  threads.reserve(clients);
  for (int c = 0; c < clients; ++c) threads.emplace_back(worker, c);
  testing::WaitUntil([&] { return ready.load() == clients; }, std::chrono::seconds(30),
                     std::chrono::milliseconds(1));
  {
    std::lock_guard lock(gate_mu);
    go = true;
    start = SteadyClock::now();
  }
  gate_cv.notify_all();
  // The main thread watches the clock and signals; the workers stop at their next request.
  while (finished.load() < clients) {
    if (InterruptRequested() || SecondsSince(start) > timeout_s) {
      r.timed_out = !InterruptRequested();
      abort.store(true);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  for (auto& t : threads) t.join();
  r.seconds = std::chrono::duration<double>(*std::max_element(ended.begin(), ended.end()) - start)
                  .count();
  CheckInterrupted();
  r.agent_cpu_s = CpuSeconds(stack.agent_pid()) - cpu_agent0;
  r.hub_cpu_s = CpuSeconds(stack.hub_pid()) - cpu_hub0;
  r.broker_cpu_s = CpuSeconds(stack.broker_pid()) - cpu_broker0;
  r.bench_cpu_s = SelfCpuSeconds() - cpu_self0;
  std::vector<double> all;
  all.reserve(n);
  for (int c = 0; c < clients; ++c) {
    r.ok += ok[c];
    r.errors += err[c];
    if (r.first_error.empty() && !first_err[c].empty()) r.first_error = first_err[c];
    all.insert(all.end(), lat[c].begin(), lat[c].end());
  }
  std::sort(all.begin(), all.end());
  r.events_per_s = static_cast<double>(r.ok) / r.seconds;
  r.p50_ms = Percentile(all, 0.50);
  r.p99_ms = Percentile(all, 0.99);
  r.max_ms = all.empty() ? NAN : all.back();
  return r;
}

}  // namespace

std::vector<MemPhase> RunIngest(const IngestOptions& o) {
  std::vector<MemPhase> mem;
  if (o.events <= 0 || o.repeats <= 0 || o.clients.empty()) {
    throw std::invalid_argument("ingest: --events, --repeats and --clients must be positive");
  }
  for (int c : o.clients) {
    if (c <= 0 || c > 1024) throw std::invalid_argument("ingest: clients must be 1..1024");
  }
  Out("\n== ingest: single-event POST /v1/events, 202 after the group commit ==\n");
  Out("  started %s; %lld events per run, clients {", NowUtc().c_str(),
      static_cast<long long>(o.events));
  for (size_t i = 0; i < o.clients.size(); ++i) Out("%s%d", i ? "," : "", o.clients[i]);
  Out("}, %d repetitions per client count (median reported)\n", o.repeats);
  Out("  machine: %s\n", LoadNow().c_str());

  // Sizes of what is posted and of what is stored (canonical JSON), from the first run's events.
  {
    EventFactory f(CjdStack::kStoreId, "probe");
    std::vector<std::string> sample;
    for (int i = 0; i < 2000; ++i) sample.push_back(f.Make(i));
    const SizeStats posted = SizesOf(sample);
    std::vector<std::string> stored;
    for (const auto& r : CanonicalRows(sample)) stored.push_back(r.body);
    const SizeStats canon = SizesOf(stored);
    Out("  event: a transaction of 3-5 items with loyalty id and payment; POST body %.0f bytes "
        "mean (min %zu, max %zu); stored canonical JSON %.0f bytes mean (min %zu, max %zu)\n",
        posted.mean, posted.min, posted.max, canon.mean, canon.min, canon.max);
    Out("  example: %s\n", sample[0].c_str());
  }

  // Baseline first: the same rows, written straight into SQLite by one thread of this process.
  double baseline = NAN;
  if (o.baseline) {
    EventFactory f(CjdStack::kStoreId, "base");
    std::vector<std::string> posted;
    posted.reserve(o.events);
    for (int64_t i = 0; i < o.events; ++i) posted.push_back(f.Make(i));
    const std::vector<Row> rows = CanonicalRows(posted);
    std::vector<double> rates;
    testing::TempDir dir("cjd-bench-baseline-");
    for (int rep = 0; rep < o.repeats; ++rep) {
      const fs::path file = dir.Join("baseline-" + std::to_string(rep) + ".db");
      rates.push_back(BaselineRowsPerSec(rows, o.baseline_batch, file));
      Out("  baseline run %d: %.0f rows/s\n", rep + 1, rates.back());
    }
    baseline = Median(rates);
    Out("  BASELINE raw SQLite (outbox schema, WAL, synchronous=FULL, %d rows per transaction, "
        "one thread, %lld rows, median of %d): %.0f rows/s\n",
        o.baseline_batch, static_cast<long long>(o.events), o.repeats, baseline);
  }

  CjdStack stack(StackOptions{});
  stack.StartAll();
  Out("  stack: mosquitto :%u, cjd-hub :%u, cjd-agent :%u (pid %d), dir %s\n",
      stack.broker().port(), stack.hub_port(), stack.agent_port(), stack.agent_pid(),
      stack.dir().c_str());
  SleepFor(std::chrono::seconds(3));
  {
    const MemFigures m = ReadMem(stack.agent_pid());
    mem.push_back(
        MemPhase{"idle, 3 s after start", m.rss_kb, m.hwm_kb, 1, m.anon_kb, m.file_kb, m.shmem_kb});
  }

  const std::string tag = std::to_string(std::time(nullptr) % 100000);
  std::map<int, std::vector<RunResult>> results;
  int64_t posted_total = 0;
  const int max_clients = *std::max_element(o.clients.begin(), o.clients.end());
  MemPhase load_mem{"during the " + std::to_string(max_clients) + "-client ingest"};
  for (int rep = 0; rep < o.repeats; ++rep) {
    for (int clients : o.clients) {
      CheckInterrupted();
      // Every run starts from an empty outbox, so runs are comparable.
      if (!testing::WaitUntil(
              [&] {
                CheckInterrupted();
                return stack.AgentBacklog() == 0;
              },
              std::chrono::seconds(120), std::chrono::milliseconds(50))) {
        Out("  warning: the agent's backlog did not reach 0 within 120 s before this run\n");
      }
      EventFactory f(CjdStack::kStoreId,
                     "r" + tag + "c" + std::to_string(clients) + "n" + std::to_string(rep));
      std::vector<std::string> bodies;
      bodies.reserve(o.events);
      for (int64_t i = 0; i < o.events; ++i) bodies.push_back(f.Make(i));
      std::unique_ptr<MemSampler> sampler;
      if (clients == max_clients) sampler = std::make_unique<MemSampler>(stack.agent_pid());
      RunResult r = PostRun(stack, bodies, clients, o.run_timeout_s);
      if (sampler) {
        const MemPhase ph = PhaseFrom(load_mem.phase, *sampler);
        if (ph.max_rss_kb > load_mem.max_rss_kb) {
          load_mem.max_rss_kb = ph.max_rss_kb;
          load_mem.anon_kb = ph.anon_kb;
          load_mem.file_kb = ph.file_kb;
          load_mem.shmem_kb = ph.shmem_kb;
        }
        load_mem.hwm_kb = std::max(load_mem.hwm_kb, ph.hwm_kb);
        load_mem.samples += ph.samples;
      }
      posted_total += r.ok;
      Out("  run %d, %2d clients: %6lld ok, %lld errors in %.2f s = %8.0f events/s; latency p50 "
          "%.2f ms, p99 %.2f ms, max %.2f ms; CPU s agent %.2f hub %.2f broker %.2f bench %.2f%s\n",
          rep + 1, clients, static_cast<long long>(r.ok), static_cast<long long>(r.errors),
          r.seconds, r.events_per_s, r.p50_ms, r.p99_ms, r.max_ms, r.agent_cpu_s, r.hub_cpu_s,
          r.broker_cpu_s, r.bench_cpu_s, r.timed_out ? " (TIMED OUT)" : "");
      if (r.errors > 0) Out("    first error: %s\n", r.first_error.c_str());
      results[clients].push_back(r);
    }
  }
  mem.push_back(load_mem);

  // Everything accepted must reach the hub (a correctness check on the side).
  const bool delivered = testing::WaitUntil(
      [&] {
        CheckInterrupted();
        return stack.HubEventsTotal() >= posted_total && stack.AgentBacklog() == 0;
      },
      std::chrono::seconds(120), std::chrono::milliseconds(100));
  Out("  delivery check: hub holds %lld of %lld accepted events, agent backlog %lld%s\n",
      static_cast<long long>(stack.HubEventsTotal()), static_cast<long long>(posted_total),
      static_cast<long long>(stack.AgentBacklog()), delivered ? "" : "  (NOT ALL DELIVERED)");

  Out("\n  INGEST RESULT (median of %d runs of %lld events; baseline %.0f rows/s)\n", o.repeats,
      static_cast<long long>(o.events), baseline);
  Out("  %7s | %10s | %8s | %8s | %8s | %11s | %s\n", "clients", "events/s", "p50 ms", "p99 ms",
      "max ms", "vs baseline", "agent CPU us/event");
  Out("  --------+------------+----------+----------+----------+-------------+-------------------\n");
  for (int clients : o.clients) {
    std::vector<double> eps, p50, p99, mx, cpu;
    for (const auto& r : results[clients]) {
      eps.push_back(r.events_per_s);
      p50.push_back(r.p50_ms);
      p99.push_back(r.p99_ms);
      mx.push_back(r.max_ms);
      cpu.push_back(r.ok > 0 ? r.agent_cpu_s * 1e6 / static_cast<double>(r.ok) : NAN);
    }
    Out("  %7d | %10.0f | %8.2f | %8.2f | %8.2f | %10.2fx | %.0f\n", clients, Median(eps),
        Median(p50), Median(p99), Median(mx), Median(eps) / baseline, Median(cpu));
  }
  if (std::find(o.clients.begin(), o.clients.end(), 64) != o.clients.end()) {
    std::vector<double> eps, p99;
    for (const auto& r : results[64]) {
      eps.push_back(r.events_per_s);
      p99.push_back(r.p99_ms);
    }
    const bool tput = Median(eps) >= 20'000;
    const bool lat = Median(p99) < 10;
    Out("  aim at 64 clients: >= 20000 events/s: %s (%.0f); p99 < 10 ms: %s (%.2f ms)\n",
        tput ? "MET" : "NOT MET", Median(eps), lat ? "MET" : "NOT MET", Median(p99));
  }
  Out("  (each column is the median over the runs independently; CPU: seconds of CPU the process "
      "used during the run, per accepted event)\n");
  Out("  finished %s; machine: %s\n", NowUtc().c_str(), LoadNow().c_str());
  return mem;
}

}  // namespace cjd::bench

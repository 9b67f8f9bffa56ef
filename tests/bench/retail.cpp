// cjd-bench import | metrics | profiles: the hub's customer side (issue 4, "Speed").
//
//   import   the whole UCI Online Retail set through the real `cjdctl import` into a real cjd-hub,
//            timed until cjdctl exits and until the projection has applied every event (profiles,
//            identities, traits current); baseline: reading and assembling the same files in
//            this process without HTTP.
//   metrics  GET /v1/metrics over that import (whole range and a 3-month range) against GET
//            /healthz on the same connection; with --orders N, over N generated orders written
//            straight into the log instead (whole range, a quarter, a store, a channel).
//   profiles N identify events written straight into hub.db's event log, projected by a real
//            cjd-hub (timed), then profile lookups by identifier and by id from 4 keep-alive
//            clients, against /healthz from the same clients.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/broker.h"
#include "tests/bench/common.h"
#include "tests/bench/hub_log_seeder.h"
#include "tests/bench/uci.h"
#include "tests/support/binaries.h"
#include "tests/support/http_client.h"
#include "tests/support/ports.h"
#include "tests/support/postgres.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"
#include "tools/cjdctl/import/importer.h"

namespace cjd::bench {
namespace fs = std::filesystem;
using nlohmann::json;
using testing::HttpClient;
using testing::Process;

// The mapping of the UCI columns, as in tests/tools/import/online_retail_test.cpp.
const char* const kUciMap =
    "order_id=InvoiceNo,customer_id=CustomerID,occurred_at=InvoiceDate,sku=StockCode,"
    "description=Description,quantity=Quantity,unit_price=UnitPrice,country=Country";

// ---- small helpers ----------------------------------------------------------------------------

// The 13 monthly .csv.gz files of ../shared/datasets/online-retail, sorted; empty with a reason.
std::vector<std::string> UciFiles(std::string* why_not) {
  const std::string dir = testing::DatasetDir("online-retail");
  if (dir.empty()) {
    *why_not = "the UCI Online Retail data set is not there (expected ../shared/datasets/"
               "online-retail beside the repository)";
    return {};
  }
  std::vector<std::string> files;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    // The monthly .csv.gz files only: the plain .csv is a copy of December 2010.
    if (name.rfind("online_retail_", 0) == 0 && name.size() > 7 &&
        name.compare(name.size() - 7, 7, ".csv.gz") == 0) {
      files.push_back(entry.path().string());
    }
  }
  std::sort(files.begin(), files.end());
  if (files.size() != 13) {
    *why_not = "expected 13 online_retail_*.csv.gz files in " + dir + ", found " +
               std::to_string(files.size());
    return {};
  }
  return files;
}

import::AssemblerOptions UciOptions() {
  import::AssemblerOptions o;
  o.source = "uci";
  o.currency = "GBP";
  Result<import::TimeZone> tz = import::TimeZone::Load("Europe/London");
  if (!tz.ok()) throw std::runtime_error("Europe/London: " + tz.status().ToString());
  o.time_zone = *tz;
  return o;
}

namespace {

std::string TrimWs(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  const auto e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string LastLine(const std::string& text) {
  const std::string t = TrimWs(text);
  const auto nl = t.rfind('\n');
  return nl == std::string::npos ? t : TrimWs(t.substr(nl + 1));
}

// The value of `key = "..."` in [section] of a TOML file written by cjdctl.
std::string TomlString(const fs::path& file, const std::string& section, const std::string& key) {
  std::ifstream in(file);
  std::string line, current;
  const std::regex kv("^\\s*" + key + "\\s*=\\s*\"([^\"]*)\"");
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') {
      current = line.substr(1, line.find(']') - 1);
      continue;
    }
    std::smatch m;
    if (current == section && std::regex_search(line, m, kv)) return m[1];
  }
  throw std::runtime_error("no " + section + "." + key + " in " + file.string());
}

std::string RunChecked(const std::vector<std::string>& argv) {
  std::string output;
  const int rc = testing::RunCommand(argv, std::chrono::seconds(60), &output);
  if (rc != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd + "\n" + output);
  }
  return output;
}

double ChildrenCpuSeconds() {
  rusage ru{};
  getrusage(RUSAGE_CHILDREN, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// A file and its SQLite -wal beside it, in bytes.
int64_t DbBytes(const fs::path& db) {
  int64_t n = 0;
  std::error_code ec;
  for (const fs::path& p : {db, fs::path(db.string() + "-wal")}) {
    const auto s = fs::file_size(p, ec);
    if (!ec) n += static_cast<int64_t>(s);
  }
  return n;
}

double MiB(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0); }

double MsBetween(SteadyClock::time_point a, SteadyClock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// ---- a hub on its own: broker + cjd-hub, provisioned with cjdctl ------------------------------

// What /v1/stats says about the log and the projection.
struct HubProgress {
  bool ok = false;
  int64_t events_total = -1;
  int64_t cursor = -1;
  int64_t applied = -1;
  int64_t profiles = -1;
  int64_t merged_profiles = -1;
  int64_t identifiers = -1;
  int64_t orders = -1;
  int64_t merges = -1;
  int64_t refused = -1;
  int64_t quarantined = -1;
  double request_ms = 0;  // how long GET /v1/stats took (it counts rows of profiles.db)
  bool Projected() const { return ok && events_total > 0 && cursor >= events_total; }
};

fs::path MakeDir(const fs::path& p) {
  fs::create_directories(p);
  return p;
}

class BenchHub {
 public:
  // cjdctl init-hub (and add-source `source` when not empty) in a fresh temporary directory.
  // With `postgres`, a real PostgreSQL is started for this hub and holds its event store
  // (cjdctl init-hub --database).
  explicit BenchHub(const std::string& source, bool postgres = false)
      : dir_("cjd-bench-"), broker_(MakeDir(dir_.Join("broker")), BrokerOptions{}) {
    for (const std::string& p : {testing::CjdctlBinary(), testing::HubBinary()}) {
      if (!fs::exists(p)) throw std::runtime_error("not built: " + p);
    }
    port_ = testing::FreeLoopbackPort();
    hub_dir_ = dir_.Join("hub");
    std::vector<std::string> init = {testing::CjdctlBinary(), "init-hub", "--dir",
                                     hub_dir_.string(), "--listen",
                                     "127.0.0.1:" + std::to_string(port_), "--broker",
                                     broker_.Uri()};
    if (postgres) {
      if (!testing::Postgres::Available()) {
        throw std::runtime_error(testing::Postgres::UnavailableReason());
      }
      pg_.emplace(testing::Postgres::Start());
      init.insert(init.end(), {"--database", pg_->CreateDatabase("hub")});
    }
    RunChecked(init);
    admin_token_ = TomlString(hub_dir_ / "hub.toml", "http", "token");
    if (!source.empty()) {
      source_key_ = LastLine(RunChecked({testing::CjdctlBinary(), "add-source", "--hub-dir",
                                         hub_dir_.string(), "--name", source}));
      if (source_key_.empty() || source_key_.find(' ') != std::string::npos) {
        throw std::runtime_error("cjdctl add-source printed no key: " + source_key_);
      }
    }
    http_ = std::make_unique<HttpClient>(port_, std::chrono::seconds(60));
  }
  ~BenchHub() {
    if (hub_.pid() > 0) hub_.Terminate(std::chrono::seconds(30));
  }
  // CPU seconds of the PostgreSQL server (its postmaster and every backend it runs now; the
  // hub's connections live as long as the hub), 0 without one.
  double DatabaseCpuSeconds() {
    if (!pg_) return 0;
    return CpuSecondsWithChildren(pg_->pid());
  }
  bool postgres() const { return pg_.has_value(); }
  BenchHub(const BenchHub&) = delete;
  BenchHub& operator=(const BenchHub&) = delete;

  // Broker (once), then cjd-hub; waits for /healthz (bounded).
  void Start() {
    if (!broker_.Running()) broker_.Start();
    hub_ = Process::Start({testing::HubBinary(), "--config", (hub_dir_ / "hub.toml").string()},
                          dir_.Join("hub.log"));
    const bool up = testing::WaitUntil(
        [this] {
          CheckInterrupted();
          return !hub_.Running() || http_->Get("/healthz").status == 200;
        },
        std::chrono::seconds(60), std::chrono::milliseconds(10));
    if (!up || !hub_.Running()) throw std::runtime_error("cjd-hub did not start\n" + hub_.LogTail());
  }
  bool Running() { return hub_.Running(); }

  HubProgress Progress() {
    HubProgress p;
    const auto t0 = SteadyClock::now();
    auto r = http_->Get("/v1/stats", admin_token_);
    p.request_ms = MsBetween(t0, SteadyClock::now());
    if (r.status != 200) return p;
    const json j = r.Json();
    if (!j.is_object()) return p;
    p.events_total = j.value("events_total", int64_t{-1});
    if (j.contains("projection") && j["projection"].is_object()) {
      const json& pr = j["projection"];
      p.cursor = pr.value("cursor", int64_t{-1});
      p.applied = pr.value("events_applied", int64_t{-1});
      p.profiles = pr.value("profiles", int64_t{-1});
      p.merged_profiles = pr.value("merged_profiles", int64_t{-1});
      p.identifiers = pr.value("identifiers", int64_t{-1});
      p.orders = pr.value("orders", int64_t{-1});
      p.merges = pr.value("merges", int64_t{-1});
      p.refused = pr.value("refused_identifiers", int64_t{-1});
      p.quarantined = pr.value("quarantined_events", int64_t{-1});
    }
    p.ok = true;
    return p;
  }

  uint16_t port() const { return port_; }
  pid_t pid() const { return hub_.pid(); }
  const std::string& admin_token() const { return admin_token_; }
  const std::string& source_key() const { return source_key_; }
  const fs::path& hub_dir() const { return hub_dir_; }
  fs::path Join(const std::string& name) const { return dir_.Join(name); }
  std::string LogTail() const { return hub_.LogTail(); }

 private:
  testing::TempDir dir_;
  std::optional<testing::Postgres> pg_;
  BenchBroker broker_;
  uint16_t port_ = 0;
  fs::path hub_dir_;
  std::string admin_token_;
  std::string source_key_;
  Process hub_;
  std::unique_ptr<HttpClient> http_;
};

// ---- import -----------------------------------------------------------------------------------

struct ReadBaseline {
  double seconds = 0;       // ImportFiles with a counting sink
  double cpu_s = 0;
  double json_seconds = 0;  // the same plus ToEventJson of every event (what cjdctl sends)
  int64_t json_bytes = 0;
  import::AssemblerStats stats;
};


ReadBaseline RunReadBaseline(const std::vector<std::string>& files) {
  Result<import::FieldMap> map = import::ParseFieldMap(kUciMap);
  if (!map.ok()) throw std::runtime_error("--map: " + map.status().ToString());
  const import::AssemblerOptions options = UciOptions();
  ReadBaseline b;
  {
    int64_t events = 0;
    const auto t0 = SteadyClock::now();
    const double c0 = SelfCpuSeconds();
    Result<import::ImportResult> r = import::ImportFiles(
        files, *map, options,
        [&](const import::ImportedOrder&) {
          ++events;
          return Status::Ok();
        },
        {});
    b.seconds = SecondsSince(t0);
    b.cpu_s = SelfCpuSeconds() - c0;
    if (!r.ok()) throw std::runtime_error("baseline ImportFiles: " + r.status().ToString());
    b.stats = r->stats;
  }
  CheckInterrupted();
  {
    const auto t0 = SteadyClock::now();
    Result<import::ImportResult> r = import::ImportFiles(
        files, *map, options,
        [&](const import::ImportedOrder& order) {
          b.json_bytes += static_cast<int64_t>(import::ToEventJson(order).size());
          return Status::Ok();
        },
        {});
    b.json_seconds = SecondsSince(t0);
    if (!r.ok()) throw std::runtime_error("baseline ImportFiles: " + r.status().ToString());
  }
  return b;
}

struct ImportRun {
  double cjdctl_s = NAN;     // start -> cjdctl exited
  double projected_s = NAN;  // start -> projection cursor reached events_total (after the exit)
  int exit_code = -1;
  double cjdctl_cpu_s = 0;
  double hub_cpu_s = 0;
  double db_cpu_s = 0;  // the PostgreSQL server's, with --database postgres
  int polls = 0;
  double stats_max_ms = 0;
  HubProgress last;
  std::string summary;  // cjdctl's last output lines
  std::string load_before, load_after;
};

std::vector<std::string> ImportArgv(const BenchHub& hub, const std::vector<std::string>& files) {
  std::vector<std::string> argv{testing::CjdctlBinary(), "import"};
  argv.insert(argv.end(), files.begin(), files.end());
  const std::vector<std::string> rest{
      "--hub",      "http://127.0.0.1:" + std::to_string(hub.port()),
      "--token",    hub.source_key(),
      "--map",      kUciMap,
      "--currency", "GBP",
      "--timezone", "Europe/London",
      "--source",   "uci",
      "--quiet"};
  argv.insert(argv.end(), rest.begin(), rest.end());
  return argv;
}

ImportRun OneImport(BenchHub& hub, const std::vector<std::string>& files, const ImportOptions& o,
                    int index) {
  ImportRun run;
  run.load_before = LoadNow();
  const fs::path log = hub.Join("cjdctl-import.log");
  const double hub_cpu0 = CpuSeconds(hub.pid());
  const double db_cpu0 = hub.DatabaseCpuSeconds();
  const double child_cpu0 = ChildrenCpuSeconds();
  const auto t0 = SteadyClock::now();
  Process cjdctl = Process::Start(ImportArgv(hub, files), log);
  const auto deadline = t0 + std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000));
  auto next_poll = t0;
  auto next_note = t0 + std::chrono::seconds(10);
  bool exited = false;
  while (SteadyClock::now() < deadline) {
    CheckInterrupted();
    if (!exited && !cjdctl.Running()) {
      exited = true;
      run.cjdctl_s = SecondsSince(t0);
      run.exit_code = cjdctl.exit_status().value_or(-1);
      run.cjdctl_cpu_s = ChildrenCpuSeconds() - child_cpu0;
    }
    if (!hub.Running()) throw std::runtime_error("cjd-hub exited during the import\n" + hub.LogTail());
    const auto now = SteadyClock::now();
    if (now >= next_poll) {
      const HubProgress p = hub.Progress();
      ++run.polls;
      run.stats_max_ms = std::max(run.stats_max_ms, p.request_ms);
      if (p.ok) run.last = p;
      // Done when cjdctl has exited (events_total is final) and the projection has caught up.
      if (exited && p.Projected()) {
        run.projected_s = SecondsSince(t0);
        break;
      }
      next_poll = now + std::chrono::milliseconds(static_cast<int64_t>(o.poll_ms));
      if (now >= next_note) {
        Out("    ... run %d, %.0f s: cjdctl %s, hub holds %lld events, projection cursor %lld\n",
            index, SecondsSince(t0), exited ? "exited" : "running",
            static_cast<long long>(p.events_total), static_cast<long long>(p.cursor));
        next_note = now + std::chrono::seconds(10);
      }
    }
    std::this_thread::sleep_for(Ms(5));
  }
  if (!exited) {
    cjdctl.Kill9();
    run.cjdctl_cpu_s = ChildrenCpuSeconds() - child_cpu0;
  }
  run.hub_cpu_s = CpuSeconds(hub.pid()) - hub_cpu0;
  run.db_cpu_s = hub.DatabaseCpuSeconds() - db_cpu0;
  run.load_after = LoadNow();
  // cjdctl's summary: the last lines of its output.
  std::string text = testing::ReadFile(log);
  std::vector<std::string> lines;
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t nl = text.find('\n', pos);
    const std::string line = text.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    if (!TrimWs(line).empty()) lines.push_back(line);
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  const size_t from = lines.size() > 6 ? lines.size() - 6 : 0;
  for (size_t i = from; i < lines.size(); ++i) run.summary += "      | " + lines[i] + "\n";
  return run;
}

// ---- metrics ----------------------------------------------------------------------------------

struct Timing {
  std::vector<double> ms;
  int errors = 0;
  std::string first_error;
  double first_ms = NAN;
};

void Record(Timing* t, const HttpClient::Response& r, double ms) {
  if (std::isnan(t->first_ms)) t->first_ms = ms;
  if (r.status != 200) {
    ++t->errors;
    if (t->first_error.empty()) {
      t->first_error = std::to_string(r.status) + " " + r.body.substr(0, 300);
    }
    return;
  }
  t->ms.push_back(ms);
}

void PrintTimingRow(const char* name, const Timing& t, double baseline_median) {
  std::vector<double> s = t.ms;
  std::sort(s.begin(), s.end());
  const double med = Median(s);
  Out("  %-40s | %4zu | %8.2f | %8.2f | %8.2f | %8.2f | %7.0fx\n", name, s.size(), med,
      Percentile(s, 0.9), s.empty() ? NAN : s.back(), t.first_ms,
      baseline_median > 0 ? med / baseline_median : NAN);
  if (t.errors > 0) Out("    %d FAILED requests, first: %s\n", t.errors, t.first_error.c_str());
}

// `requests` rounds of GET /healthz then each query, on one keep-alive connection (bounded by
// `bound_s`).
struct MetricsQueryResult {
  Timing timing;
  size_t bytes = 0;
  json first;
};
std::vector<MetricsQueryResult> TimeMetricsQueries(
    BenchHub& hub, int requests, const std::vector<std::pair<std::string, std::string>>& queries,
    Timing* health, double bound_s) {
  HttpClient http(hub.port(), std::chrono::seconds(120));
  std::vector<MetricsQueryResult> out(queries.size());
  const std::string token = hub.admin_token();
  const auto bound =
      SteadyClock::now() + std::chrono::milliseconds(static_cast<int64_t>(bound_s * 1000));
  for (int i = 0; i < requests && SteadyClock::now() < bound; ++i) {
    CheckInterrupted();
    auto t0 = SteadyClock::now();
    auto r = http.Get("/healthz");
    Record(health, r, MsBetween(t0, SteadyClock::now()));
    for (size_t k = 0; k < queries.size(); ++k) {
      t0 = SteadyClock::now();
      r = http.Get(queries[k].second, token);
      Record(&out[k].timing, r, MsBetween(t0, SteadyClock::now()));
      if (r.status == 200) {
        out[k].bytes = r.body.size();
        if (out[k].first.is_null()) out[k].first = r.Json();
      }
    }
  }
  return out;
}

// The hub's whole refit of its predictions (hub/predictions: the purchase history read from
// profiles.db, both fits, the correction, scoring, predictions.db written), `runs` times through
// POST /v1/predictions/refit, after the timed metrics requests.
void TimeRefits(BenchHub& hub, int runs) {
  HttpClient http(hub.port(), std::chrono::seconds(600));
  const std::string token = hub.admin_token();
  Out("  predictions: %d refits (POST /v1/predictions/refit: history read, fits, correction, "
      "scores written)\n", runs);
  std::vector<double> ms;
  json last;
  for (int i = 0; i < runs; ++i) {
    CheckInterrupted();
    const auto t0 = SteadyClock::now();
    const auto r = http.Post("/v1/predictions/refit", "{}", token);
    const double took = MsBetween(t0, SteadyClock::now());
    if (r.status != 200) {
      Out("    refit %d: HTTP %d %s\n", i + 1, r.status, r.body.substr(0, 200).c_str());
      return;
    }
    ms.push_back(took);
    last = r.Json();
    const json stats = http.Get("/v1/stats", token).Json();
    const json p = stats.is_object() && stats.contains("predictions") ? stats["predictions"] : json();
    Out("    refit %d: %.0f ms (the hub's last refit: history read %lld ms, fits and scores %lld ms, "
        "written %lld ms); machine: %s\n",
        i + 1, took, static_cast<long long>(p.value("last_refit_read_ms", int64_t{-1})),
        static_cast<long long>(p.value("last_refit_fit_ms", int64_t{-1})),
        static_cast<long long>(p.value("last_refit_write_ms", int64_t{-1})), LoadNow().c_str());
  }
  Out("    median %.0f ms for %lld customers (%s fit %s); model %s\n", Median(ms),
      static_cast<long long>(last.value("customers_total", int64_t{0})),
      last["model"].is_object() ? last["model"].value("name", "?").c_str() : "-",
      last["model"].is_object() ? last["model"].value("fit", "?").c_str() : "-",
      last["model"].is_object() ? last["model"]["params"].dump().c_str() : "null");
}

std::string BriefMetrics(const json& j) {
  if (!j.is_object()) return std::string("(no JSON)");
  auto field = [&](const char* k) { return j.contains(k) ? j[k].dump() : std::string("-"); };
  return "customers " + field("customers") + ", orders " + field("orders") + ", repeat " +
         field("repeat_customers") + ", new " + field("new_customers") + ", revenue_gross " +
         field("revenue_gross") + ", revenue_net " + field("revenue_net") + ", monthly " +
         std::to_string(j.contains("monthly") ? j["monthly"].size() : 0) + " months";
}

// Prints the table and each answer's headline figures; returns the slowest request.
double PrintMetricsTable(const std::vector<std::pair<std::string, std::string>>& queries,
                         const std::vector<MetricsQueryResult>& results, const Timing& health) {
  const double base = Median(health.ms);
  Out("\n  METRICS RESULT (ms; the first request is also in the median)\n");
  Out("  %-40s | %4s | %8s | %8s | %8s | %8s | %s\n", "request", "n", "median", "p90", "max",
      "first", "vs healthz");
  Out("  -----------------------------------------+------+----------+----------+----------+----------+---------\n");
  PrintTimingRow("GET /healthz (baseline)", health, base);
  double worst = 0;
  for (size_t k = 0; k < queries.size(); ++k) {
    PrintTimingRow(queries[k].first.c_str(), results[k].timing, base);
    for (double ms : results[k].timing.ms) worst = std::max(worst, ms);
  }
  for (size_t k = 0; k < queries.size(); ++k) {
    Out("  %s (%zu bytes): %s\n", queries[k].first.c_str(), results[k].bytes,
        BriefMetrics(results[k].first).c_str());
  }
  return worst;
}

void RunMetricsOn(BenchHub& hub, const MetricsOptions& o) {
  Out("\n== metrics: GET /v1/metrics over the imported set (one keep-alive connection) ==\n");
  Out("  started %s; %d requests of each kind, interleaved (healthz, metrics, metrics 2011-06..09)\n",
      NowUtc().c_str(), o.requests);
  Out("  machine: %s\n", LoadNow().c_str());
  const HubProgress p = hub.Progress();
  Out("  data: %lld events in the log, projection cursor %lld, %lld profiles, %lld orders\n",
      static_cast<long long>(p.events_total), static_cast<long long>(p.cursor),
      static_cast<long long>(p.profiles), static_cast<long long>(p.orders));
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"GET /v1/metrics", "/v1/metrics"},
      {"GET /v1/metrics?from=2011-06&to=2011-09", "/v1/metrics?from=2011-06&to=2011-09"}};
  Timing health;
  const auto results = TimeMetricsQueries(hub, o.requests, queries, &health, 300);
  const double worst = PrintMetricsTable(queries, results, health);
  Out("  aim (issue 4): GET /v1/metrics under 1 s: %s (slowest %.1f ms)\n",
      worst < 1000 ? "met here" : "NOT met here", worst);
  Out("  machine: %s\n", LoadNow().c_str());
}

}  // namespace

void RunImport(const ImportOptions& o, const MetricsOptions* metrics) {
  Out("\n== import: the UCI Online Retail set through cjdctl import into a real cjd-hub ==\n");
  std::string why_not;
  const std::vector<std::string> files = UciFiles(&why_not);
  if (files.empty()) {
    Out("  SKIPPED: %s\n", why_not.c_str());
    return;
  }
  int64_t gz_bytes = 0;
  for (const auto& f : files) gz_bytes += static_cast<int64_t>(fs::file_size(f));
  Out("  started %s; %d run(s), each on a fresh hub; files: %zu x online_retail_*.csv.gz in %s "
      "(%.1f MiB compressed)\n",
      NowUtc().c_str(), o.runs, files.size(), fs::path(files[0]).parent_path().c_str(), MiB(gz_bytes));
  Out("  command: cjdctl import FILES... --hub http://127.0.0.1:PORT --token KEY --map %s "
      "--currency GBP --timezone Europe/London --source uci --quiet\n", kUciMap);
  Out("  timed from cjdctl's start (hub up, idle) to (a) cjdctl's exit and (b) GET /v1/stats showing "
      "projection.cursor >= events_total after the exit (polled every %.0f ms)\n", o.poll_ms);
  Out("  machine: %s\n", LoadNow().c_str());

  std::vector<ReadBaseline> baselines;
  std::map<std::string, std::vector<ImportRun>> runs_of;  // backend -> runs
  std::unique_ptr<BenchHub> last_hub;
  for (int i = 1; i <= o.runs; ++i) {
    CheckInterrupted();
    // Baseline first, interleaved with the runs so that a change of load hits both alike.
    ReadBaseline b = RunReadBaseline(files);
    Out("  run %d baseline: read+assemble %.2f s (%.2f s CPU): %lld rows, %lld events, %lld lines, "
        "%lld bad rows; +ToEventJson %.2f s (%.1f MiB JSON)\n",
        i, b.seconds, b.cpu_s, static_cast<long long>(b.stats.rows),
        static_cast<long long>(b.stats.events), static_cast<long long>(b.stats.lines),
        static_cast<long long>(b.stats.bad_rows), b.json_seconds, MiB(b.json_bytes));
    baselines.push_back(b);
    for (const std::string& backend : o.backends) {
      last_hub.reset();  // the previous run's hub stops before the next one starts
      auto hub = std::make_unique<BenchHub>("uci", backend == "postgres");
      hub->Start();
      ImportRun r = OneImport(*hub, files, o, i);
      runs_of[backend].push_back(r);
      Out("  run %d (%s): cjdctl exit %d after %.2f s (CPU %.2f s); all projected after %.2f s; "
          "hub CPU %.2f s; database server CPU %.2f s; %d stats polls (slowest %.1f ms)\n",
          i, backend.c_str(), r.exit_code, r.cjdctl_s, r.cjdctl_cpu_s, r.projected_s,
          r.hub_cpu_s, r.db_cpu_s, r.polls, r.stats_max_ms);
      Out("    hub: %lld events, cursor %lld, %lld profiles (+%lld merged), %lld identifiers, %lld "
          "orders, %lld merges, %lld refused identifiers, %lld quarantined\n",
          static_cast<long long>(r.last.events_total), static_cast<long long>(r.last.cursor),
          static_cast<long long>(r.last.profiles), static_cast<long long>(r.last.merged_profiles),
          static_cast<long long>(r.last.identifiers), static_cast<long long>(r.last.orders),
          static_cast<long long>(r.last.merges), static_cast<long long>(r.last.refused),
          static_cast<long long>(r.last.quarantined));
      Out("    cjdctl said:\n%s", r.summary.c_str());
      Out("    machine before: %s\n    machine after:  %s\n", r.load_before.c_str(),
          r.load_after.c_str());
      if (r.exit_code != 1) {
        Out("    NOTE: cjdctl exit code %d; 1 is expected (the set's 2 bad rows)\n", r.exit_code);
      }
      if (r.last.events_total != b.stats.events) {
        Out("    NOTE: the hub holds %lld events, the baseline assembled %lld\n",
            static_cast<long long>(r.last.events_total), static_cast<long long>(b.stats.events));
      }
      if (std::isnan(r.projected_s)) {
        Out("    INCOMPLETE: not all projected within %.0f s\n", o.timeout_s);
      }
      last_hub = std::move(hub);
    }
  }

  std::vector<double> base_s, json_s;
  for (const auto& b : baselines) {
    base_s.push_back(b.seconds);
    json_s.push_back(b.json_seconds);
  }
  const double rows = static_cast<double>(baselines.back().stats.rows);
  const double events = static_cast<double>(baselines.back().stats.events);
  const double b_med = Median(base_s), j_med = Median(json_s);
  double sqlite_cpu = NAN;  // hub + database server CPU per event of the sqlite runs
  for (const std::string& backend : o.backends) {
    const std::vector<ImportRun>& runs = runs_of[backend];
    std::vector<double> exit_s, proj_s, hub_cpu, ctl_cpu, db_cpu;
    for (const auto& r : runs) {
      exit_s.push_back(r.cjdctl_s);
      if (!std::isnan(r.projected_s)) proj_s.push_back(r.projected_s);
      hub_cpu.push_back(r.hub_cpu_s);
      ctl_cpu.push_back(r.cjdctl_cpu_s);
      db_cpu.push_back(r.hub_cpu_s + r.db_cpu_s);
    }
    const double e_med = Median(exit_s), p_med = Median(proj_s);
    Out("\n  IMPORT RESULT, event store %s (median of %d run(s); %.0f rows -> %.0f events)\n",
        backend.c_str(), o.runs, rows, events);
    Out("  %-52s | %8s | %10s | %10s | %s\n", "", "seconds", "rows/s", "events/s", "vs baseline");
    Out("  -----------------------------------------------------+----------+------------+------------+------------\n");
    Out("  %-52s | %8.2f | %10.0f | %10.0f | 1.00x\n", "baseline: read+assemble in-process, no HTTP",
        b_med, rows / b_med, events / b_med);
    Out("  %-52s | %8.2f | %10.0f | %10.0f | %.2fx\n", "baseline + ToEventJson (the bytes cjdctl sends)",
        j_med, rows / j_med, events / j_med, b_med / j_med);
    Out("  %-52s | %8.2f | %10.0f | %10.0f | %.2fx\n", "cjdctl import: start -> exit (events committed)",
        e_med, rows / e_med, events / e_med, b_med / e_med);
    Out("  %-52s | %8.2f | %10.0f | %10.0f | %.2fx\n",
        "end to end: start -> every event projected", p_med, rows / p_med, events / p_med,
        b_med / p_med);
    const double total_us = Median(db_cpu) / events * 1e6;
    Out("  CPU (median): cjdctl %.2f s, cjd-hub %.2f s (%.1f us/event); hub + database server "
        "%.2f s (%.1f us/event)\n",
        Median(ctl_cpu), Median(hub_cpu), Median(hub_cpu) / events * 1e6, Median(db_cpu),
        total_us);
    if (backend == "sqlite") sqlite_cpu = total_us;
    if (backend != "sqlite" && !std::isnan(sqlite_cpu)) {
      Out("  vs the sqlite runs of this session: hub + database CPU per event %.2fx\n",
          total_us / sqlite_cpu);
    }
    Out("  aim (issue 4): the whole set in under 20 s end to end: %s (median %.2f s)\n",
        p_med < 20 ? "met here" : "NOT met here", p_med);
  }
  Out("  machine: %s\n", LoadNow().c_str());

  if (metrics != nullptr && last_hub) RunMetricsOn(*last_hub, *metrics);
}

// ---- profiles ---------------------------------------------------------------------------------

namespace {

// "2025-01-01T00:00:00Z" + seconds, RFC 3339 UTC.
std::string Rfc3339(int64_t epoch_s) {
  const std::time_t t = static_cast<std::time_t>(epoch_s);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string IdentifyJson(int64_t i) {
  constexpr int64_t kBase = 1'735'689'600;  // 2025-01-01T00:00:00Z
  const std::string n = std::to_string(i);
  return R"({"type":"identify","event_id":"bench-identify-)" + n + R"(","occurred_at":")" +
         Rfc3339(kBase + i * 7) + R"(","customer":{"customer_id":"C)" + n +
         R"(","email":"c)" + n + R"(@shop-bench.co.uk"}})";
}

// Order `i` (1-based) of a generated chain: a customer drawn from `customers` (loyalty id
// LOY-<n>; 1 in 20 orders anonymous), a day in 2024-2025 (each order's date from its index, so
// ranges are predictable), one of 20 stores or, 1 in 5, the web shop (order_completed, channel
// web); 1-4 items at exact prices; 1 in 30 orders also returns an item; 1 in 100 in EUR, the
// rest GBP.
std::string SyntheticOrderJson(int64_t i, int64_t customers, int64_t in_date_order_of = 0) {
  uint64_t r = SplitMix(static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull);
  auto next = [&r](uint64_t bound) {
    r = SplitMix(r);
    return r % bound;
  };
  constexpr int64_t kStart = 1'704'067'200;  // 2024-01-01T00:00:00Z
  int64_t day = next(731);
  if (in_date_order_of > 0) {  // the i-th of n in date order; one in 20 up to 30 days late
    day = (i - 1) * 731 / in_date_order_of;
    if (next(20) == 0) day = std::max<int64_t>(0, day - 1 - static_cast<int64_t>(next(30)));
  }
  const int64_t second = 8 * 3600 + static_cast<int64_t>(next(12 * 3600));
  const bool web = next(5) == 0;
  const bool anonymous = next(20) == 0;
  const uint64_t customer = 1 + next(static_cast<uint64_t>(customers));
  const char* currency = next(100) == 0 ? "EUR" : "GBP";
  char buf[512];
  std::string s;
  s.reserve(512);
  std::snprintf(buf, sizeof buf, R"({"type":"%s","event_id":"bench-order-%lld","occurred_at":"%s",)",
                web ? "order_completed" : "transaction", static_cast<long long>(i),
                Rfc3339(kStart + day * 86'400 + second).c_str());
  s += buf;
  if (!web) {
    std::snprintf(buf, sizeof buf, R"("store_id":"store-%02llu",)",
                  static_cast<unsigned long long>(1 + customer % 20));
    s += buf;
  }
  if (!anonymous) {
    std::snprintf(buf, sizeof buf, R"("customer":{"loyalty_id":"LOY-%08llu"},)",
                  static_cast<unsigned long long>(customer));
    s += buf;
  }
  std::snprintf(buf, sizeof buf, R"("order":{"order_id":"ORD-%lld","currency":"%s","items":[)",
                static_cast<long long>(i), currency);
  s += buf;
  const int items = 1 + static_cast<int>(next(4));
  for (int k = 0; k < items; ++k) {
    std::snprintf(buf, sizeof buf, R"(%s{"sku":"SKU-%03llu","quantity":%llu,"unit_price":"%llu.%02llu"})",
                  k == 0 ? "" : ",", static_cast<unsigned long long>(next(500)),
                  static_cast<unsigned long long>(1 + next(3)),
                  static_cast<unsigned long long>(next(60)), static_cast<unsigned long long>(next(100)));
    s += buf;
  }
  if (next(30) == 0) {
    std::snprintf(buf, sizeof buf, R"(,{"sku":"SKU-%03llu","quantity":-1,"unit_price":"%llu.%02llu"})",
                  static_cast<unsigned long long>(next(500)),
                  static_cast<unsigned long long>(1 + next(40)), static_cast<unsigned long long>(next(100)));
    s += buf;
  }
  s += "]}}";
  return s;
}

// Writes `n` identify events into hub.db's log as the hub's collect path stores them, `per_txn`
// to a transaction, and bumps its counters.
void WriteIdentifyEvents(const fs::path& hub_db, int64_t n, int64_t per_txn, double timeout_s) {
  HubLogSeeder seeder(hub_db);
  const auto t0 = SteadyClock::now();
  auto next_note = t0 + std::chrono::seconds(15);
  int64_t written = 0;
  while (written < n) {
    CheckInterrupted();
    if (SecondsSince(t0) > timeout_s) {
      throw std::runtime_error("writing the events took longer than " +
                               std::to_string(static_cast<int>(timeout_s)) + " s");
    }
    const int64_t end = std::min(n, written + per_txn);
    seeder.Begin();
    for (int64_t i = written + 1; i <= end; ++i) seeder.Insert(IdentifyJson(i));
    seeder.Commit();
    written = end;
    if (SteadyClock::now() >= next_note) {
      Out("    ... %lld of %lld events written (%.0f s)\n", static_cast<long long>(written),
          static_cast<long long>(n), SecondsSince(t0));
      next_note = SteadyClock::now() + std::chrono::seconds(15);
    }
  }
  seeder.Finish();
}

// Starts the hub on a log of `events` events and polls /v1/stats every `poll_ms` until the
// projection has applied them all (bounded by `timeout_s`), then prints the rate, the hub's CPU
// per event and its VmHWM.
struct ProjectionRun {
  HubProgress last;
  bool complete = false;
};
ProjectionRun StartAndProject(BenchHub& hub, int64_t events, double timeout_s, double poll_ms) {
  const auto tp = SteadyClock::now();
  hub.Start();
  const double start_s = SecondsSince(tp);
  MemSampler mem(hub.pid(), Ms(200));
  const double hub_cpu0 = CpuSeconds(hub.pid());
  const auto deadline = tp + std::chrono::milliseconds(static_cast<int64_t>(timeout_s * 1000));
  HubProgress last;
  double projected_s = NAN;
  double stats_max_ms = 0;
  int polls = 0;
  auto next_note = tp + std::chrono::seconds(30);
  int64_t note_cursor = 0;
  auto note_t = tp;
  while (SteadyClock::now() < deadline) {
    CheckInterrupted();
    if (!hub.Running()) throw std::runtime_error("cjd-hub exited while projecting\n" + hub.LogTail());
    const HubProgress p = hub.Progress();
    ++polls;
    stats_max_ms = std::max(stats_max_ms, p.request_ms);
    if (p.ok) last = p;
    if (p.Projected() && p.events_total >= events) {
      projected_s = SecondsSince(tp);
      break;
    }
    if (SteadyClock::now() >= next_note && p.ok) {
      const double dt = SecondsSince(note_t);
      Out("    ... %.0f s: cursor %lld of %lld (%.0f events/s over the last %.0f s), hub RSS %.0f MiB; %s\n",
          SecondsSince(tp), static_cast<long long>(p.cursor), static_cast<long long>(p.events_total),
          static_cast<double>(p.cursor - note_cursor) / dt, dt,
          static_cast<double>(ReadMem(hub.pid()).rss_kb) / 1024.0, LoadNow().c_str());
      note_cursor = p.cursor;
      note_t = SteadyClock::now();
      next_note = note_t + std::chrono::seconds(30);
    }
    SleepFor(Ms(static_cast<int64_t>(poll_ms)));
  }
  const double hub_cpu = CpuSeconds(hub.pid()) - hub_cpu0;
  mem.Stop();
  ProjectionRun run;
  run.last = last;
  run.complete = !std::isnan(projected_s);
  const double proj_for_rate = run.complete ? projected_s : SecondsSince(tp);
  Out("  projection %s: %lld of %lld events in %.1f s (hub start to /healthz %.2f s included) = "
      "%.0f events/s; hub CPU %.1f s (%.1f us/event); hub VmHWM %.0f MiB; %d stats polls "
      "(slowest %.0f ms)\n",
      run.complete ? "complete" : "INCOMPLETE (time bound reached)", static_cast<long long>(last.cursor),
      static_cast<long long>(last.events_total), proj_for_rate, start_s,
      static_cast<double>(last.cursor) / proj_for_rate, hub_cpu,
      last.cursor > 0 ? hub_cpu / static_cast<double>(last.cursor) * 1e6 : NAN,
      static_cast<double>(mem.hwm_kb()) / 1024.0, polls, stats_max_ms);
  return run;
}

struct Latencies {
  std::vector<double> ms;
  int64_t errors = 0;
  std::string first_error;
  double seconds = 0;  // wall time of the phase
  bool cut_short = false;
};

// `clients` threads, one keep-alive client each, `total` requests in all (split evenly), each a
// GET of target(rng) with the admin token. Bounded by `bound_s`.
Latencies Hammer(uint16_t port, const std::string& token, int clients, int64_t total,
                 const std::function<std::string(std::mt19937_64&)>& target, uint64_t seed,
                 double bound_s) {
  std::vector<Latencies> per(static_cast<size_t>(clients));
  std::atomic<bool> cut{false};
  std::vector<std::thread> threads;
  const auto deadline = SteadyClock::now() + std::chrono::milliseconds(static_cast<int64_t>(bound_s * 1000));
  // Connect first, then start together.
  std::vector<std::unique_ptr<HttpClient>> http;
  for (int c = 0; c < clients; ++c) {
    http.push_back(std::make_unique<HttpClient>(port, std::chrono::seconds(30)));
    http.back()->Get("/healthz");
  }
  const auto t0 = SteadyClock::now();
  for (int c = 0; c < clients; ++c) {
    const int64_t mine = total / clients + (c < total % clients ? 1 : 0);
    threads.emplace_back([&, c, mine] {
      std::mt19937_64 rng(seed * 1000 + static_cast<uint64_t>(c));
      Latencies& l = per[static_cast<size_t>(c)];
      l.ms.reserve(static_cast<size_t>(mine));
      for (int64_t i = 0; i < mine; ++i) {
        if (InterruptRequested() || SteadyClock::now() > deadline) {
          cut.store(true);
          break;
        }
        const std::string t = target(rng);
        const auto a = SteadyClock::now();
        auto r = http[static_cast<size_t>(c)]->Get(t, token);
        const double ms = MsBetween(a, SteadyClock::now());
        if (r.status == 200) {
          l.ms.push_back(ms);
        } else {
          ++l.errors;
          if (l.first_error.empty()) l.first_error = t + " -> " + std::to_string(r.status) + " " + r.body.substr(0, 200);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  Latencies all;
  all.seconds = SecondsSince(t0);
  all.cut_short = cut.load();
  for (auto& l : per) {
    all.ms.insert(all.ms.end(), l.ms.begin(), l.ms.end());
    all.errors += l.errors;
    if (all.first_error.empty()) all.first_error = l.first_error;
  }
  std::sort(all.ms.begin(), all.ms.end());
  CheckInterrupted();
  return all;
}

void PrintLatencyRow(const char* name, const Latencies& l, double baseline_p99) {
  const double p99 = Percentile(l.ms, 0.99);
  Out("  %-46s | %6zu | %8.0f | %7.2f | %7.2f | %7.2f | %6.1fx\n", name, l.ms.size(),
      static_cast<double>(l.ms.size()) / l.seconds, Percentile(l.ms, 0.5), p99,
      l.ms.empty() ? NAN : l.ms.back(), baseline_p99 > 0 ? p99 / baseline_p99 : NAN);
  if (l.errors > 0) Out("    %lld FAILED, first: %s\n", static_cast<long long>(l.errors), l.first_error.c_str());
  if (l.cut_short) Out("    CUT SHORT by the time bound or a signal\n");
}

}  // namespace

void RunProfiles(const ProfilesOptions& o) {
  Out("\n== profiles: %lld profiles projected by cjd-hub, then lookups from %d keep-alive clients ==\n",
      static_cast<long long>(o.profiles), o.clients);
  Out("  started %s; machine: %s\n", NowUtc().c_str(), LoadNow().c_str());
  BenchHub hub("");
  const fs::path hub_db = hub.hub_dir() / "hub.db";

  // 1. The log: N identify events written straight into hub.db (the hub is not running).
  Out("  writing %lld identify events (customer_id C<i>, email c<i>@shop-bench.co.uk) into %s, "
      "%lld per transaction\n",
      static_cast<long long>(o.profiles), hub_db.c_str(), static_cast<long long>(o.write_batch));
  Out("  example: %s\n", IdentifyJson(1).c_str());
  const auto tw = SteadyClock::now();
  WriteIdentifyEvents(hub_db, o.profiles, o.write_batch, o.write_timeout_s);
  const double write_s = SecondsSince(tw);
  Out("  written in %.1f s (%.0f events/s: generate, validate, canonical JSON, insert); hub.db %.1f MiB\n",
      write_s, static_cast<double>(o.profiles) / write_s, MiB(DbBytes(hub_db)));

  // 2. Projection: start the hub, poll /v1/stats until the cursor reaches the log's end.
  Out("  machine: %s\n", LoadNow().c_str());
  const ProjectionRun run = StartAndProject(hub, o.profiles, o.projection_timeout_s, o.poll_ms);
  const bool complete = run.complete;
  const HubProgress& last = run.last;
  Out("  hub: %lld profiles (+%lld merged), %lld identifiers, %lld merges, %lld refused, %lld quarantined\n",
      static_cast<long long>(last.profiles), static_cast<long long>(last.merged_profiles),
      static_cast<long long>(last.identifiers), static_cast<long long>(last.merges),
      static_cast<long long>(last.refused), static_cast<long long>(last.quarantined));
  const int64_t hub_db_bytes = DbBytes(hub_db);
  const int64_t profiles_db_bytes = DbBytes(hub.hub_dir() / "profiles.db");
  Out("  sizes: hub.db %.1f MiB, profiles.db %.1f MiB (each with its -wal)\n", MiB(hub_db_bytes),
      MiB(profiles_db_bytes));
  Out("  machine: %s\n", LoadNow().c_str());

  // 3. Lookups.
  const int64_t n = std::max<int64_t>(1, complete ? o.profiles : last.cursor);
  const int64_t max_id = std::max<int64_t>(1, last.profiles > 0 ? last.profiles : n);
  auto by_identifier = [n](std::mt19937_64& rng) {
    const int64_t i = 1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
    return "/v1/profiles?identifier=" + cjd::http::UrlEncode("customer_id:C" + std::to_string(i));
  };
  auto by_id = [max_id](std::mt19937_64& rng) {
    return "/v1/profiles/" + std::to_string(1 + static_cast<int64_t>(rng() % static_cast<uint64_t>(max_id)));
  };
  auto health = [](std::mt19937_64&) { return std::string("/healthz"); };
  const std::string token = hub.admin_token();
  Out("  lookups: %d clients, %lld requests per kind in all, random customer_id C1..C%lld and id "
      "1..%lld; warm-up %lld requests of each kind first (not counted; at most 60 s each)\n",
      o.clients, static_cast<long long>(o.requests), static_cast<long long>(n),
      static_cast<long long>(max_id), static_cast<long long>(o.warmup));
  MemSampler mem2(hub.pid(), Ms(200));
  const double hub_cpu1 = CpuSeconds(hub.pid());
  const double warmup_bound_s = std::min(o.phase_timeout_s, 60.0);
  Hammer(hub.port(), token, o.clients, o.warmup, by_identifier, 7, warmup_bound_s);
  Hammer(hub.port(), token, o.clients, o.warmup, by_id, 8, warmup_bound_s);
  const Latencies h = Hammer(hub.port(), token, o.clients, o.requests, health, 1, o.phase_timeout_s);
  const Latencies li = Hammer(hub.port(), token, o.clients, o.requests, by_identifier, 2, o.phase_timeout_s);
  const Latencies lp = Hammer(hub.port(), token, o.clients, o.requests, by_id, 3, o.phase_timeout_s);
  const Latencies h2 = Hammer(hub.port(), token, o.clients, o.requests, health, 4, o.phase_timeout_s);
  const double lookup_cpu = CpuSeconds(hub.pid()) - hub_cpu1;
  mem2.Stop();
  std::vector<double> hp99{Percentile(h.ms, 0.99), Percentile(h2.ms, 0.99)};
  const double base = Median(hp99);
  Out("\n  PROFILES RESULT (%lld profiles; %d clients; latency ms per request, client side)\n",
      static_cast<long long>(last.profiles), o.clients);
  Out("  %-46s | %6s | %8s | %7s | %7s | %7s | %s\n", "request", "n", "req/s", "p50", "p99", "max",
      "p99 vs healthz");
  Out("  -----------------------------------------------+--------+----------+---------+---------+---------+--------\n");
  PrintLatencyRow("GET /healthz (baseline, before)", h, base);
  PrintLatencyRow("GET /v1/profiles?identifier=customer_id:C<i>", li, base);
  PrintLatencyRow("GET /v1/profiles/{id}", lp, base);
  PrintLatencyRow("GET /healthz (baseline, after)", h2, base);
  Out("  hub during the lookups: CPU %.1f s (warm-up included), VmHWM %.0f MiB\n", lookup_cpu,
      static_cast<double>(mem2.hwm_kb()) / 1024.0);
  const double worst = std::max(Percentile(li.ms, 0.99), Percentile(lp.ms, 0.99));
  Out("  aim (issue 4): profile lookup p99 under 5 ms with 1,000,000 profiles: %s (p99 %.2f ms at "
      "%lld profiles)\n",
      worst < 5 && last.profiles >= 1'000'000 ? "met here"
      : worst < 5                              ? "met at this size (fewer than 1,000,000 profiles)"
                                               : "NOT met here",
      worst, static_cast<long long>(last.profiles));
  Out("  machine: %s\n", LoadNow().c_str());
}

namespace {

// cjd-bench metrics --orders N --customers M: GET /v1/metrics over N generated orders (no
// dataset needed), for the whole range, one quarter, one store and one channel.
void RunSyntheticMetrics(const MetricsOptions& o) {
  Out("\n== metrics: GET /v1/metrics over %lld generated orders of up to %lld customers ==\n",
      static_cast<long long>(o.orders), static_cast<long long>(o.customers));
  Out("  started %s; machine: %s\n", NowUtc().c_str(), LoadNow().c_str());
  BenchHub hub("");
  const fs::path hub_db = hub.hub_dir() / "hub.db";
  Out("  writing the orders into %s (the hub is not running), 50000 per transaction\n",
      hub_db.c_str());
  const int64_t ordered = o.in_date_order ? o.orders : 0;
  Out("  orders %s\n", o.in_date_order ? "in date order (one in 20 up to 30 days late)"
                                         : "on random days of 2024-2025, in no order");
  Out("  example: %s\n", SyntheticOrderJson(1, o.customers, ordered).c_str());
  const auto tw = SteadyClock::now();
  {
    HubLogSeeder seeder(hub_db);
    for (int64_t done = 0; done < o.orders;) {
      CheckInterrupted();
      const int64_t end = std::min(o.orders, done + 50'000);
      seeder.Begin();
      for (int64_t i = done + 1; i <= end; ++i) seeder.Insert(SyntheticOrderJson(i, o.customers, ordered));
      seeder.Commit();
      done = end;
    }
    seeder.Finish();
  }
  Out("  written in %.1f s; hub.db %.1f MiB\n", SecondsSince(tw), MiB(DbBytes(hub_db)));
  Out("  machine: %s\n", LoadNow().c_str());
  const ProjectionRun run = StartAndProject(hub, o.orders, o.projection_timeout_s, 1000);
  if (!run.complete) throw std::runtime_error("the projection did not finish in time");
  Out("  hub: %lld profiles, %lld orders; profiles.db %.1f MiB (with its -wal)\n",
      static_cast<long long>(run.last.profiles), static_cast<long long>(run.last.orders),
      MiB(DbBytes(hub.hub_dir() / "profiles.db")));
  Out("  %d requests of each kind, interleaved on one keep-alive connection (at most 900 s)\n",
      o.requests);
  Out("  machine: %s\n", LoadNow().c_str());
  const std::vector<std::pair<std::string, std::string>> queries = {
      {"GET /v1/metrics", "/v1/metrics"},
      {"GET /v1/metrics?from=2025-04&to=2025-07", "/v1/metrics?from=2025-04&to=2025-07"},
      {"GET /v1/metrics?store=store-07", "/v1/metrics?store=store-07"},
      {"GET /v1/metrics?channel=web", "/v1/metrics?channel=web"},
      // Days cut at both ends, with a store and a channel; a long range (its top customers read
      // the orders outside it); one year, splitting the orders in two (the top customers' worst
      // case: half of the orders read).
      {"GET /v1/metrics?from=2025-04-15&to=2025-06-10&store=store-07&channel=store",
       "/v1/metrics?from=2025-04-15&to=2025-06-10&store=store-07&channel=store"},
      {"GET /v1/metrics?from=2024-03-15&to=2025-11-20", "/v1/metrics?from=2024-03-15&to=2025-11-20"},
      {"GET /v1/metrics?from=2024-07&to=2025-07", "/v1/metrics?from=2024-07&to=2025-07"}};
  Timing health;
  const auto results = TimeMetricsQueries(hub, o.requests, queries, &health, 900);
  const double worst = PrintMetricsTable(queries, results, health);
  Out("  aim (issue 10): GET /v1/metrics under 200 ms with 1,000,000 orders of 500,000 customers: "
      "%s (slowest %.1f ms at %lld orders)\n",
      worst < 200 && o.orders >= 1'000'000 ? "met here"
      : worst < 200                          ? "met at this size (fewer than 1,000,000 orders)"
                                             : "NOT met here",
      worst, static_cast<long long>(o.orders));
  Out("  machine: %s\n", LoadNow().c_str());
  TimeRefits(hub, 3);
}

}  // namespace

void RunMetrics(const MetricsOptions& o) {
  if (o.orders > 0) return RunSyntheticMetrics(o);
  ImportOptions one;
  one.runs = 1;
  RunImport(one, &o);
}

}  // namespace cjd::bench

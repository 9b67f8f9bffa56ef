// cjd-bench sealing: what sealing the event log's personal part (issue 11, crypto-shredding;
// hub/store/event_vault.h) costs the import, against the same import without it, in the same run.
//
// The UCI Online Retail set is read once, each order turned into the canonical event the hub
// stores (as POST /v1/collect does). Then, `repeats` times, alternating which goes first:
//   - plain:  the events committed to a fresh hub.db by SqliteHubStore::CommitCollect in batches
//             of `batch` (a collect request's worth), bodies whole;
//   - sealed: the same through a store with an EventVault (fresh keys.db: every customer's data
//             key is created during the run, as in a first import).
// and each log read back through the projector's EventLogReader (the sealed one opening every
// personal part). This is the store's write and read path, where sealing happens; an end-to-end
// import (`cjd-bench import`: HTTP, validation, projection) does more per event, so there the
// share is smaller. Medians of wall time and process CPU; every loop bounded.
#include <algorithm>
#include <cinttypes>
#include <filesystem>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "hub/config/hub_config.h"
#include "hub/projection/identity_keys.h"
#include "hub/projection/projector.h"
#include "hub/store/event_log_reader.h"
#include "hub/store/event_vault.h"
#include "hub/store/sqlite_hub_store.h"
#include "shared/core/clock.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/protocol/keys.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/bench/uci.h"
#include "tests/support/temp_dir.h"

namespace cjd::bench {
namespace {

namespace fs = std::filesystem;

struct Pass {
  double write_s = 0, write_cpu_s = 0, read_s = 0;
  double project_s = 0, project_cpu_s = 0;  // the projector over the whole log, in-process
  int64_t profiles = 0;
  double seal_s = 0;  // sealed runs: EventVault::Seal alone over the same events, after the run
  int64_t read_events = 0;
  int64_t db_bytes = 0, keys_bytes = 0, data_keys = 0;
};

int64_t FileBytes(const fs::path& dir, const std::string& prefix) {
  int64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().rfind(prefix, 0) == 0) n += static_cast<int64_t>(e.file_size());
  }
  return n;
}

Pass RunPass(const std::vector<hub::CollectEvent>& events, int batch, bool sealed) {
  testing::TempDir dir;
  std::shared_ptr<hub::EventVault> vault;
  if (sealed) {
    hub::EventVault::Options vo;
    vo.keys_path = dir.Join("keys.db").string();
    vo.master_key_file = dir.Join("master.key").string();
    vo.pepper.fill(0x5a);
    auto v = hub::EventVault::Open(vo);
    if (!v.ok()) throw std::runtime_error("vault: " + v.status().ToString());
    vault = *v;
  }
  const std::string hub_db = dir.Join("hub.db").string();
  auto store = hub::SqliteHubStore::Open(hub_db, vault);
  if (!store.ok()) throw std::runtime_error("store: " + store.status().ToString());
  Pass p;
  const auto t0 = SteadyClock::now();
  const double c0 = SelfCpuSeconds();
  for (size_t i = 0; i < events.size(); i += static_cast<size_t>(batch)) {
    CheckInterrupted();
    const size_t end = std::min(events.size(), i + static_cast<size_t>(batch));
    std::vector<hub::CollectEvent> chunk(events.begin() + static_cast<long>(i),
                                         events.begin() + static_cast<long>(end));
    auto r = (*store)->CommitCollect("uci", chunk, 1);
    if (!r.ok()) throw std::runtime_error("commit: " + r.status().ToString());
  }
  p.write_s = SecondsSince(t0);
  p.write_cpu_s = SelfCpuSeconds() - c0;
  auto reader = hub::OpenSqliteEventLogReader(hub_db, vault);
  if (!reader.ok()) throw std::runtime_error("reader: " + reader.status().ToString());
  const auto t1 = SteadyClock::now();
  int64_t after = 0;
  std::vector<std::pair<int64_t, std::string>> rows;
  for (int guard = 0; guard < 1'000'000; ++guard) {
    rows.clear();
    Status st = (*reader)->ReadAfter(after, 1000, &rows);
    if (!st.ok()) throw std::runtime_error("read: " + st.ToString());
    if (rows.empty()) break;
    p.read_events += static_cast<int64_t>(rows.size());
    after = rows.back().first;
  }
  p.read_s = SecondsSince(t1);
  // The projection of the log, as cjd-hub runs it (profiles, identities, orders, traits): the
  // import's other half, and the reader of every sealed part.
  {
    hub::HubConfig config;
    config.store_path = hub_db;
    config.profiles_path = dir.Join("profiles.db").string();
    hub::IdentityKeys keys;
    keys.pepper.fill(0x5a);
    keys.seal_key.fill(0x3c);
    hub::Projector projector(config, keys, Clock::Real());
    projector.set_event_vault(vault);
    const auto t3 = SteadyClock::now();
    const double c3 = SelfCpuSeconds();
    Status st = projector.Start();
    if (!st.ok()) throw std::runtime_error("projector: " + st.ToString());
    const int64_t head = static_cast<int64_t>(events.size());
    for (int guard = 0; guard < 600'000 && projector.Stats().cursor < head; ++guard) {
      CheckInterrupted();
      projector.Nudge();
      SleepFor(std::chrono::milliseconds(1));
    }
    p.project_s = SecondsSince(t3);
    p.project_cpu_s = SelfCpuSeconds() - c3;
    const hub::ProjectorStats stats = projector.Stats();
    projector.Stop();
    if (stats.cursor < head) throw std::runtime_error("the projection did not catch up in 10 min");
    p.profiles = stats.profiles_created;
  }
  if (sealed) {  // the vault's own share: every key exists now, as in a steady state
    const auto t2 = SteadyClock::now();
    std::vector<hub::VaultedEvent> out;
    for (size_t i = 0; i < events.size(); i += static_cast<size_t>(batch)) {
      const size_t end = std::min(events.size(), i + static_cast<size_t>(batch));
      std::vector<std::string_view> bodies;
      std::vector<hub::EventRef> refs;
      for (size_t k = i; k < end; ++k) {
        bodies.push_back(events[k].body);
        refs.push_back(hub::EventRef{"uci", events[k].event_id});
      }
      Status st = vault->Seal(bodies, refs, &out);
      if (!st.ok()) throw std::runtime_error("seal: " + st.ToString());
    }
    p.seal_s = SecondsSince(t2);
  }
  (void)(*store)->TruncateWal();
  p.db_bytes = FileBytes(dir.path(), "hub.db");
  if (sealed) {
    p.keys_bytes = FileBytes(dir.path(), "keys.db");
    p.data_keys = *vault->KeyCount();
  }
  return p;
}

double MedianOf(const std::vector<Pass>& v, double Pass::*field) {
  std::vector<double> xs;
  for (const Pass& p : v) xs.push_back(p.*field);
  return Median(xs);
}

}  // namespace

void RunSealing(const SealingOptions& o) {
  Out("# cjd-bench sealing  %s\n%s", NowUtc().c_str(), Conditions().c_str());
  Out("# before: %s\n", LoadNow().c_str());
  std::string why_not;
  const std::vector<std::string> files = UciFiles(&why_not);
  if (files.empty()) {
    Out("SKIPPED: %s\n", why_not.c_str());
    return;
  }
  if (!InitCrypto().ok()) throw std::runtime_error("libsodium");
  Result<import::FieldMap> map = import::ParseFieldMap(kUciMap);
  if (!map.ok()) throw std::runtime_error("--map: " + map.status().ToString());
  std::vector<hub::CollectEvent> events;
  int64_t with_customer = 0;
  int64_t body_bytes = 0;
  Result<import::ImportResult> read = import::ImportFiles(
      files, *map, UciOptions(),
      [&](const import::ImportedOrder& order) {
        Result<nlohmann::json> j = ParseJsonExact(import::ToEventJson(order));
        if (!j.ok()) return j.status();
        Result<Event> e = ValidateEvent(*j);
        if (!e.ok()) return e.status();
        hub::CollectEvent c;
        c.event_id = e->event_id;
        c.type = e->type;
        c.occurred_at_ms = e->occurred_at_ms;
        c.body = ToCanonicalJson(*e);
        if (e->customer.has_value() && !e->customer->empty()) ++with_customer;
        body_bytes += static_cast<int64_t>(c.body.size());
        events.push_back(std::move(c));
        return Status::Ok();
      },
      {});
  if (!read.ok()) throw std::runtime_error("ImportFiles: " + read.status().ToString());
  Out("events: %zu orders from %zu files (%" PRId64 " with a customer, %.0f bytes each on "
      "average); batches of %d; %d repeats, alternating order\n",
      events.size(), files.size(), with_customer,
      events.empty() ? 0.0 : static_cast<double>(body_bytes) / static_cast<double>(events.size()),
      o.batch, o.repeats);

  std::vector<Pass> plain, sealed;
  for (int r = 0; r < o.repeats; ++r) {
    CheckInterrupted();
    const bool sealed_first = r % 2 == 1;
    for (int k = 0; k < 2; ++k) {
      const bool s = (k == 0) == sealed_first;
      Pass p = RunPass(events, o.batch, s);
      Out("  run %d %-6s write %.3f s (cpu %.3f s)  read %.3f s (%" PRId64
          " events)  project %.3f s (cpu %.3f s, %" PRId64 " profiles)\n",
          r + 1, s ? "sealed" : "plain", p.write_s, p.write_cpu_s, p.read_s, p.read_events,
          p.project_s, p.project_cpu_s, p.profiles);
      (s ? sealed : plain).push_back(p);
    }
  }
  const double n = static_cast<double>(events.size());
  const double pw = MedianOf(plain, &Pass::write_s), sw = MedianOf(sealed, &Pass::write_s);
  const double pc = MedianOf(plain, &Pass::write_cpu_s), sc = MedianOf(sealed, &Pass::write_cpu_s);
  const double pr = MedianOf(plain, &Pass::read_s), sr = MedianOf(sealed, &Pass::read_s);
  Out("\n%-28s %14s %14s %10s\n", "median of runs", "plain", "sealed", "sealed/plain");
  Out("%-28s %14.0f %14.0f %10.3f\n", "write, events/s", n / pw, n / sw, pw / sw);
  Out("%-28s %14.2f %14.2f %10.3f\n", "write, us CPU per event", pc / n * 1e6, sc / n * 1e6,
      sc / pc);
  Out("%-28s %14.0f %14.0f %10.3f\n", "read back, events/s", n / pr, n / sr, pr / sr);
  std::vector<double> plain_import, sealed_import;
  for (const Pass& p : plain) plain_import.push_back(p.write_s + p.project_s);
  for (const Pass& p : sealed) sealed_import.push_back(p.write_s + p.project_s);
  const double pi = Median(plain_import), si = Median(sealed_import);
  Out("%-28s %14.0f %14.0f %10.3f\n", "commit + project, events/s", n / pi, n / si, pi / si);
  Out("%-28s %14s %14.2f\n", "EventVault::Seal alone, us", "-",
      MedianOf(sealed, &Pass::seal_s) / n * 1e6);
  Out("%-28s %14" PRId64 " %14" PRId64 "\n", "hub.db bytes", plain.back().db_bytes,
      sealed.back().db_bytes);
  Out("%-28s %14s %14" PRId64 "  (%" PRId64 " data keys)\n", "keys.db bytes", "-",
      sealed.back().keys_bytes, sealed.back().data_keys);
  Out("sealing costs the log's write path %.1f %% of its throughput, and the import (commit + "
      "projection) %.1f %% (aim: under 15 %%)\n",
      (1.0 - pw / sw) * 100.0, (1.0 - pi / si) * 100.0);
  Out("# after: %s\n", LoadNow().c_str());
}

}  // namespace cjd::bench

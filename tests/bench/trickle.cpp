// cjd-bench trickle: the hub's CPU per sale when one till trickles single sales into a hub that
// already knows N customers (issue 10). See tests/bench/README.md.
//
// Per customer count N (0 first: the baseline "a sale into a hub with no customers yet"):
//   1. a fresh stack (Mosquitto, cjd-hub, one POS cjd-agent; CjdStack); before the hub first
//      starts, N customers are seeded straight into hub.db's event log as the collect path
//      stores them: customer i (loyalty id LOY-<i>) has 1 to 3 past orders in 2025 (EUR);
//   2. the hub starts and projects them; we wait until the projection, the segment engine
//      (start-up pass, queue) and the RFM cut points have settled;
//   3. idle baseline: the hub's CPU over `idle` seconds with no request, then the CPU of one
//      GET /v1/stats (20 in a row; it counts profiles.db's rows, so it grows with N);
//   4. loyalty sales: `sales` POST /v1/events to the agent, one at a time, paced at `rate`/s
//      (each goes up as its own frame), each a `transaction` of a known customer (LOY-<random
//      i < N>; for N = 0 a new customer each); then /v1/stats is polled every 250 ms until the
//      hub holds and has projected them all and the segment queue is empty;
//   5. the same with anonymous sales (no customer, paid cash).
// Hub CPU per sale = (utime+stime delta of cjd-hub over 4 or 5 - idle rate x its wall time -
// its /v1/stats polls x the CPU of one) / sales. Every loop is bounded in count and time.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/bench/hub_log_seeder.h"
#include "tests/bench/hub_probe.h"
#include "tests/bench/stack.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/http_client.h"

namespace cjd::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string Loyalty(int64_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "LOY-%08lld", static_cast<long long>(i));
  return buf;
}

// Past order k of customer i, in 2025 (so every trickled sale is the latest).
std::string SeedOrder(int64_t i, int k) {
  const int64_t day = (i * 37 + k * 101) % 360;
  char when[40];
  std::snprintf(when, sizeof when, "2025-%02lld-%02lldT12:00:00Z",
                static_cast<long long>(1 + day / 30), static_cast<long long>(1 + day % 28));
  char buf[512];
  std::snprintf(buf, sizeof buf,
                R"({"type":"order_completed","event_id":"seed-%lld-%d","occurred_at":"%s",)"
                R"("store_id":"store-042","channel":"store","customer":{"loyalty_id":"%s"},)"
                R"("order":{"order_id":"SEED-%lld-%d","currency":"EUR","items":[)"
                R"({"sku":"S-%lld","quantity":%lld,"unit_price":"%lld.%02lld","category":"c%lld"}]}})",
                static_cast<long long>(i), k, when, Loyalty(i).c_str(), static_cast<long long>(i), k,
                static_cast<long long>(i % 97), static_cast<long long>(1 + i % 3),
                static_cast<long long>(2 + (i * 13 + k) % 80), static_cast<long long>(i % 100),
                static_cast<long long>(i % 7));
  return buf;
}

// Writes the seed orders into hub.db's log (the hub is not running). Returns the events written.
int64_t SeedCustomers(const fs::path& hub_db, int64_t customers) {
  HubLogSeeder seeder(hub_db);
  seeder.Begin();
  for (int64_t i = 0; i < customers; ++i) {
    if (i % 10'000 == 0) CheckInterrupted();
    const int orders = 1 + static_cast<int>(i % 3);
    for (int k = 0; k < orders; ++k) seeder.Insert(SeedOrder(i, k));
  }
  seeder.Commit();
  seeder.Finish();
  return seeder.written();
}

// A sale of the till: loyalty id `customer` (empty: anonymous, paid cash).
std::string Sale(const std::string& customer, int64_t n) {
  char buf[768];
  std::snprintf(
      buf, sizeof buf,
      R"({"type":"transaction","occurred_at":"2026-03-14T%02lld:%02lld:%02lld+01:00",)"
      R"("store_id":"store-042",%s"order":{"order_id":"TRICKLE-%s-%08lld","currency":"EUR",)"
      R"("items":[{"sku":"CANDLE-1","quantity":2,"unit_price":"4.50","category":"candles"},)"
      R"({"sku":"MUG-7","quantity":1,"unit_price":"9.95","category":"mugs"}],)"
      R"("payment":{"method":"cash"}}})",
      static_cast<long long>(8 + n / 3600 % 12), static_cast<long long>(n / 60 % 60),
      static_cast<long long>(n % 60),
      customer.empty() ? "" : (R"("customer":{"loyalty_id":")" + customer + R"("},)").c_str(),
      customer.empty() ? "anon" : "loy", static_cast<long long>(n));
  return buf;
}

using Idle = HubIdle;

struct Phase {
  std::string name;
  int64_t sales = 0;
  int polls = 0;
  double wall_s = 0, cpu_s = 0;
  Idle idle;
  int64_t evaluations = 0, full_passes = 0;
  bool complete = true;
  std::map<std::string, double> threads;  // CPU s per thread name over the phase
  int64_t errors = 0;
  double PerSaleUs() const {
    return (cpu_s - idle.rate * wall_s - idle.per_poll * polls) /
           static_cast<double>(std::max<int64_t>(1, sales)) * 1e6;
  }
};

Phase Trickle(CjdStack& stack, const std::string& name, int64_t sales, double rate,
              int64_t customers, bool anonymous, const Idle& idle, uint64_t seed,
              int64_t* next_sale) {
  Phase ph;
  ph.name = name;
  ph.sales = sales;
  ph.idle = idle;
  std::mt19937_64 rng(seed);
  testing::HttpClient http(stack.agent_port(), std::chrono::seconds(30));
  const HubState before = ReadHubState(stack);  // before the CPU is read: not counted
  const pid_t hub = stack.hub_pid();
  const double cpu0 = CpuSeconds(hub);
  const std::map<std::string, double> threads0 = ThreadCpuSeconds(hub);
  const auto t0 = SteadyClock::now();
  for (int64_t i = 0; i < sales; ++i) {
    CheckInterrupted();
    const auto due = t0 + std::chrono::microseconds(static_cast<int64_t>(1e6 * i / rate));
    std::this_thread::sleep_until(due);
    std::string customer;
    if (!anonymous) {
      customer = customers > 0 ? Loyalty(static_cast<int64_t>(rng() % static_cast<uint64_t>(customers)))
                               : Loyalty(90'000'000 + *next_sale);
    }
    const auto r = http.Post("/v1/events", Sale(customer, (*next_sale)++), stack.agent_token());
    if (r.status != 202 && r.status != 200) ++ph.errors;
  }
  HubState after;
  ph.complete = SettleHub(stack, before.events_total + sales, 300, &after, &ph.polls);
  ph.wall_s = SecondsSince(t0);
  ph.cpu_s = CpuSeconds(hub) - cpu0;
  ph.threads = ThreadCpuSince(hub, threads0);
  ph.evaluations = after.evaluations - before.evaluations;
  ph.full_passes = after.full_evaluations - before.full_evaluations;
  return ph;
}

}  // namespace

void RunTrickle(const TrickleOptions& o) {
  Out("\n== trickle: hub CPU per sale, one till posting single sales at %.0f/s ==\n", o.rate);
  Out("  hub [projection] batch_delay_ms: %s\n",
      o.batch_delay_ms < 0 ? "its default" : std::to_string(o.batch_delay_ms).c_str());
  std::vector<int64_t> counts = o.customers;
  counts.insert(counts.begin(), 0);  // the baseline: no customers yet
  struct Row {
    int64_t customers;
    Idle idle;
    Phase loyalty, anonymous;
  };
  std::vector<Row> rows;
  for (const int64_t n : counts) {
    CheckInterrupted();
    Out("\n  -- %lld known customers -- %s\n", static_cast<long long>(n), LoadNow().c_str());
    CjdStack stack(StackOptions{});
    if (o.batch_delay_ms >= 0) {
      cjd::itest::SetTomlKey(stack.hub_config(), "projection", "batch_delay_ms",
                             std::to_string(o.batch_delay_ms));
    }
    const fs::path hub_db = stack.dir() / "hub" / "hub.db";
    const auto ts = SteadyClock::now();
    const int64_t seeded = n > 0 ? SeedCustomers(hub_db, n) : 0;
    Out("  seeded %lld customers (%lld orders) into the log in %.1f s\n",
        static_cast<long long>(n), static_cast<long long>(seeded), SecondsSince(ts));
    const auto tp = SteadyClock::now();
    stack.StartAll();
    HubState s;
    if (!SettleHub(stack, seeded, o.settle_timeout_s, &s)) {
      throw std::runtime_error("the hub did not settle within the bound\n" + stack.Diagnostics());
    }
    Out("  projected and settled in %.1f s (hub CPU %.1f s)\n", SecondsSince(tp),
        CpuSeconds(stack.hub_pid()));
    // Idle baseline: the hub's CPU with no request, then the cost of one /v1/stats.
    const Idle idle = MeasureHubIdle(stack, o.idle_s);
    Out("  idle: %.2f ms CPU per s; one GET /v1/stats %.2f ms CPU\n", idle.rate * 1e3,
        idle.per_poll * 1e3);
    int64_t next_sale = 0;
    Row row{n, idle,
            Trickle(stack, "loyalty", o.sales, o.rate, n, false, idle, 7 + n, &next_sale), {}};
    row.anonymous =
        Trickle(stack, "anonymous", o.sales, o.rate, n, true, idle, 11 + n, &next_sale);
    for (const Phase* p : {&row.loyalty, &row.anonymous}) {
      Out("  %-9s: %lld sales in %.1f s, hub CPU %.3f s, %d stats polls -> %.0f us/sale (idle and "
          "polls subtracted); %lld profile evaluations, %lld full passes%s%s\n",
          p->name.c_str(), static_cast<long long>(p->sales), p->wall_s, p->cpu_s, p->polls,
          p->PerSaleUs(),
          static_cast<long long>(p->evaluations), static_cast<long long>(p->full_passes),
          p->complete ? "" : "; INCOMPLETE (bound reached)",
          p->errors > 0 ? ("; " + std::to_string(p->errors) + " POSTs FAILED").c_str() : "");
      Out("    by thread, us/sale (idle and polls not subtracted):%s\n",
          PerUnitByThread(p->threads, p->sales).c_str());
    }
    rows.push_back(std::move(row));
    Out("  %s\n", LoadNow().c_str());
  }
  Out("\n  TRICKLE RESULT (one till, %.0f sales/s, %lld sales per phase; hub CPU per sale, idle "
      "subtracted)\n",
      o.rate, static_cast<long long>(o.sales));
  Out("  %-12s | %-12s | %-12s | %s\n", "customers", "loyalty us", "anonymous us",
      "evaluations per loyalty sale");
  for (const Row& r : rows) {
    Out("  %-12lld | %12.0f | %12.0f | %.2f\n", static_cast<long long>(r.customers),
        r.loyalty.PerSaleUs(), r.anonymous.PerSaleUs(),
        static_cast<double>(r.loyalty.evaluations) / static_cast<double>(r.loyalty.sales));
  }
  Out("  baseline: the 0-customer row (a sale into a hub with no customers yet)\n");
  Out("  aims (issue 10): loyalty <= 100 us at 50,000 with no growth beyond; anonymous <= 50 us\n");
}

}  // namespace cjd::bench

// cjd-bench journeys: the journey questions (hub/journeys) over a generated web shop, each next
// to the same question asked as one hand-written SQL query over the same touches in SQLite, in
// the same run.
//
// Data: `events` touches of `persons` persons over 90 days (deterministic seed): each person's
// visits are bursts of 1-12 events a few seconds to minutes apart, days apart; types 55 %
// product_view, 25 % page_view, 10 % add_to_cart, 5 % checkout_started, 5 % order_completed
// (an order with a sale line). Loaded into a JourneyIndex (the hub's in-memory timelines,
// sessions computed) and into a SQLite table with an index on (profile_id, at_ms).
//
// Questions, each `repeats` times (median wall time):
//   funnel    5 steps page_view -> product_view -> add_to_cart -> checkout_started ->
//             order_completed, sequential, 7-day window, by person.
//             SQL: each step the first matching event after the previous step's time and
//             within 7 days of the first (a CTE per step, joined on the index).
//   web       the web metrics (visitors, sessions, views, bounce, ...).
//             SQL: visitors, sessions (a LAG window over each person's events), views, carts,
//             orders.
//   retention cohorts by first-seen month over every person.
//             SQL: distinct (person, month), the first month per person, counted per offset.
// The SQL answers are not always the same numbers (SQL's funnel takes each step's first
// occurrence, not the best attempt; the hub's web metrics compute more figures): they are the
// baseline of cost, the way the question is usually asked of a database.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "hub/journeys/journey_index.h"
#include "shared/storage/sqlite.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/support/temp_dir.h"

namespace cjd::bench {
namespace {

using hub::journeys::JourneyIndex;
using hub::journeys::TouchRecord;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

EventType Pick(std::mt19937_64& rng) {
  const int r = static_cast<int>(rng() % 100);
  if (r < 55) return EventType::kProductView;
  if (r < 80) return EventType::kPageView;
  if (r < 90) return EventType::kAddToCart;
  if (r < 95) return EventType::kCheckoutStarted;
  return EventType::kOrderCompleted;
}

}  // namespace

void RunJourneys(const JourneysOptions& o) {
  std::printf("journeys: %" PRId64 " events of %" PRId64 " persons, %d repeats; %s\n", o.events,
              o.persons, o.repeats, LoadNow().c_str());
  testing::TempDir dir;
  auto db = sqlite::Database::Open((dir.path() / "touches.db").string(),
                                   sqlite::OpenOptions{.wal = true, .synchronous_full = false});
  if (!db.ok()) throw std::runtime_error(db.status().ToString());
  sqlite::Database& sql = **db;
  (void)sql.Exec(
      "CREATE TABLE touches (profile_id INTEGER, at_ms INTEGER, local_day INTEGER, type INTEGER, "
      "is_order INTEGER)");
  auto insert = sql.Prepare("INSERT INTO touches VALUES (?1, ?2, ?3, ?4, ?5)");
  if (!insert.ok()) throw std::runtime_error(insert.status().ToString());

  JourneyIndex index{hub::journeys::SessionOptions{}};
  std::mt19937_64 rng(12);
  const int64_t start_ms = 1'767'225'600'000;  // 2026-01-01
  const int64_t per_person = std::max<int64_t>(1, o.events / o.persons);
  int64_t rowid = 0;
  double load_index_s = 0, load_sql_s = 0;
  TouchRecord t;
  t.channel = "web";
  (void)sql.Exec("BEGIN");
  for (int64_t p = 1; p <= o.persons && rowid < o.events; ++p) {
    int64_t at = start_ms + static_cast<int64_t>(rng() % (90LL * 86'400'000));
    const int64_t n = p == o.persons ? o.events - rowid : per_person;
    for (int64_t i = 0; i < n; ++i) {
      if (i > 0) {
        at += (rng() % 6 == 0) ? static_cast<int64_t>(rng() % (10LL * 86'400'000))
                               : static_cast<int64_t>(1'000 + rng() % 300'000);
      }
      t.rowid = ++rowid;
      t.profile_id = p;
      t.at_ms = at;
      t.local_day = static_cast<int32_t>(at / 86'400'000);
      t.type = Pick(rng);
      t.order = t.type == EventType::kOrderCompleted;
      auto t0 = std::chrono::steady_clock::now();
      index.Put(t);
      load_index_s += Seconds(t0);
      t0 = std::chrono::steady_clock::now();
      (*insert)
          .Bind(1, p)
          .Bind(2, at)
          .Bind(3, static_cast<int64_t>(t.local_day))
          .Bind(4, static_cast<int64_t>(t.type))
          .Bind(5, static_cast<int64_t>(t.order ? 1 : 0));
      (void)insert->Run();
      load_sql_s += Seconds(t0);
    }
  }
  (void)sql.Exec("COMMIT");
  auto t0 = std::chrono::steady_clock::now();
  index.Settle();
  load_index_s += Seconds(t0);
  t0 = std::chrono::steady_clock::now();
  (void)sql.Exec("CREATE INDEX touches_by_person ON touches (profile_id, at_ms); ANALYZE");
  load_sql_s += Seconds(t0);
  std::printf("  loaded %" PRId64 " touches, %" PRId64 " sessions: index %.1f s, SQLite %.1f s "
              "(with its index); process RSS %" PRId64 " MiB\n",
              rowid, index.sessions(), load_index_s, load_sql_s, ReadMem(getpid()).rss_kb / 1024);

  auto sql_query = [&](const char* text) {
    auto s = sql.Prepare(text);
    if (!s.ok()) throw std::runtime_error(s.status().ToString());
    std::string out;
    while (true) {
      auto r = s->Step();
      if (!r.ok()) throw std::runtime_error(r.status().ToString());
      if (!*r) break;
      out += std::to_string(s->ColumnInt(0)) + " ";
    }
    return out;
  };
  auto time_it = [&](const char* name, const auto& fn) {
    std::vector<double> runs;
    std::string answer;
    for (int r = 0; r < o.repeats; ++r) {
      const auto s = std::chrono::steady_clock::now();
      answer = fn();
      runs.push_back(Seconds(s));
    }
    const double m = Median(runs);
    std::printf("  %-22s median %8.3f s   %s\n", name, m, answer.substr(0, 90).c_str());
    return m;
  };

  hub::journeys::FunnelQuery f;
  f.window_ms = 7LL * 86'400'000;
  for (EventType type : {EventType::kPageView, EventType::kProductView, EventType::kAddToCart,
                         EventType::kCheckoutStarted, EventType::kOrderCompleted}) {
    f.steps.push_back({type, {}});
  }
  const double funnel = time_it("funnel (hub)", [&] {
    std::string s;
    const auto answer = index.Funnel(f, nullptr, nullptr);
    for (const auto& step : answer["steps"]) {
      s += std::to_string(step["count"].get<int64_t>()) + " ";
    }
    return s;
  });
  const double funnel_sql = time_it("funnel (SQL)", [&] {
    return sql_query(
        "WITH s1 AS (SELECT profile_id, min(at_ms) AS t0 FROM touches WHERE type = 4 "
        "GROUP BY profile_id), "
        "s2 AS (SELECT s1.profile_id, s1.t0, (SELECT min(at_ms) FROM touches x WHERE "
        "x.profile_id = s1.profile_id AND x.type = 5 AND x.at_ms >= s1.t0 AND x.at_ms <= s1.t0 + "
        "604800000) AS t FROM s1), "
        "s3 AS (SELECT s2.profile_id, s2.t0, (SELECT min(at_ms) FROM touches x WHERE "
        "x.profile_id = s2.profile_id AND x.type = 6 AND x.at_ms >= s2.t AND x.at_ms <= s2.t0 + "
        "604800000) AS t FROM s2 WHERE s2.t IS NOT NULL), "
        "s4 AS (SELECT s3.profile_id, s3.t0, (SELECT min(at_ms) FROM touches x WHERE "
        "x.profile_id = s3.profile_id AND x.type = 8 AND x.at_ms >= s3.t AND x.at_ms <= s3.t0 + "
        "604800000) AS t FROM s3 WHERE s3.t IS NOT NULL), "
        "s5 AS (SELECT s4.profile_id, (SELECT min(at_ms) FROM touches x WHERE "
        "x.profile_id = s4.profile_id AND x.type = 9 AND x.at_ms >= s4.t AND x.at_ms <= s4.t0 + "
        "604800000) AS t FROM s4 WHERE s4.t IS NOT NULL) "
        "SELECT count(*) FROM s1 UNION ALL SELECT count(*) FROM s2 WHERE t IS NOT NULL "
        "UNION ALL SELECT count(*) FROM s3 WHERE t IS NOT NULL UNION ALL SELECT count(*) FROM s4 "
        "WHERE t IS NOT NULL UNION ALL SELECT count(*) FROM s5 WHERE t IS NOT NULL");
  });
  const double web = time_it("web metrics (hub)", [&] {
    const auto m = index.WebMetrics({}, nullptr);
    return std::to_string(m["visitors"].get<int64_t>()) + " visitors " +
           std::to_string(m["sessions"].get<int64_t>()) + " sessions";
  });
  const double web_sql = time_it("web metrics (SQL)", [&] {
    return sql_query(
        "WITH t AS (SELECT profile_id, type, CASE WHEN at_ms - lag(at_ms) OVER (PARTITION BY "
        "profile_id ORDER BY at_ms) <= 1800000 THEN 0 ELSE 1 END AS first FROM touches) "
        "SELECT count(DISTINCT profile_id) FROM t UNION ALL SELECT sum(first) FROM t "
        "UNION ALL SELECT sum(type = 4) + sum(type = 5) FROM t UNION ALL SELECT sum(type = 6) "
        "FROM t UNION ALL SELECT sum(type = 9) FROM t");
  });
  const double retention = time_it("retention (hub)", [&] {
    const auto r = index.Retention(hub::journeys::RetentionCohort::kFirstSeenMonth,
                                   hub::journeys::RetentionPeriod::kMonth, nullptr);
    return std::to_string(r["cohorts"].size()) + " cohorts, first " +
           std::to_string(r["cohorts"][0]["customers"].get<int64_t>()) + " customers";
  });
  const double retention_sql = time_it("retention (SQL)", [&] {
    return sql_query(
        "WITH m AS (SELECT DISTINCT profile_id, CAST(strftime('%Y', local_day * 86400, "
        "'unixepoch') AS INTEGER) * 12 + CAST(strftime('%m', local_day * 86400, 'unixepoch') AS "
        "INTEGER) - 1 AS month FROM touches), f AS (SELECT profile_id, min(month) AS c FROM m "
        "GROUP BY profile_id) SELECT count(*) FROM m JOIN f USING (profile_id) "
        "GROUP BY f.c, m.month - f.c");
  });
  std::printf("  ratios hub/SQL: funnel %.3f, web %.3f, retention %.3f; %s\n",
              funnel / funnel_sql, web / web_sql, retention / retention_sql, LoadNow().c_str());
}

}  // namespace cjd::bench

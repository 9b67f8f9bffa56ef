// The rollups GET /v1/metrics reads (order_rollups.h) against the scan of every order
// (ProfileReader::MetricsByScan), after every kind of change an order's profile can see: orders in
// several parts, late orders, anonymous parts identified later, merges, splits, erasures, and a
// rebuild from the orders table.
#include <gtest/gtest.h>

#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "hub/projection/order_rollups.h"
#include "hub/projection/projection_schema.h"
#include "tests/hub/projection/projection_fixture.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

class OrderRollupsTest : public ProjectorTest {
 protected:
  // Every figure of the answer, for every query below, equal by both paths.
  void ExpectRollupsEqualScan(const std::string& when) {
    SCOPED_TRACE(when);
    std::vector<MetricsQuery> queries;
    const std::vector<std::pair<std::string, std::string>> ranges = {
        {"", ""},           {"2011-03", "2011-07"}, {"2011-02-10", "2011-02-20"},
        {"2011-06", ""},    {"", "2011-05-15"},     {"2011-01-31", "2012-02-29"},
        {"2011-02-31", "2011-04"}, {"2011-12-20", "2012-01-10"},
        {"2010-01", "2013-01"}};
    for (const auto& [from, to] : ranges) {
      for (const char* store : {"", "s2"}) {
        for (const char* channel : {"", "web"}) {
          MetricsQuery q;
          q.from = from;
          q.to = to;
          q.store = store;
          q.channel = channel;
          q.top = 4;
          queries.push_back(q);
        }
      }
    }
    MetricsQuery eur;
    eur.currency = "EUR";
    eur.from = "2011-04";
    queries.push_back(eur);
    MetricsQuery none;
    none.currency = "USD";
    queries.push_back(none);
    MetricsQuery all_top;
    all_top.top = 1000;
    queries.push_back(all_top);
    MetricsQuery no_top;
    no_top.top = 0;
    no_top.from = "2011-05";
    queries.push_back(no_top);
    for (const MetricsQuery& q : queries) {
      SCOPED_TRACE("from=" + q.from + " to=" + q.to + " store=" + q.store + " channel=" +
                   q.channel + " currency=" + q.currency + " top=" + std::to_string(q.top));
      auto by_rollups = reader_->Metrics(q);
      auto by_scan = reader_->MetricsByScan(q);
      ASSERT_TRUE(by_rollups.ok()) << by_rollups.status().ToString();
      ASSERT_TRUE(by_scan.ok()) << by_scan.status().ToString();
      EXPECT_EQ(by_rollups->dump(), by_scan->dump());
    }
  }

  std::string Date(int day_of_two_years) {
    // 2011-01-01 .. 2012-12-28 on 28-day months, for simplicity of the generator.
    const int year = 2011 + day_of_two_years / (12 * 28);
    const int month = 1 + (day_of_two_years / 28) % 12;
    const int day = 1 + day_of_two_years % 28;
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", year, month, day);
    return buf;
  }

  // One order (part) event: customer 0 is anonymous.
  void Part(int order, int customer, const std::string& date, const std::string& store,
            const std::string& channel, const std::string& currency, const std::string& items,
            bool with_email = false) {
    std::string who;
    if (customer > 0) {
      who = R"(,"customer":{"customer_id":"K)" + std::to_string(customer) + "\"" +
            (with_email ? R"(,"email":"k)" + std::to_string(customer) + R"(@shop.co.uk")" : "") +
            "}";
    }
    Log(R"({"type":"order_completed","occurred_at":")" + date + R"(T10:00:00+01:00","store_id":")" +
        store + R"(","channel":")" + channel + "\"" + who + R"(,"order":{"order_id":"R)" +
        std::to_string(order) + R"(","currency":")" + currency + R"(","items":)" + items + "}}");
  }

  std::vector<std::string> Dump(const char* table) {
    auto db = sqlite::Database::Open(config_.profiles_path);
    EXPECT_TRUE(db.ok());
    std::vector<std::string> rows;
    if (!db.ok()) return rows;
    auto s = (*db)->Prepare(std::string("SELECT * FROM ") + table + " ORDER BY 1, 2, 3, 4, 5");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return rows;
    while (true) {
      auto r = s->Step();
      if (!r.ok() || !*r) break;
      std::string line;
      for (int i = 0; i < 9; ++i) line += s->ColumnText(i) + "|";
      rows.push_back(line);
    }
    return rows;
  }
};

TEST_F(OrderRollupsTest, RollupsGiveTheScansAnswerThroughEveryChangeOfTheOrders) {
  std::mt19937_64 rng(7);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  auto items = [&]() {
    const int kind = pick(9);  // 0: credit note, 1: a sale with a return, 2: a zero-price line
    auto line = [&](int quantity, int cents) {
      char buf[96];
      std::snprintf(buf, sizeof buf, R"({"sku":"x","quantity":%d,"unit_price":"%d.%02d"})",
                    quantity, cents / 100, cents % 100);
      return std::string(buf);
    };
    if (kind == 0) return "[" + line(-1 - pick(2), 1 + pick(4000)) + "]";
    if (kind == 2) return "[" + line(1, 0) + "]";
    std::string s = "[" + line(1 + pick(3), 1 + pick(9000));
    if (kind == 1) s += "," + line(-1, 1 + pick(900));
    return s + "]";
  };
  auto stores = [&] { return "s" + std::to_string(1 + pick(4)); };
  auto channel = [&] { return pick(3) == 0 ? std::string("web") : std::string("store"); };
  auto currency = [&] { return pick(8) == 0 ? std::string("EUR") : std::string("GBP"); };
  int order = 0;
  // Five rounds of orders in random date order (late orders all the time), some in two parts.
  for (int round = 0; round < 5; ++round) {
    for (int i = 0; i < 160; ++i) {
      const int customer = pick(8) == 0 ? 0 : 1 + pick(70);
      const int id = ++order;
      const std::string date = Date(pick(2 * 12 * 28));
      const std::string cur = currency(), store = stores(), ch = channel();
      Part(id, customer, date, store, ch, cur, items(), pick(4) == 0);
      if (pick(6) == 0) {  // a second part: later, maybe by someone else or identified now
        Part(id, pick(2) == 0 ? customer : 1 + pick(70), Date(pick(2 * 12 * 28)), stores(),
             channel(), cur, items());
      }
    }
    // Identities joining two customers: merges.
    for (int j = 0; j < 3; ++j) {
      const int a = 1 + pick(70), b = 1 + pick(70);
      Log(R"({"type":"identify","occurred_at":"2012-12-30T10:00:00Z","customer":{"customer_id":"K)" +
          std::to_string(a) + R"(","email":"k)" + std::to_string(b) + R"(@shop.co.uk"}})");
    }
    CatchUp();
    ExpectRollupsEqualScan("round " + std::to_string(round));
    if (HasFailure()) return;
  }
  // A split of a merged profile.
  int64_t merged = 0;
  for (int c = 1; c <= 70 && merged == 0; ++c) {
    const int64_t pid = ProfileOf("customer_id:K" + std::to_string(c));
    if (pid > 0 && !Profile(pid)["merged_from"].empty()) merged = pid;
  }
  ASSERT_GT(merged, 0) << "the generator made no merge";
  auto split = projector_->Split(merged, 0);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  ExpectRollupsEqualScan("after a split");
  // An erasure: the person's orders stay in the store totals, anonymous.
  const int64_t erased = ProfileOf("customer_id:K5");
  ASSERT_GT(erased, 0);
  auto gone = projector_->Erase(erased, {});
  ASSERT_TRUE(gone.ok()) << gone.status().ToString();
  ExpectRollupsEqualScan("after an erasure");

  // Built again from the orders table, the rollups are the same rows.
  const std::vector<std::string> customers = Dump("rollup_customers");
  const std::vector<std::string> days = Dump("rollup_orders");
  const std::vector<std::string> top = Dump("rollup_top");
  ASSERT_FALSE(customers.empty());
  StopProjection();
  {
    auto db = sqlite::Database::Open(config_.profiles_path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("DELETE FROM rollup_customers WHERE day % 2 = 0; "
                            "DELETE FROM rollup_top; "
                            "INSERT INTO meta (key, value) VALUES ('rebuild_rollups', 1)").ok());
  }
  StartProjection();
  EXPECT_EQ(Dump("rollup_customers"), customers);
  EXPECT_EQ(Dump("rollup_orders"), days);
  EXPECT_EQ(Dump("rollup_top"), top);
  ExpectRollupsEqualScan("after a rebuild");
}

// The index ranks by hundredths; amounts that differ below a hundredth still rank exactly.
TEST_F(OrderRollupsTest, TopCustomersTiedToTheHundredthRankByTheExactAmount) {
  Order("T1", R"({"customer_id":"1"})", R"([{"sku":"x","quantity":1,"unit_price":"10.001"}])");
  Order("T2", R"({"customer_id":"2"})", R"([{"sku":"x","quantity":1,"unit_price":"10.009"}])");
  Order("T3", R"({"customer_id":"3"})", R"([{"sku":"x","quantity":1,"unit_price":"10.005"}])");
  Order("T4", R"({"customer_id":"4"})", R"([{"sku":"x","quantity":1,"unit_price":"9.999"}])");
  CatchUp();
  for (int top : {1, 2, 3, 4}) {
    MetricsQuery q;
    q.top = top;
    auto by_rollups = reader_->Metrics(q);
    auto by_scan = reader_->MetricsByScan(q);
    ASSERT_TRUE(by_rollups.ok() && by_scan.ok());
    EXPECT_EQ((*by_rollups)["top_customers"], (*by_scan)["top_customers"]) << top;
    ASSERT_EQ((*by_rollups)["top_customers"].size(), static_cast<size_t>(top));
    EXPECT_EQ((*by_rollups)["top_customers"][0]["identifiers"][0]["value"], "2");
  }
}

TEST_F(OrderRollupsTest, DaysCompareAsTheirDates) {
  EXPECT_EQ(RollupDay("2011-02-03"), 20110203);
  EXPECT_EQ(RollupDay("2011-02"), 20110200);
  EXPECT_LT(RollupDay("2011-02"), RollupDay("2011-02-01"));
  EXPECT_GT(RollupDay("2011-03"), RollupDay("2011-02-31"));
  EXPECT_EQ(RollupDay("2011/02/03"), 0);
  EXPECT_EQ(RollupDay(""), 0);
}

// The cost of an answer must not grow with the orders: every read of the rollups goes through a
// primary key or index range, and the top customers of a range read only that range's orders.
TEST_F(OrderRollupsTest, AnswersReadRangesOfTheRollupsNotEveryOrder) {
  Order("A1", R"({"customer_id":"1"})", R"([{"sku":"x","quantity":1,"unit_price":"10"}])");
  CatchUp();
  auto db = OpenProjection(config_.profiles_path, /*read_only=*/true);
  ASSERT_TRUE(db.ok());
  auto plan = [&](const std::string& sql) {
    auto s = (*db)->Prepare("EXPLAIN QUERY PLAN " + sql);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    std::string out;
    while (s.ok()) {
      auto r = s->Step();
      if (!r.ok() || !*r) break;
      out += s->ColumnText(3) + "\n";
    }
    return out;
  };
  const std::string range = plan(kMetricsRangeOrdersQuery);
  EXPECT_NE(range.find("USING COVERING INDEX orders_by_store_day (currency=? AND store_id=? AND "
                       "local_date>? AND local_date<?)"),
            std::string::npos)
      << range;
  const std::string points = plan(
      "SELECT coalesce(sum(n), 0) FROM rollup_customers WHERE currency = 'GBP' AND scope = 0 "
      "AND store_id = '' AND channel = '' AND kind = 2 AND day >= 1 AND day < 2 AND prev >= 0 "
      "AND prev < 1 AND prev2 < 1");
  EXPECT_NE(points.find("SEARCH rollup_customers USING PRIMARY KEY"), std::string::npos) << points;
  const std::string returns = plan(kMetricsCustomerRangeReturnsQuery);
  EXPECT_NE(returns.find("USING COVERING INDEX orders_by_profile (profile_id=? AND currency=? AND "
                         "local_date>? AND local_date<?)"),
            std::string::npos)
      << returns;
  const std::string top = plan(
      "SELECT profile_id, orders, gross, returns, rank_key FROM rollup_top WHERE currency = 'GBP' "
      "AND scope = 0 AND channel = '' ORDER BY rank_key DESC, profile_id");
  EXPECT_NE(top.find("rollup_top_by_rank"), std::string::npos) << top;
  EXPECT_EQ(top.find("TEMP B-TREE"), std::string::npos) << top;
}

}  // namespace
}  // namespace cjd::hub

// The Projector and ProfileReader on real SQLite files: events written to the hub's event log the
// way ingest and /v1/collect write them, projected into profiles, orders and metrics.
#include "hub/projection/projector.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>
#include <chrono>
#include <set>
#include <thread>

#include "hub/projection/projection_schema.h"
#include "hub/projection/rfm.h"
#include "tests/hub/projection/projection_fixture.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

// SQLite's plan for `sql` on a read-only connection to the projection, one line per step.
std::string QueryPlan(const std::string& profiles_path, const char* sql) {
  auto db = OpenProjection(profiles_path, /*read_only=*/true);
  EXPECT_TRUE(db.ok()) << db.status().ToString();
  if (!db.ok()) return "";
  auto plan = (*db)->Prepare(std::string("EXPLAIN QUERY PLAN ") + sql);
  EXPECT_TRUE(plan.ok()) << plan.status().ToString();
  if (!plan.ok()) return "";
  std::string details;
  while (true) {
    auto r = plan->Step();
    EXPECT_TRUE(r.ok());
    if (!r.ok() || !*r) break;
    details += plan->ColumnText(3) + "\n";
  }
  return details;
}

TEST_F(ProjectorTest, OrdersOfOneCustomerMakeOneProfileWithExactTraits) {
  Order("A1", R"({"customer_id":"17850"})",
        R"([{"sku":"x","quantity":6,"unit_price":"2.55","category":"candles"},
            {"sku":"y","quantity":2,"unit_price":"3.39","category":"mugs"}])");
  Order("A2", R"({"customer_id":"17850"})",
        R"([{"sku":"x","quantity":1,"unit_price":"0.10","category":"candles"},
            {"sku":"z","quantity":-1,"unit_price":"3.39"}])", "2011-02-01T09:00:00Z", "s2");
  Log(R"({"type":"loyalty_scan","occurred_at":"2011-02-02T09:00:00Z","store_id":"s1",
          "customer":{"loyalty_id":"L-1","customer_id":"17850"}})");
  CatchUp();
  const int64_t pid = ProfileOf("customer_id:17850");
  ASSERT_GT(pid, 0);
  EXPECT_EQ(ProfileOf("loyalty_id:L-1"), pid);
  const json p = Profile(pid);
  const json& t = p["traits"];
  EXPECT_EQ(t["orders"], 2);
  EXPECT_EQ(t["revenue_gross"], "22.18");  // 15.30 + 6.78 + 0.10
  EXPECT_EQ(t["revenue_net"], "18.79");    // minus the 3.39 return
  EXPECT_EQ(t["average_order_value"], "11.09");
  EXPECT_EQ(t["loyalty_scans"], 1);
  EXPECT_EQ(t["favourite_category"], "candles");
  EXPECT_EQ(t["first_seen"], "2011-01-10T10:00:00.000Z");
  EXPECT_EQ(t["last_seen"], "2011-02-02T09:00:00.000Z");
  EXPECT_EQ(t["channels"], json::array({"store"}));
  EXPECT_EQ(t["rfm"]["score"], "111");  // the only customer: the lowest quintile of itself
  EXPECT_EQ(p["identifiers"].size(), 2u);
  EXPECT_EQ(p["events"].size(), 3u);
  EXPECT_EQ(p["events"][0]["event"]["type"], "loyalty_scan");  // newest first
}

TEST_F(ProjectorTest, IdentifyMergesTwoProfilesAndSplitUndoesIt) {
  Order("B1", R"({"email":"Ann@Example.co.uk"})",
        R"([{"sku":"x","quantity":1,"unit_price":"10"}])", "2011-01-01T10:00:00Z");
  Order("B2", R"({"loyalty_id":"L-7"})", R"([{"sku":"x","quantity":2,"unit_price":"5"}])",
        "2011-03-01T10:00:00Z");
  CatchUp();
  const int64_t by_email = ProfileOf("email:ann@example.co.uk");
  const int64_t by_card = ProfileOf("loyalty_id:L-7");
  ASSERT_NE(by_email, by_card);
  EXPECT_EQ(Metrics()["customers"], 2);

  Log(R"({"type":"identify","occurred_at":"2011-03-02T10:00:00Z",
          "customer":{"email":" ann@EXAMPLE.co.uk","loyalty_id":"L-7"},
          "attributes":{"first_name":"Ann"}})");
  CatchUp();
  const int64_t merged = ProfileOf("loyalty_id:L-7");
  EXPECT_EQ(ProfileOf("email:ann@example.co.uk"), merged);
  EXPECT_EQ(merged, std::min(by_email, by_card));  // the older profile survives
  json p = Profile(merged);
  EXPECT_EQ(p["traits"]["orders"], 2);
  EXPECT_EQ(p["traits"]["revenue_gross"], "20.00");
  EXPECT_EQ(p["attributes"]["first_name"], "Ann");
  EXPECT_EQ(p["merged_from"], json::array({std::max(by_email, by_card)}));
  json m = Metrics();
  EXPECT_EQ(m["customers"], 1);
  EXPECT_EQ(m["repeat_purchase_rate"], 1.0);
  // The absorbed id still answers, with the survivor.
  EXPECT_EQ(Profile(std::max(by_email, by_card))["redirected_from"], std::max(by_email, by_card));

  json counts = *reader_->Counts();
  EXPECT_EQ(counts["profiles"], 1);
  EXPECT_EQ(counts["merged_profiles"], 1);
  EXPECT_EQ(counts["identifiers"], 2);
  EXPECT_EQ(counts["orders"], 2);

  auto split = projector_->Split(merged, 0);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(split->restored, std::max(by_email, by_card));
  EXPECT_EQ(ProfileOf("email:ann@example.co.uk"), by_email);
  EXPECT_EQ(ProfileOf("loyalty_id:L-7"), by_card);
  m = Metrics();
  EXPECT_EQ(m["customers"], 2);
  EXPECT_EQ(m["repeat_purchase_rate"], 0.0);
  EXPECT_EQ(Profile(by_card)["traits"]["revenue_gross"], "10.00");
  EXPECT_EQ(Profile(by_email)["traits"]["revenue_gross"], "10.00");
  counts = *reader_->Counts();
  EXPECT_EQ(counts["profiles"], 2);
  EXPECT_EQ(counts["merged_profiles"], 0);
  // Undone once; and the two stay apart when the link shows up again.
  EXPECT_EQ(projector_->Split(merged, split->merge_id).status().code(), Code::kConflict);
  Log(R"({"type":"identify","occurred_at":"2011-03-03T10:00:00Z",
          "customer":{"email":"ann@example.co.uk","loyalty_id":"L-7"}})");
  CatchUp();
  EXPECT_NE(ProfileOf("email:ann@example.co.uk"), ProfileOf("loyalty_id:L-7"));
}

TEST_F(ProjectorTest, ASplitThroughALaterMergeStaysApart) {
  Order("Z1", R"({"customer_id":"Z"})", R"([{"sku":"x","quantity":1,"unit_price":"1"}])");
  Order("A1", R"({"email":"a@shop.co.uk"})", R"([{"sku":"x","quantity":1,"unit_price":"2"}])");
  Order("B1", R"({"loyalty_id":"L-B"})", R"([{"sku":"x","quantity":1,"unit_price":"4"}])");
  Log(R"({"type":"identify","occurred_at":"2011-03-02T10:00:00Z",
          "customer":{"email":"a@shop.co.uk","loyalty_id":"L-B"}})");   // merge 1: A <- B
  Log(R"({"type":"identify","occurred_at":"2011-03-03T10:00:00Z",
          "customer":{"customer_id":"Z","email":"a@shop.co.uk"}})");    // merge 2: Z <- A
  CatchUp();
  const int64_t z = ProfileOf("customer_id:Z");
  ASSERT_EQ(ProfileOf("loyalty_id:L-B"), z);
  auto split = projector_->Split(z, 1);  // the wrong merge was A <- B
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  const int64_t b = ProfileOf("loyalty_id:L-B");
  ASSERT_NE(b, z);
  EXPECT_EQ(Profile(b)["traits"]["revenue_gross"], "4.00");
  EXPECT_EQ(Profile(z)["traits"]["revenue_gross"], "3.00");
  // An event linking B to Z's group does not undo the split.
  Log(R"({"type":"identify","occurred_at":"2011-03-04T10:00:00Z",
          "customer":{"customer_id":"Z","loyalty_id":"L-B"}})");
  CatchUp();
  EXPECT_NE(ProfileOf("loyalty_id:L-B"), ProfileOf("customer_id:Z"));
}

TEST_F(ProjectorTest, UndoingTwoNestedMergesLeavesEachProfileItsOwnOrders) {
  Order("A1", R"({"customer_id":"A"})", R"([{"sku":"x","quantity":1,"unit_price":"1"}])");
  Order("B1", R"({"email":"b@shop.co.uk"})", R"([{"sku":"x","quantity":1,"unit_price":"2"}])");
  Order("C1", R"({"loyalty_id":"L-C"})", R"([{"sku":"x","quantity":1,"unit_price":"4"}])");
  Log(R"({"type":"identify","occurred_at":"2011-03-02T10:00:00Z",
          "customer":{"email":"b@shop.co.uk","loyalty_id":"L-C"}})");   // merge 1: B <- C
  Log(R"({"type":"identify","occurred_at":"2011-03-03T10:00:00Z",
          "customer":{"customer_id":"A","email":"b@shop.co.uk"}})");    // merge 2: A <- B
  CatchUp();
  const int64_t a = ProfileOf("customer_id:A");
  ASSERT_EQ(ProfileOf("loyalty_id:L-C"), a);
  ASSERT_TRUE(projector_->Split(a, 1).ok());  // C comes back
  auto second = projector_->Split(a, 0);      // then the latest merge into A: B comes back
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  const int64_t b = ProfileOf("email:b@shop.co.uk");
  const int64_t c = ProfileOf("loyalty_id:L-C");
  EXPECT_EQ(std::set<int64_t>({a, b, c}).size(), 3u);
  EXPECT_EQ(Profile(a)["traits"]["revenue_gross"], "1.00");
  EXPECT_EQ(Profile(b)["traits"]["revenue_gross"], "2.00");
  EXPECT_EQ(Profile(c)["traits"]["revenue_gross"], "4.00");
  EXPECT_EQ(Metrics()["customers"], 3);
}

TEST_F(ProjectorTest, UndoingTheOuterOfTwoNestedMergesBringsBackTheInnerOneWhole) {
  Order("A1", R"({"customer_id":"A"})", R"([{"sku":"x","quantity":1,"unit_price":"1"}])");
  Order("B1", R"({"email":"b@shop.co.uk"})", R"([{"sku":"x","quantity":1,"unit_price":"2"}])");
  Order("C1", R"({"loyalty_id":"L-C"})", R"([{"sku":"x","quantity":1,"unit_price":"4"}])");
  CatchUp();
  const int64_t a = ProfileOf("customer_id:A");
  const int64_t b = ProfileOf("email:b@shop.co.uk");
  const int64_t c = ProfileOf("loyalty_id:L-C");
  Log(R"({"type":"identify","occurred_at":"2011-03-02T10:00:00Z",
          "customer":{"email":"b@shop.co.uk","loyalty_id":"L-C"}})");   // merge 1: B <- C
  Log(R"({"type":"identify","occurred_at":"2011-03-03T10:00:00Z",
          "customer":{"customer_id":"A","email":"b@shop.co.uk"}})");    // merge 2: A <- B
  CatchUp();
  ASSERT_EQ(Profile(a)["merged_from"], json::array({b, c}));
  auto split = projector_->Split(a, 0);  // the latest merge into A: B comes back, with C in it
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(ProfileOf("loyalty_id:L-C"), b);
  EXPECT_EQ(Profile(a)["merged_from"], json::array());
  EXPECT_EQ(Profile(b)["merged_from"], json::array({c}));
  EXPECT_EQ(Profile(c)["profile_id"], b);  // C's id answers with its survivor, B
  EXPECT_EQ(Profile(b)["merges"].size(), 1u);  // merge 1 still holds
  EXPECT_EQ(Profile(b)["traits"]["revenue_gross"], "6.00");
  // And merge 1 can still be undone from B.
  ASSERT_TRUE(projector_->Split(b, 0).ok());
  EXPECT_EQ(ProfileOf("loyalty_id:L-C"), c);
  EXPECT_EQ(Profile(c)["traits"]["revenue_gross"], "4.00");
}

TEST_F(ProjectorTest, MarketingConsentIsTheLatestChoiceAndFollowsMerges) {
  Log(R"({"type":"consent_update","occurred_at":"2026-11-01T10:00:00Z","store_id":"s1",
          "customer":{"loyalty_id":"L-1"},"consent":{"marketing":true}})");
  Log(R"({"type":"consent_update","occurred_at":"2026-11-03T10:00:00Z",
          "customer":{"loyalty_id":"L-1"},"consent":{"marketing":false}})");
  // An older choice that arrives late does not override the newer one.
  Log(R"({"type":"consent_update","occurred_at":"2026-11-02T10:00:00Z",
          "customer":{"loyalty_id":"L-1"},"consent":{"marketing":true}})");
  Log(R"({"type":"consent_update","occurred_at":"2026-11-04T10:00:00Z",
          "customer":{"email":"m@shop.co.uk"},"consent":{"marketing":true}})");
  Order("K1", R"({"customer_id":"K"})", R"([{"sku":"x","quantity":1,"unit_price":"1"}])");
  CatchUp();
  json p = Profile(ProfileOf("loyalty_id:L-1"));
  EXPECT_EQ(p["traits"]["consent"]["marketing"], false);
  EXPECT_EQ(p["traits"]["consent"]["updated_at"], "2026-11-03T10:00:00.000Z");
  EXPECT_TRUE(p["attributes"].empty()) << p["attributes"].dump();
  EXPECT_TRUE(Profile(ProfileOf("customer_id:K"))["traits"]["consent"]["marketing"].is_null());
  // Linked to the email's profile, whose choice is newer: it wins.
  Log(R"({"type":"identify","occurred_at":"2026-11-05T10:00:00Z",
          "customer":{"loyalty_id":"L-1","email":"m@shop.co.uk"}})");
  CatchUp();
  EXPECT_EQ(Profile(ProfileOf("loyalty_id:L-1"))["traits"]["consent"]["marketing"], true);
}

TEST_F(ProjectorTest, AttributesAreSealedAtRestAndConsentStaysReadableBySql) {
  Log(R"({"type":"identify","occurred_at":"2026-11-01T10:00:00Z",
          "customer":{"loyalty_id":"L-9"},"attributes":{"first_name":"Philippa","tier":"gold"}})");
  Log(R"({"type":"consent_update","occurred_at":"2026-11-02T10:00:00Z",
          "customer":{"loyalty_id":"L-9"},"consent":{"marketing":true}})");
  CatchUp();
  const int64_t id = ProfileOf("loyalty_id:L-9");
  json p = Profile(id);
  EXPECT_EQ(p["attributes"]["first_name"], "Philippa");
  EXPECT_EQ(p["attributes"]["tier"], "gold");
  const std::string where = " FROM profiles WHERE profile_id = " + std::to_string(id);
  const std::vector<std::string> stored = Rows("SELECT attributes" + where);
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].find("Philippa"), std::string::npos) << stored[0];
  EXPECT_NE(stored[0].find("$sealed"), std::string::npos);
  // The offer planner's SQL reads consent from the column as it is.
  EXPECT_EQ(Rows("SELECT json_extract(attributes, '$.\"$consent\".v')" + where),
            std::vector<std::string>{"1"});
  // A merge keeps them (read, merged and sealed again).
  Log(R"({"type":"identify","occurred_at":"2026-11-03T10:00:00Z",
          "customer":{"loyalty_id":"L-9","email":"pip@shop.co.uk"},"attributes":{"city":"Leeds"}})");
  CatchUp();
  p = Profile(ProfileOf("email:pip@shop.co.uk"));
  EXPECT_EQ(p["attributes"]["first_name"], "Philippa");
  EXPECT_EQ(p["attributes"]["city"], "Leeds");

  // A profile stored before sealing (plain attributes) is sealed when the projection starts.
  StopProjection();
  {
    auto db = sqlite::Database::Open(config_.profiles_path);
    ASSERT_TRUE(db.ok());
    ASSERT_TRUE((*db)->Exec("UPDATE profiles SET attributes = "
                            "'{\"$consent\":{\"t\":1,\"v\":true},\"nick\":{\"t\":1,\"v\":\"Plainly\"}}'"
                            " WHERE profile_id = " + std::to_string(id)).ok());
  }
  StartProjection();
  const std::vector<std::string> resealed = Rows("SELECT attributes" + where);
  ASSERT_EQ(resealed.size(), 1u);
  EXPECT_EQ(resealed[0].find("Plainly"), std::string::npos) << resealed[0];
  EXPECT_EQ(Profile(id)["attributes"]["nick"], "Plainly");
}

TEST_F(ProjectorTest, JunkIdentifiersNeverLinkPeople) {
  Order("C1", R"({"email":"test@test.com","customer_id":"1001"})",
        R"([{"sku":"x","quantity":1,"unit_price":"1"}])");
  Order("C2", R"({"email":"test@test.com","customer_id":"1002"})",
        R"([{"sku":"x","quantity":1,"unit_price":"1"}])");
  CatchUp();
  EXPECT_NE(ProfileOf("customer_id:1001"), ProfileOf("customer_id:1002"));
  EXPECT_EQ(ProfileOf("email:test@test.com"), 0);
  EXPECT_GE(projector_->Stats().refused_identifiers, 2);
}

TEST_F(ProjectorTest, MetricsFollowTheDefinitions) {
  // Customer 1: two orders in January (one in two parts), a credit note in February.
  Order("D1", R"({"customer_id":"1"})", R"([{"sku":"a","quantity":2,"unit_price":"1.25"}])",
        "2011-01-05T10:00:00Z");
  Order("D1", R"({"customer_id":"1"})", R"([{"sku":"b","quantity":1,"unit_price":"0.50"},
                                          {"sku":"free","quantity":1,"unit_price":"0"}])",
        "2011-01-05T10:00:00Z");
  Order("D2", R"({"customer_id":"1"})", R"([{"sku":"a","quantity":1,"unit_price":"7"}])",
        "2011-01-20T10:00:00Z");
  Order("CD3", R"({"customer_id":"1"})", R"([{"sku":"a","quantity":-1,"unit_price":"7"}])",
        "2011-02-02T10:00:00Z");
  // Customer 2: one order in February, a local date that is still January 31st in UTC.
  Order("D4", R"({"customer_id":"2"})", R"([{"sku":"a","quantity":3,"unit_price":"1.001"}])",
        "2011-02-01T00:30:00+01:00");
  // Anonymous: store totals only.
  Order("D5", "", R"([{"sku":"a","quantity":1,"unit_price":"100"}])", "2011-02-03T10:00:00Z");
  // Another currency is reported apart.
  Log(R"({"type":"order_completed","occurred_at":"2011-02-03T10:00:00Z","customer":{"customer_id":"1"},
          "order":{"order_id":"E1","currency":"EUR","items":[{"sku":"a","quantity":1,"unit_price":"9"}]}})");
  CatchUp();

  json m = Metrics();
  EXPECT_EQ(m["currency"], "GBP");
  EXPECT_EQ(m["customers"], 2);
  EXPECT_EQ(m["orders"], 3);                 // D1 (two parts), D2, D4; CD3 has no sale line
  EXPECT_EQ(m["revenue_gross"], "13.00");    // 2.50 + 0.50 + 7 + 3.003
  EXPECT_EQ(m["revenue_net"], "6.00");       // minus the 7.00 credit note
  EXPECT_EQ(m["average_order_value"], "4.33");
  EXPECT_DOUBLE_EQ(m["purchase_frequency"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(m["repeat_purchase_rate"].get<double>(), 0.5);
  EXPECT_EQ(m["clv_gross"], "6.50");
  EXPECT_EQ(m["clv_net"], "3.00");
  EXPECT_EQ(m["new_customers"], 2);
  EXPECT_EQ(m["store_totals"]["orders"], 4);
  EXPECT_EQ(m["store_totals"]["anonymous_orders"], 1);
  EXPECT_EQ(m["store_totals"]["revenue_gross"], "113.00");
  EXPECT_EQ(m["other_currencies"]["EUR"], 1);
  ASSERT_EQ(m["monthly"].size(), 2u);
  EXPECT_EQ(m["monthly"][0]["month"], "2011-01");
  EXPECT_EQ(m["monthly"][0]["orders"], 2);
  EXPECT_EQ(m["monthly"][0]["new_customers"], 1);
  EXPECT_TRUE(m["monthly"][0]["customer_growth_rate"].is_null());
  EXPECT_EQ(m["monthly"][1]["month"], "2011-02");
  EXPECT_EQ(m["monthly"][1]["revenue_net"], "-4.00");   // 3.003 - 7
  EXPECT_EQ(m["monthly"][1]["new_customers"], 1);
  EXPECT_DOUBLE_EQ(m["monthly"][1]["customer_growth_rate"].get<double>(), 1.0);
  ASSERT_EQ(m["top_customers"].size(), 2u);
  EXPECT_EQ(m["top_customers"][0]["revenue_gross"], "10.00");
  EXPECT_EQ(m["top_customers"][0]["identifiers"][0]["value"], "1");

  MetricsQuery feb;
  feb.from = "2011-02";
  feb.to = "2011-03";
  m = Metrics(feb);
  EXPECT_EQ(m["customers"], 1);
  EXPECT_EQ(m["new_customers"], 1);
  EXPECT_EQ(m["revenue_net"], "-4.00");
  MetricsQuery eur;
  eur.currency = "EUR";
  EXPECT_EQ(Metrics(eur)["revenue_gross"], "9.00");
  MetricsQuery bad;
  bad.from = "2011/02";
  EXPECT_EQ(reader_->Metrics(bad).status().field(), "from");
  bad.from = "2011-13";
  EXPECT_EQ(reader_->Metrics(bad).status().field(), "from");
  bad.from = "2011-02-32";
  EXPECT_EQ(reader_->Metrics(bad).status().field(), "from");
}

// GET /v1/metrics against a computation written here from the README's definitions, over 600
// generated orders (customers with several orders, anonymous ones, credit notes, returns, two
// currencies, four stores, two channels), for ranges, stores, channels and a currency.
TEST_F(ProjectorTest, MetricsEqualAnIndependentComputationForEveryFilter) {
  struct Gen {
    int customer = 0;  // 0: anonymous
    std::string date, store, channel, currency;
    int64_t gross = 0, returns = 0;  // cents
    bool sale = false, credit = false;
  };
  std::vector<Gen> orders;
  std::mt19937_64 rng(42);
  auto pick = [&](int n) { return static_cast<int>(rng() % static_cast<uint64_t>(n)); };
  for (int i = 0; i < 600; ++i) {
    Gen g;
    g.customer = pick(10) == 0 ? 0 : 1 + pick(40);
    char date[16];
    std::snprintf(date, sizeof date, "2011-%02d-%02d", 1 + pick(12), 1 + pick(28));
    g.date = date;
    g.store = "s" + std::to_string(1 + pick(4));
    g.channel = pick(3) == 0 ? "web" : "store";
    g.currency = pick(10) == 0 ? "EUR" : "GBP";
    std::string items;
    const int kind = pick(8);  // 0: credit note, 1: sale with a return, else a sale
    auto item = [&](int quantity) {
      const int cents = 1 + pick(5000);
      if (quantity > 0) g.gross += quantity * cents; else g.returns += -quantity * cents;
      char buf[96];
      std::snprintf(buf, sizeof buf, R"(%s{"sku":"x","quantity":%d,"unit_price":"%d.%02d"})",
                    items.empty() ? "" : ",", quantity, cents / 100, cents % 100);
      items += buf;
    };
    if (kind == 0) {
      item(-1 - pick(2));
      g.credit = true;
    } else {
      item(1 + pick(3));
      if (pick(2) == 0) item(1);
      if (kind == 1) item(-1);
      g.sale = true;
    }
    Log(R"({"type":"order_completed","occurred_at":")" + g.date + R"(T10:00:00Z","store_id":")" +
        g.store + R"(","channel":")" + g.channel + R"(")" +
        (g.customer == 0 ? "" : R"(,"customer":{"customer_id":"K)" + std::to_string(g.customer) + R"("})") +
        R"(,"order":{"order_id":"G)" + std::to_string(i) + R"(","currency":")" + g.currency +
        R"(","items":[)" + items + "]}}");
    orders.push_back(g);
  }
  CatchUp();

  auto money = [](int64_t cents) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s%lld.%02lld", cents < 0 ? "-" : "",
                  static_cast<long long>(std::llabs(cents) / 100),
                  static_cast<long long>(std::llabs(cents) % 100));
    return std::string(buf);
  };
  std::vector<MetricsQuery> queries(7);
  queries[1].from = "2011-03";
  queries[1].to = "2011-07";
  queries[2].store = "s2";
  queries[3].channel = "web";
  queries[4].currency = "EUR";
  queries[5].from = "2011-02-10";
  queries[5].to = "2011-02-20";
  queries[5].store = "s1";
  queries[6].channel = "store";
  queries[6].from = "2011-06";
  for (MetricsQuery q : queries) {
    q.top = 5;
    SCOPED_TRACE("from=" + q.from + " to=" + q.to + " store=" + q.store + " channel=" + q.channel +
                 " currency=" + q.currency);
    const std::string currency = q.currency.empty() ? "GBP" : q.currency;
    auto filtered = [&](const Gen& g) {
      return g.currency == currency && (q.store.empty() || g.store == q.store) &&
             (q.channel.empty() || g.channel == q.channel);
    };
    auto in_range = [&](const std::string& d) {
      return (q.from.empty() || d >= q.from) && (q.to.empty() || d < q.to);
    };
    std::map<int, std::string> first_sale;  // customer -> date of the first sale order
    for (const Gen& g : orders) {
      if (g.customer == 0 || !g.sale || !filtered(g)) continue;
      auto [it, fresh] = first_sale.emplace(g.customer, g.date);
      if (!fresh && g.date < it->second) it->second = g.date;
    }
    std::map<int, int64_t> sales_of, gross_of;
    int64_t gross = 0, returns = 0, total_orders = 0, anonymous = 0, credits = 0;
    int64_t total_gross = 0;
    struct Month {
      std::set<int> customers;
      int64_t orders = 0, gross = 0, returns = 0;
    };
    std::map<std::string, Month> months;
    for (const Gen& g : orders) {
      if (!filtered(g) || !in_range(g.date)) continue;
      total_gross += g.gross;
      if (g.sale) ++total_orders;
      if (g.sale && g.customer == 0) ++anonymous;
      if (g.credit) ++credits;
      if (g.customer == 0) continue;
      gross += g.gross;
      returns += g.returns;
      Month& m = months[g.date.substr(0, 7)];
      m.gross += g.gross;
      m.returns += g.returns;
      gross_of[g.customer] += g.gross;
      if (g.sale) {
        ++sales_of[g.customer];
        ++m.orders;
        m.customers.insert(g.customer);
      }
    }
    int64_t customers = 0, order_count = 0, repeat = 0, fresh = 0;
    std::vector<int64_t> top;
    for (const auto& [c, n] : sales_of) {
      ++customers;
      order_count += n;
      if (n >= 2) ++repeat;
      top.push_back(gross_of[c]);
    }
    for (const auto& [c, d] : first_sale) fresh += in_range(d) ? 1 : 0;
    std::sort(top.rbegin(), top.rend());

    const json m = Metrics(q);
    EXPECT_EQ(m["currency"], currency);
    EXPECT_EQ(m["customers"], customers);
    EXPECT_EQ(m["orders"], order_count);
    EXPECT_EQ(m["repeat_customers"], repeat);
    EXPECT_EQ(m["new_customers"], fresh);
    EXPECT_EQ(m["revenue_gross"], money(gross));
    EXPECT_EQ(m["revenue_net"], money(gross - returns));
    EXPECT_EQ(m["store_totals"]["orders"], total_orders);
    EXPECT_EQ(m["store_totals"]["anonymous_orders"], anonymous);
    EXPECT_EQ(m["store_totals"]["credit_notes"], credits);
    EXPECT_EQ(m["store_totals"]["revenue_gross"], money(total_gross));
    ASSERT_EQ(m["monthly"].size(), months.size());
    size_t k = 0;
    for (const auto& [month, mm] : months) {
      const json& row = m["monthly"][k++];
      EXPECT_EQ(row["month"], month);
      EXPECT_EQ(row["customers"], static_cast<int64_t>(mm.customers.size()));
      EXPECT_EQ(row["orders"], mm.orders);
      EXPECT_EQ(row["revenue_gross"], money(mm.gross));
      EXPECT_EQ(row["revenue_net"], money(mm.gross - mm.returns));
      int64_t new_in_month = 0, before = 0;
      for (const auto& [c, d] : first_sale) {
        if (d.substr(0, 7) == month) ++new_in_month;
        if (d.substr(0, 7) < month) ++before;
      }
      EXPECT_EQ(row["new_customers"], new_in_month);
      EXPECT_EQ(row["customers_before"], before);
    }
    ASSERT_EQ(m["top_customers"].size(), std::min<size_t>(5, top.size()));
    for (size_t i = 0; i < m["top_customers"].size(); ++i) {
      EXPECT_EQ(m["top_customers"][i]["revenue_gross"], money(top[i]));
    }
    int64_t other = 0;
    for (const Gen& g : orders) other += g.sale && g.currency != currency ? 1 : 0;
    ASSERT_TRUE(m["other_currencies"].contains(currency == "GBP" ? "EUR" : "GBP"));
    EXPECT_EQ(m["other_currencies"][currency == "GBP" ? "EUR" : "GBP"], other);
  }
}

// GET /v1/metrics reads every order from the covering index, in order: no table lookups and no
// temporary B-tree (schema migration 6), whatever the number of orders.
TEST_F(ProjectorTest, MetricsReadOrdersFromACoveringIndexWithoutATemporaryBTree) {
  CatchUp();  // migrated
  const std::string details = QueryPlan(config_.profiles_path, kMetricsOrdersQuery);
  EXPECT_THAT(details, ::testing::HasSubstr("COVERING INDEX orders_by_profile")) << details;
  EXPECT_THAT(details, ::testing::Not(::testing::HasSubstr("TEMP B-TREE"))) << details;
}

TEST_F(ProjectorTest, DeletingTheProjectionRebuildsTheSameFromTheLog) {
  Order("F1", R"({"email":"a@shop.co.uk"})", R"([{"sku":"a","quantity":1,"unit_price":"2"}])");
  Log(R"({"type":"identify","occurred_at":"2011-03-02T10:00:00Z",
          "customer":{"email":"a@shop.co.uk","customer_id":"C9"}})");
  Order("F2", R"({"customer_id":"C9"})", R"([{"sku":"a","quantity":1,"unit_price":"3"}])");
  CatchUp();
  const json before = Metrics();
  const json profile_before = Profile(ProfileOf("customer_id:C9"));
  StopProjection();
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(config_.profiles_path + suffix);
  }
  StartProjection();
  CatchUp();
  EXPECT_EQ(Metrics(), before);
  EXPECT_EQ(Profile(ProfileOf("email:a@shop.co.uk"))["traits"], profile_before["traits"]);
}

TEST_F(ProjectorTest, ChangeFeedNamesEveryProfileACommitChanged) {
  Order("A1", R"({"customer_id":"A"})", R"([{"sku":"x","quantity":1,"unit_price":"1"}])");
  Order("B1", R"({"loyalty_id":"L-B"})", R"([{"sku":"x","quantity":1,"unit_price":"2"}])");
  CatchUp();
  const int64_t a = ProfileOf("customer_id:A");
  const int64_t b = ProfileOf("loyalty_id:L-B");
  ASSERT_GT(a, 0);
  ASSERT_GT(b, a);
  EXPECT_EQ(FeedUnion(), std::set<int64_t>({a, b}));
  EXPECT_GE(RfmRecomputes(), 1);  // CatchUp recomputes at once when data changed

  // Nothing new, or only anonymous events: commits (the cursor moves) but no call.
  CatchUp();
  Log(R"({"type":"page_view","occurred_at":"2011-03-01T10:00:00Z"})");
  Log(R"({"type":"offer_impression","occurred_at":"2011-03-01T10:00:00Z","store_id":"s1",
          "offer_ids":["OF-1"]})");
  CatchUp();
  EXPECT_EQ(projector_->Stats().cursor, 4);
  EXPECT_TRUE(TakeFeed().empty());

  // An anonymous second part of A's order changes A's figures.
  Order("A1", "", R"([{"sku":"y","quantity":1,"unit_price":"5"}])");
  CatchUp();
  EXPECT_EQ(FeedUnion(), std::set<int64_t>({a}));
  // A part sent with B's identifier changes B (touched) and A (the order's owner).
  Order("A1", R"({"loyalty_id":"L-B"})", R"([{"sku":"z","quantity":1,"unit_price":"1"}])");
  CatchUp();
  EXPECT_EQ(FeedUnion(), std::set<int64_t>({a, b}));

  // A merge names the survivor and the absorbed profile.
  Log(R"({"type":"identify","occurred_at":"2011-03-02T10:00:00Z",
          "customer":{"customer_id":"A","loyalty_id":"L-B"}})");
  CatchUp();
  ASSERT_EQ(ProfileOf("loyalty_id:L-B"), a);
  EXPECT_EQ(FeedUnion(), std::set<int64_t>({a, b}));

  // A split is one commit naming both profiles.
  auto split = projector_->Split(a, 0);
  ASSERT_TRUE(split.ok()) << split.status().ToString();
  EXPECT_EQ(TakeFeed(), std::vector<std::vector<int64_t>>({{a, b}}));
  EXPECT_EQ(ProfileOf("loyalty_id:L-B"), b);
  // A refused split commits nothing and calls nothing.
  EXPECT_FALSE(projector_->Split(a, split->merge_id).ok());
  EXPECT_TRUE(TakeFeed().empty());
}

TEST_F(ProjectorTest, BodiesThatDoNotParseAreQuarantinedNotFatal) {
  auto ins = log_->Prepare(
      "INSERT INTO events (event_id, source, seq, type, occurred_at_ms, received_at_ms, body) "
      "VALUES ('bad-1', 'test', NULL, 'transaction', 0, 0, '{\"type\":\"nope\"}')");
  ASSERT_TRUE(ins.ok());
  ASSERT_TRUE(ins->Run().ok());
  Order("G1", R"({"customer_id":"5"})", R"([{"sku":"a","quantity":1,"unit_price":"1"}])");
  CatchUp();
  EXPECT_EQ(projector_->Stats().quarantined_events, 1);
  EXPECT_GT(ProfileOf("customer_id:5"), 0);
}

// The RFM cut points are not recomputed for every sale: an anonymous sale counts nothing, and a
// customer's sale only once enough customers changed (rfm_schedule.h).
// [projection] batch_delay_ms: after a batch that projected something the thread pauses, so
// events trickling in meanwhile share the next commit (one change-feed call) instead of one
// commit each.
TEST_F(ProjectorTest, ATrickleSharesOneCommitAfterTheBatchDelay) {
  StopProjection();
  config_.projection_delay_ms = 1500;
  StartProjection();
  auto wait_for_feed = [&](size_t profiles) {
    std::set<int64_t> seen;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    std::vector<std::vector<int64_t>> calls;
    while (seen.size() < profiles && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      for (auto& ids : TakeFeed()) {
        seen.insert(ids.begin(), ids.end());
        calls.push_back(ids);
      }
    }
    EXPECT_EQ(seen.size(), profiles);
    return calls;
  };
  Order("T1", R"({"loyalty_id":"L-T1"})", R"([{"sku":"x","quantity":1,"unit_price":"1"}])");
  projector_->Nudge();
  EXPECT_EQ(wait_for_feed(1).size(), 1u);  // the first event after a quiet spell: at once
  const auto first_seen = std::chrono::steady_clock::now();
  // The thread now pauses 1.5 s: two sales posted (and nudged) in that time are one commit.
  Order("T2", R"({"loyalty_id":"L-T2"})", R"([{"sku":"x","quantity":1,"unit_price":"2"}])");
  projector_->Nudge();
  Order("T3", R"({"loyalty_id":"L-T3"})", R"([{"sku":"x","quantity":1,"unit_price":"3"}])");
  projector_->Nudge();
  const auto calls = wait_for_feed(2);
  EXPECT_EQ(calls.size(), 1u);
  EXPECT_GT(ProfileOf("loyalty_id:L-T2"), 0);
  EXPECT_GT(ProfileOf("loyalty_id:L-T3"), 0);
  // ... and not before the pause ended: 1.5 s after the first commit (seen within 5 ms of it).
  EXPECT_GE(std::chrono::steady_clock::now() - first_seen, std::chrono::milliseconds(1400));
}

TEST_F(ProjectorTest, RfmCutPointsWaitForEnoughCustomersToBuy) {
  StopProjection();
  config_.rfm_refresh_percent = 5;
  for (int i = 0; i < 40; ++i) {
    Order("R" + std::to_string(i), R"({"customer_id":"R)" + std::to_string(i) + "\"}",
          R"([{"sku":"x","quantity":1,"unit_price":")" + std::to_string(1 + i) + "\"}]");
  }
  StartProjection();  // computes the cut points of what is projected: none yet
  CatchUp();          // 40 customers changed: due at once
  ASSERT_EQ(RfmRecomputes(), 1);
  ASSERT_EQ(rfm_.cuts()->customers, 40);
  // Anonymous sales: no customer changed, nothing is due.
  for (int i = 0; i < 5; ++i) {
    Order("A" + std::to_string(i), "", R"([{"sku":"x","quantity":1,"unit_price":"100"}])");
  }
  CatchUp();
  EXPECT_EQ(RfmRecomputes(), 1);
  // 5 % of 40 customers = 2: the first sale waits, the second makes it due.
  Order("S1", R"({"customer_id":"R1"})", R"([{"sku":"x","quantity":1,"unit_price":"5"}])");
  CatchUp();
  EXPECT_EQ(RfmRecomputes(), 1);
  Order("S2", R"({"customer_id":"R2"})", R"([{"sku":"x","quantity":1,"unit_price":"5"}])");
  CatchUp();
  EXPECT_EQ(RfmRecomputes(), 2);
}

// The cut points stream every customer's orders from the index (schema migration 5): no
// temporary B-tree of all orders, whose memory grew with every order (the soak benchmark saw
// SQLite's memory jump by 35 MB at each recompute with ~300,000 orders).
TEST_F(ProjectorTest, RfmFiguresStreamFromAnIndexWithoutATemporaryBTree) {
  CatchUp();  // migrated
  const std::string details = QueryPlan(config_.profiles_path, kRfmFiguresQuery);
  EXPECT_NE(details.find("orders_by_profile"), std::string::npos) << details;
  EXPECT_EQ(details.find("TEMP B-TREE"), std::string::npos) << details;
}

}  // namespace
}  // namespace cjd::hub

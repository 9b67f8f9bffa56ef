// Predictions end to end (issue 14): a real hub (real Mosquitto, real processes, real SQLite
// files) fed orders through /v1/collect. The test builds each customer's purchase days itself
// from what it posted and runs the prediction library (hub/predictions/backtest.h) on them: the
// hub must give exactly the same figures per profile through GET /v1/predictions (current and
// backtest), the profile traits and segment rules, and `cjdctl predictions export` must write
// them all. Erasure removes a customer's predictions; bad requests name their field.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "hub/predictions/backtest.h"
#include "shared/event/civil_time.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;
using hub::predictions::BacktestOptions;
using hub::predictions::CustomerHistory;
using hub::predictions::CustomerScore;

constexpr int kCustomers = 160;

std::string DateOf(int32_t day) {
  const CivilDate c = CivilFromDays(day);
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04lld-%02d-%02d", static_cast<long long>(c.year), c.month,
                c.day);
  return buf;
}

double Four(double v) { return static_cast<double>(std::llround(v * 10'000.0)) / 10'000.0; }

std::string Cents(double cents) {
  const long long c = std::llround(cents);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%lld.%02lld", c / 100, c % 100);
  return buf;
}

struct Posted {
  std::string email;
  std::vector<std::pair<int32_t, int64_t>> orders;  // (day, value in cents), value > 0
};

class Predictions : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    key_ = fleet_.AddSource("webshop");
    // No refit by schedule during the test: the test asks for them (POST /v1/predictions/refit).
    SetTomlKey(fleet_.hub_config(), "predictions", "check_seconds", "86400");
    SetTomlKey(fleet_.hub_config(), "segments", "reevaluate_seconds", "1");
    fleet_.StartHub();
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 120s);
  }

  HttpResponse Get(const std::string& path) { return hub_->Get(path, fleet_.hub_token()); }
  HttpResponse Post(const std::string& path, const json& body) {
    return hub_->Post(path, body.dump(), fleet_.hub_token());
  }

  // Customers with their own rates and lifetimes over 2024-06 .. 2026-11; some orders on the
  // same day (one purchase day), some of zero value (a free sample: no purchase day).
  void PostCustomers() {
    std::mt19937_64 rng(20261206);
    const int32_t first = static_cast<int32_t>(DaysFromCivil(2024, 6, 1));
    const int32_t last = static_cast<int32_t>(DaysFromCivil(2026, 11, 30));
    int order_no = 0;
    json batch = json::array();
    auto flush = [&] {
      if (batch.empty()) return;
      HttpResponse r = hub_->Post("/v1/collect", batch.dump(), key_);
      ASSERT_EQ(r.status, 202) << r.body;
      events_ += static_cast<int64_t>(batch.size());
      batch = json::array();
    };
    for (int i = 0; i < kCustomers; ++i) {
      Posted p;
      p.email = "buyer" + std::to_string(i) + "@shop-mail.co.uk";
      const int32_t start = first + static_cast<int32_t>(rng() % 500);
      const double gap = 10.0 + static_cast<double>(rng() % 120);  // mean days between days
      const int32_t end = start + static_cast<int32_t>(rng() % (last - start + 1));
      std::exponential_distribution<double> next(1.0 / gap);
      for (double d = start; d <= end; d += 1.0 + next(rng)) {
        const int32_t day = static_cast<int32_t>(d);
        const int n = 1 + static_cast<int>(rng() % 4 == 0);  // a second order that day
        for (int k = 0; k < n; ++k) {
          const bool free_sample = rng() % 15 == 0;
          const int64_t cents = free_sample ? 0 : 500 + static_cast<int64_t>(rng() % 20000);
          const std::string price = std::to_string(cents / 100) + "." +
                                    (cents % 100 < 10 ? "0" : "") + std::to_string(cents % 100);
          batch.push_back(
              {{"type", "order_completed"},
               {"occurred_at", DateOf(day) + "T12:00:00Z"},
               {"customer", {{"email", p.email}}},
               {"order",
                {{"order_id", "P-" + std::to_string(++order_no)},
                 {"currency", "EUR"},
                 {"items", {{{"sku", "S"}, {"quantity", 1}, {"unit_price", price}}}}}}});
          if (cents > 0) p.orders.emplace_back(day, cents);
          if (batch.size() >= 400) flush();
        }
      }
      posted_.push_back(std::move(p));
    }
    flush();
    ASSERT_TRUE(fleet_.WaitHubEventsTotal(events_)) << fleet_.Diagnostics();
    ASSERT_TRUE(cjd::testing::WaitUntil(
        [&] {
          json s = fleet_.HubStats();
          return s.contains("projection") &&
                 s["projection"]["events_applied"].get<int64_t>() >= events_;
        },
        60s))
        << fleet_.HubStats().dump();
    for (const Posted& p : posted_) {
      HttpResponse r = Get("/v1/profiles?identifier=email:" + p.email);
      ASSERT_EQ(r.status, 200) << r.body;
      profile_of_[p.email] = r.Json()["profile_id"].get<int64_t>();
    }
  }

  // The library's figures for what the test posted, by profile id.
  std::map<int64_t, CustomerScore> Expected(int32_t as_of, int32_t horizon, json* model) {
    std::vector<CustomerHistory> histories;
    for (const Posted& p : posted_) {
      CustomerHistory h;
      h.customer_id = profile_of_.at(p.email);
      for (const auto& [day, cents] : p.orders) h.days.push_back({day, cents});
      histories.push_back(std::move(h));
    }
    BacktestOptions o;
    o.as_of_day = as_of;
    o.horizon_days = horizon;
    auto r = hub::predictions::RunBacktest(histories, o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    std::map<int64_t, CustomerScore> out;
    if (!r.ok()) return out;
    for (const CustomerScore& c : r->customers) out[c.customer_id] = c;
    *model = {{"r", r->bg_nbd.params.r}, {"fit", FitStateName(r->bg_nbd.state)}};
    return out;
  }

  // Every page of GET /v1/predictions with `query` (may be empty), `limit` per page.
  std::vector<json> AllPages(const std::string& query, int limit) {
    std::vector<json> pages;
    std::string after;
    for (int guard = 0; guard < 1000; ++guard) {
      std::string target = "/v1/predictions?limit=" + std::to_string(limit) +
                           (query.empty() ? "" : "&" + query) +
                           (after.empty() ? "" : "&after=" + after);
      HttpResponse r = Get(target);
      EXPECT_EQ(r.status, 200) << target << ": " << r.body;
      if (r.status != 200) break;
      pages.push_back(r.Json());
      if (pages.back()["next_after"].is_null()) break;
      after = std::to_string(pages.back()["next_after"].get<int64_t>());
    }
    return pages;
  }

  void ExpectSame(const json& c, const CustomerScore& e, const std::string& email) {
    SCOPED_TRACE(c.dump());
    EXPECT_EQ(c["purchase_days"], e.purchase_days);
    EXPECT_DOUBLE_EQ(c["recency_days"].get<double>(), e.recency_days);
    EXPECT_DOUBLE_EQ(c["age_days"].get<double>(), e.age_days);
    EXPECT_DOUBLE_EQ(c["expected_purchase_days"].get<double>(), Four(e.expected_purchase_days));
    EXPECT_DOUBLE_EQ(c["churn_risk"].get<double>(), Four(e.churn_risk));
    if (e.p_alive) {
      EXPECT_DOUBLE_EQ(c["p_alive"].get<double>(), Four(*e.p_alive));
    } else {
      EXPECT_TRUE(c["p_alive"].is_null());
    }
    if (e.predicted_clv_cents) {
      EXPECT_EQ(c["predicted_clv"], Cents(*e.predicted_clv_cents));
    } else {
      EXPECT_TRUE(c["predicted_clv"].is_null());
    }
    ASSERT_TRUE(c["identifiers"].is_array());
    bool found = false;
    for (const json& id : c["identifiers"]) {
      found = found || (id["type"] == "email" && id["value"] == email);
    }
    EXPECT_TRUE(found);
  }

  std::string EmailOf(int64_t profile_id) const {
    for (const auto& [email, id] : profile_of_) {
      if (id == profile_id) return email;
    }
    return "";
  }

  int Cjdctl(std::vector<std::string> args, std::string* out) {
    args.insert(args.begin(), cjd::testing::CjdctlBinary());
    args.push_back("--hub");
    args.push_back("http://127.0.0.1:" + std::to_string(fleet_.hub_port()));
    args.push_back("--token");
    args.push_back(fleet_.hub_token());
    return cjd::testing::RunCommand(args, 120s, out);
  }

  static std::string ErrorField(const HttpResponse& r) {
    json j = r.Json();
    return j.is_object() && j["error"].is_object() ? j["error"].value("field", "") : "";
  }

  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> hub_;
  std::vector<Posted> posted_;
  std::map<std::string, int64_t> profile_of_;
  int64_t events_ = 0;
};

TEST_F(Predictions, TheHubGivesTheLibrarysFiguresForWhatWasPosted) {
  // Before any refit: the current predictions are not ready (and say how to get them).
  HttpResponse none = Get("/v1/predictions");
  EXPECT_EQ(none.status, 503) << none.body;
  PostCustomers();
  ASSERT_FALSE(HasFailure());

  // A backtest: history before 2026-01-01 only, 180 days ahead; paged 37 at a time.
  const int32_t as_of = static_cast<int32_t>(DaysFromCivil(2026, 1, 1));
  json model;
  const std::map<int64_t, CustomerScore> expected = Expected(as_of, 180, &model);
  ASSERT_GT(expected.size(), 100u);
  const std::vector<json> pages = AllPages("as_of=2026-01-01&horizon_days=180", 37);
  ASSERT_FALSE(pages.empty());
  size_t seen = 0;
  int64_t last = 0;
  for (const json& page : pages) {
    EXPECT_EQ(page["as_of"], "2026-01-01");
    EXPECT_EQ(page["horizon_days"], 180);
    EXPECT_EQ(page["currency"], "EUR");
    EXPECT_EQ(page["model"]["name"], "bg_nbd");
    EXPECT_EQ(page["model"]["fit"], model["fit"]);
    EXPECT_DOUBLE_EQ(page["model"]["params"]["r"].get<double>(), model["r"].get<double>());
    EXPECT_TRUE(page["model"]["log_likelihood"].is_number());
    EXPECT_EQ(page["customers_total"], static_cast<int64_t>(expected.size()));
    EXPECT_EQ(page["model"], pages[0]["model"]);  // every page from the same fit
    for (const json& c : page["customers"]) {
      const int64_t id = c["profile_id"].get<int64_t>();
      EXPECT_GT(id, last);
      last = id;
      auto it = expected.find(id);
      ASSERT_NE(it, expected.end()) << c.dump();
      ExpectSame(c, it->second, EmailOf(id));
      ++seen;
    }
  }
  EXPECT_EQ(seen, expected.size());

  // The current predictions: a refit as of tomorrow for [predictions] horizon_days (365).
  HttpResponse refit = Post("/v1/predictions/refit", json::object());
  ASSERT_EQ(refit.status, 200) << refit.body;
  const json fitted = refit.Json();
  // As of tomorrow (UTC), whichever day the refit ran on (the test may straddle midnight).
  const auto day_now = [] {
    return static_cast<int32_t>(std::chrono::duration_cast<std::chrono::hours>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count() /
                                24);
  };
  const int32_t tomorrow = day_now() + (fitted["as_of"] == DateOf(day_now() + 1) ? 1 : 0);
  EXPECT_EQ(fitted["as_of"], DateOf(tomorrow));
  EXPECT_EQ(fitted["horizon_days"], 365);
  EXPECT_EQ(fitted["customers_total"], kCustomers);
  json live_model;
  const std::map<int64_t, CustomerScore> live = Expected(tomorrow, 365, &live_model);
  const std::vector<json> live_pages = AllPages("", 1000);
  ASSERT_EQ(live_pages.size(), 1u);
  ASSERT_EQ(live_pages[0]["customers"].size(), live.size());
  for (const json& c : live_pages[0]["customers"]) {
    const int64_t id = c["profile_id"].get<int64_t>();
    ExpectSame(c, live.at(id), EmailOf(id));
  }

  // The same figures as profile traits.
  const int64_t someone = live.begin()->first;
  const json profile = Get("/v1/profiles/" + std::to_string(someone)).Json();
  const json& traits = profile["traits"];
  const CustomerScore& s = live.at(someone);
  EXPECT_DOUBLE_EQ(traits["expected_purchase_days_365d"].get<double>(),
                   Four(s.expected_purchase_days));
  EXPECT_DOUBLE_EQ(traits["churn_risk"].get<double>(), Four(s.churn_risk));
  EXPECT_EQ(traits["p_alive"].is_null(), !s.p_alive.has_value());
  if (s.predicted_clv_cents) {
    EXPECT_EQ(traits["predicted_clv_365d"], Cents(*s.predicted_clv_cents));
  }
  EXPECT_EQ(traits["predictions"]["as_of"], DateOf(tomorrow));
  EXPECT_EQ(traits["predictions"]["currency"], "EUR");

  // A segment on the predictions: exactly the customers the library puts at risk.
  int64_t at_risk = 0, likely = 0;
  for (const auto& [id, c] : live) {
    at_risk += Four(c.churn_risk) >= 0.5;
    likely += Four(c.expected_purchase_days) > 2;
  }
  ASSERT_GT(at_risk, 0);
  ASSERT_LT(at_risk, kCustomers);
  ASSERT_EQ(Post("/v1/segments", {{"id", "likely_to_churn"}, {"rule", "churn_risk >= 0.5"}}).status,
            201);
  ASSERT_EQ(Post("/v1/segments", {{"id", "regulars"},
                                  {"rule", "expected_purchase_days_365d > 2"}}).status,
            201);
  EXPECT_TRUE(cjd::testing::WaitUntil(
      [&] {
        json a = Get("/v1/segments/likely_to_churn").Json();
        json b = Get("/v1/segments/regulars").Json();
        return a["members"] == at_risk && !a["evaluated_at"].is_null() &&
               b["members"] == likely && !b["evaluated_at"].is_null();
      },
      60s))
      << Get("/v1/segments/likely_to_churn").body << Get("/v1/segments/regulars").body
      << " want " << at_risk << ", " << likely;
  // Another horizon than the hub's is refused where it is written.
  HttpResponse wrong = Post("/v1/segments", {{"id", "soon"},
                                             {"rule", "expected_purchase_days_30d > 1"}});
  EXPECT_EQ(wrong.status, 400) << wrong.body;
  EXPECT_EQ(ErrorField(wrong), "rule");
  EXPECT_THAT(wrong.body, ::testing::HasSubstr("expected_purchase_days_365d"));

  // cjdctl predictions export: csv of the backtest, jsonl of the current predictions.
  std::string out;
  ASSERT_EQ(Cjdctl({"predictions", "export", "--as-of", "2026-01-01", "--horizon-days", "180",
                    "--format", "csv", "--page-size", "50"},
                   &out),
            0)
      << out;
  std::istringstream lines(out);
  std::string line;
  std::getline(lines, line);
  EXPECT_EQ(line,
            "profile_id,identifiers,purchase_days,recency_days,age_days,expected_purchase_days,"
            "p_alive,churn_risk,predicted_clv");
  size_t rows = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("cjdctl predictions export:", 0) == 0) continue;  // the summary (stderr)
    ++rows;
    const int64_t id = std::stoll(line.substr(0, line.find(',')));
    EXPECT_TRUE(expected.count(id)) << line;
    EXPECT_THAT(line, ::testing::HasSubstr("email:" + EmailOf(id))) << line;
  }
  EXPECT_EQ(rows, expected.size());
  const std::string file = fleet_.dir().Join("predictions.jsonl").string();
  ASSERT_EQ(Cjdctl({"predictions", "export", "--format", "jsonl", "--out", file}, &out), 0) << out;
  std::istringstream jsonl(cjd::testing::ReadFile(file));
  size_t n = 0;
  while (std::getline(jsonl, line)) {
    const json c = json::parse(line);
    EXPECT_EQ(c, live_pages[0]["customers"][n]);
    ++n;
  }
  EXPECT_EQ(n, live.size());

  // An erased customer leaves the predictions at once (the stored ones and a backtest's).
  const std::string gone = EmailOf(someone);
  HttpResponse erase = Post("/v1/privacy/erasures", {{"identifier", "email:" + gone}});
  ASSERT_EQ(erase.status, 202) << erase.body;
  EXPECT_TRUE(cjd::testing::WaitUntil(
      [&] {
        json p = Get("/v1/predictions").Json();
        json b = Get("/v1/predictions?as_of=2026-01-01&horizon_days=180").Json();
        if (!p.is_object() || !b.is_object()) return false;
        for (const json& c : p["customers"]) if (c["profile_id"] == someone) return false;
        for (const json& c : b["customers"]) if (c["profile_id"] == someone) return false;
        return fleet_.HubStats()["predictions"]["deleted_scores"] == 1;
      },
      60s))
      << fleet_.HubStats().dump();
}

TEST_F(Predictions, BadRequestsNameTheirFieldAndOnlyTheAdminReadsThem) {
  struct Case {
    std::string query, field;
  };
  for (const Case& c : std::vector<Case>{{"as_of=2026-02-30", "as_of"},
                                         {"as_of=2026-1-01", "as_of"},
                                         {"horizon_days=0", "horizon_days"},
                                         {"horizon_days=3651", "horizon_days"},
                                         {"limit=0", "limit"},
                                         {"limit=10001", "limit"},
                                         {"after=-1", "after"},
                                         {"asof=2026-01-01", "asof"}}) {
    HttpResponse r = Get("/v1/predictions?" + c.query);
    EXPECT_EQ(r.status, 400) << c.query << ": " << r.body;
    EXPECT_EQ(ErrorField(r), c.field) << c.query << ": " << r.body;
  }
  EXPECT_EQ(hub_->Post("/v1/predictions", "{}", fleet_.hub_token()).status, 405);
  EXPECT_EQ(Get("/v1/predictions/refit").status, 405);
  // No orders yet: a backtest has no model and no customers; a refit stores an empty set.
  json empty = Get("/v1/predictions?as_of=2026-01-01").Json();
  EXPECT_TRUE(empty["model"].is_null()) << empty.dump();
  EXPECT_EQ(empty["customers"].size(), 0u);
  EXPECT_EQ(empty["customers_total"], 0);
  // Identifiers in bulk: the analyst may not read them.
  const std::string analyst = fleet_.AddToken("analyst", "ana");
  EXPECT_EQ(hub_->Get("/v1/predictions?as_of=2026-01-01", analyst).status, 403);
  EXPECT_EQ(hub_->Get("/v1/predictions?as_of=2026-01-01", "wrong").status, 401);
  // cjdctl names the flag.
  std::string out;
  EXPECT_EQ(Cjdctl({"predictions", "export", "--as-of", "2026-13-01", "--format", "csv"}, &out), 2);
  EXPECT_THAT(out, ::testing::HasSubstr("--as-of"));
  EXPECT_EQ(Cjdctl({"predictions", "export", "--format", "xml"}, &out), 2);
  EXPECT_THAT(out, ::testing::HasSubstr("--format"));
}

}  // namespace
}  // namespace cjd::itest

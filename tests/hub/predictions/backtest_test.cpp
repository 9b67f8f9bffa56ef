#include "hub/predictions/backtest.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/support/binaries.h"
#include "tests/support/datasets.h"

namespace cjd::hub::predictions {
namespace {

int32_t Day(int y, unsigned m, unsigned d) {
  using namespace std::chrono;
  return static_cast<int32_t>(sys_days{year{y} / month{m} / day{d}}.time_since_epoch().count());
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// ---- summarisation ---------------------------------------------------------------------------

TEST(BacktestSummarise, CountsPurchaseDaysBeforeAsOfOnly) {
  const int32_t as_of = 100;
  const std::vector<CustomerHistory> in = {
      // Out of order, a duplicate day (merged), a day on as_of and one after (ignored).
      {7, {{40, 500}, {10, 1000}, {40, 250}, {25, 300}, {100, 9999}, {130, 1}}},
      {8, {{99, 1234}}},  // one purchase day, the day before as_of
      {9, {{100, 50}}},   // only on as_of: not a customer yet
      {10, {{150, 50}}},  // only after as_of: not a customer
      {11, {}},           // nothing at all
  };
  const Result<std::vector<CustomerSummary>> got = Summarise(in, as_of);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->size(), 2u);
  const CustomerSummary& a = (*got)[0];
  EXPECT_EQ(a.customer_id, 7);
  EXPECT_EQ(a.first_day, 10);
  EXPECT_EQ(a.last_day, 40);
  EXPECT_EQ(a.x, 2);                                  // days 10, 25, 40
  EXPECT_EQ(a.t_x, 30);                               // 40 - 10
  EXPECT_EQ(a.T, 90);                                 // 100 - 10
  EXPECT_DOUBLE_EQ(a.zbar_cents, (300 + 750) / 2.0);  // first day excluded
  EXPECT_EQ(a.value_cents, 1000 + 300 + 750);
  const CustomerSummary& b = (*got)[1];
  EXPECT_EQ(b.customer_id, 8);
  EXPECT_EQ(b.x, 0);
  EXPECT_EQ(b.t_x, 0);
  EXPECT_EQ(b.T, 1);
  EXPECT_EQ(b.zbar_cents, 0);
}

TEST(BacktestSummarise, RejectsANonPositiveValueNamingIt) {
  const Result<std::vector<CustomerSummary>> got =
      Summarise({{1, {{5, 100}}}, {2, {{6, 100}, {7, 0}}}}, 10);
  ASSERT_FALSE(got.ok());
  EXPECT_NE(got.status().ToString().find("[1].days[1].value_cents"), std::string::npos)
      << got.status().ToString();
}

TEST(Backtest, RejectsNoHorizonAndNoCustomers) {
  EXPECT_FALSE(RunBacktest({{1, {{5, 100}}}}, {10, 0, true}).ok());
  EXPECT_FALSE(RunBacktest({{1, {{15, 100}}}}, {10, 30, true}).ok());
}

// ---- churn risk against the generative process -----------------------------------------------

struct Draw {
  double lambda, p;
};

std::vector<Draw> PriorDraws(const BgNbdParams& m, int n, std::mt19937_64& rng) {
  std::gamma_distribution<double> lambda(m.r, 1.0 / m.alpha), ga(m.a, 1.0), gb(m.b, 1.0);
  std::vector<Draw> out(static_cast<std::size_t>(n));
  for (Draw& d : out) {
    d.lambda = lambda(rng);
    const double ya = ga(rng), yb = gb(rng);
    d.p = ya / (ya + yb);
  }
  return out;
}

const BgNbdParams kTruth = {0.8, 60.0, 0.4, 2.5};  // days, roughly Online Retail's shape

// x = 0 is a plain event (no purchase in (0, T]), so plain rejection sampling of whole
// simulated customers conditions on it exactly: no formula of the model is used.
TEST(BacktestChurnRisk, MatchesSimulatedCustomersWithNoRepeatPurchase) {
  std::mt19937_64 rng(20240614);
  const double T = 60, t = 90;
  int kept = 0, none = 0;
  for (const Draw& d : PriorDraws(kTruth, 400'000, rng)) {
    std::exponential_distribution<double> gap(d.lambda);
    std::uniform_real_distribution<double> u01(0, 1);
    // Purchases after the first (at 0); after each one she drops out with probability p.
    double at = 0;
    bool alive = true, in_history = false, in_horizon = false;
    while (alive) {
      at += gap(rng);
      if (at > T + t) break;
      (at <= T ? in_history : in_horizon) = true;
      if (u01(rng) < d.p) alive = false;
    }
    if (in_history) continue;
    ++kept;
    none += in_horizon ? 0 : 1;
  }
  const double simulated = static_cast<double>(none) / kept;
  const double formula = ProbabilityNoPurchase(kTruth, t, 0, 0, T);
  const double se = std::sqrt(simulated * (1 - simulated) / kept);
  std::printf("churn risk x=0 T=%g t=%g: formula %.5f, simulated %.5f (n %d, se %.5f)\n", T, t,
              formula, simulated, kept, se);
  EXPECT_NEAR(formula, simulated, 5 * se);
}

// x > 0: the posterior by weighting prior draws of (lambda, p) with the likelihood of the
// history, split into "alive at T" and "dropped out after the last purchase"; the horizon is
// then simulated forward (next purchase ~ Exp(lambda) while alive).
TEST(BacktestChurnRisk, MatchesThePosteriorOfSimulatedDraws) {
  std::mt19937_64 rng(7);
  const std::vector<Draw> draws = PriorDraws(kTruth, 1'000'000, rng);
  struct Case {
    double x, t_x, T, t;
  };
  for (const Case& c : {Case{1, 20, 60, 90}, Case{4, 100, 180, 184}, Case{3, 10, 150, 30}}) {
    double sum_w = 0, sum_w2 = 0, sum_none = 0;
    std::uniform_real_distribution<double> u01(0, 1);
    for (const Draw& d : draws) {
      const double log_common = c.x * std::log(d.lambda);
      const double alive = std::exp(log_common + c.x * std::log1p(-d.p) - d.lambda * c.T);
      const double dead =
          std::exp(log_common + std::log(d.p) + (c.x - 1) * std::log1p(-d.p) - d.lambda * c.t_x);
      const double w = alive + dead;
      if (!(w > 0)) continue;
      std::exponential_distribution<double> gap(d.lambda);
      const bool is_alive = u01(rng) * w < alive;
      const bool none = !is_alive || gap(rng) > c.t;
      sum_w += w, sum_w2 += w * w, sum_none += none ? w : 0;
    }
    const double simulated = sum_none / sum_w;
    const double ess = sum_w * sum_w / sum_w2;  // effective sample size of the weights
    const double se = std::sqrt(simulated * (1 - simulated) / ess);
    const double formula = ProbabilityNoPurchase(kTruth, c.t, c.x, c.t_x, c.T);
    std::printf(
        "churn risk x=%g t_x=%g T=%g t=%g: formula %.5f, simulated %.5f (ess %.0f, se %.5f)\n", c.x,
        c.t_x, c.T, c.t, formula, simulated, ess, se);
    EXPECT_NEAR(formula, simulated, 5 * se + 1e-4);
  }
}

// ---- scoring on a simulated population ------------------------------------------------------

// n customers of a BG/NBD population (days), first purchases spread over [0, 200), seen to day
// `end`; each purchase day worth Gamma(4, 1/500) cents times a customer factor, at least 1.
std::vector<CustomerHistory> SimulatedHistories(int n, int32_t end, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<CustomerHistory> out;
  for (const Draw& d : PriorDraws(kTruth, n, rng)) {
    std::uniform_int_distribution<int32_t> first(0, 199);
    std::exponential_distribution<double> gap(d.lambda);
    std::uniform_real_distribution<double> u01(0, 1);
    std::gamma_distribution<double> scale(3.0, 1.0), value(4.0, 500.0);
    const double factor = scale(rng) / 3;
    CustomerHistory h;
    h.customer_id = static_cast<int64_t>(out.size()) + 1000;
    double at = first(rng);
    auto add = [&](int32_t day) {
      if (!h.days.empty() && h.days.back().day == day) return;  // one purchase day
      h.days.push_back({day, std::max<int64_t>(1, std::llround(value(rng) * factor))});
    };
    add(static_cast<int32_t>(at));
    while (true) {
      at += gap(rng);
      if (at >= end) break;
      add(static_cast<int32_t>(at));
      if (u01(rng) < d.p) break;
    }
    out.push_back(std::move(h));
  }
  return out;
}

TEST(Backtest, ScoresEveryCustomerWithTheFittedModels) {
  const std::vector<CustomerHistory> histories = SimulatedHistories(4000, 500, 11);
  const int32_t as_of = 300, horizon = 120;
  const Result<BacktestResult> result = RunBacktest(histories, {as_of, horizon, true});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const Result<std::vector<CustomerSummary>> summaries = Summarise(histories, as_of);
  ASSERT_TRUE(summaries.ok());
  ASSERT_EQ(result->customers.size(), summaries->size());
  ASSERT_EQ(result->bg_nbd.state, FitState::kOk) << result->bg_nbd.degenerate_reason;
  ASSERT_TRUE(result->gamma_gamma.has_value());
  ASSERT_EQ(result->gamma_gamma->state, FitState::kOk);
  ASSERT_TRUE(result->correction.has_value());
  const BgNbdParams& p = result->bg_nbd.params;
  const GammaGammaParams& g = result->gamma_gamma->params;
  std::printf(
      "simulated: r %.4g alpha %.4g a %.4g b %.4g (truth 0.8 60 0.4 2.5); correction b "
      "%.4f %.4f %.4f\n",
      p.r, p.alpha, p.a, p.b, result->correction->b[0], result->correction->b[1],
      result->correction->b[2]);
  for (std::size_t i = 0; i < summaries->size(); ++i) {
    const CustomerSummary& s = (*summaries)[i];
    const CustomerScore& c = result->customers[i];
    ASSERT_EQ(c.customer_id, s.customer_id);
    EXPECT_EQ(c.purchase_days, s.x + 1);
    EXPECT_EQ(c.recency_days, s.t_x);
    EXPECT_EQ(c.age_days, s.T);
    EXPECT_DOUBLE_EQ(c.bg_nbd_expected_purchase_days,
                     ExpectedPurchases(p, horizon, s.x, s.t_x, s.T));
    ASSERT_TRUE(c.p_alive.has_value());
    EXPECT_DOUBLE_EQ(*c.p_alive, ProbabilityAlive(p, s.x, s.t_x, s.T));
    EXPECT_DOUBLE_EQ(c.churn_risk, ProbabilityNoPurchase(p, horizon, s.x, s.t_x, s.T));
    const double spend = s.x > 0 ? ExpectedAverageSpend(g, s.x, s.zbar_cents)
                                 : g.v * g.p / (g.q - 1);  // the population's mean
    ASSERT_TRUE(c.predicted_clv_cents.has_value());
    EXPECT_NEAR(*c.predicted_clv_cents, c.expected_purchase_days * spend,
                1e-9 * *c.predicted_clv_cents);
  }
  // Without the correction, the figures are BG/NBD's.
  const Result<BacktestResult> plain = RunBacktest(histories, {as_of, horizon, false});
  ASSERT_TRUE(plain.ok());
  EXPECT_FALSE(plain->correction.has_value());
  for (const CustomerScore& c : plain->customers) {
    EXPECT_EQ(c.expected_purchase_days, c.bg_nbd_expected_purchase_days);
  }
  // On a population that is BG/NBD's own, the correction changes little.
  double mean_factor = 0;
  for (const CustomerScore& c : result->customers) {
    mean_factor += c.expected_purchase_days / c.bg_nbd_expected_purchase_days /
                   static_cast<double>(result->customers.size());
  }
  EXPECT_NEAR(mean_factor, 1.0, 0.15);
}

TEST(Backtest, SkipsTheCorrectionWhenTheInnerSplitIsTooSmall) {
  const std::vector<CustomerHistory> histories = SimulatedHistories(60, 500, 3);
  const Result<BacktestResult> result = RunBacktest(histories, {300, 120, true});
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  EXPECT_FALSE(result->correction.has_value());  // fewer than 100 inner customers
  const BgNbdFit& f = result->bg_nbd;
  std::printf("60 simulated: r %.4g alpha %.4g a %.4g b %.4g, %s %s\n", f.params.r, f.params.alpha,
              f.params.a, f.params.b, FitStateName(f.state), f.degenerate_reason.c_str());
  for (const CustomerScore& c : result->customers) {
    // Finite even here, where a and b ran away together and ExpectedPurchases' series fails.
    ASSERT_TRUE(std::isfinite(c.expected_purchase_days)) << c.customer_id;
    EXPECT_GT(c.expected_purchase_days, 0);
    EXPECT_EQ(c.expected_purchase_days, c.bg_nbd_expected_purchase_days);
    EXPECT_EQ(c.p_alive.has_value(), result->bg_nbd.state == FitState::kOk);
  }
}

// ---- UCI Online Retail -----------------------------------------------------------------------

std::vector<std::string> CsvFields(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
      out.back() += '"';
      ++i;
    } else if (c == '"') {
      quoted = !quoted;
    } else if (c == ',' && !quoted) {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

// "12.345" -> 12345 (thousandths); the file has at most 3 decimals. False on anything else.
bool ParseMills(const std::string& s, int64_t* mills) {
  std::size_t i = 0;
  const bool negative = !s.empty() && s[0] == '-';
  if (negative) ++i;
  int64_t whole = 0, frac = 0;
  int frac_digits = 0;
  bool digits = false;
  for (; i < s.size() && s[i] != '.'; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    whole = whole * 10 + (s[i] - '0'), digits = true;
  }
  if (i < s.size()) {
    for (++i; i < s.size(); ++i) {
      if (s[i] < '0' || s[i] > '9' || frac_digits == 3) return false;
      frac = frac * 10 + (s[i] - '0'), ++frac_digits, digits = true;
    }
  }
  while (frac_digits < 3) frac *= 10, ++frac_digits;
  *mills = (negative ? -1 : 1) * (whole * 1000 + frac);
  return digits;
}

struct RetailData {
  std::vector<CustomerHistory> customers;
  int64_t rows = 0, orders = 0, purchase_days = 0;
};

// Every customer's purchase days, by the importer's and the hub's rules: rows with a
// CustomerID; an invoice with a negative price is left out whole (the importer rejects it);
// a `C` invoice is a credit note, never a purchase; an order's value is the sum of quantity x
// price over lines with quantity > 0 and price > 0; its date is its first row's (UK local
// time, as the file writes it); a purchase day is a date with an order of value > 0, its value
// the sum of those orders, rounded to whole pence once per day. Empty with *why_not on failure.
RetailData LoadOnlineRetail(std::string* why_not) {
  const std::string dir = cjd::testing::DatasetDir("online-retail");
  if (dir.empty()) {
    *why_not =
        "the Online Retail data set is not there (expected ../shared/datasets/"
        "online-retail beside the repository); skipping";
    return {};
  }
  struct Invoice {
    std::string customer;
    int32_t day = 0;
    int64_t mills = 0;  // value of the sale lines, GBP / 1000
    bool dated = false;
  };
  std::map<std::string, Invoice> invoices;
  std::set<std::string> bad;
  RetailData data;
  std::vector<char> buf(1 << 16);
  for (int k = 0; k < 13; ++k) {
    char name[64];
    std::snprintf(name, sizeof name, "/online_retail_%04d-%02d.csv.gz", k == 0 ? 2010 : 2011,
                  k == 0 ? 12 : k);
    const std::string path = dir + name;
    gzFile f = gzopen(path.c_str(), "rb");
    if (f == nullptr) {
      *why_not = "cannot open " + path;
      return {};
    }
    bool header = true;
    while (gzgets(f, buf.data(), static_cast<int>(buf.size())) != nullptr) {
      std::string line(buf.data());
      while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.pop_back();
      if (header) {
        header = false;
        if (line.rfind("InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,", 0)) {
          *why_not = path + ": unexpected header " + line;
          gzclose(f);
          return {};
        }
        continue;
      }
      const std::vector<std::string> v = CsvFields(line);
      int64_t price = 0;
      if (v.size() != 8 || v[4].size() < 10 || !ParseMills(v[5], &price)) {
        *why_not = path + ": cannot parse " + line;
        gzclose(f);
        return {};
      }
      ++data.rows;
      if (price < 0) {
        bad.insert(v[0]);
        continue;
      }
      const int64_t qty = std::stoll(v[3]);
      Invoice& inv = invoices[v[0]];
      if (!inv.dated) {
        inv.dated = true;
        inv.day =
            Day(std::stoi(v[4].substr(0, 4)), static_cast<unsigned>(std::stoi(v[4].substr(5, 2))),
                static_cast<unsigned>(std::stoi(v[4].substr(8, 2))));
      }
      if (inv.customer.empty()) inv.customer = v[6];
      if (qty > 0 && price > 0) inv.mills += qty * price;
    }
    gzclose(f);
  }
  std::map<std::string, std::map<int32_t, int64_t>> by_customer;  // id -> day -> mills
  for (const auto& [number, inv] : invoices) {
    if (bad.count(number) || inv.customer.empty() || number[0] == 'C' || inv.mills <= 0) continue;
    ++data.orders;
    by_customer[inv.customer][inv.day] += inv.mills;
  }
  for (const auto& [id, days] : by_customer) {
    CustomerHistory h;
    h.customer_id = std::stoll(id);
    for (const auto& [day, mills] : days) {
      const int64_t cents = (mills + 5) / 10;  // half up; every value here is > 0
      if (cents > 0) h.days.push_back({day, cents});
      ++data.purchase_days;
    }
    data.customers.push_back(std::move(h));
  }
  return data;
}

// Mann-Whitney AUC: P(score of a positive > score of a negative), ties counted half.
double Auc(const std::vector<double>& score, const std::vector<bool>& positive) {
  std::vector<std::size_t> order(score.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(),
            [&](std::size_t l, std::size_t r) { return score[l] < score[r]; });
  double negatives_below = 0, pairs = 0, n_pos = 0, n_neg = 0;
  for (std::size_t i = 0; i < order.size();) {
    std::size_t j = i;
    double pos = 0, neg = 0;
    for (; j < order.size() && score[order[j]] == score[order[i]]; ++j) {
      (positive[order[j]] ? pos : neg) += 1;
    }
    pairs += pos * (negatives_below + 0.5 * neg);
    negatives_below += neg, n_pos += pos, n_neg += neg;
    i = j;
  }
  return pairs / (n_pos * n_neg);
}

TEST(BacktestAuc, CountsTiesHalf) {
  EXPECT_DOUBLE_EQ(Auc({0.1, 0.9}, {false, true}), 1.0);
  EXPECT_DOUBLE_EQ(Auc({0.9, 0.1}, {false, true}), 0.0);
  EXPECT_DOUBLE_EQ(Auc({0.5, 0.5}, {false, true}), 0.5);
  // positives 0.4, 0.8; negatives 0.4, 0.2, 0.9: pairs won 0.5 + 1 + 0 + 1 + 1 + 0 = 3.5 of 6.
  EXPECT_DOUBLE_EQ(Auc({0.4, 0.8, 0.4, 0.2, 0.9}, {true, true, false, false, false}), 3.5 / 6);
}

struct Figures {
  double mae = 0, rmse = 0, predicted_total = 0, actual_total = 0, auc = 0;
  double predicted_revenue = 0, actual_revenue = 0;  // GBP
};

struct Holdout {
  std::vector<double> purchase_days;  // per scored customer, in the holdout
  std::vector<double> revenue_cents;
};

Holdout ActualHoldout(const RetailData& data, const BacktestResult& result, int32_t as_of,
                      int32_t horizon) {
  std::map<int64_t, const CustomerHistory*> by_id;
  for (const CustomerHistory& h : data.customers) by_id[h.customer_id] = &h;
  Holdout out;
  for (const CustomerScore& c : result.customers) {
    double n = 0, v = 0;
    for (const PurchaseDay& d : by_id.at(c.customer_id)->days) {
      if (d.day >= as_of && d.day < as_of + horizon)
        n += 1, v += static_cast<double>(d.value_cents);
    }
    out.purchase_days.push_back(n);
    out.revenue_cents.push_back(v);
  }
  return out;
}

Figures Measure(const Holdout& actual, const std::vector<double>& expected,
                const std::vector<double>& churn, const std::vector<double>& clv_cents) {
  Figures f;
  std::vector<bool> churned;
  const double n = static_cast<double>(expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const double e = expected[i] - actual.purchase_days[i];
    f.mae += std::abs(e) / n;
    f.rmse += e * e / n;
    f.predicted_total += expected[i];
    f.actual_total += actual.purchase_days[i];
    f.predicted_revenue += clv_cents[i] / 100;
    f.actual_revenue += actual.revenue_cents[i] / 100;
    churned.push_back(actual.purchase_days[i] == 0);
  }
  f.rmse = std::sqrt(f.rmse);
  f.auc = Auc(churn, churned);
  return f;
}

void Print(const char* name, const Figures& f) {
  std::printf(
      "  %-28s MAE %.4f RMSE %.4f | purchase days %.1f vs %.0f | churn AUC %.4f | revenue "
      "%.0f vs %.0f GBP\n",
      name, f.mae, f.rmse, f.predicted_total, f.actual_total, f.auc, f.predicted_revenue,
      f.actual_revenue);
}

Figures MeasureExpected(const Holdout& actual, const BacktestResult& result, bool corrected) {
  std::vector<double> expected, churn, clv;
  for (const CustomerScore& c : result.customers) {
    const double e = corrected ? c.expected_purchase_days : c.bg_nbd_expected_purchase_days;
    expected.push_back(e);
    churn.push_back(c.churn_risk);
    // predicted_clv_cents is expected_purchase_days x the spend per day.
    clv.push_back(c.predicted_clv_cents.value_or(0) * e / c.expected_purchase_days);
  }
  return Measure(actual, expected, churn, clv);
}

// The split: calibration up to 2011-06-08, as_of 2011-06-09, holdout the next 184 days
// (to 2011-12-09, the end of the data), customers with a purchase day in the calibration.
TEST(BacktestOnlineRetail, CalibrationHoldoutSplitByTime) {
  std::string why_not;
  auto start = std::chrono::steady_clock::now();
  const RetailData data = LoadOnlineRetail(&why_not);
  if (data.customers.empty()) CJD_SKIP_WITHOUT_DATA(why_not);
  const double load_seconds = Seconds(start);
  EXPECT_EQ(data.rows, 541'909);
  std::printf(
      "Online Retail: %lld rows, %lld orders with a customer, %zu customers, %lld purchase "
      "days (read in %.2f s)\n",
      static_cast<long long>(data.rows), static_cast<long long>(data.orders), data.customers.size(),
      static_cast<long long>(data.purchase_days), load_seconds);

  const int32_t as_of = Day(2011, 6, 9), horizon = 184;
  start = std::chrono::steady_clock::now();
  const Result<BacktestResult> result = RunBacktest(data.customers, {as_of, horizon, true});
  const double fit_seconds = Seconds(start);
  ASSERT_TRUE(result.ok()) << result.status().ToString();
  const BgNbdFit& bg = result->bg_nbd;
  std::printf("BG/NBD (%zu customers): r %.5g alpha %.5g a %.5g b %.5g, %s%s%s, LL %.7g\n",
              result->customers.size(), bg.params.r, bg.params.alpha, bg.params.a, bg.params.b,
              FitStateName(bg.state), bg.degenerate_reason.empty() ? "" : ": ",
              bg.degenerate_reason.c_str(), bg.log_likelihood);
  ASSERT_TRUE(result->gamma_gamma.has_value());
  const GammaGammaFit& gg = *result->gamma_gamma;
  std::printf("Gamma-Gamma: p %.5g q %.5g v %.5g (cents), %s; mean spend per day %.2f GBP\n",
              gg.params.p, gg.params.q, gg.params.v, FitStateName(gg.state),
              gg.params.v * gg.params.p / (gg.params.q - 1) / 100);
  ASSERT_TRUE(result->correction.has_value());
  const Correction& c = *result->correction;
  std::printf(
      "correction: inner as_of day %d, %d days, %d customers, inner purchase days %.1f "
      "predicted vs %.0f actual; b %.4f %.4f %.4f\n",
      c.inner_as_of_day, c.inner_horizon_days, c.inner_customers, c.inner_predicted, c.inner_actual,
      c.b[0], c.b[1], c.b[2]);
  std::printf(
      "fit, correction and scoring: %.2f s (one core, -O2, machine shared with other "
      "jobs)\n",
      fit_seconds);
  EXPECT_EQ(result->customers.size(), 2787u);
  EXPECT_EQ(c.inner_as_of_day, as_of - 95);  // data from 2010-12-01: 190 days, half of them
  for (const CustomerScore& s : result->customers) {
    ASSERT_EQ(s.p_alive.has_value(), bg.state == FitState::kOk);
    ASSERT_GE(s.churn_risk, 0);
    ASSERT_LE(s.churn_risk, 1);
    ASSERT_TRUE(std::isfinite(s.expected_purchase_days));
  }

  const Holdout actual = ActualHoldout(data, *result, as_of, horizon);
  const Figures plain = MeasureExpected(actual, *result, false);
  const Figures corrected = MeasureExpected(actual, *result, true);
  std::printf("holdout %d days from 2011-06-09, %zu customers:\n", horizon,
              result->customers.size());
  Print("plain BG/NBD", plain);
  Print("BG/NBD + inner correction", corrected);

  // Plain BG/NBD as the issue measured it.
  EXPECT_NEAR(plain.mae, 1.51, 0.01);
  EXPECT_NEAR(plain.rmse, 2.54, 0.01);
  EXPECT_EQ(plain.actual_total, 6866);
  // The correction helps on every count it changes (churn_risk is BG/NBD's in both) ...
  EXPECT_LT(corrected.mae, plain.mae - 0.03);
  EXPECT_LT(corrected.rmse, 2.40);
  EXPECT_LT(std::abs(corrected.predicted_total - corrected.actual_total),
            std::abs(plain.predicted_total - plain.actual_total));
  EXPECT_LT(std::abs(corrected.predicted_revenue - corrected.actual_revenue),
            std::abs(plain.predicted_revenue - plain.actual_revenue));
  EXPECT_GT(plain.auc, 0.70);
  // ... but does not reach the MAE < 1.45 (1.457 measured) nor a churn AUC of 0.75
  // (0.726): not asserted, reported in hub/predictions/README.md.
}

}  // namespace
}  // namespace cjd::hub::predictions

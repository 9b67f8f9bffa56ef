#include "hub/predictions/backtest.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <string>

namespace cjd::hub::predictions {
namespace {

constexpr int kFeatures = 3;  // intercept, left-censored, log(1 + recent purchase days)
using Row = std::array<double, kFeatures>;
constexpr int32_t kLeftCensoredDays = 30;
constexpr int32_t kRecentDays = 90;
constexpr int32_t kMinInnerHorizon = 7;
constexpr int kMinInnerCustomers = 100;
constexpr double kMinInnerPurchaseDays = 10;

// E[Y(t)] of BG/NBD, or where its hypergeometric series fails (parameters at the edge of the
// space, e.g. a and b both run to infinity when p has no heterogeneity left) the limit with p
// fixed at its posterior mean pm = a / (a + b + x) given alive:
// P(alive) (1 - ((alpha + T) / (alpha + T + pm t))^(r + x)) / pm, which is (r + x) t / (alpha + T)
// (the NBD model) at pm = 0.
double ExpectedPurchaseDays(const BgNbdParams& p, double t, double x, double t_x, double T) {
  const double e = ExpectedPurchases(p, t, x, t_x, T);
  if (std::isfinite(e)) return e;
  const double pm = p.a / (p.a + p.b + x);
  const double u = t / (p.alpha + T);
  const double alive = ProbabilityAlive(p, x, t_x, T);
  if (!(pm > 1e-300)) return alive * (p.r + x) * u;
  return alive * -std::expm1(-(p.r + x) * std::log1p(pm * u)) / pm;
}

// The plain models fitted before as_of, and every customer's plain figures for `horizon`.
struct Plain {
  std::vector<CustomerSummary> summaries;
  int32_t data_start = 0;  // the earliest first purchase day
  BgNbdFit bg_nbd;
  std::optional<GammaGammaFit> gamma_gamma;
  std::vector<double> expected, churn;
};

Result<Plain> FitPlain(const std::vector<CustomerHistory>& customers, int32_t as_of,
                       double horizon) {
  Result<std::vector<CustomerSummary>> summaries = Summarise(customers, as_of);
  if (!summaries.ok()) return summaries.status();
  if (summaries->empty()) return Status::Invalid("no customer has a purchase day before as_of");
  Plain out;
  out.summaries = std::move(*summaries);
  out.data_start = out.summaries.front().first_day;
  std::vector<RfmInput> rfm;
  std::vector<SpendInput> spend;
  for (const CustomerSummary& s : out.summaries) {
    out.data_start = std::min(out.data_start, s.first_day);
    rfm.push_back({s.x, s.t_x, s.T, 1.0});
    if (s.x > 0) spend.push_back({s.x, s.zbar_cents, 1.0});
  }
  Result<BgNbdFit> bg = FitBgNbd(GroupRfm(rfm));
  if (!bg.ok()) return bg.status();
  out.bg_nbd = std::move(*bg);
  if (!spend.empty()) {
    Result<GammaGammaFit> gg = FitGammaGamma(GroupSpend(spend));
    if (!gg.ok()) return gg.status();
    out.gamma_gamma = std::move(*gg);
  }
  const BgNbdParams& p = out.bg_nbd.params;
  const bool ok = out.bg_nbd.state == FitState::kOk;
  for (const CustomerSummary& s : out.summaries) {
    out.expected.push_back(ExpectedPurchaseDays(p, horizon, s.x, s.t_x, s.T));
    out.churn.push_back(
        ok ? ProbabilityNoPurchase(p, horizon, s.x, s.t_x, s.T)
           : std::exp((p.r + s.x) * (std::log(p.alpha + s.T) - std::log(p.alpha + s.T + horizon))));
  }
  return out;
}

Row RawFeatures(const CustomerSummary& s, int32_t data_start) {
  return {1.0, s.first_day - data_start < kLeftCensoredDays ? 1.0 : 0.0,
          std::log1p(static_cast<double>(s.recent_purchase_days))};
}

Row Standardised(Row f, const Correction& c) {
  for (int j = 1; j < kFeatures; ++j) f[j] = (f[j] - c.mean[j]) / c.sd[j];
  return f;
}

double Dot(const double* b, const Row& f) {
  double s = 0;
  for (int j = 0; j < kFeatures; ++j) s += b[j] * f[j];
  return s;
}

// Solves A z = g (A symmetric positive definite) by Gaussian elimination with partial pivoting.
Row Solve(std::array<Row, kFeatures> A, Row g) {
  for (int k = 0; k < kFeatures; ++k) {
    int pivot = k;
    for (int i = k + 1; i < kFeatures; ++i) {
      if (std::abs(A[i][k]) > std::abs(A[pivot][k])) pivot = i;
    }
    std::swap(A[k], A[pivot]);
    std::swap(g[k], g[pivot]);
    for (int i = k + 1; i < kFeatures; ++i) {
      const double f = A[i][k] / A[k][k];
      for (int j = k; j < kFeatures; ++j) A[i][j] -= f * A[k][j];
      g[i] -= f * g[k];
    }
  }
  Row z{};
  for (int k = kFeatures - 1; k >= 0; --k) {
    double sum = g[k];
    for (int j = k + 1; j < kFeatures; ++j) sum -= A[k][j] * z[j];
    z[k] = sum / A[k][k];
  }
  return z;
}

// Maximum-likelihood Poisson regression y ~ Poisson(exp(offset + b.f)) by Newton's method, with
// a small ridge (1e-4 per row, intercept excluded) so that a constant feature stays harmless.
void FitPoisson(const std::vector<Row>& f, const std::vector<double>& y,
                const std::vector<double>& offset, double* b) {
  const double ridge = 1e-4 * static_cast<double>(f.size());
  for (int iteration = 0; iteration < 100; ++iteration) {
    std::array<Row, kFeatures> H{};
    Row g{};
    for (std::size_t i = 0; i < f.size(); ++i) {
      const double mu = std::exp(std::min(offset[i] + Dot(b, f[i]), 50.0));
      for (int j = 0; j < kFeatures; ++j) {
        g[j] += (y[i] - mu) * f[i][j];
        for (int l = 0; l < kFeatures; ++l) H[j][l] += mu * f[i][j] * f[i][l];
      }
    }
    for (int j = 1; j < kFeatures; ++j) H[j][j] += ridge, g[j] -= ridge * b[j];
    const Row step = Solve(H, g);
    double size = 0;
    for (int j = 0; j < kFeatures; ++j) b[j] += step[j], size = std::max(size, std::abs(step[j]));
    if (!(size >= 1e-10)) break;  // converged, or not finite
  }
}

// The correction, trained on the inner split of the history before the outer as_of; nullopt
// when the split is too small (see BacktestResult::correction).
std::optional<Correction> TrainCorrection(const std::vector<CustomerHistory>& customers,
                                          const Plain& outer, const BacktestOptions& options) {
  const int32_t h = std::min(options.horizon_days, (options.as_of_day - outer.data_start) / 2);
  if (h < kMinInnerHorizon) return std::nullopt;
  Correction c;
  c.inner_as_of_day = options.as_of_day - h;
  c.inner_horizon_days = h;
  Result<Plain> inner = FitPlain(customers, c.inner_as_of_day, h);
  if (!inner.ok()) return std::nullopt;
  // Both summary lists keep the input order and the inner customers are a subset of the outer
  // ones (a subsequence), so one pass pairs them. Purchase days in [inner_as_of, as_of) are the
  // difference.
  std::vector<Row> f;
  std::vector<double> y, offset;
  std::size_t k = 0;
  for (std::size_t i = 0; i < inner->summaries.size(); ++i) {
    const CustomerSummary& s = inner->summaries[i];
    while (outer.summaries[k].customer_id != s.customer_id) ++k;
    const double later = outer.summaries[k++].x - s.x;
    f.push_back(RawFeatures(s, inner->data_start));
    y.push_back(later);
    offset.push_back(std::log(std::max(inner->expected[i], 1e-9)));
    c.inner_predicted += inner->expected[i];
    c.inner_actual += later;
  }
  c.inner_customers = static_cast<int>(f.size());
  if (c.inner_customers < kMinInnerCustomers || c.inner_actual < kMinInnerPurchaseDays ||
      !std::isfinite(c.inner_predicted)) {
    return std::nullopt;
  }
  const double n = static_cast<double>(f.size());
  for (int j = 1; j < kFeatures; ++j) {
    double m = 0, v = 0;
    for (const Row& r : f) m += r[j] / n;
    for (const Row& r : f) v += (r[j] - m) * (r[j] - m) / n;
    c.mean[j] = m, c.sd[j] = v > 0 ? std::sqrt(v) : 1;
  }
  for (Row& r : f) r = Standardised(r, c);
  FitPoisson(f, y, offset, c.b);
  for (double b : c.b) {
    if (!std::isfinite(b)) return std::nullopt;
  }
  return c;
}

}  // namespace

Result<std::vector<CustomerSummary>> Summarise(const std::vector<CustomerHistory>& customers,
                                               int32_t as_of_day) {
  std::vector<CustomerSummary> out;
  std::vector<PurchaseDay> days;
  for (std::size_t i = 0; i < customers.size(); ++i) {
    days.clear();
    for (std::size_t j = 0; j < customers[i].days.size(); ++j) {
      const PurchaseDay& d = customers[i].days[j];
      if (d.value_cents <= 0) {
        return Status::Invalid("must be > 0", "[" + std::to_string(i) + "].days[" +
                                                  std::to_string(j) + "].value_cents");
      }
      if (d.day < as_of_day) days.push_back(d);
    }
    if (days.empty()) continue;
    std::sort(days.begin(), days.end(),
              [](const PurchaseDay& l, const PurchaseDay& r) { return l.day < r.day; });
    std::size_t n = 0;  // entries of the same day merged
    for (const PurchaseDay& d : days) {
      if (n > 0 && days[n - 1].day == d.day) {
        days[n - 1].value_cents += d.value_cents;
      } else {
        days[n++] = d;
      }
    }
    days.resize(n);
    CustomerSummary s;
    s.customer_id = customers[i].customer_id;
    s.first_day = days.front().day;
    s.last_day = days.back().day;
    s.x = static_cast<double>(n - 1);
    s.t_x = static_cast<double>(s.last_day - s.first_day);
    s.T = static_cast<double>(as_of_day - s.first_day);
    int64_t repeat = 0;
    for (std::size_t j = 0; j < n; ++j) {
      s.value_cents += days[j].value_cents;
      if (j > 0) repeat += days[j].value_cents;
      if (days[j].day >= as_of_day - kRecentDays) ++s.recent_purchase_days;
    }
    if (n > 1) s.zbar_cents = static_cast<double>(repeat) / static_cast<double>(n - 1);
    out.push_back(s);
  }
  return out;
}

double ProbabilityNoPurchase(const BgNbdParams& p, double t, double x, double t_x, double T) {
  const double alive = ProbabilityAlive(p, x, t_x, T);
  const double none_if_alive =
      std::exp((p.r + x) * (std::log(p.alpha + T) - std::log(p.alpha + T + t)));
  return 1 - alive + alive * none_if_alive;
}

Result<BacktestResult> RunBacktest(const std::vector<CustomerHistory>& customers,
                                   const BacktestOptions& options) {
  if (options.horizon_days <= 0) return Status::Invalid("must be > 0", "horizon_days");
  Result<Plain> plain = FitPlain(customers, options.as_of_day, options.horizon_days);
  if (!plain.ok()) return plain.status();
  BacktestResult out;
  out.bg_nbd = plain->bg_nbd;
  out.gamma_gamma = plain->gamma_gamma;
  if (options.correct) out.correction = TrainCorrection(customers, *plain, options);

  for (std::size_t i = 0; i < plain->summaries.size(); ++i) {
    const CustomerSummary& s = plain->summaries[i];
    CustomerScore c;
    c.customer_id = s.customer_id;
    c.purchase_days = static_cast<int>(s.x) + 1;
    c.recency_days = s.t_x;
    c.age_days = s.T;
    c.bg_nbd_expected_purchase_days = plain->expected[i];
    c.expected_purchase_days = plain->expected[i];
    if (out.correction) {
      const Row f = Standardised(RawFeatures(s, plain->data_start), *out.correction);
      c.expected_purchase_days *= std::exp(Dot(out.correction->b, f));
    }
    c.p_alive = ProbabilityAlive(out.bg_nbd, s.x, s.t_x, s.T);
    c.churn_risk = plain->churn[i];
    if (out.gamma_gamma) {
      const std::optional<double> spend_per_day =
          ExpectedAverageSpend(*out.gamma_gamma, s.x, s.x > 0 ? s.zbar_cents : 1.0);
      if (spend_per_day) c.predicted_clv_cents = c.expected_purchase_days * *spend_per_day;
    }
    out.customers.push_back(c);
  }
  return out;
}

}  // namespace cjd::hub::predictions

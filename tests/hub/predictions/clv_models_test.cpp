#include "hub/predictions/clv_models.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/binaries.h"
#include "tests/support/datasets.h"

namespace cjd::hub::predictions {
namespace {

// ---- data ----------------------------------------------------------------------------------

struct CdnowCustomer {
  double x, t_x, T, zbar;
};

// The 2,357 customers of ../shared/datasets/cdnow; empty with the reason in *why_not when the
// file is absent or not as expected.
std::vector<CdnowCustomer> CdnowCustomers(std::string* why_not) {
  const std::string dir = cjd::testing::DatasetDir("cdnow");
  if (dir.empty()) {
    *why_not =
        "the CDNOW data set is not there (expected ../shared/datasets/cdnow beside the "
        "repository); skipping";
    return {};
  }
  const std::string path = dir + "/cdnow_customers_summary_with_transactions.csv";
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line) || line.rfind("ID,x,t_x,T,zbar", 0) != 0) {
    *why_not = "cannot read " + path + " (or its header is not ID,x,t_x,T,zbar); skipping";
    return {};
  }
  std::vector<CdnowCustomer> out;
  while (std::getline(in, line)) {
    if (line.empty() || line == "\r") continue;
    std::istringstream fields(line);
    CdnowCustomer c{};
    double id = 0;
    char comma = 0;
    if (!(fields >> id >> comma >> c.x >> comma >> c.t_x >> comma >> c.T >> comma >> c.zbar)) {
      *why_not = "cannot parse \"" + line + "\" in " + path + "; skipping";
      return {};
    }
    out.push_back(c);
  }
  if (out.size() != 2357) {
    *why_not = path + " holds " + std::to_string(out.size()) + " customers, not 2,357; skipping";
    return {};
  }
  return out;
}

// Customers drawn from a BG/NBD population, ages 1..52 whole weeks, recency rounded to a whole
// week (as a weekly summary would have it), so that many customers share their figures.
std::vector<RfmInput> SimulatedCustomers(const BgNbdParams& truth, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::gamma_distribution<double> lambda_dist(truth.r, 1.0 / truth.alpha);
  std::gamma_distribution<double> ga(truth.a, 1.0), gb(truth.b, 1.0);
  std::uniform_int_distribution<int> age(1, 52);
  std::uniform_real_distribution<double> u01(0.0, 1.0);
  std::vector<RfmInput> out;
  out.reserve(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) {
    const double lambda = lambda_dist(rng);
    const double ya = ga(rng), yb = gb(rng);
    const double p = ya / (ya + yb);
    const double T = age(rng);
    std::exponential_distribution<double> gap(lambda);
    double t = 0, x = 0, t_x = 0;
    while (true) {
      t += gap(rng);
      if (t > T) break;
      x += 1, t_x = t;
      if (u01(rng) < p) break;  // drops out after this purchase
    }
    out.push_back({x, std::min(T, std::round(t_x)), T, 1.0});
  }
  return out;
}

double RelativeError(double got, double want) { return std::abs(got - want) / std::abs(want); }

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// ---- independent references -----------------------------------------------------------------

// E[Y(t) | x, t_x, T] without any hypergeometric function: given alive at T, lambda ~
// Gamma(r + x, alpha + T) and p ~ Beta(a, b + x) independently, E[Y(t) | lambda, p] =
// (1 - exp(-lambda p t)) / p, and the expectation over lambda is closed, leaving
//   P(alive) * E_p[(1 - ((alpha + T) / (alpha + T + p t))^(r + x)) / p],
// integrated here by Simpson's rule, for a < 1.5 after p = u^(1/a) (which absorbs p^(a - 1)).
double ExpectedPurchasesByIntegration(const BgNbdParams& m, double t, double x, double t_x,
                                      double T) {
  const double k = m.r + x, log_at = std::log(m.alpha + T);
  const bool substitute = m.a < 1.5;  // where p^(a - 1) is singular or nearly so at 0
  auto g = [&](double u) {
    const double p = substitute ? std::pow(u, 1.0 / m.a) : u;
    const double inner = p == 0 ? k * t / (m.alpha + T)
                                : -std::expm1(k * (log_at - std::log(m.alpha + T + p * t))) / p;
    const double density = substitute ? 1 / m.a : std::pow(p, m.a - 1);
    return inner * std::pow(1 - p, m.b + x - 1) * density;
  };
  constexpr int kIntervals = 400'000;
  const double h = 1.0 / kIntervals;
  double sum = g(0) + g(1);
  for (int i = 1; i < kIntervals; ++i) sum += (i % 2 == 1 ? 4 : 2) * g(i * h);
  const double beta =
      std::exp(std::lgamma(m.a) + std::lgamma(m.b + x) - std::lgamma(m.a + m.b + x));
  const double alive =
      x > 0 ? 1 / (1 + m.a / (m.b + x - 1) * std::pow((m.alpha + T) / (m.alpha + t_x), m.r + x))
            : 1.0;
  return alive * sum * h / 3 / beta;
}

// ---- CDNOW -----------------------------------------------------------------------------------

TEST(BgNbdCdnow, ReproducesThePublishedParameters) {
  std::string why_not;
  const std::vector<CdnowCustomer> cdnow = CdnowCustomers(&why_not);
  if (cdnow.empty()) CJD_SKIP_WITHOUT_DATA(why_not);
  std::vector<RfmInput> customers;
  for (const CdnowCustomer& c : cdnow) customers.push_back({c.x, c.t_x, c.T, 1.0});

  const auto start = std::chrono::steady_clock::now();
  const Result<BgNbdFit> fit = FitBgNbd(customers);
  const double seconds = Seconds(start);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  const BgNbdParams& p = fit->params;
  std::printf(
      "CDNOW BG/NBD (2,357 customers): r %.9g alpha %.9g a %.9g b %.9g LL %.9g "
      "(%d iterations, %.3f s)\n",
      p.r, p.alpha, p.a, p.b, fit->log_likelihood, fit->iterations, seconds);
  EXPECT_EQ(fit->state, FitState::kOk) << fit->degenerate_reason;
  EXPECT_TRUE(fit->converged);
  EXPECT_LT(RelativeError(p.r, 0.242593), 5e-3);
  EXPECT_LT(RelativeError(p.alpha, 4.413532), 5e-3);
  EXPECT_LT(RelativeError(p.a, 0.792886), 5e-3);
  EXPECT_LT(RelativeError(p.b, 2.425752), 5e-3);

  // The reported log-likelihood is the sum of the per-customer ones, and it is a maximum.
  double ll = 0;
  for (const RfmInput& c : customers) ll += BgNbdLogLikelihood(p, c);
  EXPECT_NEAR(fit->log_likelihood, ll, 1e-9 * std::abs(ll));
  for (double factor : {0.999, 1.001}) {
    for (int k = 0; k < 4; ++k) {
      BgNbdParams q = p;
      double* field[] = {&q.r, &q.alpha, &q.a, &q.b};
      *field[k] *= factor;
      double moved = 0;
      for (const RfmInput& c : customers) moved += BgNbdLogLikelihood(q, c);
      EXPECT_LT(moved, fit->log_likelihood) << "parameter " << k << " times " << factor;
    }
  }
}

TEST(GammaGammaCdnow, ReproducesThePublishedParameters) {
  std::string why_not;
  const std::vector<CdnowCustomer> cdnow = CdnowCustomers(&why_not);
  if (cdnow.empty()) CJD_SKIP_WITHOUT_DATA(why_not);
  std::vector<SpendInput> returning;
  for (const CdnowCustomer& c : cdnow) {
    if (c.x > 0) returning.push_back({c.x, c.zbar, 1.0});
  }
  ASSERT_EQ(returning.size(), 946u);

  const auto start = std::chrono::steady_clock::now();
  const Result<GammaGammaFit> fit = FitGammaGamma(returning);
  const double seconds = Seconds(start);
  ASSERT_TRUE(fit.ok()) << fit.status().ToString();
  const GammaGammaParams& p = fit->params;
  std::printf(
      "CDNOW Gamma-Gamma (946 customers): p %.9g q %.9g v %.9g LL %.9g "
      "(%d iterations, %.3f s)\n",
      p.p, p.q, p.v, fit->log_likelihood, fit->iterations, seconds);
  EXPECT_EQ(fit->state, FitState::kOk) << fit->degenerate_reason;
  EXPECT_LT(RelativeError(p.p, 6.25), 5e-3);
  EXPECT_LT(RelativeError(p.q, 3.74), 5e-3);
  EXPECT_LT(RelativeError(p.v, 15.45), 5e-3);

  // A maximum: moving any parameter by 0.1% lowers the log-likelihood.
  for (double factor : {0.999, 1.001}) {
    for (int k = 0; k < 3; ++k) {
      GammaGammaParams moved = p;
      double* field[] = {&moved.p, &moved.q, &moved.v};
      *field[k] *= factor;
      double ll = 0;
      for (const SpendInput& c : returning) ll += GammaGammaLogLikelihood(moved, c);
      EXPECT_LT(ll, fit->log_likelihood) << "parameter " << k << " times " << factor;
    }
  }

  // Customer 1 (x 2, zbar 22.35): the formula written out by hand.
  const double px = p.p * 2, d = px + p.q - 1;
  const double want = (p.q - 1) / d * (p.v * p.p / (p.q - 1)) + px / d * 22.35;
  ASSERT_TRUE(ExpectedAverageSpend(*fit, 2, 22.35).has_value());
  EXPECT_NEAR(*ExpectedAverageSpend(*fit, 2, 22.35), want, 1e-12 * want);
}

// ---- per-customer functions ------------------------------------------------------------------

const BgNbdParams kCdnowPublished{0.242593, 4.413532, 0.792886, 2.425752};

TEST(ExpectedPurchases, MatchesTheClosedFormWhenRIsAPlusBMinusOne) {
  // x = 0 and r = a + b - 1 make 2F1(r, b; r; z) = (1 - z)^(-b), so
  // E[Y(t)] = (a + b - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t))^(a - 1)).
  const BgNbdParams m{2.5, 3.0, 1.5, 2.0};
  for (double t : {0.5, 1.0, 10.0, 100.0, 1000.0}) {
    const double want = 5.0 * (1 - std::sqrt(8.0 / (8.0 + t)));
    EXPECT_NEAR(ExpectedPurchases(m, t, 0, 0, 5.0), want, 1e-12 * want) << "t " << t;
  }
  EXPECT_EQ(ExpectedPurchases(m, 0, 0, 0, 5.0), 0.0);
  EXPECT_TRUE(std::isnan(ExpectedPurchases(m, -1, 0, 0, 5.0)));
}

TEST(ExpectedPurchases, MatchesANumericalIntegrationOverThePosterior) {
  struct Case {
    BgNbdParams m;
    double t, x, t_x, T;
  };
  const Case cases[] = {
      {kCdnowPublished, 39, 2, 30.43, 38.86},  // CDNOW customer 1, the next 39 weeks
      {kCdnowPublished, 1, 2, 30.43, 38.86},
      {kCdnowPublished, 10, 0, 0, 38.86},
      {kCdnowPublished, 52, 10, 35.0, 38.86},
      {kCdnowPublished, 500, 1, 1.71, 38.86},
      {{1.5, 10.0, 2.5, 4.0}, 100, 5, 20.0, 30.0},
      {{0.5, 5.0, 1.0, 3.0}, 20, 3, 10.0, 30.0},  // a = 1: the interpolated limit
      {{0.5, 5.0, 1.00005, 3.0}, 20, 3, 10.0, 30.0},
  };
  for (const Case& c : cases) {
    const double got = ExpectedPurchases(c.m, c.t, c.x, c.t_x, c.T);
    const double want = ExpectedPurchasesByIntegration(c.m, c.t, c.x, c.t_x, c.T);
    std::printf("E[Y(%g) | x %g, t_x %g, T %g] = %.12g (integration %.12g)\n", c.t, c.x, c.t_x, c.T,
                got, want);
    EXPECT_NEAR(got, want, 1e-7 * want) << "t " << c.t << " x " << c.x << " a " << c.m.a;
  }
}

TEST(ProbabilityAlive, FollowsTheFormula) {
  const BgNbdParams& m = kCdnowPublished;
  EXPECT_EQ(ProbabilityAlive(m, 0, 0, 38.86), 1.0);
  const double want = 1 / (1 + 0.792886 / (2.425752 + 2 - 1) *
                                   std::pow((4.413532 + 38.86) / (4.413532 + 30.43), 0.242593 + 2));
  EXPECT_NEAR(ProbabilityAlive(m, 2, 30.43, 38.86), want, 1e-14);
  EXPECT_NEAR(ProbabilityAlive(m, 5, 38.86, 38.86), 1 / (1 + 0.792886 / (2.425752 + 4)), 1e-14);
  // A frequent buyer silent for a long time is almost surely gone; the result stays in [0, 1].
  const double gone = ProbabilityAlive(m, 400, 1.0, 1000.0);
  EXPECT_GE(gone, 0.0);
  EXPECT_LT(gone, 1e-100);
}

// ---- fit behaviour ---------------------------------------------------------------------------

TEST(BgNbdFit, WeightedGroupsFitLikeTheUngroupedCustomers) {
  const std::vector<RfmInput> customers = SimulatedCustomers({0.5, 8.0, 0.7, 3.0}, 3000, 7);
  const std::vector<RfmInput> groups = GroupRfm(customers);
  ASSERT_LT(groups.size(), customers.size() / 2);
  double weight = 0;
  for (const RfmInput& g : groups) weight += g.weight;
  EXPECT_EQ(weight, 3000.0);

  const Result<BgNbdFit> plain = FitBgNbd(customers);
  const Result<BgNbdFit> grouped = FitBgNbd(groups);
  ASSERT_TRUE(plain.ok() && grouped.ok());
  EXPECT_EQ(grouped->state, FitState::kOk) << grouped->degenerate_reason;
  EXPECT_NEAR(grouped->log_likelihood, plain->log_likelihood,
              1e-9 * std::abs(plain->log_likelihood));
  EXPECT_LT(RelativeError(grouped->params.r, plain->params.r), 1e-5);
  EXPECT_LT(RelativeError(grouped->params.alpha, plain->params.alpha), 1e-5);
  EXPECT_LT(RelativeError(grouped->params.a, plain->params.a), 1e-5);
  EXPECT_LT(RelativeError(grouped->params.b, plain->params.b), 1e-5);
}

TEST(BgNbdFit, IsDegenerateWhenNobodyDropsOut) {
  // Every customer buys at her own regular interval right up to the end of the observation.
  std::mt19937_64 rng(11);
  std::gamma_distribution<double> rate(2.0, 0.25);
  std::vector<RfmInput> customers;
  for (int i = 0; i < 2000; ++i) {
    const double T = 40, gap = 1 / rate(rng);
    const double x = std::floor(T / gap);
    customers.push_back({x, x * gap, T, 1.0});
  }
  const Result<BgNbdFit> fit = FitBgNbd(GroupRfm(customers));
  ASSERT_TRUE(fit.ok());
  std::printf("no dropout: r %g alpha %g a %g b %g, %d iterations (%s: %s)\n", fit->params.r,
              fit->params.alpha, fit->params.a, fit->params.b, fit->iterations,
              FitStateName(fit->state), fit->degenerate_reason.c_str());
  EXPECT_EQ(fit->state, FitState::kDegenerate);
  EXPECT_FALSE(fit->degenerate_reason.empty());
  EXPECT_FALSE(ProbabilityAlive(*fit, 3, 20, 40).has_value());
}

TEST(GammaGammaFit, IsDegenerateWhenEveryoneSpendsTheSame) {
  std::vector<SpendInput> customers;
  for (int i = 0; i < 500; ++i) customers.push_back({1.0 + i % 7, 20.0, 1.0});
  const Result<GammaGammaFit> fit = FitGammaGamma(GroupSpend(customers));
  ASSERT_TRUE(fit.ok());
  std::printf("one spend: p %g q %g v %g (%s: %s)\n", fit->params.p, fit->params.q, fit->params.v,
              FitStateName(fit->state), fit->degenerate_reason.c_str());
  EXPECT_EQ(fit->state, FitState::kDegenerate);
  EXPECT_FALSE(ExpectedAverageSpend(*fit, 2, 20).has_value());
}

TEST(Fits, RejectInvalidInputNamingTheField) {
  const Result<BgNbdFit> late = FitBgNbd({{1, 2, 3, 1}, {2, 5, 4, 1}});
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().field(), "[1].t_x");
  EXPECT_EQ(FitBgNbd({{1.5, 2, 3, 1}}).status().field(), "[0].x");
  EXPECT_EQ(FitBgNbd({{1, 0, 3, 0}}).status().field(), "[0].weight");
  EXPECT_FALSE(FitBgNbd({}).ok());
  EXPECT_EQ(FitGammaGamma({{2, 10, 1}, {0, 10, 1}}).status().field(), "[1].x");
  EXPECT_EQ(FitGammaGamma({{2, -1, 1}}).status().field(), "[0].zbar");
  EXPECT_EQ(FitGammaGamma({{2, std::nan(""), 1}}).status().field(), "[0].zbar");
}

// Not a timing assertion (STYLE 10): prints how long a million grouped customers take.
TEST(BgNbdFit, FitsAMillionGroupedCustomers) {
  const BgNbdParams truth{0.25, 4.0, 0.8, 2.5};
  auto start = std::chrono::steady_clock::now();
  const std::vector<RfmInput> customers = SimulatedCustomers(truth, 1'000'000, 2024);
  const double simulate = Seconds(start);
  start = std::chrono::steady_clock::now();
  const std::vector<RfmInput> groups = GroupRfm(customers);
  const double group = Seconds(start);
  start = std::chrono::steady_clock::now();
  const Result<BgNbdFit> fit = FitBgNbd(groups);
  const double seconds = Seconds(start);
  ASSERT_TRUE(fit.ok());
  std::printf(
      "1,000,000 customers in %zu groups: simulate %.2f s, group %.2f s, fit %.2f s "
      "(%d iterations); r %g alpha %g a %g b %g (truth 0.25 4 0.8 2.5), %s\n",
      groups.size(), simulate, group, seconds, fit->iterations, fit->params.r, fit->params.alpha,
      fit->params.a, fit->params.b, FitStateName(fit->state));
  EXPECT_EQ(fit->state, FitState::kOk) << fit->degenerate_reason;
  // Loose: recency is rounded to whole weeks, which the model does not know.
  EXPECT_LT(RelativeError(fit->params.r, truth.r), 0.1);
  EXPECT_LT(RelativeError(fit->params.a, truth.a), 0.1);
  EXPECT_LT(RelativeError(fit->params.b, truth.b), 0.1);
}

// Inputs of more than 20,000 rows take the fast path (starts on a subsample, polish on every
// row, the likelihood summed by distinct values and products of logs; README "Optimiser"). Its
// optimum must be the exact likelihood's: the reported log-likelihood is the plain per-row sum,
// and no nudge of any parameter improves that sum.
TEST(Fits, TheLargeInputPathFindsTheExactLikelihoodsOptimum) {
  // Day-level data (T up to 730 days, recency in days, weights 1 and 2): > 20,000 distinct rows.
  std::vector<RfmInput> customers = SimulatedCustomers({0.6, 40.0, 0.8, 2.4}, 200'000, 99);
  std::mt19937_64 rng(5);
  for (RfmInput& c : customers) {
    c.T = c.T * 14 + static_cast<double>(rng() % 14);
    c.t_x = std::min(c.T, c.t_x * 14 + static_cast<double>(rng() % 14));
    if (c.x == 0) c.t_x = 0;
    if (rng() % 5 == 0) c.weight = 2;
  }
  const std::vector<RfmInput> rows = GroupRfm(customers);
  ASSERT_GT(rows.size(), 20'000u);
  const Result<BgNbdFit> fit = FitBgNbd(rows);
  ASSERT_TRUE(fit.ok());
  EXPECT_EQ(fit->state, FitState::kOk) << fit->degenerate_reason;
  auto ll = [&](const BgNbdParams& p) {
    double sum = 0;
    for (const RfmInput& c : rows) sum += c.weight * BgNbdLogLikelihood(p, c);
    return sum;
  };
  const double best = ll(fit->params);
  EXPECT_NEAR(fit->log_likelihood, best, 1e-12 * std::abs(best));
  for (int k = 0; k < 4; ++k) {
    for (const double f : {1.001, 0.999}) {
      BgNbdParams q = fit->params;
      double* v[] = {&q.r, &q.alpha, &q.a, &q.b};
      *v[k] *= f;
      EXPECT_LE(ll(q), best + 1e-9 * std::abs(best)) << "parameter " << k << " x " << f;
    }
  }

  // Gamma-Gamma: repeat customers with their own mean spend in cents.
  std::vector<SpendInput> spend;
  std::gamma_distribution<double> nu(3.0, 1.0 / 29'000.0);
  for (int i = 0; i < 40'000; ++i) {
    const double x = 1 + static_cast<double>(rng() % 12);
    std::gamma_distribution<double> value(3.0, 1.0 / nu(rng));
    double total = 0;
    for (int j = 0; j < static_cast<int>(x); ++j) total += std::max(1.0, std::round(value(rng)));
    spend.push_back({x, total / x, rng() % 5 == 0 ? 2.0 : 1.0});
  }
  const std::vector<SpendInput> spend_rows = GroupSpend(spend);
  ASSERT_GT(spend_rows.size(), 20'000u);
  const Result<GammaGammaFit> gg = FitGammaGamma(spend_rows);
  ASSERT_TRUE(gg.ok());
  EXPECT_EQ(gg->state, FitState::kOk) << gg->degenerate_reason;
  auto gll = [&](const GammaGammaParams& p) {
    double sum = 0;
    for (const SpendInput& c : spend_rows) sum += c.weight * GammaGammaLogLikelihood(p, c);
    return sum;
  };
  const double gbest = gll(gg->params);
  EXPECT_NEAR(gg->log_likelihood, gbest, 1e-12 * std::abs(gbest));
  for (int k = 0; k < 3; ++k) {
    for (const double f : {1.001, 0.999}) {
      GammaGammaParams q = gg->params;
      double* v[] = {&q.p, &q.q, &q.v};
      *v[k] *= f;
      EXPECT_LE(gll(q), gbest + 1e-9 * std::abs(gbest)) << "parameter " << k << " x " << f;
    }
  }
  std::printf("large path: BG/NBD %zu rows r %g alpha %g a %g b %g; Gamma-Gamma %zu rows p %g q %g "
              "v %g\n",
              rows.size(), fit->params.r, fit->params.alpha, fit->params.a, fit->params.b,
              spend_rows.size(), gg->params.p, gg->params.q, gg->params.v);
}

// Nobody drops out: the optimum lies at the edge (a -> 0 or b -> infinity). The optimiser stops
// creeping along that ridge, freezes the edge parameters and fits the rest (README "Optimiser"):
// few iterations on either path, the fit degenerate, and r and alpha at the exact likelihood's
// optimum given the edge (no nudge of either improves the plain per-row sum).
TEST(BgNbdFit, StopsAtTheEdgeQuicklyWhenNobodyDropsOut) {
  // Purchase rates lambda ~ Gamma(0.7, 60 days), a Poisson process with no dropout, ages
  // 1..730 days, recency in whole days.
  auto population = [](int n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::gamma_distribution<double> lambda(0.7, 1.0 / 60.0);
    std::uniform_int_distribution<int> age(1, 730);
    std::vector<RfmInput> out;
    for (int i = 0; i < n; ++i) {
      const double T = age(rng);
      std::exponential_distribution<double> gap(lambda(rng));
      double t = 0, x = 0, t_x = 0;
      while ((t += gap(rng)) <= T) x += 1, t_x = t;
      out.push_back({x, std::min(T, std::round(t_x)), T, 1.0});
    }
    return GroupRfm(out);
  };
  for (const int n : {200'000, 10'000}) {
    const std::vector<RfmInput> rows = population(n, 31);
    if (n > 100'000) {
      ASSERT_GT(rows.size(), 20'000u);  // the large-input path
    } else {
      ASSERT_LT(rows.size(), 20'000u);  // the exact path
    }
    const auto start = std::chrono::steady_clock::now();
    const Result<BgNbdFit> fit = FitBgNbd(rows);
    const double seconds = Seconds(start);
    ASSERT_TRUE(fit.ok());
    std::printf("no dropout, %zu rows: r %g alpha %g a %g b %g, %d iterations, %.2f s (%s: %s)\n",
                rows.size(), fit->params.r, fit->params.alpha, fit->params.a, fit->params.b,
                fit->iterations, seconds, FitStateName(fit->state),
                fit->degenerate_reason.c_str());
    EXPECT_EQ(fit->state, FitState::kDegenerate);
    EXPECT_LT(fit->iterations, 3000);
    auto ll = [&](const BgNbdParams& p) {
      double sum = 0;
      for (const RfmInput& c : rows) sum += c.weight * BgNbdLogLikelihood(p, c);
      return sum;
    };
    const double best = ll(fit->params);
    EXPECT_NEAR(fit->log_likelihood, best, 1e-12 * std::abs(best));
    for (int k = 0; k < 2; ++k) {
      for (const double f : {1.001, 0.999}) {
        BgNbdParams q = fit->params;
        double* v[] = {&q.r, &q.alpha};
        *v[k] *= f;
        EXPECT_LE(ll(q), best) << rows.size() << " rows, parameter " << k << " x " << f;
      }
    }
  }
}

// Every customer buys at the same rate and nobody drops out: the rate's Gamma becomes a point
// mass (r and alpha run to infinity together) and the dropout runs to its edge. The fit stops
// along both ridges quickly instead of creeping (it took 9,109 iterations, 18 s on 217,335 groups,
// before r's edge stopped a run), and the purchase rate r / alpha is the data's.
TEST(BgNbdFit, StopsQuicklyWhenEveryoneBuysAtTheSameRate) {
  std::mt19937_64 rng(17);
  std::exponential_distribution<double> gap(0.01);  // one purchase per 100 days, everyone
  std::uniform_int_distribution<int> age(30, 730);
  std::vector<RfmInput> customers;
  double purchases = 0, exposure = 0;
  for (int i = 0; i < 150'000; ++i) {
    const double T = age(rng);
    double t = 0, x = 0, t_x = 0;
    while ((t += gap(rng)) < T) x += 1, t_x = std::floor(t);
    customers.push_back({x, t_x, T, 1.0});
    purchases += x;
    exposure += T;
  }
  const std::vector<RfmInput> rows = GroupRfm(customers);
  ASSERT_GT(rows.size(), 20'000u);
  const Result<BgNbdFit> fit = FitBgNbd(rows);
  ASSERT_TRUE(fit.ok());
  std::printf("same rate: %zu rows, %d iterations, r %g alpha %g (r/alpha %g; data %g) a %g b %g\n",
              rows.size(), fit->iterations, fit->params.r, fit->params.alpha,
              fit->params.r / fit->params.alpha, purchases / exposure, fit->params.a,
              fit->params.b);
  EXPECT_LT(fit->iterations, 3'000);
  EXPECT_GT(fit->params.r, 100);  // the point mass
  EXPECT_NEAR(fit->params.r / fit->params.alpha, 0.01, 0.0005);
}

}  // namespace
}  // namespace cjd::hub::predictions

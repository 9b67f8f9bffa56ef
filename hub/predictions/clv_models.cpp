#include "hub/predictions/clv_models.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstddef>
#include <limits>
#include <tuple>

namespace cjd::hub::predictions {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// The search box, in log-parameter space: [1e-10, 1e10] for every parameter. A parameter that
// ends within a factor 10 of it ran away, and the fit is degenerate.
const double kLogMin = std::log(1e-10);
const double kLogMax = std::log(1e10);
const double kLogNearBound = std::log(10.0);
// The dropout (BG/NBD a, b) and spend-shape (Gamma-Gamma p, q) parameters of a proper fit.
constexpr double kShapeMin = 1e-4;
constexpr double kShapeMax = 1e4;

// ---------------------------------------------------------------------------------------------
// Nelder–Mead (standard coefficients 1, 2, 1/2, 1/2), deterministic, bounded.

template <std::size_t N>
using Point = std::array<double, N>;

template <std::size_t N>
struct Minimum {
  Point<N> x{};
  double f = kInf;
  int iterations = 0;
  bool converged = false;
};

constexpr int kMaxIterations = 4000;  // per Nelder–Mead run
constexpr int kMaxRestarts = 10;      // fresh simplices around the best point, per start
constexpr double kFTol = 1e-12;       // on the mean negative log-likelihood per customer
constexpr double kXTol = 1e-8;        // on the log-parameters

template <std::size_t N, typename F>
Minimum<N> NelderMead(const F& f, const Point<N>& x0, double step) {
  std::array<Point<N>, N + 1> v{};
  std::array<double, N + 1> fv{};
  for (std::size_t i = 0; i <= N; ++i) {
    v[i] = x0;
    if (i > 0) v[i][i - 1] += step;
    fv[i] = f(v[i]);
  }
  Minimum<N> out;
  for (; out.iterations < kMaxIterations; ++out.iterations) {
    std::array<std::size_t, N + 1> order{};
    for (std::size_t i = 0; i <= N; ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t i, std::size_t j) {
      return fv[i] < fv[j] || (fv[i] == fv[j] && i < j);
    });
    const std::size_t best = order[0], worst = order[N], second = order[N - 1];
    double size = 0;
    for (std::size_t i = 0; i <= N; ++i) {
      for (std::size_t k = 0; k < N; ++k) size = std::max(size, std::abs(v[i][k] - v[best][k]));
    }
    if (fv[worst] - fv[best] <= kFTol && size <= kXTol) {
      out.converged = true;
      break;
    }
    Point<N> c{};
    for (std::size_t i = 0; i <= N; ++i) {
      if (i == worst) continue;
      for (std::size_t k = 0; k < N; ++k) c[k] += v[i][k] / N;
    }
    auto along = [&](double t) {  // c + t (c - worst)
      Point<N> p{};
      for (std::size_t k = 0; k < N; ++k) p[k] = c[k] + t * (c[k] - v[worst][k]);
      return p;
    };
    const Point<N> xr = along(1.0);
    const double fr = f(xr);
    if (fr < fv[best]) {
      const Point<N> xe = along(2.0);
      const double fe = f(xe);
      if (fe < fr) {
        v[worst] = xe, fv[worst] = fe;
      } else {
        v[worst] = xr, fv[worst] = fr;
      }
      continue;
    }
    if (fr < fv[second]) {
      v[worst] = xr, fv[worst] = fr;
      continue;
    }
    const bool outside = fr < fv[worst];
    const Point<N> xc = along(outside ? 0.5 : -0.5);
    const double fc = f(xc);
    if (outside ? fc <= fr : fc < fv[worst]) {
      v[worst] = xc, fv[worst] = fc;
      continue;
    }
    for (std::size_t i = 0; i <= N; ++i) {  // shrink towards the best vertex
      if (i == best) continue;
      for (std::size_t k = 0; k < N; ++k) v[i][k] = v[best][k] + 0.5 * (v[i][k] - v[best][k]);
      fv[i] = f(v[i]);
    }
  }
  const std::size_t best =
      static_cast<std::size_t>(std::min_element(fv.begin(), fv.end()) - fv.begin());
  out.x = v[best];
  out.f = fv[best];
  return out;
}

// Nelder–Mead from every start, each restarted around its result until that stops improving
// or `degenerate` holds there (refining a point at the edge of the space only creeps along a
// flat ridge); the best result wins (the first on a tie). `iterations` counts every run.
template <std::size_t N, typename F, typename D>
Minimum<N> MultiStart(const F& f, const std::vector<Point<N>>& starts, const D& degenerate) {
  Minimum<N> best;
  int iterations = 0;
  for (const Point<N>& start : starts) {
    Minimum<N> m = NelderMead<N>(f, start, 0.5);
    iterations += m.iterations;
    for (int restart = 0; restart < kMaxRestarts && !degenerate(m.x); ++restart) {
      Minimum<N> again = NelderMead<N>(f, m.x, 0.1);
      iterations += again.iterations;
      const bool improved = again.f < m.f - kFTol;
      if (again.f <= m.f) m = again;
      if (!improved) break;
    }
    if (m.f < best.f) best = m;
  }
  best.iterations = iterations;
  return best;
}

template <std::size_t N>
Point<N> Exp(Point<N> theta) {
  for (double& t : theta) t = std::exp(std::clamp(t, kLogMin, kLogMax));
  return theta;
}

// Empty when every log-parameter stays clear of the search box.
template <std::size_t N>
std::string AtBox(const Point<N>& theta, const std::array<const char*, N>& names) {
  for (std::size_t k = 0; k < N; ++k) {
    if (theta[k] < kLogMin + kLogNearBound || theta[k] > kLogMax - kLogNearBound) {
      return std::string(names[k]) + " ran to the bound of the search space";
    }
  }
  return {};
}

std::string OutsideShape(const char* name, double value) {
  if (value >= kShapeMin && value <= kShapeMax) return {};
  return std::string(name) + " = " + std::to_string(value) + " is outside [1e-4, 1e4]";
}

double LogAddExp(double u, double w) {
  if (u == -kInf) return w;
  if (w == -kInf) return u;
  const double m = std::max(u, w);
  return m + std::log1p(std::exp(-std::abs(u - w)));
}

// 2F1(a, b; c; z) by its power series, 0 <= z < 1. NaN when the tail bound has not fallen below
// 1e-16 of the sum within kMaxTerms terms (z too close to 1) or the sum is not finite.
constexpr int kMaxTerms = 1'000'000;
double Hyp2F1(double a, double b, double c, double z) {
  double term = 1, sum = 1;
  for (int n = 0; n < kMaxTerms; ++n) {
    term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
    sum += term;
    if (!std::isfinite(sum)) return kNaN;
    if (term == 0) return sum;  // a terminating series
    const double next = std::abs((a + n + 1) * (b + n + 1) / ((c + n + 1) * (n + 2.0)) * z);
    const double ratio = std::max(next, z);
    if (ratio < 1 && std::abs(term) * ratio / (1 - ratio) <= 1e-16 * std::abs(sum)) return sum;
  }
  return kNaN;
}

double ExpectedPurchasesAwayFromAOne(const BgNbdParams& p, double t, double x, double t_x,
                                     double T) {
  const double c = p.a + p.b + x - 1;
  const double z = t / (p.alpha + T + t);
  // Euler's transformation of 2F1(r + x, b + x; c; z) keeps the series' parameters small:
  // (1 - z)^(r + x) 2F1(r + x, b + x; c; z) = (1 - z)^(a - 1) 2F1(a + b - 1 - r, a - 1; c; z).
  const double f = Hyp2F1(p.a + p.b - 1 - p.r, p.a - 1, c, z);
  if (!(f > 0)) return kNaN;
  const double log_rest =
      (p.a - 1) * (std::log(p.alpha + T) - std::log(p.alpha + T + t)) + std::log(f);
  return c / (p.a - 1) * -std::expm1(log_rest) * ProbabilityAlive(p, x, t_x, T);
}

Status CheckFinite(double value, std::size_t i, const char* field) {
  if (std::isfinite(value)) return Status::Ok();
  return Status::Invalid("must be a finite number", "[" + std::to_string(i) + "]." + field);
}

Status CheckRfm(const std::vector<RfmInput>& rows) {
  if (rows.empty()) return Status::Invalid("no customers to fit");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const RfmInput& c = rows[i];
    CJD_RETURN_IF_ERROR(CheckFinite(c.x, i, "x"));
    CJD_RETURN_IF_ERROR(CheckFinite(c.t_x, i, "t_x"));
    CJD_RETURN_IF_ERROR(CheckFinite(c.T, i, "T"));
    CJD_RETURN_IF_ERROR(CheckFinite(c.weight, i, "weight"));
    const std::string at = "[" + std::to_string(i) + "].";
    if (c.x < 0 || c.x != std::floor(c.x)) {
      return Status::Invalid("must be a whole number >= 0", at + "x");
    }
    if (c.T <= 0) return Status::Invalid("must be > 0", at + "T");
    if (c.t_x < 0 || c.t_x > c.T) return Status::Invalid("must be within [0, T]", at + "t_x");
    if (c.weight <= 0) return Status::Invalid("must be > 0", at + "weight");
  }
  return Status::Ok();
}

Status CheckSpend(const std::vector<SpendInput>& rows) {
  if (rows.empty()) return Status::Invalid("no customers to fit");
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const SpendInput& c = rows[i];
    CJD_RETURN_IF_ERROR(CheckFinite(c.x, i, "x"));
    CJD_RETURN_IF_ERROR(CheckFinite(c.zbar, i, "zbar"));
    CJD_RETURN_IF_ERROR(CheckFinite(c.weight, i, "weight"));
    const std::string at = "[" + std::to_string(i) + "].";
    if (c.x <= 0) return Status::Invalid("must be > 0", at + "x");
    if (c.zbar <= 0) return Status::Invalid("must be > 0", at + "zbar");
    if (c.weight <= 0) return Status::Invalid("must be > 0", at + "weight");
  }
  return Status::Ok();
}

// Rows with an equal key merged into one whose weight is the sum, sorted by the key.
template <typename Row, typename Key>
std::vector<Row> GroupByKey(const std::vector<Row>& rows_in, Key key) {
  std::vector<Row> rows = rows_in;
  std::sort(rows.begin(), rows.end(), [&](const Row& l, const Row& r) { return key(l) < key(r); });
  std::vector<Row> out;
  for (const Row& c : rows) {
    if (!out.empty() && key(out.back()) == key(c)) {
      out.back().weight += c.weight;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

}  // namespace

const char* FitStateName(FitState state) { return state == FitState::kOk ? "ok" : "degenerate"; }

// ---------------------------------------------------------------------------------------------
// BG/NBD

double BgNbdLogLikelihood(const BgNbdParams& p, const RfmInput& c) {
  const double x = c.x;
  const double a1 = std::lgamma(p.r + x) - std::lgamma(p.r) + p.r * std::log(p.alpha);
  const double a2 =
      std::lgamma(p.a + p.b) + std::lgamma(p.b + x) - std::lgamma(p.b) - std::lgamma(p.a + p.b + x);
  const double a3 = -(p.r + x) * std::log(p.alpha + c.T);
  const double a4 =
      x > 0 ? std::log(p.a) - std::log(p.b + x - 1) - (p.r + x) * std::log(p.alpha + c.t_x) : -kInf;
  return a1 + a2 + LogAddExp(a3, a4);
}

Result<BgNbdFit> FitBgNbd(const std::vector<RfmInput>& customers) {
  CJD_RETURN_IF_ERROR(CheckRfm(customers));
  // Sorted by x, so the terms that depend on x alone are computed once per distinct x.
  std::vector<RfmInput> rows = customers;
  std::stable_sort(rows.begin(), rows.end(),
                   [](const RfmInput& l, const RfmInput& r) { return l.x < r.x; });
  double total = 0, mean_t = 0;
  for (const RfmInput& c : rows) total += c.weight, mean_t += c.weight * c.T;
  mean_t /= total;

  auto objective = [&](const Point<4>& theta) {  // mean negative log-likelihood
    const auto [r, alpha, a, b] = Exp<4>(theta);
    const double lg_r = std::lgamma(r), lg_ab = std::lgamma(a + b), lg_b = std::lgamma(b);
    const double r_log_alpha = r * std::log(alpha), log_a = std::log(a);
    double ll = 0, x = -1, a12 = 0, log_a_b = 0;
    for (const RfmInput& c : rows) {
      if (c.x != x) {
        x = c.x;
        a12 = std::lgamma(r + x) - lg_r + r_log_alpha + lg_ab + std::lgamma(b + x) - lg_b -
              std::lgamma(a + b + x);
        log_a_b = x > 0 ? log_a - std::log(b + x - 1) : 0;
      }
      const double a3 = -(r + x) * std::log(alpha + c.T);
      const double tail = x > 0 ? LogAddExp(a3, log_a_b - (r + x) * std::log(alpha + c.t_x)) : a3;
      ll += c.weight * (a12 + tail);
    }
    const double f = -ll / total;
    return std::isfinite(f) ? f : kInf;
  };
  // Fixed starts; alpha is a time scale, so it starts at multiples of the mean age.
  const double la = std::log(mean_t);
  const std::vector<Point<4>> starts = {
      {0.0, la, 0.0, 0.0},
      {std::log(0.5), la - std::log(4.0), std::log(0.5), std::log(3.0)},
      {std::log(2.0), la + std::log(4.0), std::log(2.0), std::log(0.5)},
      {std::log(0.1), la - std::log(10.0), std::log(0.1), std::log(10.0)},
      {std::log(5.0), la + std::log(10.0), std::log(5.0), std::log(20.0)},
  };
  const std::array<const char*, 4> names = {"r", "alpha", "a", "b"};
  auto why_degenerate = [&](const Point<4>& theta) {
    const Point<4> p = Exp<4>(theta);
    std::string why = AtBox<4>(theta, names);
    if (why.empty()) why = OutsideShape("a", p[2]);
    if (why.empty()) why = OutsideShape("b", p[3]);
    return why;
  };
  const Minimum<4> m = MultiStart<4>(
      objective, starts, [&](const Point<4>& theta) { return !why_degenerate(theta).empty(); });
  const auto [r, alpha, a, b] = Exp<4>(m.x);

  BgNbdFit fit;
  fit.params = {r, alpha, a, b};
  for (const RfmInput& c : customers) {
    fit.log_likelihood += c.weight * BgNbdLogLikelihood(fit.params, c);
  }
  fit.iterations = m.iterations;
  fit.converged = m.converged;
  std::string why = why_degenerate(m.x);
  if (why.empty() && !m.converged) why = "the optimiser did not converge";
  if (why.empty() && !std::isfinite(fit.log_likelihood)) why = "the log-likelihood is not finite";
  if (!why.empty()) fit.state = FitState::kDegenerate, fit.degenerate_reason = std::move(why);
  return fit;
}

double ProbabilityAlive(const BgNbdParams& p, double x, double t_x, double T) {
  if (x <= 0) return 1.0;
  const double log_odds = std::log(p.a) - std::log(p.b + x - 1) +
                          (p.r + x) * (std::log(p.alpha + T) - std::log(p.alpha + t_x));
  return 1.0 / (1.0 + std::exp(log_odds));
}

std::optional<double> ProbabilityAlive(const BgNbdFit& fit, double x, double t_x, double T) {
  if (fit.state != FitState::kOk) return std::nullopt;
  return ProbabilityAlive(fit.params, x, t_x, T);
}

double ExpectedPurchases(const BgNbdParams& p, double t, double x, double t_x, double T) {
  if (!(t >= 0)) return kNaN;
  // (a + b + x - 1) / (a - 1) times a factor that vanishes with a - 1: near a = 1, interpolate
  // between a = 1 -/+ h instead of dividing two tiny numbers (error O(h^2) = 1e-8 relative).
  constexpr double h = 1e-4;
  if (std::abs(p.a - 1) >= h) return ExpectedPurchasesAwayFromAOne(p, t, x, t_x, T);
  BgNbdParams lo = p, hi = p;
  lo.a = 1 - h, hi.a = 1 + h;
  const double e_lo = ExpectedPurchasesAwayFromAOne(lo, t, x, t_x, T);
  const double e_hi = ExpectedPurchasesAwayFromAOne(hi, t, x, t_x, T);
  return e_lo + (p.a - lo.a) / (2 * h) * (e_hi - e_lo);
}

std::vector<RfmInput> GroupRfm(const std::vector<RfmInput>& customers) {
  return GroupByKey(customers, [](const RfmInput& c) { return std::tie(c.x, c.T, c.t_x); });
}

// ---------------------------------------------------------------------------------------------
// Gamma-Gamma

double GammaGammaLogLikelihood(const GammaGammaParams& p, const SpendInput& c) {
  const double px = p.p * c.x;
  return std::lgamma(px + p.q) - std::lgamma(px) - std::lgamma(p.q) + p.q * std::log(p.v) +
         (px - 1) * std::log(c.zbar) + px * std::log(c.x) -
         (px + p.q) * std::log(c.x * c.zbar + p.v);
}

Result<GammaGammaFit> FitGammaGamma(const std::vector<SpendInput>& customers) {
  CJD_RETURN_IF_ERROR(CheckSpend(customers));
  double total = 0, mean_z = 0;
  for (const SpendInput& c : customers) total += c.weight, mean_z += c.weight * c.zbar;
  mean_z /= total;
  struct Row {
    double x, log_x, zbar, log_z, w;
  };
  std::vector<Row> rows;
  rows.reserve(customers.size());
  for (const SpendInput& c : customers) {
    rows.push_back({c.x, std::log(c.x), c.zbar, std::log(c.zbar), c.weight});
  }
  auto objective = [&](const Point<3>& theta) {
    const auto [p, q, v] = Exp<3>(theta);
    const double lg_q = std::lgamma(q), q_log_v = q * std::log(v);
    double ll = 0;
    for (const Row& c : rows) {
      const double px = p * c.x;
      ll += c.w * (std::lgamma(px + q) - std::lgamma(px) - lg_q + q_log_v + (px - 1) * c.log_z +
                   px * c.log_x - (px + q) * std::log(c.x * c.zbar + v));
    }
    const double f = -ll / total;
    return std::isfinite(f) ? f : kInf;
  };
  // Fixed (p, q) starts; v so that the population's mean spend p v / (q - 1) is the sample's.
  std::vector<Point<3>> starts;
  for (const auto& [p, q] : std::vector<std::pair<double, double>>{
           {1.0, 2.0}, {5.0, 3.0}, {0.5, 5.0}, {10.0, 1.5}, {2.0, 10.0}}) {
    starts.push_back({std::log(p), std::log(q), std::log(mean_z * (q - 1) / p)});
  }
  const std::array<const char*, 3> names = {"p", "q", "v"};
  auto why_degenerate = [&](const Point<3>& theta) {
    const Point<3> pqv = Exp<3>(theta);
    std::string why = AtBox<3>(theta, names);
    if (why.empty()) why = OutsideShape("p", pqv[0]);
    if (why.empty()) why = OutsideShape("q", pqv[1]);
    if (why.empty() && pqv[1] <= 1) why = "q <= 1: the population's mean spend is infinite";
    return why;
  };
  const Minimum<3> m = MultiStart<3>(
      objective, starts, [&](const Point<3>& theta) { return !why_degenerate(theta).empty(); });
  const auto [p, q, v] = Exp<3>(m.x);

  GammaGammaFit fit;
  fit.params = {p, q, v};
  for (const SpendInput& c : customers) {
    fit.log_likelihood += c.weight * GammaGammaLogLikelihood(fit.params, c);
  }
  fit.iterations = m.iterations;
  fit.converged = m.converged;
  std::string why = why_degenerate(m.x);
  if (why.empty() && !m.converged) why = "the optimiser did not converge";
  if (why.empty() && !std::isfinite(fit.log_likelihood)) why = "the log-likelihood is not finite";
  if (!why.empty()) fit.state = FitState::kDegenerate, fit.degenerate_reason = std::move(why);
  return fit;
}

double ExpectedAverageSpend(const GammaGammaParams& p, double x, double zbar) {
  // (q - 1) / d * (v p / (q - 1)) + p x / d * zbar with d = p x + q - 1, the (q - 1) cancelled
  // so that the weighted mean stays defined at q = 1.
  const double px = p.p * x, d = px + p.q - 1;
  return (p.v * p.p + px * zbar) / d;
}

std::optional<double> ExpectedAverageSpend(const GammaGammaFit& fit, double x, double zbar) {
  if (fit.state != FitState::kOk) return std::nullopt;
  return ExpectedAverageSpend(fit.params, x, zbar);
}

std::vector<SpendInput> GroupSpend(const std::vector<SpendInput>& customers) {
  return GroupByKey(customers, [](const SpendInput& c) { return std::tie(c.x, c.zbar); });
}

}  // namespace cjd::hub::predictions

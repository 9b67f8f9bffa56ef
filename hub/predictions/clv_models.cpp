#include "hub/predictions/clv_models.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <numbers>
#include <tuple>
#include <utility>

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

// A run also stops (not converged) once its best vertex has been at the edge of the parameter
// space (`at_edge`, the model's test) for kEdgeStreak consecutive iterations: the fit is
// degenerate then, and the simplex would only creep along a flat ridge towards the edge.
constexpr int kEdgeStreak = 100;

// And a run that is still going after kStallAfter iterations stops (not converged) once its best
// value improved by less than kStallTol over the last kStallWindow iterations: a simplex creeping
// along a ridge that never reaches the edge (every customer buying at one rate: r and alpha grow
// together, the likelihood gaining ever less; 9,214 iterations before this rule). Runs of proper
// fits converge well before kStallAfter (CDNOW: ~370 per run), so they are not affected.
constexpr int kStallAfter = 600;
constexpr int kStallWindow = 100;
constexpr double kStallTol = 1e-9;  // on the mean negative log-likelihood per customer

template <std::size_t N, typename F, typename E>
Minimum<N> NelderMead(const F& f, const Point<N>& x0, double step, const E& at_edge) {
  std::array<Point<N>, N + 1> v{};
  std::array<double, N + 1> fv{};
  for (std::size_t i = 0; i <= N; ++i) {
    v[i] = x0;
    if (i > 0) v[i][i - 1] += step;
    fv[i] = f(v[i]);
  }
  Minimum<N> out;
  int streak = 0;  // consecutive iterations with the best vertex at the edge
  double window_start = kInf;  // best value kStallWindow iterations ago (after kStallAfter)
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
    streak = at_edge(v[best]) ? streak + 1 : 0;
    if (streak >= kEdgeStreak) break;
    if (out.iterations >= kStallAfter && (out.iterations - kStallAfter) % kStallWindow == 0) {
      if (window_start - fv[best] < kStallTol) break;
      window_start = fv[best];
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

// Nelder–Mead from `start` (first simplex of size `step`), restarted around its result until
// that stops improving or `degenerate` holds there (refining a point at the edge of the space
// only creeps along a flat ridge). Adds every run's iterations to *iterations.
template <std::size_t N, typename F, typename D, typename E>
Minimum<N> Refine(const F& f, const Point<N>& start, double step, const D& degenerate,
                  const E& at_edge, int* iterations) {
  Minimum<N> m = NelderMead<N>(f, start, step, at_edge);
  *iterations += m.iterations;
  for (int restart = 0; restart < kMaxRestarts && !degenerate(m.x); ++restart) {
    Minimum<N> again = NelderMead<N>(f, m.x, 0.1, at_edge);
    *iterations += again.iterations;
    const bool improved = again.f < m.f - kFTol;
    if (again.f <= m.f) m = again;
    if (!improved) break;
  }
  return m;
}

// Refine from every start; the best result wins (the first on a tie). `iterations` counts
// every run.
template <std::size_t N, typename F, typename D, typename E>
Minimum<N> MultiStart(const F& f, const std::vector<Point<N>>& starts, const D& degenerate,
                      const E& at_edge) {
  Minimum<N> best;
  int iterations = 0;
  for (const Point<N>& start : starts) {
    Minimum<N> m = Refine<N>(f, start, 0.5, degenerate, at_edge, &iterations);
    if (m.f < best.f) best = m;
  }
  best.iterations = iterations;
  return best;
}

// Large inputs (more rows than kSubsampleRows): the starts run on every k-th row (k the smallest
// stride that leaves at most kSubsampleRows, weights kept), and the best start's result is then
// refined on every row (kPolishStep, restarts as above), so the optimum is the full data's.
// Smaller inputs: MultiStart on every row, nothing else. Either way, a result with a shape
// parameter at the edge then has it frozen (FreezeEdge, see Search).
constexpr std::size_t kSubsampleRows = 20'000;
constexpr double kPolishStep = 0.1;

std::size_t SubsampleStride(std::size_t rows) {
  return (rows + kSubsampleRows - 1) / kSubsampleRows;
}

// Edge masks: bit k set when coordinate k of a log-parameter point is at the edge of the space.
// `frozen` coordinates are kept at the values of a base point while the others are optimised.
using Mask = unsigned;

// Refine (restarts as above) over the M = N - popcount(frozen) coordinates not in `frozen`, the
// frozen ones kept at x's values, from x with a first simplex of size `step`. A restart or the
// edge stop happens when a coordinate not yet frozen is at the edge (`edge` gives the mask).
template <std::size_t N, std::size_t M, typename F, typename G>
Minimum<N> RefineReduced(const F& f, const Point<N>& x, double step, Mask frozen, const G& edge,
                         int* iterations) {
  std::array<std::size_t, M> free{};
  for (std::size_t k = 0, j = 0; k < N; ++k) {
    if (!(frozen >> k & 1u)) free[j++] = k;
  }
  auto embed = [&](const Point<M>& y) {
    Point<N> full = x;
    for (std::size_t j = 0; j < M; ++j) full[free[j]] = y[j];
    return full;
  };
  Point<M> y0{};
  for (std::size_t j = 0; j < M; ++j) y0[j] = x[free[j]];
  auto g = [&](const Point<M>& y) { return f(embed(y)); };
  auto at_edge = [&](const Point<M>& y) { return (edge(embed(y)) & ~frozen) != 0; };
  const Minimum<M> r = Refine<M>(g, y0, step, at_edge, at_edge, iterations);
  Minimum<N> out;
  out.x = embed(r.x);
  out.f = r.f;
  out.converged = r.converged;
  return out;
}

// RefineReduced, dispatched on how many coordinates are frozen (1 or 2: the two shape
// parameters of either model).
template <std::size_t N, typename F, typename G>
Minimum<N> RefineFrozen(const F& f, const Point<N>& x, double step, Mask frozen, const G& edge,
                        int* iterations) {
  static_assert(N > 2);
  if (std::popcount(frozen) == 1) {
    return RefineReduced<N, N - 1>(f, x, step, frozen, edge, iterations);
  }
  return RefineReduced<N, N - 2>(f, x, step, frozen, edge, iterations);
}

// While a coordinate in `freezable` (the shape parameters) of m is at the edge and not yet in
// *frozen, add it and refine the remaining coordinates from m (kPolishStep): the parameters that
// still matter at the edge are then at f's optimum given the edge, instead of a simplex creeping
// along the ridge. A no-op for a result off the edge.
template <std::size_t N, typename F, typename G>
Minimum<N> FreezeEdge(const F& f, Minimum<N> m, Mask freezable, const G& edge, Mask* frozen,
                      int* iterations) {
  for (Mask more = edge(m.x) & freezable & ~*frozen; more != 0;
       more = edge(m.x) & freezable & ~*frozen) {
    *frozen |= more;
    m = RefineFrozen<N>(f, m.x, kPolishStep, *frozen, edge, iterations);
  }
  return m;
}

// The whole search: MultiStart on `sub` (every row for small inputs), edge coordinates frozen,
// then for large inputs the polish on `full` (with the same coordinates frozen, and any more
// that reach the edge there). `large` false: `full` is not used. The objectives take a second
// argument, true in the stages with coordinates frozen (BG/NBD: A2 by DropoutSum). Off the edge
// this is exactly MultiStart, then for large inputs Refine on `full`.
template <std::size_t N, typename Sub, typename Full, typename D, typename G>
Minimum<N> Search(const Sub& sub, const Full& full, bool large, const std::vector<Point<N>>& starts,
                  const D& degenerate, const G& edge, Mask freezable) {
  auto at_edge = [&](const Point<N>& theta) { return edge(theta) != 0; };
  auto sub_free = [&](const Point<N>& theta) { return sub(theta, false); };
  auto sub_frozen = [&](const Point<N>& theta) { return sub(theta, true); };
  auto full_free = [&](const Point<N>& theta) { return full(theta, false); };
  auto full_frozen = [&](const Point<N>& theta) { return full(theta, true); };
  Minimum<N> m = MultiStart<N>(sub_free, starts, degenerate, at_edge);
  int iterations = m.iterations;
  Mask frozen = 0;
  m = FreezeEdge<N>(sub_frozen, m, freezable, edge, &frozen, &iterations);
  if (large) {
    m = frozen == 0 ? Refine<N>(full_free, m.x, kPolishStep, degenerate, at_edge, &iterations)
                    : RefineFrozen<N>(full_frozen, m.x, kPolishStep, frozen, edge, &iterations);
    m = FreezeEdge<N>(full_frozen, m, freezable, edge, &frozen, &iterations);
  }
  m.iterations = iterations;
  return m;
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

// The edge mask of a log-parameter point: bit k set when parameter k is at the edge, i.e. (bit k
// of `shape`) outside [kShapeMin, kShapeMax], or (the others) within a factor 10 of the search box.
// The same tests as AtBox and OutsideShape.
template <std::size_t N>
Mask EdgeMask(const Point<N>& theta, Mask shape) {
  const Point<N> value = Exp<N>(theta);
  Mask mask = 0;
  for (std::size_t k = 0; k < N; ++k) {
    const bool at_edge =
        shape >> k & 1u ? !(value[k] >= kShapeMin && value[k] <= kShapeMax)
                        : theta[k] < kLogMin + kLogNearBound || theta[k] > kLogMax - kLogNearBound;
    if (at_edge) mask |= Mask{1} << k;
  }
  return mask;
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

namespace {

// BG/NBD rows prepared once per fit, as structure of arrays: the likelihood's log(alpha + T) and
// log(alpha + t_x) are tabulated per evaluation over the distinct T and t_x (few in day or week
// units), each row holding its indices; rows of equal x are consecutive (a run), so the terms
// that depend on x alone are computed once per run.
struct BgNbdRows {
  struct Run {
    double x = 0;
    // Fast order: [begin, ones) weight 1, [ones, whole) whole weights up to kMaxPower, then
    // the others. Exact order: the rows as given, ones = whole = end.
    std::size_t begin = 0, ones = 0, whole = 0, end = 0;
    double weight = 0;
  };
  std::vector<double> T, t_x;           // distinct values, ascending
  std::vector<std::uint32_t> iT, it_x;  // per row: index into T, t_x
  std::vector<double> w;                // per row
  std::vector<int> power;               // per row: w when a whole number <= kMaxPower, else 0
  std::vector<Run> runs;
  double total = 0;
  // Scratch for the tables (one evaluation at a time).
  mutable std::vector<double> log_T, log_t_x;
};

std::vector<double> Distinct(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

std::uint32_t IndexOf(const std::vector<double>& sorted, double value) {
  return static_cast<std::uint32_t>(std::lower_bound(sorted.begin(), sorted.end(), value) -
                                    sorted.begin());
}

// Sums of logarithms as the logarithm of products: Add(f, n) takes n log f for f in [1, 2] and a
// whole n in [1, kMaxPower]; factors are multiplied until the product could pass 2^1000, then
// one log is taken. The product's rounding (< 1 ulp per multiplication, at most ~1,000 of them)
// is < 2e-13 on the log of a block of up to 1,000 factors, i.e. ~1e-16 per term, the size of the
// rounding of the plain sum of logs; it is far below the optimiser's tolerance.
constexpr int kMaxPower = 32;
constexpr int kMaxProductBits = 1000;

class LogOfProducts {
 public:
  void Add(double f) {
    if (++bits_ > kMaxProductBits) Flush(1);
    product_ *= f;
  }
  // The product of four factors at once, f in [1, 16].
  void Add4(double f) {
    if ((bits_ += 4) > kMaxProductBits) Flush(4);
    product_ *= f;
  }
  void Add(double f, int n) {
    if ((bits_ += n) > kMaxProductBits) Flush(n);
    double power = 1;
    for (double base = f; n > 0; n >>= 1, base *= base) {
      if (n & 1) power *= base;
    }
    product_ *= power;
  }
  double Sum() const { return sum_ + std::log(product_); }

 private:
  void Flush(int bits) {
    sum_ += std::log(product_);
    product_ = 1;
    bits_ = bits;
  }
  double sum_ = 0, product_ = 1;
  int bits_ = 0;
};

// 0 for a weight that is not a whole number in [1, kMaxPower], else the weight.
int PowerOf(double weight) {
  return weight >= 1 && weight <= kMaxPower && weight == std::floor(weight)
             ? static_cast<int>(weight)
             : 0;
}

// Orders [begin, end) of a run for the fast objectives: weight 1, then other whole weights up
// to kMaxPower, then the rest (stable within each class). Returns the ends of the first two.
template <typename Row>
std::pair<std::size_t, std::size_t> OrderByWeight(std::vector<Row>* rows, std::size_t begin,
                                                  std::size_t end) {
  auto cls = [](const Row& c) { return c.weight == 1 ? 0 : PowerOf(c.weight) > 0 ? 1 : 2; };
  std::stable_sort(rows->begin() + static_cast<std::ptrdiff_t>(begin),
                   rows->begin() + static_cast<std::ptrdiff_t>(end),
                   [&](const Row& l, const Row& r) { return cls(l) < cls(r); });
  std::size_t ones = begin, whole;
  while (ones < end && cls((*rows)[ones]) == 0) ++ones;
  for (whole = ones; whole < end && cls((*rows)[whole]) == 1;) ++whole;
  return {ones, whole};
}

// From rows sorted by x: every `stride`-th row. With `fast_order`, each run is ordered by
// OrderByWeight; otherwise the rows keep their order, so that the exact objective sums as the
// plain per-row loop does.
BgNbdRows PrepareBgNbd(const std::vector<RfmInput>& sorted, std::size_t stride, bool fast_order) {
  std::vector<RfmInput> rows;
  rows.reserve(sorted.size() / stride + 1);
  for (std::size_t i = 0; i < sorted.size(); i += stride) rows.push_back(sorted[i]);
  BgNbdRows d;
  std::vector<double> ts, txs;
  for (const RfmInput& c : rows) ts.push_back(c.T), txs.push_back(c.t_x);
  d.T = Distinct(std::move(ts));
  d.t_x = Distinct(std::move(txs));
  d.log_T.resize(d.T.size());
  d.log_t_x.resize(d.t_x.size());
  for (const RfmInput& c : rows) d.total += c.weight;
  for (std::size_t begin = 0; begin < rows.size();) {
    std::size_t end = begin;
    while (end < rows.size() && rows[end].x == rows[begin].x) ++end;
    BgNbdRows::Run run;
    run.x = rows[begin].x;
    run.begin = begin, run.ones = end, run.whole = end, run.end = end;
    if (fast_order) std::tie(run.ones, run.whole) = OrderByWeight(&rows, begin, end);
    for (std::size_t i = begin; i < end; ++i) {
      const RfmInput& c = rows[i];
      d.iT.push_back(IndexOf(d.T, c.T));
      d.it_x.push_back(IndexOf(d.t_x, c.t_x));
      d.w.push_back(c.weight);
      d.power.push_back(PowerOf(c.weight));
      run.weight += c.weight;
    }
    d.runs.push_back(run);
    begin = end;
  }
  return d;
}

struct BgNbdTerms {
  double r, alpha, a, b, lg_r, lg_ab, lg_b, r_log_alpha, log_a;
};

BgNbdTerms Tabulate(const BgNbdRows& d, const Point<4>& theta) {
  const auto [r, alpha, a, b] = Exp<4>(theta);
  for (std::size_t j = 0; j < d.T.size(); ++j) d.log_T[j] = std::log(alpha + d.T[j]);
  for (std::size_t j = 0; j < d.t_x.size(); ++j) d.log_t_x[j] = std::log(alpha + d.t_x[j]);
  return {r,
          alpha,
          a,
          b,
          std::lgamma(r),
          std::lgamma(a + b),
          std::lgamma(b),
          r * std::log(alpha),
          std::log(a)};
}

// A2 = lgamma(a + b) + lgamma(b + x) - lgamma(b) - lgamma(a + b + x) = -sum_{j < x} log1p(a /
// (b + j)), summed that way for runs that come in ascending x (the sum carried from one to the
// next: x_max terms per evaluation; the lgamma form past a gap of kMaxDropoutGap). The lgamma
// form loses the dependence on a and b to cancellation once they are large (an ulp of lgamma(b)
// is ~1e-6 at b = 1e8): the optimiser would chase that rounding. Used only with a shape
// parameter frozen at the edge (FreezeEdge), so ordinary fits keep the lgamma form.
constexpr double kMaxDropoutGap = 10'000;

class DropoutSum {
 public:
  double operator()(const BgNbdTerms& p, double x) {
    if (x < x_ || x - x_ > kMaxDropoutGap) {
      x_ = x;
      sum_ = p.lg_ab + std::lgamma(p.b + x) - p.lg_b - std::lgamma(p.a + p.b + x);
    }
    for (; x_ < x; ++x_) sum_ -= std::log1p(p.a / (p.b + x_));
    return sum_;
  }

 private:
  double x_ = 0, sum_ = 0;
};

// The terms of run x that depend on x alone: A1 + A2, and log a - log(b + x - 1) (0 at x = 0).
// With `dropout`, A2 from it (see DropoutSum), else by the lgamma form.
std::pair<double, double> RunTerms(const BgNbdTerms& p, double x, DropoutSum* dropout) {
  const double a12 = dropout != nullptr
                         ? std::lgamma(p.r + x) - p.lg_r + p.r_log_alpha + (*dropout)(p, x)
                         : std::lgamma(p.r + x) - p.lg_r + p.r_log_alpha + p.lg_ab +
                               std::lgamma(p.b + x) - p.lg_b - std::lgamma(p.a + p.b + x);
  return {a12, x > 0 ? p.log_a - std::log(p.b + x - 1) : 0};
}

// The mean negative log-likelihood, every row's figure as BgNbdLogLikelihood has it and summed
// in row order (the result does not depend on the tabulation: the same logs of the same sums).
// `at_edge`: A2 by DropoutSum.
double BgNbdObjectiveExact(const BgNbdRows& d, const Point<4>& theta, bool at_edge) {
  const BgNbdTerms p = Tabulate(d, theta);
  DropoutSum dropout;
  DropoutSum* const a2 = at_edge ? &dropout : nullptr;
  const double* log_T = d.log_T.data();
  const double* log_t_x = d.log_t_x.data();
  double ll = 0;
  for (const BgNbdRows::Run& run : d.runs) {
    const double x = run.x;
    const auto [a12, log_a_b] = RunTerms(p, x, a2);
    for (std::size_t i = run.begin; i < run.end; ++i) {
      const double a3 = -(p.r + x) * log_T[d.iT[i]];
      const double tail = x > 0 ? LogAddExp(a3, log_a_b - (p.r + x) * log_t_x[d.it_x[i]]) : a3;
      ll += d.w[i] * (a12 + tail);
    }
  }
  const double f = -ll / d.total;
  return std::isfinite(f) ? f : kInf;
}

// 1 + exp(z) for z <= 0, inline (no call, no error handling), as the fast BG/NBD objective needs
// it: exp(z) = 2^m 2^(j/128) exp(rest) for z = (128 m + j) log 2 / 128 + rest, |rest| <=
// log 2 / 256, exp(rest) by its Taylor polynomial of degree 5 (truncation < 1e-18); the table
// holds exp2(j / 128). Measured: < 0.8 eps relative on 1 + exp(z). Below z = -40,
// exp(z) < 1e-17 and 1 + exp(z) rounds to 1.
struct Exp2Table {
  std::array<double, 128> v{};
  Exp2Table() {
    for (std::size_t j = 0; j < v.size(); ++j) v[j] = std::exp2(static_cast<double>(j) / 128);
  }
};

const double* Exp2Fractions() {
  static const Exp2Table table;
  return table.v.data();
}

inline double OnePlusExp(double z, const double* exp2_fractions) {
  if (!(z >= -40)) return z < -40 ? 1 : kNaN;
  constexpr double kToSteps = 128 / std::numbers::ln2;
  constexpr double kShift = 0x1.8p52;                            // rounds to a whole number
  constexpr double kStepHi = 6.93147180369123816490e-01 / 128;   // log 2 / 128, its high bits
  constexpr double kStepLo = 1.90821492927058770002e-10 / 128;   // and the rest
  const double shifted = z * kToSteps + kShift;
  const auto n = static_cast<std::int32_t>(std::bit_cast<std::uint64_t>(shifted));
  const double steps = shifted - kShift;
  const double rest = (z - steps * kStepHi) - steps * kStepLo;
  const double poly =
      1 + rest * (1 + rest * (0.5 + rest * (1.0 / 6 + rest * (1.0 / 24 + rest * (1.0 / 120)))));
  const double scale = std::bit_cast<double>(static_cast<std::uint64_t>((n >> 7) + 1023) << 52);
  return 1 + scale * (exp2_fractions[n & 127] * poly);
}

// The same likelihood for large inputs, summed differently: per run, A1 + A2 times the run's
// weight; per row max(A3, A4) + log(1 + exp(-|A3 - A4|)), the logs as LogOfProducts (rows of
// weight 1 or a small whole weight) or one by one (the rest). Equal to the exact form within
// rounding.
double BgNbdObjectiveFast(const BgNbdRows& d, const Point<4>& theta, bool at_edge) {
  const BgNbdTerms p = Tabulate(d, theta);
  DropoutSum dropout;
  DropoutSum* const a2 = at_edge ? &dropout : nullptr;
  const double* log_T = d.log_T.data();
  const double* log_t_x = d.log_t_x.data();
  const std::uint32_t* iT = d.iT.data();
  const std::uint32_t* it_x = d.it_x.data();
  const double* w = d.w.data();
  const double* exp2_fractions = Exp2Fractions();
  double ll = 0;
  for (const BgNbdRows::Run& run : d.runs) {
    const double x = run.x, k = p.r + x;
    // Named copies, not structured bindings: the lambda below captures log_a_b (Debian's clang 14
    // refuses a captured binding).
    const std::pair<double, double> terms = RunTerms(p, x, a2);
    const double a12 = terms.first, log_a_b = terms.second;
    ll += run.weight * a12;
    if (x == 0) {
      double s = 0;
      for (std::size_t i = run.begin; i < run.end; ++i) s += w[i] * log_T[iT[i]];
      ll -= k * s;
      continue;
    }
    double linear = 0, logs = 0;
    LogOfProducts products;
    // Four rows at a time, independent until their sums (shorter dependency chains).
    auto row = [&](std::size_t i, double* max) {
      const double a3 = -k * log_T[iT[i]], a4 = log_a_b - k * log_t_x[it_x[i]];
      *max = std::max(a3, a4);
      return OnePlusExp(-std::abs(a3 - a4), exp2_fractions);
    };
    std::size_t i = run.begin;
    for (; i + 4 <= run.ones; i += 4) {
      double m0, m1, m2, m3;
      const double f0 = row(i, &m0), f1 = row(i + 1, &m1), f2 = row(i + 2, &m2),
                   f3 = row(i + 3, &m3);
      linear += (m0 + m1) + (m2 + m3);
      products.Add4((f0 * f1) * (f2 * f3));
    }
    for (; i < run.ones; ++i) {
      double m0;
      products.Add(row(i, &m0));
      linear += m0;
    }
    for (i = run.ones; i < run.whole; ++i) {
      const double a3 = -k * log_T[iT[i]], a4 = log_a_b - k * log_t_x[it_x[i]];
      linear += w[i] * std::max(a3, a4);
      products.Add(OnePlusExp(-std::abs(a3 - a4), exp2_fractions), d.power[i]);
    }
    for (i = run.whole; i < run.end; ++i) {
      const double a3 = -k * log_T[iT[i]], a4 = log_a_b - k * log_t_x[it_x[i]];
      linear += w[i] * std::max(a3, a4);
      logs += w[i] * std::log1p(std::exp(-std::abs(a3 - a4)));
    }
    ll += linear + logs + products.Sum();
  }
  const double f = -ll / d.total;
  return std::isfinite(f) ? f : kInf;
}

}  // namespace

Result<BgNbdFit> FitBgNbd(const std::vector<RfmInput>& customers) {
  CJD_RETURN_IF_ERROR(CheckRfm(customers));
  // Sorted by x, so the terms that depend on x alone are computed once per distinct x.
  std::vector<RfmInput> rows = customers;
  std::stable_sort(rows.begin(), rows.end(),
                   [](const RfmInput& l, const RfmInput& r) { return l.x < r.x; });
  double total = 0, mean_t = 0;
  for (const RfmInput& c : rows) total += c.weight, mean_t += c.weight * c.T;
  mean_t /= total;

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
  auto degenerate = [&](const Point<4>& theta) { return !why_degenerate(theta).empty(); };
  // At the edge: a or b, or r, outside [1e-4, 1e4]; a and b are then frozen. r (with alpha)
  // runs to infinity when every customer buys at the same rate (no heterogeneity: the Gamma
  // becomes a point mass at r / alpha), a ridge the simplex would otherwise creep along for
  // thousands of iterations: a run stops there too, but r is not frozen (freezing it made the
  // reduced fits chase the ridge again). Not a degenerate state: P(alive) stays well defined.
  constexpr Mask kAB = 0b1100;
  auto edge = [](const Point<4>& theta) { return EdgeMask<4>(theta, kAB | 0b0001); };
  Minimum<4> m;
  if (rows.size() <= kSubsampleRows) {
    const BgNbdRows all = PrepareBgNbd(rows, 1, false);
    auto exact = [&](const Point<4>& theta, bool at_edge) {
      return BgNbdObjectiveExact(all, theta, at_edge);
    };
    m = Search<4>(exact, exact, false, starts, degenerate, edge, kAB);
  } else {
    const BgNbdRows sub = PrepareBgNbd(rows, SubsampleStride(rows.size()), true);
    const BgNbdRows all = PrepareBgNbd(rows, 1, true);
    auto fast_sub = [&](const Point<4>& theta, bool at_edge) {
      return BgNbdObjectiveFast(sub, theta, at_edge);
    };
    auto fast_all = [&](const Point<4>& theta, bool at_edge) {
      return BgNbdObjectiveFast(all, theta, at_edge);
    };
    m = Search<4>(fast_sub, fast_all, true, starts, degenerate, edge, kAB);
  }
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

namespace {

// Gamma-Gamma rows prepared once per fit, as structure of arrays. Exact order: the input's, each
// row with its index into the distinct x (whose lgamma terms are computed once per evaluation).
// Fast order: sorted by x (stable), rows of equal x consecutive (a run), and the terms linear in
// p summed once: sum w x log(x zbar) and sum w log(zbar).
struct SpendRows {
  struct Run {
    double x = 0;
    std::size_t begin = 0, ones = 0, whole = 0, end = 0;  // as BgNbdRows::Run's fast order
    double weight = 0;
  };
  std::vector<double> xs;            // distinct x, ascending (exact order)
  std::vector<std::uint32_t> ix;     // per row, index into xs (exact order)
  std::vector<double> x, log_x, log_z, xz, w;  // per row; xz = x zbar
  std::vector<int> power;            // per row, PowerOf(w) (fast order)
  std::vector<Run> runs;             // fast order
  double total = 0, sum_wx_log_xz = 0, sum_w_log_z = 0;
  bool huge = false;                 // some x zbar > 1e300 (fast order): logs one by one
  mutable std::vector<double> lg_pxq, lg_px;  // scratch: lgamma(p x + q), lgamma(p x) per xs
};

SpendRows PrepareSpendExact(const std::vector<SpendInput>& customers) {
  SpendRows d;
  std::vector<double> xs;
  for (const SpendInput& c : customers) xs.push_back(c.x);
  d.xs = Distinct(std::move(xs));
  d.lg_pxq.resize(d.xs.size());
  d.lg_px.resize(d.xs.size());
  for (const SpendInput& c : customers) {
    d.ix.push_back(IndexOf(d.xs, c.x));
    d.x.push_back(c.x);
    d.log_x.push_back(std::log(c.x));
    d.log_z.push_back(std::log(c.zbar));
    d.xz.push_back(c.x * c.zbar);
    d.w.push_back(c.weight);
    d.total += c.weight;
  }
  return d;
}

// `sorted`: sorted by x; every `stride`-th row, each run ordered by OrderByWeight.
SpendRows PrepareSpendFast(const std::vector<SpendInput>& sorted, std::size_t stride) {
  std::vector<SpendInput> rows;
  rows.reserve(sorted.size() / stride + 1);
  for (std::size_t i = 0; i < sorted.size(); i += stride) rows.push_back(sorted[i]);
  SpendRows d;
  for (std::size_t begin = 0; begin < rows.size();) {
    std::size_t end = begin;
    while (end < rows.size() && rows[end].x == rows[begin].x) ++end;
    SpendRows::Run run;
    run.x = rows[begin].x;
    run.begin = begin, run.end = end;
    std::tie(run.ones, run.whole) = OrderByWeight(&rows, begin, end);
    for (std::size_t i = begin; i < end; ++i) {
      const SpendInput& c = rows[i];
      d.xz.push_back(c.x * c.zbar);
      if (!(d.xz.back() <= 1e300)) d.huge = true;
      d.w.push_back(c.weight);
      d.power.push_back(PowerOf(c.weight));
      run.weight += c.weight;
      d.total += c.weight;
      d.sum_wx_log_xz += c.weight * c.x * (std::log(c.x) + std::log(c.zbar));
      d.sum_w_log_z += c.weight * std::log(c.zbar);
    }
    d.runs.push_back(run);
    begin = end;
  }
  return d;
}

// y > 0, normal, finite: y = m 2^e with m in [1, 2).
struct Split {
  double m;
  int e;
};
Split SplitPositive(double y) {
  const auto bits = std::bit_cast<std::uint64_t>(y);
  constexpr std::uint64_t kMantissa = (std::uint64_t{1} << 52) - 1;
  constexpr std::uint64_t kOne = std::uint64_t{1023} << 52;
  return {std::bit_cast<double>((bits & kMantissa) | kOne), static_cast<int>(bits >> 52) - 1023};
}

// The mean negative log-likelihood, every row's figure as GammaGammaLogLikelihood has it, summed
// in input order (the lgamma terms are the same values, computed once per distinct x).
double GammaGammaObjectiveExact(const SpendRows& d, const Point<3>& theta) {
  const auto [p, q, v] = Exp<3>(theta);
  const double lg_q = std::lgamma(q), q_log_v = q * std::log(v);
  for (std::size_t j = 0; j < d.xs.size(); ++j) {
    const double px = p * d.xs[j];
    d.lg_pxq[j] = std::lgamma(px + q);
    d.lg_px[j] = std::lgamma(px);
  }
  double ll = 0;
  for (std::size_t i = 0; i < d.w.size(); ++i) {
    const double px = p * d.x[i];
    const std::uint32_t j = d.ix[i];
    ll += d.w[i] * (d.lg_pxq[j] - d.lg_px[j] - lg_q + q_log_v + (px - 1) * d.log_z[i] +
                    px * d.log_x[i] - (px + q) * std::log(d.xz[i] + v));
  }
  const double f = -ll / d.total;
  return std::isfinite(f) ? f : kInf;
}

// The same likelihood for large inputs, summed differently: W (q log v - lgamma(q))
// + p sum w x log(x zbar) - sum w log zbar + per run [W_x (lgamma(p x + q) - lgamma(p x))
// - (p x + q) sum w log(x zbar + v)], where log(x zbar + v) = e log 2 + log m for
// x zbar + v = m 2^e (m in [1, 2)), the log m summed by LogOfProducts (rows of weight 1 or a small
// whole weight) or one by one (the rest). Equal to the exact form within rounding.
double GammaGammaObjectiveFast(const SpendRows& d, const Point<3>& theta) {
  const auto [p, q, v] = Exp<3>(theta);
  const double* xz = d.xz.data();
  const double* w = d.w.data();
  double ll = d.total * (q * std::log(v) - std::lgamma(q)) + p * d.sum_wx_log_xz - d.sum_w_log_z;
  for (const SpendRows::Run& run : d.runs) {
    const double px = p * run.x;
    double exponents = 0, logs = 0;
    LogOfProducts products;
    std::int64_t ones_exponents = 0;
    // Where x zbar + v could overflow, every row's log by itself (as the exact form has it).
    const std::size_t ones = d.huge ? run.begin : run.ones;
    const std::size_t whole = d.huge ? run.begin : run.whole;
    std::size_t i = run.begin;
    for (; i + 4 <= ones; i += 4) {  // four rows at a time, as in BgNbdObjectiveFast
      const Split y0 = SplitPositive(xz[i] + v), y1 = SplitPositive(xz[i + 1] + v),
                  y2 = SplitPositive(xz[i + 2] + v), y3 = SplitPositive(xz[i + 3] + v);
      ones_exponents += (y0.e + y1.e) + (y2.e + y3.e);
      products.Add4((y0.m * y1.m) * (y2.m * y3.m));
    }
    for (; i < ones; ++i) {
      const Split y = SplitPositive(xz[i] + v);
      ones_exponents += y.e;
      products.Add(y.m);
    }
    for (; i < whole; ++i) {
      const Split y = SplitPositive(xz[i] + v);
      exponents += w[i] * y.e;
      products.Add(y.m, d.power[i]);
    }
    for (; i < run.end; ++i) logs += w[i] * std::log(xz[i] + v);
    exponents += static_cast<double>(ones_exponents);
    const double s = exponents * std::numbers::ln2 + products.Sum() + logs;
    ll += run.weight * (std::lgamma(px + q) - std::lgamma(px)) - (px + q) * s;
  }
  const double f = -ll / d.total;
  return std::isfinite(f) ? f : kInf;
}

}  // namespace

Result<GammaGammaFit> FitGammaGamma(const std::vector<SpendInput>& customers) {
  CJD_RETURN_IF_ERROR(CheckSpend(customers));
  double total = 0, mean_z = 0;
  for (const SpendInput& c : customers) total += c.weight, mean_z += c.weight * c.zbar;
  mean_z /= total;
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
  auto degenerate = [&](const Point<3>& theta) { return !why_degenerate(theta).empty(); };
  constexpr Mask kPQ = 0b011;  // p and q: frozen when at the edge
  auto edge = [](const Point<3>& theta) { return EdgeMask<3>(theta, kPQ); };
  Minimum<3> m;
  if (customers.size() <= kSubsampleRows) {
    const SpendRows all = PrepareSpendExact(customers);
    auto exact = [&](const Point<3>& theta, bool) { return GammaGammaObjectiveExact(all, theta); };
    m = Search<3>(exact, exact, false, starts, degenerate, edge, kPQ);
  } else {
    std::vector<SpendInput> sorted = customers;
    std::stable_sort(sorted.begin(), sorted.end(),
                     [](const SpendInput& l, const SpendInput& r) { return l.x < r.x; });
    const SpendRows sub = PrepareSpendFast(sorted, SubsampleStride(sorted.size()));
    const SpendRows all = PrepareSpendFast(sorted, 1);
    m = Search<3>([&](const Point<3>& theta, bool) { return GammaGammaObjectiveFast(sub, theta); },
                  [&](const Point<3>& theta, bool) { return GammaGammaObjectiveFast(all, theta); },
                  true, starts, degenerate, edge, kPQ);
  }
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

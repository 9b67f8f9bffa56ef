// Customer-base models of Fader, Hardie and Lee: BG/NBD (how many purchases a customer will make,
// and whether she is still "alive") and Gamma-Gamma (what she will spend per purchase). Pure
// functions, no I/O, no state of their own: safe to call from any thread (glibc's lgamma also
// writes the C library's signgam, which nothing here reads).
//
// Time is in whatever unit the caller chooses (days, weeks), the same for t_x, T and t.
// Fits are maximum likelihood, Nelder–Mead in log-parameter space from fixed starting points,
// so the same input always gives the same fit. See hub/predictions/README.md for the formulas.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "shared/core/status.h"

namespace cjd::hub::predictions {

// One customer (or, with weight > 1, that many customers with the same figures).
struct RfmInput {
  double x = 0;       // repeat purchases, a whole number >= 0
  double t_x = 0;     // time of the last purchase since the first one (recency), 0 <= t_x <= T
  double T = 0;       // time since the first purchase (age), > 0
  double weight = 1;  // how many customers this row stands for, > 0
};

// kDegenerate: the optimum lies at the edge of the parameter space (or was not reached), so the
// fitted parameters describe no proper population; figures derived from them are not to be shown
// as probabilities or money (the *Fit overloads below return nullopt).
enum class FitState { kOk, kDegenerate };
const char* FitStateName(FitState state);

struct BgNbdParams {
  double r = 0, alpha = 0;  // purchase rate lambda ~ Gamma(shape r, rate alpha)
  double a = 0, b = 0;      // dropout probability per purchase p ~ Beta(a, b)
};

struct BgNbdFit {
  BgNbdParams params;
  double log_likelihood = 0;  // sum over the input of weight * BgNbdLogLikelihood, at params
  FitState state = FitState::kOk;
  std::string degenerate_reason;  // empty when kOk
  int iterations = 0;             // Nelder–Mead iterations, over every start and restart
  bool converged = false;         // the best start's simplex collapsed within the budget
};

// Maximum-likelihood BG/NBD fit. Invalid (field "[i].x" etc.) for an empty input, a negative or
// fractional x, T <= 0, t_x outside [0, T], a weight <= 0 or anything not finite. Cost is linear
// in the number of rows: group identical customers first (GroupRfm) for large inputs.
Result<BgNbdFit> FitBgNbd(const std::vector<RfmInput>& customers);

// The log-likelihood of one customer (weight ignored), in the log-sum-exp form.
double BgNbdLogLikelihood(const BgNbdParams& params, const RfmInput& customer);

// E[Y(t) | x, t_x, T]: expected purchases in the next t time units (paper eq. 10, the same
// formula as lifetimes' conditional_expected_number_of_purchases_up_to_time). NaN for t < 0 or
// when the hypergeometric series does not converge (t beyond ~10^4 times alpha + T).
double ExpectedPurchases(const BgNbdParams& params, double t, double x, double t_x, double T);

// P(alive | x, t_x, T) = 1 / (1 + [x > 0] a / (b + x - 1) ((alpha + T) / (alpha + t_x))^(r + x)).
double ProbabilityAlive(const BgNbdParams& params, double x, double t_x, double T);
// The same, nullopt when the fit is degenerate.
std::optional<double> ProbabilityAlive(const BgNbdFit& fit, double x, double t_x, double T);

// Rows with equal (x, t_x, T) merged into one whose weight is the sum; sorted by (x, T, t_x).
std::vector<RfmInput> GroupRfm(const std::vector<RfmInput>& customers);

// One customer with at least one repeat purchase, for the spend model.
struct SpendInput {
  double x = 0;     // repeat purchases, > 0
  double zbar = 0;  // mean value of those purchases, > 0
  double weight = 1;
};

struct GammaGammaParams {
  double p = 0;         // shape of each purchase's value around the customer's mean
  double q = 0, v = 0;  // customers' rate parameter nu ~ Gamma(shape q, rate v)
};

struct GammaGammaFit {
  GammaGammaParams params;
  double log_likelihood = 0;
  FitState state = FitState::kOk;  // kDegenerate also when q <= 1 (infinite mean spend)
  std::string degenerate_reason;
  int iterations = 0;
  bool converged = false;
};

// Maximum-likelihood Gamma-Gamma fit. Invalid for an empty input, x <= 0, zbar <= 0, a weight
// <= 0 or anything not finite.
Result<GammaGammaFit> FitGammaGamma(const std::vector<SpendInput>& customers);

// The log-likelihood of one customer (weight ignored), as lifetimes' GammaGammaFitter has it.
double GammaGammaLogLikelihood(const GammaGammaParams& params, const SpendInput& customer);

// E[M | x, zbar] = (q - 1) / (p x + q - 1) * v p / (q - 1) + p x / (p x + q - 1) * zbar.
double ExpectedAverageSpend(const GammaGammaParams& params, double x, double zbar);
// The same, nullopt when the fit is degenerate.
std::optional<double> ExpectedAverageSpend(const GammaGammaFit& fit, double x, double zbar);

// Rows with equal (x, zbar) merged, weights summed; sorted by (x, zbar).
std::vector<SpendInput> GroupSpend(const std::vector<SpendInput>& customers);

}  // namespace cjd::hub::predictions

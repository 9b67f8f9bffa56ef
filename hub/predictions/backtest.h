// Per-customer predictions from a customer's purchase days, and the backtest that measures them:
// BG/NBD (expected purchase days, P(alive), churn risk) and Gamma-Gamma (spend per purchase
// day), fitted on the history before `as_of_day` only, plus a correction of the expected
// purchase days trained on an inner split of that same history. Pure functions, no I/O, no
// state of their own: safe to call from any thread. Definitions and the figures measured on the
// UCI Online Retail set: hub/predictions/README.md.
//
// Unit: the purchase day (a customer's local date with at least one order of positive value);
// times in days; money in cents (the main currency's minor unit).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hub/predictions/clv_models.h"
#include "shared/core/status.h"

namespace cjd::hub::predictions {

// One purchase day: `day` is the customer's local date as days since 1970-01-01, `value_cents`
// the day's sale value (the sum of that day's orders of positive value), > 0.
struct PurchaseDay {
  int32_t day = 0;
  int64_t value_cents = 0;
};

// A customer's purchase days, in any order. Two entries for the same day are one purchase day
// whose value is their sum.
struct CustomerHistory {
  int64_t customer_id = 0;
  std::vector<PurchaseDay> days;
};

// A customer's history before as_of, as the models take it. Only a customer with at least one
// purchase day before as_of has one.
struct CustomerSummary {
  int64_t customer_id = 0;
  int32_t first_day = 0, last_day = 0;  // first and last purchase day before as_of
  double x = 0;                         // repeat purchase days: purchase days - 1
  double t_x = 0;                       // last_day - first_day
  double T = 0;                         // as_of_day - first_day, >= 1
  double zbar_cents = 0;    // mean value of the repeat days (the first excluded); 0 when x == 0
  int64_t value_cents = 0;  // sum over every purchase day before as_of
  int recent_purchase_days = 0;  // purchase days in [as_of - 90, as_of)
};

// Summaries of every customer with a purchase day < as_of_day, in input order; days on or after
// as_of_day are ignored. Invalid (field "[i].days[j].value_cents") for a value <= 0.
Result<std::vector<CustomerSummary>> Summarise(const std::vector<CustomerHistory>& customers,
                                               int32_t as_of_day);

// P(no purchase in the next t | x, t_x, T) under BG/NBD. A customer who has dropped out makes
// none; one who is alive at T has, given her history, a rate lambda ~ Gamma(r + x, alpha + T)
// (the alive branch of the likelihood is lambda^x e^(-lambda T) (1 - p)^x, which factorises),
// and as she can drop out only right after a purchase, makes none in t with probability
// exp(-lambda t); integrated over lambda:
//   1 - P(alive) + P(alive) ((alpha + T) / (alpha + T + t))^(r + x).
double ProbabilityNoPurchase(const BgNbdParams& params, double t, double x, double t_x, double T);

struct BacktestOptions {
  int32_t as_of_day = 0;     // only purchase days < as_of_day are read
  int32_t horizon_days = 0;  // predictions for [as_of_day, as_of_day + horizon_days), > 0
  bool correct = true;       // train and apply the inner-split correction (see BacktestResult)
};

// The correction of BG/NBD's expected purchase days, a Poisson regression with BG/NBD's own
// prediction as offset:
//   E = E_bgnbd * exp(b0 + b1 z(left_censored) + b2 z(log(1 + recent_purchase_days)))
// where left_censored = the customer's first purchase day is within 30 days of the earliest
// first purchase day of all customers (her real first purchase probably predates the data), and
// z() standardises with the training rows' mean and standard deviation. Trained on an inner
// split of the history before as_of: the models are fitted before inner_as_of = as_of - h
// (h = min(horizon, half the days between the earliest purchase day and as_of)) and their
// predictions for h days compared with each customer's purchase days in [inner_as_of, as_of).
struct Correction {
  int32_t inner_as_of_day = 0, inner_horizon_days = 0;
  int inner_customers = 0;
  double inner_predicted = 0, inner_actual = 0;  // total purchase days in the inner holdout
  double b[3] = {0, 0, 0};
  double mean[3] = {0, 0, 0}, sd[3] = {1, 1, 1};  // of the features, [0] unused
};

struct CustomerScore {
  int64_t customer_id = 0;
  int purchase_days = 0;    // before as_of: x + 1
  double recency_days = 0;  // t_x: last purchase day - first (BG/NBD's recency)
  double age_days = 0;      // T: as_of - first purchase day
  // E[purchase days in the horizon]: BG/NBD's, corrected when BacktestResult::correction is
  // set. From the fitted parameters even when the fit is degenerate: at a -> 0 or b -> infinity
  // BG/NBD becomes the NBD model, which is still well defined. Where ExpectedPurchases is not
  // finite (its series fails, e.g. when a and b both run to infinity), the limit with the
  // dropout probability fixed at its posterior mean pm = a / (a + b + x):
  //   P(alive) (1 - ((alpha + T) / (alpha + T + pm t))^(r + x)) / pm.
  double expected_purchase_days = 0;
  double bg_nbd_expected_purchase_days = 0;  // BG/NBD's E[Y(horizon) | x, t_x, T], uncorrected
  std::optional<double> p_alive;             // nullopt when the BG/NBD fit is degenerate
  // P(no purchase day in the horizon) under BG/NBD, in [0, 1]. With a degenerate fit, P(alive)
  // is no probability and this is P(no purchase | alive) = ((alpha + T) / (alpha + T + t))^(r +
  // x) alone, the part that does not depend on the dropout process (a lower bound on the risk).
  double churn_risk = 0;
  // expected_purchase_days x Gamma-Gamma's expected spend per purchase day (for a customer with
  // no repeat day, the population mean v p / (q - 1)), in cents, not rounded. nullopt when the
  // Gamma-Gamma fit is degenerate or absent.
  std::optional<double> predicted_clv_cents;
};

struct BacktestResult {
  BgNbdFit bg_nbd;
  std::optional<GammaGammaFit> gamma_gamma;  // absent when no customer has a repeat day
  // Absent when not asked for, or when the inner split is too small to train it (an inner
  // horizon under 7 days, fewer than 100 inner customers or 10 purchase days in the inner
  // holdout, or a failed inner fit): the figures are then BG/NBD's.
  std::optional<Correction> correction;
  std::vector<CustomerScore> customers;  // in the order of Summarise
};

// Summarises, fits BG/NBD (on GroupRfm of the summaries) and Gamma-Gamma (customers with x > 0,
// grouped), trains the correction, and scores every customer. Invalid for horizon_days <= 0,
// no customer before as_of, or a bad value (see Summarise).
Result<BacktestResult> RunBacktest(const std::vector<CustomerHistory>& customers,
                                   const BacktestOptions& options);

}  // namespace cjd::hub::predictions

// Predictor: the hub's predictions, kept current (predictions.db, prediction_store.h) and asked
// for on demand (backtests). One thread, `predictions`, the only writer of predictions.db:
//
//   - A refit reads every live customer's purchase days in the main currency through the
//     projection's read function (PurchaseHistoryReader), fits BG/NBD and Gamma-Gamma with the
//     inner-split correction (backtest.h: RunBacktest) as of tomorrow (today's purchases
//     included), and replaces every stored score in one transaction. It is due when there is no
//     fit yet, when the last one is `refit_interval_ms` old, when orders with a sale line grew
//     by `refit_growth_percent` % since it (a large import), or when the horizon changed; the
//     thread checks every `check_interval_ms`. The first fit and a growth refit wait while an
//     import is still running (orders grew by more than 1 % and 100 since the previous check),
//     so a large import is fitted once, after it. RefitNow() does one on the caller's thread.
//   - ProfilesChanged(ids) (the projection's change feed): the scores of profiles that are no
//     longer live (erased, merged) are deleted at once; a merge survivor keeps its score until
//     the next refit.
//   - Backtest(as_of, horizon): the same computation on the history before any date, for
//     GET /v1/predictions; the last answer is kept for `backtest_cache_ms` so a paged read sees
//     one fit.
// Reads of the stored predictions by other modules go through PredictionReader (its own
// read-only connection).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/predictions/backtest.h"
#include "hub/predictions/prediction_store.h"
#include "hub/projection/purchase_history.h"
#include "shared/core/clock.h"
#include "shared/core/status.h"
#include "shared/core/worker_thread.h"

namespace cjd::hub::predictions {

struct PredictorOptions {
  std::string path;           // predictions.db
  std::string profiles_path;  // the projection's profiles.db (read-only)
  int32_t horizon_days = 365;                   // [predictions] horizon_days
  int64_t refit_interval_ms = 24 * 3'600'000;   // [predictions] refit_hours
  int64_t refit_growth_percent = 10;            // [predictions] refit_growth_percent
  int64_t check_interval_ms = 60'000;           // [predictions] check_seconds
  int64_t backtest_cache_ms = 600'000;
};

// One computed set of predictions: what a refit stores and what GET /v1/predictions pages.
struct PredictionSet {
  std::string as_of;  // YYYY-MM-DD
  int32_t as_of_day = 0;
  int32_t horizon_days = 0;
  std::string currency;    // empty: no order with a sale line yet (no model, no scores)
  int64_t sale_orders = 0;
  // {"model": {"name", "params", "fit", "log_likelihood", ...}, "spend_model", "correction"};
  // members null when there is nothing to fit.
  nlohmann::json model;
  std::vector<StoredScore> scores;  // ascending profile id
  int64_t computed_ms = 0;
  int64_t read_ms = 0, fit_ms = 0;  // steady time reading the history, fitting and scoring
};

// Reads the purchase history before `as_of_day` and computes every customer's predictions.
// With no customer before as_of: no model, no scores (not an error). kInvalid (field
// "horizon_days") for horizon_days < 1.
Result<PredictionSet> ComputePredictions(PurchaseHistoryReader& history, int32_t as_of_day,
                                         int32_t horizon_days, int64_t now_ms);

// The three members of PredictionSet::model for a result.
nlohmann::json ModelJson(const BacktestResult& result);

// Thread-safe reads of the stored predictions (predictions.db, read-only).
class PredictionReader {
 public:
  static Result<std::unique_ptr<PredictionReader>> Open(const std::string& path);

  struct Entry {
    StoredModel model;
    StoredScore score;
  };
  // The profile's stored score and the model it came from; nullopt when it has none.
  Result<std::optional<Entry>> Read(int64_t profile_id);
  Status Page(int64_t after, int limit, std::optional<StoredModel>* model,
              std::vector<StoredScore>* scores);
  Result<std::optional<StoredModel>> Model();

 private:
  explicit PredictionReader(std::unique_ptr<PredictionStore> store) : store_(std::move(store)) {}
  std::mutex mu_;
  std::unique_ptr<PredictionStore> store_;  // guarded by mu_
};

// The profile document's prediction traits (hub/predictions/README.md):
// expected_purchase_days_{N}d, p_alive, churn_risk, predicted_clv_{N}d and "predictions"
// ({as_of, horizon_days, currency, fit}); every value null when the profile has no score.
nlohmann::json PredictionTraits(const std::optional<PredictionReader::Entry>& entry,
                                int32_t horizon_days);

// Rounding shared by the traits, the segment facts and GET /v1/predictions: 4 decimals for
// purchase days and probabilities, whole cents for money.
int64_t Round4(double v);  // v x 10^4, rounded half away from zero
std::string CentsText(double cents);  // "123.45"

struct PredictorStats {
  int64_t refits = 0;
  int64_t last_refit_at_ms = 0;      // 0: none since start
  int64_t last_refit_duration_ms = 0;
  int64_t last_refit_customers = 0;
  int64_t last_refit_read_ms = 0, last_refit_fit_ms = 0, last_refit_write_ms = 0;
  std::string last_error;            // of the last refit that failed (cleared by a success)
  int64_t deleted_scores = 0;        // of profiles that stopped being live, since start
};

class Predictor {
 public:
  Predictor(PredictorOptions options, const Clock* clock);
  ~Predictor();
  Predictor(const Predictor&) = delete;
  Predictor& operator=(const Predictor&) = delete;

  // Called on the predictions thread (or RefitNow's caller) after a refit stored new scores.
  // REQUIRES: before Start().
  void set_on_refit(std::function<void()> hook) { on_refit_ = std::move(hook); }

  // Opens predictions.db (creating and migrating it) and its read connections to profiles.db
  // (which must exist: start the projector first); starts the thread unless `thread` is false.
  // Three read connections to profiles.db: the refits', the backtests', the liveness checks'.
  Status Start(bool thread = true);
  void Stop();

  // Thread-safe and quick: queues the ids for the liveness check.
  void ProfilesChanged(const std::vector<int64_t>& ids);
  // Refits now on the caller's thread (serialised with the thread's refits).
  Result<StoredModel> RefitNow();
  // Predictions as of `as_of_day` for `horizon_days` (cached, see above). Thread-safe.
  Result<std::shared_ptr<const PredictionSet>> Backtest(int32_t as_of_day, int32_t horizon_days);
  // Of `ids`, those that are no longer live profiles. Thread-safe.
  Result<std::vector<int64_t>> NotLive(const std::vector<int64_t>& ids);

  // The day a refit now would use as as_of: tomorrow (UTC).
  int32_t LiveAsOfDay() const;
  const PredictorOptions& options() const { return options_; }
  PredictorStats Stats() const;

 private:
  void Run();
  Status Refit(StoredModel* stored);  // REQUIRES: refit_mu_ held
  Result<bool> Due();                 // REQUIRES: refit_mu_ held
  Status DeleteGone(std::vector<int64_t> ids);  // REQUIRES: refit_mu_ held

  PredictorOptions options_;
  const Clock* clock_;
  std::function<void()> on_refit_;

  std::mutex refit_mu_;  // the writer: refits and deletions
  std::unique_ptr<PredictionStore> store_;            // guarded by refit_mu_
  std::unique_ptr<PurchaseHistoryReader> history_;    // guarded by refit_mu_
  int64_t failed_at_orders_ = -1;                     // guarded by refit_mu_
  int64_t checked_orders_ = -1;  // guarded by refit_mu_: sale orders at the previous check

  std::mutex live_mu_;  // guards live_history_: liveness checks of API pages
  std::unique_ptr<PurchaseHistoryReader> live_history_;

  std::mutex backtest_mu_;  // one backtest computed at a time; guards what follows
  std::unique_ptr<PurchaseHistoryReader> api_history_;
  std::shared_ptr<const PredictionSet> cached_;
  int64_t cached_at_ms_ = 0;

  WorkerThread worker_;
  std::vector<int64_t> queue_;   // guarded by worker_.mu()

  mutable std::mutex stats_mu_;
  PredictorStats stats_;  // guarded by stats_mu_
};

}  // namespace cjd::hub::predictions

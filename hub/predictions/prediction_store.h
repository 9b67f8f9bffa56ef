// PredictionStore: predictions.db, the hub's current predictions -- one model row (the fit of the
// last refit: as_of, horizon, currency, parameters and fit states) and one score row per customer
// it scored. Owned by the Predictor (predictor.h), its only writer; other modules read it only
// through this class's read functions (a read-only instance of their own).
//
// Scores are derived data: a refit replaces them all in one transaction; an erased or merged
// profile's row is deleted as soon as the change feed names it (Predictor::ProfilesChanged).
// One instance per connection, one thread at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::predictions {

// The fit behind the stored scores.
struct StoredModel {
  std::string as_of;        // YYYY-MM-DD: the fit read purchase days before this date
  int32_t horizon_days = 0;
  std::string currency;     // main currency: the one purchase days and CLV are in
  int64_t computed_ms = 0;  // when the refit ended
  int64_t customers = 0;    // scored
  int64_t sale_orders = 0;  // orders with a sale line when the refit read them
  std::string model_json;   // {"model", "spend_model", "correction"} as GET /v1/predictions
};

struct StoredScore {
  int64_t profile_id = 0;
  int32_t purchase_days = 0;
  double recency_days = 0, age_days = 0;
  double expected_purchase_days = 0;
  std::optional<double> p_alive;
  double churn_risk = 0;
  std::optional<double> predicted_clv_cents;
};

class PredictionStore {
 public:
  // Read-only opens an existing file (the Predictor creates it before any reader opens it).
  static Result<std::unique_ptr<PredictionStore>> Open(const std::string& path, bool read_only);

  // Replaces the model and every score in one transaction.
  Status Replace(const StoredModel& model, const std::vector<StoredScore>& scores);
  // Deletes the scores of `ids` (erased or merged profiles). The number deleted.
  Result<int64_t> Delete(const std::vector<int64_t>& ids);

  Result<std::optional<StoredModel>> Model();
  Result<std::optional<StoredScore>> Score(int64_t profile_id);
  // Up to `limit` scores with profile_id > after, ascending, and the model they belong to, from
  // one snapshot (a refit between the two reads cannot mix fits).
  Status Page(int64_t after, int limit, std::optional<StoredModel>* model,
              std::vector<StoredScore>* scores);

 private:
  explicit PredictionStore(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), statements_(*db_) {}
  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;
};

}  // namespace cjd::hub::predictions

// The hub's prediction endpoints (admin token: the answers carry identifiers; HubApi routes
// here):
//
//   GET  /v1/predictions?as_of=YYYY-MM-DD&horizon_days=N&limit=L&after=PROFILE_ID
//        Without as_of and horizon_days: the hub's current predictions (the last refit, stored in
//        predictions.db; 503 before the first). Otherwise a backtest: the models fitted on the
//        orders with a local date before as_of only (as_of default: tomorrow, UTC; horizon
//        default: [predictions] horizon_days), computed on the request's thread and kept for
//        ten minutes so the following pages come from the same fit. Paged by profile id.
//   POST /v1/predictions/refit
//        Refits the current predictions now and answers with the new model.
//
// The JSON documents: hub/predictions/README.md.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/predictions/predictor.h"
#include "shared/http/server.h"

namespace cjd::hub {

class PredictionApi {
 public:
  using IdentifiersOf =
      std::function<Result<std::vector<nlohmann::json>>(const std::vector<int64_t>&)>;
  // `predictor` may be null (predictions disabled: every request 503).
  PredictionApi(predictions::Predictor* predictor,
                std::unique_ptr<predictions::PredictionReader> reader, IdentifiersOf identifiers)
      : predictor_(predictor), reader_(std::move(reader)), identifiers_(std::move(identifiers)) {}

  static bool Owns(const std::string& path);
  http::Response Handle(const http::Request& req);
  // Figures for /v1/stats "predictions".
  nlohmann::json StatsJson();

 private:
  http::Response Get(const http::Request& req);
  http::Response Refit();

  predictions::Predictor* predictor_;
  std::unique_ptr<predictions::PredictionReader> reader_;
  IdentifiersOf identifiers_;
};

}  // namespace cjd::hub

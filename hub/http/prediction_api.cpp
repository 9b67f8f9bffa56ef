#include "hub/http/prediction_api.h"

#include <algorithm>

#include "shared/event/event.h"

namespace cjd::hub {
namespace {

using nlohmann::json;
using predictions::CentsText;
using predictions::Round4;
using predictions::StoredScore;

constexpr int64_t kDefaultLimit = 1000;
constexpr int64_t kMaxLimit = 10'000;

double Four(double v) { return static_cast<double>(Round4(v)) / 10'000.0; }

json CustomerJson(const StoredScore& s, json identifiers) {
  return {{"profile_id", s.profile_id},
          {"identifiers", std::move(identifiers)},
          {"purchase_days", s.purchase_days},
          {"recency_days", s.recency_days},
          {"age_days", s.age_days},
          {"expected_purchase_days", Four(s.expected_purchase_days)},
          {"p_alive", s.p_alive ? json(Four(*s.p_alive)) : json(nullptr)},
          {"churn_risk", Four(s.churn_risk)},
          {"predicted_clv",
           s.predicted_clv_cents ? json(CentsText(*s.predicted_clv_cents)) : json(nullptr)}};
}

}  // namespace

bool PredictionApi::Owns(const std::string& path) {
  return path == "/v1/predictions" || path.rfind("/v1/predictions/", 0) == 0;
}

http::Response PredictionApi::Handle(const http::Request& req) {
  if (predictor_ == nullptr) {
    return http::JsonError(503, "unavailable", "predictions are off ([predictions] enabled)");
  }
  if (req.path == "/v1/predictions") {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    return Get(req);
  }
  if (req.path == "/v1/predictions/refit") {
    if (req.method != "POST") return http::JsonError(405, "method_not_allowed", "use POST");
    return Refit();
  }
  return http::JsonError(404, "not_found", "no such endpoint: " + req.path);
}

http::Response PredictionApi::Get(const http::Request& req) {
  std::optional<int32_t> as_of;
  std::optional<int32_t> horizon;
  int64_t limit = kDefaultLimit;
  int64_t after = 0;
  for (const auto& [name, value] : req.query) {
    if (name == "as_of") {
      as_of = DayFromIsoDate(value);
      if (!as_of) return http::InvalidField("as_of", "must be a date, YYYY-MM-DD");
    } else if (name == "horizon_days") {
      const auto n = http::ParseCount(value);
      if (!n || *n < 1 || *n > 3650) {
        return http::InvalidField("horizon_days", "must be an integer from 1 to 3650");
      }
      horizon = static_cast<int32_t>(*n);
    } else if (name == "limit") {
      const auto n = http::ParseCount(value);
      if (!n || *n < 1 || *n > kMaxLimit) {
        return http::InvalidField("limit", "must be an integer from 1 to 10000");
      }
      limit = *n;
    } else if (name == "after") {
      const auto n = http::ParseCount(value);
      if (!n) return http::InvalidField("after", "must be a profile id (next_after of the previous page)");
      after = *n;
    } else {
      return http::InvalidField(name, "unknown parameter; expected as_of, horizon_days, limit, after");
    }
  }

  // The page: scores after `after`, the model they come from.
  std::vector<StoredScore> page;
  bool more = false;
  json head;
  int64_t total = 0;
  if (!as_of && !horizon) {
    std::optional<predictions::StoredModel> model;
    if (Status st = reader_->Page(after, static_cast<int>(limit) + 1, &model, &page); !st.ok()) {
      return http::ErrorFromStatus(st);
    }
    if (!model) {
      return http::JsonError(503, "not_ready",
                             "no predictions yet: the first refit has not run (POST "
                             "/v1/predictions/refit, or ask with as_of for a backtest)");
    }
    head = {{"as_of", model->as_of},
            {"horizon_days", model->horizon_days},
            {"currency", model->currency.empty() ? json(nullptr) : json(model->currency)},
            {"computed_at", FormatRfc3339(model->computed_ms)}};
    json m = json::parse(model->model_json, nullptr, false);
    if (m.is_object()) head.update(m);
    total = model->customers;
  } else {
    const int32_t day = as_of ? *as_of : predictor_->LiveAsOfDay();
    const int32_t h = horizon ? *horizon : predictor_->options().horizon_days;
    auto set = predictor_->Backtest(day, h);
    if (!set.ok()) return http::ErrorFromStatus(set.status());
    const auto& scores = (*set)->scores;
    auto it = std::upper_bound(scores.begin(), scores.end(), after,
                               [](int64_t a, const StoredScore& s) { return a < s.profile_id; });
    for (; it != scores.end() && static_cast<int64_t>(page.size()) <= limit; ++it) {
      page.push_back(*it);
    }
    head = {{"as_of", (*set)->as_of},
            {"horizon_days", (*set)->horizon_days},
            {"currency", (*set)->currency.empty() ? json(nullptr) : json((*set)->currency)},
            {"computed_at", FormatRfc3339((*set)->computed_ms)}};
    head.update((*set)->model);
    total = static_cast<int64_t>(scores.size());
  }
  more = static_cast<int64_t>(page.size()) > limit;
  if (more) page.pop_back();
  const int64_t next_after = page.empty() ? 0 : page.back().profile_id;

  // A profile erased or merged since the fit is left out (its row may still be in a backtest).
  std::vector<int64_t> ids;
  ids.reserve(page.size());
  for (const StoredScore& s : page) ids.push_back(s.profile_id);
  auto gone = predictor_->NotLive(ids);
  if (!gone.ok()) return http::ErrorFromStatus(gone.status());
  std::erase_if(page, [&](const StoredScore& s) {
    return std::binary_search(gone->begin(), gone->end(), s.profile_id);
  });
  ids.clear();
  for (const StoredScore& s : page) ids.push_back(s.profile_id);
  auto identifiers = identifiers_(ids);
  if (!identifiers.ok()) return http::ErrorFromStatus(identifiers.status());
  json customers = json::array();
  for (size_t i = 0; i < page.size(); ++i) {
    customers.push_back(CustomerJson(page[i], std::move((*identifiers)[i])));
  }
  head["customers_total"] = total;
  head["customers"] = std::move(customers);
  head["next_after"] = more ? json(next_after) : json(nullptr);
  return {200, head.dump()};
}

http::Response PredictionApi::Refit() {
  auto m = predictor_->RefitNow();
  if (!m.ok()) return http::ErrorFromStatus(m.status());
  json out = {{"as_of", m->as_of},
              {"horizon_days", m->horizon_days},
              {"currency", m->currency.empty() ? json(nullptr) : json(m->currency)},
              {"computed_at", FormatRfc3339(m->computed_ms)},
              {"customers_total", m->customers}};
  json model = json::parse(m->model_json, nullptr, false);
  if (model.is_object()) out.update(model);
  return {200, out.dump()};
}

json PredictionApi::StatsJson() {
  if (predictor_ == nullptr) return {{"enabled", false}};
  const predictions::PredictorStats s = predictor_->Stats();
  json out = {{"enabled", true},
              {"refits", s.refits},
              {"last_refit_at", s.last_refit_at_ms > 0 ? json(FormatRfc3339(s.last_refit_at_ms))
                                                       : json(nullptr)},
              {"last_refit_ms", s.last_refit_duration_ms},
              {"last_refit_customers", s.last_refit_customers},
              {"last_refit_read_ms", s.last_refit_read_ms},
              {"last_refit_fit_ms", s.last_refit_fit_ms},
              {"last_refit_write_ms", s.last_refit_write_ms},
              {"deleted_scores", s.deleted_scores},
              {"last_error", s.last_error.empty() ? json(nullptr) : json(s.last_error)}};
  auto model = reader_->Model();
  if (model.ok() && *model) {
    out["as_of"] = (*model)->as_of;
    out["horizon_days"] = (*model)->horizon_days;
    out["customers"] = (*model)->customers;
  }
  return out;
}

}  // namespace cjd::hub

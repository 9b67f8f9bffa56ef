#include "hub/predictions/predictor.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

namespace cjd::hub::predictions {
namespace {

using nlohmann::json;

constexpr int64_t kDayMs = 86'400'000;

int64_t SteadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

json FitJson(const char* name, json params, FitState state, const std::string& reason,
             double log_likelihood) {
  json j = {{"name", name},
            {"params", std::move(params)},
            {"fit", FitStateName(state)},
            {"log_likelihood", log_likelihood}};
  if (state != FitState::kOk) j["degenerate_reason"] = reason;
  return j;
}

}  // namespace

int64_t Round4(double v) { return std::llround(v * 10'000.0); }

std::string CentsText(double cents) {
  const int64_t c = std::llround(cents);
  const int64_t a = c < 0 ? -c : c;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%lld.%02lld", c < 0 ? "-" : "",
                static_cast<long long>(a / 100), static_cast<long long>(a % 100));
  return buf;
}

json ModelJson(const BacktestResult& r) {
  const BgNbdParams& b = r.bg_nbd.params;
  json out;
  out["model"] = FitJson("bg_nbd", {{"r", b.r}, {"alpha", b.alpha}, {"a", b.a}, {"b", b.b}},
                         r.bg_nbd.state, r.bg_nbd.degenerate_reason, r.bg_nbd.log_likelihood);
  if (r.gamma_gamma) {
    const GammaGammaParams& g = r.gamma_gamma->params;
    out["spend_model"] = FitJson("gamma_gamma", {{"p", g.p}, {"q", g.q}, {"v", g.v}},
                                 r.gamma_gamma->state, r.gamma_gamma->degenerate_reason,
                                 r.gamma_gamma->log_likelihood);
  } else {
    out["spend_model"] = nullptr;
  }
  if (r.correction) {
    const Correction& c = *r.correction;
    out["correction"] = {{"name", "inner_split_poisson"},
                         {"inner_as_of", IsoDateFromDay(c.inner_as_of_day)},
                         {"inner_horizon_days", c.inner_horizon_days},
                         {"inner_customers", c.inner_customers},
                         {"coefficients", {c.b[0], c.b[1], c.b[2]}}};
  } else {
    out["correction"] = nullptr;
  }
  return out;
}

Result<PredictionSet> ComputePredictions(PurchaseHistoryReader& history, int32_t as_of_day,
                                         int32_t horizon_days, int64_t now_ms) {
  if (horizon_days < 1) return Status::Invalid("must be at least 1", "horizon_days");
  PredictionSet set;
  set.as_of_day = as_of_day;
  set.as_of = IsoDateFromDay(as_of_day);
  set.horizon_days = horizon_days;
  set.computed_ms = now_ms;
  set.model = {{"model", nullptr}, {"spend_model", nullptr}, {"correction", nullptr}};
  auto orders = history.SaleOrders();
  if (!orders.ok()) return orders.status();
  set.sale_orders = *orders;
  auto currency = history.MainCurrency();
  if (!currency.ok()) return currency.status();
  if (!*currency) return set;
  set.currency = **currency;
  const int64_t read_started = SteadyMs();
  std::vector<CustomerHistory> customers;
  CJD_RETURN_IF_ERROR(history.ForEachCustomer(
      set.currency, as_of_day, [&](int64_t id, const std::vector<hub::PurchaseDay>& days) {
        CustomerHistory c;
        c.customer_id = id;
        c.days.reserve(days.size());
        for (const hub::PurchaseDay& d : days) c.days.push_back({d.day, d.value_cents});
        customers.push_back(std::move(c));
        return Status::Ok();
      }));
  set.read_ms = SteadyMs() - read_started;
  if (customers.empty()) return set;
  const int64_t fit_started = SteadyMs();
  BacktestOptions options;
  options.as_of_day = as_of_day;
  options.horizon_days = horizon_days;
  Result<BacktestResult> result = RunBacktest(customers, options);
  customers = {};
  if (!result.ok()) return result.status();
  set.model = ModelJson(*result);
  set.scores.reserve(result->customers.size());
  for (const CustomerScore& c : result->customers) {
    StoredScore s;
    s.profile_id = c.customer_id;
    s.purchase_days = c.purchase_days;
    s.recency_days = c.recency_days;
    s.age_days = c.age_days;
    s.expected_purchase_days = c.expected_purchase_days;
    s.p_alive = c.p_alive;
    s.churn_risk = c.churn_risk;
    s.predicted_clv_cents = c.predicted_clv_cents;
    set.scores.push_back(s);
  }
  // ForEachCustomer walks by profile id; keep the promise whatever RunBacktest's order.
  std::sort(set.scores.begin(), set.scores.end(),
            [](const StoredScore& a, const StoredScore& b) { return a.profile_id < b.profile_id; });
  set.fit_ms = SteadyMs() - fit_started;
  return set;
}

// ---- PredictionReader ----------------------------------------------------------------------

Result<std::unique_ptr<PredictionReader>> PredictionReader::Open(const std::string& path) {
  auto store = PredictionStore::Open(path, /*read_only=*/true);
  if (!store.ok()) return store.status();
  return std::unique_ptr<PredictionReader>(new PredictionReader(std::move(*store)));
}

Result<std::optional<PredictionReader::Entry>> PredictionReader::Read(int64_t profile_id) {
  std::lock_guard lock(mu_);
  auto score = store_->Score(profile_id);
  if (!score.ok()) return score.status();
  if (!*score) return std::optional<Entry>();
  auto model = store_->Model();
  if (!model.ok()) return model.status();
  if (!*model) return std::optional<Entry>();
  return std::optional<Entry>(Entry{std::move(**model), **score});
}

Status PredictionReader::Page(int64_t after, int limit, std::optional<StoredModel>* model,
                              std::vector<StoredScore>* scores) {
  std::lock_guard lock(mu_);
  return store_->Page(after, limit, model, scores);
}

Result<std::optional<StoredModel>> PredictionReader::Model() {
  std::lock_guard lock(mu_);
  return store_->Model();
}

json PredictionTraits(const std::optional<PredictionReader::Entry>& entry, int32_t horizon_days) {
  const std::string n = std::to_string(horizon_days);
  json t = {{"expected_purchase_days_" + n + "d", nullptr},
            {"p_alive", nullptr},
            {"churn_risk", nullptr},
            {"predicted_clv_" + n + "d", nullptr},
            {"predictions", nullptr}};
  if (!entry || entry->model.horizon_days != horizon_days) return t;
  const StoredScore& s = entry->score;
  t["expected_purchase_days_" + n + "d"] = Round4(s.expected_purchase_days) / 10'000.0;
  if (s.p_alive) t["p_alive"] = Round4(*s.p_alive) / 10'000.0;
  t["churn_risk"] = Round4(s.churn_risk) / 10'000.0;
  if (s.predicted_clv_cents) t["predicted_clv_" + n + "d"] = CentsText(*s.predicted_clv_cents);
  const json model = json::parse(entry->model.model_json, nullptr, false);
  std::string fit = "unknown";
  if (model.is_object() && model.contains("model") && model["model"].is_object()) {
    fit = model["model"].value("fit", "unknown");
  }
  t["predictions"] = {{"as_of", entry->model.as_of},
                      {"horizon_days", entry->model.horizon_days},
                      {"currency", entry->model.currency},
                      {"fit", fit}};
  return t;
}

// ---- Predictor -----------------------------------------------------------------------------

Predictor::Predictor(PredictorOptions options, const Clock* clock)
    : options_(std::move(options)), clock_(clock) {}

Predictor::~Predictor() { Stop(); }

Status Predictor::Start(bool thread) {
  auto store = PredictionStore::Open(options_.path, /*read_only=*/false);
  if (!store.ok()) return store.status();
  store_ = std::move(*store);
  auto history = PurchaseHistoryReader::Open(options_.profiles_path);
  if (!history.ok()) return history.status();
  history_ = std::move(*history);
  auto api_history = PurchaseHistoryReader::Open(options_.profiles_path);
  if (!api_history.ok()) return api_history.status();
  api_history_ = std::move(*api_history);
  auto live_history = PurchaseHistoryReader::Open(options_.profiles_path);
  if (!live_history.ok()) return live_history.status();
  live_history_ = std::move(*live_history);
  if (thread) worker_.Start("predictions", [this] { Run(); });
  return Status::Ok();
}

void Predictor::Stop() { worker_.Stop(); }

void Predictor::ProfilesChanged(const std::vector<int64_t>& ids) {
  if (ids.empty()) return;
  {
    std::lock_guard lock(worker_.mu());
    queue_.insert(queue_.end(), ids.begin(), ids.end());
  }
  worker_.Notify();
}

int32_t Predictor::LiveAsOfDay() const {
  const int64_t now = clock_->NowMillis();
  return static_cast<int32_t>((now >= 0 ? now / kDayMs : (now - kDayMs + 1) / kDayMs) + 1);
}

PredictorStats Predictor::Stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

Result<std::vector<int64_t>> Predictor::NotLive(const std::vector<int64_t>& ids) {
  std::lock_guard lock(live_mu_);
  return live_history_->NotLive(ids);
}

Status Predictor::DeleteGone(std::vector<int64_t> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  auto gone = history_->NotLive(ids);
  if (!gone.ok()) return gone.status();
  auto n = store_->Delete(*gone);
  if (!n.ok()) return n.status();
  std::lock_guard lock(stats_mu_);
  stats_.deleted_scores += *n;
  return Status::Ok();
}

Result<bool> Predictor::Due() {
  auto orders = history_->SaleOrders();
  if (!orders.ok()) return orders.status();
  // An import still running: a fit now would be redone soon after; wait for it to settle.
  const int64_t previous = checked_orders_;
  checked_orders_ = *orders;
  const bool importing =
      previous >= 0 && *orders - previous > std::max<int64_t>(100, previous / 100);
  if (*orders == 0) return false;
  if (failed_at_orders_ == *orders) return false;  // nothing new since a failure
  auto model = store_->Model();
  if (!model.ok()) return model.status();
  if (!*model) return !importing;
  const StoredModel& m = **model;
  if (m.horizon_days != options_.horizon_days) return true;
  if (clock_->NowMillis() - m.computed_ms >= options_.refit_interval_ms) return true;
  if (!importing && *orders > m.sale_orders &&
      (*orders - m.sale_orders) * 100 >= m.sale_orders * options_.refit_growth_percent) {
    return true;
  }
  return false;
}

Status Predictor::Refit(StoredModel* stored) {
  const int64_t started = SteadyMs();
  Result<PredictionSet> set =
      ComputePredictions(*history_, LiveAsOfDay(), options_.horizon_days, clock_->NowMillis());
  auto fail = [&](const Status& st) {
    auto orders = history_->SaleOrders();
    failed_at_orders_ = orders.ok() ? *orders : -1;
    std::lock_guard lock(stats_mu_);
    stats_.last_error = st.ToString();
    return st;
  };
  if (!set.ok()) return fail(set.status());
  StoredModel m;
  m.as_of = set->as_of;
  m.horizon_days = set->horizon_days;
  m.currency = set->currency;
  m.computed_ms = clock_->NowMillis();
  m.customers = static_cast<int64_t>(set->scores.size());
  m.sale_orders = set->sale_orders;
  m.model_json = set->model.dump();
  const int64_t write_started = SteadyMs();
  if (Status st = store_->Replace(m, set->scores); !st.ok()) return fail(st);
  const int64_t write_ms = SteadyMs() - write_started;
  failed_at_orders_ = -1;
  const int64_t took = SteadyMs() - started;
  {
    std::lock_guard lock(stats_mu_);
    ++stats_.refits;
    stats_.last_refit_at_ms = m.computed_ms;
    stats_.last_refit_duration_ms = took;
    stats_.last_refit_customers = m.customers;
    stats_.last_refit_read_ms = set->read_ms;
    stats_.last_refit_fit_ms = set->fit_ms;
    stats_.last_refit_write_ms = write_ms;
    stats_.last_error.clear();
  }
  spdlog::info(
      "predictions: refit as of {} for {} days: {} customers in {}, {} ms (history read {} ms, "
      "fits and scores {} ms, written {} ms)",
      m.as_of, m.horizon_days, m.customers, m.currency.empty() ? "(no currency)" : m.currency,
      took, set->read_ms, set->fit_ms, write_ms);
  if (stored != nullptr) *stored = std::move(m);
  if (on_refit_) on_refit_();
  return Status::Ok();
}

Result<StoredModel> Predictor::RefitNow() {
  std::lock_guard lock(refit_mu_);
  StoredModel m;
  CJD_RETURN_IF_ERROR(Refit(&m));
  return m;
}

Result<std::shared_ptr<const PredictionSet>> Predictor::Backtest(int32_t as_of_day,
                                                                 int32_t horizon_days) {
  std::lock_guard lock(backtest_mu_);
  const int64_t now = clock_->NowMillis();
  if (cached_ && cached_->as_of_day == as_of_day && cached_->horizon_days == horizon_days &&
      now - cached_at_ms_ < options_.backtest_cache_ms && now >= cached_at_ms_) {
    return cached_;
  }
  cached_.reset();  // its memory goes before the next one is built
  Result<PredictionSet> set = ComputePredictions(*api_history_, as_of_day, horizon_days, now);
  if (!set.ok()) return set.status();
  cached_ = std::make_shared<const PredictionSet>(std::move(*set));
  cached_at_ms_ = now;
  return cached_;
}

void Predictor::Run() {
  std::unique_lock lock(worker_.mu());
  int64_t next_check = SteadyMs();  // a due check at start
  while (!worker_.stopping()) {
    const int64_t wait = next_check - SteadyMs();
    if (queue_.empty() && wait > 0) {
      worker_.WaitFor(lock, std::chrono::milliseconds(wait), [&] { return !queue_.empty(); });
      if (worker_.stopping()) return;
    }
    std::vector<int64_t> ids;
    ids.swap(queue_);
    const bool check = SteadyMs() >= next_check;
    if (check) next_check = SteadyMs() + options_.check_interval_ms;
    lock.unlock();
    {
      std::lock_guard refit(refit_mu_);
      if (!ids.empty()) {
        if (Status st = DeleteGone(std::move(ids)); !st.ok()) {
          spdlog::error("predictions: deleting the scores of gone profiles: {}", st.ToString());
        }
      }
      if (check) {
        Result<bool> due = Due();
        if (!due.ok()) {
          spdlog::error("predictions: checking whether a refit is due: {}",
                        due.status().ToString());
        } else if (*due) {
          if (Status st = Refit(nullptr); !st.ok()) {
            spdlog::error("predictions: refit failed: {}", st.ToString());
          }
        }
      }
    }
    lock.lock();
  }
}

}  // namespace cjd::hub::predictions

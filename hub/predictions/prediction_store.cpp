#include "hub/predictions/prediction_store.h"

namespace cjd::hub::predictions {
namespace {

// Append-only (shared/storage/sqlite.h). Only this file reads and writes these tables.
const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE model (
        id           INTEGER PRIMARY KEY CHECK (id = 1),
        as_of        TEXT NOT NULL,           -- YYYY-MM-DD, exclusive end of the history read
        horizon_days INTEGER NOT NULL,
        currency     TEXT NOT NULL,
        computed_ms  INTEGER NOT NULL,
        customers    INTEGER NOT NULL,
        sale_orders  INTEGER NOT NULL,
        model_json   TEXT NOT NULL
      );
      CREATE TABLE scores (
        profile_id              INTEGER PRIMARY KEY,  -- a live profile of profiles.db
        purchase_days           INTEGER NOT NULL,
        recency_days            REAL NOT NULL,
        age_days                REAL NOT NULL,
        expected_purchase_days  REAL NOT NULL,
        p_alive                 REAL,                 -- NULL: the fit is degenerate
        churn_risk              REAL NOT NULL,
        predicted_clv_cents     REAL                  -- NULL: no usable spend model
      );
    )sql"},
};

#define CJD_SCORE_COLUMNS                                                                 \
  "profile_id, purchase_days, recency_days, age_days, expected_purchase_days, p_alive, " \
  "churn_risk, predicted_clv_cents"

StoredScore ReadScore(const sqlite::Statement& s) {
  StoredScore r;
  r.profile_id = s.ColumnInt(0);
  r.purchase_days = static_cast<int32_t>(s.ColumnInt(1));
  r.recency_days = s.ColumnDouble(2);
  r.age_days = s.ColumnDouble(3);
  r.expected_purchase_days = s.ColumnDouble(4);
  if (!s.ColumnIsNull(5)) r.p_alive = s.ColumnDouble(5);
  r.churn_risk = s.ColumnDouble(6);
  if (!s.ColumnIsNull(7)) r.predicted_clv_cents = s.ColumnDouble(7);
  return r;
}

}  // namespace

Result<std::unique_ptr<PredictionStore>> PredictionStore::Open(const std::string& path,
                                                               bool read_only) {
  sqlite::OpenOptions options;
  options.read_only = read_only;
  options.synchronous_full = false;  // derived data: rebuilt by the next refit when lost
  auto db = sqlite::Database::Open(path, options);
  if (!db.ok()) return db.status();
  if (!read_only) CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  return std::unique_ptr<PredictionStore>(new PredictionStore(std::move(*db)));
}

Status PredictionStore::Replace(const StoredModel& m, const std::vector<StoredScore>& scores) {
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  CJD_RETURN_IF_ERROR(db_->Exec("DELETE FROM scores"));
  {
    auto s = statements_.Get(
        "INSERT OR REPLACE INTO model (id, as_of, horizon_days, currency, computed_ms, customers, "
        "sale_orders, model_json) VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    if (!s.ok()) return s.status();
    (*s)->Bind(1, m.as_of)
        .Bind(2, static_cast<int64_t>(m.horizon_days))
        .Bind(3, m.currency)
        .Bind(4, m.computed_ms)
        .Bind(5, m.customers)
        .Bind(6, m.sale_orders)
        .Bind(7, m.model_json);
    CJD_RETURN_IF_ERROR((*s)->Run());
  }
  auto s = statements_.Get("INSERT INTO scores (" CJD_SCORE_COLUMNS
                           ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!s.ok()) return s.status();
  for (const StoredScore& r : scores) {
    (*s)->Bind(1, r.profile_id)
        .Bind(2, static_cast<int64_t>(r.purchase_days))
        .BindDouble(3, r.recency_days)
        .BindDouble(4, r.age_days)
        .BindDouble(5, r.expected_purchase_days);
    if (r.p_alive) (*s)->BindDouble(6, *r.p_alive); else (*s)->BindNull(6);
    (*s)->BindDouble(7, r.churn_risk);
    if (r.predicted_clv_cents) (*s)->BindDouble(8, *r.predicted_clv_cents); else (*s)->BindNull(8);
    CJD_RETURN_IF_ERROR((*s)->Run());
  }
  return tx.Commit();
}

Result<int64_t> PredictionStore::Delete(const std::vector<int64_t>& ids) {
  if (ids.empty()) return int64_t{0};
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  auto s = statements_.Get("DELETE FROM scores WHERE profile_id = ?1");
  if (!s.ok()) return s.status();
  int64_t n = 0;
  for (const int64_t id : ids) {
    (*s)->Bind(1, id);
    CJD_RETURN_IF_ERROR((*s)->Run());
    n += db_->Changes();
  }
  CJD_RETURN_IF_ERROR(tx.Commit());
  return n;
}

Result<std::optional<StoredModel>> PredictionStore::Model() {
  auto s = statements_.Get(
      "SELECT as_of, horizon_days, currency, computed_ms, customers, sale_orders, model_json "
      "FROM model WHERE id = 1");
  if (!s.ok()) return s.status();
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  std::optional<StoredModel> out;
  if (*r) {
    StoredModel m;
    m.as_of = (*s)->ColumnText(0);
    m.horizon_days = static_cast<int32_t>((*s)->ColumnInt(1));
    m.currency = (*s)->ColumnText(2);
    m.computed_ms = (*s)->ColumnInt(3);
    m.customers = (*s)->ColumnInt(4);
    m.sale_orders = (*s)->ColumnInt(5);
    m.model_json = (*s)->ColumnText(6);
    out = std::move(m);
  }
  (*s)->Reset();
  return out;
}

Result<std::optional<StoredScore>> PredictionStore::Score(int64_t profile_id) {
  auto s = statements_.Get("SELECT " CJD_SCORE_COLUMNS " FROM scores WHERE profile_id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, profile_id);
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  std::optional<StoredScore> out;
  if (*r) out = ReadScore(**s);
  (*s)->Reset();
  return out;
}

Status PredictionStore::Page(int64_t after, int limit, std::optional<StoredModel>* model,
                             std::vector<StoredScore>* scores) {
  CJD_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  struct End {
    PredictionStore* p;
    ~End() {
      p->statements_.ResetAll();
      (void)p->db_->Exec("COMMIT");
    }
  } end{this};
  auto m = Model();
  if (!m.ok()) return m.status();
  *model = std::move(*m);
  scores->clear();
  auto s = statements_.Get("SELECT " CJD_SCORE_COLUMNS
                           " FROM scores WHERE profile_id > ?1 ORDER BY profile_id LIMIT ?2");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, after).Bind(2, static_cast<int64_t>(limit));
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    scores->push_back(ReadScore(**s));
  }
  return Status::Ok();
}

}  // namespace cjd::hub::predictions

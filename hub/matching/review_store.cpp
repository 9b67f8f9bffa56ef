#include "hub/matching/review_store.h"

namespace cjd::hub::matching {
namespace {

// Append-only (shared/storage/sqlite.h). Only this file reads and writes these tables.
const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE reviews (
        review_id    INTEGER PRIMARY KEY,
        a            INTEGER NOT NULL,        -- profile ids when found, a < b
        b            INTEGER NOT NULL,
        probability  REAL NOT NULL,
        created_ms   INTEGER NOT NULL,
        status       TEXT NOT NULL DEFAULT 'pending',  -- pending | merged | kept_apart
        decided_ms   INTEGER,
        merge_id     INTEGER,
        UNIQUE (a, b)
      );
      CREATE INDEX reviews_by_status ON reviews (status, review_id);
      CREATE INDEX reviews_by_b ON reviews (b);
    )sql"},
};

constexpr const char* kColumns =
    "review_id, a, b, probability, created_ms, status, coalesce(decided_ms, 0), "
    "coalesce(merge_id, 0)";

ReviewItem ReadItem(const sqlite::Statement& s) {
  ReviewItem r;
  r.review_id = s.ColumnInt(0);
  r.a = s.ColumnInt(1);
  r.b = s.ColumnInt(2);
  r.probability = s.ColumnDouble(3);
  r.created_ms = s.ColumnInt(4);
  r.status = s.ColumnText(5);
  r.decided_ms = s.ColumnInt(6);
  r.merge_id = s.ColumnInt(7);
  return r;
}

}  // namespace

Result<std::unique_ptr<ReviewStore>> ReviewStore::Open(const std::string& path) {
  sqlite::OpenOptions options;  // decisions are an operator's: synchronous FULL
  auto db = sqlite::Database::Open(path, options);
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  return std::unique_ptr<ReviewStore>(new ReviewStore(std::move(*db)));
}

Result<bool> ReviewStore::Add(int64_t a, int64_t b, double probability, int64_t now_ms) {
  auto s = db_->Prepare(
      "INSERT OR IGNORE INTO reviews (a, b, probability, created_ms) VALUES (?1, ?2, ?3, ?4)");
  if (!s.ok()) return s.status();
  s->Bind(1, std::min(a, b)).Bind(2, std::max(a, b)).BindDouble(3, probability).Bind(4, now_ms);
  CJD_RETURN_IF_ERROR(s->Run());
  return db_->Changes() > 0;
}

Result<int64_t> ReviewStore::AddMany(
    const std::vector<std::pair<std::pair<int64_t, int64_t>, double>>& pairs, int64_t now_ms) {
  if (pairs.empty()) return int64_t{0};
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  int64_t added = 0;
  for (const auto& [pair, probability] : pairs) {
    Result<bool> a = Add(pair.first, pair.second, probability, now_ms);
    if (!a.ok()) return a.status();
    added += *a ? 1 : 0;
  }
  CJD_RETURN_IF_ERROR(tx.Commit());
  return added;
}

Result<std::optional<ReviewItem>> ReviewStore::Get(int64_t review_id) {
  auto s = db_->Prepare(std::string("SELECT ") + kColumns + " FROM reviews WHERE review_id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, review_id);
  auto r = s->Step();
  if (!r.ok()) return r.status();
  if (!*r) return std::optional<ReviewItem>();
  return std::optional<ReviewItem>(ReadItem(*s));
}

Result<std::vector<ReviewItem>> ReviewStore::List(const std::string& status, int64_t after,
                                                  int limit) {
  auto s = db_->Prepare(std::string("SELECT ") + kColumns +
                        " FROM reviews WHERE (?1 = '' OR status = ?1) AND review_id > ?2 "
                        "ORDER BY review_id LIMIT ?3");
  if (!s.ok()) return s.status();
  s->Bind(1, std::string_view(status)).Bind(2, after).Bind(3, static_cast<int64_t>(limit));
  std::vector<ReviewItem> out;
  while (true) {
    auto r = s->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    out.push_back(ReadItem(*s));
  }
  return out;
}

Status ReviewStore::Decide(int64_t review_id, const std::string& status, int64_t merge_id,
                           int64_t now_ms) {
  auto s = db_->Prepare(
      "UPDATE reviews SET status = ?2, merge_id = nullif(?3, 0), decided_ms = ?4 "
      "WHERE review_id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, review_id).Bind(2, std::string_view(status)).Bind(3, merge_id).Bind(4, now_ms);
  return s->Run();
}

Status ReviewStore::ForgetProfiles(const std::vector<int64_t>& profile_ids) {
  if (profile_ids.empty()) return Status::Ok();
  sqlite::Transaction tx(*db_);  // (reviews_by_b and the UNIQUE (a, b) index serve both sides)
  CJD_RETURN_IF_ERROR(tx.status());
  auto s = db_->Prepare("DELETE FROM reviews WHERE a = ?1 OR b = ?1");
  if (!s.ok()) return s.status();
  for (int64_t id : profile_ids) {
    s->Reset();
    s->Bind(1, id);
    CJD_RETURN_IF_ERROR(s->Run());
  }
  return tx.Commit();
}

Result<int64_t> ReviewStore::CountPending() {
  return db_->QueryInt("SELECT count(*) FROM reviews WHERE status = 'pending'");
}

}  // namespace cjd::hub::matching

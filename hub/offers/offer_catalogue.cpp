#include "hub/offers/offer_catalogue.h"

#include <spdlog/spdlog.h>

#include "shared/event/event.h"
#include "shared/storage/postgres.h"

namespace cjd::hub::offers {

using nlohmann::json;

namespace {

// The shared catalogue's table (module `offers` of the database's schema_versions).
const std::vector<pg::Migration> kPgMigrations = {
    {1,
     "CREATE TABLE offers_catalogue ("
     "  id          text PRIMARY KEY,"
     "  spec        text NOT NULL,"
     "  version     bigint NOT NULL,"
     "  deleted     boolean NOT NULL,"
     "  created_ms  bigint NOT NULL,"
     "  updated_ms  bigint NOT NULL);"},
    // Who last sent the devices their offers: the numbering their items carry (OfferPlanner).
    {2,
     "CREATE TABLE offers_sender ("
     "  one        boolean PRIMARY KEY DEFAULT true CHECK (one),"
     "  numbering  text NOT NULL,"
     "  since_ms   bigint NOT NULL);"},
    // The highest version it had numbered when it recorded itself: a later taker numbers above
    // it, so a sender that recorded itself and sent moments before is never overlapped.
    {3, "ALTER TABLE offers_sender ADD COLUMN top bigint NOT NULL DEFAULT 0;"},
};

constexpr const char* kPgInsert =
    "INSERT INTO offers_catalogue (id, spec, version, deleted, created_ms, updated_ms) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO NOTHING";

// A change that lost to another instance's write is made again on the fresh row, this often.
constexpr int kWriteAttempts = 5;

Result<OfferRow> RowFrom(const std::string& where, const std::string& id,
                         std::string_view spec_text, int64_t version, bool deleted,
                         int64_t created_ms, int64_t updated_ms) {
  const json body = json::parse(spec_text, nullptr, /*allow_exceptions=*/false);
  auto spec = ParseOfferSpec(body);
  if (!spec.ok()) {
    return Status::Internal(where + ": offer " + id + " does not parse: " +
                            spec.status().ToString());
  }
  OfferRow r;
  r.spec = std::move(*spec);
  r.version = version;
  r.deleted = deleted;
  r.created_ms = created_ms;
  r.updated_ms = updated_ms;
  return r;
}

std::vector<pg::Param> PgParams(const OfferRow& row) {
  return {pg::Text(row.spec.id),   pg::Text(row.spec.ToJson().dump()),
          pg::Int(row.version),    pg::Text(row.deleted ? "true" : "false"),
          pg::Int(row.created_ms), pg::Int(row.updated_ms)};
}

}  // namespace

json OfferRow::ToJson() const {
  json j = spec.ToJson();
  j["version"] = version;
  j["created_at"] = FormatRfc3339(created_ms);
  j["updated_at"] = FormatRfc3339(updated_ms);
  if (deleted) j["deleted"] = true;
  return j;
}

OfferCatalogue::OfferCatalogue(sqlite::Statement put) : put_(std::move(put)) {}
OfferCatalogue::OfferCatalogue(std::unique_ptr<pg::Connection> pg) : pg_(std::move(pg)) {}
OfferCatalogue::~OfferCatalogue() = default;

Result<std::unique_ptr<OfferCatalogue>> OfferCatalogue::Open(sqlite::Database& db) {
  auto put = db.Prepare(
      "INSERT INTO offers (id, spec, version, deleted, created_ms, updated_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id) DO UPDATE SET "
      "spec = ?2, version = ?3, deleted = ?4, created_ms = ?5, updated_ms = ?6");
  if (!put.ok()) return put.status();
  std::unique_ptr<OfferCatalogue> c(new OfferCatalogue(std::move(*put)));
  auto s = db.Prepare(
      "SELECT id, spec, version, deleted, created_ms, updated_ms FROM offers ORDER BY id");
  if (!s.ok()) return s.status();
  while (true) {
    auto row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    auto r = RowFrom("offers.db", s->ColumnText(0), s->ColumnView(1), s->ColumnInt(2),
                     s->ColumnInt(3) != 0, s->ColumnInt(4), s->ColumnInt(5));
    if (!r.ok()) return r.status();
    c->rows_[r->spec.id] = std::move(*r);
  }
  return c;
}

Result<std::unique_ptr<OfferCatalogue>> OfferCatalogue::OpenShared(const std::string& url,
                                                                   sqlite::Database& local) {
  auto db = pg::Connection::Open(url);
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate("offers", kPgMigrations));
  auto here = Open(local);
  if (!here.ok()) return here.status();
  std::unique_ptr<OfferCatalogue> c(new OfferCatalogue(std::move(*db)));
  CJD_RETURN_IF_ERROR(c->Refresh().status());
  // What this instance kept in offers.db before its offers moved into the database.
  int64_t copied = 0;
  std::vector<std::string> differ;
  for (const auto& [id, row] : (*here)->rows_) {
    auto in_db = c->rows_.find(id);
    if (in_db != c->rows_.end()) {
      if (in_db->second.version != row.version || !(in_db->second.spec == row.spec))
        differ.push_back(id);
      continue;
    }
    auto n = c->pg_->Run(kPgInsert, PgParams(row));
    if (!n.ok()) return n.status();
    copied += *n;
  }
  if (copied > 0) {
    spdlog::info("offers: copied {} offer(s) from this instance's offers.db into the database's "
                 "shared catalogue",
                 copied);
    CJD_RETURN_IF_ERROR(c->Refresh().status());
  }
  if (!differ.empty()) {
    spdlog::warn("offers: {} offer(s) of this instance's offers.db differ from the database's "
                 "shared catalogue, which is the one used (first: {}); offers.db's copies are "
                 "no longer read",
                 differ.size(), differ.front());
  }
  return c;
}

Result<bool> OfferCatalogue::Refresh() {
  if (!pg_) return false;
  // Every write raises one offer's version, so the sum moves with every committed write, in
  // whatever order concurrent writes commit (a sequence's maximum would not: a lower number
  // can commit after a higher one was read).
  auto sum = pg_->QueryInt("SELECT coalesce(sum(version), 0)::bigint FROM offers_catalogue");
  if (!sum.ok()) return sum.status();
  if (*sum == version_sum_) return false;
  auto rows = pg_->Query(
      "SELECT id, spec, version, deleted, created_ms, updated_ms FROM offers_catalogue");
  if (!rows.ok()) return rows.status();
  std::map<std::string, OfferRow> next;
  bool changed = false;
  for (const pg::Row& r : *rows) {
    auto row = RowFrom("offers_catalogue", r.Text(0), r.Text(1), r.Int(2), r.Text(3) == "t",
                       r.Int(4), r.Int(5));
    if (!row.ok()) {
      // Written by an instance of a newer version (or by hand): one offer this instance cannot
      // read must not take the others with it. Its earlier copy, if any, is kept -- as deleted
      // when the row says it was deleted (its spec need not be readable for that).
      auto held = rows_.find(r.Text(0));
      const bool deleted = r.Text(3) == "t";
      spdlog::error("offers: {}; {}", row.status().message(),
                    held == rows_.end() ? "not used by this instance"
                    : deleted           ? "it was deleted: this instance deletes its copy"
                                        : "this instance keeps its earlier copy");
      if (held != rows_.end()) {
        OfferRow kept = held->second;
        if (deleted && !kept.deleted) {
          kept.deleted = true;
          changed = true;
        }
        // The row's version either way: a change made through this instance is made on it
        // (an older one would never match, and every PUT/DELETE would end in 409).
        kept.version = r.Int(2);
        kept.updated_ms = r.Int(5);
        next[held->first] = std::move(kept);
      }
      continue;
    }
    auto held = rows_.find(row->spec.id);
    changed = changed || held == rows_.end() || held->second.version != row->version;
    next[row->spec.id] = std::move(*row);
  }
  changed = changed || next.size() != rows_.size();
  moved_ = moved_ || changed;
  rows_ = std::move(next);
  version_sum_ = *sum;  // read before the rows: a write between the two is read again next time
  return changed;
}

Result<bool> OfferCatalogue::Write(const OfferRow& row, int64_t previous) {
  if (!pg_) {
    put_->Reset();
    put_->Bind(1, row.spec.id)
        .Bind(2, row.spec.ToJson().dump())
        .Bind(3, row.version)
        .Bind(4, int64_t{row.deleted ? 1 : 0})
        .Bind(5, row.created_ms)
        .Bind(6, row.updated_ms);
    CJD_RETURN_IF_ERROR(put_->Run());  // autocommit: one durable write
    return true;
  }
  std::vector<pg::Param> params = PgParams(row);
  Result<int64_t> n = int64_t{0};
  if (previous == 0) {
    n = pg_->Run(kPgInsert, params);
  } else {
    params.push_back(pg::Int(previous));
    n = pg_->Run(
        "UPDATE offers_catalogue SET spec = $2, version = $3, deleted = $4, created_ms = $5, "
        "updated_ms = $6 WHERE id = $1 AND version = $7",
        params);
  }
  if (!n.ok()) return n.status();
  return *n == 1;
}

Result<OfferCatalogue::PutResult> OfferCatalogue::Put(const OfferSpec& spec, int64_t now_ms) {
  for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
    CJD_RETURN_IF_ERROR(Refresh().status());
    PutResult out;
    out.row.spec = spec;
    out.row.created_ms = now_ms;
    out.row.updated_ms = now_ms;
    out.row.version = 1;
    out.created = true;
    out.changed = true;
    int64_t previous = 0;
    auto it = rows_.find(spec.id);
    if (it != rows_.end()) {
      previous = it->second.version;
      out.row.version = it->second.version + 1;
      if (!it->second.deleted) {
        out.created = false;
        out.row.created_ms = it->second.created_ms;
        if (it->second.spec == spec) return PutResult{it->second, false, false};
      }
    }
    auto wrote = Write(out.row, previous);
    if (!wrote.ok()) return wrote.status();
    if (*wrote) {
      rows_[spec.id] = out.row;
      return out;
    }
  }
  return Status(Code::kConflict,
                "offer " + spec.id + " is being changed through another hub instance; try again");
}

Result<OfferRow> OfferCatalogue::Delete(const std::string& id, int64_t now_ms) {
  for (int attempt = 0; attempt < kWriteAttempts; ++attempt) {
    CJD_RETURN_IF_ERROR(Refresh().status());
    auto it = rows_.find(id);
    if (it == rows_.end() || it->second.deleted) return Status::NotFound("no offer " + id);
    OfferRow row = it->second;
    row.deleted = true;
    row.version += 1;
    row.updated_ms = now_ms;
    auto wrote = Write(row, it->second.version);
    if (!wrote.ok()) return wrote.status();
    if (*wrote) {
      it->second = row;
      return row;
    }
  }
  return Status(Code::kConflict,
                "offer " + id + " is being changed through another hub instance; try again");
}

std::vector<OfferRow> OfferCatalogue::List(bool include_deleted) const {
  std::vector<OfferRow> out;
  for (const auto& [id, row] : rows_)
    if (include_deleted || !row.deleted) out.push_back(row);
  return out;
}

const OfferRow* OfferCatalogue::Find(const std::string& id) const {
  auto it = rows_.find(id);
  return it == rows_.end() ? nullptr : &it->second;
}

int64_t OfferCatalogue::live_count() const {
  int64_t live = 0;
  for (const auto& [id, row] : rows_) live += row.deleted ? 0 : 1;
  return live;
}

Result<OfferCatalogue::Sender> OfferCatalogue::LastSender() {
  if (!pg_) return Sender{};
  auto rows = pg_->Query("SELECT numbering, top FROM offers_sender");
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return Sender{};
  const int64_t top = rows->front().Int(1);
  return Sender{rows->front().Text(0), top > 0 ? static_cast<uint64_t>(top) : 0};
}

Status OfferCatalogue::RecordSender(const std::string& numbering, uint64_t top, int64_t now_ms) {
  if (!pg_) return Status::Ok();
  auto n = pg_->Run("INSERT INTO offers_sender (numbering, since_ms, top) VALUES ($1, $2, $3) "
                    "ON CONFLICT (one) DO UPDATE SET numbering = $1, since_ms = $2, top = $3",
                    {pg::Text(numbering), pg::Int(now_ms), pg::Int(static_cast<int64_t>(top))});
  return n.status();
}

}  // namespace cjd::hub::offers

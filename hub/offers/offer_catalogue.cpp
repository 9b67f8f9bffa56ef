#include "hub/offers/offer_catalogue.h"

#include "shared/event/event.h"

namespace cjd::hub::offers {

using nlohmann::json;

json OfferRow::ToJson() const {
  json j = spec.ToJson();
  j["version"] = version;
  j["created_at"] = FormatRfc3339(created_ms);
  j["updated_at"] = FormatRfc3339(updated_ms);
  if (deleted) j["deleted"] = true;
  return j;
}

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
    const json body = json::parse(s->ColumnView(1), nullptr, /*allow_exceptions=*/false);
    auto spec = ParseOfferSpec(body);
    if (!spec.ok()) {
      return Status::Internal("offers.db: offer " + s->ColumnText(0) +
                              " does not parse: " + spec.status().ToString());
    }
    OfferRow r;
    r.spec = std::move(*spec);
    r.version = s->ColumnInt(2);
    r.deleted = s->ColumnInt(3) != 0;
    r.created_ms = s->ColumnInt(4);
    r.updated_ms = s->ColumnInt(5);
    c->rows_[r.spec.id] = std::move(r);
  }
  return c;
}

Status OfferCatalogue::Write(const OfferRow& row) {
  put_.Reset();
  put_.Bind(1, row.spec.id)
      .Bind(2, row.spec.ToJson().dump())
      .Bind(3, row.version)
      .Bind(4, int64_t{row.deleted ? 1 : 0})
      .Bind(5, row.created_ms)
      .Bind(6, row.updated_ms);
  return put_.Run();  // autocommit: one durable write
}

Result<OfferCatalogue::PutResult> OfferCatalogue::Put(const OfferSpec& spec, int64_t now_ms) {
  PutResult out;
  out.row.spec = spec;
  out.row.created_ms = now_ms;
  out.row.updated_ms = now_ms;
  out.row.version = 1;
  out.created = true;
  out.changed = true;
  auto it = rows_.find(spec.id);
  if (it != rows_.end()) {
    out.row.version = it->second.version + 1;
    if (!it->second.deleted) {
      out.created = false;
      out.row.created_ms = it->second.created_ms;
      if (it->second.spec == spec) return PutResult{it->second, false, false};
    }
  }
  CJD_RETURN_IF_ERROR(Write(out.row));
  rows_[spec.id] = out.row;
  return out;
}

Result<OfferRow> OfferCatalogue::Delete(const std::string& id, int64_t now_ms) {
  auto it = rows_.find(id);
  if (it == rows_.end() || it->second.deleted) return Status::NotFound("no offer " + id);
  OfferRow row = it->second;
  row.deleted = true;
  row.version += 1;
  row.updated_ms = now_ms;
  CJD_RETURN_IF_ERROR(Write(row));
  it->second = row;
  return row;
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

}  // namespace cjd::hub::offers

#include "hub/projection/profile_facts.h"

#include "shared/event/event.h"

namespace cjd::hub {

using json = nlohmann::json;

void PublicAttributes(const IdentityKeys& keys, std::string_view stored, json* attributes,
                      json* consent, std::optional<int64_t>* consent_ms) {
  *attributes = json::object();
  *consent = nullptr;
  consent_ms->reset();
  // Raw numbers of the canonical text become JSON numbers, as the document shows them.
  json j = json::parse(CanonicalJsonValue(OpenAttributes(keys, stored)), nullptr,
                       /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it.value().is_object() || !it.value().contains("v")) continue;
    if (it.key() == "$consent") {  // the hub's own key (see projector.cpp)
      *consent = it.value()["v"];
      if (it.value().contains("t") && it.value()["t"].is_number_integer()) {
        *consent_ms = it.value()["t"].get<int64_t>();
      }
      continue;
    }
    if (!it.key().empty() && it.key()[0] == '$') continue;
    if (!it.value()["v"].is_null()) (*attributes)[it.key()] = it.value()["v"];
  }
}

struct ProfileFactsReader::Statements {
  sqlite::Statement profile, orders, favourite_store, favourite_category, live_with_attributes,
      live_id;
};

Result<std::unique_ptr<ProfileFactsReader>> ProfileFactsReader::Open(
    const std::string& profiles_path, const IdentityKeys& keys, const RfmModel* rfm) {
  sqlite::OpenOptions ro;
  ro.read_only = true;
  auto db = sqlite::Database::Open(profiles_path, ro);
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR(RegisterMoneyFunctions((*db)->raw()));
  auto st = std::make_unique<Statements>();
  auto prep = [&](sqlite::Statement* out, const char* sql) -> Status {
    auto s = (*db)->Prepare(sql);
    if (!s.ok()) return s.status();
    *out = std::move(*s);
    return Status::Ok();
  };
  CJD_RETURN_IF_ERROR(prep(&st->profile,
      "SELECT merged_into, first_seen_ms, last_seen_ms, events, loyalty_scans, channels, "
      "attributes FROM profiles WHERE profile_id = ?1"));
  // The same queries as ProfileReader's traits (profile_reader.cpp), so the figures agree.
  CJD_RETURN_IF_ERROR(prep(&st->orders,
      "SELECT currency, count(*) FILTER (WHERE sale_lines > 0), money_sum(gross), "
      "money_sum(returns), max(occurred_at_ms) FILTER (WHERE sale_lines > 0) FROM orders "
      "WHERE profile_id = ?1 GROUP BY currency "
      "ORDER BY count(*) FILTER (WHERE sale_lines > 0) DESC, currency LIMIT 1"));
  CJD_RETURN_IF_ERROR(prep(&st->favourite_store,
      "SELECT store_id FROM orders WHERE profile_id = ?1 AND sale_lines > 0 AND store_id != '' "
      "GROUP BY store_id ORDER BY count(*) DESC, max(occurred_at_ms) DESC LIMIT 1"));
  CJD_RETURN_IF_ERROR(prep(&st->favourite_category,
      "SELECT category FROM profile_categories WHERE profile_id = ?1 "
      "ORDER BY quantity DESC, category LIMIT 1"));
  CJD_RETURN_IF_ERROR(prep(&st->live_with_attributes,
      "SELECT profile_id FROM profiles WHERE profile_id > ?1 AND merged_into IS NULL AND "
      "attributes <> '{}' ORDER BY profile_id LIMIT ?2"));
  CJD_RETURN_IF_ERROR(prep(&st->live_id,
      "SELECT coalesce(merged_into, profile_id) FROM profiles WHERE profile_id = ?1"));
  return std::unique_ptr<ProfileFactsReader>(
      new ProfileFactsReader(std::move(*db), std::move(st), keys, rfm));
}

ProfileFactsReader::ProfileFactsReader(std::unique_ptr<sqlite::Database> db,
                                       std::unique_ptr<Statements> st,
                                       const IdentityKeys& keys, const RfmModel* rfm)
    : db_(std::move(db)), st_(std::move(st)), keys_(keys), rfm_(rfm) {}

ProfileFactsReader::~ProfileFactsReader() { End(); }

Status ProfileFactsReader::Begin() {
  End();
  CJD_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  in_snapshot_ = true;
  return Status::Ok();
}

void ProfileFactsReader::End() {
  if (!in_snapshot_) return;
  st_->profile.Reset();
  st_->orders.Reset();
  st_->favourite_store.Reset();
  st_->favourite_category.Reset();
  st_->live_with_attributes.Reset();
  st_->live_id.Reset();
  (void)db_->Exec("COMMIT");
  in_snapshot_ = false;
}

namespace {
// Steps `s` (bound to the profile) once; the caller reads the row, then resets.
Result<bool> First(sqlite::Statement& s, int64_t profile_id) {
  s.Reset();
  s.Bind(1, profile_id);
  auto r = s.Step();
  if (!r.ok()) s.Reset();
  return r;
}
}  // namespace

Result<std::optional<ProfileFactsRow>> ProfileFactsReader::Read(int64_t profile_id,
                                                                const ProfileFactsNeeds& needs) {
  ProfileFactsRow row;
  row.profile_id = profile_id;
  {
    sqlite::Statement& p = st_->profile;
    auto r = First(p, profile_id);
    if (!r.ok()) return r.status();
    if (!*r || !p.ColumnIsNull(0)) {
      p.Reset();
      return std::optional<ProfileFactsRow>();
    }
    row.first_seen_ms = p.ColumnInt(1);
    row.last_seen_ms = p.ColumnInt(2);
    row.events = p.ColumnInt(3);
    row.loyalty_scans = p.ColumnInt(4);
    const std::string_view channels = p.ColumnView(5);
    size_t start = 0;
    while (start < channels.size()) {
      size_t comma = channels.find(',', start);
      if (comma == std::string_view::npos) comma = channels.size();
      row.channels.emplace_back(channels.substr(start, comma - start));
      start = comma + 1;
    }
    if (needs.attributes) {
      std::optional<int64_t> consent_ms;
      PublicAttributes(keys_, p.ColumnView(6), &row.attributes, &row.consent, &consent_ms);
    }
    p.Reset();
  }
  if (needs.orders) {
    sqlite::Statement& o = st_->orders;
    auto r = First(o, profile_id);
    if (!r.ok()) return r.status();
    if (*r) {
      row.currency = o.ColumnText(0);
      row.orders = o.ColumnInt(1);
      row.gross = Money::Parse(o.ColumnView(2)).value_or(Money());
      row.returns = Money::Parse(o.ColumnView(3)).value_or(Money());
      if (!o.ColumnIsNull(4)) row.last_order_ms = o.ColumnInt(4);
    }
    o.Reset();
    if (rfm_ != nullptr && row.last_order_ms) {
      row.rfm = rfm_->Score(row.currency, *row.last_order_ms, row.orders, row.gross);
    }
  }
  if (needs.favourite_store) {
    auto r = First(st_->favourite_store, profile_id);
    if (!r.ok()) return r.status();
    if (*r) row.favourite_store = st_->favourite_store.ColumnText(0);
    st_->favourite_store.Reset();
  }
  if (needs.favourite_category) {
    auto r = First(st_->favourite_category, profile_id);
    if (!r.ok()) return r.status();
    if (*r) row.favourite_category = st_->favourite_category.ColumnText(0);
    st_->favourite_category.Reset();
  }
  return std::optional<ProfileFactsRow>(std::move(row));
}

}  // namespace cjd::hub

namespace cjd::hub {

Result<std::vector<int64_t>> ProfileFactsReader::LiveWithAttributes(int64_t after, int limit) {
  sqlite::Statement& s = st_->live_with_attributes;
  s.Reset();
  s.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
  std::vector<int64_t> ids;
  while (true) {
    auto r = s.Step();
    if (!r.ok()) {
      s.Reset();
      return r.status();
    }
    if (!*r) break;
    ids.push_back(s.ColumnInt(0));
  }
  s.Reset();
  return ids;
}

Result<std::optional<int64_t>> ProfileFactsReader::LiveId(int64_t profile_id) {
  sqlite::Statement& s = st_->live_id;
  auto r = First(s, profile_id);
  if (!r.ok()) return r.status();
  std::optional<int64_t> live;
  if (*r) live = s.ColumnInt(0);
  s.Reset();
  return live;
}

}  // namespace cjd::hub

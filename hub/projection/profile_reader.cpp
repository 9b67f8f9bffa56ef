// ProfileReader: lookups by identifier, the profile document (identifiers, attributes, traits,
// latest events) and the counts for /v1/stats. The value metrics are in profile_metrics.cpp,
// one offer's figures in offer_stats.cpp.
#include "hub/projection/profile_reader.h"

#include <vector>

#include "hub/projection/money.h"
#include "hub/store/open_store.h"
#include "hub/projection/profile_facts.h"
#include "hub/projection/profile_reader_internal.h"
#include "hub/projection/projection_schema.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;
using reader_internal::ReadSnapshot;

// A JSON value from ParseJsonExact with raw numbers turned into JSON numbers for output.
json ForOutput(std::string_view canonical_text) {
  json j = json::parse(canonical_text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json() : j;
}

json TimeOrNull(int64_t ms, bool present) {
  return present ? json(FormatRfc3339(ms)) : json(nullptr);
}

}  // namespace

Result<std::unique_ptr<ProfileReader>> ProfileReader::Open(const std::string& profiles_path,
                                                           const std::string& log_path,
                                                           const IdentityKeys& keys,
                                                           const RfmModel* rfm,
                                                           std::shared_ptr<EventVault> vault) {
  auto db = OpenProjection(profiles_path, /*read_only=*/true);
  if (!db.ok()) return db.status();
  auto log = OpenEventLogReader(log_path, std::move(vault));
  if (!log.ok()) return log.status();
  return std::unique_ptr<ProfileReader>(
      new ProfileReader(std::move(*db), std::move(*log), keys, rfm));
}

Result<int64_t> ProfileReader::FindByIdentifier(const identity::IdKey& key) {
  ReadSnapshot snapshot(*db_, statements_);
  auto s = statements_.Get(
      "SELECT coalesce(p.merged_into, p.profile_id) FROM identifiers i "
      "JOIN profiles p ON p.profile_id = i.profile_id WHERE i.id_key = ?1");
  if (!s.ok()) return s.status();
  (*s)->BindBlob(1, std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  if (!*r) return Status::NotFound("no profile holds this identifier");
  return (*s)->ColumnInt(0);
}

Result<std::vector<ProfileReader::MergeRecord>> ProfileReader::MergesAfter(int64_t after,
                                                                          int64_t limit) {
  auto s = statements_.Get(
      "SELECT merge_id, survivor, absorbed, reason, probability, at_ms FROM merge_log "
      "WHERE merge_id > ?1 AND kind = 'merge' ORDER BY merge_id LIMIT ?2");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, after).Bind(2, limit);
  std::vector<MergeRecord> out;
  while (true) {
    auto row = (*s)->Step();
    if (!row.ok()) {
      (*s)->Reset();
      return row.status();
    }
    if (!*row) break;
    MergeRecord m;
    m.merge_id = (*s)->ColumnInt(0);
    m.survivor = (*s)->ColumnInt(1);
    m.absorbed = (*s)->ColumnInt(2);
    m.reason = (*s)->ColumnText(3);
    if (!(*s)->ColumnIsNull(4)) m.probability = (*s)->ColumnDouble(4);
    m.at_ms = (*s)->ColumnInt(5);
    out.push_back(std::move(m));
  }
  (*s)->Reset();
  return out;
}

Result<int64_t> ProfileReader::LastMergeId() {
  auto s = statements_.Get("SELECT coalesce(max(merge_id), 0) FROM merge_log");
  if (!s.ok()) return s.status();
  auto row = (*s)->Step();
  const int64_t id = row.ok() && *row ? (*s)->ColumnInt(0) : 0;
  (*s)->Reset();
  if (!row.ok()) return row.status();
  return id;
}

Result<std::vector<ProfileReader::RedemptionRecord>> ProfileReader::RedemptionsAfter(
    int64_t after, int64_t limit) {
  auto s = statements_.Get(
      "SELECT l.seq, l.offer_id, l.order_id, coalesce(r.profile_id, 0), l.at_ms "
      "FROM redemption_log l LEFT JOIN offer_redemptions r "
      "ON r.offer_id = l.offer_id AND r.order_id = l.order_id "
      "WHERE l.seq > ?1 ORDER BY l.seq LIMIT ?2");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, after).Bind(2, limit);
  std::vector<RedemptionRecord> out;
  while (true) {
    auto row = (*s)->Step();
    if (!row.ok()) {
      (*s)->Reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back(RedemptionRecord{(*s)->ColumnInt(0), (*s)->ColumnText(1), (*s)->ColumnText(2),
                                   (*s)->ColumnInt(3), (*s)->ColumnInt(4)});
  }
  (*s)->Reset();
  return out;
}

Result<int64_t> ProfileReader::LastRedemptionSeq() {
  auto s = statements_.Get("SELECT coalesce(max(seq), 0) FROM redemption_log");
  if (!s.ok()) return s.status();
  auto row = (*s)->Step();
  const int64_t seq = row.ok() && *row ? (*s)->ColumnInt(0) : 0;
  (*s)->Reset();
  if (!row.ok()) return row.status();
  return seq;
}

Result<json> ProfileReader::Identifiers(int64_t profile_id) {
  auto s = statements_.Get(
      "SELECT type, value, attached_ms FROM identifiers WHERE profile_id = ?1 "
      "ORDER BY type, attached_ms");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, profile_id);
  json out = json::array();
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    const auto type = static_cast<identity::IdType>((*s)->ColumnInt(0));
    Result<std::string> value = OpenValue(keys_, (*s)->ColumnView(1));
    out.push_back({{"type", identity::IdTypeName(type)},
                   {"value", value.ok() ? json(*value) : json(nullptr)},
                   {"attached_at", FormatRfc3339((*s)->ColumnInt(2))}});
  }
  return out;
}

Result<json> ProfileReader::Traits(int64_t profile_id, int64_t now_ms) {
  auto p = statements_.Get(
      "SELECT first_seen_ms, last_seen_ms, events, loyalty_scans, channels FROM profiles "
      "WHERE profile_id = ?1");
  if (!p.ok()) return p.status();
  (*p)->Bind(1, profile_id);
  auto pr = (*p)->Step();
  if (!pr.ok()) return pr.status();
  if (!*pr) return Status::NotFound("no profile " + std::to_string(profile_id));
  const int64_t events = (*p)->ColumnInt(2);
  json t;
  t["first_seen"] = TimeOrNull((*p)->ColumnInt(0), events > 0);
  t["last_seen"] = TimeOrNull((*p)->ColumnInt(1), events > 0);
  t["events"] = events;
  t["loyalty_scans"] = (*p)->ColumnInt(3);
  json channels = json::array();
  {
    const std::string text = (*p)->ColumnText(4);
    size_t start = 0;
    while (start < text.size()) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      channels.push_back(text.substr(start, comma - start));
      start = comma + 1;
    }
  }
  t["channels"] = channels;

  // Orders by currency: the traits use the currency with the most orders.
  auto o = statements_.Get(
      "SELECT currency, count(*) FILTER (WHERE sale_lines > 0), money_sum(gross), "
      "money_sum(returns), max(occurred_at_ms) FILTER (WHERE sale_lines > 0) FROM orders "
      "WHERE profile_id = ?1 GROUP BY currency "
      "ORDER BY count(*) FILTER (WHERE sale_lines > 0) DESC, currency LIMIT 1");
  if (!o.ok()) return o.status();
  (*o)->Bind(1, profile_id);
  auto orow = (*o)->Step();
  if (!orow.ok()) return orow.status();
  int64_t orders = 0;
  Money gross, returns;
  std::string currency;
  std::optional<int64_t> last_order_ms;
  if (*orow) {
    currency = (*o)->ColumnText(0);
    orders = (*o)->ColumnInt(1);
    gross = Money::Parse((*o)->ColumnView(2)).value_or(Money());
    returns = Money::Parse((*o)->ColumnView(3)).value_or(Money());
    if (!(*o)->ColumnIsNull(4)) last_order_ms = (*o)->ColumnInt(4);
  }
  const Money net = gross - returns;
  t["currency"] = currency.empty() ? json(nullptr) : json(currency);
  t["orders"] = orders;
  t["revenue_gross"] = gross.ToFixed(2);
  t["revenue_net"] = net.ToFixed(2);
  t["average_order_value"] = orders > 0 ? json(gross.DivideToFixed(orders, 2)) : json(nullptr);
  t["clv_gross"] = gross.ToFixed(2);  // historical CLV: the customer's value to date
  t["clv_net"] = net.ToFixed(2);
  t["last_order_at"] = last_order_ms ? json(FormatRfc3339(*last_order_ms)) : json(nullptr);
  t["days_since_last_order"] =
      last_order_ms ? json((now_ms - *last_order_ms) / 86'400'000) : json(nullptr);

  auto fav = statements_.Get(
      "SELECT store_id FROM orders WHERE profile_id = ?1 AND sale_lines > 0 AND store_id != '' "
      "GROUP BY store_id "
      "ORDER BY count(*) DESC, max(occurred_at_ms) DESC LIMIT 1");
  if (!fav.ok()) return fav.status();
  (*fav)->Bind(1, profile_id);
  auto fr = (*fav)->Step();
  if (!fr.ok()) return fr.status();
  t["favourite_store"] = *fr ? json((*fav)->ColumnText(0)) : json(nullptr);
  auto cat = statements_.Get(
      "SELECT category FROM profile_categories WHERE profile_id = ?1 "
      "ORDER BY quantity DESC, category LIMIT 1");
  if (!cat.ok()) return cat.status();
  (*cat)->Bind(1, profile_id);
  auto cr = (*cat)->Step();
  if (!cr.ok()) return cr.status();
  t["favourite_category"] = *cr ? json((*cat)->ColumnText(0)) : json(nullptr);

  std::optional<RfmScore> rfm;
  if (rfm_ != nullptr && last_order_ms) rfm = rfm_->Score(currency, *last_order_ms, orders, gross);
  if (rfm) {
    t["rfm"] = {{"recency", rfm->recency},
                {"frequency", rfm->frequency},
                {"monetary", rfm->monetary},
                {"score", std::to_string(rfm->recency) + std::to_string(rfm->frequency) +
                              std::to_string(rfm->monetary)}};
  } else {
    t["rfm"] = nullptr;
  }
  return t;
}

Result<json> ProfileReader::Profile(int64_t profile_id, int events_limit, int64_t events_before,
                                    int64_t now_ms) {
  ReadSnapshot snapshot(*db_, statements_);
  auto p = statements_.Get(
      "SELECT coalesce(merged_into, profile_id), created_ms FROM profiles WHERE profile_id = ?1");
  if (!p.ok()) return p.status();
  (*p)->Bind(1, profile_id);
  auto r = (*p)->Step();
  if (!r.ok()) return r.status();
  if (!*r) return Status::NotFound("no profile " + std::to_string(profile_id));
  const int64_t live = (*p)->ColumnInt(0);
  (*p)->Reset();
  json out;
  out["profile_id"] = live;
  if (live != profile_id) out["redirected_from"] = profile_id;
  (*p)->Bind(1, live);
  r = (*p)->Step();
  if (!r.ok() || !*r) return r.ok() ? Status::NotFound("no profile") : r.status();
  out["created_at"] = FormatRfc3339((*p)->ColumnInt(1));

  Result<json> ids = Identifiers(live);
  if (!ids.ok()) return ids.status();
  out["identifiers"] = std::move(*ids);

  auto a = statements_.Get("SELECT attributes FROM profiles WHERE profile_id = ?1");
  if (!a.ok()) return a.status();
  (*a)->Bind(1, live);
  auto ar = (*a)->Step();
  if (!ar.ok()) return ar.status();
  json attributes = json::object();
  json consent = {{"marketing", nullptr}, {"updated_at", nullptr}};
  if (*ar) {
    std::optional<int64_t> consent_ms;
    PublicAttributes(keys_, (*a)->ColumnView(0), &attributes, &consent["marketing"], &consent_ms);
    if (consent_ms) consent["updated_at"] = FormatRfc3339(*consent_ms);
  }
  out["attributes"] = std::move(attributes);

  Result<json> traits = Traits(live, now_ms);
  if (!traits.ok()) return traits.status();
  out["traits"] = std::move(*traits);
  out["traits"]["consent"] = std::move(consent);

  auto merged = statements_.Get("SELECT profile_id FROM profiles WHERE merged_into = ?1 ORDER BY 1");
  if (!merged.ok()) return merged.status();
  (*merged)->Bind(1, live);
  json merged_from = json::array();
  while (true) {
    auto m = (*merged)->Step();
    if (!m.ok()) return m.status();
    if (!*m) break;
    merged_from.push_back((*merged)->ColumnInt(0));
  }
  out["merged_from"] = std::move(merged_from);

  // The merges that made this profile and still hold (not split), with why they happened.
  auto merges = statements_.Get(
      "SELECT m.merge_id, m.absorbed, m.reason, m.probability, m.at_ms FROM merge_log m "
      "WHERE m.kind = 'merge' AND m.survivor IN "
      " (SELECT ?1 UNION ALL SELECT profile_id FROM profiles WHERE merged_into = ?1) "
      "AND NOT EXISTS (SELECT 1 FROM merge_log s WHERE s.kind = 'split' AND s.reverts = m.merge_id) "
      "ORDER BY m.merge_id");
  if (!merges.ok()) return merges.status();
  (*merges)->Bind(1, live);
  json merge_list = json::array();
  while (true) {
    auto m = (*merges)->Step();
    if (!m.ok()) return m.status();
    if (!*m) break;
    sqlite::Statement& st = **merges;
    merge_list.push_back({{"merge_id", st.ColumnInt(0)},
                          {"absorbed", st.ColumnInt(1)},
                          {"reason", st.ColumnText(2)},
                          {"probability", st.ColumnIsNull(3) ? json(nullptr) : json(st.ColumnDouble(3))},
                          {"at", FormatRfc3339(st.ColumnInt(4))}});
  }
  out["merges"] = std::move(merge_list);

  // Latest events first, paged by event row: the ids from the projection, the bodies from the log.
  auto ev = statements_.Get(
      "SELECT event_rowid FROM profile_events "
      "WHERE profile_id = ?1 AND (?2 = 0 OR event_rowid < ?2) "
      "ORDER BY event_rowid DESC LIMIT ?3");
  if (!ev.ok()) return ev.status();
  (*ev)->Bind(1, live).Bind(2, events_before).Bind(3, static_cast<int64_t>(events_limit) + 1);
  std::vector<int64_t> rowids;
  while (true) {
    auto e = (*ev)->Step();
    if (!e.ok()) return e.status();
    if (!*e) break;
    rowids.push_back((*ev)->ColumnInt(0));
  }
  (*ev)->Reset();
  const bool more = static_cast<int>(rowids.size()) > events_limit;
  if (more) rowids.resize(static_cast<size_t>(events_limit));
  const int64_t last_rowid = rowids.empty() ? 0 : rowids.back();
  json events = json::array();
  CJD_RETURN_IF_ERROR(log_->Visit(rowids, [&](const LoggedEvent& logged) -> Status {
    json body = ForOutput(logged.body);
    body.erase("occurred_at_ms");
    body.erase("schema");
    events.push_back({{"source", std::string(logged.source)}, {"event", std::move(body)}});
    return Status::Ok();
  }));
  out["events"] = std::move(events);
  out["next_events_before"] = more ? json(last_rowid) : json(nullptr);
  return out;
}

Result<json> ProfileReader::Counts() {
  json c = {{"profiles", 0}, {"merged_profiles", 0}, {"identifiers", 0}, {"orders", 0}};
  ReadSnapshot snapshot(*db_, statements_);
  auto s = statements_.Get(
      "SELECT key, value FROM meta "
      "WHERE key IN ('profiles', 'merged_profiles', 'identifiers', 'orders')");
  if (!s.ok()) return s.status();
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    c[(*s)->ColumnText(0)] = (*s)->ColumnInt(1);
  }
  return c;
}

}  // namespace cjd::hub

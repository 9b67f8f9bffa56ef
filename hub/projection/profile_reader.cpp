#include "hub/projection/profile_reader.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <set>
#include <vector>

#include "hub/projection/money.h"
#include "hub/projection/profile_facts.h"
#include "hub/projection/projection_schema.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

// A JSON value from ParseJsonExact with raw numbers turned into JSON numbers for output.
json ForOutput(std::string_view canonical_text) {
  json j = json::parse(canonical_text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? json() : j;
}

json TimeOrNull(int64_t ms, bool present) {
  return present ? json(FormatRfc3339(ms)) : json(nullptr);
}

bool IsDateParam(const std::string& s) {
  auto digits = [&](size_t from, size_t n) {
    for (size_t i = from; i < from + n; ++i) {
      if (i >= s.size() || s[i] < '0' || s[i] > '9') return false;
    }
    return true;
  };
  auto number = [&](size_t from, size_t n) { return std::stoi(s.substr(from, n)); };
  if (s.size() == 7 && digits(0, 4) && s[4] == '-' && digits(5, 2)) {
    return number(5, 2) >= 1 && number(5, 2) <= 12;
  }
  if (s.size() == 10 && digits(0, 4) && s[4] == '-' && digits(5, 2) && s[7] == '-' &&
      digits(8, 2)) {
    return number(5, 2) >= 1 && number(5, 2) <= 12 && number(8, 2) >= 1 && number(8, 2) <= 31;
  }
  return false;
}

// A read transaction: every query of one answer sees the same snapshot of profiles.db and the
// attached log, even while the projector commits a batch in between.
// Cached statements are reset at the end, so none keeps an old snapshot open between answers.
class ReadSnapshot {
 public:
  ReadSnapshot(sqlite::Database& db,
               std::unordered_map<const char*, std::unique_ptr<sqlite::Statement>>& statements)
      : db_(db), statements_(statements), ok_(db.Exec("BEGIN").ok()) {}
  ~ReadSnapshot() {
    for (auto& [sql, stmt] : statements_) stmt->Reset();
    if (ok_) (void)db_.Exec("COMMIT");
  }
  ReadSnapshot(const ReadSnapshot&) = delete;
  ReadSnapshot& operator=(const ReadSnapshot&) = delete;

 private:
  sqlite::Database& db_;
  std::unordered_map<const char*, std::unique_ptr<sqlite::Statement>>& statements_;
  bool ok_;
};

double Ratio(int64_t a, int64_t b) { return b == 0 ? 0.0 : static_cast<double>(a) / static_cast<double>(b); }

}  // namespace

Status ValidateMetricsQuery(const MetricsQuery& q) {
  if (!q.from.empty() && !IsDateParam(q.from)) {
    return Status::Invalid("must be a date YYYY-MM-DD or a month YYYY-MM", "from");
  }
  if (!q.to.empty() && !IsDateParam(q.to)) {
    return Status::Invalid("must be a date YYYY-MM-DD or a month YYYY-MM", "to");
  }
  if (!q.from.empty() && !q.to.empty() && q.to <= q.from) {
    return Status::Invalid("must be after from (the range is [from, to))", "to");
  }
  if (!q.currency.empty() && !IsCurrencyCode(q.currency)) {
    return Status::Invalid("is not an ISO 4217 currency code", "currency");
  }
  if (q.top < 0 || q.top > 1000) return Status::Invalid("must be between 0 and 1000", "top");
  return Status::Ok();
}

Result<std::unique_ptr<ProfileReader>> ProfileReader::Open(const std::string& profiles_path,
                                                           const std::string& log_path,
                                                           const IdentityKeys& keys,
                                                           const RfmModel* rfm) {
  auto db = OpenProjection(profiles_path, log_path, /*read_only=*/true);
  if (!db.ok()) return db.status();
  return std::unique_ptr<ProfileReader>(new ProfileReader(std::move(*db), keys, rfm));
}

Result<int64_t> ProfileReader::FindByIdentifier(const identity::IdKey& key) {
  ReadSnapshot snapshot(*db_, statements_);
  auto s = Prepare(
      "SELECT coalesce(p.merged_into, p.profile_id) FROM identifiers i "
      "JOIN profiles p ON p.profile_id = i.profile_id WHERE i.id_key = ?1");
  if (!s.ok()) return s.status();
  (*s)->BindBlob(1, std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  if (!*r) return Status::NotFound("no profile holds this identifier");
  return (*s)->ColumnInt(0);
}

Result<json> ProfileReader::Identifiers(int64_t profile_id) {
  auto s = Prepare(
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
  auto p = Prepare(
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
  auto o = Prepare(
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

  auto fav = Prepare(
      "SELECT store_id FROM orders WHERE profile_id = ?1 AND sale_lines > 0 AND store_id != '' "
      "GROUP BY store_id "
      "ORDER BY count(*) DESC, max(occurred_at_ms) DESC LIMIT 1");
  if (!fav.ok()) return fav.status();
  (*fav)->Bind(1, profile_id);
  auto fr = (*fav)->Step();
  if (!fr.ok()) return fr.status();
  t["favourite_store"] = *fr ? json((*fav)->ColumnText(0)) : json(nullptr);
  auto cat = Prepare(
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
  auto p = Prepare(
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

  auto a = Prepare("SELECT attributes FROM profiles WHERE profile_id = ?1");
  if (!a.ok()) return a.status();
  (*a)->Bind(1, live);
  auto ar = (*a)->Step();
  if (!ar.ok()) return ar.status();
  json attributes = json::object();
  json consent = {{"marketing", nullptr}, {"updated_at", nullptr}};
  if (*ar) {
    std::optional<int64_t> consent_ms;
    PublicAttributes((*a)->ColumnView(0), &attributes, &consent["marketing"], &consent_ms);
    if (consent_ms) consent["updated_at"] = FormatRfc3339(*consent_ms);
  }
  out["attributes"] = std::move(attributes);

  Result<json> traits = Traits(live, now_ms);
  if (!traits.ok()) return traits.status();
  out["traits"] = std::move(*traits);
  out["traits"]["consent"] = std::move(consent);

  auto merged = Prepare("SELECT profile_id FROM profiles WHERE merged_into = ?1 ORDER BY 1");
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

  // Latest events first, paged by event row.
  auto ev = Prepare(
      "SELECT pe.event_rowid, e.event_id, e.source, e.body FROM profile_events pe "
      "JOIN log.events e ON e.id = pe.event_rowid "
      "WHERE pe.profile_id = ?1 AND (?2 = 0 OR pe.event_rowid < ?2) "
      "ORDER BY pe.event_rowid DESC LIMIT ?3");
  if (!ev.ok()) return ev.status();
  (*ev)->Bind(1, live).Bind(2, events_before).Bind(3, static_cast<int64_t>(events_limit) + 1);
  json events = json::array();
  int64_t last_rowid = 0;
  bool more = false;
  while (true) {
    auto e = (*ev)->Step();
    if (!e.ok()) return e.status();
    if (!*e) break;
    if (static_cast<int>(events.size()) == events_limit) {
      more = true;
      break;
    }
    last_rowid = (*ev)->ColumnInt(0);
    json body = ForOutput((*ev)->ColumnView(3));
    body.erase("occurred_at_ms");
    body.erase("schema");
    events.push_back({{"source", (*ev)->ColumnText(2)}, {"event", std::move(body)}});
  }
  out["events"] = std::move(events);
  out["next_events_before"] = more ? json(last_rowid) : json(nullptr);
  return out;
}

Result<json> ProfileReader::Counts() {
  json c = {{"profiles", 0}, {"merged_profiles", 0}, {"identifiers", 0}, {"orders", 0}};
  ReadSnapshot snapshot(*db_, statements_);
  auto s = Prepare(
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

Result<json> ProfileReader::OfferStats(const std::string& offer_id) {
  // What an event can carry: item and order offer ids are 1..64 characters of any kind.
  if (offer_id.empty() || offer_id.size() > 64) {
    return Status::Invalid("must have 1 to 64 characters", "offer_id");
  }
  ReadSnapshot snapshot(*db_, statements_);
  auto imp = Prepare("SELECT impressions FROM offer_impressions WHERE offer_id = ?1");
  if (!imp.ok()) return imp.status();
  (*imp)->Bind(1, offer_id);
  auto ir = (*imp)->Step();
  if (!ir.ok()) return ir.status();
  const int64_t impressions = *ir ? (*imp)->ColumnInt(0) : 0;

  // Redeeming orders by currency, the one with the most orders first (ties: by code, as the
  // metrics pick their default currency).
  auto red = Prepare(
      "SELECT o.currency, count(*), money_sum(o.gross) FROM offer_redemptions r "
      "JOIN orders o ON o.order_id = r.order_id WHERE r.offer_id = ?1 "
      "GROUP BY o.currency ORDER BY 2 DESC, 1");
  if (!red.ok()) return red.status();
  (*red)->Bind(1, offer_id);
  int64_t redemptions = 0;
  std::string currency;
  Money revenue;
  json by_currency = json::object();
  while (true) {
    auto r = (*red)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    const Money gross = Money::Parse((*red)->ColumnView(2)).value_or(Money());
    if (currency.empty()) {
      currency = (*red)->ColumnText(0);
      revenue = gross;
    }
    redemptions += (*red)->ColumnInt(1);
    by_currency[(*red)->ColumnText(0)] = gross.ToFixed(2);
  }
  json out;
  out["offer_id"] = offer_id;
  out["impressions"] = impressions;
  out["redemptions"] = redemptions;
  // A ratio, so a JSON number (as in the metrics); 4 decimals are plenty for a rate.
  out["redemption_rate"] =
      impressions > 0
          ? json(std::round(Ratio(redemptions, impressions) * 10'000.0) / 10'000.0)
          : json(nullptr);
  out["revenue"] = revenue.ToFixed(2);
  out["currency"] = currency.empty() ? json(nullptr) : json(currency);
  out["revenue_by_currency"] = std::move(by_currency);
  return out;
}

Result<sqlite::Statement*> ProfileReader::Prepare(const char* sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    auto prepared = db_->Prepare(sql);
    if (!prepared.ok()) return prepared.status();
    it = statements_.emplace(sql, std::make_unique<sqlite::Statement>(std::move(*prepared))).first;
  }
  it->second->Reset();
  return it->second.get();
}

Result<json> ProfileReader::Metrics(const MetricsQuery& q) {
  CJD_RETURN_IF_ERROR(ValidateMetricsQuery(q));
  ReadSnapshot snapshot(*db_, statements_);
  // The currency: as asked, or the one with the most orders.
  std::string currency = q.currency;
  json other_currencies = json::object();
  {
    auto s = db_->Prepare(
        "SELECT currency, count(*) FILTER (WHERE sale_lines > 0) FROM orders GROUP BY currency "
        "ORDER BY 2 DESC, 1");
    if (!s.ok()) return s.status();
    while (true) {
      auto r = s->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      if (currency.empty()) currency = s->ColumnText(0);
      if (s->ColumnText(0) != currency) other_currencies[s->ColumnText(0)] = s->ColumnInt(1);
    }
  }
  // ?1 currency, ?2 store, ?3 channel, ?4 from, ?5 to ('' = open).
  const char* kFilter =
      " currency = ?1 AND (?2 = '' OR store_id = ?2) AND (?3 = '' OR channel = ?3) ";
  const char* kDates = " AND (?4 = '' OR local_date >= ?4) AND (?5 = '' OR local_date < ?5) ";
  auto bind = [&](sqlite::Statement& s) {
    s.Bind(1, currency).Bind(2, q.store).Bind(3, q.channel).Bind(4, q.from).Bind(5, q.to);
  };

  // Store totals: every order, with or without a customer.
  json totals;
  {
    auto s = db_->Prepare(std::string(
        "SELECT count(*) FILTER (WHERE sale_lines > 0), money_sum(gross), money_sum(returns), "
        "count(*) FILTER (WHERE sale_lines > 0 AND profile_id IS NULL), "
        "count(*) FILTER (WHERE sale_lines = 0 AND return_lines > 0) FROM orders WHERE") +
        kFilter + kDates);
    if (!s.ok()) return s.status();
    bind(*s);
    auto r = s->Step();
    if (!r.ok()) return r.status();
    const Money gross = Money::Parse(s->ColumnView(1)).value_or(Money());
    const Money returns = Money::Parse(s->ColumnView(2)).value_or(Money());
    totals["orders"] = s->ColumnInt(0);
    totals["revenue_gross"] = gross.ToFixed(2);
    totals["revenue_net"] = (gross - returns).ToFixed(2);
    totals["returns_value"] = returns.ToFixed(2);
    totals["anonymous_orders"] = s->ColumnInt(3);
    totals["credit_notes"] = s->ColumnInt(4);
  }

  // Per month and profile, in the range: the customer figures and the monthly series.
  struct Agg {
    int64_t orders = 0;
    Money gross, returns;
  };
  std::map<int64_t, Agg> per_profile;
  struct MonthAgg {
    std::set<int64_t> customers;
    int64_t orders = 0;
    Money gross, returns;
    int64_t new_customers = 0;
  };
  std::map<std::string, MonthAgg> months;
  {
    auto s = db_->Prepare(std::string(
        "SELECT substr(local_date, 1, 7), profile_id, count(*) FILTER (WHERE sale_lines > 0), "
        "money_sum(gross), money_sum(returns) FROM orders WHERE profile_id IS NOT NULL AND") +
        kFilter + kDates + " GROUP BY 1, 2");
    if (!s.ok()) return s.status();
    bind(*s);
    while (true) {
      auto r = s->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      const std::string month = s->ColumnText(0);
      const int64_t pid = s->ColumnInt(1);
      const int64_t n = s->ColumnInt(2);
      const Money g = Money::Parse(s->ColumnView(3)).value_or(Money());
      const Money ret = Money::Parse(s->ColumnView(4)).value_or(Money());
      Agg& a = per_profile[pid];
      a.orders += n;
      a.gross += g;
      a.returns += ret;
      MonthAgg& m = months[month];
      if (n > 0) m.customers.insert(pid);
      m.orders += n;
      m.gross += g;
      m.returns += ret;
    }
  }
  // First orders (over all time, same store/channel/currency): new customers and growth.
  int64_t new_customers = 0;
  std::map<std::string, int64_t> first_by_month;  // every month, not only the range
  {
    auto s = db_->Prepare(std::string(
        "SELECT min(local_date) FROM orders WHERE profile_id IS NOT NULL AND sale_lines > 0 AND") +
        kFilter + " GROUP BY profile_id");
    if (!s.ok()) return s.status();
    s->Bind(1, currency).Bind(2, q.store).Bind(3, q.channel);
    while (true) {
      auto r = s->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      const std::string first = s->ColumnText(0);
      ++first_by_month[first.substr(0, 7)];
      if ((q.from.empty() || first >= q.from) && (q.to.empty() || first < q.to)) ++new_customers;
    }
  }

  int64_t customers = 0, orders = 0, repeat = 0;
  Money gross, returns;
  std::vector<std::pair<int64_t, const Agg*>> ranked;
  for (const auto& [pid, a] : per_profile) {
    gross += a.gross;
    returns += a.returns;
    if (a.orders > 0) {
      ++customers;
      orders += a.orders;
      if (a.orders >= 2) ++repeat;
      ranked.emplace_back(pid, &a);
    }
  }
  const Money net = gross - returns;
  json out;
  out["currency"] = currency.empty() ? json(nullptr) : json(currency);
  out["from"] = q.from.empty() ? json(nullptr) : json(q.from);
  out["to"] = q.to.empty() ? json(nullptr) : json(q.to);
  out["store"] = q.store.empty() ? json(nullptr) : json(q.store);
  out["channel"] = q.channel.empty() ? json(nullptr) : json(q.channel);
  out["customers"] = customers;
  out["orders"] = orders;
  out["revenue_gross"] = gross.ToFixed(2);
  out["revenue_net"] = net.ToFixed(2);
  out["average_order_value"] = orders > 0 ? json(gross.DivideToFixed(orders, 2)) : json(nullptr);
  out["purchase_frequency"] = Ratio(orders, customers);
  out["repeat_purchase_rate"] = Ratio(repeat, customers);
  out["repeat_customers"] = repeat;
  out["clv_gross"] = customers > 0 ? json(gross.DivideToFixed(customers, 2)) : json(nullptr);
  out["clv_net"] = customers > 0 ? json(net.DivideToFixed(customers, 2)) : json(nullptr);
  out["new_customers"] = new_customers;
  out["store_totals"] = std::move(totals);

  // Monthly series over the months with orders in the range.
  json monthly = json::array();
  int64_t cumulative = 0;
  auto first_it = first_by_month.begin();
  for (auto& [month, m] : months) {
    while (first_it != first_by_month.end() && first_it->first < month) {
      cumulative += first_it->second;
      ++first_it;
    }
    const int64_t fresh = first_by_month.count(month) ? first_by_month[month] : 0;
    const int64_t c = static_cast<int64_t>(m.customers.size());
    monthly.push_back({{"month", month},
                       {"customers", c},
                       {"orders", m.orders},
                       {"revenue_gross", m.gross.ToFixed(2)},
                       {"revenue_net", (m.gross - m.returns).ToFixed(2)},
                       {"average_order_value", m.gross.DivideToFixed(std::max<int64_t>(m.orders, 1), 2)},
                       {"new_customers", fresh},
                       {"customers_before", cumulative},
                       {"customer_growth_rate",
                        cumulative > 0 ? json(Ratio(fresh, cumulative)) : json(nullptr)}});
  }
  out["monthly"] = std::move(monthly);

  std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) {
    if (a.second->gross == b.second->gross) return a.first < b.first;
    return b.second->gross < a.second->gross;
  });
  json top = json::array();
  for (size_t i = 0; i < ranked.size() && static_cast<int>(i) < q.top; ++i) {
    Result<json> ids = Identifiers(ranked[i].first);
    if (!ids.ok()) return ids.status();
    json slim = json::array();
    for (const json& id : *ids) slim.push_back({{"type", id["type"]}, {"value", id["value"]}});
    top.push_back({{"profile_id", ranked[i].first},
                   {"identifiers", std::move(slim)},
                   {"orders", ranked[i].second->orders},
                   {"revenue_gross", ranked[i].second->gross.ToFixed(2)},
                   {"revenue_net", (ranked[i].second->gross - ranked[i].second->returns).ToFixed(2)}});
  }
  out["top_customers"] = std::move(top);
  out["other_currencies"] = std::move(other_currencies);
  return out;
}

}  // namespace cjd::hub

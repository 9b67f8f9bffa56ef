// ProfileReader::Metrics: the value metrics of GET /v1/metrics over the projection's orders
// (customers, orders, revenue, AOV, frequency, repeat rate, CLV, new customers, the monthly
// series and the top customers), and the check of its query.
#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hub/projection/money.h"
#include "hub/projection/profile_reader.h"
#include "hub/projection/profile_reader_internal.h"
#include "shared/event/event.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;
using reader_internal::Ratio;
using reader_internal::ReadSnapshot;

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

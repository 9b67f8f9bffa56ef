// ProfileReader::Metrics: the value metrics of GET /v1/metrics over the projection's orders
// (customers, orders, revenue, AOV, frequency, repeat rate, CLV, new customers, the monthly
// series and the top customers), and the check of its query.
#include <algorithm>
#include <functional>
#include <unordered_map>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hub/projection/money.h"
#include "hub/projection/order_rollups.h"
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

const char* const kMetricsOrdersQuery =
    "SELECT profile_id, currency, local_date, store_id, channel, sale_lines, return_lines, "
    "gross, returns FROM orders ORDER BY profile_id, currency, local_date";

namespace {

// What one pass gathers for one currency (the answer picks the currency afterwards).
struct MonthAgg {
  int64_t customers = 0;  // profiles with a sale order in the month
  int64_t orders = 0;
  Money gross, returns;
};
struct TopEntry {
  Money gross, returns;
  int64_t orders = 0;
  int64_t profile_id = 0;
};
// Ranks TopEntry best first: more gross, then the smaller profile id.
bool Better(const TopEntry& a, const TopEntry& b) {
  if (a.gross == b.gross) return a.profile_id < b.profile_id;
  return b.gross < a.gross;
}
struct CurrencyAcc {
  int64_t sale_orders_all = 0;  // every sale order in this currency (chooses the currency)
  // Store totals: orders in the range and filters, with or without a customer.
  int64_t total_orders = 0, anonymous_orders = 0, credit_notes = 0;
  Money total_gross, total_returns;
  // Customers: profiles with orders in the range and filters.
  int64_t customers = 0, orders = 0, repeat = 0, new_customers = 0;
  Money gross, returns;
  std::map<std::string, MonthAgg> months;            // months with customer orders in range
  std::map<std::string, int64_t> first_by_month;     // every month, not only the range
  std::vector<TopEntry> top;                         // a heap (worst on top), at most q.top
};

// Keeps the `limit` best entries in `heap` (a heap ordered by Better, the worst on top).
void OfferTop(std::vector<TopEntry>* heap, int limit, const TopEntry& e) {
  if (static_cast<int>(heap->size()) < limit) {
    heap->push_back(e);
    std::push_heap(heap->begin(), heap->end(), Better);
  } else if (Better(e, heap->front())) {
    std::pop_heap(heap->begin(), heap->end(), Better);
    heap->back() = e;
    std::push_heap(heap->begin(), heap->end(), Better);
  }
}

// The answer's currency: as asked, or the one with the most sale orders (ties: alphabetical);
// the others' sale orders go to `other` ("other_currencies").
std::string ChooseCurrency(const std::string& asked,
                           const std::map<std::string, int64_t>& sale_orders, json* other) {
  std::string chosen = asked;
  if (chosen.empty()) {
    int64_t best = -1;
    for (const auto& [c, n] : sale_orders) {
      if (n > best) {
        best = n;
        chosen = c;
      }
    }
  }
  *other = json::object();
  for (const auto& [c, n] : sale_orders) {
    if (c != chosen) (*other)[c] = n;
  }
  return chosen;
}

}  // namespace

namespace {

// The answer of GET /v1/metrics from one currency's figures (by the rollups or by the scan).
Result<json> MetricsAnswer(const MetricsQuery& q, const std::string& chosen, const CurrencyAcc& a,
                           json other_currencies,
                           const std::function<Result<json>(int64_t)>& identifiers) {
  json totals;
  totals["orders"] = a.total_orders;
  totals["revenue_gross"] = a.total_gross.ToFixed(2);
  totals["revenue_net"] = (a.total_gross - a.total_returns).ToFixed(2);
  totals["returns_value"] = a.total_returns.ToFixed(2);
  totals["anonymous_orders"] = a.anonymous_orders;
  totals["credit_notes"] = a.credit_notes;

  const Money net = a.gross - a.returns;
  json out;
  out["currency"] = chosen.empty() ? json(nullptr) : json(chosen);
  out["from"] = q.from.empty() ? json(nullptr) : json(q.from);
  out["to"] = q.to.empty() ? json(nullptr) : json(q.to);
  out["store"] = q.store.empty() ? json(nullptr) : json(q.store);
  out["channel"] = q.channel.empty() ? json(nullptr) : json(q.channel);
  out["customers"] = a.customers;
  out["orders"] = a.orders;
  out["revenue_gross"] = a.gross.ToFixed(2);
  out["revenue_net"] = net.ToFixed(2);
  out["average_order_value"] =
      a.orders > 0 ? json(a.gross.DivideToFixed(a.orders, 2)) : json(nullptr);
  out["purchase_frequency"] = Ratio(a.orders, a.customers);
  out["repeat_purchase_rate"] = Ratio(a.repeat, a.customers);
  out["repeat_customers"] = a.repeat;
  out["clv_gross"] = a.customers > 0 ? json(a.gross.DivideToFixed(a.customers, 2)) : json(nullptr);
  out["clv_net"] = a.customers > 0 ? json(net.DivideToFixed(a.customers, 2)) : json(nullptr);
  out["new_customers"] = a.new_customers;
  out["store_totals"] = std::move(totals);

  // Monthly series over the months with customer orders in the range.
  json monthly = json::array();
  int64_t cumulative = 0;
  auto first_it = a.first_by_month.begin();
  for (const auto& [month, m] : a.months) {
    while (first_it != a.first_by_month.end() && first_it->first < month) {
      cumulative += first_it->second;
      ++first_it;
    }
    auto fresh_it = a.first_by_month.find(month);
    const int64_t fresh = fresh_it == a.first_by_month.end() ? 0 : fresh_it->second;
    monthly.push_back({{"month", month},
                       {"customers", m.customers},
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

  std::vector<TopEntry> ranked = a.top;
  std::sort(ranked.begin(), ranked.end(), Better);
  json top = json::array();
  for (const TopEntry& e : ranked) {
    Result<json> ids = identifiers(e.profile_id);
    if (!ids.ok()) return ids.status();
    json slim = json::array();
    for (const json& id : *ids) slim.push_back({{"type", id["type"]}, {"value", id["value"]}});
    top.push_back({{"profile_id", e.profile_id},
                   {"identifiers", std::move(slim)},
                   {"orders", e.orders},
                   {"revenue_gross", e.gross.ToFixed(2)},
                   {"revenue_net", (e.gross - e.returns).ToFixed(2)}});
  }
  out["top_customers"] = std::move(top);
  out["other_currencies"] = std::move(other_currencies);
  return out;
}

}  // namespace

Result<json> ProfileReader::MetricsByScan(const MetricsQuery& q) {
  CJD_RETURN_IF_ERROR(ValidateMetricsQuery(q));
  ReadSnapshot snapshot(*db_, statements_);
  // One pass over every order, from the covering index orders_by_profile (migration 6): each
  // customer's orders in (currency, local date) order, anonymous ones first (NULL profile). No
  // lookup into the table, no temporary B-tree, one customer's figures in memory at a time.
  auto s = statements_.Get(kMetricsOrdersQuery);
  if (!s.ok()) return s.status();
  std::map<std::string, CurrencyAcc> acc;
  auto in_range = [&](std::string_view date) {
    return (q.from.empty() || date >= q.from) && (q.to.empty() || date < q.to);
  };
  // The customer being read: one (profile, currency) group of rows.
  bool open = false;
  int64_t pid = 0;
  std::string currency;
  CurrencyAcc* cur = nullptr;
  bool first_seen = false;   // the group's first sale order (all time, filters) was found
  int64_t range_orders = 0;  // the group's sale orders in the range
  bool range_any = false;    // any order (sale or return) in the range
  Money range_gross, range_returns;
  std::string last_month;    // the last month counted for this customer
  auto close = [&] {
    if (!open || !range_any) return;
    cur->gross += range_gross;
    cur->returns += range_returns;
    if (range_orders == 0) return;
    ++cur->customers;
    cur->orders += range_orders;
    if (range_orders >= 2) ++cur->repeat;
    if (q.top > 0) OfferTop(&cur->top, q.top, TopEntry{range_gross, range_returns, range_orders, pid});
  };
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    const bool anonymous = (*s)->ColumnIsNull(0);
    const int64_t row_pid = anonymous ? 0 : (*s)->ColumnInt(0);
    const std::string_view row_currency = (*s)->ColumnView(1);
    const bool sale = (*s)->ColumnInt(5) > 0;
    if (!open || anonymous || row_pid != pid || row_currency != currency) {
      close();
      open = !anonymous;
      pid = row_pid;
      currency.assign(row_currency);
      cur = &acc[currency];
      first_seen = false;
      range_orders = 0;
      range_any = false;
      range_gross = Money();
      range_returns = Money();
      last_month.clear();
    }
    if (sale) ++cur->sale_orders_all;
    if ((!q.store.empty() && (*s)->ColumnView(3) != q.store) ||
        (!q.channel.empty() && (*s)->ColumnView(4) != q.channel)) {
      continue;
    }
    const std::string_view date = (*s)->ColumnView(2);
    if (!anonymous && sale && !first_seen) {  // rows come in date order: the first sale
      first_seen = true;
      ++cur->first_by_month[std::string(date.substr(0, 7))];
      if (in_range(date)) ++cur->new_customers;
    }
    if (!in_range(date)) continue;
    const Money gross = Money::Parse((*s)->ColumnView(7)).value_or(Money());
    const Money returns = Money::Parse((*s)->ColumnView(8)).value_or(Money());
    if (sale) {
      ++cur->total_orders;
      if (anonymous) ++cur->anonymous_orders;
    } else if ((*s)->ColumnInt(6) > 0) {
      ++cur->credit_notes;
    }
    cur->total_gross += gross;
    cur->total_returns += returns;
    if (anonymous) continue;
    range_any = true;
    range_gross += gross;
    range_returns += returns;
    MonthAgg& m = cur->months[std::string(date.substr(0, 7))];
    m.gross += gross;
    m.returns += returns;
    if (sale) {
      ++range_orders;
      ++m.orders;
      if (date.substr(0, 7) != last_month) {
        ++m.customers;
        last_month.assign(date.substr(0, 7));
      }
    }
  }
  close();

  std::map<std::string, int64_t> sale_orders;
  for (const auto& [c, figures] : acc) sale_orders[c] = figures.sale_orders_all;
  json other_currencies;
  const std::string chosen = ChooseCurrency(q.currency, sale_orders, &other_currencies);
  static const CurrencyAcc kNone;
  auto found = acc.find(chosen);
  return MetricsAnswer(q, chosen, found == acc.end() ? kNone : found->second,
                       std::move(other_currencies),
                       [this](int64_t id) { return Identifiers(id); });
}

namespace {

std::string MonthText(int64_t yyyymm) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02d", static_cast<int>(yyyymm / 100),
                static_cast<int>(yyyymm % 100));
  return buf;
}

int64_t NextMonth(int64_t yyyymm) {
  return yyyymm % 100 >= 12 ? (yyyymm / 100 + 1) * 100 + 1 : yyyymm + 1;
}

}  // namespace

const char* const kMetricsRangeOrdersQuery =
    "SELECT profile_id, channel, sale_lines, gross FROM orders WHERE currency = ?1 "
    "AND store_id = ?2 AND local_date >= ?3 AND local_date < ?4 AND profile_id IS NOT NULL";

const char* const kMetricsCustomerRangeReturnsQuery =
    "SELECT store_id, channel, returns FROM orders WHERE profile_id = ?1 AND currency = ?2 "
    "AND local_date >= ?3 AND local_date < ?4";

Result<json> ProfileReader::Metrics(const MetricsQuery& q) {
  CJD_RETURN_IF_ERROR(ValidateMetricsQuery(q));
  ReadSnapshot snapshot(*db_, statements_);
  RollupReader rollups(statements_);
  std::map<std::string, RollupReader::Currency> currencies;
  CJD_RETURN_IF_ERROR(rollups.Currencies(&currencies));
  std::map<std::string, int64_t> sale_orders;
  for (const auto& [c, figures] : currencies) sale_orders[c] = figures.sale_orders;
  json other_currencies;
  const std::string chosen = ChooseCurrency(q.currency, sale_orders, &other_currencies);
  CurrencyAcc a;
  const auto known = currencies.find(chosen);
  if (known == currencies.end()) {
    return MetricsAnswer(q, chosen, a, std::move(other_currencies),
                         [this](int64_t id) { return Identifiers(id); });
  }
  const int64_t f = q.from.empty() ? 0 : RollupDay(q.from);
  const int64_t t = q.to.empty() ? RollupReader::kOpenEnd : RollupDay(q.to);
  const std::string& store = q.store;
  const std::string& channel = q.channel;

  // Additive figures: by day, summed by month.
  std::map<int64_t, RollupReader::MonthFigures> months;
  CJD_RETURN_IF_ERROR(rollups.Months(chosen, store, channel, f, t, &months));
  for (const auto& [month, m] : months) {
    a.total_orders += m.sale_orders;
    a.anonymous_orders += m.sale_orders - m.cust_orders;
    a.credit_notes += m.credit_notes;
    a.total_gross += m.gross;
    a.total_returns += m.returns;
    a.orders += m.cust_orders;
    a.gross += m.cust_gross;
    a.returns += m.cust_returns;
  }
  // Distinct customers: from the points of their sequences of orders.
  auto customers = rollups.Customers(chosen, store, channel, f, t);
  if (!customers.ok()) return customers.status();
  a.customers = *customers;
  auto fresh = rollups.NewCustomers(chosen, store, channel, f, t);
  if (!fresh.ok()) return fresh.status();
  a.new_customers = *fresh;
  auto repeat = rollups.RepeatCustomers(chosen, store, channel, f, t);
  if (!repeat.ok()) return repeat.status();
  a.repeat = *repeat;
  std::map<int64_t, int64_t> firsts;
  CJD_RETURN_IF_ERROR(rollups.FirstOrdersByMonth(chosen, store, channel, &firsts));
  for (const auto& [month, n] : firsts) a.first_by_month[MonthText(month)] = n;

  // The monthly series: months with customers' orders in the range. A month wholly inside the
  // range counts its customers from the month's first orders; a month cut by from or to, as a
  // range of its own.
  std::map<int64_t, int64_t> by_month;
  int64_t first_month = 0, last_month = 0;
  for (const auto& [month, m] : months) {
    if (m.cust_rows <= 0) continue;
    if (first_month == 0) first_month = month;
    last_month = month;
  }
  if (first_month != 0) {
    CJD_RETURN_IF_ERROR(
        rollups.CustomersByMonth(chosen, store, channel, first_month, last_month, &by_month));
  }
  for (const auto& [month, m] : months) {
    if (m.cust_rows <= 0) continue;
    MonthAgg& out = a.months[MonthText(month)];
    out.orders = m.cust_orders;
    out.gross = m.cust_gross;
    out.returns = m.cust_returns;
    const int64_t start = month * 100, end = NextMonth(month) * 100;
    if (f <= start && t >= end) {
      auto it = by_month.find(month);
      out.customers = it == by_month.end() ? 0 : it->second;
    } else {
      auto n = rollups.Customers(chosen, store, channel, std::max(f, start), std::min(t, end));
      if (!n.ok()) return n.status();
      out.customers = *n;
    }
  }

  // The top customers. Each customer's all-time figures (of every store, and of each channel)
  // are kept in the order of gross: all time reads them until no later one can enter. One store,
  // or a bounded range, sums its orders per customer (read by store and date) -- or, for a
  // range holding more of the orders than lie outside it, the orders outside it, subtracted from
  // the all-time figures read in the same order (a customer's gross in the range is at most her
  // all-time gross, so the same bound stops it).
  if (q.top > 0) {
    auto offer = [&](const TopEntry& e) { OfferTop(&a.top, q.top, e); };
    auto full_above = [&](int64_t rank) {  // no customer from this rank on can enter
      return static_cast<int>(a.top.size()) >= q.top &&
             !(a.top.front().gross < RollupReader::RankCeiling(rank));
    };
    std::vector<std::string> stores;
    if (!store.empty()) {
      stores.push_back(store);
    } else {
      CJD_RETURN_IF_ERROR(rollups.Stores(chosen, &stores));
    }
    // Sums per customer of the orders in [from, to) (date strings) under the filters: sale
    // orders and gross, which rank; the returns of the few that enter are read afterwards.
    std::unordered_map<int64_t, TopEntry> sums;
    sums.reserve(static_cast<size_t>(std::max<int64_t>(a.customers, 16)));  // no rehash while summing
    auto sum_orders = [&](const std::string& from, const std::string& to) -> Status {
      auto s = statements_.Get(kMetricsRangeOrdersQuery);
      if (!s.ok()) return s.status();
      for (const std::string& one : stores) {
        (*s)->Bind(1, chosen).Bind(2, one).Bind(3, from).Bind(4, to);
        while (true) {
          auto r = (*s)->Step();
          if (!r.ok()) return r.status();
          if (!*r) break;
          if (!channel.empty() && (*s)->ColumnView(1) != channel) continue;
          const int64_t id = (*s)->ColumnInt(0);
          TopEntry& e = sums[id];
          e.profile_id = id;
          if ((*s)->ColumnInt(2) > 0) ++e.orders;
          e.gross += Money::Parse((*s)->ColumnView(3)).value_or(Money());
        }
        (*s)->Reset();
      }
      return Status::Ok();
    };
    const std::string to_or_end = q.to.empty() ? std::string("9999") : q.to;
    const bool all_time = f <= known->second.min_day && t > known->second.max_day;
    bool outside = false;
    if (store.empty() && !all_time) {
      std::map<int64_t, RollupReader::MonthFigures> every;
      CJD_RETURN_IF_ERROR(
          rollups.Months(chosen, store, channel, 0, RollupReader::kOpenEnd, &every));
      int64_t inside_rows = 0, all_rows = 0;
      for (const auto& [month, m] : months) inside_rows += m.cust_rows;
      for (const auto& [month, m] : every) all_rows += m.cust_rows;
      outside = inside_rows > all_rows - inside_rows;
    }
    if (!store.empty() || (!all_time && !outside)) {
      CJD_RETURN_IF_ERROR(sum_orders(q.from, to_or_end));
      for (const auto& [id, e] : sums) {
        if (e.orders > 0) offer(e);
      }
    } else {
      if (outside) {
        if (!q.from.empty()) CJD_RETURN_IF_ERROR(sum_orders("", q.from));
        if (!q.to.empty()) CJD_RETURN_IF_ERROR(sum_orders(q.to, "9999"));
      }
      CJD_RETURN_IF_ERROR(
          rollups.VisitTop(chosen, channel, [&](const RollupReader::Top& e, int64_t rank) {
            if (full_above(rank)) return false;
            TopEntry in{e.gross, e.returns, e.orders, e.profile_id};
            auto out = sums.find(e.profile_id);
            if (out != sums.end()) {
              in.gross = in.gross - out->second.gross;
              in.orders -= out->second.orders;
            }
            if (in.orders > 0) offer(in);
            return true;
          }));
    }
    // The returns of the customers that entered, in the range and under the filters (all time
    // of every store came with their figures).
    if (!store.empty() || !all_time) {
      auto s = statements_.Get(kMetricsCustomerRangeReturnsQuery);
      if (!s.ok()) return s.status();
      for (TopEntry& e : a.top) {
        e.returns = Money();
        (*s)->Bind(1, e.profile_id).Bind(2, chosen).Bind(3, q.from).Bind(4, to_or_end);
        while (true) {
          auto r = (*s)->Step();
          if (!r.ok()) return r.status();
          if (!*r) break;
          if ((!store.empty() && (*s)->ColumnView(0) != store) ||
              (!channel.empty() && (*s)->ColumnView(1) != channel)) {
            continue;
          }
          e.returns += Money::Parse((*s)->ColumnView(2)).value_or(Money());
        }
        (*s)->Reset();
      }
    }
  }
  return MetricsAnswer(q, chosen, a, std::move(other_currencies),
                       [this](int64_t id) { return Identifiers(id); });
}

}  // namespace cjd::hub

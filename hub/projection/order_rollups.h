// Rollups of the projection's orders that GET /v1/metrics reads instead of scanning every order
// (migration 7). The projector keeps them current inside the transaction that changes the orders;
// ProfileReader::Metrics reads them through RollupReader. Both are exact: counts are integers,
// money is Money's exact decimal text. How each figure comes out of them: README.md, "Metrics".
//
// Tables (profiles.db, owned here; nothing else reads or writes them):
// - rollup_orders (currency, day, store_id, channel): every order of that day -- rows, sale
//   orders, credit notes, gross, returns -- and the part of it that belongs to customers
//   (profiles): cust_rows, cust_orders, cust_gross, cust_returns. Additive over days and stores.
// - rollup_customers (currency, scope, store_id, channel, kind, day, prev, prev2) -> n: points
//   of each customer's sequence of sale orders o1 <= o2 <= ... (local dates), for each scope (0
//   every store and channel, 1 one store, 2 one channel, 3 both; '' where the scope does not
//   filter): kind 1 = a first order (day o1), kind 2 = a later order (day oi, prev o(i-1)),
//   kind 3 = a later order by the one before its previous (day oi, prev o(i-2), 0 for the second
//   order), kind 4 = the first order of a calendar month (day = YYYYMM). The customers with an
//   order in [f, t) are the first orders in it plus the later orders in it whose previous is
//   before f; those with two or more are the later orders in it whose o(i-2) is before f (each
//   customer's first or second in it) minus the later ones whose previous is before f too.
// - rollup_top (currency, profile_id, scope, channel): each customer's all-time figures for the
//   top customers, of every store (scope 0) and of each channel (scope 2), ranked by gross
//   (rank_key: hundredths, ties exact on read). The top customers of one store are read from
//   that store's orders (index orders_by_store_day), not kept: a store's share of the orders is
//   small, and a row per customer and store would cost the projector an index write each.
// - rollup_digest (profile_id): what the rollups last counted of that profile's orders, so the
//   next refresh can take exactly that out again (an order's profile may change by merges,
//   splits and erasures, which only say which profiles changed).
//
// Days are integers YYYYMMDD of the order's local date (and a month's first bound is YYYYMM00),
// which compare exactly as the date strings do.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "hub/projection/money.h"
#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

// YYYY-MM-DD -> YYYYMMDD; YYYY-MM -> YYYYMM00 (before every day of that month); 0 when malformed.
int64_t RollupDay(std::string_view date);

// What the rollups need of one order row.
struct OrderFacts {
  std::string currency, store, channel;
  int64_t day = 0;  // RollupDay(local_date)
  int64_t sale_lines = 0, return_lines = 0;
  Money gross, returns;
};

// The projector's side. Every change is accumulated in memory and written by Flush(), inside the
// projector's transaction; Discard() drops what a failed transaction accumulated.
class OrderRollupWriter {
 public:
  static Result<std::unique_ptr<OrderRollupWriter>> Open(sqlite::Database& db);

  // An order row was inserted (`before` null) or its figures changed (same keys).
  void OrderChanged(const OrderFacts* before, const OrderFacts& after);
  // The customer part of these profiles: their orders now against what was last counted.
  Status Refresh(const std::set<int64_t>& profiles);
  Status Flush();
  void Discard();
  // Every table again from the orders table (migration 7, or a check that found them wrong).
  Status RebuildAll();

 private:
  explicit OrderRollupWriter(sqlite::Database& db) : db_(db) {}
  Status Prepare();

  struct DayFigures {
    int64_t rows = 0, sale_orders = 0, credit_notes = 0;
    Money gross, returns;
    int64_t cust_rows = 0, cust_orders = 0;
    Money cust_gross, cust_returns;
  };
  using DayKey = std::tuple<std::string, int64_t, std::string, std::string>;
  // currency, scope, store, channel, kind, day, prev, prev2
  using PointKey =
      std::tuple<std::string, int64_t, std::string, std::string, int64_t, int64_t, int64_t, int64_t>;
  using TopKey = std::tuple<std::string, int64_t, std::string, std::string>;
  struct TopFigures {
    int64_t orders = 0;
    Money gross, returns;
  };
  // Adds (sign +1) or takes out (-1) what `rows` (one profile's orders) count.
  void Count(int64_t profile_id, const std::vector<OrderFacts>& rows, int sign,
             std::map<TopKey, TopFigures>* top);

  sqlite::Database& db_;
  std::map<DayKey, DayFigures> days_;
  std::map<PointKey, int64_t> points_;
  std::map<int64_t, std::pair<std::vector<TopKey>, std::map<TopKey, TopFigures>>> top_;
  struct Statements;
  std::shared_ptr<Statements> st_;
};

// The read side, on a reader's connection and inside its read transaction. `store` / `channel`
// empty: every store / channel. [f, t) in RollupDay units; f = 0 and t = kOpenEnd: open.
class RollupReader {
 public:
  static constexpr int64_t kOpenEnd = 99999999;
  explicit RollupReader(sqlite::StatementCache& statements) : statements_(statements) {}

  struct Currency {
    int64_t sale_orders = 0;
    int64_t min_day = 0, max_day = 0;
  };
  Status Currencies(std::map<std::string, Currency>* out);
  // Sums of rollup_orders over [f, t) under the filters, by month (YYYYMM) of the day.
  struct MonthFigures {
    int64_t rows = 0, sale_orders = 0, credit_notes = 0;
    Money gross, returns;
    int64_t cust_rows = 0, cust_orders = 0;
    Money cust_gross, cust_returns;
  };
  Status Months(const std::string& currency, const std::string& store, const std::string& channel,
                int64_t f, int64_t t, std::map<int64_t, MonthFigures>* out);
  // Customers with a sale order in [f, t); of those, new (first order ever in it) and repeat
  // (two or more in it).
  Result<int64_t> Customers(const std::string& currency, const std::string& store,
                            const std::string& channel, int64_t f, int64_t t);
  Result<int64_t> NewCustomers(const std::string& currency, const std::string& store,
                               const std::string& channel, int64_t f, int64_t t);
  Result<int64_t> RepeatCustomers(const std::string& currency, const std::string& store,
                                  const std::string& channel, int64_t f, int64_t t);
  // First orders by month (YYYYMM), all time; customers with an order by month in [fm, tm].
  Status FirstOrdersByMonth(const std::string& currency, const std::string& store,
                            const std::string& channel, std::map<int64_t, int64_t>* out);
  Status CustomersByMonth(const std::string& currency, const std::string& store,
                          const std::string& channel, int64_t first_month, int64_t last_month,
                          std::map<int64_t, int64_t>* out);
  // Customers' all-time figures in the order of their rank key (gross in hundredths, rounded
  // down), until `fn` returns false. Every customer after one of key k has gross below
  // RankCeiling(k).
  struct Top {
    int64_t profile_id = 0, orders = 0;
    Money gross, returns;
  };
  // Of every store: `channel` empty, or of that channel.
  Status VisitTop(const std::string& currency, const std::string& channel,
                  const std::function<bool(const Top&, int64_t rank)>& fn);
  // The stores with orders in `currency`.
  Status Stores(const std::string& currency, std::vector<std::string>* out);
  static Money RankCeiling(int64_t rank);

 private:
  Result<int64_t> SumPoints(const std::string& currency, const std::string& store,
                            const std::string& channel, int64_t kind, int64_t day_from,
                            int64_t day_to, int64_t prev_from, int64_t prev_to, int64_t prev2_to);
  sqlite::StatementCache& statements_;
};

}  // namespace cjd::hub

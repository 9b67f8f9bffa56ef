// PurchaseHistoryReader: the projection's read function for the predictions (hub/predictions):
// each live customer's purchase days -- local dates with at least one order of positive sale
// value in a currency -- with the day's sale value. The projection owns `orders` (README.md);
// other modules read it only through functions like this one. One instance per connection, not
// thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

struct PurchaseDay {
  int32_t day = 0;          // the order's local date, days since 1970-01-01
  int64_t value_cents = 0;  // the day's sale value (gross of its orders with a sale line), cents
};

// "YYYY-MM-DD" (a real calendar date) as days since 1970-01-01; nullopt when malformed.
std::optional<int32_t> DayFromIsoDate(std::string_view date);
// Days since 1970-01-01 as "YYYY-MM-DD".
std::string IsoDateFromDay(int32_t day);

class PurchaseHistoryReader {
 public:
  // Opens profiles.db read-only; it must exist (the projector creates it first).
  static Result<std::unique_ptr<PurchaseHistoryReader>> Open(const std::string& profiles_path);

  // The currency with the most orders with a sale line (ties: alphabetical); nullopt: no order.
  Result<std::optional<std::string>> MainCurrency();

  // For each live customer with a purchase day before `before_day` (nullopt: every day) in
  // `currency`, by profile id: its purchase days, ascending. One snapshot of profiles.db.
  Status ForEachCustomer(const std::string& currency, std::optional<int32_t> before_day,
                         const std::function<Status(int64_t profile_id,
                                                    const std::vector<PurchaseDay>& days)>& fn);

  // Of `ids`, those that are not live profiles (merged into another, erased, or never were),
  // in the order given.
  Result<std::vector<int64_t>> NotLive(const std::vector<int64_t>& ids);

  // Orders with a sale line (any currency, anonymous included): a cheap measure of how much
  // purchase history there is, for deciding when a refit is due.
  Result<int64_t> SaleOrders();

 private:
  explicit PurchaseHistoryReader(std::unique_ptr<sqlite::Database> db)
      : db_(std::move(db)), statements_(*db_) {}
  std::unique_ptr<sqlite::Database> db_;
  sqlite::StatementCache statements_;
};

}  // namespace cjd::hub

// Exact money for the projection and the metrics: amounts at a fixed scale of 9 decimals in a
// 128-bit integer (every unit price the event schema accepts has at most 9 decimals, and
// quantity × price stays far inside 128 bits), stored in SQLite as decimal text and summed by the
// `money_sum` aggregate registered on the projection's connections, so no figure ever passes
// through a double.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "shared/core/status.h"
#include "shared/event/decimal.h"

struct sqlite3;

namespace cjd::hub {

class Money {
 public:
  static constexpr int kScale = 9;

  Money() = default;
  static Money FromUnits(Int128 units) { Money m; m.units_ = units; return m; }
  // quantity × unit price, exact (a price has at most 9 decimals).
  static Money Product(int64_t quantity, const Decimal& price);
  // "-12.5", "0.000000001", "123": at most 9 decimals; nullopt otherwise.
  static std::optional<Money> Parse(std::string_view text);

  Int128 units() const { return units_; }
  bool is_zero() const { return units_ == 0; }
  Money operator+(Money o) const { return FromUnits(units_ + o.units_); }
  Money operator-(Money o) const { return FromUnits(units_ - o.units_); }
  Money& operator+=(Money o) { units_ += o.units_; return *this; }
  friend bool operator==(Money a, Money b) { return a.units_ == b.units_; }
  friend bool operator<(Money a, Money b) { return a.units_ < b.units_; }

  // Exact text with all 9 decimals trimmed of trailing zeros ("12.5", "3"): the stored form.
  std::string ToExact() const;
  // Rounded half to even to `decimals` places ("1234.50"): the published form.
  std::string ToFixed(int decimals = 2) const;
  // This amount divided by `n` (> 0), rounded half to even to `decimals` places.
  std::string DivideToFixed(int64_t n, int decimals = 2) const;

 private:
  Int128 units_ = 0;
};

// Registers money_sum(TEXT) on `db`: the exact sum of Money texts (NULL ignored), as ToExact()
// text; "0" over no rows. Malformed text makes the query fail.
Status RegisterMoneyFunctions(sqlite3* db);

}  // namespace cjd::hub

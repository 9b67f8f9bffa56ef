// RFM scores (recency, frequency, monetary; 1-5 each, 5 best): quintiles over every customer
// with an order in the hub's main currency. The cut points are recomputed by the projector when
// the data changed (at most every `min_interval`), so a profile lookup only compares numbers.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "hub/projection/money.h"
#include "shared/core/status.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {

struct RfmCuts {
  std::string currency;                 // the currency the monetary cuts are in
  int64_t customers = 0;
  std::array<int64_t, 4> last_order_ms{};  // recency cut points (later = more recent)
  std::array<int64_t, 4> orders{};
  std::array<Money, 4> gross{};
  int64_t computed_ms = 0;
};

struct RfmScore {
  int recency = 0, frequency = 0, monetary = 0;
};

class RfmModel {
 public:
  // Recomputes the cut points on `db` (a projection connection).
  Status Recompute(sqlite::Database& db, int64_t now_ms);
  std::optional<RfmCuts> cuts() const;
  // nullopt when no model yet or the currency differs.
  std::optional<RfmScore> Score(const std::string& currency, int64_t last_order_ms,
                                int64_t orders, Money gross) const;

 private:
  mutable std::mutex mu_;
  std::optional<RfmCuts> cuts_;
};

}  // namespace cjd::hub

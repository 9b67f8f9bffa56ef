// RFM scores (recency, frequency, monetary; 1-5 each, 5 best): quintiles over every customer
// with an order in the hub's main currency. The cut points are recomputed by the projector on
// a schedule (RfmSchedule, rfm_schedule.h), so a profile lookup only compares numbers.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

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
  friend bool operator==(const RfmScore&, const RfmScore&) = default;
};

// The score of a customer whose orders in its main `currency` (the one with the most orders)
// are `orders`, the latest at `last_order_ms`, summing to `gross`, under `cuts`. nullopt
// without cuts or when the currency is not the cuts' one.
std::optional<RfmScore> ScoreUnder(const std::optional<RfmCuts>& cuts, const std::string& currency,
                                   int64_t last_order_ms, int64_t orders, Money gross);

// Every customer's figures per currency, as Recompute reads them. It streams in index order
// (orders_by_profile: profile_id, currency), with no temporary B-tree of every order.
extern const char* const kRfmFiguresQuery;

class RfmModel {
 public:
  // Recomputes the cut points on `db` (a projection connection, with money_sum). When
  // `rescored` is given it receives, sorted, every profile whose score (as ProfileReader reports
  // it: its own main currency's orders) differs between the previous cut points and the new
  // ones — the only profiles whose RFM-reading segment memberships can change. One scan of
  // `orders`; the new cut points are published before it returns. Without any sale order the
  // cut points stay as they were.
  Status Recompute(sqlite::Database& db, int64_t now_ms,
                   std::vector<int64_t>* rescored = nullptr);
  std::optional<RfmCuts> cuts() const;
  // nullopt when no model yet or the currency differs.
  std::optional<RfmScore> Score(const std::string& currency, int64_t last_order_ms,
                                int64_t orders, Money gross) const;

 private:
  mutable std::mutex mu_;
  std::optional<RfmCuts> cuts_;
};

}  // namespace cjd::hub

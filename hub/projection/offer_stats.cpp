// ProfileReader::OfferStats: one offer's impressions, the orders that redeemed it and their
// revenue (GET /v1/offers/{id}/stats).
#include <cmath>
#include <string>

#include "hub/projection/money.h"
#include "hub/projection/profile_reader.h"
#include "hub/projection/profile_reader_internal.h"

namespace cjd::hub {

using json = nlohmann::json;
using reader_internal::Ratio;
using reader_internal::ReadSnapshot;

Result<json> ProfileReader::OfferStats(const std::string& offer_id) {
  // What an event can carry: item and order offer ids are 1..64 characters of any kind.
  if (offer_id.empty() || offer_id.size() > 64) {
    return Status::Invalid("must have 1 to 64 characters", "offer_id");
  }
  ReadSnapshot snapshot(*db_, statements_);
  auto imp = statements_.Get("SELECT impressions FROM offer_impressions WHERE offer_id = ?1");
  if (!imp.ok()) return imp.status();
  (*imp)->Bind(1, offer_id);
  auto ir = (*imp)->Step();
  if (!ir.ok()) return ir.status();
  const int64_t impressions = *ir ? (*imp)->ColumnInt(0) : 0;

  // Redeeming orders by currency, the one with the most orders first (ties: by code, as the
  // metrics pick their default currency).
  auto red = statements_.Get(
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

}  // namespace cjd::hub

#include "hub/projection/rfm.h"

#include <algorithm>
#include <vector>

namespace cjd::hub {
namespace {
template <typename T>
std::array<T, 4> Quintiles(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  std::array<T, 4> cuts{};
  for (size_t i = 0; i < 4; ++i) cuts[i] = v[(v.size() * (i + 1)) / 5];
  return cuts;
}
template <typename T>
int Rank(const std::array<T, 4>& cuts, const T& value) {
  int score = 1;
  for (const T& c : cuts) score += c < value ? 1 : 0;
  return score;
}
}  // namespace

Status RfmModel::Recompute(sqlite::Database& db, int64_t now_ms) {
  auto main = db.Prepare(
      "SELECT currency FROM orders WHERE sale_lines > 0 GROUP BY currency "
      "ORDER BY count(*) DESC, currency LIMIT 1");
  if (!main.ok()) return main.status();
  auto has = main->Step();
  if (!has.ok()) return has.status();
  if (!*has) return Status::Ok();
  RfmCuts cuts;
  cuts.currency = main->ColumnText(0);
  main->Reset();
  auto per = db.Prepare(
      "SELECT max(occurred_at_ms), count(*), money_sum(gross) FROM orders "
      "WHERE currency = ?1 AND sale_lines > 0 AND profile_id IS NOT NULL GROUP BY profile_id");
  if (!per.ok()) return per.status();
  per->Bind(1, cuts.currency);
  std::vector<int64_t> last, orders;
  std::vector<Money> gross;
  while (true) {
    auto r = per->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    last.push_back(per->ColumnInt(0));
    orders.push_back(per->ColumnInt(1));
    gross.push_back(Money::Parse(per->ColumnView(2)).value_or(Money()));
  }
  if (last.empty()) return Status::Ok();
  cuts.customers = static_cast<int64_t>(last.size());
  cuts.last_order_ms = Quintiles(std::move(last));
  cuts.orders = Quintiles(std::move(orders));
  cuts.gross = Quintiles(std::move(gross));
  cuts.computed_ms = now_ms;
  std::lock_guard lock(mu_);
  cuts_ = std::move(cuts);
  return Status::Ok();
}

std::optional<RfmCuts> RfmModel::cuts() const {
  std::lock_guard lock(mu_);
  return cuts_;
}

std::optional<RfmScore> RfmModel::Score(const std::string& currency, int64_t last_order_ms,
                                        int64_t orders, Money gross) const {
  std::lock_guard lock(mu_);
  if (!cuts_ || cuts_->currency != currency) return std::nullopt;
  return RfmScore{Rank(cuts_->last_order_ms, last_order_ms), Rank(cuts_->orders, orders),
                  Rank(cuts_->gross, gross)};
}

}  // namespace cjd::hub

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

// One profile's figures in its own main currency (what ProfileReader scores it on).
struct ProfileFigures {
  int64_t profile_id = 0;
  size_t currency = 0;  // index into the currencies seen
  int64_t orders = 0;   // orders with a sale line
  int64_t last_order_ms = 0;
  Money gross;
};
}  // namespace

const char* const kRfmFiguresQuery =
    "SELECT profile_id, currency, count(*) FILTER (WHERE sale_lines > 0), money_sum(gross), "
    "max(occurred_at_ms) FILTER (WHERE sale_lines > 0) FROM orders "
    "WHERE profile_id IS NOT NULL GROUP BY profile_id, currency ORDER BY profile_id, currency";

std::optional<RfmScore> ScoreUnder(const std::optional<RfmCuts>& cuts, const std::string& currency,
                                   int64_t last_order_ms, int64_t orders, Money gross) {
  if (!cuts || cuts->currency != currency) return std::nullopt;
  return RfmScore{Rank(cuts->last_order_ms, last_order_ms), Rank(cuts->orders, orders),
                  Rank(cuts->gross, gross)};
}

Status RfmModel::Recompute(sqlite::Database& db, int64_t now_ms, std::vector<int64_t>* rescored) {
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
  // Per profile and currency, as ProfileReader's traits read them: the profile's main currency
  // is the one with the most sale orders (ties: alphabetical; rows come in currency order).
  auto per = db.Prepare(kRfmFiguresQuery);
  if (!per.ok()) return per.status();
  std::vector<std::string> currencies;
  auto currency_index = [&](std::string_view c) {
    for (size_t i = 0; i < currencies.size(); ++i) {
      if (currencies[i] == c) return i;
    }
    currencies.emplace_back(c);
    return currencies.size() - 1;
  };
  std::vector<int64_t> last, orders;
  std::vector<Money> gross;
  std::vector<ProfileFigures> profiles;  // only filled when rescoring
  while (true) {
    auto r = per->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    const int64_t pid = per->ColumnInt(0);
    const std::string_view currency = per->ColumnView(1);
    const int64_t sale_orders = per->ColumnInt(2);
    const Money sum = Money::Parse(per->ColumnView(3)).value_or(Money());
    const int64_t latest = per->ColumnIsNull(4) ? 0 : per->ColumnInt(4);
    if (sale_orders > 0 && currency == cuts.currency) {
      last.push_back(latest);
      orders.push_back(sale_orders);
      gross.push_back(sum);
    }
    if (rescored == nullptr) continue;
    if (profiles.empty() || profiles.back().profile_id != pid) {
      profiles.push_back({pid, currency_index(currency), sale_orders, latest, sum});
    } else if (sale_orders > profiles.back().orders) {
      profiles.back() = {pid, currency_index(currency), sale_orders, latest, sum};
    }
  }
  if (last.empty()) return Status::Ok();
  cuts.customers = static_cast<int64_t>(last.size());
  cuts.last_order_ms = Quintiles(std::move(last));
  cuts.orders = Quintiles(std::move(orders));
  cuts.gross = Quintiles(std::move(gross));
  cuts.computed_ms = now_ms;
  std::optional<RfmCuts> before;
  {
    std::lock_guard lock(mu_);
    before = std::move(cuts_);
    cuts_ = cuts;
  }
  if (rescored == nullptr) return Status::Ok();
  rescored->clear();
  const std::optional<RfmCuts> after = std::move(cuts);
  for (const ProfileFigures& p : profiles) {
    if (p.orders == 0) continue;  // no sale order in its main currency: no score either way
    const std::string& currency = currencies[p.currency];
    if (ScoreUnder(before, currency, p.last_order_ms, p.orders, p.gross) !=
        ScoreUnder(after, currency, p.last_order_ms, p.orders, p.gross)) {
      rescored->push_back(p.profile_id);
    }
  }
  return Status::Ok();
}

std::optional<RfmCuts> RfmModel::cuts() const {
  std::lock_guard lock(mu_);
  return cuts_;
}

std::optional<RfmScore> RfmModel::Score(const std::string& currency, int64_t last_order_ms,
                                        int64_t orders, Money gross) const {
  std::lock_guard lock(mu_);
  return ScoreUnder(cuts_, currency, last_order_ms, orders, gross);
}

}  // namespace cjd::hub

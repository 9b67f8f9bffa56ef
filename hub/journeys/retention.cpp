// JourneyIndex::Retention: GET /v1/retention. A person's cohort is the period of their first
// order (an order with a sale line: credit notes are not orders here) or of their first touch of
// any kind; retained[k] counts the cohort's persons with an order (or any touch) in cohort + k.
// Periods are calendar months or Monday-based weeks of the touches' local dates.
#include <algorithm>
#include <map>
#include <unordered_map>

#include "hub/journeys/journey_index.h"

namespace cjd::hub::journeys {

nlohmann::json JourneyIndex::Retention(RetentionCohort cohort, RetentionPeriod period,
                                       PersonFilter filter) const {
  const bool orders_only = cohort == RetentionCohort::kFirstOrderMonth;
  const bool weeks = period == RetentionPeriod::kWeek;
  PeriodOfDay period_of(weeks);
  struct Cohort {
    int64_t customers = 0;
    std::vector<int64_t> retained;
  };
  std::map<int32_t, Cohort> cohorts;
  int32_t last = INT32_MIN;
  std::vector<int32_t> periods;
  for (const auto& [id, person] : persons_) {
    if (filter != nullptr && filter->count(id) == 0) continue;
    periods.clear();
    for (const Touch& t : person.touches) {
      if (orders_only && !t.order) continue;
      periods.push_back(period_of(t.local_day));
    }
    if (periods.empty()) continue;
    std::sort(periods.begin(), periods.end());
    periods.erase(std::unique(periods.begin(), periods.end()), periods.end());
    Cohort& c = cohorts[periods.front()];
    ++c.customers;
    const auto span = static_cast<size_t>(periods.back() - periods.front()) + 1;
    if (c.retained.size() < span) c.retained.resize(span, 0);
    for (int32_t p : periods) ++c.retained[static_cast<size_t>(p - periods.front())];
    last = std::max(last, periods.back());
  }
  nlohmann::json out;
  out["cohort"] = orders_only ? "first_order_month" : "first_seen_month";
  out["period"] = weeks ? "week" : "month";
  nlohmann::json list = nlohmann::json::array();
  for (auto& [p, c] : cohorts) {
    // Every period from the cohort's to the last one in the data, zeros included.
    c.retained.resize(static_cast<size_t>(last - p) + 1, 0);
    list.push_back({{"cohort", period_of.Text(p)},
                    {"customers", c.customers},
                    {"retained", c.retained}});
  }
  out["cohorts"] = std::move(list);
  return out;
}

// Lifecycle, per period (as PostHog's): an active person is *new* in their first active period,
// *returning* when also active in the period before, *resurrecting* when active again after a
// gap; *dormant* counts the persons active in the period before and not in this one.
nlohmann::json JourneyIndex::Lifecycle(RetentionPeriod period, bool orders_only,
                                       PersonFilter filter) const {
  const bool weeks = period == RetentionPeriod::kWeek;
  PeriodOfDay period_of(weeks);
  struct Counts {
    int64_t fresh = 0, returning = 0, resurrecting = 0, dormant = 0;
  };
  std::map<int32_t, Counts> by_period;
  int32_t first = INT32_MAX, last = INT32_MIN;
  std::vector<int32_t> periods;
  std::vector<int32_t> dormant;
  for (const auto& [id, person] : persons_) {
    if (filter != nullptr && filter->count(id) == 0) continue;
    periods.clear();
    for (const Touch& t : person.touches) {
      if (orders_only && !t.order) continue;
      periods.push_back(period_of(t.local_day));
    }
    if (periods.empty()) continue;
    std::sort(periods.begin(), periods.end());
    periods.erase(std::unique(periods.begin(), periods.end()), periods.end());
    first = std::min(first, periods.front());
    last = std::max(last, periods.back());
    for (size_t i = 0; i < periods.size(); ++i) {
      Counts& c = by_period[periods[i]];
      if (i == 0) {
        ++c.fresh;
      } else if (periods[i - 1] == periods[i] - 1) {
        ++c.returning;
      } else {
        ++c.resurrecting;
      }
      if (i + 1 == periods.size() || periods[i + 1] != periods[i] + 1) {
        dormant.push_back(periods[i] + 1);
      }
    }
  }
  for (int32_t p : dormant) {
    if (p <= last) ++by_period[p].dormant;
  }
  nlohmann::json list = nlohmann::json::array();
  for (int32_t p = first; p <= last && first != INT32_MAX; ++p) {
    const Counts& c = by_period[p];
    list.push_back({{"period", period_of.Text(p)},
                    {"new", c.fresh},
                    {"returning", c.returning},
                    {"resurrecting", c.resurrecting},
                    {"dormant", c.dormant}});
  }
  return {{"period", weeks ? "week" : "month"},
          {"activity", orders_only ? "order" : "any"},
          {"periods", std::move(list)}};
}

}  // namespace cjd::hub::journeys

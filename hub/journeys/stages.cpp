// Journey stages. A person reaches, from their touches:
//   awareness      any touch but a consent update
//   consideration  a product view, a cart change, a checkout, a loyalty scan, an email click
//   purchase       an order (a sale line; credit notes are not orders)
//   retention      [journeys] retention_orders orders (default 2)
//   advocacy       [journeys] advocacy_orders orders (default 5)
// The furthest stage counts every touch; the current one only those of the last
// [journeys] stage_window_days (default 90).
#include <algorithm>
#include <array>
#include <climits>
#include <map>
#include <unordered_map>

#include "hub/journeys/journey_index.h"

namespace cjd::hub::journeys {
namespace {

bool Considers(EventType t) {
  switch (t) {
    case EventType::kProductView:
    case EventType::kAddToCart:
    case EventType::kRemoveFromCart:
    case EventType::kCheckoutStarted:
    case EventType::kLoyaltyScan:
    case EventType::kEmailClicked:
      return true;
    default:
      return false;
  }
}

nlohmann::json StageCounts(const std::array<int64_t, 6>& n) {
  nlohmann::json out = nlohmann::json::object();
  out["none"] = n[0];
  for (int s = 0; s < 5; ++s) out[kStageNames[s]] = n[static_cast<size_t>(s + 1)];
  return out;
}

}  // namespace

int JourneyIndex::StageFrom(const std::vector<Touch>& touches, int64_t since_ms) const {
  int stage = kStageNone;
  int64_t orders = 0;
  for (const Touch& t : touches) {
    if (t.at_ms < since_ms || t.type == EventType::kConsentUpdate) continue;
    stage = std::max(stage, 0);
    if (Considers(t.type)) stage = std::max(stage, 1);
    if (t.order) ++orders;
  }
  if (orders >= 1) stage = std::max(stage, 2);
  if (orders >= stage_rules_.retention_orders) stage = std::max(stage, 3);
  if (orders >= stage_rules_.advocacy_orders) stage = std::max(stage, 4);
  return stage;
}

std::pair<int, int> JourneyIndex::StageOf(int64_t profile_id, int64_t now_ms) const {
  auto p = persons_.find(profile_id);
  if (p == persons_.end()) return {kStageNone, kStageNone};
  return {StageFrom(p->second.touches, now_ms - stage_rules_.window_ms),
          StageFrom(p->second.touches, INT64_MIN)};
}

std::vector<std::string> JourneyIndex::TrackedEventsOf(int64_t profile_id) const {
  std::vector<std::string> names;
  auto p = persons_.find(profile_id);
  if (p == persons_.end()) return names;
  const std::string_view prefix = "name\x1f";
  for (const Touch& t : p->second.touches) {
    if (t.type != EventType::kTrack) continue;
    for (uint32_t i = 0; i < t.attr_count; ++i) {
      const std::string& a = strings_[attrs_[t.attr_begin + i]];
      if (a.starts_with(prefix)) names.push_back(a.substr(prefix.size()));
    }
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

nlohmann::json JourneyIndex::Stages(RetentionPeriod period, int64_t now_ms,
                                    PersonFilter filter) const {
  const bool weeks = period == RetentionPeriod::kWeek;
  std::array<int64_t, 6> current{}, furthest{};
  // Per period: persons who first reached each stage in it.
  std::map<int32_t, std::array<int64_t, 5>> first_reached;
  PeriodOfDay period_of(weeks);
  for (const auto& [id, person] : persons_) {
    if (filter != nullptr && filter->count(id) == 0) continue;
    const auto [cur, far] = std::pair{StageFrom(person.touches, now_ms - stage_rules_.window_ms),
                                      StageFrom(person.touches, INT64_MIN)};
    ++current[static_cast<size_t>(cur + 1)];
    ++furthest[static_cast<size_t>(far + 1)];
    // When each stage was first reached, walking the timeline once.
    int stage = kStageNone;
    int64_t orders = 0;
    for (const Touch& t : person.touches) {
      if (t.type == EventType::kConsentUpdate) continue;
      int now = std::max(stage, 0);
      if (Considers(t.type)) now = std::max(now, 1);
      if (t.order) {
        ++orders;
        now = std::max(now, 2);
        if (orders >= stage_rules_.retention_orders) now = std::max(now, 3);
        if (orders >= stage_rules_.advocacy_orders) now = std::max(now, 4);
      }
      for (int s = stage + 1; s <= now; ++s) {
        ++first_reached[period_of(t.local_day)][static_cast<size_t>(s)];
      }
      stage = now;
    }
  }
  nlohmann::json periods = nlohmann::json::array();
  std::array<int64_t, 5> reached{};
  if (!first_reached.empty()) {
    for (int32_t p = first_reached.begin()->first; p <= first_reached.rbegin()->first; ++p) {
      auto it = first_reached.find(p);
      if (it != first_reached.end()) {
        for (size_t s = 0; s < 5; ++s) reached[s] += it->second[s];
      }
      nlohmann::json r = nlohmann::json::object(), conv = nlohmann::json::object();
      for (size_t s = 0; s < 5; ++s) {
        r[kStageNames[s]] = reached[s];
        if (s > 0) {
          conv[std::string(kStageNames[s - 1]) + "_to_" + kStageNames[s]] =
              reached[s - 1] == 0 ? nlohmann::json(nullptr)
                                  : nlohmann::json(static_cast<double>(reached[s]) /
                                                   static_cast<double>(reached[s - 1]));
        }
      }
      periods.push_back({{"period", period_of.Text(p)},
                         {"reached", std::move(r)},
                         {"conversion", std::move(conv)}});
    }
  }
  return {{"current", StageCounts(current)},
          {"furthest", StageCounts(furthest)},
          {"window_days", stage_rules_.window_ms / 86'400'000},
          {"periods", std::move(periods)}};
}

}  // namespace cjd::hub::journeys

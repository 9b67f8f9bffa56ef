#include "hub/identity/merge_log.h"

#include <algorithm>
#include <set>

namespace cjd::hub::identity {

const char* LogKindName(LogKind k) { return k == LogKind::kMerge ? "merge" : "split"; }

std::vector<MergeRecord> MergeRecordsFor(const Plan& plan, std::string_view event_id,
                                         int64_t at_ms, const PepperKey& pepper) {
  std::vector<MergeRecord> out;
  for (const PlannedMerge& m : plan.merges) {
    MergeRecord r;
    r.survivor = plan.target;
    r.absorbed = m.absorbed;
    r.link_type = m.link.type;
    r.link_key = IdentifierKey(m.link.type, m.link.value, pepper);
    r.event_id = std::string(event_id);
    r.at_ms = at_ms;
    out.push_back(std::move(r));
  }
  return out;
}

Result<SplitPlan> PlanSplit(const SplitInput& input) {
  const MergeRecord& merge = input.merge;
  if (merge.kind != LogKind::kMerge || merge.merge_id == 0) {
    return Status::Invalid("only a logged merge can be split", "merge_id");
  }
  const ProfileId owner = input.current_owner != 0 ? input.current_owner : merge.survivor;
  if (merge.absorbed == merge.survivor || merge.absorbed == owner) {
    return Status::Invalid("merge names the same profile twice", "merge_id");
  }

  SplitPlan plan;
  plan.from = owner;
  plan.restore = merge.absorbed;
  plan.keep_apart = {std::min(merge.survivor, merge.absorbed),
                     std::max(merge.survivor, merge.absorbed)};

  std::set<IdKey> moving(input.absorbed_identifiers.begin(), input.absorbed_identifiers.end());
  std::set<std::string> moved_events;
  for (const std::string& e : input.absorbed_events) {
    if (moved_events.insert(e).second) plan.move_events.push_back(e);
  }
  for (const LaterEvent& e : input.later_events) {
    if (moved_events.count(e.event_id)) continue;
    const std::set<IdKey> own(e.attached.begin(), e.attached.end());
    bool touches_restored = false;
    bool touches_survivor = false;
    for (const IdKey& k : e.carried) {
      if (moving.count(k)) {
        touches_restored = true;
      } else if (!own.count(k)) {
        touches_survivor = true;
      }
    }
    if (!touches_restored || touches_survivor) continue;
    plan.move_events.push_back(e.event_id);
    moved_events.insert(e.event_id);
    moving.insert(own.begin(), own.end());
  }
  plan.move_identifiers.assign(moving.begin(), moving.end());

  MergeRecord& r = plan.log_record;
  r.kind = LogKind::kSplit;
  r.reverts = merge.merge_id;
  r.survivor = owner;
  r.absorbed = merge.absorbed;
  r.link_type = merge.link_type;
  r.link_key = merge.link_key;
  r.at_ms = input.at_ms;
  return plan;
}

}  // namespace cjd::hub::identity

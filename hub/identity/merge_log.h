// The merge log and splits. Pure logic: the persistent layer stores the records (append-only)
// and applies SplitPlans.
//
// Every merge a Plan makes becomes one MergeRecord; undoing a wrong merge appends a record of
// kind kSplit that names the merge it reverts (records are never edited or deleted). The linking
// identifier is stored as its keyed hash, never as plain text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hub/identity/identifier.h"
#include "hub/identity/merge_planner.h"
#include "shared/core/status.h"

namespace cjd::hub::identity {

enum class LogKind { kMerge, kSplit };
const char* LogKindName(LogKind k);

struct MergeRecord {
  uint64_t merge_id = 0;  // position in the log, assigned when appended (0 = not yet)
  LogKind kind = LogKind::kMerge;
  uint64_t reverts = 0;   // kSplit: the merge_id it undoes
  ProfileId survivor = 0;
  ProfileId absorbed = 0;
  IdType link_type = IdType::kAnonymousId;
  IdKey link_key{};       // IdentifierKey() of the identifier that linked the two
  std::string event_id;   // the event that linked them (kSplit: empty)
  int64_t at_ms = 0;      // Unix milliseconds
};

// The log records of a plan's merges (merge_id 0, in the plan's order).
std::vector<MergeRecord> MergeRecordsFor(const Plan& plan, std::string_view event_id,
                                         int64_t at_ms, const PepperKey& pepper);

// An event attached to the merged profile after the merge.
struct LaterEvent {
  std::string event_id;
  std::vector<IdKey> carried;   // keys of the identifiers the event carried (usable ones)
  std::vector<IdKey> attached;  // of those, the ones this event attached to the profile
};

struct SplitInput {
  MergeRecord merge;  // the kMerge record to undo
  // The profile holding the merged data now: merge.survivor, unless that was merged again
  // later (0 means merge.survivor).
  ProfileId current_owner = 0;
  std::vector<IdKey> absorbed_identifiers;  // what the absorbed profile held when merged
  std::vector<std::string> absorbed_events;  // the events it held when merged
  std::vector<LaterEvent> later_events;      // in the order they were applied
  int64_t at_ms = 0;                         // time of the split
};

// What restoring the absorbed profile takes. History follows: an event that arrived after the
// merge moves back when it carried at least one of the restored identifiers and nothing that
// belongs to the survivor side; identifiers such an event attached move with it (and can carry
// later events along). The two profiles are then kept apart so no later event re-merges them.
struct SplitPlan {
  ProfileId from = 0;      // the current owner
  ProfileId restore = 0;   // the absorbed profile id, brought back
  std::vector<IdKey> move_identifiers;   // sorted
  std::vector<std::string> move_events;  // absorbed events first, then later ones in order
  std::pair<ProfileId, ProfileId> keep_apart;  // (smaller, larger)
  MergeRecord log_record;  // kind kSplit, reverts = merge.merge_id
};

// kInvalid when `merge` is not a logged kMerge record or names the same profile twice.
Result<SplitPlan> PlanSplit(const SplitInput& input);

}  // namespace cjd::hub::identity

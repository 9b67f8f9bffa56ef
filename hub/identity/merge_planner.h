// The merge planner: what one event does to profiles. A pure decision function; the persistent
// layer looks up the inputs, applies the Plan in one transaction and appends the merge log.
//
// Rules (deterministic: the plan depends only on the set of identifiers, not on their order):
// 1. Each identifier is checked by the Guardrails. Blocklisted values are ignored (they neither
//    attach nor link: two customers who both typed "test@test.com" stay apart). Shared
//    identifiers (house cards, kiosks) never attach and never link; the event goes to whatever
//    its other identifiers resolve to.
// 2. The profiles the remaining identifiers resolve to are candidates. Each is ranked by the
//    strongest event identifier resolving to it (Priority(): loyalty_id > customer_id >
//    card_fingerprint > email > phone > anonymous_id), then by smaller profile id. The first is
//    the anchor: the event always lands on the anchor's profile (or what it merges into).
// 3. The other candidates are merged into the group one by one in rank order, unless the merge
//    would exceed a per-type limit (both sides hold identifiers of a type and together they would
//    hold more than its limit) or the two were split apart before. A refused merge is recorded;
//    that profile keeps its identifiers and does not get the event.
// 4. The survivor of a merge is the oldest profile: the smallest id in the group.
// 5. Identifiers not yet on any profile are attached to the target, strongest first, while the
//    type has room; the rest are refused (limit). No candidate at all: a new profile is planned
//    if something can be attached, else the event stays anonymous (TargetKind::kNone).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "hub/identity/guardrails.h"
#include "hub/identity/identifier.h"
#include "shared/core/status.h"

namespace cjd::hub::identity {

// Profile ids are allocated in increasing order, so a smaller id is an older profile.
using ProfileId = int64_t;
using TypeCounts = std::array<int, kIdTypeCount>;  // identifiers held, by TypeIndex()

struct Identifier {
  IdType type = IdType::kAnonymousId;
  std::string value;  // normalised
  auto operator<=>(const Identifier&) const = default;
};

// Strongest first (Priority() descending), then type, then value.
bool StrongerFirst(const Identifier& a, const Identifier& b);

struct ObservedIdentifier {
  Identifier id;
  std::optional<ProfileId> profile;  // the profile it resolves to now, if any
};

struct ProfileState {
  ProfileId id = 0;
  TypeCounts counts{};  // identifiers the profile holds now, per type
};

struct PlanInput {
  std::vector<ObservedIdentifier> identifiers;  // what the event carries
  std::vector<ProfileState> profiles;           // every profile named in `identifiers`
  // Pairs of profiles a split separated: never merged again automatically.
  std::vector<std::pair<ProfileId, ProfileId>> kept_apart;
};

enum class TargetKind { kNone, kExisting, kNew };

enum class RefusalReason {
  kBlocklisted,  // junk value: ignored entirely
  kShared,       // shared device/card: event taken, identifier not attached, never links
  kLimit,        // attaching it, or merging its profile, would exceed a per-type limit
  kKeptApart,    // its profile was split from the target's group before
};
const char* RefusalReasonName(RefusalReason r);

struct Refusal {
  Identifier identifier;
  RefusalReason reason = RefusalReason::kBlocklisted;
  // Guardrail reason ("blocklisted", "junk_pattern", "shared") or, for kLimit, the type name
  // whose limit was hit.
  std::string detail;
  std::optional<ProfileId> profile;  // for a refused merge: the profile left apart
};

struct PlannedMerge {
  ProfileId absorbed = 0;  // folded into Plan::target
  Identifier link;         // the event identifier that resolved to `absorbed`
};

struct Plan {
  TargetKind target_kind = TargetKind::kNone;
  ProfileId target = 0;              // kExisting: the survivor; otherwise 0
  std::vector<Identifier> attach;    // new to the hub, to attach to the target (strongest first)
  std::vector<PlannedMerge> merges;  // by absorbed id ascending
  std::vector<Refusal> refused;      // strongest identifier first
  // The event's usable identifiers that already resolve to the target group (for the log).
  std::vector<Identifier> matched;
};

// kInvalid when an identifier names a profile missing from `profiles`, or the same identifier
// appears twice resolving to different profiles.
Result<Plan> PlanEvent(const PlanInput& input, const Guardrails& guardrails);

}  // namespace cjd::hub::identity

#include "hub/identity/merge_planner.h"

#include <algorithm>
#include <map>
#include <set>

namespace cjd::hub::identity {
namespace {

struct Candidate {
  ProfileId id = 0;
  Identifier link;  // strongest event identifier resolving to it
  TypeCounts counts{};
};

// The type whose limit a merge of `a` and `b` would break, or nullopt. A type counts only when
// both sides hold it: a profile already over a lowered limit can still absorb one holding none.
std::optional<IdType> MergeBreaksLimit(const TypeCounts& a, const TypeCounts& b,
                                       const Guardrails& guardrails) {
  for (IdType t : kAllIdTypes) {
    const auto i = static_cast<size_t>(TypeIndex(t));
    const int limit = guardrails.Limit(t);
    if (limit > 0 && a[i] > 0 && b[i] > 0 && a[i] + b[i] > limit) return t;
  }
  return std::nullopt;
}

}  // namespace

bool StrongerFirst(const Identifier& a, const Identifier& b) {
  const int pa = Priority(a.type);
  const int pb = Priority(b.type);
  if (pa != pb) return pa > pb;
  return a < b;
}

const char* RefusalReasonName(RefusalReason r) {
  switch (r) {
    case RefusalReason::kBlocklisted: return "blocklisted";
    case RefusalReason::kShared: return "shared";
    case RefusalReason::kLimit: return "limit";
    case RefusalReason::kKeptApart: return "kept_apart";
  }
  return "unknown";
}

Result<Plan> PlanEvent(const PlanInput& input, const Guardrails& guardrails) {
  // Deduplicate, and reject inconsistent input.
  std::map<Identifier, std::optional<ProfileId>> observed;
  for (const ObservedIdentifier& o : input.identifiers) {
    auto [it, inserted] = observed.emplace(o.id, o.profile);
    if (!inserted && it->second != o.profile) {
      return Status::Invalid("identifier resolves to two profiles", "identifiers");
    }
  }
  std::map<ProfileId, TypeCounts> states;
  for (const ProfileState& p : input.profiles) states[p.id] = p.counts;
  std::set<std::pair<ProfileId, ProfileId>> apart;
  for (auto [a, b] : input.kept_apart) apart.emplace(std::min(a, b), std::max(a, b));

  Plan plan;
  std::vector<Identifier> unresolved;
  std::map<ProfileId, Candidate> candidates;
  std::map<ProfileId, std::vector<Identifier>> resolved_to;
  for (const auto& [id, profile] : observed) {
    const CheckResult check = guardrails.Check(id.type, id.value);
    if (check.verdict != Verdict::kAllow) {
      const RefusalReason reason =
          check.verdict == Verdict::kShared ? RefusalReason::kShared : RefusalReason::kBlocklisted;
      plan.refused.push_back({id, reason, check.reason, profile});
      continue;
    }
    if (!profile) {
      unresolved.push_back(id);
      continue;
    }
    const auto state = states.find(*profile);
    if (state == states.end()) {
      return Status::Invalid("identifier resolves to a profile missing from the input",
                             "profiles");
    }
    resolved_to[*profile].push_back(id);
    auto [it, inserted] = candidates.try_emplace(*profile, Candidate{*profile, id, state->second});
    if (!inserted && StrongerFirst(id, it->second.link)) it->second.link = id;
  }

  // Rank candidates: strongest link first, then the older profile.
  std::vector<Candidate> ranked;
  for (auto& [pid, c] : candidates) ranked.push_back(c);
  std::sort(ranked.begin(), ranked.end(), [](const Candidate& a, const Candidate& b) {
    const int pa = Priority(a.link.type);
    const int pb = Priority(b.link.type);
    if (pa != pb) return pa > pb;
    return a.id < b.id;
  });

  std::vector<const Candidate*> group;
  TypeCounts group_counts{};
  for (const Candidate& c : ranked) {
    if (!group.empty()) {
      const bool split_before = std::any_of(group.begin(), group.end(), [&](const Candidate* g) {
        return apart.count({std::min(g->id, c.id), std::max(g->id, c.id)}) > 0;
      });
      if (split_before) {
        plan.refused.push_back({c.link, RefusalReason::kKeptApart, "kept_apart", c.id});
        continue;
      }
      if (const auto broken = MergeBreaksLimit(group_counts, c.counts, guardrails)) {
        plan.refused.push_back({c.link, RefusalReason::kLimit, IdTypeName(*broken), c.id});
        continue;
      }
    }
    group.push_back(&c);
    for (size_t i = 0; i < group_counts.size(); ++i) group_counts[i] += c.counts[i];
  }

  if (!group.empty()) {
    plan.target_kind = TargetKind::kExisting;
    plan.target = (*std::min_element(group.begin(), group.end(),
                                     [](const Candidate* a, const Candidate* b) {
                                       return a->id < b->id;
                                     }))->id;
    for (const Candidate* c : group) {
      if (c->id != plan.target) plan.merges.push_back({c->id, c->link});
      const auto& ids = resolved_to[c->id];
      plan.matched.insert(plan.matched.end(), ids.begin(), ids.end());
    }
    std::sort(plan.merges.begin(), plan.merges.end(),
              [](const PlannedMerge& a, const PlannedMerge& b) { return a.absorbed < b.absorbed; });
  }

  std::sort(unresolved.begin(), unresolved.end(), StrongerFirst);
  for (const Identifier& id : unresolved) {
    auto& count = group_counts[static_cast<size_t>(TypeIndex(id.type))];
    if (!guardrails.HasRoom(id.type, count)) {
      plan.refused.push_back({id, RefusalReason::kLimit, IdTypeName(id.type), std::nullopt});
      continue;
    }
    ++count;
    plan.attach.push_back(id);
  }
  if (plan.target_kind == TargetKind::kNone && !plan.attach.empty()) {
    plan.target_kind = TargetKind::kNew;
  }

  std::sort(plan.matched.begin(), plan.matched.end(), StrongerFirst);
  std::stable_sort(plan.refused.begin(), plan.refused.end(),
                   [](const Refusal& a, const Refusal& b) {
                     return StrongerFirst(a.identifier, b.identifier);
                   });
  return plan;
}

}  // namespace cjd::hub::identity

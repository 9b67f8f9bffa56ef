// An in-memory stand-in for the persistent layer, for tests: resolves an event's identifiers,
// asks the planner, and applies the plan.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <utility>
#include <vector>

#include "hub/identity/merge_planner.h"

namespace cjd::hub::identity::testing {

class MemoryResolver {
 public:
  explicit MemoryResolver(const Guardrails& guardrails) : guardrails_(guardrails) {}

  struct Applied {
    Plan plan;
    std::optional<ProfileId> profile;  // where the event landed (nullopt: anonymous)
  };

  Applied Apply(const std::vector<Identifier>& ids) {
    PlanInput in;
    std::set<ProfileId> involved;
    for (const Identifier& id : ids) {
      const std::optional<ProfileId> p = ProfileOf(id);
      in.identifiers.push_back({id, p});
      if (p) involved.insert(*p);
    }
    for (ProfileId p : involved) in.profiles.push_back({p, Counts(p)});
    in.kept_apart = kept_apart;
    Result<Plan> planned = PlanEvent(in, guardrails_);
    EXPECT_TRUE(planned.ok()) << planned.status().ToString();
    if (!planned.ok()) return {};
    Applied out{std::move(planned).value(), std::nullopt};
    const Plan& plan = out.plan;
    if (plan.target_kind == TargetKind::kNone) return out;
    const ProfileId target = plan.target_kind == TargetKind::kNew ? next_id_++ : plan.target;
    std::set<Identifier>& mine = members_[target];
    for (const PlannedMerge& m : plan.merges) {
      for (const Identifier& id : members_[m.absorbed]) {
        owner_[id] = target;
        mine.insert(id);
      }
      members_.erase(m.absorbed);
      forward_[m.absorbed] = target;
    }
    for (const Identifier& id : plan.attach) {
      owner_[id] = target;
      mine.insert(id);
    }
    out.profile = target;
    return out;
  }

  std::optional<ProfileId> ProfileOf(const Identifier& id) const {
    const auto it = owner_.find(id);
    if (it == owner_.end()) return std::nullopt;
    return it->second;
  }

  TypeCounts Counts(ProfileId p) const {
    TypeCounts c{};
    const auto it = members_.find(p);
    if (it == members_.end()) return c;
    for (const Identifier& id : it->second) ++c[static_cast<size_t>(TypeIndex(id.type))];
    return c;
  }

  // The profile `p` lives on as now (following merges).
  ProfileId Current(ProfileId p) const {
    for (auto it = forward_.find(p); it != forward_.end(); it = forward_.find(p)) p = it->second;
    return p;
  }

  size_t profile_count() const { return members_.size(); }
  const std::map<ProfileId, std::set<Identifier>>& members() const { return members_; }

  std::vector<std::pair<ProfileId, ProfileId>> kept_apart;

 private:
  const Guardrails& guardrails_;
  ProfileId next_id_ = 1;
  std::map<Identifier, ProfileId> owner_;
  std::map<ProfileId, std::set<Identifier>> members_;
  std::map<ProfileId, ProfileId> forward_;  // absorbed -> survivor
};

}  // namespace cjd::hub::identity::testing

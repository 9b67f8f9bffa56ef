#include "hub/identity/merge_planner.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/hub/identity/memory_resolver.h"

namespace cjd::hub::identity {
namespace {

using testing::MemoryResolver;

Identifier Email(std::string v) { return {IdType::kEmail, std::move(v)}; }
Identifier Phone(std::string v) { return {IdType::kPhone, std::move(v)}; }
Identifier Loyalty(std::string v) { return {IdType::kLoyaltyId, std::move(v)}; }
Identifier Anon(std::string v) { return {IdType::kAnonymousId, std::move(v)}; }

TypeCounts CountsOf(std::initializer_list<std::pair<IdType, int>> list) {
  TypeCounts c{};
  for (auto [t, n] : list) c[static_cast<size_t>(TypeIndex(t))] = n;
  return c;
}

Plan MustPlan(const PlanInput& in, const Guardrails& g = Guardrails()) {
  Result<Plan> p = PlanEvent(in, g);
  EXPECT_TRUE(p.ok()) << p.status().ToString();
  return p.ok() ? std::move(p).value() : Plan{};
}

TEST(MergePlanner, NewProfileForUnknownIdentifiers) {
  PlanInput in;
  in.identifiers = {{Phone("+447700900123"), {}}, {Email("ann@shop.co.uk"), {}}};
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.target_kind, TargetKind::kNew);
  EXPECT_EQ(p.target, 0);
  EXPECT_EQ(p.attach, (std::vector<Identifier>{Email("ann@shop.co.uk"), Phone("+447700900123")}));
  EXPECT_TRUE(p.merges.empty());
  EXPECT_TRUE(p.refused.empty());
}

TEST(MergePlanner, NoIdentifiersStaysAnonymous) {
  const Plan p = MustPlan(PlanInput{});
  EXPECT_EQ(p.target_kind, TargetKind::kNone);
}

TEST(MergePlanner, AttachesNewIdentifierToKnownProfile) {
  PlanInput in;
  in.identifiers = {{Email("ann@shop.co.uk"), 7}, {Phone("+447700900123"), {}}};
  in.profiles = {{7, CountsOf({{IdType::kEmail, 1}})}};
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.target_kind, TargetKind::kExisting);
  EXPECT_EQ(p.target, 7);
  EXPECT_EQ(p.attach, std::vector<Identifier>{Phone("+447700900123")});
  EXPECT_EQ(p.matched, std::vector<Identifier>{Email("ann@shop.co.uk")});
  EXPECT_TRUE(p.merges.empty());
}

TEST(MergePlanner, TwoProfilesMergeIntoTheOldest) {
  PlanInput in;
  in.identifiers = {{Loyalty("L-9"), 9}, {Email("ann@shop.co.uk"), 4}, {Anon("a-1"), {}}};
  in.profiles = {{9, CountsOf({{IdType::kLoyaltyId, 1}})}, {4, CountsOf({{IdType::kEmail, 1}})}};
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.target_kind, TargetKind::kExisting);
  EXPECT_EQ(p.target, 4);
  ASSERT_EQ(p.merges.size(), 1u);
  EXPECT_EQ(p.merges[0].absorbed, 9);
  EXPECT_EQ(p.merges[0].link, Loyalty("L-9"));
  EXPECT_EQ(p.attach, std::vector<Identifier>{Anon("a-1")});

  // The same identifiers in any order give the same plan.
  std::vector<ObservedIdentifier> ids = in.identifiers;
  std::sort(ids.begin(), ids.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  do {
    PlanInput perm = in;
    perm.identifiers = ids;
    std::reverse(perm.profiles.begin(), perm.profiles.end());
    const Plan q = MustPlan(perm);
    EXPECT_EQ(q.target, p.target);
    EXPECT_EQ(q.attach, p.attach);
    ASSERT_EQ(q.merges.size(), 1u);
    EXPECT_EQ(q.merges[0].link, p.merges[0].link);
  } while (std::next_permutation(ids.begin(), ids.end(),
                                 [](const auto& a, const auto& b) { return a.id < b.id; }));
}

TEST(MergePlanner, OneEventLinkingThreeProfiles) {
  PlanInput in;
  in.identifiers = {{Loyalty("L"), 10}, {Email("e@shop.com"), 4}, {Phone("+447700900123"), 7}};
  in.profiles = {{10, {}}, {4, {}}, {7, {}}};
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.target, 4);
  ASSERT_EQ(p.merges.size(), 2u);
  EXPECT_EQ(p.merges[0].absorbed, 7);
  EXPECT_EQ(p.merges[1].absorbed, 10);
}

TEST(MergePlanner, ChainOfThreeEventsEndsInOneProfile) {
  const Guardrails g;
  MemoryResolver r(g);
  const auto a = r.Apply({Email("ann@shop.co.uk")});
  const auto b = r.Apply({Phone("+447700900123")});
  const auto c = r.Apply({Loyalty("L-1")});
  ASSERT_TRUE(a.profile && b.profile && c.profile);
  EXPECT_EQ(r.profile_count(), 3u);
  // Email + phone: profiles 1 and 2 merge into 1.
  const auto ab = r.Apply({Email("ann@shop.co.uk"), Phone("+447700900123")});
  EXPECT_EQ(ab.profile, a.profile);
  EXPECT_EQ(r.profile_count(), 2u);
  // Phone (now on 1) + loyalty (on 3): 3 merges into 1, linked by the loyalty id.
  const auto bc = r.Apply({Phone("+447700900123"), Loyalty("L-1")});
  EXPECT_EQ(bc.profile, a.profile);
  ASSERT_EQ(bc.plan.merges.size(), 1u);
  EXPECT_EQ(bc.plan.merges[0].absorbed, *c.profile);
  EXPECT_EQ(bc.plan.merges[0].link, Loyalty("L-1"));
  EXPECT_EQ(r.profile_count(), 1u);
  EXPECT_EQ(r.ProfileOf(Loyalty("L-1")), a.profile);
}

TEST(MergePlanner, MergeOverLimitIsRefusedAndEventGoesToStrongestIdentifier) {
  GuardrailConfig c;
  c.max_per_profile[TypeIndex(IdType::kLoyaltyId)] = 1;
  const Guardrails g(c, {});
  PlanInput in;
  // Profile 1 has loyalty L-1 and the email; profile 2 has loyalty L-2.
  in.identifiers = {{Email("ann@shop.co.uk"), 1}, {Loyalty("L-2"), 2}};
  in.profiles = {{1, CountsOf({{IdType::kLoyaltyId, 1}, {IdType::kEmail, 1}})},
                 {2, CountsOf({{IdType::kLoyaltyId, 1}})}};
  const Plan p = MustPlan(in, g);
  EXPECT_EQ(p.target_kind, TargetKind::kExisting);
  EXPECT_EQ(p.target, 2);  // loyalty_id outranks email
  EXPECT_TRUE(p.merges.empty());
  ASSERT_EQ(p.refused.size(), 1u);
  EXPECT_EQ(p.refused[0].identifier, Email("ann@shop.co.uk"));
  EXPECT_EQ(p.refused[0].reason, RefusalReason::kLimit);
  EXPECT_EQ(p.refused[0].detail, "loyalty_id");
  EXPECT_EQ(p.refused[0].profile, 1);
  EXPECT_STREQ(RefusalReasonName(p.refused[0].reason), "limit");
}

TEST(MergePlanner, DefaultLimitsRefuseTwoProfilesWithTwoLoyaltyIdsEach) {
  PlanInput in;
  in.identifiers = {{Loyalty("L-1"), 1}, {Loyalty("L-3"), 2}};
  in.profiles = {{1, CountsOf({{IdType::kLoyaltyId, 2}})}, {2, CountsOf({{IdType::kLoyaltyId, 2}})}};
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.target, 1);  // same strength: the older profile
  EXPECT_TRUE(p.merges.empty());
  ASSERT_EQ(p.refused.size(), 1u);
  EXPECT_EQ(p.refused[0].profile, 2);
  // With one loyalty id each they fit (2 <= 2) and merge.
  in.profiles = {{1, CountsOf({{IdType::kLoyaltyId, 1}})}, {2, CountsOf({{IdType::kLoyaltyId, 1}})}};
  EXPECT_EQ(MustPlan(in).merges.size(), 1u);
}

TEST(MergePlanner, AttachingOverLimitIsRefused) {
  PlanInput in;
  in.identifiers = {{Email("ann@shop.co.uk"), 3}, {Phone("+447700900999"), {}},
                    {Email("ann2@shop.co.uk"), {}}};
  in.profiles = {{3, CountsOf({{IdType::kEmail, 1}, {IdType::kPhone, 3}})}};
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.attach, std::vector<Identifier>{Email("ann2@shop.co.uk")});
  ASSERT_EQ(p.refused.size(), 1u);
  EXPECT_EQ(p.refused[0].identifier, Phone("+447700900999"));
  EXPECT_EQ(p.refused[0].detail, "phone");

  PlanInput many;
  for (int i = 0; i < 7; ++i) many.identifiers.push_back({Email("e" + std::to_string(i) + "@x.com"), {}});
  const Plan q = MustPlan(many);
  EXPECT_EQ(q.target_kind, TargetKind::kNew);
  EXPECT_EQ(q.attach.size(), 5u);
  EXPECT_EQ(q.refused.size(), 2u);
  EXPECT_EQ(q.refused[0].identifier, Email("e5@x.com"));
}

TEST(MergePlanner, SharedDeviceNeverMerges) {
  GuardrailConfig c;
  c.shared = {{IdType::kLoyaltyId, "HOUSE"}, {IdType::kAnonymousId, "kiosk-1"}};
  const Guardrails g(c, {});
  MemoryResolver r(g);
  const auto ann = r.Apply({Email("ann@shop.co.uk"), Loyalty("HOUSE"), Anon("kiosk-1")});
  const auto bob = r.Apply({Email("bob@shop.co.uk"), Loyalty("HOUSE"), Anon("kiosk-1")});
  ASSERT_TRUE(ann.profile && bob.profile);
  EXPECT_NE(*ann.profile, *bob.profile);
  EXPECT_EQ(r.profile_count(), 2u);
  EXPECT_FALSE(r.ProfileOf(Loyalty("HOUSE")).has_value());
  ASSERT_EQ(bob.plan.refused.size(), 2u);
  EXPECT_EQ(bob.plan.refused[0].reason, RefusalReason::kShared);
  // Only the shared card: the event is taken but belongs to nobody.
  EXPECT_EQ(r.Apply({Loyalty("HOUSE")}).plan.target_kind, TargetKind::kNone);

  // Even a shared card attached before it was flagged does not link.
  PlanInput in;
  in.identifiers = {{Loyalty("HOUSE"), 5}, {Email("ann@shop.co.uk"), 1}};
  in.profiles = {{5, {}}, {1, {}}};
  const Plan p = MustPlan(in, g);
  EXPECT_EQ(p.target, 1);
  EXPECT_TRUE(p.merges.empty());
}

TEST(MergePlanner, BlocklistedJunkNeverMerges) {
  const Guardrails g;
  MemoryResolver r(g);
  const auto ann = r.Apply({Loyalty("L-ann"), Email("test@test.com")});
  const auto bob = r.Apply({Loyalty("L-bob"), Email("test@test.com")});
  ASSERT_TRUE(ann.profile && bob.profile);
  EXPECT_NE(*ann.profile, *bob.profile);
  EXPECT_FALSE(r.ProfileOf(Email("test@test.com")).has_value());
  ASSERT_EQ(bob.plan.refused.size(), 1u);
  EXPECT_EQ(bob.plan.refused[0].reason, RefusalReason::kBlocklisted);
  EXPECT_EQ(r.Apply({Email("test@test.com"), Phone("+10000000000")}).plan.target_kind,
            TargetKind::kNone);

  // A junk value stored before the blocklist knew it does not link either.
  PlanInput in;
  in.identifiers = {{Email("test@test.com"), 1}, {Loyalty("L-bob"), 2}};
  in.profiles = {{1, {}}, {2, {}}};
  const Plan p = MustPlan(in, g);
  EXPECT_EQ(p.target, 2);
  EXPECT_TRUE(p.merges.empty());
}

TEST(MergePlanner, KeptApartProfilesAreNotMergedAgain) {
  PlanInput in;
  in.identifiers = {{Email("ann@shop.co.uk"), 1}, {Phone("+447700900123"), 2}};
  in.profiles = {{1, {}}, {2, {}}};
  in.kept_apart = {{2, 1}};
  const Plan p = MustPlan(in);
  EXPECT_EQ(p.target, 1);
  EXPECT_TRUE(p.merges.empty());
  ASSERT_EQ(p.refused.size(), 1u);
  EXPECT_EQ(p.refused[0].reason, RefusalReason::kKeptApart);
}

TEST(MergePlanner, RejectsInconsistentInput) {
  PlanInput missing;
  missing.identifiers = {{Email("ann@shop.co.uk"), 1}};
  EXPECT_EQ(PlanEvent(missing, Guardrails()).status().code(), Code::kInvalid);
  PlanInput twice;
  twice.identifiers = {{Email("ann@shop.co.uk"), 1}, {Email("ann@shop.co.uk"), 2}};
  twice.profiles = {{1, {}}, {2, {}}};
  EXPECT_EQ(PlanEvent(twice, Guardrails()).status().code(), Code::kInvalid);
  PlanInput dup;
  dup.identifiers = {{Email("ann@shop.co.uk"), {}}, {Email("ann@shop.co.uk"), {}}};
  EXPECT_EQ(MustPlan(dup).attach.size(), 1u);
}

}  // namespace
}  // namespace cjd::hub::identity

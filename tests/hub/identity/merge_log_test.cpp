#include "hub/identity/merge_log.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "tests/hub/identity/memory_resolver.h"

namespace cjd::hub::identity {
namespace {

PepperKey Pepper() {
  PepperKey k{};
  k.fill(0x42);
  return k;
}

IdKey K(IdType t, const std::string& v) { return IdentifierKey(t, v, Pepper()); }

TEST(MergeLog, RecordsForAPlanHashTheLink) {
  Plan plan;
  plan.target_kind = TargetKind::kExisting;
  plan.target = 4;
  plan.merges = {{7, {IdType::kEmail, "ann@shop.co.uk"}}, {9, {IdType::kLoyaltyId, "L-9"}}};
  const auto records = MergeRecordsFor(plan, "evt-1", 1700000000000, Pepper());
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].kind, LogKind::kMerge);
  EXPECT_EQ(records[0].merge_id, 0u);
  EXPECT_EQ(records[0].survivor, 4);
  EXPECT_EQ(records[0].absorbed, 7);
  EXPECT_EQ(records[0].link_type, IdType::kEmail);
  EXPECT_EQ(records[0].link_key, K(IdType::kEmail, "ann@shop.co.uk"));
  EXPECT_EQ(records[0].event_id, "evt-1");
  EXPECT_EQ(records[0].at_ms, 1700000000000);
  EXPECT_EQ(records[1].absorbed, 9);
  EXPECT_STREQ(LogKindName(records[1].kind), "merge");
}

MergeRecord LoggedMerge() {
  MergeRecord m;
  m.merge_id = 12;
  m.survivor = 1;
  m.absorbed = 2;
  m.link_type = IdType::kPhone;
  m.link_key = K(IdType::kPhone, "+447700900123");
  m.event_id = "evt-link";
  m.at_ms = 1000;
  return m;
}

TEST(SplitPlan, RestoresTheAbsorbedProfileAndItsEvents) {
  SplitInput in;
  in.merge = LoggedMerge();
  in.absorbed_identifiers = {K(IdType::kEmail, "bob@shop.co.uk"), K(IdType::kPhone, "+447700900123")};
  in.absorbed_events = {"b-1", "b-2"};
  in.at_ms = 5000;
  const Result<SplitPlan> p = PlanSplit(in);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->from, 1);
  EXPECT_EQ(p->restore, 2);
  EXPECT_EQ(p->move_identifiers.size(), 2u);
  EXPECT_EQ(p->move_events, (std::vector<std::string>{"b-1", "b-2"}));
  EXPECT_EQ(p->keep_apart, std::make_pair(ProfileId{1}, ProfileId{2}));
  EXPECT_EQ(p->log_record.kind, LogKind::kSplit);
  EXPECT_EQ(p->log_record.reverts, 12u);
  EXPECT_EQ(p->log_record.survivor, 1);
  EXPECT_EQ(p->log_record.absorbed, 2);
  EXPECT_EQ(p->log_record.at_ms, 5000);
}

TEST(SplitPlan, LaterHistoryFollowsTheIdentifiers) {
  const IdKey bob_email = K(IdType::kEmail, "bob@shop.co.uk");
  const IdKey bob_card = K(IdType::kCardFingerprint, "fp-bob");
  const IdKey ann_email = K(IdType::kEmail, "ann@shop.co.uk");
  SplitInput in;
  in.merge = LoggedMerge();
  in.current_owner = 1;
  in.absorbed_identifiers = {bob_email};
  in.absorbed_events = {"b-1"};
  in.later_events = {
      {"a-2", {ann_email}, {}},                 // the survivor's own: stays
      {"b-3", {bob_email, bob_card}, {bob_card}},  // Bob's, with a card it attached: moves
      {"b-4", {bob_card}, {}},                  // only Bob's new card: moves too
      {"x-5", {bob_email, ann_email}, {}},      // carries both sides: stays
      {"b-1", {bob_email}, {}},                 // already moved once
  };
  const Result<SplitPlan> p = PlanSplit(in);
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->move_events, (std::vector<std::string>{"b-1", "b-3", "b-4"}));
  std::vector<IdKey> want = {bob_email, bob_card};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(p->move_identifiers, want);
}

TEST(SplitPlan, RejectsWhatIsNotALoggedMerge) {
  SplitInput unlogged;
  unlogged.merge = LoggedMerge();
  unlogged.merge.merge_id = 0;
  EXPECT_EQ(PlanSplit(unlogged).status().code(), Code::kInvalid);
  SplitInput split;
  split.merge = LoggedMerge();
  split.merge.kind = LogKind::kSplit;
  EXPECT_FALSE(PlanSplit(split).ok());
  SplitInput self;
  self.merge = LoggedMerge();
  self.current_owner = 2;
  EXPECT_FALSE(PlanSplit(self).ok());
}

TEST(SplitPlan, KeptApartStopsTheSameLinkFromMergingAgain) {
  const Guardrails g;
  testing::MemoryResolver r(g);
  const Identifier ann{IdType::kEmail, "ann@shop.co.uk"};
  const Identifier bob{IdType::kEmail, "bob@shop.co.uk"};
  const Identifier shared_phone{IdType::kPhone, "+447700900123"};
  const auto a = r.Apply({ann});
  const auto b = r.Apply({bob, shared_phone});
  const auto wrong = r.Apply({ann, shared_phone});  // a household phone links them
  ASSERT_EQ(wrong.plan.merges.size(), 1u);
  auto records = MergeRecordsFor(wrong.plan, "evt-wrong", 1, Pepper());
  records[0].merge_id = 1;
  SplitInput in;
  in.merge = records[0];
  in.absorbed_identifiers = {K(bob.type, bob.value), K(shared_phone.type, shared_phone.value)};
  const Result<SplitPlan> split = PlanSplit(in);
  ASSERT_TRUE(split.ok());
  EXPECT_EQ(split->restore, *b.profile);
  EXPECT_EQ(split->from, *a.profile);
  // The persistent layer would now move Bob's identifiers back and record keep_apart; with
  // that pair in place, planning the same linking event again no longer merges.
  PlanInput again;
  again.identifiers = {{ann, *a.profile}, {shared_phone, *b.profile}};
  again.profiles = {{*a.profile, {}}, {*b.profile, {}}};
  again.kept_apart = {split->keep_apart};
  const Result<Plan> p = PlanEvent(again, g);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->merges.empty());
  EXPECT_EQ(p->target, *a.profile);  // email outranks phone
}

}  // namespace
}  // namespace cjd::hub::identity

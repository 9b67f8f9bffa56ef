// The built-in RFM segments: they parse, and they hold exactly the customers their definitions
// name.
#include <gtest/gtest.h>

#include <set>

#include "hub/segments/builtin.h"
#include "hub/segments/rule.h"

namespace cjd::hub::segments {
namespace {

ProfileFacts Rfm(int r, int f, int m) {
  ProfileFacts facts;
  facts.SetInt("rfm.recency", r);
  facts.SetInt("rfm.frequency", f);
  facts.SetInt("rfm.monetary", m);
  return facts;
}

std::set<std::string> MembershipOf(const ProfileFacts& facts) {
  std::set<std::string> out;
  for (const BuiltinSegment& s : BuiltinSegments()) {
    Result<Rule> r = ParseRule(s.rule);
    EXPECT_TRUE(r.ok()) << s.id;
    if (r.ok() && r->Matches(facts)) out.insert(std::string(s.id));
  }
  return out;
}

TEST(SegmentBuiltin, AllParseWithUniqueIdsAndReadOnlyRfm) {
  std::set<std::string_view> ids;
  for (const BuiltinSegment& s : BuiltinSegments()) {
    EXPECT_TRUE(ids.insert(s.id).second) << s.id;
    Result<Rule> r = ParseRule(s.rule);
    ASSERT_TRUE(r.ok()) << s.id << ": " << r.status().message();
    EXPECT_EQ(r->ToString(), s.rule) << "built-in rules are written in normal form";
    for (const std::string& field : r->Fields()) EXPECT_TRUE(field.starts_with("rfm.")) << field;
    EXPECT_FALSE(s.name.empty());
    EXPECT_FALSE(s.description.empty());
  }
  EXPECT_EQ(ids, (std::set<std::string_view>{"champions", "loyal", "new", "at_risk",
                                              "hibernating", "needs_attention"}));
}

TEST(SegmentBuiltin, SampleProfiles) {
  EXPECT_EQ(MembershipOf(Rfm(5, 5, 5)), (std::set<std::string>{"champions", "loyal"}));
  EXPECT_EQ(MembershipOf(Rfm(4, 4, 3)), (std::set<std::string>{"loyal"}));
  EXPECT_EQ(MembershipOf(Rfm(3, 5, 1)), (std::set<std::string>{"loyal"}));
  EXPECT_EQ(MembershipOf(Rfm(5, 1, 1)), (std::set<std::string>{"new"}));
  EXPECT_EQ(MembershipOf(Rfm(1, 5, 5)), (std::set<std::string>{"at_risk"}));
  EXPECT_EQ(MembershipOf(Rfm(2, 3, 2)), (std::set<std::string>{"at_risk"}));
  EXPECT_EQ(MembershipOf(Rfm(1, 1, 1)), (std::set<std::string>{"hibernating"}));
  EXPECT_EQ(MembershipOf(Rfm(3, 2, 2)), (std::set<std::string>{"needs_attention"}));
  EXPECT_EQ(MembershipOf(Rfm(4, 3, 3)), (std::set<std::string>{}));  // promising: no built-in
  EXPECT_EQ(MembershipOf(ProfileFacts()), (std::set<std::string>{}));  // no RFM score yet
}

TEST(SegmentBuiltin, MatchTheirDefinitionsOnEveryScore) {
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      for (int m = 1; m <= 5; ++m) {
        std::set<std::string> expected;
        if (r >= 4 && f >= 4 && m >= 4) expected.insert("champions");
        if (f >= 4 && r >= 3) expected.insert("loyal");
        if (r >= 4 && f <= 1) expected.insert("new");
        if (r <= 2 && f >= 3) expected.insert("at_risk");
        if (r <= 2 && f <= 2) expected.insert("hibernating");
        if (r == 3 && f <= 3) expected.insert("needs_attention");
        EXPECT_EQ(MembershipOf(Rfm(r, f, m)), expected) << r << f << m;
      }
    }
  }
}

TEST(SegmentBuiltin, LeaveOnlyPromisingScoresUncovered) {
  for (int r = 1; r <= 5; ++r) {
    for (int f = 1; f <= 5; ++f) {
      for (int m = 1; m <= 5; ++m) {
        const bool promising = r >= 4 && f >= 2 && f <= 3;
        EXPECT_EQ(MembershipOf(Rfm(r, f, m)).empty(), promising) << r << f << m;
      }
    }
  }
}

}  // namespace
}  // namespace cjd::hub::segments

// The in-hub matcher's pure parts: the chaining guard over proposed merges, and the matching
// fields read from a profile's attributes (hub/matching/profile_matcher.h). The thread, the
// projector's merges and the review API are exercised end to end in
// tests/integration/matching_test.cpp.
#include <gtest/gtest.h>

#include <map>
#include <set>
#include <utility>

#include "hub/matching/blocking.h"
#include "hub/matching/profile_matcher.h"
#include "hub/matching/record_table.h"

namespace cjd::hub::matching {
namespace {

// P(match) between profiles, symmetric; 0.5 when not listed.
struct Pairs {
  std::map<std::pair<int64_t, int64_t>, double> p;
  double operator()(int64_t a, int64_t b) const {
    auto it = p.find({std::min(a, b), std::max(a, b)});
    return it == p.end() ? 0.5 : it->second;
  }
};

std::set<std::pair<int64_t, int64_t>> Merged(const std::vector<MatchMerge>& merges) {
  std::set<std::pair<int64_t, int64_t>> out;
  for (const MatchMerge& m : merges) out.insert({m.a, m.b});
  return out;
}

TEST(GuardChains, TwoProfilesMergeWhateverElseHolds) {
  std::vector<MatchMerge> merges = {{1, 2, 0.999}, {3, 4, 0.995}};
  ReviewPairs reviews;
  GuardChains(&merges, &reviews, Pairs{{{{1, 2}, 0.999}, {{3, 4}, 0.995}}});
  EXPECT_EQ(Merged(merges), (std::set<std::pair<int64_t, int64_t>>{{1, 2}, {3, 4}}));
  EXPECT_TRUE(reviews.empty());
}

TEST(GuardChains, ABridgeBetweenTwoClearlyDifferentPeopleGoesToReview) {
  // 1 ~ 2 and 2 ~ 3, but 1 and 3 are a clear non-match; 5 ~ 6 is unrelated and stays.
  std::vector<MatchMerge> merges = {{1, 2, 0.999}, {2, 3, 0.995}, {5, 6, 0.999}};
  ReviewPairs reviews;
  GuardChains(&merges, &reviews,
              Pairs{{{{1, 2}, 0.999}, {{2, 3}, 0.995}, {{1, 3}, 0.01}, {{5, 6}, 0.999}}});
  EXPECT_EQ(Merged(merges), (std::set<std::pair<int64_t, int64_t>>{{5, 6}}));
  ASSERT_EQ(reviews.size(), 2u);
  EXPECT_EQ(reviews[0].first, (std::pair<int64_t, int64_t>{1, 2}));
  EXPECT_EQ(reviews[0].second, 0.999);
  EXPECT_EQ(reviews[1].first, (std::pair<int64_t, int64_t>{2, 3}));
}

TEST(GuardChains, AGroupWhoseMembersAllAgreeMerges) {
  // Three records of one person: the third pair is weaker than the threshold but no clear
  // non-match (the batch tool's corrupted copies look like this).
  std::vector<MatchMerge> merges = {{1, 2, 0.999}, {2, 3, 0.999}};
  ReviewPairs reviews;
  GuardChains(&merges, &reviews, Pairs{{{{1, 3}, 0.2}}});
  EXPECT_EQ(merges.size(), 2u);
  EXPECT_TRUE(reviews.empty());
}

TEST(GuardChains, AGroupLargerThanTheLimitIsReviewedNotMerged) {
  std::vector<MatchMerge> merges;
  for (int64_t i = 1; i <= static_cast<int64_t>(kMaxGroup); ++i) merges.push_back({i, i + 1, 0.999});
  ReviewPairs reviews;
  GuardChains(&merges, &reviews, Pairs{});  // kMaxGroup + 1 profiles, all compatible
  EXPECT_TRUE(merges.empty());
  EXPECT_EQ(reviews.size(), kMaxGroup);
}

TEST(RecordFromAttributes, TakesTheMatchingFieldsOnlyAndClipsLongValues) {
  Record r;
  EXPECT_FALSE(RecordFromAttributes(nlohmann::json{{"plan", "gold"}}, &r));
  EXPECT_FALSE(RecordFromAttributes(nlohmann::json::array(), &r));
  const nlohmann::json a = {{"first_name", "Ann"},     {"postcode", 2042},
                            {"street_number", 12.5},  {"city", true},
                            {"last_name", ""},         {"address_line1", std::string(300, 'x')},
                            {"favourite", "candles"}};
  ASSERT_TRUE(RecordFromAttributes(a, &r));
  EXPECT_EQ(r[Field::kFirstName], "Ann");
  EXPECT_EQ(r[Field::kPostcode], "2042");     // numbers as written
  EXPECT_EQ(r[Field::kStreetNumber], "12.5");
  EXPECT_EQ(r[Field::kCity], "");             // not a string or a number: ignored
  EXPECT_EQ(r[Field::kLastName], "");
  EXPECT_EQ(r[Field::kAddressLine1].size(), 128u);
  EXPECT_TRUE(r.id.empty());
}

TEST(Incremental, ARemovedRowLeavesItsBlocksAndTheValueCounts) {
  RecordTable table;
  BlockingIndex index(DefaultBlockingKeys(), 100);
  Record r;
  r[Field::kFirstName] = "ann";
  r[Field::kLastName] = "smith";
  r[Field::kPostcode] = "2042";
  r[Field::kDateOfBirth] = "19800102";
  for (int i = 0; i < 3; ++i) index.Add(table, table.Add(r));
  std::vector<uint32_t> candidates;
  index.Candidates(table, table[0], 0, &candidates);
  EXPECT_EQ(candidates, (std::vector<uint32_t>{1, 2}));
  const uint32_t smith = table[1].value[Index(Field::kLastName)];
  EXPECT_EQ(table.values(Field::kLastName).count[smith], 3u);

  index.Remove(1);
  table.Forget(1);
  index.Candidates(table, table[0], 0, &candidates);
  EXPECT_EQ(candidates, (std::vector<uint32_t>{2}));
  EXPECT_EQ(table.values(Field::kLastName).count[smith], 2u);
  EXPECT_EQ(table.values(Field::kLastName).non_missing, 2u);
  index.Remove(1);  // twice: nothing more
  index.Remove(99);  // never added: nothing
  index.Candidates(table, table[2], 2, &candidates);
  EXPECT_EQ(candidates, (std::vector<uint32_t>{0}));
}

}  // namespace
}  // namespace cjd::hub::matching

// Evaluation: every operator, exact decimals, strings, times, lists, booleans, attributes and
// SQL-like null semantics.
#include <gtest/gtest.h>

#include "hub/segments/rule.h"

namespace cjd::hub::segments {
namespace {

Decimal Dec(std::string_view s) { return *Decimal::Parse(s); }

ProfileFacts Sample() {
  ProfileFacts f;
  f.SetInt("orders", 3);
  f.Set("revenue_gross", Dec("100.1"));
  f.Set("revenue_net", Dec("-3.50"));
  f.SetInt("days_since_last_order", 75);
  f.Set("favourite_category", std::string("candles"));
  f.Set("favourite_store", std::string("say \"hi\" \\ there"));
  f.Set("channels", StringList{"store", "web"});
  f.Set("first_seen", Instant{1'700'000'000'000});  // 2023-11-14T22:13:20Z
  f.Set("consent", true);
  f.SetInt("rfm.recency", 4);
  f.Set("attributes.tier", std::string("gold"));
  f.Set("attributes.points", Dec("12.5"));
  f.Set("attributes.vip", false);
  f.Set("attributes.level", std::string("7"));
  f.Set("attributes.signup", std::string("2024-01-02T03:04:05Z"));
  return f;
}

Truth Eval(std::string_view text, const ProfileFacts& facts = Sample()) {
  Result<Rule> r = ParseRule(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? r->Evaluate(facts) : Truth::kUnknown;
}

constexpr Truth T = Truth::kTrue, F = Truth::kFalse, U = Truth::kUnknown;

TEST(SegmentEval, ComparesNumbersWithEveryOperator) {
  EXPECT_EQ(Eval("orders = 3"), T);
  EXPECT_EQ(Eval("orders = 4"), F);
  EXPECT_EQ(Eval("orders != 4"), T);
  EXPECT_EQ(Eval("orders != 3"), F);
  EXPECT_EQ(Eval("orders < 4"), T);
  EXPECT_EQ(Eval("orders < 3"), F);
  EXPECT_EQ(Eval("orders <= 3"), T);
  EXPECT_EQ(Eval("orders <= 2"), F);
  EXPECT_EQ(Eval("orders > 2"), T);
  EXPECT_EQ(Eval("orders > 3"), F);
  EXPECT_EQ(Eval("orders >= 3"), T);
  EXPECT_EQ(Eval("orders >= 4"), F);
  EXPECT_EQ(Eval("orders = 3.000"), T);
  EXPECT_EQ(Eval("revenue_net < 0 and revenue_net > -3.51 and revenue_net = -3.5"), T);
}

TEST(SegmentEval, ComparesMoneyExactlyAcrossScales) {
  EXPECT_EQ(Eval("revenue_gross >= 100.10"), T);
  EXPECT_EQ(Eval("revenue_gross = 100.10"), T);
  EXPECT_EQ(Eval("revenue_gross > 100.10"), F);
  EXPECT_EQ(Eval("revenue_gross > 100.099999999"), T);
  EXPECT_EQ(Eval("revenue_gross < 100.100000001"), T);
  // Values that a double cannot hold apart.
  ProfileFacts f;
  f.Set("revenue_gross", Dec("9007199254740993"));
  EXPECT_EQ(Eval("revenue_gross > 9007199254740992", f), T);
  f.Set("revenue_gross", Dec("0.3"));
  EXPECT_EQ(Eval("revenue_gross = 0.300000000", f), T);
  // Money kept as text is compared exactly too.
  f.Set("revenue_gross", std::string("312.40"));
  EXPECT_EQ(Eval("revenue_gross = 312.4", f), T);
  f.Set("revenue_gross", std::string("not money"));
  EXPECT_EQ(Eval("revenue_gross = 312.4", f), U);
}

TEST(SegmentEval, ComparesStringsWithEscapes) {
  EXPECT_EQ(Eval("favourite_category = \"candles\""), T);
  EXPECT_EQ(Eval("favourite_category = \"Candles\""), F);  // case-sensitive
  EXPECT_EQ(Eval("favourite_store = \"say \\\"hi\\\" \\\\ there\""), T);
  EXPECT_EQ(Eval("favourite_category > \"book\" and favourite_category < \"dog\""), T);
  EXPECT_EQ(Eval("favourite_category contains \"andl\""), T);
  EXPECT_EQ(Eval("favourite_category contains \"x\""), F);
  EXPECT_EQ(Eval("favourite_store contains \"\\\"hi\\\"\""), T);
}

TEST(SegmentEval, InAndNotIn) {
  EXPECT_EQ(Eval("favourite_category in (\"books\", \"candles\")"), T);
  EXPECT_EQ(Eval("favourite_category in (\"books\")"), F);
  EXPECT_EQ(Eval("favourite_category not in (\"books\", \"candles\")"), F);
  EXPECT_EQ(Eval("favourite_category not in (\"books\")"), T);
  EXPECT_EQ(Eval("orders in (1, 2, 3.0)"), T);
  EXPECT_EQ(Eval("attributes.tier in (1, \"gold\")"), T);  // attributes take mixed lists
  EXPECT_EQ(Eval("attributes.tier in (1, \"silver\")"), U);  // 1 vs "gold" cannot compare
  EXPECT_EQ(Eval("attributes.tier not in (1, \"silver\")"), U);
}

TEST(SegmentEval, ContainsOnLists) {
  EXPECT_EQ(Eval("channels contains \"web\""), T);
  EXPECT_EQ(Eval("channels contains \"we\""), F);  // whole elements
  EXPECT_EQ(Eval("not channels contains \"email\""), T);
  ProfileFacts f;
  f.Set("channels", StringList{});
  EXPECT_EQ(Eval("channels contains \"web\"", f), F);
  EXPECT_EQ(Eval("channels is null", f), F);  // an empty list is not null
}

TEST(SegmentEval, ComparesTimesAsInstants) {
  EXPECT_EQ(Eval("first_seen = \"2023-11-14T22:13:20Z\""), T);
  EXPECT_EQ(Eval("first_seen = \"2023-11-14T23:13:20.000+01:00\""), T);  // same instant
  EXPECT_EQ(Eval("first_seen < \"2023-11-14T23:13:20+01:00\""), F);
  EXPECT_EQ(Eval("first_seen > \"2023-11-14T23:13:19+01:00\""), T);
  ProfileFacts f;
  f.Set("first_seen", std::string("2023-11-14T22:13:20Z"));  // text is read as an instant
  EXPECT_EQ(Eval("first_seen = \"2023-11-14T23:13:20+01:00\"", f), T);
  EXPECT_EQ(Eval("attributes.signup > \"2024-01-01T00:00:00Z\""), T);
}

TEST(SegmentEval, Booleans) {
  EXPECT_EQ(Eval("consent = true"), T);
  EXPECT_EQ(Eval("consent != true"), F);
  EXPECT_EQ(Eval("consent = false"), F);
  EXPECT_EQ(Eval("attributes.vip = false"), T);
  EXPECT_EQ(Eval("attributes.vip in (true)"), F);
  EXPECT_EQ(Eval("attributes.vip = 0"), U);  // no conversion between types
}

TEST(SegmentEval, AttributesCompareByWhatTheyHold) {
  EXPECT_EQ(Eval("attributes.tier = \"gold\""), T);
  EXPECT_EQ(Eval("attributes.points > 12.49 and attributes.points < 12.51"), T);
  EXPECT_EQ(Eval("attributes.level = 7"), T);       // a decimal string meets a number
  EXPECT_EQ(Eval("attributes.level = \"7\""), T);
  EXPECT_EQ(Eval("attributes.points = \"12.5\""), U);  // a number never equals text
  EXPECT_EQ(Eval("attributes.tier > 5"), U);
  EXPECT_EQ(Eval("attributes.tier contains \"ol\""), T);
}

TEST(SegmentEval, NullAndMissingAreUnknownInComparisons) {
  for (const char* rule :
       {"rfm.frequency = 1", "rfm.frequency != 1",
        "rfm.frequency < 1", "rfm.frequency >= 1", "rfm.frequency in (1, 2)",
        "rfm.frequency not in (1, 2)", "attributes.missing contains \"x\"",
        "not rfm.frequency = 1", "last_seen > \"2020-01-01T00:00:00Z\""}) {
    const std::string text = rule;
    EXPECT_EQ(Eval(text), U) << text;
    Result<Rule> r = ParseRule(text);
    ASSERT_TRUE(r.ok()) << text;
    EXPECT_FALSE(r->Matches(Sample())) << text;
  }
  ProfileFacts f;
  f.Set("orders", FactValue{});  // explicitly null
  EXPECT_EQ(Eval("orders = 0", f), U);
  EXPECT_EQ(Eval("orders is null", f), T);
  EXPECT_EQ(Eval("orders is not null", f), F);
  EXPECT_EQ(Eval("rfm.frequency is null"), T);  // missing
  EXPECT_EQ(Eval("rfm.recency is not null"), T);
}

TEST(SegmentEval, UnknownFollowsKleeneLogic) {
  // rfm.frequency is missing: its comparisons are unknown.
  EXPECT_EQ(Eval("rfm.frequency = 1 and orders = 3"), U);
  EXPECT_EQ(Eval("rfm.frequency = 1 and orders = 4"), F);
  EXPECT_EQ(Eval("rfm.frequency = 1 or orders = 3"), T);
  EXPECT_EQ(Eval("rfm.frequency = 1 or orders = 4"), U);
  EXPECT_EQ(Eval("not (rfm.frequency = 1 or orders = 4)"), U);
  EXPECT_EQ(Eval("not (rfm.frequency = 1 and orders = 4)"), T);
  EXPECT_EQ(Eval("rfm.frequency is null or rfm.frequency < 2"), T);
  // `not x = v` and `x != v` agree, null or not.
  EXPECT_EQ(Eval("not rfm.frequency = 1"), Eval("rfm.frequency != 1"));
  EXPECT_EQ(Eval("not orders = 1"), Eval("orders != 1"));
}

TEST(SegmentEval, MatchesOnlyOnTrue) {
  Result<Rule> r = ParseRule("rfm.frequency >= 1 or orders > 5");
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->Matches(Sample()));
  EXPECT_FALSE(r->Matches(ProfileFacts()));
  Result<Rule> s = ParseRule("orders >= 2 and days_since_last_order > 60 and "
                             "favourite_category = \"candles\"");
  ASSERT_TRUE(s.ok());
  EXPECT_TRUE(s->Matches(Sample()));
}

}  // namespace
}  // namespace cjd::hub::segments

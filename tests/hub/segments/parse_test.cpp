// Parsing: precedence, normalised text, the fields a rule reads.
#include <gtest/gtest.h>

#include "hub/segments/rule.h"

namespace cjd::hub::segments {
namespace {

std::string Normal(std::string_view text) {
  Result<Rule> r = ParseRule(text);
  EXPECT_TRUE(r.ok()) << text << ": " << r.status().message();
  return r.ok() ? r->ToString() : "";
}

TEST(SegmentParse, ReadsTheExampleFromTheIssue) {
  Result<Rule> r = ParseRule(
      "orders >= 2 and days_since_last_order > 60 and favourite_category = \"candles\"");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->root().kind, RuleNode::Kind::kAnd);
  ASSERT_EQ(r->root().children.size(), 3u);
  const Predicate& p = r->root().children[1].predicate;
  EXPECT_EQ(p.field, "days_since_last_order");
  EXPECT_EQ(p.op, CompareOp::kGt);
  EXPECT_EQ(std::get<Decimal>(p.values[0].value), Decimal(60, 0));
}

TEST(SegmentParse, AndBindsTighterThanOr) {
  EXPECT_EQ(Normal("orders = 1 or orders = 2 and events = 3"),
            "orders = 1 or orders = 2 and events = 3");
  Result<Rule> r = ParseRule("orders = 1 or orders = 2 and events = 3");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->root().kind, RuleNode::Kind::kOr);
  EXPECT_EQ(r->root().children[1].kind, RuleNode::Kind::kAnd);
  EXPECT_EQ(Normal("(orders = 1 or orders = 2) and events = 3"),
            "(orders = 1 or orders = 2) and events = 3");
}

TEST(SegmentParse, NotBindsTighterThanAnd) {
  Result<Rule> r = ParseRule("not orders = 1 and events = 3");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->root().kind, RuleNode::Kind::kAnd);
  EXPECT_EQ(r->root().children[0].kind, RuleNode::Kind::kNot);
  EXPECT_EQ(Normal("not (orders = 1 and events = 3)"), "not (orders = 1 and events = 3)");
  EXPECT_EQ(Normal("not not orders = 1"), "not not orders = 1");
}

TEST(SegmentParse, KeywordsAreCaseInsensitive) {
  EXPECT_EQ(Normal("NOT orders IN (1, 2) AnD channels CONTAINS \"web\" Or consent IS NOT NULL "
                   "or favourite_store NOT IN (\"a\") or consent = TRUE"),
            "not orders in (1, 2) and channels contains \"web\" or consent is not null or "
            "favourite_store not in (\"a\") or consent = true");
}

TEST(SegmentParse, NormalisesSpacingParenthesesAndChains) {
  EXPECT_EQ(Normal("  ((orders>=2))and(events<3 and(loyalty_scans!=0))  "),
            "orders >= 2 and events < 3 and loyalty_scans != 0");
  EXPECT_EQ(Normal("orders = 1 or (orders = 2 or (orders = 3))"),
            "orders = 1 or orders = 2 or orders = 3");
  EXPECT_EQ(Normal("(orders = 1 or events = 2) and (events = 3 or loyalty_scans <= 4)"),
            "(orders = 1 or events = 2) and (events = 3 or loyalty_scans <= 4)");
  EXPECT_EQ(Normal("orders\t=\n1"), "orders = 1");
}

TEST(SegmentParse, KeepsLiteralsExact) {
  EXPECT_EQ(Normal("revenue_gross >= 100.10"), "revenue_gross >= 100.10");
  EXPECT_EQ(Normal("revenue_net < -3.5"), "revenue_net < -3.5");
  EXPECT_EQ(Normal("favourite_store = \"a \\\"b\\\" \\\\ c\""),
            "favourite_store = \"a \\\"b\\\" \\\\ c\"");
  EXPECT_EQ(Normal("first_seen < \"2024-05-01T00:00:00+02:00\""),
            "first_seen < \"2024-05-01T00:00:00+02:00\"");
  Result<Rule> r = ParseRule("favourite_store = \"a \\\"b\\\" \\\\ c\"");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(std::get<std::string>(r->root().predicate.values[0].value), "a \"b\" \\ c");
}

TEST(SegmentParse, ReadsEveryKnownFieldAndAttributes) {
  for (const KnownField& f : KnownFields()) {
    std::string rule = std::string(f.name) + " is not null";
    EXPECT_TRUE(ParseRule(rule).ok()) << rule;
  }
  EXPECT_EQ(Normal("attributes.tier = \"gold\""), "attributes.tier = \"gold\"");
  EXPECT_EQ(Normal("attributes.address.city = \"Berlin\""), "attributes.address.city = \"Berlin\"");
  EXPECT_EQ(Normal("attributes.points > 10"), "attributes.points > 10");
}

TEST(SegmentParse, ListsTheFieldsARuleReads) {
  Result<Rule> r = ParseRule(
      "orders > 1 and (attributes.tier = \"gold\" or not orders in (5, 6)) and "
      "channels contains \"web\" and rfm.recency is null");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Fields(),
            (std::vector<std::string>{"attributes.tier", "channels", "orders", "rfm.recency"}));
}

TEST(SegmentParse, NormalTextParsesToTheSameText) {
  for (const char* text :
       {"orders >= 2 and days_since_last_order > 60 and favourite_category = \"candles\"",
        "not (orders = 1 or not events = 2) and consent = false",
        "favourite_store in (\"a\\\\\", \"\\\"\") or attributes.x.y contains \"\""}) {
    Result<Rule> r = ParseRule(text);
    ASSERT_TRUE(r.ok()) << text << ": " << r.status().message();
    Result<Rule> again = ParseRule(r->ToString());
    ASSERT_TRUE(again.ok()) << again.status().message();
    EXPECT_EQ(again->ToString(), r->ToString());
  }
}

}  // namespace
}  // namespace cjd::hub::segments

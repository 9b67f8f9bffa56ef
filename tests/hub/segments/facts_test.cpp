// FactsFromProfileJson on documents shaped like GET /v1/profiles/{id}.
#include <gtest/gtest.h>

#include "hub/segments/facts.h"
#include "hub/segments/rule.h"

namespace cjd::hub::segments {
namespace {

using json = nlohmann::json;

// As ProfileReader::Profile writes it (hub/projection/profile_reader.cpp).
const char* kProfile = R"({
  "profile_id": 12, "created_at": "2024-01-03T10:00:00.000Z",
  "identifiers": [{"type": "email", "value": "ann@example.com", "attached_at": "2024-01-03T10:00:00.000Z"}],
  "attributes": {"first_name": "Ann", "tier": "gold", "points": 1250, "ratio": 0.25,
                 "newsletter": true, "nickname": null, "address": {"city": "Berlin"},
                 "BadName": "x", "tags": ["a", "b"]},
  "traits": {"first_seen": "2024-01-03T10:00:00.000Z", "last_seen": "2024-06-01T18:30:00.000Z",
             "events": 31, "orders": 7, "currency": "GBP",
             "revenue_gross": "312.40", "revenue_net": "290.00", "average_order_value": "44.63",
             "clv_gross": "312.40", "clv_net": "290.00", "last_order_at": "2024-06-01T18:30:00.000Z",
             "days_since_last_order": 12, "favourite_store": "berlin-042",
             "favourite_category": "candles", "channels": ["store", "web"], "loyalty_scans": 3,
             "rfm": {"recency": 5, "frequency": 4, "monetary": 4, "score": "544"}},
  "merged_from": [40], "events": [{"source": "pos-17", "event": {"type": "transaction"}}],
  "next_events_before": 1234})";

const FactValue& Get(const ProfileFacts& f, std::string_view name) {
  static const FactValue kNull;
  const FactValue* v = f.Find(name);
  return v != nullptr ? *v : kNull;
}

TEST(SegmentFacts, ReadsTraitsFromAProfileDocument) {
  const ProfileFacts f = FactsFromProfileJson(json::parse(kProfile));
  EXPECT_EQ(std::get<Decimal>(Get(f, "orders")), Decimal(7, 0));
  EXPECT_EQ(std::get<Decimal>(Get(f, "revenue_gross")).ToString(), "312.40");
  EXPECT_EQ(std::get<Decimal>(Get(f, "revenue_net")).ToString(), "290.00");
  EXPECT_EQ(std::get<Decimal>(Get(f, "average_order_value")).ToString(), "44.63");
  EXPECT_EQ(std::get<Decimal>(Get(f, "clv_gross")).ToString(), "312.40");
  EXPECT_EQ(std::get<Decimal>(Get(f, "clv_net")).ToString(), "290.00");
  EXPECT_EQ(std::get<Decimal>(Get(f, "days_since_last_order")), Decimal(12, 0));
  EXPECT_EQ(std::get<Decimal>(Get(f, "events")), Decimal(31, 0));
  EXPECT_EQ(std::get<Decimal>(Get(f, "loyalty_scans")), Decimal(3, 0));
  EXPECT_EQ(std::get<std::string>(Get(f, "currency")), "GBP");
  EXPECT_EQ(std::get<std::string>(Get(f, "favourite_store")), "berlin-042");
  EXPECT_EQ(std::get<std::string>(Get(f, "favourite_category")), "candles");
  EXPECT_EQ(std::get<StringList>(Get(f, "channels")), (StringList{"store", "web"}));
  EXPECT_EQ(std::get<Instant>(Get(f, "first_seen")).utc_ms, 1704276000000);
  EXPECT_EQ(std::get<Instant>(Get(f, "last_seen")).utc_ms, 1717266600000);
  EXPECT_EQ(std::get<Instant>(Get(f, "last_order_at")).utc_ms, 1717266600000);
  EXPECT_EQ(std::get<Decimal>(Get(f, "rfm.recency")), Decimal(5, 0));
  EXPECT_EQ(std::get<Decimal>(Get(f, "rfm.frequency")), Decimal(4, 0));
  EXPECT_EQ(std::get<Decimal>(Get(f, "rfm.monetary")), Decimal(4, 0));
  EXPECT_TRUE(std::holds_alternative<std::monostate>(Get(f, "consent")));  // not sent yet
}

TEST(SegmentFacts, ReadsAttributes) {
  const ProfileFacts f = FactsFromProfileJson(json::parse(kProfile));
  EXPECT_EQ(std::get<std::string>(Get(f, "attributes.first_name")), "Ann");
  EXPECT_EQ(std::get<Decimal>(Get(f, "attributes.points")), Decimal(1250, 0));
  EXPECT_EQ(std::get<Decimal>(Get(f, "attributes.ratio")).ToString(), "0.25");
  EXPECT_EQ(std::get<bool>(Get(f, "attributes.newsletter")), true);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(Get(f, "attributes.nickname")));
  EXPECT_EQ(std::get<std::string>(Get(f, "attributes.address.city")), "Berlin");
  EXPECT_EQ(std::get<StringList>(Get(f, "attributes.tags")), (StringList{"a", "b"}));
  EXPECT_EQ(f.Find("attributes.BadName"), nullptr);
  EXPECT_EQ(f.Find("attributes.address"), nullptr);
}

TEST(SegmentFacts, RulesEvaluateOnTheDocument) {
  const ProfileFacts f = FactsFromProfileJson(json::parse(kProfile));
  for (const char* rule :
       {"orders >= 2 and days_since_last_order > 10 and favourite_category = \"candles\"",
        "revenue_gross = 312.4 and revenue_net >= 290 and average_order_value < 44.64",
        "channels contains \"web\" and currency = \"GBP\"",
        "first_seen >= \"2024-01-03T11:00:00+01:00\" and first_seen < \"2024-01-03T10:00:00.001Z\"",
        "last_seen > \"2024-06-01T20:00:00+02:00\"",
        "rfm.recency = 5 and rfm.frequency >= 4 and consent is null",
        "attributes.tier in (\"gold\", \"platinum\") and attributes.points > 1000 and "
        "attributes.address.city = \"Berlin\" and attributes.newsletter = true and "
        "attributes.tags contains \"b\" and attributes.nickname is null"}) {
    Result<Rule> r = ParseRule(rule);
    ASSERT_TRUE(r.ok()) << rule << ": " << r.status().message();
    EXPECT_TRUE(r->Matches(f)) << rule;
  }
}

TEST(SegmentFacts, AProfileWithoutOrdersHasNulls) {
  const ProfileFacts f = FactsFromProfileJson(json::parse(R"({
    "profile_id": 3, "attributes": {},
    "traits": {"first_seen": "2024-01-03T10:00:00.000Z", "last_seen": "2024-01-03T10:00:00.000Z",
               "events": 1, "loyalty_scans": 1, "channels": ["store"], "currency": null,
               "orders": 0, "revenue_gross": "0.00", "revenue_net": "0.00",
               "average_order_value": null, "clv_gross": "0.00", "clv_net": "0.00",
               "last_order_at": null, "days_since_last_order": null, "favourite_store": null,
               "favourite_category": null, "rfm": null, "consent": {"marketing": false}}})"));
  for (const char* rule :
       {"average_order_value is null", "days_since_last_order is null", "rfm.recency is null",
        "favourite_store is null", "currency is null", "orders = 0", "revenue_gross = 0",
        "consent = false", "not days_since_last_order > 60"}) {
    Result<Rule> r = ParseRule(rule);
    ASSERT_TRUE(r.ok()) << rule;
    const bool expected = std::string(rule) != "not days_since_last_order > 60";
    EXPECT_EQ(r->Matches(f), expected) << rule;
  }
}

TEST(SegmentFacts, ToleratesOddDocuments) {
  for (const char* doc : {"null", "[]", "{}", R"({"traits": 5, "attributes": "x"})",
                          R"({"traits": {"orders": "many", "rfm": {"recency": "x"},
                              "first_seen": "yesterday", "channels": "web", "consent": 1}})",
                          R"({"traits": {"orders": 1e300, "events": 18446744073709551615}})"}) {
    const ProfileFacts f = FactsFromProfileJson(json::parse(doc));
    for (const char* name : {"orders", "events", "rfm.recency", "first_seen", "channels",
                             "consent"}) {
      const FactValue* v = f.Find(name);
      EXPECT_TRUE(v == nullptr || std::holds_alternative<std::monostate>(*v)) << doc << name;
    }
  }
  const ProfileFacts f = FactsFromProfileJson(json::parse(R"({"traits": {"consent": true}})"));
  EXPECT_EQ(std::get<bool>(Get(f, "consent")), true);
}

}  // namespace
}  // namespace cjd::hub::segments

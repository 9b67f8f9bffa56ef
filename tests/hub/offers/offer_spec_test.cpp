#include "hub/offers/offer_spec.h"

#include <gtest/gtest.h>

namespace cjd::hub::offers {
namespace {

using json = nlohmann::json;

json Valid() {
  return json::parse(R"({"id":"xmas-10","title":"10% off candles","text":"This week only",
    "segment":"champions","stores":["s2","s1","s1"],"valid_from":"2026-12-01T00:00:00Z",
    "valid_until":"2026-12-25T00:00:00+01:00","priority":5,"max_per_customer":1,
    "requires_consent":true})");
}

TEST(OfferSpec, ParsesEveryFieldAndNormalisesStores) {
  auto s = ParseOfferSpec(Valid());
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->id, "xmas-10");
  EXPECT_EQ(s->segment, "champions");
  EXPECT_EQ(s->stores, (std::vector<std::string>{"s1", "s2"}));
  EXPECT_EQ(s->valid_from_ms, 1'796'083'200'000);
  EXPECT_EQ(s->valid_until_ms, 1'798'153'200'000);  // 2026-12-24T23:00:00Z
  EXPECT_EQ(s->priority, 5);
  EXPECT_EQ(s->max_per_customer, 1);
  EXPECT_TRUE(s->requires_consent);
  EXPECT_TRUE(s->ForStore("s1"));
  EXPECT_FALSE(s->ForStore("s3"));
  // ToJson is a body that parses to the same spec.
  auto again = ParseOfferSpec(s->ToJson());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *s);
}

TEST(OfferSpec, OptionalFieldsHaveDefaults) {
  auto s = ParseOfferSpec(json::parse(R"({"id":"a","title":"t","segment":"all",
    "valid_from":"2026-12-01T00:00:00Z","valid_until":"2026-12-02T00:00:00Z"})"));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  EXPECT_EQ(s->text, "");
  EXPECT_TRUE(s->stores.empty());
  EXPECT_TRUE(s->ForStore("anywhere"));
  EXPECT_EQ(s->priority, 0);
  EXPECT_EQ(s->max_per_customer, 0);
  EXPECT_FALSE(s->requires_consent);
}

std::string FieldOf(json body) {
  auto s = ParseOfferSpec(body);
  EXPECT_FALSE(s.ok()) << body.dump();
  if (s.ok()) return "<accepted>";
  EXPECT_EQ(s.status().code(), Code::kInvalid);
  return s.status().field();
}

TEST(OfferSpec, EveryMistakeNamesItsField) {
  auto with = [](const char* key, json value) {
    json j = Valid();
    j[key] = std::move(value);
    return j;
  };
  auto without = [](const char* key) {
    json j = Valid();
    j.erase(key);
    return j;
  };
  EXPECT_EQ(FieldOf(json::array()), "body");
  EXPECT_EQ(FieldOf(without("id")), "id");
  EXPECT_EQ(FieldOf(with("id", "has space")), "id");
  EXPECT_EQ(FieldOf(with("id", std::string(65, 'a'))), "id");
  EXPECT_EQ(FieldOf(without("title")), "title");
  EXPECT_EQ(FieldOf(with("title", "")), "title");
  EXPECT_EQ(FieldOf(with("title", std::string(201, 'x'))), "title");
  EXPECT_EQ(FieldOf(with("text", 3)), "text");
  EXPECT_EQ(FieldOf(without("segment")), "segment");
  EXPECT_EQ(FieldOf(with("segment", "Champions!")), "segment");
  EXPECT_EQ(FieldOf(with("stores", "s1")), "stores");
  EXPECT_EQ(FieldOf(with("stores", json::array({"s1", 7}))), "stores[1]");
  EXPECT_EQ(FieldOf(with("stores", json::array({""}))), "stores[0]");
  EXPECT_EQ(FieldOf(without("valid_from")), "valid_from");
  EXPECT_EQ(FieldOf(with("valid_from", "2026-12-01")), "valid_from");
  EXPECT_EQ(FieldOf(with("valid_until", "2026-11-30T00:00:00Z")), "valid_until");  // before from
  EXPECT_EQ(FieldOf(with("valid_until", "2026-12-01T00:00:00Z")), "valid_until");  // empty span
  EXPECT_EQ(FieldOf(with("priority", 1.5)), "priority");
  EXPECT_EQ(FieldOf(with("priority", 2'000'000)), "priority");
  EXPECT_EQ(FieldOf(with("max_per_customer", -1)), "max_per_customer");
  EXPECT_EQ(FieldOf(with("requires_consent", "yes")), "requires_consent");
  EXPECT_EQ(FieldOf(with("colour", "red")), "colour");
}

TEST(OfferSpec, SegmentRefs) {
  EXPECT_TRUE(IsValidSegmentRef("all"));
  EXPECT_TRUE(IsValidSegmentRef("at_risk"));
  EXPECT_TRUE(IsValidSegmentRef("vip-2026"));
  EXPECT_FALSE(IsValidSegmentRef(""));
  EXPECT_FALSE(IsValidSegmentRef("VIP"));
  EXPECT_FALSE(IsValidSegmentRef(std::string(65, 'a')));
}

}  // namespace
}  // namespace cjd::hub::offers

// The collect types of event schema v1 (identify, page_view, ..., order_completed): what the
// hub's POST /v1/collect takes, and what the agent must refuse.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

json J(const std::string& text) {
  Result<json> j = ParseJsonExact(text);
  EXPECT_TRUE(j.ok()) << text << ": " << j.status().ToString();
  return j.ok() ? *j : json();
}

void ExpectInvalid(const json& j, const std::string& field, const std::string& message_part,
                   EventTypeSet allowed = kAllEventTypes) {
  Result<Event> e = ValidateEvent(j, allowed);
  ASSERT_FALSE(e.ok()) << j.dump();
  EXPECT_EQ(e.status().code(), Code::kInvalid);
  EXPECT_EQ(e.status().field(), field) << e.status().ToString();
  EXPECT_THAT(e.status().message(), HasSubstr(message_part)) << e.status().ToString();
}

TEST(CollectTypes, EveryTypeHasANameThatRoundTrips) {
  int n = 0;
  for (EventType t : kAllEventTypeList) {
    EXPECT_EQ(EventTypeFromName(EventTypeName(t)), t);
    EXPECT_NE(kAllEventTypes & TypeBit(t), 0u);
    ++n;
  }
  EXPECT_EQ(n, 15);
  EXPECT_EQ(EventTypeName(EventType::kOrderCompleted), "order_completed");
  EXPECT_EQ(EventTypeName(EventType::kSupportContact), "support_contact");
  EXPECT_TRUE(HasOrder(EventType::kOrderCompleted));
  EXPECT_FALSE(HasOrder(EventType::kAddToCart));
}

TEST(CollectTypes, AnonymousPageViewWithPropertiesIsAcceptedWithWebChannel) {
  Result<Event> e = ValidateEvent(J(R"({"type":"page_view","occurred_at":"2026-11-23T10:00:00Z",
      "customer":{"anonymous_id":"ck-81f2"},
      "properties":{"url":"https://shop.example/p/1","referrer":null,"ratio":0.10,"n":3,
                    "tags":["a","b"],"nested":{"z":1,"a":true}}})"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->type, EventType::kPageView);
  EXPECT_EQ(e->channel, "web");
  EXPECT_TRUE(e->store_id.empty());
  EXPECT_EQ(e->customer->anonymous_id, "ck-81f2");
  // Keys sorted, numbers kept as written.
  EXPECT_EQ(e->properties,
            R"({"n":3,"nested":{"a":true,"z":1},"ratio":0.10,"referrer":null,)"
            R"("tags":["a","b"],"url":"https://shop.example/p/1"})");
}

TEST(CollectTypes, DefaultChannelsFollowTheSystemThatSendsThem) {
  auto channel = [](const char* type) {
    json j = J(R"({"occurred_at":"2026-11-23T10:00:00Z","customer":{"email":"a@b.co"}})");
    j["type"] = type;
    Result<Event> e = ValidateEvent(j);
    EXPECT_TRUE(e.ok()) << type << ": " << e.status().ToString();
    return e.ok() ? e->channel : std::string();
  };
  EXPECT_EQ(channel("email_opened"), "email");
  EXPECT_EQ(channel("email_clicked"), "email");
  EXPECT_EQ(channel("support_contact"), "support");
  EXPECT_EQ(channel("add_to_cart"), "web");
  EXPECT_EQ(channel("identify"), "web");
}

TEST(CollectTypes, OrderCompletedNeedsAnOrderOfThePosShape) {
  const json ok = J(R"({"type":"order_completed","event_id":"import:uci:536365:0",
      "occurred_at":"2010-12-01T08:26:00Z","store_id":"uci","channel":"store",
      "customer":{"customer_id":"17850"},
      "order":{"order_id":"536365","currency":"GBP",
               "items":[{"sku":"85123A","quantity":6,"unit_price":"2.55"}]},
      "properties":{"country":"United Kingdom"}})");
  Result<Event> e = ValidateEvent(ok);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->order->items[0].unit_price.ToString(), "2.55");
  EXPECT_EQ(e->channel, "store");

  json missing = ok;
  missing.erase("order");
  ExpectInvalid(missing, "order", "is required for order_completed");
  json bad = ok;
  bad["order"]["items"][0]["unit_price"] = "-1";
  ExpectInvalid(bad, "order.items[0].unit_price", "negative");
  json order_on_view = J(R"({"type":"page_view","occurred_at":"2026-11-23T10:00:00Z",
      "order":{"order_id":"1","currency":"EUR","items":[{"sku":"a","quantity":1,"unit_price":1}]}})");
  ExpectInvalid(order_on_view, "order", "only allowed for transaction and order_completed");
}

TEST(CollectTypes, IdentifyNeedsACustomerAndTakesAttributes) {
  Result<Event> e = ValidateEvent(J(R"({"type":"identify","occurred_at":"2026-11-23T10:00:00Z",
      "customer":{"email":"Ann@Example.com","anonymous_id":"ck-1"},
      "attributes":{"first_name":"Ann","vip":true,"age":41,"score":0.5,"city":null}})"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->attributes, R"({"age":41,"city":null,"first_name":"Ann","score":0.5,"vip":true})");

  ExpectInvalid(J(R"({"type":"identify","occurred_at":"2026-11-23T10:00:00Z"})"), "customer",
                "is required for identify");
  ExpectInvalid(J(R"({"type":"identify","occurred_at":"2026-11-23T10:00:00Z",
      "customer":{"email":"a@b.co"},"attributes":{"First Name":"x"}})"),
                "attributes.First Name", "[a-z0-9_]");
  ExpectInvalid(J(R"({"type":"identify","occurred_at":"2026-11-23T10:00:00Z",
      "customer":{"email":"a@b.co"},"attributes":{"tags":["x"]}})"),
                "attributes.tags", "must be a string, number, true/false or null");
  ExpectInvalid(J(R"({"type":"page_view","occurred_at":"2026-11-23T10:00:00Z",
      "attributes":{"a":1}})"), "attributes", "only allowed for identify");
}

TEST(CollectTypes, PropertiesMustBeABoundedObject) {
  ExpectInvalid(J(R"({"type":"page_view","occurred_at":"2026-11-23T10:00:00Z",
      "properties":[1]})"), "properties", "must be an object");
  ExpectInvalid(J(R"({"type":"page_view","occurred_at":"2026-11-23T10:00:00Z",
      "properties":{"a":{"b":{"c":{"d":{"e":{"f":{"g":{"h":{"i":1}}}}}}}}}})"), "properties",
                "must not nest deeper");
  json big = J(R"({"type":"page_view","occurred_at":"2026-11-23T10:00:00Z"})");
  big["properties"]["blob"] = std::string(70 * 1024, 'x');
  ExpectInvalid(big, "properties", "at most 65536 bytes");
}

TEST(CollectTypes, TheAgentRefusesCollectTypes) {
  const json view = J(R"({"type":"page_view","occurred_at":"2026-11-23T10:00:00Z"})");
  ExpectInvalid(view, "type",
                "must be one of: transaction, loyalty_scan, consent_update, offer_impression",
                kPosEventTypes);
  Result<std::vector<Event>> body = ValidateEventBody(json::array({view}), 10, kPosEventTypes);
  ASSERT_FALSE(body.ok());
  EXPECT_EQ(body.status().field(), "[0].type");
  // A POS transaction still needs its store.
  ExpectInvalid(J(R"({"type":"loyalty_scan","occurred_at":"2026-11-23T10:00:00Z",
      "customer":{"loyalty_id":"L1"}})"), "store_id", "is required");
}

TEST(CollectTypes, CanonicalJsonRoundTripsEveryNewField) {
  const json in = J(R"({"type":"identify","event_id":"crm:1","occurred_at":"2026-11-23T10:00:00+01:00",
      "customer":{"customer_id":"C-9","anonymous_id":"ck-9"},
      "properties":{"campaign":"winter","price":19.90},"attributes":{"tier":"gold"}})");
  Result<Event> e = ValidateEvent(in);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const std::string canon = ToCanonicalJson(*e);
  EXPECT_THAT(canon, ::testing::Not(HasSubstr("store_id")));
  Result<Event> back = EventFromCanonical(canon);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << " " << canon;
  EXPECT_EQ(ToCanonicalJson(*back), canon);
  EXPECT_EQ(back->customer->anonymous_id, "ck-9");
  EXPECT_EQ(back->properties, R"({"campaign":"winter","price":19.90})");
  EXPECT_EQ(back->attributes, R"({"tier":"gold"})");
}

TEST(CollectTypes, ConsentUpdateCarriesTheMarketingChoice) {
  Result<Event> e = ValidateEvent(J(R"({"type":"consent_update","occurred_at":"2026-11-23T10:00:00Z",
      "customer":{"loyalty_id":"L-1"},"consent":{"marketing":false}})"), kPosEventTypes);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->marketing_consent, false);
  Result<Event> back = EventFromCanonical(ToCanonicalJson(*e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->marketing_consent, false);
  ExpectInvalid(J(R"({"type":"consent_update","occurred_at":"2026-11-23T10:00:00Z",
      "customer":{"loyalty_id":"L-1"}})"), "consent", "is required for consent_update");
  ExpectInvalid(J(R"({"type":"consent_update","occurred_at":"2026-11-23T10:00:00Z",
      "customer":{"loyalty_id":"L-1"},"consent":{"marketing":"yes"}})"), "consent.marketing",
                "must be true or false");
  ExpectInvalid(J(R"({"type":"consent_update","occurred_at":"2026-11-23T10:00:00Z",
      "consent":{"marketing":true}})"), "customer", "is required for consent_update");
  ExpectInvalid(J(R"({"type":"page_view","occurred_at":"2026-11-23T10:00:00Z",
      "consent":{"marketing":true}})"), "consent", "only allowed for consent_update");
}

TEST(CollectTypes, OfferImpressionListsTheOffersShown) {
  Result<Event> e = ValidateEvent(J(R"({"type":"offer_impression","occurred_at":"2026-11-23T10:00:00Z",
      "store_id":"s1","customer":{"loyalty_id":"L-1"},"offer_ids":["o-2","o-1"]})"), kPosEventTypes);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->offer_ids, (std::vector<std::string>{"o-2", "o-1"}));
  EXPECT_EQ(e->channel, "store");
  Result<Event> back = EventFromCanonical(ToCanonicalJson(*e));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->offer_ids, e->offer_ids);
  ExpectInvalid(J(R"({"type":"offer_impression","occurred_at":"2026-11-23T10:00:00Z",
      "store_id":"s1","offer_ids":[]})"), "offer_ids", "1 to 50");
  ExpectInvalid(J(R"({"type":"offer_impression","occurred_at":"2026-11-23T10:00:00Z",
      "store_id":"s1","offer_ids":["a b"]})"), "offer_ids[0]", "only letters");
  ExpectInvalid(J(R"({"type":"offer_impression","occurred_at":"2026-11-23T10:00:00Z",
      "offer_ids":["a"]})"), "store_id", "is required");
}

TEST(CollectTypes, TrackIsACustomEventWithItsName) {
  Result<Event> e = ValidateEvent(J(R"({"type":"track","occurred_at":"2026-11-23T10:00:00Z",
      "name":"Newsletter Signed Up","customer":{"customer_id":"u-1"},
      "properties":{"list":"weekly"}})"));
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->type, EventType::kTrack);
  EXPECT_EQ(e->name, "Newsletter Signed Up");
  EXPECT_EQ(e->channel, "web");
  EXPECT_EQ(ClassOf(EventType::kTrack), EventClass::kBusiness);
  const std::string canonical = ToCanonicalJson(*e);
  EXPECT_THAT(canonical, HasSubstr(R"("channel":"web","name":"Newsletter Signed Up")"));
  Result<Event> back = EventFromCanonical(canonical);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->name, e->name);
  EXPECT_EQ(back->properties, e->properties);
  EXPECT_EQ(ToCanonicalJson(*back), canonical);
  // The name is required, bounded, printable, and only for track.
  ExpectInvalid(J(R"({"type":"track","occurred_at":"2026-11-23T10:00:00Z"})"), "name",
                "is required");
  ExpectInvalid(J(R"({"type":"track","occurred_at":"2026-11-23T10:00:00Z","name":""})"), "name",
                "");
  ExpectInvalid(J(R"({"type":"track","occurred_at":"2026-11-23T10:00:00Z","name":"a\u0001b"})"),
                "name", "control characters");
  ExpectInvalid(J(R"({"type":"track","occurred_at":"2026-11-23T10:00:00Z","name":")" +
                  std::string(129, 'x') + "\"}"),
                "name", "");
  ExpectInvalid(J(R"({"type":"page_view","occurred_at":"2026-11-23T10:00:00Z","name":"x"})"),
                "name", "only allowed for track");
  // The agent (tills and kiosks) does not take it.
  ExpectInvalid(J(R"({"type":"track","occurred_at":"2026-11-23T10:00:00Z","name":"x",
      "store_id":"s1"})"), "type", "must be one of", kPosEventTypes);
}

}  // namespace
}  // namespace cjd

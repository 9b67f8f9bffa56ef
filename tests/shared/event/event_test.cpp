#include "shared/event/event.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "shared/event/json_exact.h"
#include "shared/event/json_scan.h"

namespace cjd {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// Parses test input the way the agent does, so JSON numbers stay exact.
json J(const std::string& text) {
  Result<json> j = ParseJsonExact(text);
  EXPECT_TRUE(j.ok()) << text << ": " << j.status().ToString();
  return j.ok() ? *j : json();
}

json Transaction() {
  return J(R"({
    "type": "transaction",
    "event_id": "pos-17:0001",
    "occurred_at": "2026-11-23T14:12:36.120+01:00",
    "store_id": "berlin-042",
    "customer": {"loyalty_id": "L-1001"},
    "order": {
      "order_id": "R-2026-000123",
      "currency": "EUR",
      "items": [
        {"sku": "4006381333931", "quantity": 2, "unit_price": 12.10},
        {"sku": "SHOE-42", "quantity": 1, "unit_price": "79.99", "category": "shoes"},
        {"sku": "BAG", "quantity": -1, "unit_price": 0.5}
      ]
    }
  })");
}

json LoyaltyScan() {
  return J(R"({"type": "loyalty_scan", "occurred_at": "2026-11-23T14:12:36Z",
               "store_id": "berlin-042", "customer": {"loyalty_id": "L-1001"}})");
}

Status Check(const json& j) { return ValidateEvent(j).status(); }

void ExpectInvalid(const json& j, const std::string& field, const std::string& message_part) {
  Result<Event> e = ValidateEvent(j);
  ASSERT_FALSE(e.ok()) << j.dump();
  EXPECT_EQ(e.status().code(), Code::kInvalid);
  EXPECT_EQ(e.status().field(), field) << e.status().ToString();
  EXPECT_THAT(e.status().message(), HasSubstr(message_part)) << e.status().ToString();
}

void ExpectSameEvent(const Event& a, const Event& b) {
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.event_id, b.event_id);
  EXPECT_EQ(a.occurred_at, b.occurred_at);
  EXPECT_EQ(a.occurred_at_ms, b.occurred_at_ms);
  EXPECT_EQ(a.store_id, b.store_id);
  EXPECT_EQ(a.channel, b.channel);
  ASSERT_EQ(a.customer.has_value(), b.customer.has_value());
  if (a.customer) {
    EXPECT_EQ(a.customer->loyalty_id, b.customer->loyalty_id);
    EXPECT_EQ(a.customer->email, b.customer->email);
    EXPECT_EQ(a.customer->phone, b.customer->phone);
    EXPECT_EQ(a.customer->customer_id, b.customer->customer_id);
  }
  ASSERT_EQ(a.order.has_value(), b.order.has_value());
  if (a.order) {
    EXPECT_EQ(a.order->order_id, b.order->order_id);
    EXPECT_EQ(a.order->currency, b.order->currency);
    EXPECT_EQ(a.order->offer_id, b.order->offer_id);
    ASSERT_EQ(a.order->items.size(), b.order->items.size());
    for (size_t i = 0; i < a.order->items.size(); ++i) {
      const Item& x = a.order->items[i];
      const Item& y = b.order->items[i];
      EXPECT_EQ(x.sku, y.sku);
      EXPECT_EQ(x.quantity, y.quantity);
      EXPECT_EQ(x.unit_price.mantissa(), y.unit_price.mantissa());
      EXPECT_EQ(x.unit_price.scale(), y.unit_price.scale());
      EXPECT_EQ(x.category, y.category);
      EXPECT_EQ(x.description, y.description);
      EXPECT_EQ(x.offer_id, y.offer_id);
    }
    ASSERT_EQ(a.order->payment.has_value(), b.order->payment.has_value());
    if (a.order->payment) {
      EXPECT_EQ(a.order->payment->method, b.order->payment->method);
      EXPECT_EQ(a.order->payment->card_fingerprint, b.order->payment->card_fingerprint);
    }
  }
}

// ---- event types -----------------------------------------------------------------------------

TEST(EventType, NamesRoundTrip) {
  for (EventType t : {EventType::kTransaction, EventType::kLoyaltyScan}) {
    EXPECT_EQ(EventTypeFromName(EventTypeName(t)), t);
    EXPECT_EQ(ClassOf(t), EventClass::kBusiness);
  }
  EXPECT_EQ(ClassOf(EventType::kOfferImpression), EventClass::kTelemetry);
  EXPECT_EQ(EventTypeName(EventType::kTransaction), "transaction");
  EXPECT_EQ(EventTypeName(EventType::kLoyaltyScan), "loyalty_scan");
  EXPECT_FALSE(EventTypeFromName("Transaction").has_value());
  EXPECT_FALSE(EventTypeFromName("").has_value());
}

// ---- accepted events -------------------------------------------------------------------------

TEST(ValidateEvent, AcceptsATransaction) {
  Result<Event> e = ValidateEvent(Transaction());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->type, EventType::kTransaction);
  EXPECT_EQ(e->event_id, "pos-17:0001");
  EXPECT_EQ(e->occurred_at, "2026-11-23T14:12:36.120+01:00");
  EXPECT_EQ(e->occurred_at_ms, 1'795'439'556'120);
  EXPECT_EQ(e->store_id, "berlin-042");
  EXPECT_EQ(e->channel, "store");  // the default
  ASSERT_TRUE(e->customer.has_value());
  EXPECT_EQ(e->customer->loyalty_id, "L-1001");
  ASSERT_TRUE(e->order.has_value());
  EXPECT_EQ(e->order->currency, "EUR");
  ASSERT_EQ(e->order->items.size(), 3u);
  EXPECT_EQ(e->order->items[1].category, "shoes");
  EXPECT_EQ(e->order->items[2].quantity, -1);  // a returned item
  EXPECT_FALSE(e->order->payment.has_value());
}

TEST(ValidateEvent, JsonNumberPriceKeepsItsScale) {
  Result<Event> e = ValidateEvent(Transaction());
  ASSERT_TRUE(e.ok());
  const Decimal& price = e->order->items[0].unit_price;
  EXPECT_EQ(price.mantissa(), 1210);
  EXPECT_EQ(price.scale(), 2);
  EXPECT_EQ(price.ToString(), "12.10");
  EXPECT_EQ(e->order->items[2].unit_price.ToString(), "0.5");
}

TEST(ValidateEvent, PricesFromJsonNumbersSumWithoutFloatingPointError) {
  json j = Transaction();
  j["order"]["items"][0]["unit_price"] = J("[0.1]")[0];
  j["order"]["items"][1]["unit_price"] = J("[0.2]")[0];
  j["order"]["items"][0]["quantity"] = 1;
  j["order"]["items"][2]["quantity"] = 1;
  j["order"]["items"][2]["unit_price"] = "0";
  Result<Event> e = ValidateEvent(j);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  DecimalSum sum(2);
  for (const Item& item : e->order->items) {
    ASSERT_TRUE(sum.AddProduct(item.quantity, item.unit_price).ok());
  }
  EXPECT_EQ(sum.ToString(2), "0.30");
}

TEST(ValidateEvent, AcceptsPriceAsDecimalStringIntegerOrJsonNumber) {
  json j = Transaction();
  j["order"]["items"][0]["unit_price"] = "12.345";
  j["order"]["items"][1]["unit_price"] = 15;
  j["order"]["items"][2]["unit_price"] = J("[0.123456789]")[0];
  Result<Event> e = ValidateEvent(j);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->order->items[0].unit_price.ToString(), "12.345");  // more decimals than EUR has
  EXPECT_EQ(e->order->items[1].unit_price.ToString(), "15");
  EXPECT_EQ(e->order->items[2].unit_price.ToString(), "0.123456789");
}

TEST(ValidateEvent, AcceptsFreeAndMaximumPrices) {
  json j = Transaction();
  j["order"]["items"][0]["unit_price"] = 0;
  j["order"]["items"][1]["unit_price"] = "1000000000000";
  j["order"]["items"][2]["unit_price"] = "-0.00";
  EXPECT_TRUE(Check(j).ok()) << Check(j).ToString();
}

TEST(ValidateEvent, AcceptsEveryOptionalField) {
  json j = J(R"({
    "schema": 1, "type": "transaction", "event_id": "A.b_c:d-1",
    "occurred_at": "2026-02-28T23:59:59.999-05:00", "store_id": "Köln Hbf 7", "channel": "web",
    "customer": {"loyalty_id": "L1", "email": "anna@example.com", "phone": "+49 (30) 123-456.7",
                 "customer_id": "C9"},
    "order": {"order_id": "O1", "currency": "JPY", "offer_id": "SPRING",
              "payment": {"method": "card", "card_fingerprint": "fp_123"},
              "items": [{"sku": "S", "quantity": 1000000, "unit_price": 100,
                         "category": "food", "description": "Grüner Tee \"Sencha\"",
                         "offer_id": "TEA10"}]}
  })");
  Result<Event> e = ValidateEvent(j);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->channel, "web");
  EXPECT_EQ(e->customer->email, "anna@example.com");
  EXPECT_EQ(e->customer->phone, "+49 (30) 123-456.7");
  EXPECT_EQ(e->order->offer_id, "SPRING");
  ASSERT_TRUE(e->order->payment.has_value());
  EXPECT_EQ(e->order->payment->card_fingerprint, "fp_123");
  EXPECT_EQ(e->order->items[0].description, "Grüner Tee \"Sencha\"");
}

TEST(ValidateEvent, AcceptsAnAnonymousSale) {
  json j = Transaction();
  j.erase("customer");
  j.erase("event_id");
  Result<Event> e = ValidateEvent(j);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_FALSE(e->customer.has_value());
  EXPECT_TRUE(e->event_id.empty());  // assigned later by the agent
}

TEST(ValidateEvent, TreatsNullOptionalFieldsAsAbsent) {
  json j = Transaction();
  j["customer"] = nullptr;
  j["channel"] = nullptr;
  j["event_id"] = nullptr;
  j["order"]["payment"] = nullptr;
  j["order"]["items"][0]["category"] = nullptr;
  Result<Event> e = ValidateEvent(j);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_FALSE(e->customer.has_value());
  EXPECT_EQ(e->channel, "store");
}

TEST(ValidateEvent, AcceptsALoyaltyScan) {
  Result<Event> e = ValidateEvent(LoyaltyScan());
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->type, EventType::kLoyaltyScan);
  EXPECT_FALSE(e->order.has_value());
  EXPECT_EQ(e->customer->loyalty_id, "L-1001");
}

TEST(ValidateEvent, AcceptsAGeneratedEventId) {
  json j = Transaction();
  j["event_id"] = NewEventId(1'795'439'556'120);
  EXPECT_TRUE(Check(j).ok());
}

TEST(ValidateEvent, CountsCharactersNotBytes) {
  json j = Transaction();
  std::string store;
  for (int i = 0; i < 64; ++i) store += "\xc3\xa9";  // 64 × "é" = 128 bytes
  j["store_id"] = store;
  EXPECT_TRUE(Check(j).ok());
  j["store_id"] = store + "e";
  ExpectInvalid(j, "store_id", "at most 64 characters");
}

// ---- rejected events: every error names its field --------------------------------------------

TEST(ValidateEvent, RejectsNonObjects) {
  ExpectInvalid(J("[]"), "", "must be an event object");
  ExpectInvalid(J(R"("x")"), "", "must be an event object");
}

TEST(ValidateEvent, RejectsUnknownFieldsAtEveryLevel) {
  json j = Transaction();
  j["occured_at"] = "2026-11-23T14:12:36Z";  // misspelt
  ExpectInvalid(j, "occured_at", "unknown field");

  j = Transaction();
  j["customer"]["mail"] = "a@b.c";
  ExpectInvalid(j, "customer.mail", "unknown field");

  j = Transaction();
  j["order"]["total"] = "24.20";
  ExpectInvalid(j, "order.total", "unknown field");

  j = Transaction();
  j["order"]["items"][2]["price"] = "1";
  ExpectInvalid(j, "order.items[2].price", "unknown field");

  j = Transaction();
  j["order"]["payment"] = J(R"({"method": "cash", "amount": 5})");
  ExpectInvalid(j, "order.payment.amount", "unknown field");
}

TEST(ValidateEvent, RejectsSchemaOtherThanOne) {
  json j = Transaction();
  j["schema"] = 1;
  EXPECT_TRUE(Check(j).ok());
  for (const char* bad : {"2", "\"1\"", "1.0", "0", "true"}) {
    j["schema"] = J(std::string("[") + bad + "]")[0];
    ExpectInvalid(j, "schema", "must be 1");
  }
}

TEST(ValidateEvent, RejectsMissingOrUnknownType) {
  json j = Transaction();
  j.erase("type");
  ExpectInvalid(j, "type", "is required");
  j["type"] = "refund";
  ExpectInvalid(j, "type", "must be one of: transaction, loyalty_scan");
  j["type"] = 1;
  ExpectInvalid(j, "type", "must be a string");
}

TEST(ValidateEvent, RejectsMalformedEventIds) {
  json j = Transaction();
  j["event_id"] = std::string(128, 'a');
  EXPECT_TRUE(Check(j).ok());
  j["event_id"] = std::string(129, 'a');
  ExpectInvalid(j, "event_id", "at most 128");
  j["event_id"] = "";
  ExpectInvalid(j, "event_id", "must not be empty");
  for (const char* bad : {"a b", "a/b", "ä", "a#1", "{x}"}) {
    j["event_id"] = bad;
    ExpectInvalid(j, "event_id", "only letters, digits");
  }
  j["event_id"] = 17;
  ExpectInvalid(j, "event_id", "must be a string");
}

TEST(ValidateEvent, RejectsMissingOrMalformedOccurredAt) {
  json j = Transaction();
  j.erase("occurred_at");
  ExpectInvalid(j, "occurred_at", "is required");
  j["occurred_at"] = "2026-11-23T14:12:36";
  ExpectInvalid(j, "occurred_at", "must be an RFC 3339 date-time with an offset");
  j["occurred_at"] = "2026-02-30T14:12:36Z";
  ExpectInvalid(j, "occurred_at", "day");
  j["occurred_at"] = 1795439556120;
  ExpectInvalid(j, "occurred_at", "must be a string");
}

TEST(ValidateEvent, RejectsBadStoreIds) {
  json j = Transaction();
  j.erase("store_id");
  ExpectInvalid(j, "store_id", "is required");
  j["store_id"] = "";
  ExpectInvalid(j, "store_id", "must not be empty");
  j["store_id"] = std::string(65, 's');
  ExpectInvalid(j, "store_id", "at most 64 characters");
  j["store_id"] = "berlin\n042";
  ExpectInvalid(j, "store_id", "control characters");
  j["store_id"] = J("[42.0]")[0];
  ExpectInvalid(j, "store_id", "must be a string (got number)");
  j["store_id"] = json::array();
  ExpectInvalid(j, "store_id", "must be a string (got array)");
}

TEST(ValidateEvent, RejectsBadChannels) {
  json j = Transaction();
  j["channel"] = "";
  ExpectInvalid(j, "channel", "must not be empty");
  j["channel"] = std::string(33, 'c');
  ExpectInvalid(j, "channel", "at most 32");
}

TEST(ValidateEvent, RejectsCustomerWithoutIdentifiers) {
  json j = Transaction();
  j["customer"] = json::object();
  ExpectInvalid(j, "customer", "at least one of loyalty_id, email, phone, customer_id");
  j["customer"] = "L-1001";
  ExpectInvalid(j, "customer", "must be an object");
  j["customer"] = J(R"({"loyalty_id": ""})");
  ExpectInvalid(j, "customer.loyalty_id", "must not be empty");
  j["customer"] = J(R"({"customer_id": 1001})");
  ExpectInvalid(j, "customer.customer_id", "must be a string");
}

TEST(ValidateEvent, ChecksEmailShape) {
  json j = Transaction();
  j["customer"] = J(R"({"email": "a@b"})");
  EXPECT_TRUE(Check(j).ok());
  for (const char* bad : {"anna", "@example.com", "anna@", "a@b@c", "anna @example.com"}) {
    j["customer"]["email"] = bad;
    ExpectInvalid(j, "customer.email", "email address");
  }
  j["customer"]["email"] = std::string(250, 'a') + "@b.cd";
  ExpectInvalid(j, "customer.email", "at most 254");
}

TEST(ValidateEvent, ChecksPhoneShape) {
  json j = Transaction();
  for (const char* good : {"12345", "+49 30 1234567", "(030) 123-45.67", "12345678901234567890"}) {
    j["customer"] = json{{"phone", good}};
    EXPECT_TRUE(Check(j).ok()) << good;
  }
  for (const char* bad : {"1234", "123456789012345678901", "+49 30 CALL-ME", "12345 ext 6"}) {
    j["customer"] = json{{"phone", bad}};
    ExpectInvalid(j, "customer.phone", "phone number");
  }
}

TEST(ValidateEvent, LoyaltyScanRequiresALoyaltyId) {
  json j = LoyaltyScan();
  j.erase("customer");
  ExpectInvalid(j, "customer", "is required for loyalty_scan");
  j["customer"] = J(R"({"email": "anna@example.com"})");
  ExpectInvalid(j, "customer.loyalty_id", "is required for loyalty_scan");
}

TEST(ValidateEvent, LoyaltyScanMustNotCarryAnOrder) {
  json j = LoyaltyScan();
  j["order"] = Transaction()["order"];
  ExpectInvalid(j, "order", "only allowed for transaction");
}

TEST(ValidateEvent, TransactionRequiresAnOrder) {
  json j = Transaction();
  j.erase("order");
  ExpectInvalid(j, "order", "is required for transaction");
  j["order"] = json::array();
  ExpectInvalid(j, "order", "must be an object (got array)");
}

TEST(ValidateEvent, RejectsBadOrderFields) {
  json j = Transaction();
  j["order"].erase("order_id");
  ExpectInvalid(j, "order.order_id", "is required");
  j = Transaction();
  j["order"]["order_id"] = std::string(65, 'o');
  ExpectInvalid(j, "order.order_id", "at most 64");
  j = Transaction();
  j["order"]["offer_id"] = std::string(65, 'o');
  ExpectInvalid(j, "order.offer_id", "at most 64");
}

TEST(ValidateEvent, RejectsCurrenciesOutsideIso4217) {
  json j = Transaction();
  for (const char* bad : {"eur", "EURO", "XYZ", "€", ""}) {
    j["order"]["currency"] = bad;
    Result<Event> e = ValidateEvent(j);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().field(), "order.currency") << bad;
  }
  j["order"]["currency"] = "XYZ";
  ExpectInvalid(j, "order.currency", "is not an ISO 4217 currency code");
  j["order"].erase("currency");
  ExpectInvalid(j, "order.currency", "is required");
  j["order"]["currency"] = 978;
  ExpectInvalid(j, "order.currency", "must be a string");
}

TEST(ValidateEvent, RejectsEmptyMissingOrHugeItemLists) {
  json j = Transaction();
  j["order"]["items"] = json::array();
  ExpectInvalid(j, "order.items", "at least one item");
  j["order"].erase("items");
  ExpectInvalid(j, "order.items", "is required");
  j["order"]["items"] = json::object();
  ExpectInvalid(j, "order.items", "must be an array");
  const json item = Transaction()["order"]["items"][0];
  j["order"]["items"] = json::array();
  for (int i = 0; i < 1000; ++i) j["order"]["items"].push_back(item);
  EXPECT_TRUE(Check(j).ok());
  j["order"]["items"].push_back(item);
  ExpectInvalid(j, "order.items", "at most 1000 items");
}

TEST(ValidateEvent, ItemErrorsNameTheItemIndex) {
  json j = Transaction();
  j["order"]["items"][1] = "SHOE-42";
  ExpectInvalid(j, "order.items[1]", "must be an object");
  j = Transaction();
  j["order"]["items"][2].erase("sku");
  ExpectInvalid(j, "order.items[2].sku", "is required");
  j = Transaction();
  j["order"]["items"][1]["sku"] = std::string(65, 'k');
  ExpectInvalid(j, "order.items[1].sku", "at most 64");
  j = Transaction();
  j["order"]["items"][0]["category"] = std::string(257, 'c');
  ExpectInvalid(j, "order.items[0].category", "at most 256");
  j = Transaction();
  j["order"]["items"][0]["description"] = std::string(513, 'd');
  ExpectInvalid(j, "order.items[0].description", "at most 512");
  j = Transaction();
  j["order"]["items"][0]["offer_id"] = std::string(65, 'o');
  ExpectInvalid(j, "order.items[0].offer_id", "at most 64");
}

TEST(ValidateEvent, QuantityMustBeANonZeroJsonInteger) {
  json j = Transaction();
  for (const char* bad : {"0", "\"2\"", "2.0", "2.5", "1e2", "true", "-0"}) {
    j["order"]["items"][1]["quantity"] = J(std::string("[") + bad + "]")[0];
    ExpectInvalid(j, "order.items[1].quantity", "must be a non-zero integer");
  }
  j["order"]["items"][1].erase("quantity");
  ExpectInvalid(j, "order.items[1].quantity", "is required");
}

TEST(ValidateEvent, QuantityIsLimitedToOneMillionEitherWay) {
  json j = Transaction();
  j["order"]["items"][0]["quantity"] = -1'000'000;
  EXPECT_TRUE(Check(j).ok());
  for (const char* bad : {"1000001", "-1000001", "18446744073709551615", "-9223372036854775808",
                          "99999999999999999999999"}) {
    j["order"]["items"][0]["quantity"] = J(std::string("[") + bad + "]")[0];
    Result<Event> e = ValidateEvent(j);
    ASSERT_FALSE(e.ok()) << bad;
    EXPECT_EQ(e.status().field(), "order.items[0].quantity") << bad;
  }
}

TEST(ValidateEvent, UnitPriceMustBeANonNegativeDecimalWithAtMostNineDecimals) {
  json j = Transaction();
  const std::string field = "order.items[2].unit_price";
  for (const char* bad :
       {"-0.01", "\"-5\"", "0.1234567891", "\"0.1234567891\"", "1e2", "\"1e2\"", "\"\"", "\".5\"",
        "\"5.\"", "\" 5\"", "\"5 EUR\"", "\"1,50\"", "true", "{}", "[1]"}) {
    j["order"]["items"][2]["unit_price"] = J(std::string("[") + bad + "]")[0];
    ExpectInvalid(j, field, "must be a decimal >= 0 with at most 9 decimals");
  }
  j["order"]["items"][2].erase("unit_price");
  ExpectInvalid(j, field, "is required");
}

TEST(ValidateEvent, RejectsHugeUnitPrices) {
  json j = Transaction();
  const std::string field = "order.items[0].unit_price";
  j["order"]["items"][0]["unit_price"] = "1000000000000.5";
  ExpectInvalid(j, field, "at most 1000000000000");
  j["order"]["items"][0]["unit_price"] = J("[1000000000001]")[0];
  ExpectInvalid(j, field, "at most 1000000000000");
  j["order"]["items"][0]["unit_price"] = J("[123456789012345678901234567890.5]")[0];
  ExpectInvalid(j, field, "significant digits");
  j["order"]["items"][0]["unit_price"] = J("[18446744073709551615]")[0];
  ExpectInvalid(j, field, "significant digits");
}

TEST(ValidateEvent, RejectsBadPayments) {
  json j = Transaction();
  j["order"]["payment"] = json::object();
  ExpectInvalid(j, "order.payment.method", "is required");
  j["order"]["payment"] = "card";
  ExpectInvalid(j, "order.payment", "must be an object");
  j["order"]["payment"] = json{{"method", std::string(33, 'm')}};
  ExpectInvalid(j, "order.payment.method", "at most 32");
  j["order"]["payment"] = json{{"method", "card"}, {"card_fingerprint", ""}};
  ExpectInvalid(j, "order.payment.card_fingerprint", "must not be empty");
  j["order"]["payment"] = json{{"method", "card"}, {"card_fingerprint", std::string(129, 'f')}};
  ExpectInvalid(j, "order.payment.card_fingerprint", "at most 128");
}

TEST(ValidateEvent, RejectsControlCharactersInAnyString) {
  json j = Transaction();
  j["order"]["items"][0]["description"] = std::string("tab\there");
  ExpectInvalid(j, "order.items[0].description", "control characters");
  j = Transaction();
  j["customer"]["loyalty_id"] = std::string("L\x01");
  ExpectInvalid(j, "customer.loyalty_id", "control characters");
}

// ---- request bodies --------------------------------------------------------------------------

TEST(ValidateEventBody, AcceptsASingleEventObject) {
  Result<std::vector<Event>> events = ValidateEventBody(Transaction());
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  EXPECT_EQ(events->size(), 1u);
}

TEST(ValidateEventBody, AcceptsAnArrayOfEvents) {
  json body = json::array({Transaction(), LoyaltyScan(), Transaction()});
  Result<std::vector<Event>> events = ValidateEventBody(body);
  ASSERT_TRUE(events.ok()) << events.status().ToString();
  ASSERT_EQ(events->size(), 3u);
  EXPECT_EQ((*events)[1].type, EventType::kLoyaltyScan);
}

TEST(ValidateEventBody, PrefixesErrorsWithTheEventIndex) {
  json body = json::array({Transaction(), LoyaltyScan(), Transaction(), Transaction()});
  body[3]["order"]["items"][0].erase("sku");
  Result<std::vector<Event>> events = ValidateEventBody(body);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), Code::kInvalid);
  EXPECT_EQ(events.status().field(), "[3].order.items[0].sku");
  EXPECT_THAT(events.status().message(), HasSubstr("is required"));

  body = json::array({Transaction(), LoyaltyScan()});
  body[1].erase("store_id");
  EXPECT_EQ(ValidateEventBody(body).status().field(), "[1].store_id");

  body = json::array({Transaction(), 42});
  EXPECT_EQ(ValidateEventBody(body).status().field(), "[1]");
  EXPECT_THAT(ValidateEventBody(body).status().message(), HasSubstr("must be an event object"));
}

TEST(ValidateEventBody, RejectsAnEmptyArray) {
  Result<std::vector<Event>> events = ValidateEventBody(json::array());
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), Code::kInvalid);
  EXPECT_EQ(events.status().field(), "");
  EXPECT_EQ(events.status().message(), "must contain at least one event");
}

TEST(ValidateEventBody, RejectsBodiesThatAreNeitherObjectNorArray) {
  for (const json& body : {json("x"), json(42), json(nullptr), json(true)}) {
    Result<std::vector<Event>> events = ValidateEventBody(body);
    ASSERT_FALSE(events.ok());
    EXPECT_EQ(events.status().code(), Code::kInvalid);
    EXPECT_EQ(events.status().field(), "");
  }
}

TEST(ValidateEventBody, RejectsMoreEventsThanTheLimitAsTooLarge) {
  json body = json::array({Transaction(), Transaction(), Transaction()});
  EXPECT_TRUE(ValidateEventBody(body, 3).ok());
  Result<std::vector<Event>> events = ValidateEventBody(body, 2);
  ASSERT_FALSE(events.ok());
  EXPECT_EQ(events.status().code(), Code::kTooLarge);
  EXPECT_THAT(events.status().message(), HasSubstr("at most 2 events"));
}

// ---- canonical form --------------------------------------------------------------------------

TEST(CanonicalJson, IsCompactWithFieldsInTheFixedOrder) {
  json j = J(R"({
    "order": {"payment": {"card_fingerprint": "fp", "method": "card"}, "offer_id": "O",
              "items": [{"unit_price": 12.10, "quantity": 2, "sku": "A", "category": "c"}],
              "currency": "EUR", "order_id": "R1"},
    "customer": {"email": "a@b.c", "loyalty_id": "L1"},
    "store_id": "S1", "occurred_at": "2026-11-23T14:12:36.120+01:00", "event_id": "E1",
    "type": "transaction", "channel": "web"
  })");
  Result<Event> e = ValidateEvent(j);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(ToCanonicalJson(*e),
            R"({"schema":1,"type":"transaction","event_id":"E1",)"
            R"("occurred_at":"2026-11-23T14:12:36.120+01:00","occurred_at_ms":1795439556120,)"
            R"("store_id":"S1","channel":"web","customer":{"loyalty_id":"L1","email":"a@b.c"},)"
            R"("order":{"order_id":"R1","currency":"EUR","items":[{"sku":"A","quantity":2,)"
            R"("unit_price":"12.10","category":"c"}],"payment":{"method":"card",)"
            R"("card_fingerprint":"fp"},"offer_id":"O"}})");
}

TEST(CanonicalJson, WritesALoyaltyScanWithoutAnOrder) {
  Result<Event> e = ValidateEvent(LoyaltyScan());
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(ToCanonicalJson(*e),
            R"({"schema":1,"type":"loyalty_scan","occurred_at":"2026-11-23T14:12:36Z",)"
            R"("occurred_at_ms":1795443156000,"store_id":"berlin-042","channel":"store",)"
            R"("customer":{"loyalty_id":"L-1001"}})");
}

TEST(CanonicalJson, RoundTripsThroughEventFromCanonical) {
  for (const json& input : {Transaction(), LoyaltyScan()}) {
    Result<Event> e = ValidateEvent(input);
    ASSERT_TRUE(e.ok()) << e.status().ToString();
    const std::string canonical = ToCanonicalJson(*e);
    Result<Event> back = EventFromCanonical(canonical);
    ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << canonical;
    ExpectSameEvent(*e, *back);
    EXPECT_EQ(ToCanonicalJson(*back), canonical);
  }
}

TEST(CanonicalJson, RoundTripsEveryOptionalFieldAndEscapedText) {
  Event e;
  e.type = EventType::kTransaction;
  e.event_id = NewEventId(1'795'439'556'120);
  e.occurred_at = "2026-11-23T14:12:36.120+01:00";
  e.occurred_at_ms = 1'795'439'556'120;
  e.store_id = "Köln \"Hbf\" \\ 7";
  e.channel = "app";
  e.customer = Customer{"L1", "a@b.c", "+49 30 123456", "C1"};
  Order o;
  o.order_id = "R1";
  o.currency = "KWD";
  o.items.push_back(Item{"A", 3, Decimal(1210, 2), "cat", "Grüner Tee 🍵", "OFF"});
  o.items.push_back(Item{"B", -1, Decimal(123456789, 9), "", "", ""});
  o.items.push_back(Item{"C", 1, Decimal(0, 0), "", "", ""});
  o.payment = Payment{"card", "fp"};
  o.offer_id = "SPRING";
  e.order = o;
  const std::string canonical = ToCanonicalJson(e);
  Result<Event> back = EventFromCanonical(canonical);
  ASSERT_TRUE(back.ok()) << back.status().ToString() << "\n" << canonical;
  ExpectSameEvent(e, *back);
  EXPECT_THAT(canonical, HasSubstr(R"("unit_price":"0.123456789")"));
  EXPECT_THAT(canonical, HasSubstr(R"("store_id":"Köln \"Hbf\" \\ 7")"));
}

TEST(CanonicalJson, IsTheSameWhateverTheInputKeyOrderOrNumberStyle) {
  json a = Transaction();
  json b = J(R"({
    "order": {"items": [{"unit_price": "12.10", "quantity": 2, "sku": "4006381333931"},
                        {"category": "shoes", "unit_price": 79.99, "sku": "SHOE-42", "quantity": 1},
                        {"unit_price": "0.5", "quantity": -1, "sku": "BAG"}],
              "currency": "EUR", "order_id": "R-2026-000123"},
    "customer": {"loyalty_id": "L-1001"}, "store_id": "berlin-042", "schema": 1,
    "occurred_at": "2026-11-23T14:12:36.120+01:00", "event_id": "pos-17:0001",
    "type": "transaction", "channel": "store"})");
  EXPECT_EQ(ToCanonicalJson(*ValidateEvent(a)), ToCanonicalJson(*ValidateEvent(b)));
}

TEST(CanonicalJson, EventFromCanonicalRejectsInconsistentMilliseconds) {
  Result<Event> e = ValidateEvent(Transaction());
  ASSERT_TRUE(e.ok());
  Event tampered = *e;
  tampered.occurred_at_ms += 1;
  Result<Event> back = EventFromCanonical(ToCanonicalJson(tampered));
  ASSERT_FALSE(back.ok());
  EXPECT_EQ(back.status().field(), "occurred_at_ms");
}

TEST(CanonicalJson, EventFromCanonicalRejectsGarbage) {
  EXPECT_FALSE(EventFromCanonical("").ok());
  EXPECT_FALSE(EventFromCanonical("[]").ok());
  EXPECT_FALSE(EventFromCanonical(R"({"schema":1)").ok());
  Result<Event> bad = EventFromCanonical(R"({"schema":1,"type":"transaction"})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().field(), "occurred_at");
}

TEST(CanonicalJson, EventFromCanonicalAcceptsMissingMilliseconds) {
  Result<Event> e = EventFromCanonical(
      R"({"schema":1,"type":"loyalty_scan","occurred_at":"2026-11-23T14:12:36Z",)"
      R"("store_id":"s","customer":{"loyalty_id":"L"}})");
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  EXPECT_EQ(e->occurred_at_ms, 1'795'443'156'000);
}

// Erasure: a redacted body keeps everything but the person, and reads back as anonymous.
TEST(RedactedEventJson, RemovesThePersonAndKeepsTheRest) {
  json sale = {{"type", "transaction"}, {"event_id", "e1"},
               {"occurred_at", "2026-11-23T10:00:00+01:00"}, {"store_id", "S1"},
               {"customer", {{"loyalty_id", "LOY-1"}, {"email", "ann@example.com"}}},
               {"order", {{"order_id", "o-1"}, {"currency", "EUR"},
                          {"items", {{{"sku", "A"}, {"quantity", 2}, {"unit_price", "3.10"}}}},
                          {"payment", {{"method", "card"}, {"card_fingerprint", "fp-9"}}}}}};
  Result<Event> e = ValidateEvent(sale);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const std::string stored = ToCanonicalJson(*e);
  const std::string redacted = RedactedEventJson(stored);
  for (const char* gone : {"LOY-1", "ann@example.com", "fp-9", "customer"}) {
    EXPECT_EQ(redacted.find(gone), std::string::npos) << gone << " in " << redacted;
  }
  Result<Event> back = EventFromCanonical(redacted);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_TRUE(back->redacted);
  EXPECT_FALSE(back->customer.has_value());
  ASSERT_TRUE(back->order.has_value());
  EXPECT_EQ(back->order->order_id, "o-1");
  EXPECT_EQ(back->order->items.size(), 1u);
  EXPECT_EQ(back->order->payment->method, "card");
  EXPECT_EQ(back->store_id, "S1");
  EXPECT_EQ(back->occurred_at_ms, e->occurred_at_ms);
  // Redacting twice changes nothing; the canonical form of the redacted event reads back.
  EXPECT_EQ(RedactedEventJson(redacted), redacted);
  Result<Event> again = EventFromCanonical(ToCanonicalJson(*back));
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->redacted);

  // Types that need a customer read back without one.
  json identify = {{"type", "identify"}, {"occurred_at", "2026-11-23T10:00:00Z"},
                   {"customer", {{"email", "ann@example.com"}}},
                   {"attributes", {{"first_name", "Ann"}}}};
  json scan = {{"type", "loyalty_scan"}, {"occurred_at", "2026-11-23T10:00:00Z"},
               {"store_id", "S1"}, {"customer", {{"loyalty_id", "LOY-1"}}}};
  for (const json& j : {identify, scan}) {
    Result<Event> v = ValidateEvent(j);
    ASSERT_TRUE(v.ok()) << v.status().ToString();
    const std::string r = RedactedEventJson(ToCanonicalJson(*v));
    EXPECT_EQ(r.find("Ann"), std::string::npos) << r;
    EXPECT_EQ(r.find("LOY-1"), std::string::npos) << r;
    Result<Event> b = EventFromCanonical(r);
    ASSERT_TRUE(b.ok()) << r << ": " << b.status().ToString();
    EXPECT_FALSE(b->customer.has_value());
    EXPECT_TRUE(b->attributes.empty());
  }
  // Clients cannot send "redacted", and a redacted body with a customer is refused.
  json forged = scan;
  forged["redacted"] = true;
  EXPECT_FALSE(ValidateEvent(forged).ok());
  EXPECT_FALSE(EventFromCanonical(forged.dump()).ok());
  EXPECT_EQ(RedactedEventJson("not json"), "not json");
}

}  // namespace
}  // namespace cjd

namespace cjd {
namespace {

// Sealing at rest: the split moves the person's members as text; the join gives the same event.
TEST(SplitPersonal, MovesThePersonOutAndJoinGivesTheSameEventBack) {
  using nlohmann::json;
  json sale = {{"type", "transaction"}, {"event_id", "e1"},
               {"occurred_at", "2026-11-23T10:00:00+01:00"}, {"store_id", "S1"},
               {"customer", {{"loyalty_id", "LOY-1"}, {"email", "ann@example.com"}}},
               {"order", {{"order_id", "o-1"}, {"currency", "EUR"},
                          {"items", {{{"sku", "A}{\"]["}, {"quantity", 2}, {"unit_price", "3.10"}}}},
                          {"payment", {{"method", "card"}, {"card_fingerprint", "fp-9"}}}}}};
  Result<Event> e = ValidateEvent(sale);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const std::string stored = ToCanonicalJson(*e);
  PersonalSplit split = SplitPersonal(stored);
  for (const char* gone : {"LOY-1", "ann@example.com", "fp-9", "customer"}) {
    EXPECT_EQ(split.rest.find(gone), std::string::npos) << gone << " in " << split.rest;
  }
  EXPECT_NE(split.personal.find("fp-9"), std::string::npos);
  Result<std::string> joined = JoinPersonal(split.rest, split.personal);
  ASSERT_TRUE(joined.ok()) << joined.status().ToString();
  EXPECT_EQ(json::parse(*joined), json::parse(stored));
  Result<Event> back = EventFromCanonical(*joined);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(ToCanonicalJson(*back), stored);
  // Marked redacted, the rest reads as RedactedEventJson's body does.
  EXPECT_EQ(json::parse(MarkRedacted(split.rest)), json::parse(RedactedEventJson(stored)));
  EXPECT_EQ(MarkRedacted(MarkRedacted(split.rest)), MarkRedacted(split.rest));
}

TEST(SplitPersonal, ARedactedEventCarriesNoAttributesOrCard) {
  // A device may send a redacted event (its outbox was redacted); nothing personal may ride on it
  // unsealed.
  const std::string base =
      R"({"occurred_at":"2026-11-23T10:00:00Z","redacted":true,"schema":1,"store_id":"S1",)";
  auto card = EventFromCanonical(
      base + R"("type":"transaction","order":{"order_id":"o","currency":"EUR","items":[)"
             R"({"sku":"A","quantity":1,"unit_price":"1.00"}],"payment":{"method":"card",)"
             R"("card_fingerprint":"fp"}}})");
  ASSERT_FALSE(card.ok());
  EXPECT_EQ(card.status().field(), "order.payment.card_fingerprint");
  auto attrs = EventFromCanonical(base + R"("type":"identify","attributes":{"first_name":"A"}})");
  ASSERT_FALSE(attrs.ok());
  EXPECT_EQ(attrs.status().field(), "attributes");
}

TEST(SplitPersonal, TextTheScannerCannotReadAsWrittenGoesTheParsersWay) {
  using nlohmann::json;
  const std::vector<std::string> bodies = {
      // A key spelt with an escape must not hide the customer.
      R"({"cust\u006fmer":{"email":"esc@example.com"},"type":"identify"})",
      // Whitespace, nested objects and strings full of brackets and quotes.
      " { \"type\" : \"identify\" , \"customer\" : { \"email\" : \"w\\\"s}@example.com\" } ,"
      " \"attributes\" : {\"n\":[1,{\"a\":\"]\"}]} } ",
      // Nothing personal, and an order without a payment.
      R"({"order":{"items":[]},"type":"transaction"})",
      // A payment with only the card.
      R"({"order":{"payment":{"card_fingerprint":"fp-only"}},"type":"transaction"})",
  };
  for (const std::string& body : bodies) {
    PersonalSplit split = SplitPersonal(body);
    for (const char* gone : {"esc@example.com", "w\\\"s}", "fp-only"}) {
      EXPECT_EQ(split.rest.find(gone), std::string::npos) << gone << " in " << split.rest;
    }
    if (split.personal.empty()) {
      EXPECT_EQ(split.rest, body);
      continue;
    }
    Result<std::string> joined = JoinPersonal(split.rest, split.personal);
    ASSERT_TRUE(joined.ok()) << body;
    EXPECT_EQ(json::parse(*joined), json::parse(body)) << body;
  }
  // Malformed parts are refused, not guessed at.
  EXPECT_FALSE(JoinPersonal(R"({"type":"x"})", R"({"nobody":1})").ok());
  EXPECT_FALSE(JoinPersonal(R"({"type":"x"})", R"({"customer":)").ok());
}

TEST(ScanObject, ReadsMembersAndRefusesWhatIsNotOneObject) {
  std::vector<JsonMember> m;
  ASSERT_TRUE(ScanObject(R"( {"a":1,"b":{"c":[1,"]"]},"d":"x\"y"} )", &m));
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1].key, "b");
  EXPECT_EQ(m[1].value, R"({"c":[1,"]"]})");
  EXPECT_EQ(m[2].text, R"("d":"x\"y")");
  ASSERT_TRUE(ScanObject("{}", &m));
  EXPECT_TRUE(m.empty());
  for (const char* bad : {"", "[]", "{", R"({"a":1,})", R"({"a" 1})", R"({"a":})", R"({"a":"x)",
                          R"({"a":{"b":1})", R"({"a":1}x)", R"({"\u0061":1})", R"({a:1})"}) {
    EXPECT_FALSE(ScanObject(bad, &m)) << bad;
  }
  std::string_view v;
  EXPECT_TRUE(PlainString(R"("abc")", &v));
  EXPECT_EQ(v, "abc");
  EXPECT_FALSE(PlainString(R"("a\"c")", &v));
  EXPECT_FALSE(PlainString("abc", &v));
}

}  // namespace
}  // namespace cjd

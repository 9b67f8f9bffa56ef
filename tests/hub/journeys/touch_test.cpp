// SimpleTouch (journeys' light read of an event's top-level members) against the full path it
// stands in for, ExtractTouch(EventFromCanonical(body)): the same touch for every event it reads,
// and nothing (the caller parses in full) for every event it must not read.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "hub/journeys/touch.h"
#include "shared/event/event.h"

namespace cjd::hub::journeys {
namespace {

using json = nlohmann::json;

std::string Canonical(const json& j) {
  auto e = ValidateEvent(j);
  EXPECT_TRUE(e.ok()) << j.dump() << ": " << e.status().ToString();
  return e.ok() ? ToCanonicalJson(*e) : std::string();
}

void ExpectSameTouch(const std::string& body) {
  SCOPED_TRACE(body);
  const std::optional<TouchRecord> simple = SimpleTouch(body);
  ASSERT_TRUE(simple.has_value());
  auto e = EventFromCanonical(body);
  ASSERT_TRUE(e.ok()) << e.status().ToString();
  const TouchRecord full = ExtractTouch(*e);
  EXPECT_EQ(simple->at_ms, full.at_ms);
  EXPECT_EQ(simple->local_day, full.local_day);
  EXPECT_EQ(simple->type, full.type);
  EXPECT_EQ(simple->order, full.order);
  EXPECT_EQ(simple->revenue_cents, full.revenue_cents);
  EXPECT_EQ(simple->currency, full.currency);
  EXPECT_EQ(simple->channel, full.channel);
  EXPECT_EQ(simple->store, full.store);
  EXPECT_EQ(simple->url, full.url);
  EXPECT_EQ(simple->attrs, full.attrs);
}

TEST(SimpleTouch, ReadsWhatTheFullParseReads) {
  const std::vector<json> events = {
      {{"type", "offer_impression"}, {"event_id", "imp-1"},
       {"occurred_at", "2026-12-06T09:10:11.123+01:00"}, {"store_id", "store-042"},
       {"customer", {{"loyalty_id", "L-00000001"}}}, {"offer_ids", {"o1", "o2", "o1"}}},
      {{"type", "offer_impression"}, {"occurred_at", "2026-12-06T23:59:59Z"},
       {"store_id", "store-042"}, {"offer_ids", {"o1"}}},  // anonymous
      {{"type", "loyalty_scan"}, {"occurred_at", "2026-01-01T00:00:00-05:00"},
       {"store_id", "s1"}, {"channel", "kiosk"}, {"customer", {{"loyalty_id", "L-1"}}}},
      {{"type", "identify"}, {"occurred_at", "2025-03-30T02:30:00+02:00"},
       {"customer", {{"email", "ann@example.com"}}}},
      {{"type", "consent_update"}, {"occurred_at", "2025-03-30T02:30:00.5+02:00"},
       {"customer", {{"email", "ann@example.com"}}}, {"consent", {{"marketing", true}}}},
      {{"type", "page_view"}, {"occurred_at", "1999-12-31T23:59:59.999Z"},
       {"customer", {{"anonymous_id", "a-1"}}}},
      {{"type", "email_opened"}, {"occurred_at", "2026-02-28T12:00:00+14:00"},
       {"customer", {{"customer_id", "C1"}}}},
      {{"type", "support_contact"}, {"occurred_at", "2026-02-28T12:00:00-12:00"},
       {"store_id", "s9"}, {"customer", {{"customer_id", "C1"}}}},
  };
  for (const json& j : events) {
    const std::string body = Canonical(j);
    ExpectSameTouch(body);
    // As journeys reads it: without the vault, the personal part gone and marked redacted.
    ExpectSameTouch(MarkRedacted(SplitPersonal(body).rest));
    ExpectSameTouch(RedactedEventJson(body));
  }
  // A stored time that agrees with occurred_at.
  ExpectSameTouch(R"({"occurred_at":"2026-12-06T09:10:11.123Z","occurred_at_ms":1796548211123,)"
                  R"("offer_ids":["o1"],"store_id":"s","type":"offer_impression"})");
}

TEST(SimpleTouch, LeavesEverythingElseToTheFullParse) {
  const std::vector<std::string> bodies = {
      // What a touch keeps more of: orders, properties, a custom event's name.
      Canonical({{"type", "transaction"}, {"occurred_at", "2026-12-06T09:10:11Z"},
                 {"store_id", "s1"},
                 {"order", {{"order_id", "o1"}, {"currency", "EUR"},
                            {"items", {{{"sku", "A"}, {"quantity", 1}, {"unit_price", "2.50"}}}}}}}),
      Canonical({{"type", "page_view"}, {"occurred_at", "2026-12-06T09:10:11Z"},
                 {"properties", {{"url", "https://shop/p/1?x=1"}}}}),
      Canonical({{"type", "track"}, {"occurred_at", "2026-12-06T09:10:11Z"},
                 {"name", "Signed Up"}}),
      Canonical({{"type", "identify"}, {"occurred_at", "2026-12-06T09:10:11Z"},
                 {"customer", {{"email", "a@b.example"}}}, {"attributes", {{"plan", "x"}}}}),
      // Unusual members: escapes, non-ASCII text, duplicates, unknown keys, bad values.
      R"({"occurred_at":"2026-12-06T09:10:11Z","store_id":"s\u0031","type":"loyalty_scan"})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","store_id":"caf\u00e9","type":"offer_impression","offer_ids":["o"]})",
      "{\"occurred_at\":\"2026-12-06T09:10:11Z\",\"store_id\":\"caf\xc3\xa9\",\"type\":\"offer_impression\",\"offer_ids\":[\"o\"]}",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"page_view","type":"identify"})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"page_view","color":"red"})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"page_view","channel":""})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"page_view","channel":"0123456789012345678901234567890123"})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"page_view","schema":2})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"page_view","redacted":false})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"page_view","redacted":true,"customer":{"email":"a@b.example"}})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"offer_impression","offer_ids":["o"]})",  // no store
      R"({"occurred_at":"2026-12-06T09:10:11Z","occurred_at_ms":1,"type":"page_view"})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","occurred_at_ms":1796548211000.0,"type":"page_view"})",
      R"({"occurred_at":"2026-12-06 09:10:11","type":"page_view"})",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"no_such_type"})",
      R"({"occurred_at":"2026-12-06T09:10:11Z"})",
      R"({"type":"page_view"})",
      R"(["not an object"])",
      R"({"occurred_at":"2026-12-06T09:10:11Z","type":"page_view")",
  };
  for (const std::string& body : bodies) {
    EXPECT_FALSE(SimpleTouch(body).has_value()) << body;
  }
}

}  // namespace
}  // namespace cjd::hub::journeys

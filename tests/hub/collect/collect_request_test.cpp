// ParseCollectRequest: the POST /v1/collect body contract (the agent's POST /v1/events one).
#include "hub/collect/collect_request.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "shared/protocol/keys.h"

namespace cjd::hub {
namespace {

http::Request Req(const std::string& body, const std::string& content_type = "application/json") {
  http::Request r;
  r.method = "POST";
  r.path = "/v1/collect";
  if (!content_type.empty()) r.headers["content-type"] = content_type;
  r.body = body;
  return r;
}

nlohmann::json PageView(const std::string& id = "") {
  nlohmann::json j = {{"type", "page_view"},
                      {"occurred_at", "2026-11-23T10:15:00+01:00"},
                      {"customer", {{"anonymous_id", "anon-1"}}},
                      {"properties", {{"url", "/candles"}}}};
  if (!id.empty()) j["event_id"] = id;
  return j;
}

nlohmann::json Error(const CollectParse& p) {
  EXPECT_TRUE(p.error.has_value());
  if (!p.error) return {};
  return nlohmann::json::parse(p.error->body)["error"];
}

class CollectRequestTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

TEST_F(CollectRequestTest, OneEventGetsAnIdAndCanonicalBody) {
  CollectParse p = ParseCollectRequest(Req(PageView().dump()), 1'795'428'000'000);
  ASSERT_FALSE(p.error) << p.error->body;
  ASSERT_EQ(p.events.size(), 1u);
  const CollectEvent& e = p.events[0];
  EXPECT_EQ(e.event_id.size(), 36u);  // UUIDv7
  EXPECT_EQ(e.type, EventType::kPageView);
  EXPECT_EQ(e.occurred_at_ms, 1'795'425'300'000);
  const nlohmann::json body = nlohmann::json::parse(e.body);
  EXPECT_EQ(body["event_id"], e.event_id);
  EXPECT_EQ(body["channel"], "web");
}

TEST_F(CollectRequestTest, BatchKeepsOrderAndGivenIds) {
  nlohmann::json batch = {PageView("a"), PageView(), PageView("c")};
  batch[1]["type"] = "product_view";
  CollectParse p = ParseCollectRequest(Req(batch.dump(), "application/json; charset=utf-8"), 1);
  ASSERT_FALSE(p.error) << p.error->body;
  ASSERT_EQ(p.events.size(), 3u);
  EXPECT_EQ(p.events[0].event_id, "a");
  EXPECT_EQ(p.events[1].type, EventType::kProductView);
  EXPECT_FALSE(p.events[1].event_id.empty());
  EXPECT_EQ(p.events[2].event_id, "c");
}

TEST_F(CollectRequestTest, BadEventInBatchNamesIndexAndFieldAndYieldsNothing) {
  nlohmann::json order = {{"type", "order_completed"},
                          {"occurred_at", "2026-11-23T10:15:00Z"},
                          {"customer", {{"email", "ana@example.com"}}},
                          {"order",
                           {{"order_id", "W-1"},
                            {"currency", "EUR"},
                            {"items", {{{"sku", "CANDLE-01"}, {"quantity", 1},
                                        {"unit_price", "-1.00"}}}}}}};
  nlohmann::json batch = {PageView(), PageView(), order, PageView()};
  CollectParse p = ParseCollectRequest(Req(batch.dump()), 1);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->status, 400);
  EXPECT_EQ(Error(p)["code"], "invalid");
  EXPECT_EQ(Error(p)["field"], "[2].order.items[0].unit_price");
  EXPECT_TRUE(p.events.empty());
}

TEST_F(CollectRequestTest, AnEventIdRepeatedInOneRequestIsRefused) {
  nlohmann::json batch = {PageView("a"), PageView("b"), PageView("a")};
  CollectParse p = ParseCollectRequest(Req(batch.dump()), 1);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->status, 400);
  const nlohmann::json e = Error(p);
  EXPECT_EQ(e["field"], "[2].event_id");
  EXPECT_NE(e["message"].get<std::string>().find("[0]"), std::string::npos) << e.dump();
  EXPECT_TRUE(p.events.empty());
}

TEST_F(CollectRequestTest, UnknownTypeIsRefusedOnType) {
  nlohmann::json e = PageView();
  e["type"] = "pageview";
  CollectParse p = ParseCollectRequest(Req(e.dump()), 1);
  ASSERT_TRUE(p.error);
  EXPECT_EQ(p.error->status, 400);
  EXPECT_EQ(Error(p)["field"], "type");
}

TEST_F(CollectRequestTest, NonJsonIs400Or415) {
  CollectParse bad = ParseCollectRequest(Req("{\"type\": "), 1);
  ASSERT_TRUE(bad.error);
  EXPECT_EQ(bad.error->status, 400);
  EXPECT_EQ(Error(bad)["code"], "invalid_json");
  EXPECT_EQ(Error(bad)["field"], "body");

  CollectParse form =
      ParseCollectRequest(Req("type=page_view", "application/x-www-form-urlencoded"), 1);
  ASSERT_TRUE(form.error);
  EXPECT_EQ(form.error->status, 415);
  EXPECT_EQ(Error(form)["code"], "unsupported_media_type");

  // No Content-Type: read as JSON; a +json type is JSON.
  EXPECT_FALSE(ParseCollectRequest(Req(PageView().dump(), ""), 1).error);
  EXPECT_FALSE(ParseCollectRequest(Req(PageView().dump(), "application/vnd.cjd+json"), 1).error);
}

TEST_F(CollectRequestTest, EmptyOrOversizedBatchIsRefused) {
  CollectParse empty = ParseCollectRequest(Req("[]"), 1);
  ASSERT_TRUE(empty.error);
  EXPECT_EQ(empty.error->status, 400);

  nlohmann::json many = nlohmann::json::array();
  for (size_t i = 0; i <= kMaxCollectEvents; ++i) many.push_back(PageView());
  CollectParse big = ParseCollectRequest(Req(many.dump()), 1);
  ASSERT_TRUE(big.error);
  EXPECT_EQ(big.error->status, 413);
}

}  // namespace
}  // namespace cjd::hub

// CollectPoster against a fake /v1/collect on 127.0.0.1: keep-alive, retries with backoff,
// the bound, the 401 stop, and setting aside the events the hub rejects (by index or by halving)
// so that every other event arrives exactly once.
#include "tools/cjdctl/collect_poster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "tests/support/ports.h"
#include "tests/tools/cjdctl/fake_hub.h"
#include "tools/cjdctl/hub_error.h"

namespace cjd::ctl {
namespace {

using namespace std::chrono_literals;
using testing::FakeHub;

RetryPolicy Fast(int attempts = 6) {
  RetryPolicy p;
  p.max_attempts = attempts;
  p.initial_backoff = 1ms;
  p.max_backoff = 5ms;
  p.max_total = 10s;
  return p;
}

// An order_completed event for `order_id` with event id "import:test:<id>".
OutgoingEvent Order(const std::string& order_id, int64_t line, const std::string& id) {
  OutgoingEvent e;
  e.event_id = "import:test:" + id;
  e.order_id = order_id;
  e.file = "orders.csv";
  e.first_line = line;
  e.json = R"({"type":"order_completed","event_id":")" + e.event_id +
           R"(","occurred_at":"2011-06-01T10:00:00+01:00","store_id":"test","order":{"order_id":")" +
           order_id + R"(","currency":"GBP","items":[{"sku":"A","quantity":2,"unit_price":"2.55"}]}})";
  return e;
}

// n orders "O0".."O{n-1}" on lines 2.., with order id "BAD" at the given positions; event ids
// carry `tag` so that rounds differ.
std::vector<OutgoingEvent> Batch(size_t n, std::vector<size_t> bad = {}, const std::string& tag = "") {
  std::vector<OutgoingEvent> out;
  for (size_t i = 0; i < n; ++i) {
    const bool is_bad = std::find(bad.begin(), bad.end(), i) != bad.end();
    const std::string order = is_bad ? "BAD" : "O" + std::to_string(i);
    out.push_back(Order(order, static_cast<int64_t>(i + 2), order + "-" + std::to_string(i) + tag));
  }
  return out;
}

struct Fixture {
  explicit Fixture(FakeHub::Options o, RetryPolicy policy = Fast(), std::string token = "src-key")
      : hub(o),
        client("127.0.0.1", hub.port(), 5s),
        poster(CollectPoster::HttpPost(client, "/v1/collect", token), policy) {}
  FakeHub hub;
  http::HttpClient client;
  CollectPoster poster;
};

void ExpectGoodOnesExactlyOnce(const FakeHub& hub, const std::vector<OutgoingEvent>& events) {
  const auto accepted = hub.accepted();
  size_t good = 0;
  for (const auto& e : events) {
    if (e.order_id == "BAD") {
      EXPECT_EQ(accepted.count(e.event_id), 0u) << e.event_id;
    } else {
      ++good;
      auto it = accepted.find(e.event_id);
      ASSERT_NE(it, accepted.end()) << e.event_id;
      EXPECT_EQ(it->second, 1) << e.event_id;
    }
  }
  EXPECT_EQ(accepted.size(), good);
}

TEST(CollectPoster, PostsABatchOverOneKeepAliveConnection) {
  Fixture f({});
  for (int round = 0; round < 3; ++round) {
    auto batch = Batch(100, {}, "r" + std::to_string(round));
    BatchResult r = f.poster.Post(batch);
    ASSERT_TRUE(r.status.ok()) << r.status.ToString();
    EXPECT_EQ(r.accepted, 100);
    EXPECT_EQ(r.stored, 100);
    EXPECT_EQ(r.requests, 1);
  }
  EXPECT_EQ(f.client.connections_opened(), 1);
  EXPECT_EQ(f.hub.accepted().size(), 300u);
}

TEST(CollectPoster, ResendingCountsDuplicatesAndAddsNothing) {
  Fixture f({});
  auto batch = Batch(20);
  ASSERT_TRUE(f.poster.Post(batch).status.ok());
  BatchResult again = f.poster.Post(batch);
  ASSERT_TRUE(again.status.ok());
  EXPECT_EQ(again.accepted, 20);  // the hub's count includes duplicates
  EXPECT_EQ(again.duplicates, 20);
  EXPECT_EQ(f.hub.stored_json().size(), 20u);
}

TEST(CollectPoster, RetriesA503ThenSucceeds) {
  FakeHub::Options o;
  o.fail_first = 2;
  Fixture f(o);
  auto batch = Batch(30);
  BatchResult r = f.poster.Post(batch);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.requests, 3);
  EXPECT_EQ(r.retries, 2);
  EXPECT_EQ(r.accepted, 30);
  ExpectGoodOnesExactlyOnce(f.hub, batch);
}

TEST(CollectPoster, Retries429And500Too) {
  for (int status : {429, 500, 502}) {
    FakeHub::Options o;
    o.fail_first = 1;
    o.fail_status = status;
    Fixture f(o);
    BatchResult r = f.poster.Post(Batch(3));
    EXPECT_TRUE(r.status.ok()) << status;
    EXPECT_EQ(r.retries, 1) << status;
  }
}

TEST(CollectPoster, GivesUpAfterTheBoundAndCountsTheUnsent) {
  FakeHub::Options o;
  o.always_fail = true;
  Fixture f(o, Fast(4));
  BatchResult r = f.poster.Post(Batch(10));
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.requests, 4);
  EXPECT_EQ(f.hub.collect_requests(), 4);
  EXPECT_EQ(r.unsent, 10);
  EXPECT_EQ(r.stored, 0);
  EXPECT_NE(r.status.message().find("503"), std::string::npos) << r.status.message();
  EXPECT_NE(r.status.message().find("4 request"), std::string::npos) << r.status.message();
}

TEST(CollectPoster, GivesUpWhenTheTimeBudgetIsSpent) {
  FakeHub::Options o;
  o.always_fail = true;
  RetryPolicy p = Fast(100);
  p.initial_backoff = 20ms;
  p.max_backoff = 20ms;
  p.max_total = 100ms;
  Fixture f(o, p);
  BatchResult r = f.poster.Post(Batch(2));
  EXPECT_FALSE(r.status.ok());
  EXPECT_LT(r.requests, 10);
}

TEST(CollectPoster, AnUnreachableHubIsRetriedThenFatal) {
  http::HttpClient client("127.0.0.1", cjd::testing::FreeLoopbackPort(), 2s);
  std::vector<std::chrono::milliseconds> sleeps;
  CollectPoster poster(CollectPoster::HttpPost(client, "/v1/collect", "k"), Fast(3),
                       [&](std::chrono::milliseconds d) { sleeps.push_back(d); });
  BatchResult r = poster.Post(Batch(5));
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.requests, 3);
  ASSERT_EQ(sleeps.size(), 2u);
  EXPECT_EQ(sleeps[0], 1ms);
  EXPECT_EQ(sleeps[1], 2ms);  // exponential
  EXPECT_NE(r.status.message().find("refused"), std::string::npos) << r.status.message();
}

TEST(CollectPoster, A401StopsAtOnce) {
  Fixture f({}, Fast(), "wrong-key");
  BatchResult r = f.poster.Post(Batch(10));
  EXPECT_FALSE(r.status.ok());
  EXPECT_TRUE(r.auth_failed);
  EXPECT_EQ(r.requests, 1);
  EXPECT_EQ(r.unsent, 10);
  EXPECT_NE(r.status.message().find("key"), std::string::npos) << r.status.message();
}

TEST(CollectPoster, SetsAsideEachRejectedEventAndResendsTheRest) {
  Fixture f({});
  auto batch = Batch(500, {0, 3, 250, 499});
  BatchResult r = f.poster.Post(batch);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.stored, 496);
  EXPECT_EQ(r.accepted, 496);
  EXPECT_EQ(r.requests, 5);  // four rejections, then the rest
  ASSERT_EQ(r.rejected.size(), 4u);
  std::vector<int64_t> lines;
  for (const auto& rej : r.rejected) {
    EXPECT_EQ(rej.order_id, "BAD");
    EXPECT_EQ(rej.file, "orders.csv");
    EXPECT_EQ(rej.field, "order.order_id");
    EXPECT_EQ(rej.http_status, 400);
    EXPECT_NE(rej.ToString().find("orders.csv:" + std::to_string(rej.first_line) + ": order BAD"),
              std::string::npos)
        << rej.ToString();
    lines.push_back(rej.first_line);
  }
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<int64_t>{2, 5, 252, 501}));
  ExpectGoodOnesExactlyOnce(f.hub, batch);
}

TEST(CollectPoster, WithoutAnIndexItFindsTheBadEventsByHalving) {
  FakeHub::Options o;
  o.name_index = false;
  Fixture f(o);
  auto batch = Batch(64, {5, 6, 40});
  BatchResult r = f.poster.Post(batch);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.rejected.size(), 3u);
  EXPECT_EQ(r.stored, 61);
  EXPECT_LT(r.requests, 64);
  ExpectGoodOnesExactlyOnce(f.hub, batch);
}

TEST(CollectPoster, A413SplitsTheBatch) {
  FakeHub::Options o;
  o.max_events = 7;
  Fixture f(o);
  auto batch = Batch(50, {13});
  BatchResult r = f.poster.Post(batch);
  ASSERT_TRUE(r.status.ok()) << r.status.ToString();
  EXPECT_EQ(r.stored, 49);
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].first_line, 15);
  ExpectGoodOnesExactlyOnce(f.hub, batch);
}

TEST(CollectPoster, AnEventTheSchemaRefusesIsReportedWithItsField) {
  Fixture f({});
  auto batch = Batch(3);
  auto& e = batch[1];
  e.json.replace(e.json.find("\"2.55\""), 6, "\"-1\"");
  BatchResult r = f.poster.Post(batch);
  ASSERT_TRUE(r.status.ok());
  ASSERT_EQ(r.rejected.size(), 1u);
  EXPECT_EQ(r.rejected[0].order_id, "O1");
  EXPECT_EQ(r.rejected[0].field, "order.items[0].unit_price");
  EXPECT_EQ(r.stored, 2);
}

TEST(CollectPoster, AnUnexpectedAnswerIsFatal) {
  FakeHub hub({});
  http::HttpClient client("127.0.0.1", hub.port(), 5s);
  CollectPoster poster(CollectPoster::HttpPost(client, "/v1/nowhere", "src-key"), Fast());
  BatchResult r = poster.Post(Batch(2));
  EXPECT_FALSE(r.status.ok());
  EXPECT_EQ(r.requests, 1);
  EXPECT_NE(r.status.message().find("404"), std::string::npos);
}

TEST(HubError, ReadsBothShapes) {
  HubError nested = ParseHubError(
      R"({"error":{"code":"invalid_event","message":"must be >= 0","field":"[3].order.items[0].unit_price"}})");
  EXPECT_EQ(nested.code, "invalid_event");
  EXPECT_EQ(nested.message, "must be >= 0");
  EXPECT_EQ(nested.field, "[3].order.items[0].unit_price");
  EXPECT_EQ(nested.text, "invalid_event: must be >= 0 (field [3].order.items[0].unit_price)");
  HubError flat = ParseHubError(R"({"error":"invalid_event","field":"[1].x","message":"bad"})");
  EXPECT_EQ(flat.code, "invalid_event");
  EXPECT_EQ(flat.field, "[1].x");
  EXPECT_EQ(flat.message, "bad");
  EXPECT_EQ(ParseHubError("<html>oops</html>").text, "<html>oops</html>");
  EXPECT_EQ(ParseHubError("").text, "(empty body)");
}

TEST(HubError, LeadingIndex) {
  EXPECT_EQ(LeadingIndex("[3].order.order_id"), 3u);
  EXPECT_EQ(LeadingIndex("[0]"), 0u);
  EXPECT_EQ(LeadingIndex("[12].x"), 12u);
  EXPECT_FALSE(LeadingIndex("order.items[0]"));
  EXPECT_FALSE(LeadingIndex("[].x"));
  EXPECT_FALSE(LeadingIndex("[3"));
  EXPECT_FALSE(LeadingIndex(""));
}

}  // namespace
}  // namespace cjd::ctl

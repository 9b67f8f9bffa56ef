// JourneyIndex on hand-built timelines: session edges (30:00 vs 30:01, midnight, the 24-hour
// cap, channels), late events, every funnel order mode and window edge, exclusions and filters,
// retention, the web metrics and attribution over a web-and-store path, exact to the cent.
#include <gtest/gtest.h>

#include <set>

#include "hub/journeys/journey_index.h"
#include "shared/event/event.h"

namespace cjd::hub::journeys {
namespace {

using json = nlohmann::json;

int64_t Ms(const std::string& rfc3339) {
  json j = {{"type", "page_view"}, {"occurred_at", rfc3339}};
  auto e = ValidateEvent(j);
  EXPECT_TRUE(e.ok()) << rfc3339;
  return e.ok() ? e->occurred_at_ms : 0;
}

class Timelines : public ::testing::Test {
 protected:
  // A touch of `profile` at `at` (RFC 3339, its date is the local date).
  TouchRecord& Add(int64_t profile, const std::string& at, EventType type,
                   const std::string& channel = "web", std::vector<std::string> attrs = {}) {
    TouchRecord t;
    t.rowid = ++rowid_;
    t.profile_id = profile;
    t.at_ms = Ms(at);
    t.local_day = *DayNumber(at);
    t.type = type;
    t.channel = channel;
    t.attrs = std::move(attrs);
    pending_.push_back(t);
    return pending_.back();
  }
  void Flush() {
    for (const TouchRecord& t : pending_) index_.Put(t);
    pending_.clear();
    index_.Settle();
  }
  std::vector<int> Sessions(int64_t profile) {
    std::vector<int> out;
    for (const json& t : index_.Timeline(profile)) out.push_back(t["session"].get<int>());
    return out;
  }
  json Steps(const FunnelQuery& q) { return index_.Funnel(q, nullptr, nullptr)["steps"]; }
  std::vector<int64_t> Counts(const FunnelQuery& q) {
    std::vector<int64_t> out;
    for (const json& s : Steps(q)) out.push_back(s["count"].get<int64_t>());
    return out;
  }

  JourneyIndex index_{SessionOptions{}};
  std::vector<TouchRecord> pending_;
  int64_t rowid_ = 0;
};

TEST_F(Timelines, AGapOfExactly30MinutesContinuesTheSessionAndOneSecondMoreEndsIt) {
  Add(1, "2026-03-02T10:00:00Z", EventType::kPageView);
  Add(1, "2026-03-02T10:30:00Z", EventType::kPageView);  // 30:00 after: same session
  Add(1, "2026-03-02T11:00:01Z", EventType::kPageView);  // 30:01 after: a new one
  Flush();
  EXPECT_EQ(Sessions(1), (std::vector<int>{0, 0, 1}));
  EXPECT_EQ(index_.sessions(), 2);
}

TEST_F(Timelines, MidnightDoesNotSplitAndTheCapDoes) {
  Add(1, "2026-03-02T23:50:00Z", EventType::kPageView);
  Add(1, "2026-03-03T00:10:00Z", EventType::kPageView);
  Flush();
  EXPECT_EQ(Sessions(1), (std::vector<int>{0, 0}));
  // A view every 20 minutes for 25 hours: the session that starts at 00:00 ends before 24:00.
  for (int i = 0; i <= 75; ++i) {
    char at[40];
    std::snprintf(at, sizeof at, "2026-04-01T%02d:%02d:00Z", (i * 20 / 60) % 24, i * 20 % 60);
    std::string s = at;
    if (i * 20 >= 24 * 60) s.replace(8, 2, "02");
    Add(2, s, EventType::kPageView);
  }
  Flush();
  const std::vector<int> s = Sessions(2);
  ASSERT_EQ(s.size(), 76u);
  EXPECT_EQ(s[71], 0);  // 23:40, 23 h 40 min after the first
  EXPECT_EQ(s[72], 1);  // 24:00 exactly: the cap
  EXPECT_EQ(s[75], 1);
}

TEST_F(Timelines, SessionsArePerChannel) {
  Add(1, "2026-03-02T10:00:00Z", EventType::kPageView);
  Add(1, "2026-03-02T10:05:00Z", EventType::kLoyaltyScan, "store");
  Add(1, "2026-03-02T10:10:00Z", EventType::kPageView);
  Flush();
  EXPECT_EQ(Sessions(1), (std::vector<int>{0, 1, 0}));
}

TEST_F(Timelines, ALateEventReopensTheSessionsItFallsBetween) {
  Add(1, "2026-03-02T10:00:00Z", EventType::kPageView);
  Add(1, "2026-03-02T10:50:00Z", EventType::kPageView);
  Add(1, "2026-03-05T09:00:00Z", EventType::kPageView);
  Flush();
  EXPECT_EQ(Sessions(1), (std::vector<int>{0, 1, 2}));
  // A view at 10:25 arrives days later (an app that was offline): 10:00 - 10:50 is one visit.
  Add(1, "2026-03-02T10:25:00Z", EventType::kPageView);
  // A store sale of 2026-03-01, from a store that was offline for four days, goes first.
  Add(1, "2026-03-01T16:00:00+01:00", EventType::kTransaction, "store");
  Flush();
  const json tl = index_.Timeline(1);
  ASSERT_EQ(tl.size(), 5u);
  EXPECT_EQ(tl[0]["type"], "transaction");
  EXPECT_EQ(tl[0]["date"], "2026-03-01");
  EXPECT_EQ(Sessions(1), (std::vector<int>{0, 1, 1, 1, 2}));
  EXPECT_EQ(index_.sessions(), 3);
}

TEST_F(Timelines, MovingTouchesJoinsTwoTimelines) {
  Add(1, "2026-03-02T10:00:00Z", EventType::kPageView);
  Add(2, "2026-03-02T10:10:00Z", EventType::kAddToCart);
  Flush();
  EXPECT_EQ(index_.persons(), 2u);
  index_.Move(2, 1);  // a merge: profile 2's touch now belongs to 1
  index_.Settle();
  EXPECT_EQ(index_.persons(), 1u);
  EXPECT_EQ(Sessions(1), (std::vector<int>{0, 0}));
  index_.Remove(1);  // an erasure
  index_.Settle();
  EXPECT_EQ(index_.RowidsOf(1), (std::vector<int64_t>{2}));
}

FunnelQuery ViewCartOrder(FunnelOrder order, int64_t window_days = 14) {
  FunnelQuery q;
  q.order = order;
  q.window_ms = window_days * 86'400'000;
  q.steps = {{EventType::kProductView, {}}, {EventType::kAddToCart, {}},
             {EventType::kOrderCompleted, {}}};
  return q;
}

TEST_F(Timelines, SequentialStrictAndAnyOrder) {
  // A: view, cart, order in a row.
  Add(1, "2026-03-02T10:00:00Z", EventType::kProductView);
  Add(1, "2026-03-02T10:01:00Z", EventType::kAddToCart);
  Add(1, "2026-03-02T10:05:00Z", EventType::kOrderCompleted);
  // B: view, another page, cart, order: sequential yes, strict stops after the view.
  Add(2, "2026-03-02T10:00:00Z", EventType::kProductView);
  Add(2, "2026-03-02T10:00:30Z", EventType::kPageView);
  Add(2, "2026-03-02T10:02:00Z", EventType::kAddToCart);
  Add(2, "2026-03-02T10:03:00Z", EventType::kOrderCompleted);
  // C: cart first, then view, then order: any order gets all three; sequential only the view.
  Add(3, "2026-03-02T10:00:00Z", EventType::kAddToCart);
  Add(3, "2026-03-02T10:10:00Z", EventType::kProductView);
  Add(3, "2026-03-02T10:20:00Z", EventType::kOrderCompleted);
  Flush();
  EXPECT_EQ(Counts(ViewCartOrder(FunnelOrder::kSequential)), (std::vector<int64_t>{3, 2, 2}));
  EXPECT_EQ(Counts(ViewCartOrder(FunnelOrder::kStrict)), (std::vector<int64_t>{3, 1, 1}));
  EXPECT_EQ(Counts(ViewCartOrder(FunnelOrder::kAny)), (std::vector<int64_t>{3, 3, 3}));
  const json s = Steps(ViewCartOrder(FunnelOrder::kSequential));
  EXPECT_DOUBLE_EQ(s[1]["conversion_from_previous"].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(s[2]["conversion_from_first"].get<double>(), 2.0 / 3.0);
  EXPECT_EQ(s[1]["drop_off"], 1);
  // Seconds from the view to the cart: A 60, B 120; nearest rank median 60, p90 120.
  EXPECT_DOUBLE_EQ(s[1]["median_seconds_to_convert"].get<double>(), 60.0);
  EXPECT_DOUBLE_EQ(s[1]["p90_seconds_to_convert"].get<double>(), 120.0);
  EXPECT_TRUE(s[0]["median_seconds_to_convert"].is_null());
}

TEST_F(Timelines, TheWindowIncludesItsLastMillisecondOnly) {
  Add(1, "2026-03-02T10:00:00.000Z", EventType::kProductView);
  Add(1, "2026-03-03T10:00:00.000Z", EventType::kAddToCart);  // exactly 1 day later
  Add(2, "2026-03-02T10:00:00.000Z", EventType::kProductView);
  Add(2, "2026-03-03T10:00:00.001Z", EventType::kAddToCart);  // 1 ms too late
  Flush();
  FunnelQuery q = ViewCartOrder(FunnelOrder::kSequential, 1);
  q.steps.pop_back();
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{2, 1}));
  q.order = FunnelOrder::kAny;
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{2, 1}));
}

TEST_F(Timelines, TheBestAttemptCountsAndAnExclusionEndsOne) {
  // A view that led nowhere, then a later one that converts: the person converts.
  Add(1, "2026-03-01T10:00:00Z", EventType::kProductView);
  Add(1, "2026-03-20T10:00:00Z", EventType::kProductView);
  Add(1, "2026-03-20T10:01:00Z", EventType::kAddToCart);
  // Removed from the cart between view and cart: excluded attempt.
  Add(2, "2026-03-02T10:00:00Z", EventType::kProductView);
  Add(2, "2026-03-02T10:00:10Z", EventType::kRemoveFromCart);
  Add(2, "2026-03-02T10:01:00Z", EventType::kAddToCart);
  Flush();
  FunnelQuery q = ViewCartOrder(FunnelOrder::kSequential);
  q.steps.pop_back();
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{2, 2}));
  q.exclude = {{EventType::kRemoveFromCart, {}}};
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{2, 1}));
  // The period bounds the first step: from 2026-03-10 only person 1's second view starts.
  q.exclude.clear();
  q.period.from_day = *DayNumber("2026-03-10");
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{1, 1}));
}

TEST_F(Timelines, FiltersOnItemsPropertiesAndUrlPrefixes) {
  Add(1, "2026-03-02T10:00:00Z", EventType::kProductView, "web",
      {std::string("sku") + kAttrSep + "S1", std::string("properties.campaign") + kAttrSep + "x"})
      .url = "/shoes/red";
  Add(1, "2026-03-02T10:01:00Z", EventType::kAddToCart, "web",
      {std::string("sku") + kAttrSep + "S1"});
  Add(2, "2026-03-02T10:00:00Z", EventType::kProductView, "web",
      {std::string("sku") + kAttrSep + "S2"}).url = "/shoesies";
  Add(2, "2026-03-02T10:01:00Z", EventType::kAddToCart, "web",
      {std::string("sku") + kAttrSep + "S1"});
  Flush();
  FunnelQuery q;
  q.steps = {{EventType::kProductView, {{"url", "https://shop.example/shoes/?utm=1"}}},
             {EventType::kAddToCart, {{"sku", "S1"}}}};
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{1, 1}));  // "/shoes" is not a prefix of "/shoesies"
  q.steps[0].where = {{"properties.campaign", "x"}};
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{1, 1}));
  q.steps[0].where = {{"sku", "never-seen"}};
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{0, 0}));
  q.steps[0].where.clear();
  q.breakdown = Breakdown::kChannel;
  const json b = index_.Funnel(q, nullptr, nullptr)["breakdown"];
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0]["value"], "web");
  EXPECT_EQ(b[0]["steps"][1]["count"], 2);
}

TEST_F(Timelines, CountBySessionKeepsEachAttemptInsideOneSession) {
  Add(1, "2026-03-02T10:00:00Z", EventType::kProductView);
  Add(1, "2026-03-02T11:00:00Z", EventType::kAddToCart);  // next session
  Add(1, "2026-03-03T10:00:00Z", EventType::kProductView);
  Add(1, "2026-03-03T10:05:00Z", EventType::kAddToCart);
  Flush();
  FunnelQuery q = ViewCartOrder(FunnelOrder::kSequential);
  q.steps.pop_back();
  q.count_by = CountBy::kSession;
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{2, 1}));
  q.count_by = CountBy::kPerson;
  EXPECT_EQ(Counts(q), (std::vector<int64_t>{1, 1}));
}

TEST_F(Timelines, RetentionByFirstOrderMonthLeavesCreditNotesOut) {
  Add(1, "2026-01-05T10:00:00Z", EventType::kTransaction, "store").order = true;
  Add(1, "2026-03-05T10:00:00Z", EventType::kTransaction, "store").order = true;
  Add(2, "2026-01-20T10:00:00Z", EventType::kTransaction, "store");  // a credit note
  Add(2, "2026-02-20T10:00:00Z", EventType::kTransaction, "store").order = true;
  Add(3, "2026-01-02T10:00:00Z", EventType::kPageView);
  Flush();
  const json r = index_.Retention(RetentionCohort::kFirstOrderMonth, RetentionPeriod::kMonth,
                                  nullptr);
  EXPECT_EQ(r["cohorts"], json::parse(R"([
      {"cohort": "2026-01", "customers": 1, "retained": [1, 0, 1]},
      {"cohort": "2026-02", "customers": 1, "retained": [1, 0]}])"));
  const json seen = index_.Retention(RetentionCohort::kFirstSeenMonth, RetentionPeriod::kMonth,
                                     nullptr);
  EXPECT_EQ(seen["cohorts"][0], json::parse(R"({"cohort": "2026-01", "customers": 3,
                                                "retained": [3, 1, 1]})"));
  const json weeks = index_.Retention(RetentionCohort::kFirstOrderMonth, RetentionPeriod::kWeek,
                                      nullptr);
  EXPECT_EQ(weeks["cohorts"][0]["cohort"], "2026-01-05");  // a Monday
}

TEST_F(Timelines, WebMetricsByTheirDefinitions) {
  // 1: a bounce (one view), later a session with view, cart, order (engaged, converted).
  Add(1, "2026-03-02T10:00:00Z", EventType::kPageView);
  Add(1, "2026-03-02T12:00:00Z", EventType::kProductView);
  Add(1, "2026-03-02T12:00:05Z", EventType::kAddToCart);
  Add(1, "2026-03-02T12:00:08Z", EventType::kOrderCompleted).order = true;
  // 2: two views 5 s apart (engaged by 2 views), a cart, no order: an abandoned cart.
  Add(2, "2026-03-02T10:00:00Z", EventType::kProductView);
  Add(2, "2026-03-02T10:00:05Z", EventType::kProductView);
  Add(2, "2026-03-02T10:00:06Z", EventType::kAddToCart);
  Add(2, "2026-03-02T10:00:07Z", EventType::kCheckoutStarted);
  // 3: a store customer only: not a visitor.
  Add(3, "2026-03-02T10:00:00Z", EventType::kTransaction, "store").order = true;
  Flush();
  const json m = index_.WebMetrics(WebQuery{}, nullptr);
  EXPECT_EQ(m["visitors"], 2);
  EXPECT_EQ(m["sessions"], 3);
  EXPECT_EQ(m["page_views"], 1);
  EXPECT_EQ(m["product_views"], 3);
  EXPECT_DOUBLE_EQ(m["page_views_per_session"].get<double>(), 4.0 / 3.0);
  EXPECT_DOUBLE_EQ(m["bounce_rate"].get<double>(), 1.0 / 3.0);
  EXPECT_DOUBLE_EQ(m["engagement_rate"].get<double>(), 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(m["add_to_cart_rate"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m["cart_abandonment_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["checkout_abandonment_rate"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(m["conversion_rate"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(m["session_conversion_rate"].get<double>(), 1.0 / 3.0);
  ASSERT_EQ(m["daily"].size(), 1u);
  EXPECT_EQ(m["daily"][0]["date"], "2026-03-02");
  WebQuery none;
  none.channel = "app";
  const json empty = index_.WebMetrics(none, nullptr);
  EXPECT_EQ(empty["visitors"], 0);
  EXPECT_TRUE(empty["bounce_rate"].is_null());
}

TEST_F(Timelines, AttributionOfAStoreSaleToWebEmailAndStoreTouchesToTheCent) {
  Add(1, "2026-03-01T09:00:00Z", EventType::kEmailClicked, "email");
  Add(1, "2026-03-01T09:01:00Z", EventType::kProductView);
  Add(1, "2026-03-03T15:00:00Z", EventType::kLoyaltyScan, "store");
  TouchRecord& sale = Add(1, "2026-03-03T15:02:00Z", EventType::kTransaction, "store");
  sale.order = true;
  sale.revenue_cents = 10'000;
  sale.currency = "EUR";
  // Someone who looked and never bought (the Markov model's null path).
  Add(2, "2026-03-02T10:00:00Z", EventType::kProductView);
  Flush();
  AttributionQuery q;
  q.models = {"first_touch", "last_touch", "linear", "position_based", "markov"};
  auto r = index_.Attribution(q, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const json& m = (*r)["models"];
  auto revenue = [&](const char* model, const char* channel) {
    for (const json& c : m[model]["channels"]) {
      if (c["channel"] == channel) return c["revenue"].get<std::string>();
    }
    return std::string("absent");
  };
  EXPECT_EQ((*r)["currency"], "EUR");
  EXPECT_EQ((*r)["conversions"], 1);
  EXPECT_EQ(revenue("first_touch", "email"), "100.00");
  EXPECT_EQ(revenue("last_touch", "store"), "100.00");
  EXPECT_EQ(revenue("linear", "email"), "33.34");
  EXPECT_EQ(revenue("linear", "web"), "33.33");
  EXPECT_EQ(revenue("linear", "store"), "33.33");
  EXPECT_EQ(revenue("position_based", "email"), "40.00");
  EXPECT_EQ(revenue("position_based", "web"), "20.00");
  EXPECT_EQ(revenue("position_based", "store"), "40.00");
  // Markov: start -> email -> web -> store -> conversion, and start -> web -> null.
  // P(conv) = 1/2 (start to email) * 1 ... email->web (1), web->store 1/2, store->conv 1:
  // P = 1/2 * 1 * 1/2 + 1/2 * 1/2 = 1/2. Without email: 1/4 (effect 1/2); without web: 0
  // (effect 1); without store: 0 (effect 1). Shares 1/5, 2/5, 2/5.
  EXPECT_EQ(revenue("markov", "email"), "20.00");
  EXPECT_EQ(revenue("markov", "web"), "40.00");
  EXPECT_EQ(revenue("markov", "store"), "40.00");
}

TEST_F(Timelines, LifecycleNewReturningResurrectingDormant) {
  for (const char* at : {"2026-01-10", "2026-02-10", "2026-04-10"}) {
    Add(1, std::string(at) + "T10:00:00Z", EventType::kTransaction, "store").order = true;
  }
  Add(2, "2026-02-11T10:00:00Z", EventType::kTransaction, "store").order = true;
  Add(3, "2026-01-12T10:00:00Z", EventType::kTransaction, "store").order = true;
  Add(3, "2026-03-12T10:00:00Z", EventType::kTransaction, "store").order = true;
  Flush();
  const json l = index_.Lifecycle(RetentionPeriod::kMonth, true, nullptr);
  EXPECT_EQ(l["periods"], json::parse(R"([
    {"period": "2026-01", "new": 2, "returning": 0, "resurrecting": 0, "dormant": 0},
    {"period": "2026-02", "new": 1, "returning": 1, "resurrecting": 0, "dormant": 1},
    {"period": "2026-03", "new": 0, "returning": 0, "resurrecting": 1, "dormant": 2},
    {"period": "2026-04", "new": 0, "returning": 0, "resurrecting": 1, "dormant": 1}])"));
}

TEST_F(Timelines, TopPathsFromAndToAnEventWithCleanedUrls) {
  Add(1, "2026-03-02T10:00:00Z", EventType::kPageView).url = "/p/1";
  Add(1, "2026-03-02T10:00:05Z", EventType::kPageView).url = "/p/1";  // a reload: one step
  Add(1, "2026-03-02T10:01:00Z", EventType::kProductView).url = "/product/123";
  Add(1, "2026-03-02T10:02:00Z", EventType::kAddToCart);
  Add(1, "2026-03-02T10:03:00Z", EventType::kOrderCompleted);
  Add(2, "2026-03-02T11:00:00Z", EventType::kPageView).url = "/p/1";
  Add(2, "2026-03-02T11:01:00Z", EventType::kProductView).url = "/product/456";
  Add(2, "2026-03-02T11:02:00Z", EventType::kAddToCart);
  Add(3, "2026-03-02T11:00:00Z", EventType::kPageView).url = "/about";
  Flush();
  PathQuery q;
  q.start = StepSpec{EventType::kPageView, {{"url", "/p"}}};
  q.length = 3;
  json p = index_.Paths(q, nullptr);
  EXPECT_EQ(p["total"], 2);
  ASSERT_EQ(p["paths"].size(), 1u);
  EXPECT_EQ(p["paths"][0]["path"],
            json::array({"page_view /p/:id", "product_view /product/:id", "add_to_cart"}));
  EXPECT_EQ(p["paths"][0]["count"], 2);
  q.start.reset();
  q.end = StepSpec{EventType::kOrderCompleted, {}};
  q.length = 2;
  p = index_.Paths(q, nullptr);
  EXPECT_EQ(p["paths"][0]["path"], json::array({"add_to_cart", "order_completed"}));
  EXPECT_EQ(p["paths"][0]["count"], 1);
}

TEST_F(Timelines, PainPointsRankAPlantedCauseFirst) {
  // 20 shoppers start checkout. Ten then contact support about a declined payment and never
  // order; eight order; two leave without a word. Everyone views a page in between, on a phone
  // or a desktop alike (not a cause).
  for (int i = 0; i < 20; ++i) {
    const int64_t p = i + 1;
    char day[40];
    std::snprintf(day, sizeof day, "2026-03-%02dT10:", i + 1);
    Add(p, std::string(day) + "00:00Z", EventType::kCheckoutStarted);
    Add(p, std::string(day) + "01:00Z", EventType::kPageView, "web",
        {std::string("properties.device") + kAttrSep + (i % 2 ? "mobile" : "desktop")});
    if (i < 10) {
      Add(p, std::string(day) + "02:00Z", EventType::kSupportContact, "support",
          {std::string("properties.reason") + kAttrSep + "payment_declined"});
    } else if (i < 18) {
      Add(p, std::string(day) + "05:00Z", EventType::kOrderCompleted).order = true;
    }
  }
  Flush();
  FunnelQuery q;
  q.steps = {{EventType::kCheckoutStarted, {}}, {EventType::kOrderCompleted, {}}};
  q.pain_points = true;
  const json pp = index_.Funnel(q, nullptr, nullptr)["pain_points"];
  EXPECT_EQ(pp["worst"], json::parse(R"({"from_step": 1, "to_step": 2, "dropped": 12,
                                         "continued": 8})"));
  ASSERT_GE(pp["factors"].size(), 2u) << pp.dump();
  const std::set<std::string> cause = {"properties.reason=payment_declined",
                                       "type=support_contact", "channel=support"};
  EXPECT_TRUE(cause.count(pp["factors"][0]["feature"].get<std::string>())) << pp.dump();
  EXPECT_EQ(pp["factors"][0]["dropped_with"], 10);
  EXPECT_EQ(pp["factors"][0]["continued_with"], 0);
  EXPECT_NEAR(pp["factors"][0]["odds_ratio"].get<double>(), (10.5 / 0.5) / (2.5 / 8.5), 1e-9);
  for (const json& f : pp["factors"]) {
    EXPECT_NE(f["feature"], "properties.device=mobile") << "no more likely to drop: " << f;
  }
}

TEST_F(Timelines, PainPointsRankAProfileAttributeCauseFirst) {
  // 24 shoppers start checkout; nothing in their timelines tells the 12 who drop from those who
  // order, but the profiles do: the 12 are on the "invoice" payment plan (an attribute) and in
  // segment "new". The features come from outside the index, once, for the persons counted.
  for (int i = 0; i < 24; ++i) {
    const int64_t p = i + 1;
    char day[40];
    std::snprintf(day, sizeof day, "2026-03-%02dT10:", i + 1);
    Add(p, std::string(day) + "00:00Z", EventType::kCheckoutStarted);
    Add(p, std::string(day) + "01:00Z", EventType::kPageView);
    if (i >= 12) Add(p, std::string(day) + "05:00Z", EventType::kOrderCompleted).order = true;
  }
  Add(99, "2026-03-01T09:00:00Z", EventType::kPageView);  // never reaches the first step
  Flush();
  FunnelQuery q;
  q.steps = {{EventType::kCheckoutStarted, {}}, {EventType::kOrderCompleted, {}}};
  q.pain_points = true;
  std::vector<std::vector<int64_t>> calls;
  PersonFeatures features = [&](const std::vector<int64_t>& ids) {
    calls.push_back(ids);
    std::unordered_map<int64_t, std::vector<std::string>> out;
    for (const int64_t id : ids) {
      if (id <= 12) out[id] = {"attributes.plan=invoice", "segment=new"};
      if (id > 12 && id % 2 == 0) out[id] = {"attributes.plan=card"};
    }
    return out;
  };
  const json pp = index_.Funnel(q, nullptr, nullptr, &features)["pain_points"];
  ASSERT_EQ(calls.size(), 1u);
  std::vector<int64_t> expected(24);
  for (int i = 0; i < 24; ++i) expected[static_cast<size_t>(i)] = i + 1;
  EXPECT_EQ(calls[0], expected);  // sorted, each once, only those at the transition
  ASSERT_GE(pp["factors"].size(), 2u) << pp.dump();
  const std::set<std::string> cause = {"attributes.plan=invoice", "segment=new"};
  EXPECT_TRUE(cause.count(pp["factors"][0]["feature"].get<std::string>())) << pp.dump();
  EXPECT_TRUE(cause.count(pp["factors"][1]["feature"].get<std::string>())) << pp.dump();
  EXPECT_EQ(pp["factors"][0]["dropped_with"], 12);
  EXPECT_EQ(pp["factors"][0]["continued_with"], 0);
  for (const json& f : pp["factors"]) {
    EXPECT_NE(f["feature"], "attributes.plan=card") << "only among those who went on: " << f;
    EXPECT_NE(f["feature"], "type=page_view") << "everyone met it: " << f;
  }
  // Without the features the timelines alone explain nothing.
  EXPECT_TRUE(index_.Funnel(q, nullptr, nullptr)["pain_points"]["factors"].empty());
}

TEST_F(Timelines, StagesCurrentAndFurthestAndTheirConversionOverTime) {
  Add(1, "2026-03-01T10:00:00Z", EventType::kPageView);
  Add(2, "2026-03-01T10:00:00Z", EventType::kPageView);
  Add(2, "2026-03-01T10:01:00Z", EventType::kProductView);
  for (const char* at : {"2026-03-02", "2026-04-02"}) {
    Add(3, std::string(at) + "T10:00:00Z", EventType::kTransaction, "store").order = true;
  }
  for (int i = 1; i <= 5; ++i) {
    Add(4, "2026-04-0" + std::to_string(i) + "T10:00:00Z", EventType::kOrderCompleted).order = true;
  }
  Add(5, "2025-01-05T10:00:00Z", EventType::kTransaction, "store").order = true;  // long ago
  Add(5, "2026-04-01T10:00:00Z", EventType::kEmailOpened, "email");
  Flush();
  const int64_t now = Ms("2026-04-10T00:00:00Z");
  EXPECT_EQ(index_.StageOf(1, now), (std::pair<int, int>{0, 0}));
  EXPECT_EQ(index_.StageOf(2, now), (std::pair<int, int>{1, 1}));
  EXPECT_EQ(index_.StageOf(3, now), (std::pair<int, int>{3, 3}));
  EXPECT_EQ(index_.StageOf(4, now), (std::pair<int, int>{4, 4}));
  EXPECT_EQ(index_.StageOf(5, now), (std::pair<int, int>{0, 2}));  // bought once, 15 months ago
  EXPECT_EQ(index_.StageOf(99, now), (std::pair<int, int>{kStageNone, kStageNone}));
  const json s = index_.Stages(RetentionPeriod::kMonth, now, nullptr);
  EXPECT_EQ(s["furthest"], json::parse(R"({"none": 0, "awareness": 1, "consideration": 1,
      "purchase": 1, "retention": 1, "advocacy": 1})"));
  EXPECT_EQ(s["current"]["awareness"], 2);
  // By the end of March 2026: 4 aware (1, 2, 3, 5), 3 considered or beyond... person 3's store
  // sale is a purchase (no consideration touch needed: stages are cumulative).
  const json& march = s["periods"][14];
  EXPECT_EQ(march["period"], "2026-03");
  EXPECT_EQ(march["reached"], json::parse(R"({"awareness": 4, "consideration": 3,
      "purchase": 2, "retention": 0, "advocacy": 0})"));
  EXPECT_DOUBLE_EQ(march["conversion"]["awareness_to_consideration"].get<double>(), 0.75);
  const json& april = s["periods"][15];
  EXPECT_EQ(april["reached"]["advocacy"], 1);
  EXPECT_EQ(april["reached"]["retention"], 2);
}

}  // namespace
}  // namespace cjd::hub::journeys

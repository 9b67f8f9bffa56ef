// Journeys end to end (issue 12) with a real hub: the OTTO e-commerce sample
// (../shared/datasets/otto-sample: 20 shoppers, 862 events) sent through POST /v1/collect, each
// OTTO session one visitor's anonymous_id; the sessions, the web metrics and the funnels of
// every order mode must equal a computation over the raw file made here, written apart from the
// hub's (existential definitions, not the hub's attempt search). Then a web visitor who logs in
// and whose store sale arrives late from an offline store: one timeline, re-sessioned. Then the
// errors that name their field, and the analyst role.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "shared/event/event.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/datasets.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;

constexpr int64_t kGapMs = 30 * 60'000;
constexpr int64_t kCapMs = 24 * 3'600'000;
constexpr int64_t kDayMs = 86'400'000;

// One OTTO row; an order of several articles is several rows with one ts.
struct Row {
  int session;
  int64_t ts;
  std::string type;  // clicks, carts, orders
  std::string aid;
};

// What the hub is sent: one event per click or cart, one order_completed per (session, ts) of
// orders rows (items: the articles, each quantity 1 at 1.00 -- OTTO has no prices).
struct Sent {
  int session;
  int64_t ts;
  std::string type;  // product_view, add_to_cart, order_completed
};

class Journeys : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    key_ = fleet_.AddSource("webshop");
    fleet_.StartHub();
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 60s);
  }

  void Collect(const json& body) {
    HttpResponse r = hub_->Post("/v1/collect", body.dump(), key_);
    ASSERT_EQ(r.status, 202) << r.body;
  }
  json Get(const std::string& path, int expect = 200) {
    HttpResponse r = hub_->Get(path, fleet_.hub_token());
    EXPECT_EQ(r.status, expect) << path << ": " << r.body;
    return r.Json();
  }
  json Post(const std::string& path, const json& body, int expect = 200) {
    HttpResponse r = hub_->Post(path, body.dump(), fleet_.hub_token());
    EXPECT_EQ(r.status, expect) << path << ": " << r.body;
    return r.Json();
  }
  // Until the journeys module has read every event the hub holds.
  void WaitJourneys(int64_t events) {
    ASSERT_TRUE(fleet_.WaitHubEventsTotal(events)) << fleet_.Diagnostics();
    const bool done = cjd::testing::WaitUntil(
        [&] {
          json s = fleet_.HubStats();
          return s.contains("journeys") && s.contains("projection") &&
                 s["projection"]["cursor"].get<int64_t>() > 0 &&
                 s["journeys"]["cursor"] == s["projection"]["cursor"] &&
                 s["projection"]["events_applied"].get<int64_t>() >= events;
        },
        60s);
    ASSERT_TRUE(done) << fleet_.HubStats().dump();
  }
  int64_t ProfileOf(const std::string& identifier) {
    return Get("/v1/profiles?identifier=" + identifier)["profile_id"].get<int64_t>();
  }

  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> hub_;
};

std::vector<Row> ReadOtto(const std::string& dir) {
  std::vector<Row> rows;
  std::ifstream in(dir + "/events.csv");
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::stringstream ss(line);
    std::string session, ts, type, aid;
    std::getline(ss, session, ',');
    std::getline(ss, ts, ',');
    std::getline(ss, type, ',');
    std::getline(ss, aid, ',');
    rows.push_back({std::stoi(session), std::stoll(ts), type, aid});
  }
  return rows;
}

// The independent side: per visitor, the events as sent, in time order (ties: file order).
using Timeline = std::vector<Sent>;

// Existential funnel depth over one timeline for view -> cart -> order.
int Depth(const Timeline& t, const std::string& order, int64_t window) {
  const std::vector<std::string> steps = {"product_view", "add_to_cart", "order_completed"};
  int best = 0;
  const size_t n = t.size();
  for (size_t i = 0; i < n; ++i) {
    if (order == "any") {
      // Steps 1..k all present at or after i within the window, i one of them.
      bool start_ok = false;
      for (const auto& s : steps) start_ok = start_ok || t[i].type == s;
      if (!start_ok) continue;
      int k = 0;
      while (k < 3) {
        bool found = false;
        for (size_t j = i; j < n && t[j].ts - t[i].ts <= window; ++j) {
          found = found || t[j].type == steps[static_cast<size_t>(k)];
        }
        if (!found) break;
        ++k;
      }
      best = std::max(best, k);
      continue;
    }
    if (t[i].type != steps[0]) continue;
    best = std::max(best, 1);
    for (size_t j = i + 1; j < n && t[j].ts - t[i].ts <= window; ++j) {
      if (t[j].type != steps[1]) {
        if (order == "strict") break;
        continue;
      }
      best = std::max(best, 2);
      if (order == "strict") {
        if (j + 1 < n && t[j + 1].type == steps[2] && t[j + 1].ts - t[i].ts <= window) {
          best = 3;
        }
        break;
      }
      for (size_t k = j + 1; k < n && t[k].ts - t[i].ts <= window; ++k) {
        if (t[k].type == steps[2]) best = 3;
      }
    }
  }
  return best;
}

TEST_F(Journeys, OttoSampleEqualsAnIndependentComputation) {
  const std::string dir = cjd::testing::DatasetDir("otto-sample");
  if (dir.empty()) CJD_SKIP_WITHOUT_DATA("../shared/datasets/otto-sample is absent");
  const std::vector<Row> rows = ReadOtto(dir);
  ASSERT_EQ(rows.size(), 862u);

  // ---- what is sent, and the independent computation over it ----
  std::map<int, Timeline> visitors;
  json batch = json::array();
  std::map<std::pair<int, int64_t>, size_t> order_at;  // (session, ts) -> index in batch
  for (size_t i = 0; i < rows.size(); ++i) {
    const Row& r = rows[i];
    const std::string anon = "otto-" + std::to_string(r.session);
    json e = {{"event_id", "otto-row-" + std::to_string(i)},
              {"occurred_at", FormatRfc3339(r.ts)},
              {"customer", {{"anonymous_id", anon}}}};
    if (r.type == "orders") {
      auto it = order_at.find({r.session, r.ts});
      if (it != order_at.end()) {
        batch[it->second]["order"]["items"].push_back(
            {{"sku", r.aid}, {"quantity", 1}, {"unit_price", "1.00"}});
        continue;
      }
      e["type"] = "order_completed";
      e["order"] = {{"order_id", anon + "-" + std::to_string(r.ts)},
                    {"currency", "EUR"},
                    {"items", json::array({{{"sku", r.aid}, {"quantity", 1},
                                            {"unit_price", "1.00"}}})}};
      order_at[{r.session, r.ts}] = batch.size();
    } else {
      e["type"] = r.type == "clicks" ? "product_view" : "add_to_cart";
      e["properties"] = {{"sku", r.aid}};
    }
    visitors[r.session].push_back({r.session, r.ts, e["type"].get<std::string>()});
    batch.push_back(std::move(e));
  }
  for (auto& [s, t] : visitors) {
    std::stable_sort(t.begin(), t.end(),
                     [](const Sent& a, const Sent& b) { return a.ts < b.ts; });
  }
  // Sessions: split where the gap exceeds 30 minutes or the session reached 24 hours.
  struct Session {
    int64_t first, last;
    int events = 0, views = 0;
    bool order = false;
  };
  std::map<int, std::vector<Session>> sessions;
  for (const auto& [s, t] : visitors) {
    auto& list = sessions[s];
    for (const Sent& e : t) {
      if (list.empty() || e.ts - list.back().last > kGapMs || e.ts - list.back().first >= kCapMs) {
        list.push_back({e.ts, e.ts});
      }
      Session& cur = list.back();
      cur.last = e.ts;
      ++cur.events;
      if (e.type == "product_view") ++cur.views;
      if (e.type == "order_completed") cur.order = true;
    }
  }
  int64_t n_sessions = 0, bounced = 0, engaged = 0, converted = 0, views = 0, carts = 0,
          orders = 0, viewers = 0, carters = 0, carters_no_order = 0, buyers = 0;
  for (const auto& [s, list] : sessions) {
    for (const Session& x : list) {
      ++n_sessions;
      if (x.events == 1 && x.views == 1) ++bounced;
      if (x.last - x.first > 10'000 || x.order || x.views >= 2) ++engaged;
      if (x.order) ++converted;
    }
  }
  for (const auto& [s, t] : visitors) {
    bool v = false, c = false, o = false;
    for (const Sent& e : t) {
      v = v || e.type == "product_view";
      c = c || e.type == "add_to_cart";
      o = o || e.type == "order_completed";
      views += e.type == "product_view";
      carts += e.type == "add_to_cart";
      orders += e.type == "order_completed";
    }
    viewers += v;
    carters += c;
    carters_no_order += c && !o;
    buyers += o;
  }
  ASSERT_EQ(views, 800);
  ASSERT_EQ(carts, 52);

  // ---- the real hub ----
  Collect(batch);
  WaitJourneys(static_cast<int64_t>(batch.size()));

  const json m = Get("/v1/metrics/web");
  EXPECT_EQ(m["visitors"], 20);
  EXPECT_EQ(m["sessions"], n_sessions);
  EXPECT_EQ(m["product_views"], 800);
  EXPECT_EQ(m["page_views"], 0);
  EXPECT_EQ(m["add_to_carts"], 52);
  EXPECT_EQ(m["orders"], orders);
  EXPECT_DOUBLE_EQ(m["page_views_per_session"].get<double>(), 800.0 / n_sessions);
  EXPECT_DOUBLE_EQ(m["bounce_rate"].get<double>(), double(bounced) / n_sessions);
  EXPECT_DOUBLE_EQ(m["engagement_rate"].get<double>(), double(engaged) / n_sessions);
  EXPECT_DOUBLE_EQ(m["session_conversion_rate"].get<double>(), double(converted) / n_sessions);
  EXPECT_DOUBLE_EQ(m["add_to_cart_rate"].get<double>(), double(carters) / viewers);
  EXPECT_DOUBLE_EQ(m["cart_abandonment_rate"].get<double>(), double(carters_no_order) / carters);
  EXPECT_TRUE(m["checkout_abandonment_rate"].is_null());  // OTTO has no checkout step
  EXPECT_DOUBLE_EQ(m["conversion_rate"].get<double>(), double(buyers) / 20);
  // The daily series: product views and sessions per UTC day add up, day by day.
  std::map<std::string, int64_t> views_by_day, sessions_by_day;
  for (const auto& [s, t] : visitors) {
    for (const Sent& e : t) {
      if (e.type == "product_view") ++views_by_day[FormatRfc3339(e.ts).substr(0, 10)];
    }
  }
  for (const auto& [s, list] : sessions) {
    for (const Session& x : list) ++sessions_by_day[FormatRfc3339(x.first).substr(0, 10)];
  }
  std::map<std::string, int64_t> got_views, got_sessions;
  for (const json& d : m["daily"]) {
    if (d["product_views"].get<int64_t>() > 0) got_views[d["date"]] = d["product_views"];
    if (d["sessions"].get<int64_t>() > 0) got_sessions[d["date"]] = d["sessions"];
  }
  EXPECT_EQ(got_views, views_by_day);
  EXPECT_EQ(got_sessions, sessions_by_day);

  // Each visitor's sessions, as the hub cut them.
  for (const auto& [s, list] : sessions) {
    const int64_t id = ProfileOf("anonymous_id:otto-" + std::to_string(s));
    const json tl = Get("/v1/journeys/sessions?profile_id=" + std::to_string(id))["touches"];
    ASSERT_EQ(tl.size(), visitors[s].size()) << s;
    EXPECT_EQ(tl.back()["session"].get<size_t>() + 1, list.size()) << "visitor " << s;
  }

  // Funnels: view -> cart -> order in every order mode, by person and by session.
  for (const std::string order : {"sequential", "strict", "any"}) {
    for (int window_days : {1, 7}) {
      const int64_t window = window_days * kDayMs;
      std::vector<int64_t> want(3, 0), want_sessions(3, 0);
      for (const auto& [s, t] : visitors) {
        const int d = Depth(t, order, window);
        for (int k = 0; k < d; ++k) ++want[static_cast<size_t>(k)];
        // By session: the visitor's timeline cut at the session bounds.
        size_t at = 0;
        for (const Session& x : sessions[s]) {
          Timeline part;
          while (at < t.size() && t[at].ts <= x.last) part.push_back(t[at++]);
          const int ds = Depth(part, order, window);
          for (int k = 0; k < ds; ++k) ++want_sessions[static_cast<size_t>(k)];
        }
      }
      json q = {{"steps", {{{"type", "product_view"}}, {{"type", "add_to_cart"}},
                           {{"type", "order_completed"}}}},
                {"order", order},
                {"window_days", window_days}};
      const json got = Post("/v1/funnels/query", q);
      q["count_by"] = "session";
      const json got_s = Post("/v1/funnels/query", q);
      for (size_t k = 0; k < 3; ++k) {
        EXPECT_EQ(got["steps"][k]["count"], want[k]) << order << " " << window_days << " " << k;
        EXPECT_EQ(got_s["steps"][k]["count"], want_sessions[k])
            << order << " sessions " << window_days << " " << k;
      }
    }
  }
  // A step filtered on one article: the visitors who viewed it.
  std::set<int> viewed_it;
  const std::string aid = rows.front().aid;
  for (const Row& r : rows) {
    if (r.type == "clicks" && r.aid == aid) viewed_it.insert(r.session);
  }
  const json one = Post("/v1/funnels/query",
                        {{"steps", {{{"type", "product_view"}, {"where", {{"sku", aid}}}}}}});
  EXPECT_EQ(one["steps"][0]["count"], viewed_it.size());

  // cjdctl prints the same as tables.
  const std::string hub_url = "http://127.0.0.1:" + std::to_string(fleet_.hub_port());
  std::string out;
  ASSERT_EQ(cjd::testing::RunCommand({cjd::testing::CjdctlBinary(), "funnel", "--hub", hub_url,
                                      "--token", fleet_.hub_token(), "--step", "product_view",
                                      "--step", "add_to_cart", "--step", "order_completed",
                                      "--window-days", "7"},
                                     60s, &out),
            0)
      << out;
  const json seq7 = Post("/v1/funnels/query",
                         {{"steps", {{{"type", "product_view"}}, {{"type", "add_to_cart"}},
                                     {{"type", "order_completed"}}}},
                          {"window_days", 7}});
  for (size_t k = 0; k < 3; ++k) {
    const std::string name = std::to_string(k + 1) + " " +
                             std::vector<std::string>{"product_view", "add_to_cart",
                                                      "order_completed"}[k];
    const size_t row = out.find(name);
    ASSERT_NE(row, std::string::npos) << out;
    const std::string line = out.substr(row, out.find('\n', row) - row);
    EXPECT_NE(line.find(" " + seq7["steps"][k]["count"].dump() + " "), std::string::npos)
        << line;
  }
  ASSERT_EQ(cjd::testing::RunCommand({cjd::testing::CjdctlBinary(), "report", "web", "--hub",
                                      hub_url, "--token", fleet_.hub_token()},
                                     60s, &out),
            0)
      << out;
  auto value_of = [&](const std::string& key) {
    const size_t at = out.find("\n  " + key + " ");
    if (at == std::string::npos) return std::string("<missing>");
    const std::string line = out.substr(at + 1, out.find('\n', at + 1) - at - 1);
    return line.substr(line.find_last_of(' ') + 1);
  };
  EXPECT_EQ(value_of("product_views"), "800") << out;
  EXPECT_EQ(value_of("sessions"), std::to_string(n_sessions)) << out;
  // A bad step names the flag; a bad query the hub's field.
  EXPECT_EQ(cjd::testing::RunCommand({cjd::testing::CjdctlBinary(), "funnel", "--hub", hub_url,
                                      "--token", fleet_.hub_token(), "--step", "page_view:sku"},
                                     60s, &out),
            2);
  EXPECT_NE(out.find("--step 1"), std::string::npos) << out;
  EXPECT_EQ(cjd::testing::RunCommand({cjd::testing::CjdctlBinary(), "funnel", "--hub", hub_url,
                                      "--token", fleet_.hub_token(), "--step", "teleport"},
                                     60s, &out),
            1);
  EXPECT_NE(out.find("steps[0].type"), std::string::npos) << out;
}

TEST_F(Journeys, ALoginJoinsTheTimelinesAndALateStoreSaleIsPlacedByItsTime) {
  // An anonymous visitor browses on Monday evening...
  Collect(json::array(
      {{{"type", "product_view"}, {"occurred_at", "2026-03-02T18:00:00Z"},
        {"customer", {{"anonymous_id", "cookie-7"}}}, {"properties", {{"sku", "LAMP-1"}}}},
       {{"type", "add_to_cart"}, {"occurred_at", "2026-03-02T18:05:00Z"},
        {"customer", {{"anonymous_id", "cookie-7"}}}, {"properties", {{"sku", "LAMP-1"}}}},
       // ... and comes back on Thursday, logged in: one person from here on.
       {{"type", "identify"}, {"occurred_at", "2026-03-05T09:00:00Z"},
        {"customer", {{"anonymous_id", "cookie-7"}, {"email", "eve.berg@shop-mail.co.uk"}}}}}));
  WaitJourneys(3);
  // The store sale of Tuesday arrives on Friday (the store was offline), under a loyalty card
  // the hub has not seen: a profile of its own...
  Collect({{"type", "transaction"}, {"occurred_at", "2026-03-03T12:00:00+01:00"},
           {"store_id", "berlin-1"}, {"customer", {{"loyalty_id", "L-77"}}},
           {"order", {{"order_id", "S-1"}, {"currency", "EUR"},
                      {"items", {{{"sku", "LAMP-1"}, {"quantity", 1},
                                  {"unit_price", "49.90"}}}}}}});
  WaitJourneys(4);
  ASSERT_NE(ProfileOf("loyalty_id:L-77"), ProfileOf("email:eve.berg@shop-mail.co.uk"));
  // ... until she adds the card to her web account: the two profiles merge, and so do the
  // timelines (the change feed moves the sale's touch).
  Collect({{"type", "identify"}, {"occurred_at", "2026-03-05T10:00:00Z"},
           {"customer", {{"email", "eve.berg@shop-mail.co.uk"}, {"loyalty_id", "L-77"}}}});
  WaitJourneys(5);
  const int64_t id = ProfileOf("email:eve.berg@shop-mail.co.uk");
  ASSERT_EQ(ProfileOf("anonymous_id:cookie-7"), id);
  ASSERT_EQ(ProfileOf("loyalty_id:L-77"), id);
  json tl;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        tl = Get("/v1/journeys/sessions?profile_id=" + std::to_string(id))["touches"];
        return tl.size() == 5;
      },
      30s))
      << tl.dump();
  std::vector<std::string> types;
  for (const json& t : tl) types.push_back(t["type"]);
  EXPECT_EQ(types, (std::vector<std::string>{"product_view", "add_to_cart", "transaction",
                                             "identify", "identify"}));
  EXPECT_EQ(tl[2]["channel"], "store");
  EXPECT_EQ(tl[2]["date"], "2026-03-03");
  EXPECT_EQ(tl[0]["session"], tl[1]["session"]);
  EXPECT_NE(tl[2]["session"], tl[1]["session"]);

  // The web visit led to a store purchase: view -> cart -> transaction, across channels.
  const json f = Post("/v1/funnels/query",
                      {{"steps", {{{"type", "product_view"}, {"where", {{"sku", "LAMP-1"}}}},
                                  {{"type", "add_to_cart"}},
                                  {{"type", "transaction"}, {"where", {{"store_id", "berlin-1"}}}}}},
                       {"window_days", 7}});
  EXPECT_EQ(f["steps"][2]["count"], 1);
  EXPECT_DOUBLE_EQ(f["steps"][2]["median_seconds_to_convert"].get<double>(),
                   17.0 * 3600 - 5 * 60);  // 18:05Z Monday to 11:00Z Tuesday
  // Attribution of the 49.90: the web touches, one path with the store sale.
  const json a = Post("/v1/attribution/query", {{"models", {"linear", "last_touch"}}});
  EXPECT_EQ(a["currency"], "EUR");
  EXPECT_EQ(a["models"]["linear"]["channels"][0],
            (json{{"channel", "web"}, {"revenue", "49.90"}, {"conversions", 1.0}}));
  // The paths from the first product view, and the lifecycle of buyers.
  const json paths = Post("/v1/paths/query", {{"start", {{"type", "product_view"}}}, {"length", 3}});
  EXPECT_EQ(paths["paths"][0]["path"],
            json::array({"product_view", "add_to_cart", "transaction"}));
  const json life = Get("/v1/journeys/lifecycle?period=month&activity=order");
  EXPECT_EQ(life["periods"][0]["new"], 1);
  // Her journey stage: she bought (furthest "purchase"); nothing in the last 90 days of the
  // real clock, so no current stage. A segment rule can select on it.
  const json profile = Get("/v1/profiles/" + std::to_string(id));
  EXPECT_EQ(profile["journey_stage"]["furthest"], "purchase") << profile.dump();
  EXPECT_TRUE(profile["journey_stage"]["current"].is_null()) << profile.dump();
  Post("/v1/segments", {{"id", "bought-once"}, {"rule", "journey_stage_furthest = \"purchase\""}},
       201);
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        const json m = Get("/v1/segments/bought-once/members");
        return m.contains("members") && m["members"].size() == 1 &&
               m["members"][0]["profile_id"] == id;
      },
      30s))
      << Get("/v1/segments/bought-once/members").dump();
  const json stages = Get("/v1/journeys/stages?period=month");
  EXPECT_EQ(stages["furthest"]["purchase"], 1);
  EXPECT_EQ(stages["periods"].back()["reached"]["purchase"], 1);
  // Retention: first order in March.
  const json r = Get("/v1/retention?cohort=first_order_month&period=month");
  EXPECT_EQ(r["cohorts"], json::parse(R"([{"cohort": "2026-03", "customers": 1,
                                           "retained": [1]}])"));
}

TEST_F(Journeys, PainPointsRankAProfileAttributeAndNeverOnePersonsValue) {
  // 30 shoppers start checkout on the web. The 12 on the "invoice" payment plan (an attribute
  // of their profiles, sent by identify) never order; the others do. Nothing in the timelines
  // tells them apart. Three of those who drop share a rare "tier" (fewer than
  // kMinAttributeHolders persons), and everyone has a first name of their own: neither may
  // appear, as a factor would then describe a person rather than a group.
  json batch = json::array();
  for (int i = 0; i < 30; ++i) {
    const std::string email = "shopper" + std::to_string(i) + "@shop-mail.co.uk";
    const bool invoice = i < 12;
    json attributes = {{"plan", invoice ? "invoice" : "card"},
                       {"first_name", "Name" + std::to_string(i)}};
    if (i < 3) attributes["tier"] = "rare";
    char day[40];
    std::snprintf(day, sizeof day, "2026-03-%02dT10:", i % 28 + 1);
    batch.push_back({{"type", "identify"}, {"occurred_at", std::string(day) + "00:00Z"},
                     {"customer", {{"email", email}}}, {"attributes", attributes}});
    batch.push_back({{"type", "checkout_started"}, {"occurred_at", std::string(day) + "01:00Z"},
                     {"customer", {{"email", email}}}});
    if (!invoice) {
      batch.push_back({{"type", "order_completed"}, {"occurred_at", std::string(day) + "05:00Z"},
                       {"customer", {{"email", email}}},
                       {"order", {{"order_id", "W-" + std::to_string(i)}, {"currency", "EUR"},
                                  {"items", json::array({{{"sku", "SOFA"}, {"quantity", 1},
                                                          {"unit_price", "10.00"}}})}}}});
    }
  }
  Collect(batch);
  WaitJourneys(static_cast<int64_t>(batch.size()));
  const json q = {{"steps", {{{"type", "checkout_started"}}, {{"type", "order_completed"}}}},
                  {"pain_points", true}};
  const std::string analyst = fleet_.AddToken("analyst", "insight");
  ASSERT_FALSE(analyst.empty());
  for (const std::string& token : {fleet_.hub_token(), analyst}) {
    HttpResponse r = hub_->Post("/v1/funnels/query", q.dump(), token);
    ASSERT_EQ(r.status, 200) << r.body;
    const json pp = r.Json()["pain_points"];
    EXPECT_EQ(pp["worst"], json::parse(R"({"from_step": 1, "to_step": 2, "dropped": 12,
                                           "continued": 18})"));
    ASSERT_FALSE(pp["factors"].empty()) << pp.dump();
    EXPECT_EQ(pp["factors"][0]["feature"], "attributes.plan=invoice") << pp.dump();
    EXPECT_EQ(pp["factors"][0]["dropped_with"], 12);
    EXPECT_EQ(pp["factors"][0]["continued_with"], 0);
    EXPECT_NEAR(pp["factors"][0]["odds_ratio"].get<double>(), (12.5 / 0.5) / (0.5 / 18.5), 1e-9);
    for (const json& f : pp["factors"]) {
      const std::string feature = f["feature"];
      EXPECT_EQ(feature.find("first_name"), std::string::npos) << "one person's value: " << f;
      EXPECT_NE(feature, "attributes.tier=rare") << "held by 3 persons: " << f;
      EXPECT_NE(feature, "attributes.plan=card") << "only those who went on: " << f;
    }
  }
}

TEST_F(Journeys, BadQueriesNameTheFieldAndTheAnalystMayAsk) {
  auto field = [&](HttpResponse r) {
    EXPECT_EQ(r.status, 400) << r.body;
    return r.Json()["error"].value("field", "");
  };
  const std::string& t = fleet_.hub_token();
  EXPECT_EQ(field(hub_->Post("/v1/funnels/query", R"({"steps": []})", t)), "steps");
  EXPECT_EQ(field(hub_->Post("/v1/funnels/query",
                             R"({"steps": [{"type": "product_view"}, {"type": "teleport"}]})", t)),
            "steps[1].type");
  EXPECT_EQ(field(hub_->Post("/v1/funnels/query",
                             R"({"steps": [{"type": "page_view", "where": {"url": {}}}]})", t)),
            "steps[0].where.url");
  EXPECT_EQ(field(hub_->Post("/v1/funnels/query",
                             R"({"steps": [{"type": "page_view"}], "order": "random"})", t)),
            "order");
  EXPECT_EQ(field(hub_->Post("/v1/funnels/query",
                             R"({"steps": [{"type": "page_view"}], "window_days": 0})", t)),
            "window_days");
  EXPECT_EQ(field(hub_->Post("/v1/funnels/query",
                             R"({"steps": [{"type": "page_view"}], "from": "2026-02-30"})", t)),
            "from");
  EXPECT_EQ(field(hub_->Post("/v1/funnels/query",
                             R"({"steps": [{"type": "page_view"}], "colour": 1})", t)),
            "colour");
  EXPECT_EQ(field(hub_->Post("/v1/funnels/query", "{not json", t)), "body");
  EXPECT_EQ(field(hub_->Get("/v1/metrics/web?from=yesterday", t)), "from");
  EXPECT_EQ(field(hub_->Get("/v1/metrics/web?segment=nope", t)), "segment");
  EXPECT_EQ(field(hub_->Get("/v1/retention?cohort=first_visit", t)), "cohort");
  EXPECT_EQ(field(hub_->Get("/v1/retention?period=day", t)), "period");
  EXPECT_EQ(field(hub_->Post("/v1/attribution/query", R"({"models": ["magic"]})", t)),
            "models[0]");
  EXPECT_EQ(field(hub_->Post("/v1/attribution/query", R"({"first_share": 0.9, "last_share": 0.9})",
                             t)),
            "last_share");
  EXPECT_EQ(hub_->Get("/v1/funnels/query", t).status, 405);
  EXPECT_EQ(field(hub_->Post("/v1/paths/query", R"({"length": 3})", t)), "start");
  EXPECT_EQ(field(hub_->Post("/v1/paths/query", R"({"start": {"type": "page_view"}, "top": 0})",
                             t)),
            "top");
  EXPECT_EQ(field(hub_->Get("/v1/journeys/lifecycle?activity=sometimes", t)), "activity");

  // The analyst role asks questions (POST included) but changes nothing.
  const std::string analyst = fleet_.AddToken("analyst", "marketing");
  ASSERT_FALSE(analyst.empty());
  EXPECT_EQ(hub_->Post("/v1/funnels/query", R"({"steps": [{"type": "page_view"}]})", analyst)
                .status,
            200);
  EXPECT_EQ(hub_->Post("/v1/attribution/query", "{}", analyst).status, 200);
  EXPECT_EQ(hub_->Get("/v1/metrics/web", analyst).status, 200);
  EXPECT_EQ(hub_->Get("/v1/retention", analyst).status, 200);
  EXPECT_EQ(hub_->Post("/v1/segments", R"({"id": "x", "rule": "orders > 1"})", analyst).status,
            403);
}

}  // namespace
}  // namespace cjd::itest

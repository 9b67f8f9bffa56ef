// The dashboard (/ui/) in Debian's headless Chromium, driven over the DevTools protocol
// (tests/support/browser.h), against a real hub with a small fleet: sign-in by the URL fragment
// and by the form, each page showing exactly what the API answers, a device stopped shown
// offline with its alert, a segment created in the page present in the API, a bad rule's error
// shown at its position. Screenshots of every page are written to
// $CJD_BINARY_DIR/test-artifacts/dashboard/ (README: "Dashboard").
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/browser.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;
using cjd::testing::Browser;
using namespace std::chrono_literals;

std::filesystem::path ArtifactDir() {
  return std::filesystem::path(cjd::testing::BinaryDir()) / "test-artifacts" / "dashboard";
}

// A JavaScript string literal.
std::string Js(const std::string& s) { return json(s).dump(); }

class Dashboard : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto why = Browser::Unavailable(); !why.empty()) GTEST_SKIP() << why;
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub(/*offline_after_s=*/3);
    SetTomlKey(fleet_.hub_config(), "alerts", "offline_minutes", "0");
    key_ = fleet_.AddSource("webshop");
    fleet_.StartHub();
    hub_ = std::make_unique<HttpClient>(fleet_.hub_port(), 60s);
    browser_ = std::make_unique<Browser>(fleet_.dir().path() / "chromium-profile");
  }

  json Api(const std::string& path) {
    HttpResponse r = hub_->Get(path, fleet_.hub_token());
    EXPECT_EQ(r.status, 200) << path << ": " << r.body;
    return r.Json();
  }
  std::string Url(const std::string& fragment) {
    return "http://127.0.0.1:" + std::to_string(fleet_.hub_port()) + "/ui/" + fragment;
  }
  // The text of the first element matching `selector` (null when none).
  json Text(const std::string& selector) {
    return browser_->Eval("(() => { const e = document.querySelector(" + Js(selector) +
                          "); return e ? e.textContent : null; })()");
  }
  // Waits until the page `route` is rendered and no longer busy.
  void WaitPage(const std::string& route) {
    ASSERT_TRUE(browser_->WaitFor("document.querySelector('#page[data-page=" + route +
                                  "][aria-busy=false]')"))
        << route << ": " << browser_->Eval("document.body.innerText").dump()
        << "\nconsole: " << json(browser_->console()).dump();
  }
  void Go(const std::string& route) {
    browser_->Eval("location.hash = " + Js("#/" + route));
    WaitPage(route.substr(0, route.find('?')));
  }
  void Shot(const std::string& name) { browser_->Screenshot(ArtifactDir() / (name + ".png")); }
  // A tile shows the API's value: strings and integers as they are, other numbers equal.
  void ExpectTile(const std::string& field, const json& api) {
    SCOPED_TRACE(field);
    const json shown = Text("[data-field=" + field + "] .value");
    ASSERT_TRUE(shown.is_string()) << "no tile for " << field;
    const std::string text = shown.get<std::string>();
    if (api.is_null()) {
      EXPECT_EQ(text, "—");
    } else if (api.is_string()) {
      EXPECT_EQ(text, api.get<std::string>());
    } else if (api.is_number_integer()) {
      EXPECT_EQ(text, std::to_string(api.get<int64_t>()));
    } else {
      EXPECT_DOUBLE_EQ(std::stod(text), api.get<double>());
    }
  }

  Fleet fleet_;
  std::string key_;
  std::unique_ptr<HttpClient> hub_;
  std::unique_ptr<Browser> browser_;
};

TEST_F(Dashboard, EveryPageShowsWhatTheApiAnswers) {
  // A small chain: two tills in two stores, a web shop.
  FleetAgent& pos1 = fleet_.AddDevice("pos-1", "store-1", "pos");
  FleetAgent& pos2 = fleet_.AddDevice("pos-2", "store-2", "pos");
  ASSERT_TRUE(fleet_.StartAgent(pos1));
  ASSERT_TRUE(fleet_.StartAgent(pos2));
  HttpClient a1(pos1.port, 30s), a2(pos2.port, 30s);
  json events = json::array();
  for (int i = 0; i < 6; ++i) {
    json t = MakeTransaction(i % 2 ? "store-2" : "store-1");
    t["customer"] = {{"loyalty_id", "L-" + std::to_string(i % 3)}};
    t["occurred_at"] = "2026-0" + std::to_string(i % 3 + 1) + "-10T12:00:00Z";
    ASSERT_EQ(PostEvents(i % 2 ? a2 : a1, i % 2 ? pos2.token : pos1.token, t).status, 202);
  }
  HttpResponse c = hub_->Post(
      "/v1/collect",
      json::array({{{"type", "product_view"}, {"occurred_at", "2026-03-01T10:00:00Z"},
                    {"customer", {{"anonymous_id", "cookie-1"}}}, {"properties", {{"sku", "A"}}}},
                   {{"type", "add_to_cart"}, {"occurred_at", "2026-03-01T10:01:00Z"},
                    {"customer", {{"anonymous_id", "cookie-1"}}}, {"properties", {{"sku", "A"}}}},
                   {{"type", "page_view"}, {"occurred_at", "2026-03-01T11:00:00Z"},
                    {"customer", {{"anonymous_id", "cookie-2"}}}, {"properties", {{"url", "/"}}}}})
          .dump(),
      key_);
  ASSERT_EQ(c.status, 202) << c.body;
  ASSERT_TRUE(fleet_.WaitHubEventsTotal(9)) << fleet_.Diagnostics();
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        json s = fleet_.HubStats();
        return s["projection"]["events_applied"].get<int64_t>() >= 9 &&
               s["journeys"]["cursor"] == s["projection"]["cursor"];
      },
      60s));
  HttpResponse offer = hub_->Post(
      "/v1/offers",
      R"({"id": "spring", "title": "Spring sale", "text": "10% off", "segment": "all",
          "valid_from": "2026-01-01T00:00:00Z", "valid_until": "2030-01-01T00:00:00Z"})",
      fleet_.hub_token());
  ASSERT_EQ(offer.status, 201) << offer.body;
  // One till goes away: offline, with an alert ([alerts] offline_minutes = 0).
  fleet_.KillAgent(pos2);
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        json al = Api("/v1/alerts");
        return al["count"] == 1 && al["alerts"][0]["device_id"] == "pos-2";
      },
      60s))
      << Api("/v1/alerts").dump();

  // ---- sign-in through the fragment: the token leaves the address bar ----
  browser_->Navigate(Url("#token=" + fleet_.hub_token()));
  WaitPage("overview");
  const std::string href = browser_->Eval("location.href");
  EXPECT_EQ(href.find(fleet_.hub_token()), std::string::npos) << href;
  EXPECT_EQ(href.substr(href.find('#')), "#/overview");
  EXPECT_EQ(browser_->Eval("sessionStorage.getItem('cjd.token')"), fleet_.hub_token());

  // ---- overview: the customer metrics as GET /v1/metrics gives them ----
  const json m = Api("/v1/metrics");
  for (const char* f : {"customers", "orders", "revenue_gross", "revenue_net", "average_order_value",
                        "purchase_frequency", "repeat_purchase_rate", "repeat_customers",
                        "clv_gross", "clv_net", "new_customers"}) {
    ExpectTile(f, m[f]);
  }
  EXPECT_EQ(browser_->Eval("document.querySelectorAll('[data-chart=revenue_gross] rect').length"),
            m["monthly"].size());
  Shot("overview");
  // A period and a store, through the form.
  browser_->Eval("document.getElementById('f-from').value = '2026-02'");
  browser_->Eval("document.getElementById('f-store').value = 'store-1'");
  browser_->Eval("document.querySelector('form.filters button[type=submit]').click()");
  ASSERT_TRUE(browser_->WaitFor("location.hash.includes('store=store-1')"));
  WaitPage("overview");
  const json mf = Api("/v1/metrics?from=2026-02&store=store-1");
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('[data-field=orders] .value') && "
                                "document.querySelector('[data-field=orders] .value').textContent === " +
                                Js(std::to_string(mf["orders"].get<int64_t>()))));
  ExpectTile("revenue_gross", mf["revenue_gross"]);

  // ---- fleet: both tills, one offline, and its alert ----
  Go("fleet");
  ASSERT_TRUE(browser_->WaitFor("document.querySelectorAll('#devices tbody tr').length === 2"));
  EXPECT_EQ(Text("tr[data-device=pos-1] td[data-col=online]"), "online");
  EXPECT_EQ(Text("tr[data-device=pos-2] td[data-col=online]"), "offline");
  EXPECT_EQ(Text("tr[data-device=pos-2] td[data-col=store_id]"), "store-2");
  EXPECT_EQ(browser_->Eval("document.querySelectorAll('#alerts li[data-alert=device_offline]"
                           "[data-device=pos-2]').length"),
            1);
  // Filter by state, then sort by store, descending (click twice).
  browser_->Eval("(() => { const s = document.getElementById('fleet-state'); s.value = 'offline';"
                 " s.dispatchEvent(new Event('change')); })()");
  EXPECT_EQ(browser_->Eval("document.querySelectorAll('#devices tbody tr').length"), 1);
  browser_->Eval("(() => { const s = document.getElementById('fleet-state'); s.value = '';"
                 " s.dispatchEvent(new Event('change')); })()");
  browser_->Eval("document.querySelector('button[data-sort=store_id]').click()");
  browser_->Eval("document.querySelector('button[data-sort=store_id]').click()");
  EXPECT_EQ(Text("#devices tbody tr td[data-col=device_id]"), "pos-2");
  Shot("fleet");

  // ---- customers: a profile found by its identifier ----
  Go("customers?identifier=loyalty_id:L-1");
  const json p = Api("/v1/profiles?identifier=loyalty_id:L-1");
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('[data-field=orders] .value')"));
  ExpectTile("orders", p["traits"]["orders"]);
  ExpectTile("revenue_gross", p["traits"]["revenue_gross"]);
  EXPECT_EQ(Text("h2"), "Profile " + std::to_string(p["profile_id"].get<int64_t>()));
  EXPECT_EQ(browser_->Eval("[...document.querySelectorAll('td[data-col=value]')].map(e => e.textContent)"),
            json::array({"L-1"}));
  ASSERT_TRUE(p["segments"].is_array()) << p.dump();
  std::string segments;
  for (const json& id : p["segments"]) segments += (segments.empty() ? "" : ", ") + id.get<std::string>();
  EXPECT_EQ(Text("#profile-segments"), segments.empty() ? "In no segment." : segments);
  Shot("customers");

  // ---- segments: one created in the page is in the API; a bad rule's error at its place ----
  Go("segments");
  browser_->Eval("document.getElementById('s-id').value = 'regulars'");
  browser_->Eval("document.getElementById('s-rule').value = 'orders >= 2'");
  browser_->Eval("document.querySelector('#segment-form button[type=submit]').click()");
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('tr[data-segment=regulars]')"));
  EXPECT_EQ(Api("/v1/segments/regulars")["rule"], "orders >= 2");
  browser_->Eval("document.getElementById('s-id').value = 'broken'");
  browser_->Eval("document.getElementById('s-rule').value = 'orders >= 2 and ordrs < 5'");
  browser_->Eval("document.querySelector('#segment-form button[type=submit]').click()");
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('[data-error-field=rule]')"));
  HttpResponse bad = hub_->Post("/v1/segments", R"({"id": "broken", "rule": "orders >= 2 and ordrs < 5"})",
                                fleet_.hub_token());
  ASSERT_EQ(bad.status, 400);
  EXPECT_EQ(Text("[data-error-field=rule]"), bad.Json()["error"]["message"]);
  EXPECT_EQ(Text("pre.rule-error"), "orders >= 2 and ordrs < 5\n" + std::string(16, ' ') + "^");
  EXPECT_EQ(browser_->Eval("document.activeElement.id"), "s-rule");
  Shot("segments");

  // ---- offers, journeys, privacy ----
  Go("offers");
  const json st = Api("/v1/offers/spring/stats");
  EXPECT_EQ(Text("tr[data-offer=spring] td[data-col=impressions]"),
            std::to_string(st["impressions"].get<int64_t>()));
  Shot("offers");
  Go("journeys");
  const json w = Api("/v1/metrics/web");
  for (const char* f : {"visitors", "sessions", "page_views", "product_views", "bounce_rate",
                        "add_to_cart_rate", "cart_abandonment_rate", "conversion_rate"}) {
    ExpectTile(f, w[f]);
  }
  browser_->Eval("document.querySelector('#funnel-form button[type=submit]').click()");
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('#funnel-result td[data-col=count]')"));
  const json f = hub_->Post("/v1/funnels/query",
                            R"({"steps": [{"type": "product_view"}, {"type": "add_to_cart"},
                                          {"type": "checkout_started"}, {"type": "order_completed"}]})",
                            fleet_.hub_token())
                     .Json();
  EXPECT_EQ(Text("#funnel-result td[data-col=count]"),
            std::to_string(f["steps"][0]["count"].get<int64_t>()));
  Shot("journeys");
  Go("privacy");
  EXPECT_TRUE(browser_->WaitFor("document.querySelector('#page h2')"));
  Shot("privacy");

  // ---- sign out; sign in with the form, as an analyst ----
  browser_->Eval("document.getElementById('sign-out').click()");
  ASSERT_TRUE(browser_->WaitFor("!document.getElementById('sign-in').hidden"));
  EXPECT_TRUE(browser_->Eval("sessionStorage.getItem('cjd.token')").is_null());
  browser_->Eval("document.getElementById('token').value = 'not-a-token'");
  browser_->Eval("document.querySelector('#sign-in-form button').click()");
  ASSERT_TRUE(browser_->WaitFor("document.getElementById('sign-in-error').textContent !== ''"));
  Shot("sign-in");
  const std::string analyst = fleet_.AddToken("analyst", "marketing");
  browser_->Eval("document.getElementById('token').value = " + Js(analyst));
  browser_->Eval("document.querySelector('#sign-in-form button').click()");
  // Back on the page that was open (privacy), which the analyst may not read: it says so.
  WaitPage("privacy");
  EXPECT_NE(Text("#page .error").get<std::string>().find("403"), std::string::npos);
  Go("overview");
  ASSERT_TRUE(browser_->WaitFor("document.querySelector('[data-field=orders] .value')"));
  ExpectTile("orders", m["orders"]);
  // Keyboard and labels: Tab from the top reaches the skip link, then the navigation; every
  // control on every page has a label.
  for (const std::string route : {"overview", "fleet", "customers", "segments", "journeys"}) {
    Go(route);
    EXPECT_EQ(browser_->Eval("[...document.querySelectorAll('#page input, #page select, "
                             "#page textarea')].filter(e => e.labels.length === 0).map(e => e.id)"),
              json::array())
        << route;
  }
  browser_->Navigate("about:blank");  // then a fresh load (the token stays in the tab's storage)
  browser_->Navigate(Url("#/overview"));
  WaitPage("overview");
  auto press_tab = [&] {
    browser_->Call("Input.dispatchKeyEvent", {{"type", "keyDown"}, {"key", "Tab"}, {"code", "Tab"},
                                              {"windowsVirtualKeyCode", 9}});
    browser_->Call("Input.dispatchKeyEvent", {{"type", "keyUp"}, {"key", "Tab"}, {"code", "Tab"},
                                              {"windowsVirtualKeyCode", 9}});
  };
  press_tab();
  EXPECT_EQ(browser_->Eval("document.activeElement.className"), "skip")
      << browser_->Eval("document.activeElement.outerHTML.slice(0, 200)");
  press_tab();
  EXPECT_EQ(browser_->Eval("document.activeElement.getAttribute('href')"), "#/overview");

  // On a tablet (768 px wide): nothing wider than the screen but the tables' own scroll boxes.
  browser_->Call("Emulation.setDeviceMetricsOverride",
                 {{"width", 768}, {"height", 1024}, {"deviceScaleFactor", 1}, {"mobile", true}});
  for (const std::string route : {"overview", "fleet", "segments", "journeys"}) {
    Go(route);
    EXPECT_TRUE(browser_->Eval("document.documentElement.scrollWidth <= window.innerWidth"))
        << route << ": " << browser_->Eval("document.documentElement.scrollWidth").dump();
    Shot("tablet-" + route);
  }
  for (const std::string& line : browser_->console()) {
    EXPECT_EQ(line.rfind("exception", 0), std::string::npos) << line;
  }
}

TEST_F(Dashboard, FilesAreServedWithoutATokenAndLockedDown) {
  HttpResponse r = hub_->Get("/ui/");
  ASSERT_EQ(r.status, 200);
  EXPECT_NE(r.body.find("<title>CustomerJourneyData</title>"), std::string::npos);
  EXPECT_EQ(r.headers["content-type"], "text/html; charset=utf-8");
  EXPECT_NE(r.headers["content-security-policy"].find("script-src 'self'"), std::string::npos);
  EXPECT_EQ(r.headers["x-content-type-options"], "nosniff");
  EXPECT_EQ(hub_->Get("/ui/app.js").headers["content-type"], "text/javascript; charset=utf-8");
  HttpResponse redirect = hub_->Get("/ui");
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(redirect.headers["location"], "/ui/");
  EXPECT_EQ(hub_->Get("/ui/../hub.toml").status, 404);
  EXPECT_EQ(hub_->Get("/ui/nope.js").status, 404);
  EXPECT_EQ(hub_->Post("/ui/", "x", "").status, 405);
  // The API still wants its token.
  EXPECT_EQ(hub_->Get("/v1/metrics").status, 401);
}

}  // namespace
}  // namespace cjd::itest

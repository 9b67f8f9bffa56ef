// The dashboard over the whole UCI Online Retail set: `cjdctl import` into a real hub, then the
// overview and the retention table in headless Chromium show exactly what the API answers, and
// the time the overview took to render (from the navigation's start to every figure on the page,
// the page's own performance.now()) is printed -- README "Dashboard" quotes it; it is measured
// here, not asserted. Skips when ../shared/datasets/online-retail or Chromium is absent.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/browser.h"
#include "tests/support/datasets.h"
#include "tests/support/wait.h"
#include "tests/tools/import/test_util.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;
using cjd::testing::Browser;
using namespace std::chrono_literals;

TEST(DashboardOnlineRetail, OverviewAndRetentionShowTheApisFigures) {
  std::string why_not;
  const std::vector<std::string> files = import::testing::UciFiles(&why_not);
  if (files.empty()) CJD_SKIP_WITHOUT_DATA(why_not);
  if (auto why = Browser::Unavailable(); !why.empty()) GTEST_SKIP() << why;
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();

  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub();
  const std::string key = fleet.AddSource("uci");
  fleet.StartHub();
  std::vector<std::string> cmd = {cjd::testing::CjdctlBinary(), "import"};
  cmd.insert(cmd.end(), files.begin(), files.end());
  for (const std::string& a :
       {std::string("--hub"), "http://127.0.0.1:" + std::to_string(fleet.hub_port()),
        std::string("--token"), key, std::string("--map"),
        std::string("order_id=InvoiceNo,customer_id=CustomerID,occurred_at=InvoiceDate,"
                    "sku=StockCode,description=Description,quantity=Quantity,"
                    "unit_price=UnitPrice,country=Country"),
        std::string("--currency"), std::string("GBP"), std::string("--timezone"),
        std::string("Europe/London"), std::string("--source"), std::string("uci"),
        std::string("--quiet")}) {
    cmd.push_back(a);
  }
  std::string out;
  EXPECT_EQ(cjd::testing::RunCommand(cmd, 300s, &out), 1) << "two bad rows expected\n" << out;
  ASSERT_TRUE(fleet.WaitHubEventsTotal(25'900, 120s)) << out;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        json s = fleet.HubStats();
        return s["projection"]["cursor"].get<int64_t>() >= 25'900 &&
               s["journeys"]["cursor"] == s["projection"]["cursor"];
      },
      180s));

  HttpClient hub(fleet.hub_port(), 60s);
  const json m = hub.Get("/v1/metrics", fleet.hub_token()).Json();
  ASSERT_EQ(m["currency"], "GBP");
  Browser browser(fleet.dir().path() / "chromium-profile");
  const std::string base = "http://127.0.0.1:" + std::to_string(fleet.hub_port()) + "/ui/";
  browser.Navigate(base + "#token=" + fleet.hub_token());
  ASSERT_TRUE(browser.WaitFor("document.querySelector('#page[data-page=overview][aria-busy=false]')",
                              60s));
  for (const char* f : {"customers", "orders", "revenue_gross", "revenue_net", "average_order_value",
                        "repeat_customers", "clv_gross", "clv_net", "new_customers"}) {
    const json v = m[f];
    const std::string want = v.is_string() ? v.get<std::string>() : std::to_string(v.get<int64_t>());
    EXPECT_EQ(browser.Eval("document.querySelector('[data-field=" + std::string(f) +
                           "] .value').textContent"),
              want)
        << f;
  }
  for (const char* f : {"purchase_frequency", "repeat_purchase_rate"}) {
    const std::string text =
        browser.Eval("document.querySelector('[data-field=" + std::string(f) + "] .value').textContent");
    EXPECT_DOUBLE_EQ(std::stod(text), m[f].get<double>()) << f;
  }
  ASSERT_EQ(m["monthly"].size(), 13u);
  EXPECT_EQ(browser.Eval("[...document.querySelectorAll('[data-chart=revenue_gross] tbody "
                         "td[data-col=value]')].map(e => e.textContent)"),
            [&] {
              json a = json::array();
              for (const json& row : m["monthly"]) a.push_back(row["revenue_gross"]);
              return a;
            }());
  const json rendered = browser.Eval("Number(document.getElementById('page').dataset.renderedMs)");
  // Its baseline: the GET /v1/metrics call inside it (the browser's resource timing).
  const json api_ms = browser.Eval(
      "performance.getEntriesByType('resource').filter(e => new URL(e.name).pathname === "
      "'/v1/metrics').map(e => e.duration)[0]");
  std::printf("overview of Online Retail (%lld orders, %lld customers) rendered %lld ms after the "
              "navigation started; its GET /v1/metrics took %.1f ms of that\n",
              static_cast<long long>(m["orders"].get<int64_t>()),
              static_cast<long long>(m["customers"].get<int64_t>()),
              static_cast<long long>(rendered.get<double>()),
              api_ms.is_number() ? api_ms.get<double>() : -1.0);
  browser.Screenshot(std::filesystem::path(cjd::testing::BinaryDir()) / "test-artifacts" / "dashboard" /
                     "overview-online-retail.png");

  // The retention table: each cohort's size as the API gives it.
  const json r = hub.Get("/v1/retention?cohort=first_order_month&period=month", fleet.hub_token()).Json();
  browser.Eval("location.hash = '#/journeys'");
  ASSERT_TRUE(browser.WaitFor("document.querySelector('#page[data-page=journeys][aria-busy=false]')",
                              60s));
  json sizes = json::array();
  for (const json& c : r["cohorts"]) sizes.push_back(std::to_string(c["customers"].get<int64_t>()));
  EXPECT_EQ(browser.Eval("[...document.querySelectorAll('table[aria-label=Retention] "
                         "td[data-col=customers]')].map(e => e.textContent)"),
            sizes);
}

}  // namespace
}  // namespace cjd::itest

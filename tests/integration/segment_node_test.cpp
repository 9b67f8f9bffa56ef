// Segment's own Node.js client against the hub (issue 16): `@segment/analytics-node` (2.2.1,
// installed from the npm registry by tests/run.sh into $CJD_NPM_DIR) is pointed at a real hub
// with a collect source key as its write key and sends identify, page and track calls (the
// e-commerce spec's Product Added and Order Completed) exactly as it would to Segment. The
// profile, the order's exact revenue and the funnel steps are then read back through our API.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "tests/integration/fleet_fixture.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

constexpr const char* kScript = R"js(
const [host, writeKey, npmDir] = process.argv.slice(2);
const { Analytics } = require(npmDir + '/node_modules/@segment/analytics-node');
const analytics = new Analytics({ writeKey, host, flushAt: 50, flushInterval: 500, maxRetries: 2 });
analytics.on('error', (err) => { console.error('analytics error', err); process.exitCode = 2; });
analytics.identify({ userId: 'node-1', anonymousId: 'browser-7',
                     traits: { email: 'node.user@shop-mail.co.uk', firstName: 'Nora',
                               address: { city: 'York' } } });
analytics.page({ userId: 'node-1', name: 'Product', properties: { url: 'https://shop.test/p/1' } });
analytics.track({ userId: 'node-1', event: 'Product Added',
                  properties: { product_id: 'p-1', name: 'Teapot', price: 12.5 } });
analytics.track({ userId: 'node-1', event: 'Order Completed',
                  properties: { order_id: 'N-1', currency: 'EUR', revenue: 28.49,
                                products: [ { product_id: 'p-1', price: 12.5, quantity: 2 },
                                            { sku: 'c-9', price: 3.49, quantity: 1 } ] } });
analytics.closeAndFlush({ timeout: 20000 }).then(() => console.log('flushed'));
)js";

TEST(SegmentNode, TheRealAnalyticsNodeClientReachesProfilesOrdersAndFunnels) {
  const char* npm = std::getenv("CJD_NPM_DIR");
  if (npm == nullptr || !fs::exists(fs::path(npm) / "node_modules/@segment/analytics-node")) {
    GTEST_SKIP() << "@segment/analytics-node is not installed (tests/run.sh installs it from the "
                    "npm registry into build/npm and sets CJD_NPM_DIR)";
  }
  if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  Fleet fleet;
  fleet.StartBroker();
  fleet.InitHub();
  const std::string key = fleet.AddSource("webshop-node");
  fleet.StartHub();
  HttpClient hub(fleet.hub_port(), 60s);

  const fs::path script = fleet.dir().path() / "send.js";
  std::ofstream(script) << kScript;
  std::string out;
  const int rc = cjd::testing::RunCommand(
      {"node", script.string(), "http://127.0.0.1:" + std::to_string(fleet.hub_port()), key,
       fs::absolute(npm).string()},
      60s, &out);
  ASSERT_EQ(rc, 0) << out;
  EXPECT_NE(out.find("flushed"), std::string::npos) << out;

  ASSERT_TRUE(fleet.WaitHubEventsTotal(4)) << fleet.Diagnostics();
  json profile;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        profile = hub.Get("/v1/profiles?identifier=customer_id:node-1", fleet.hub_token()).Json();
        return profile.contains("traits") && profile["traits"]["orders"] == 1 &&
               profile["events"].size() == 4;
      },
      30s))
      << profile.dump();
  EXPECT_EQ(profile["attributes"]["first_name"], "Nora");
  EXPECT_EQ(profile["attributes"]["city"], "York");
  EXPECT_EQ(profile["traits"]["revenue_gross"], "28.49");  // 2 x 12.50 + 3.49, exact
  EXPECT_EQ(profile["traits"]["currency"], "EUR");
  EXPECT_EQ(hub.Get("/v1/profiles?identifier=email:node.user@shop-mail.co.uk", fleet.hub_token())
                .Json()["profile_id"],
            profile["profile_id"]);
  EXPECT_EQ(hub.Get("/v1/profiles?identifier=anonymous_id:browser-7", fleet.hub_token())
                .Json()["profile_id"],
            profile["profile_id"]);
  json funnel;
  ASSERT_TRUE(cjd::testing::WaitUntil(
      [&] {
        funnel = hub.Post("/v1/funnels/query",
                          json{{"steps",
                                {{{"type", "page_view"}},
                                 {{"type", "add_to_cart"}, {"where", {{"sku", "p-1"}}}},
                                 {{"type", "order_completed"}}}}}
                              .dump(),
                          fleet.hub_token())
                     .Json();
        return funnel.contains("steps") && funnel["steps"][2]["count"] == 1;
      },
      30s))
      << funnel.dump();
  EXPECT_EQ(funnel["steps"][0]["count"], 1);
  EXPECT_EQ(funnel["steps"][1]["count"], 1);
}

}  // namespace
}  // namespace cjd::itest

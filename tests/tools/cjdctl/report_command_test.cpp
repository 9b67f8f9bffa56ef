// cjdctl report: table rendering from a canned /v1/metrics document (the endpoint is not built
// yet), the query it sends, and its exit codes against a fake hub.
#include "tools/cjdctl/report_command.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>

#include "shared/event/json_exact.h"
#include "tests/support/ports.h"
#include "tests/tools/cjdctl/fake_hub.h"

namespace cjd::ctl {
namespace {

using testing::FakeHub;

const char* kMetrics = R"({
  "from": "2011-01-01", "to": "2011-12-01",
  "currency": "GBP",
  "customers": 4338, "orders": 18532,
  "revenue_gross": "8911407.90", "revenue_net": "8300065.81",
  "average_order_value": "480.87",
  "purchase_frequency": 4.271553, "repeat_purchase_rate": 0.6556,
  "clv_gross": "2054.27", "clv_net": "1913.34",
  "new_customers": 4338,
  "store_totals": {"orders": 19960, "revenue_gross": "10644560.42", "revenue_net": "9747747.93",
                   "returns_value": "896812.49", "anonymous_orders": 1428, "credit_notes": 3654},
  "monthly": [
    {"month": "2010-12", "customers": 948, "orders": 1400, "revenue_gross": "572713.89",
     "revenue_net": "554604.02", "new_customers": 948, "customer_growth_rate": null},
    {"month": "2011-01", "customers": 783, "orders": 987, "revenue_gross": "569445.04",
     "revenue_net": "475074.38", "new_customers": 421, "customer_growth_rate": 0.44409}
  ],
  "top_customers": [
    {"profile_id": 17, "identifiers": [{"type": "customer_id", "value": "14646"}],
     "orders": 73, "revenue_gross": "280206.02"},
    {"profile_id": 9, "identifiers": [{"type": "customer_id", "value": "18102"},
                                      {"type": "email", "value": "x@example.com"}],
     "orders": 60, "revenue_gross": "259657.30"}
  ]
})";

std::string Render(const std::string& text) {
  Result<nlohmann::json> j = ParseJsonExact(text);
  EXPECT_TRUE(j.ok()) << j.status().ToString();
  std::ostringstream out;
  Status st = RenderReport(*j, out);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return out.str();
}

TEST(Report, RendersTheSummaryBlockWithMoneyAsGiven) {
  const std::string out = Render(kMetrics);
  EXPECT_NE(out.find("Summary (from 2011-01-01, to 2011-12-01)\n"
                     "  currency                     GBP\n"
                     "  customers                   4338\n"
                     "  orders                     18532\n"
                     "  revenue_gross         8911407.90\n"
                     "  revenue_net           8300065.81\n"
                     "  average_order_value       480.87\n"
                     "  purchase_frequency        4.2716\n"
                     "  repeat_purchase_rate      0.6556\n"
                     "  clv_gross                2054.27\n"
                     "  clv_net                  1913.34\n"
                     "  new_customers               4338\n"
                     "\n"
                     "Store totals (all orders, anonymous ones included)\n"
                     "  orders                  19960\n"
                     "  revenue_gross     10644560.42\n"
                     "  revenue_net        9747747.93\n"
                     "  returns_value       896812.49\n"
                     "  anonymous_orders         1428\n"
                     "  credit_notes             3654\n"),
            std::string::npos)
      << out;
}

TEST(Report, RendersTheMonthlySeriesAlignedWithNullAsDash) {
  const std::string out = Render(kMetrics);
  EXPECT_NE(out.find("Monthly\n"
                     "  month    customers  orders  revenue_gross  revenue_net  new_customers  "
                     "customer_growth_rate\n"
                     "  2010-12        948    1400      572713.89    554604.02            948  "
                     "                   -\n"
                     "  2011-01        783     987      569445.04    475074.38            421  "
                     "              0.4441\n"),
            std::string::npos)
      << out;
}

TEST(Report, RendersTopCustomersWithTheirIdentifiers) {
  const std::string out = Render(kMetrics);
  EXPECT_NE(out.find("Top customers\n"
                     "  #  profile_id  orders  revenue_gross  identifiers\n"
                     "  1          17      73      280206.02  customer_id:14646\n"
                     "  2           9      60      259657.30  customer_id:18102, "
                     "email:x@example.com\n"),
            std::string::npos)
      << out;
}

TEST(Report, MissingPartsPrintAsDashesAndRatiosKeepTwoToFourDecimals) {
  const std::string out = Render(R"({"customers": 0, "purchase_frequency": 2, "repeat_purchase_rate": 0.5,
                                     "summary_only": true})");
  EXPECT_NE(out.find("  customers                0\n"
                     "  orders                   -\n"
                     "  revenue_gross            -\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  purchase_frequency    2.00\n"), std::string::npos) << out;  // a ratio
  EXPECT_NE(out.find("  repeat_purchase_rate  0.50\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  anonymous_orders  -\n"), std::string::npos) << out;
  EXPECT_NE(out.find("Monthly\n  month  customers"), std::string::npos) << out;  // header only
}

TEST(Report, MoneyGivenAsARawNumberKeepsItsText) {
  const std::string out = Render(R"({"revenue_gross": 12.105, "clv_net": 1e3})");
  EXPECT_NE(out.find("  revenue_gross         12.105\n"), std::string::npos) << out;
  EXPECT_NE(out.find("  clv_net                  1e3\n"), std::string::npos) << out;
}

TEST(Report, RejectsADocumentThatIsNotAnObject) {
  std::ostringstream out;
  EXPECT_FALSE(RenderReport(nlohmann::json::array(), out).ok());
}

TEST(Report, BuildsTheQueryWithEncodedValues) {
  ReportOptions o;
  EXPECT_EQ(MetricsTarget(o), "/v1/metrics");
  o.from = "2011-01";
  o.to = "2011-12-01";
  o.store = "store 42";
  o.channel = "web";
  o.currency = "GBP";
  o.top = 20;
  EXPECT_EQ(MetricsTarget(o),
            "/v1/metrics?from=2011-01&to=2011-12-01&store=store%2042&channel=web&currency=GBP&top=20");
}

TEST(Report, AsksTheHubAndPrintsTables) {
  FakeHub::Options fo;
  fo.metrics_body = kMetrics;
  FakeHub hub(fo);
  ReportOptions o;
  o.hub = hub.url();
  o.token = "admin-token";
  o.from = "2011-01-01";
  o.store = "s1";
  std::ostringstream out, err;
  EXPECT_EQ(RunReport(o, out, err), 0) << err.str();
  EXPECT_EQ(hub.last_metrics_target(), "/v1/metrics?from=2011-01-01&store=s1");
  EXPECT_NE(out.str().find("revenue_gross         8911407.90"), std::string::npos) << out.str();
  EXPECT_EQ(err.str(), "");
}

TEST(Report, JsonPrintsTheHubsBodyUnchanged) {
  FakeHub::Options fo;
  fo.metrics_body = kMetrics;
  FakeHub hub(fo);
  ReportOptions o;
  o.hub = hub.url();
  o.token = "admin-token";
  o.json = true;
  std::ostringstream out, err;
  EXPECT_EQ(RunReport(o, out, err), 0) << err.str();
  EXPECT_EQ(out.str(), std::string(kMetrics) + "\n");
}

TEST(Report, AnErrorAnswerPrintsTheHubsMessageAndExits1) {
  FakeHub hub({});
  ReportOptions o;
  o.hub = hub.url();
  o.token = "wrong";
  std::ostringstream out, err;
  EXPECT_EQ(RunReport(o, out, err), 1);
  EXPECT_NE(err.str().find("HTTP 401"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("admin token required"), std::string::npos) << err.str();
  EXPECT_EQ(out.str(), "");

  FakeHub::Options fo;
  fo.metrics_status = 400;
  fo.metrics_body = R"({"error":{"code":"invalid_query","message":"from must be before to","field":"from"}})";
  FakeHub bad(fo);
  o.hub = bad.url();
  o.token = "admin-token";
  err.str("");
  EXPECT_EQ(RunReport(o, out, err), 1);
  EXPECT_NE(err.str().find("from must be before to"), std::string::npos) << err.str();
}

TEST(Report, AnUnreachableHubExits1) {
  ReportOptions o;
  o.hub = "http://127.0.0.1:" + std::to_string(cjd::testing::FreeLoopbackPort());
  o.token = "t";
  o.timeout_ms = 2000;
  std::ostringstream out, err;
  EXPECT_EQ(RunReport(o, out, err), 1);
  EXPECT_NE(err.str().find("cannot reach the hub at " + o.hub), std::string::npos) << err.str();
}

TEST(Report, UsageErrorsExit2BeforeAskingTheHub) {
  std::ostringstream out, err;
  ReportOptions o;
  o.hub = "127.0.0.1:8080";
  o.token = "t";
  EXPECT_EQ(RunReport(o, out, err), 2);
  o.hub = "http://127.0.0.1:1";
  o.from = "2011/01/01";
  EXPECT_EQ(RunReport(o, out, err), 2);
  EXPECT_NE(err.str().find("--from"), std::string::npos) << err.str();
  for (const char* bad : {"2011-13", "2011-00", "2011-02-32", "2011-1", "11-01-01"}) {
    o.from = bad;
    EXPECT_EQ(RunReport(o, out, err), 2) << bad;
  }
  o.from = "";
  o.token = "";
  EXPECT_EQ(RunReport(o, out, err), 2);
}

}  // namespace
}  // namespace cjd::ctl

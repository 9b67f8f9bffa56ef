// cjdctl import of the whole UCI Online Retail set (13 .csv.gz files, 541,909 rows) into a fake
// /v1/collect that checks every event with the shared event schema: all events arrive exactly
// once, the only bad rows are the two negative prices, and the time taken is printed (this is
// the client side of the end-to-end aim; the real hub's share is measured by the lead's test).
// Skips with a message when ../shared/datasets/online-retail is absent.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "tests/tools/cjdctl/fake_hub.h"
#include "tests/tools/import/test_util.h"
#include "tools/cjdctl/import_command.h"
#include "tests/support/datasets.h"

namespace cjd::ctl {
namespace {

TEST(ImportDataset, WholeOnlineRetailSetArrivesExactlyOnce) {
  std::string why_not;
  const std::vector<std::string> files = import::testing::UciFiles(&why_not);
  if (files.empty()) CJD_SKIP_WITHOUT_DATA(why_not);

  testing::FakeHub hub({});
  ImportCommandOptions o;
  o.files = files;
  o.hub = hub.url();
  o.token = "src-key";
  o.map =
      "order_id=InvoiceNo,customer_id=CustomerID,occurred_at=InvoiceDate,sku=StockCode,"
      "description=Description,quantity=Quantity,unit_price=UnitPrice,country=Country";
  o.currency = "GBP";
  o.timezone = "Europe/London";
  o.source = "uci";
  o.quiet = true;
  std::ostringstream out, err;
  const auto start = std::chrono::steady_clock::now();
  const int code = RunImport(o, out, err);
  const double secs =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("%s", out.str().c_str());
  std::printf("UCI import into the fake hub (which validates every event): %.2f s, %d requests\n",
              secs, hub.collect_requests());

  EXPECT_EQ(code, 1) << "the two negative-price rows make it 1";
  const std::string s = out.str();
  EXPECT_NE(s.find("  rows                  541909\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  bad rows              2\n"), std::string::npos) << s;
  EXPECT_NE(s.find("  bad orders            0 "), std::string::npos) << s;
  EXPECT_NE(s.find("negative unit_price"), std::string::npos) << s;
  EXPECT_NE(err.str().find("A563186"), std::string::npos) << err.str();
  EXPECT_NE(err.str().find("A563187"), std::string::npos) << err.str();
  const auto accepted = hub.accepted();
  EXPECT_EQ(accepted.size(), 25'900u);
  EXPECT_NE(s.find("  events sent           25900 of 25900 built\n"), std::string::npos) << s;
  for (const auto& [id, n] : accepted) ASSERT_EQ(n, 1) << id;
}

}  // namespace
}  // namespace cjd::ctl

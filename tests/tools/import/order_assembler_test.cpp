// OrderAssembler and ImportFiles: grouping, parts and deterministic ids, bad rows dropping their
// order, event JSON (and its acceptance by the shared event schema).
#include "tools/cjdctl/import/order_assembler.h"

#include <gtest/gtest.h>

#include <set>
#include <string>
#include <vector>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/import/test_util.h"
#include "tools/cjdctl/import/importer.h"

namespace cjd::import {
namespace {

using cjd::testing::TempDir;
using testing::Collected;
using testing::RunImport;
using testing::TestOptions;

const char* kHeader =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
const char* kMap =
    "order_id=InvoiceNo,customer_id=CustomerID,occurred_at=InvoiceDate,sku=StockCode,"
    "description=Description,quantity=Quantity,unit_price=UnitPrice,country=Country";

// The shared schema knows "transaction", not "order_completed" or "properties" (yet): check the
// rest of an emitted event with ValidateEvent.
Status ValidateLikeTheHub(const std::string& json_text) {
  Result<nlohmann::json> j = ParseJsonExact(json_text);
  if (!j.ok()) return j.status();
  if ((*j)["type"] != "order_completed") return Status::Invalid("type");
  (*j)["type"] = "transaction";
  j->erase("properties");
  Result<Event> e = ValidateEvent(*j);
  return e.ok() ? Status::Ok() : e.status();
}

class AssemblerTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& rows) {
    const std::string path = dir_.Join(name).string();
    testing::WriteFile(path, kHeader + rows);
    return path;
  }
  Collected Import(const std::string& rows, AssemblerOptions options = TestOptions()) {
    path_ = Write("orders.csv", rows);
    Collected c = RunImport({path_}, kMap, options);
    EXPECT_TRUE(c.result.ok()) << c.result.status().ToString();
    return c;
  }
  TempDir dir_{"cjd-asm-"};
  std::string path_;
};

TEST_F(AssemblerTest, ConsecutiveRowsFormOneOrderAndEqualRowsStaySeparateLines) {
  const Collected c = Import(
      "536365,85123A,WHITE HANGING HEART T-LIGHT HOLDER,6,2010-12-01 08:26:00,2.55,17850,United "
      "Kingdom\n"
      "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n"
      "536365,71053,WHITE METAL LANTERN,6,2010-12-01 08:26:00,3.39,17850,United Kingdom\n"
      "536366,22633,HAND WARMER UNION JACK,6,2010-12-01 08:28:00,1.85,17850,United Kingdom\n");
  ASSERT_EQ(c.orders.size(), 2u);
  EXPECT_TRUE(c.bad.empty());
  const ImportedOrder& a = c.orders[0];
  EXPECT_EQ(a.order_id, "536365");
  EXPECT_EQ(a.event_id, "import:test:536365:0");
  ASSERT_EQ(a.items.size(), 3u);
  EXPECT_EQ(a.items[1].sku, "71053");
  EXPECT_EQ(a.items[2].sku, "71053");  // the same item twice: two lines
  EXPECT_EQ(a.items[2].line, 4);
  EXPECT_EQ(a.first_line, 2);
  EXPECT_EQ(c.orders[1].items.size(), 1u);
  EXPECT_EQ(c.result->stats.rows, 4);
  EXPECT_EQ(c.result->stats.events, 2);
  EXPECT_EQ(c.result->stats.lines, 4);
}

TEST_F(AssemblerTest, EventJsonShape) {
  const Collected c = Import(
      "536365,85123A,\"HEART \"\"T-LIGHT\"\", WHITE\",6,2010-12-01 08:26:00,2.55,17850,United "
      "Kingdom\n"
      "536365,POST,,-1,2010-12-01 08:26:00,0.001,17850,United Kingdom\n");
  ASSERT_EQ(c.json.size(), 1u);
  EXPECT_EQ(c.json[0],
            R"({"type":"order_completed","event_id":"import:test:536365:0",)"
            R"("occurred_at":"2010-12-01T08:26:00Z","store_id":"test","channel":"store",)"
            R"("customer":{"customer_id":"17850"},"order":{"order_id":"536365","currency":"GBP",)"
            R"("items":[{"sku":"85123A","quantity":6,"unit_price":"2.55",)"
            R"("description":"HEART \"T-LIGHT\", WHITE"},)"
            R"({"sku":"POST","quantity":-1,"unit_price":"0.001"}]},)"
            R"("properties":{"country":"United Kingdom"}})");
  EXPECT_TRUE(ValidateLikeTheHub(c.json[0]).ok()) << ValidateLikeTheHub(c.json[0]).ToString();
}

TEST_F(AssemblerTest, ExactPricesAndSummerTime) {
  const Collected c = Import(
      "550001,A,x,1,2011-06-01 10:00:00,165.001,,Spain\n"
      "550001,B,y,2,2011-06-01 10:00:00,1.50,,Spain\n"
      "550001,C,z,3,2011-06-01 10:00:00,+007.5,,Spain\n");
  ASSERT_EQ(c.orders.size(), 1u);
  const ImportedOrder& o = c.orders[0];
  EXPECT_EQ(o.occurred_at, "2011-06-01T10:00:00+01:00");
  EXPECT_EQ(FormatRfc3339(o.occurred_at_ms), "2011-06-01T09:00:00.000Z");
  EXPECT_EQ(o.items[0].unit_price.ToString(), "165.001");
  EXPECT_EQ(o.items[1].unit_price.ToString(), "1.50");
  EXPECT_EQ(o.items[2].unit_price.ToString(), "7.5");
  EXPECT_NE(c.json[0].find(R"("unit_price":"165.001")"), std::string::npos);
  EXPECT_NE(c.json[0].find(R"("unit_price":"1.50")"), std::string::npos);
}

TEST_F(AssemblerTest, AnonymousOrderHasNoCustomerObject) {
  const Collected c =
      Import("581219,22580,ADVENT CALENDAR,8,2011-12-08 09:28:00,4.13,,United Kingdom\n");
  ASSERT_EQ(c.orders.size(), 1u);
  EXPECT_TRUE(c.orders[0].customer.empty());
  EXPECT_EQ(c.json[0].find("\"customer\""), std::string::npos);
  EXPECT_TRUE(ValidateLikeTheHub(c.json[0]).ok());
}

TEST_F(AssemblerTest, CancellationInvoiceIsAnOrderWithNegativeQuantities) {
  const Collected c = Import(
      "C536379,D,Discount,-1,2010-12-01 09:41:00,27.50,14527,United Kingdom\n"
      "C536379,22556,PLASTERS IN TIN,-12,2010-12-01 09:41:00,1.65,14527,United Kingdom\n");
  ASSERT_EQ(c.orders.size(), 1u);
  EXPECT_EQ(c.orders[0].order_id, "C536379");
  EXPECT_EQ(c.orders[0].event_id, "import:test:C536379:0");
  EXPECT_EQ(c.orders[0].items[0].quantity, -1);
  EXPECT_EQ(c.orders[0].items[1].quantity, -12);
  EXPECT_NE(c.json[0].find(R"("type":"order_completed")"), std::string::npos);
  EXPECT_TRUE(ValidateLikeTheHub(c.json[0]).ok());
}

TEST_F(AssemblerTest, NonAdjacentReappearanceIsASecondPartWithItsOwnId) {
  const Collected c = Import(
      "542806,48194,DOORMAT HEARTS,1,2011-02-01 11:19:00,7.95,12836,United Kingdom\n"
      "C542805,22156,HEART DECORATION,-1,2011-02-01 11:19:00,0.85,14606,United Kingdom\n"
      "542806,22692,DOORMAT WELCOME,2,2011-02-01 11:20:00,7.95,12836,United Kingdom\n"
      "542806,22788,COAT RACK,2,2011-02-01 11:20:00,9.95,12836,United Kingdom\n");
  ASSERT_EQ(c.orders.size(), 3u);
  EXPECT_EQ(c.orders[0].event_id, "import:test:542806:0");
  EXPECT_EQ(c.orders[1].event_id, "import:test:C542805:0");
  EXPECT_EQ(c.orders[2].event_id, "import:test:542806:1");
  EXPECT_EQ(c.orders[2].part, 1u);
  EXPECT_EQ(c.orders[2].order_id, "542806");
  EXPECT_EQ(c.orders[2].items.size(), 2u);
  EXPECT_EQ(c.orders[2].occurred_at, "2011-02-01T11:20:00Z");
  EXPECT_EQ(c.result->stats.reappeared_runs, 1);
}

TEST_F(AssemblerTest, IdsAreDeterministicAcrossRuns) {
  const std::string rows =
      "1,A,a,1,2011-01-01 10:00:00,1.00,100,UK\n"
      "2,B,b,1,2011-01-01 10:00:00,1.00,,UK\n"
      "1,C,c,1,2011-01-01 10:00:00,1.00,100,UK\n"
      "3,D,d,-1,2011-01-01 10:00:00,1.00,100,UK\n";
  const Collected first = Import(rows);
  const Collected second = Import(rows);
  ASSERT_EQ(first.json.size(), 4u);
  EXPECT_EQ(first.json, second.json);
  std::set<std::string> ids;
  for (const ImportedOrder& o : first.orders) ids.insert(o.event_id);
  EXPECT_EQ(ids.size(), 4u);
}

TEST_F(AssemblerTest, ABadRowDropsItsWholeOrderAndIsReportedWithFileLineAndField) {
  const Collected c = Import(
      "1,A,a,1,2011-01-01 10:00:00,1.00,100,UK\n"    // line 2
      "1,B,b,x,2011-01-01 10:00:00,1.00,100,UK\n"    // line 3: bad quantity
      "1,C,c,1,2011-01-01 10:00:00,1.00,100,UK\n"    // line 4
      "1,D,d,1,2011-01-01 10:00:00,-2.00,100,UK\n"   // line 5: negative price
      "2,E,e,1,2011-01-01 10:00:00,1.00,100,UK\n");  // line 6: another order, fine
  ASSERT_EQ(c.orders.size(), 1u);
  EXPECT_EQ(c.orders[0].order_id, "2");
  ASSERT_EQ(c.bad.size(), 2u);
  EXPECT_EQ(c.bad[0].file, path_);
  EXPECT_EQ(c.bad[0].line, 3);
  EXPECT_EQ(c.bad[0].field, "quantity");
  EXPECT_EQ(c.bad[0].column, "Quantity");
  EXPECT_EQ(c.bad[0].order_id, "1");
  EXPECT_NE(c.bad[0].message.find("not an integer"), std::string::npos);
  EXPECT_EQ(c.bad[1].line, 5);
  EXPECT_EQ(c.bad[1].field, "unit_price");
  EXPECT_NE(c.bad[1].message.find("is negative"), std::string::npos) << c.bad[1].message;
  EXPECT_EQ(c.bad[0].ToString(),
            path_ + ":3: quantity (column Quantity): is not an integer: \"x\" [order 1]");
  const AssemblerStats& s = c.result->stats;
  EXPECT_EQ(s.rows, 5);
  EXPECT_EQ(s.bad_rows, 2);
  EXPECT_EQ(s.dropped_rows, 2);  // lines 2 and 4
  EXPECT_EQ(s.dropped_runs, 1);
  EXPECT_EQ(s.events, 1);
}

TEST_F(AssemblerTest, KindsOfBadRows) {
  struct Case {
    const char* row;
    const char* field;
    const char* message_part;
  };
  const Case cases[] = {
      {"1,A,a,0,2011-01-01 10:00:00,1.00,100,UK\n", "quantity", "is 0"},
      {"1,A,a,1.5,2011-01-01 10:00:00,1.00,100,UK\n", "quantity", "not an integer"},
      {"1,A,a,2000000,2011-01-01 10:00:00,1.00,100,UK\n", "quantity", "outside"},
      {"1,A,a,,2011-01-01 10:00:00,1.00,100,UK\n", "quantity", "is empty"},
      {"1,A,a,1,2011-01-01 10:00:00,1.0.0,100,UK\n", "unit_price", "not a decimal"},
      {"1,A,a,1,2011-01-01 10:00:00,1e3,100,UK\n", "unit_price", "not a decimal"},
      {"1,A,a,1,2011-01-01 10:00:00,0.0000000001,100,UK\n", "unit_price", "decimals"},
      {"1,A,a,1,2011-01-01 10:00:00,,100,UK\n", "unit_price", "is empty"},
      {"1,A,a,1,2011-02-30 10:00:00,1.00,100,UK\n", "occurred_at", "not a valid date"},
      {"1,A,a,1,01/02/2011 10:00,1.00,100,UK\n", "occurred_at", "not a date-time"},
      {"1,A,a,1,,1.00,100,UK\n", "occurred_at", "is empty"},
      {"1,,a,1,2011-01-01 10:00:00,1.00,100,UK\n", "sku", "is empty"},
      {"1,A,a\x01,1,2011-01-01 10:00:00,1.00,100,UK\n", "description", "control character"},
      {"1,A,caf\xC3,1,2011-01-01 10:00:00,1.00,100,UK\n", "description", "UTF-8"},
      {"1,A,a,1,2011-01-01 10:00:00,1.00,100\n", "", "has 7 fields; the header has 8"},
      {",A,a,1,2011-01-01 10:00:00,1.00,100,UK\n", "order_id", "is empty"},
  };
  for (const Case& k : cases) {
    const Collected c = Import(k.row);
    EXPECT_TRUE(c.orders.empty()) << k.row;
    ASSERT_EQ(c.bad.size(), 1u) << k.row;
    EXPECT_EQ(c.bad[0].field, k.field) << k.row;
    EXPECT_EQ(c.bad[0].line, 2) << k.row;
    EXPECT_NE(c.bad[0].message.find(k.message_part), std::string::npos)
        << k.row << " -> " << c.bad[0].message;
  }
}

TEST_F(AssemblerTest, EmptyDescriptionAndZeroPriceAreFine) {
  const Collected c = Import("1,A,,1,2011-01-01 10:00:00,0,,UK\n");
  ASSERT_EQ(c.orders.size(), 1u);
  EXPECT_TRUE(c.bad.empty());
  EXPECT_EQ(c.json[0].find("description"), std::string::npos);
  EXPECT_TRUE(ValidateLikeTheHub(c.json[0]).ok());
}

TEST_F(AssemblerTest, ConflictingCustomerWithinAnOrderIsABadRow) {
  const Collected c = Import(
      "1,A,a,1,2011-01-01 10:00:00,1.00,,UK\n"
      "1,B,b,1,2011-01-01 10:00:00,1.00,100,UK\n"    // fills the empty customer: fine
      "1,C,c,1,2011-01-01 10:00:00,1.00,200,UK\n");  // differs: bad
  EXPECT_TRUE(c.orders.empty());
  ASSERT_EQ(c.bad.size(), 1u);
  EXPECT_EQ(c.bad[0].field, "customer_id");
  EXPECT_EQ(c.bad[0].line, 4);
  EXPECT_NE(c.bad[0].message.find("\"100\" on line 3"), std::string::npos) << c.bad[0].message;
}

TEST_F(AssemblerTest, DroppedRunsStillConsumeTheirPartNumbers) {
  // Order 1 appears twice; its first run is bad. Fixing it later and importing again must give
  // the second run the same id as now.
  const std::string bad_rows =
      "1,A,a,x,2011-01-01 10:00:00,1.00,100,UK\n"
      "2,B,b,1,2011-01-01 10:00:00,1.00,100,UK\n"
      "1,C,c,1,2011-01-01 10:00:00,1.00,100,UK\n";
  const Collected broken = Import(bad_rows);
  ASSERT_EQ(broken.orders.size(), 2u);
  EXPECT_EQ(broken.orders[1].event_id, "import:test:1:1");
  const Collected fixed = Import(
      "1,A,a,1,2011-01-01 10:00:00,1.00,100,UK\n"
      "2,B,b,1,2011-01-01 10:00:00,1.00,100,UK\n"
      "1,C,c,1,2011-01-01 10:00:00,1.00,100,UK\n");
  ASSERT_EQ(fixed.orders.size(), 3u);
  EXPECT_EQ(fixed.orders[0].event_id, "import:test:1:0");
  EXPECT_EQ(fixed.json[1], broken.json[0]);  // order 2: same event
  EXPECT_EQ(fixed.json[2], broken.json[1]);  // order 1, part 1: same event
}

TEST_F(AssemblerTest, LongOrdersAreSplitIntoPartsOfAtMostMaxItems) {
  std::string rows;
  for (int i = 0; i < 1114; ++i) {
    rows += "581219,SKU" + std::to_string(i) + ",d,1,2011-12-08 09:28:00,1.00,,United Kingdom\n";
  }
  const Collected c = Import(rows);
  ASSERT_EQ(c.orders.size(), 2u);
  EXPECT_EQ(c.orders[0].event_id, "import:test:581219:0");
  EXPECT_EQ(c.orders[0].items.size(), 1000u);
  EXPECT_EQ(c.orders[1].event_id, "import:test:581219:1");
  EXPECT_EQ(c.orders[1].items.size(), 114u);
  EXPECT_EQ(c.orders[1].items.front().sku, "SKU1000");
  EXPECT_TRUE(ValidateLikeTheHub(c.json[0]).ok()) << ValidateLikeTheHub(c.json[0]).ToString();
}

TEST_F(AssemblerTest, VeryLongRunsAreSentEarlyAndABadRowThenDropsOnlyTheRest) {
  AssemblerOptions options = TestOptions();
  options.max_items_per_event = 2;
  options.max_buffered_lines = 4;
  std::string rows;
  for (int i = 0; i < 7; ++i) {
    rows += "9,S" + std::to_string(i) + ",d,1,2011-01-01 10:00:00,1.00,,UK\n";
  }
  rows += "9,S7,d,oops,2011-01-01 10:00:00,1.00,,UK\n";
  rows += "10,S8,d,1,2011-01-01 10:00:00,1.00,,UK\n";
  const Collected c = Import(rows, options);
  // Lines 0-3 went out as parts 0 and 1 when the buffer filled; 4-6 and the bad row were
  // dropped; order 10 is next.
  ASSERT_EQ(c.orders.size(), 3u);
  EXPECT_EQ(c.orders[0].event_id, "import:test:9:0");
  EXPECT_EQ(c.orders[1].event_id, "import:test:9:1");
  EXPECT_EQ(c.orders[1].items.back().sku, "S3");
  EXPECT_EQ(c.orders[2].order_id, "10");
  EXPECT_EQ(c.result->stats.dropped_rows, 3);
  EXPECT_EQ(c.result->stats.bad_rows, 1);
}

TEST_F(AssemblerTest, OrderIdsAreEscapedIntoEventIds) {
  EXPECT_EQ(EncodeIdPart("A563186"), "A563186");
  EXPECT_EQ(EncodeIdPart("A/1:x.y z"), "A.2F1.3Ax.2Ey.20z");
  EXPECT_EQ(EncodeIdPart("é"), ".C3.A9");
  const Collected c = Import("\"POS:12/3\",A,a,1,2011-01-01 10:00:00,1.00,,UK\n");
  ASSERT_EQ(c.orders.size(), 1u);
  EXPECT_EQ(c.orders[0].event_id, "import:test:POS.3A12.2F3:0");
  EXPECT_EQ(c.orders[0].order_id, "POS:12/3");
  EXPECT_TRUE(ValidateLikeTheHub(c.json[0]).ok());
}

TEST_F(AssemblerTest, StoreChannelCurrencyAndIdentifiersFromColumns) {
  const std::string path = dir_.Join("full.csv").string();
  testing::WriteFile(
      path,
      "Order,When,Sku,Qty,Price,Store,Chan,Cur,Mail,Tel,Card,Cat\n"
      "o1,2011-01-01T10:00:00+02:00,A,1,9.99,S7,web,EUR,a@b.example,+44 20 7946 0000,L1,Toys\n"
      "o1,2011-01-01T10:00:00+02:00,B,1,1.00,,,,,,,\n"
      "o2,2011-01-01T11:00:00Z,C,1,5.00,,,,,,,\n");
  AssemblerOptions options = TestOptions(/*london=*/false);
  options.currency.clear();
  Collected c = RunImport({path},
                          "order_id=Order,occurred_at=When,sku=Sku,quantity=Qty,unit_price=Price,"
                          "store_id=Store,channel=Chan,currency=Cur,email=Mail,phone=Tel,"
                          "loyalty_id=Card,category=Cat",
                          options);
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString();
  ASSERT_EQ(c.orders.size(), 1u);  // o2 has no currency and there is no --currency
  ASSERT_EQ(c.bad.size(), 1u);
  EXPECT_EQ(c.bad[0].field, "currency");
  const ImportedOrder& o = c.orders[0];
  EXPECT_EQ(o.store_id, "S7");
  EXPECT_EQ(o.channel, "web");
  EXPECT_EQ(o.currency, "EUR");
  EXPECT_EQ(o.customer.email, "a@b.example");
  EXPECT_EQ(o.customer.loyalty_id, "L1");
  EXPECT_EQ(o.occurred_at, "2011-01-01T10:00:00+02:00");
  EXPECT_EQ(o.items[0].category, "Toys");
  EXPECT_TRUE(ValidateLikeTheHub(c.json[0]).ok()) << ValidateLikeTheHub(c.json[0]).ToString();
}

TEST_F(AssemblerTest, NaiveTimesWithoutTimezoneAreBadRows) {
  const Collected c = Import("1,A,a,1,2011-01-01 10:00:00,1.00,,UK\n", TestOptions(false));
  EXPECT_TRUE(c.orders.empty());
  ASSERT_EQ(c.bad.size(), 1u);
  EXPECT_NE(c.bad[0].message.find("no --timezone"), std::string::npos);
}

TEST_F(AssemblerTest, CreateChecksOptions) {
  Result<FieldMap> map = ParseFieldMap(kMap);
  ASSERT_TRUE(map.ok());
  const auto sink = [](const ImportedOrder&) { return Status::Ok(); };
  AssemblerOptions o = TestOptions(false);
  EXPECT_TRUE(OrderAssembler::Create(o, *map, sink, {}).ok());
  o.source = "has:colon";
  EXPECT_FALSE(OrderAssembler::Create(o, *map, sink, {}).ok());
  o.source = "";
  EXPECT_FALSE(OrderAssembler::Create(o, *map, sink, {}).ok());
  o = TestOptions(false);
  o.currency = "gbp";
  Result<OrderAssembler> bad_currency = OrderAssembler::Create(o, *map, sink, {});
  ASSERT_FALSE(bad_currency.ok());
  EXPECT_NE(bad_currency.status().message().find("--currency"), std::string::npos);
  o.currency.clear();
  Result<OrderAssembler> no_currency = OrderAssembler::Create(o, *map, sink, {});
  ASSERT_FALSE(no_currency.ok());
  EXPECT_NE(no_currency.status().message().find("--currency is required"), std::string::npos);
}

TEST_F(AssemblerTest, FreeTextLineBreaksBecomeSpaces) {
  const Collected c = Import("1,A,\"two\nlines\",1,2011-01-01 10:00:00,1.00,,UK\n");
  ASSERT_EQ(c.orders.size(), 1u);
  EXPECT_EQ(c.orders[0].items[0].description, "two lines");
  EXPECT_TRUE(ValidateLikeTheHub(c.json[0]).ok());
}

TEST_F(AssemblerTest, SinkErrorStopsTheImport) {
  const std::string path = Write("s.csv",
                                 "1,A,a,1,2011-01-01 10:00:00,1.00,,UK\n"
                                 "2,A,a,1,2011-01-01 10:00:00,1.00,,UK\n"
                                 "3,A,a,1,2011-01-01 10:00:00,1.00,,UK\n");
  Result<FieldMap> map = ParseFieldMap(kMap);
  int calls = 0;
  Result<ImportResult> r =
      ImportFiles({path}, *map, TestOptions(),
                  [&](const ImportedOrder&) {
                    return ++calls == 2 ? Status(Code::kUnavailable, "hub down") : Status::Ok();
                  },
                  {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "hub down");
  EXPECT_EQ(calls, 2);
}

// ---- ImportFiles over several files ----------------------------------------------------------

TEST_F(AssemblerTest, HeadersAreCheckedBeforeAnythingIsEmitted) {
  const std::string good = Write("good.csv", "1,A,a,1,2011-01-01 10:00:00,1.00,,UK\n");
  const std::string other = dir_.Join("other.csv").string();
  testing::WriteFile(other, "Id,Sku\n1,A\n");
  const Collected c = RunImport({good, other}, kMap, TestOptions());
  ASSERT_FALSE(c.result.ok());
  EXPECT_NE(c.result.status().message().find("is not in the header of " + other), std::string::npos)
      << c.result.status().message();
  EXPECT_TRUE(c.orders.empty());
}

TEST_F(AssemblerTest, TheSameFileTwiceIsRefused) {
  const std::string good = Write("good.csv", "1,A,a,1,2011-01-01 10:00:00,1.00,,UK\n");
  const Collected c = RunImport({good, good}, kMap, TestOptions());
  ASSERT_FALSE(c.result.ok());
  EXPECT_NE(c.result.status().message().find("given twice"), std::string::npos);
}

TEST_F(AssemblerTest, ABrokenFileIsReportedAndTheOthersAreStillRead) {
  const std::string a = Write("a.csv", "1,A,a,1,2011-01-01 10:00:00,1.00,,UK\n");
  const std::string b = Write("b.csv",
                              "2,A,a,1,2011-01-01 10:00:00,1.00,,UK\n"
                              "3,A,\"never closed,1,2011-01-01 10:00:00,1.00,,UK\n");
  const std::string gz = dir_.Join("c.csv.gz").string();
  testing::WriteGzip(gz, std::string(kHeader) +
                             "4,A,a,1,2011-01-01 10:00:00,1.00,,UK\n"
                             "4,B,b,2,2011-01-01 10:00:00,1.00,,UK\n");
  const Collected c = RunImport({a, b, gz}, kMap, TestOptions());
  ASSERT_TRUE(c.result.ok()) << c.result.status().ToString();
  ASSERT_EQ(c.result->file_errors.size(), 1u);
  EXPECT_NE(c.result->file_errors[0].message().find(b + ":3: unterminated"), std::string::npos)
      << c.result->file_errors[0].message();
  // 1 and 4. Order 2 was the run in progress when b.csv broke: it is dropped, since the rows that
  // could not be read might have belonged to it.
  ASSERT_EQ(c.orders.size(), 2u);
  EXPECT_EQ(c.orders[0].order_id, "1");
  EXPECT_EQ(c.orders[1].order_id, "4");
  EXPECT_EQ(c.orders[1].items.size(), 2u);
  EXPECT_EQ(c.orders[1].file, gz);
  EXPECT_EQ(c.result->stats.dropped_runs, 1);
  EXPECT_EQ(c.result->stats.dropped_rows, 1);
  EXPECT_EQ(c.result->files_read, 2);
}

TEST_F(AssemblerTest, OrdersDoNotSpanFiles) {
  const std::string a = Write("a.csv", "7,A,a,1,2011-01-01 10:00:00,1.00,,UK\n");
  const std::string b = Write("b.csv", "7,B,b,1,2011-01-01 10:00:00,1.00,,UK\n");
  const Collected c = RunImport({a, b}, kMap, TestOptions());
  ASSERT_EQ(c.orders.size(), 2u);
  EXPECT_EQ(c.orders[0].event_id, "import:test:7:0");
  EXPECT_EQ(c.orders[1].event_id, "import:test:7:1");
  EXPECT_EQ(c.result->stats.reappeared_runs, 1);
}

}  // namespace
}  // namespace cjd::import

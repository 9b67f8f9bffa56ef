// cjdctl import end to end against a fake /v1/collect (tests/tools/cjdctl/fake_hub.h) on
// 127.0.0.1: every good order arrives exactly once, re-import adds nothing, an order the hub
// rejects is reported and costs no other order, retries, the bound, 401, and exit codes.
#include "tools/cjdctl/import_command.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "tests/support/ports.h"
#include "tests/support/temp_dir.h"
#include "tests/tools/cjdctl/fake_hub.h"

namespace cjd::ctl {
namespace {

using namespace std::chrono_literals;
using cjd::testing::TempDir;
using testing::FakeHub;

const char* kMap =
    "order_id=InvoiceNo,customer_id=CustomerID,occurred_at=InvoiceDate,sku=StockCode,"
    "description=Description,quantity=Quantity,unit_price=UnitPrice,country=Country";

// `orders` orders "5000000".. of 3 lines each; order numbers in `bad_ids` get order id "BAD";
// the order number `negative` (if any) gets a negative price on its second line.
std::string Csv(int orders, std::vector<int> bad_ids = {}, int negative = -1) {
  std::string s = "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
  for (int o = 0; o < orders; ++o) {
    const bool bad = std::find(bad_ids.begin(), bad_ids.end(), o) != bad_ids.end();
    const std::string id = bad ? "BAD" : std::to_string(5000000 + o);
    for (int l = 0; l < 3; ++l) {
      const std::string price = (o == negative && l == 1) ? "-11062.06" : "2.55";
      s += id + ",SKU" + std::to_string(l) + ",\"ITEM, " + std::to_string(l) + "\",2,2011-06-01 10:0" +
           std::to_string(l) + "," + price + "," + std::to_string(12000 + o % 50) + ",United Kingdom\n";
    }
  }
  return s;
}

std::string Write(const TempDir& dir, const std::string& name, const std::string& content) {
  const std::string path = dir.Join(name).string();
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

ImportCommandOptions Options(const FakeHub& hub, std::vector<std::string> files) {
  ImportCommandOptions o;
  o.files = std::move(files);
  o.hub = hub.url();
  o.token = "src-key";
  o.map = kMap;
  o.currency = "GBP";
  o.timezone = "Europe/London";
  o.source = "t";
  o.batch_events = 40;
  o.retry.initial_backoff = 1ms;
  o.retry.max_backoff = 5ms;
  o.retry.max_total = 10s;
  o.request_timeout = 10s;
  o.quiet = true;
  return o;
}

struct ImportRunResult {
  int code = -1;
  std::string out, err;
};

ImportRunResult Import(const ImportCommandOptions& o) {
  std::ostringstream out, err;
  ImportRunResult r;
  r.code = RunImport(o, out, err);
  r.out = out.str();
  r.err = err.str();
  return r;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(ImportCommand, SendsEveryOrderExactlyOnceAndExits0) {
  TempDir dir;
  FakeHub hub({});
  const std::string a = Write(dir, "a.csv", Csv(150));
  const std::string b = Write(dir, "b.csv", Csv(70));  // same order ids, other file: parts :1
  ImportRunResult r = Import(Options(hub, {a, b}));
  EXPECT_EQ(r.code, 0) << r.out << r.err;
  const auto accepted = hub.accepted();
  EXPECT_EQ(accepted.size(), 220u);
  for (const auto& [id, n] : accepted) EXPECT_EQ(n, 1) << id;
  EXPECT_EQ(accepted.count("import:t:5000000:0"), 1u);
  EXPECT_EQ(accepted.count("import:t:5000000:1"), 1u);
  EXPECT_TRUE(Has(r.out, "  events sent           220 of 220 built\n")) << r.out;
  EXPECT_TRUE(Has(r.out, "  accepted              220 ")) << r.out;
  EXPECT_TRUE(Has(r.out, "  new events            220\n")) << r.out;
  EXPECT_TRUE(Has(r.out, "  rows                  660\n")) << r.out;
  EXPECT_TRUE(Has(r.out, "  bad rows              0\n")) << r.out;
  EXPECT_TRUE(Has(r.out, "  files                 2 given, 2 read to the end\n")) << r.out;
  EXPECT_EQ(r.err, "");
  // The event as the hub got it (validated by the shared schema in the fake).
  const std::string json = hub.stored_json().at("import:t:5000001:0");
  EXPECT_TRUE(Has(json, R"("occurred_at":"2011-06-01T10:00:00+01:00")")) << json;
  EXPECT_TRUE(Has(json, R"("unit_price":"2.55")")) << json;
}

TEST(ImportCommand, ImportingAgainAddsNothing) {
  TempDir dir;
  FakeHub hub({});
  auto o = Options(hub, {Write(dir, "a.csv", Csv(90))});
  ASSERT_EQ(Import(o).code, 0);
  o.parallel = 1;
  ImportRunResult again = Import(o);
  EXPECT_EQ(again.code, 0) << again.err;
  EXPECT_TRUE(Has(again.out, "  accepted              90 ")) << again.out;
  EXPECT_TRUE(Has(again.out, "  duplicates            90 ")) << again.out;
  EXPECT_TRUE(Has(again.out, "  new events            0\n")) << again.out;
  EXPECT_EQ(hub.stored_json().size(), 90u);
}

TEST(ImportCommand, AnOrderTheHubRejectsIsReportedAndTheOthersArriveOnce) {
  TempDir dir;
  FakeHub hub({});
  // BAD orders at 5 (lines 17-19) and 77 (lines 233-235); 40-event batches.
  const std::string a = Write(dir, "a.csv", Csv(120, {5, 77}));
  ImportRunResult r = Import(Options(hub, {a}));
  EXPECT_EQ(r.code, 1) << r.out << r.err;
  EXPECT_TRUE(Has(r.err, a + ":17: order BAD rejected by the hub (HTTP 400): field "
                          "order.order_id: order id BAD is refused [event import:t:BAD:0]"))
      << r.err;
  EXPECT_TRUE(Has(r.err, a + ":233: order BAD rejected by the hub")) << r.err;
  const auto accepted = hub.accepted();
  EXPECT_EQ(accepted.size(), 118u);
  for (const auto& [id, n] : accepted) {
    EXPECT_EQ(n, 1) << id;
    EXPECT_FALSE(Has(id, "BAD")) << id;
  }
  EXPECT_TRUE(Has(r.out, "  bad orders            2 (rejected by the hub)\n")) << r.out;
  EXPECT_TRUE(Has(r.out, "  events sent           120 of 120 built\n")) << r.out;
}

TEST(ImportCommand, NegativePricesAreBadRowsAndTheSummarySaysWhy) {
  TempDir dir;
  FakeHub hub({});
  const std::string a = Write(dir, "a.csv", Csv(10, {}, 4));
  ImportRunResult r = Import(Options(hub, {a}));
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Has(r.err, a + ":15: unit_price (column UnitPrice): is negative")) << r.err;
  EXPECT_TRUE(Has(r.out, "  bad rows              1\n")) << r.out;
  EXPECT_TRUE(Has(r.out, "  dropped rows          2 ")) << r.out;
  EXPECT_TRUE(Has(r.out, "negative unit_price")) << r.out;
  EXPECT_TRUE(Has(r.out, "Adjust bad debt")) << r.out;
  EXPECT_EQ(hub.accepted().size(), 9u);
}

TEST(ImportCommand, BadRowsPrintedAreCappedWithACount) {
  TempDir dir;
  FakeHub hub({});
  std::string csv = Csv(1);
  for (int i = 0; i < 8; ++i) csv += "X" + std::to_string(i) + ",S,d,notanumber,2011-06-01 10:00,1,1,UK\n";
  auto o = Options(hub, {Write(dir, "a.csv", csv)});
  o.max_reported = 3;
  ImportRunResult r = Import(o);
  EXPECT_EQ(r.code, 1);
  size_t lines = 0;
  for (size_t p = r.err.find("quantity"); p != std::string::npos; p = r.err.find("quantity", p + 1)) {
    ++lines;
  }
  EXPECT_EQ(lines, 3u) << r.err;
  EXPECT_TRUE(Has(r.err, "... and 5 more bad rows not shown")) << r.err;
}

TEST(ImportCommand, RetriesTransientFailuresThenSucceeds) {
  TempDir dir;
  FakeHub::Options ho;
  ho.fail_first = 3;
  FakeHub hub(ho);
  ImportRunResult r = Import(Options(hub, {Write(dir, "a.csv", Csv(100))}));
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(hub.accepted().size(), 100u);
}

TEST(ImportCommand, AHubThatStaysDownStopsWithHowFarItGot) {
  TempDir dir;
  FakeHub::Options ho;
  ho.always_fail = true;
  FakeHub hub(ho);
  auto o = Options(hub, {Write(dir, "a.csv", Csv(300))});
  o.retry.max_attempts = 3;
  ImportRunResult r = Import(o);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Has(r.err, "cjdctl import: stopped: the hub did not take a batch after 3")) << r.err;
  EXPECT_TRUE(Has(r.err, "got as far as file 1/1")) << r.err;
  EXPECT_TRUE(Has(r.err, "Running the same command again is safe")) << r.err;
  EXPECT_TRUE(Has(r.out, "STOPPED")) << r.out;
  EXPECT_LE(hub.collect_requests(), 3 * 2);  // two senders, one batch each at most
}

TEST(ImportCommand, AnUnreachableHubStops) {
  TempDir dir;
  FakeHub hub({});
  auto o = Options(hub, {Write(dir, "a.csv", Csv(5))});
  o.hub = "http://127.0.0.1:" + std::to_string(cjd::testing::FreeLoopbackPort());
  o.retry.max_attempts = 2;
  ImportRunResult r = Import(o);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Has(r.err, "refused")) << r.err;
}

TEST(ImportCommand, AWrongKeyStopsAtOnce) {
  TempDir dir;
  FakeHub hub({});
  auto o = Options(hub, {Write(dir, "a.csv", Csv(300))});
  o.token = "nope";
  ImportRunResult r = Import(o);
  EXPECT_EQ(r.code, 1);
  EXPECT_TRUE(Has(r.err, "the hub refused the key (HTTP 401")) << r.err;
  EXPECT_TRUE(Has(r.err, "--token")) << r.err;
  EXPECT_LE(hub.collect_requests(), 2);
}

TEST(ImportCommand, UsageErrorsExit2AndSendNothing) {
  TempDir dir;
  FakeHub hub({});
  const std::string good = Write(dir, "a.csv", Csv(3));
  const std::string other = Write(dir, "b.csv", "Order,Sku\n1,2\n");
  struct Case {
    const char* what;
    std::function<void(ImportCommandOptions&)> change;
    const char* message;
  };
  const std::vector<Case> cases = {
      {"header", [&](auto& o) { o.files.push_back(other); }, "is not in the header"},
      {"missing file", [&](auto& o) { o.files.push_back(dir.Join("none.csv").string()); }, "none.csv"},
      {"no files", [&](auto& o) { o.files.clear(); }, "no input files"},
      {"url", [&](auto& o) { o.hub = "127.0.0.1:1"; }, "--hub"},
      {"token", [&](auto& o) { o.token = ""; }, "--token"},
      {"map", [&](auto& o) { o.map = "order_id=InvoiceNo,nosuch=X"; }, "--map"},
      {"timezone", [&](auto& o) { o.timezone = "Mars/Olympus"; }, "--timezone"},
      {"currency", [&](auto& o) { o.currency = "XXXX"; }, "currency"},
      {"batch", [&](auto& o) { o.batch_events = 20000; }, "--batch-events"},
      {"twice", [&](auto& o) { o.files.push_back(good); }, "given twice"},
  };
  for (const Case& c : cases) {
    auto o = Options(hub, {good});
    c.change(o);
    ImportRunResult r = Import(o);
    EXPECT_EQ(r.code, 2) << c.what << ": " << r.err;
    EXPECT_TRUE(Has(r.err, c.message)) << c.what << ": " << r.err;
    EXPECT_EQ(r.out, "") << c.what;
  }
  EXPECT_EQ(hub.collect_requests(), 0);
}

TEST(ImportCommand, ShowsProgressUnlessQuiet) {
  TempDir dir;
  FakeHub hub({});
  auto o = Options(hub, {Write(dir, "a.csv", Csv(20))});
  o.quiet = false;
  o.progress_interval = 0ms;
  ImportRunResult r = Import(o);
  EXPECT_EQ(r.code, 0);
  EXPECT_TRUE(Has(r.err, "import: file 1/1 (")) << r.err;
  EXPECT_TRUE(Has(r.err, "100%, 60 rows, 20 events sent")) << r.err;
}

}  // namespace
}  // namespace cjd::ctl

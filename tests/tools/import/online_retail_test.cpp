// The full UCI Online Retail data set (13 monthly .csv.gz files, 541,909 rows) through the
// import core, checked against a straightforward computation over the raw rows done here with
// its own reader (gzgets + a minimal quote-aware split) and its own rules. Skipped with a message
// when ../shared/datasets/online-retail is absent. Prints the time to read and assemble.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "shared/event/decimal.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "tests/support/binaries.h"
#include "tests/tools/import/test_util.h"
#include "tools/cjdctl/import/importer.h"
#include "tests/support/datasets.h"

namespace cjd::import {
namespace {

constexpr int64_t kUciRows = 541'909;
const char* kMap =
    "order_id=InvoiceNo,customer_id=CustomerID,occurred_at=InvoiceDate,sku=StockCode,"
    "description=Description,quantity=Quantity,unit_price=UnitPrice,country=Country";

// ---- the independent computation -------------------------------------------------------------

// Splits one CSV line (no embedded line breaks in this data set) with "" escapes.
std::vector<std::string> SplitLine(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
        out.back() += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        out.back() += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

// UK wall clock, Dec 2010 - Dec 2011 -> Unix ms: BST from 2011-03-27 02:00 to 2011-10-30 02:00.
int64_t UkToUtcMs(const std::string& text) {
  struct tm tm {};
  if (std::sscanf(text.c_str(), "%d-%d-%d %d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  const int64_t local = static_cast<int64_t>(timegm(&tm));
  tm = {};
  tm.tm_year = 111, tm.tm_mon = 2, tm.tm_mday = 27, tm.tm_hour = 2;
  const int64_t bst_start = static_cast<int64_t>(timegm(&tm));
  tm = {};
  tm.tm_year = 111, tm.tm_mon = 9, tm.tm_mday = 30, tm.tm_hour = 2;
  const int64_t bst_end = static_cast<int64_t>(timegm(&tm));
  const bool bst = local >= bst_start && local < bst_end;
  return (local - (bst ? 3600 : 0)) * 1000;
}

struct OrderTotals {
  int64_t lines = 0;
  int64_t quantity = 0;
  DecimalSum value{6};
  bool operator==(const OrderTotals& o) const {
    return lines == o.lines && quantity == o.quantity && value.mantissa() == o.value.mantissa();
  }
};

struct Expected {
  int64_t rows = 0;
  int64_t bad_rows = 0;
  std::vector<std::string> bad_descriptions;
  std::map<std::string, OrderTotals> orders;  // imported orders only
  std::map<std::string, int64_t> first_time_ms;
  std::set<std::string> with_customer;
  int64_t lines = 0;
  int64_t quantity = 0;
};

Expected ComputeFromRawRows(const std::vector<std::string>& files) {
  Expected e;
  std::map<std::string, OrderTotals> all;
  std::set<std::string> bad_orders;
  std::vector<char> buf(1 << 16);
  for (const std::string& file : files) {
    gzFile f = gzopen(file.c_str(), "rb");
    EXPECT_NE(f, nullptr) << file;
    if (f == nullptr) continue;
    bool header = true;
    while (gzgets(f, buf.data(), static_cast<int>(buf.size())) != nullptr) {
      std::string line(buf.data());
      if (!line.empty() && line.back() == '\n') line.pop_back();
      if (header) {
        EXPECT_EQ(line,
                  "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,"
                  "CustomerID,Country");
        header = false;
        continue;
      }
      const std::vector<std::string> v = SplitLine(line);
      EXPECT_EQ(v.size(), 8u) << file << ": " << line;
      if (v.size() != 8) continue;
      ++e.rows;
      const std::string& invoice = v[0];
      const int64_t qty = std::stoll(v[3]);
      Result<Decimal> price = Decimal::Parse(v[5]);
      // The rule chosen for this data set: a negative unit price is a bad row, and a bad row
      // keeps its whole invoice out. Nothing else in UCI is bad.
      if (!price.ok() || price->is_negative() || qty == 0) {
        ++e.bad_rows;
        e.bad_descriptions.push_back(invoice + " " + v[1] + " " + v[2] + " " + v[5]);
        bad_orders.insert(invoice);
        continue;
      }
      OrderTotals& t = all[invoice];
      ++t.lines;
      t.quantity += qty;
      EXPECT_TRUE(t.value.AddProduct(qty, *price).ok());
      if (!e.first_time_ms.count(invoice)) e.first_time_ms[invoice] = UkToUtcMs(v[4]);
      if (!v[6].empty()) e.with_customer.insert(invoice);
    }
    int err = Z_OK;
    gzerror(f, &err);
    EXPECT_EQ(err, Z_OK) << file;
    gzclose(f);
  }
  for (auto& [invoice, totals] : all) {
    if (bad_orders.count(invoice)) continue;
    e.lines += totals.lines;
    e.quantity += totals.quantity;
    e.orders.emplace(invoice, totals);
  }
  return e;
}

double Seconds(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

AssemblerOptions UciOptions() {
  AssemblerOptions o;
  o.source = "uci";
  o.currency = "GBP";
  Result<TimeZone> tz = TimeZone::Load("Europe/London");
  EXPECT_TRUE(tz.ok()) << tz.status().ToString();
  if (tz.ok()) o.time_zone = *tz;
  return o;
}

TEST(OnlineRetail, WholeDataSetMatchesAnIndependentComputation) {
  std::string why_not;
  const std::vector<std::string> files = testing::UciFiles(&why_not);
  if (files.empty()) CJD_SKIP_WITHOUT_DATA(why_not);
  Result<FieldMap> map = ParseFieldMap(kMap);
  ASSERT_TRUE(map.ok());
  const AssemblerOptions options = UciOptions();

  // 1. Timed: read and assemble only (single thread). CPU time too: the machine may be shared.
  auto t0 = std::chrono::steady_clock::now();
  const std::clock_t c0 = std::clock();
  int64_t timed_events = 0;
  Result<ImportResult> timed = ImportFiles(files, *map, options,
                                           [&](const ImportedOrder&) {
                                             ++timed_events;
                                             return Status::Ok();
                                           },
                                           {});
  const double read_assemble_s = Seconds(t0);
  const double read_assemble_cpu_s = static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC;
  ASSERT_TRUE(timed.ok()) << timed.status().ToString();

  // 2. Again with the JSON of every event and everything the checks below need.
  std::vector<BadRow> bad;
  std::map<std::string, OrderTotals> got;
  std::set<std::string> event_ids;
  std::map<std::string, int64_t> part0_time_ms;
  std::set<std::string> got_with_customer;
  int64_t lines = 0, quantity = 0, events = 0, json_bytes = 0, schema_failures = 0;
  DecimalSum value(6);
  std::string first_schema_failure;
  t0 = std::chrono::steady_clock::now();
  Result<ImportResult> r = ImportFiles(
      files, *map, options,
      [&](const ImportedOrder& o) {
        ++events;
        const std::string json = ToEventJson(o);
        json_bytes += static_cast<int64_t>(json.size());
        // The hub's schema (type and properties aside) accepts the event.
        Result<nlohmann::json> j = ParseJsonExact(json);
        if (j.ok()) {
          (*j)["type"] = "transaction";
          j->erase("properties");
        }
        Result<Event> ev = j.ok() ? ValidateEvent(*j) : Result<Event>(j.status());
        if (!ev.ok() && schema_failures++ == 0) {
          first_schema_failure = ev.status().ToString() + " in " + json.substr(0, 300);
        }
        EXPECT_TRUE(event_ids.insert(o.event_id).second) << "duplicate id " << o.event_id;
        if (o.part == 0) part0_time_ms[o.order_id] = o.occurred_at_ms;
        if (!o.customer.empty()) got_with_customer.insert(o.order_id);
        OrderTotals& t = got[o.order_id];
        for (const OrderLine& l : o.items) {
          ++t.lines;
          t.quantity += l.quantity;
          EXPECT_TRUE(t.value.AddProduct(l.quantity, l.unit_price).ok());
          ++lines;
          quantity += l.quantity;
          EXPECT_TRUE(value.AddProduct(l.quantity, l.unit_price).ok());
        }
        return Status::Ok();
      },
      [&](const BadRow& b) { bad.push_back(b); });
  const double full_s = Seconds(t0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const AssemblerStats& s = r->stats;

  // 3. The independent computation over the raw rows.
  t0 = std::chrono::steady_clock::now();
  const Expected e = ComputeFromRawRows(files);
  const double raw_s = Seconds(t0);

  // Rows.
  EXPECT_EQ(e.rows, kUciRows);
  EXPECT_EQ(s.rows, kUciRows);
  EXPECT_EQ(timed->stats.rows, kUciRows);
  EXPECT_EQ(timed_events, s.events);
  EXPECT_TRUE(r->file_errors.empty());
  EXPECT_EQ(r->files_read, 13);

  // Bad rows: the same ones, and nothing else.
  EXPECT_EQ(s.bad_rows, e.bad_rows);
  EXPECT_EQ(static_cast<int64_t>(bad.size()), e.bad_rows);
  std::printf("[ dataset  ] %lld bad rows (rule: a negative unit price is not an order line):\n",
              static_cast<long long>(bad.size()));
  for (const BadRow& b : bad) {
    std::printf("[ dataset  ]   %s\n", b.ToString().c_str());
    EXPECT_EQ(b.field, "unit_price");
  }
  for (const std::string& d : e.bad_descriptions) std::printf("[ raw      ]   %s\n", d.c_str());

  // Totals: lines, quantity, exact value.
  EXPECT_EQ(lines, e.lines);
  EXPECT_EQ(quantity, e.quantity);
  // Per order; the exact total is the sum of the per-order sums (all at scale 6).
  EXPECT_EQ(got.size(), e.orders.size());
  Int128 expected_mantissa = 0;
  int64_t order_mismatches = 0;
  for (const auto& [invoice, totals] : e.orders) {
    expected_mantissa += totals.value.mantissa();
    const auto it = got.find(invoice);
    if (it == got.end() || !(it->second == totals)) {
      if (++order_mismatches <= 5) ADD_FAILURE() << "order " << invoice << " differs";
    }
  }
  EXPECT_EQ(order_mismatches, 0);
  EXPECT_TRUE(value.mantissa() == expected_mantissa) << "emitted " << value.ToString(3);
  EXPECT_EQ(s.lines, lines);
  EXPECT_EQ(s.dropped_rows, 0);  // the bad rows' invoices have no other rows
  EXPECT_EQ(s.dropped_runs, e.bad_rows);

  // Events: one per order, plus the reappearing 542806 and the 1,114-line 573585 split in two.
  EXPECT_EQ(s.events, static_cast<int64_t>(e.orders.size()) + 2);
  EXPECT_EQ(s.reappeared_runs, 1);
  EXPECT_EQ(event_ids.count("import:uci:542806:1"), 1u);
  EXPECT_EQ(event_ids.count("import:uci:573585:1"), 1u);
  EXPECT_EQ(schema_failures, 0) << first_schema_failure;

  // Customers and times.
  EXPECT_EQ(got_with_customer, e.with_customer);
  int64_t time_mismatches = 0;
  for (const auto& [invoice, ms] : e.first_time_ms) {
    const auto it = part0_time_ms.find(invoice);
    if (it == part0_time_ms.end()) continue;  // a dropped invoice
    if (it->second != ms && ++time_mismatches <= 5) {
      ADD_FAILURE() << invoice << ": occurred_at " << it->second << " != " << ms;
    }
  }
  EXPECT_EQ(time_mismatches, 0);

  std::printf(
      "[ dataset  ] %lld rows in 13 files -> %lld events (%lld orders), %lld lines, "
      "quantity %lld, value %s GBP, %lld bad rows, %lld runs dropped\n",
      static_cast<long long>(s.rows), static_cast<long long>(s.events),
      static_cast<long long>(got.size()), static_cast<long long>(s.lines),
      static_cast<long long>(quantity), value.ToString(2).c_str(),
      static_cast<long long>(s.bad_rows), static_cast<long long>(s.dropped_runs));
  std::printf(
      "[ timing   ] read + assemble (single thread): %.3f s wall = %.0f rows/s; "
      "%.3f s CPU = %.0f rows/s\n",
      read_assemble_s, static_cast<double>(kUciRows) / read_assemble_s, read_assemble_cpu_s,
      static_cast<double>(kUciRows) / read_assemble_cpu_s);
  std::printf("[ timing   ] read + assemble + event JSON (%.1f MB) + schema check + sums: %.3f s\n",
              static_cast<double>(json_bytes) / 1e6, full_s);
  std::printf("[ timing   ] the test's own raw computation: %.3f s\n", raw_s);
}

}  // namespace
}  // namespace cjd::import

// OrderAssembler: turns the rows of import files into order_completed events for the hub's
// collect API, streaming, in bounded memory.
//
// Grouping. Consecutive rows with the same order_id form one run; a run is emitted as soon as the
// order_id changes (or the file ends). Identical rows inside a run stay separate lines (a basket
// can hold the same item twice). Runs never span files.
//
// Parts and event ids. Every emitted event has the deterministic id
//     "import:" + SOURCE + ":" + ORDER + ":" + PART
// ORDER is the order_id with every byte outside [A-Za-z0-9_-] written as ".XX" (upper-case hex),
// so ids only hold the hub's id characters and distinct order ids never share an id. PART counts
// from 0 per order_id over the whole import (all files, in the order given):
//   - an order_id that shows up again later, not adjacent to its earlier rows, is emitted again
//     as a further part (same order_id, next PART); the hub sees two events for one order;
//   - a run with more than max_items_per_event lines (the hub's limit per order, 1000) is split
//     into parts of at most that many lines;
//   - a run consumes max(1, ceil(rows / max_items_per_event)) part numbers, counting its bad rows
//     and even when it is dropped, so fixing a bad row and importing again gives every other part
//     the same id as before.
// Importing the same files again (same order, same --source) therefore yields the same ids, and
// the hub, which stores an event id once, adds nothing. Giving the same data twice in one run
// (a.csv and a copy a.csv.gz) makes the second copy further parts: stats().reappeared_runs
// counts such runs so the caller can warn.
//
// Bad rows. A row is bad when it has a different number of fields than the header, when a
// required value (order_id, occurred_at, sku, quantity, unit_price) is empty, when a value does
// not parse or breaks a rule of the hub's event schema (quantity a non-zero integer within
// ±1,000,000; unit_price an exact decimal >= 0 and <= 10^12 with at most 9 decimals; lengths;
// UTF-8 without control characters; email and phone shapes), or when an order-level value
// (customer_id, loyalty_id, email, phone, store_id, channel, currency) differs from an earlier
// non-empty value in the same run. Every bad row is reported (file, line, field, message; the
// first problem of the row). A run with any bad row is dropped whole, so a partial order never
// lands; its good rows are counted in stats().dropped_rows. Only a run longer than
// max_buffered_lines is emitted before it ends (in full parts); a bad row after that drops only
// the rest. A negative unit price (UCI's "Adjust bad debt" rows, invoices A563186/A563187) is a
// bad row: the hub's schema has no negative prices, and such a line is neither a sale nor a
// return.
//
// Event values. occurred_at, channel, store_id and currency come from the run's first row
// (store_id defaults to SOURCE, channel to "store", currency to --currency); the customer object
// gathers the run's non-empty customer_id / loyalty_id / email / phone and is left out when all
// are empty (an anonymous order); properties.country is the first non-empty country. A negative
// quantity is a return line; an order whose lines are all returns (UCI's "C" invoices) is still
// an order_completed (a credit note for the hub). unit_price is the exact decimal text
// (Decimal::ToString of the parsed value: the file's text minus a leading '+' or leading zeros).
// Values are trimmed of spaces and tabs; tabs and line breaks inside description and category
// become spaces.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "shared/core/status.h"
#include "shared/event/decimal.h"
#include "shared/event/event.h"
#include "tools/cjdctl/import/csv_reader.h"
#include "tools/cjdctl/import/import_mapping.h"
#include "tools/cjdctl/import/time_zone.h"

namespace cjd::import {

struct BadRow {
  std::string file;
  int64_t line = 0;
  std::string field;     // the --map field ("quantity"); empty when the row as a whole is bad
  std::string column;    // its CSV column ("Quantity"), if any
  std::string order_id;  // the row's order id, when it has one
  std::string message;
  std::string ToString() const;  // "FILE:LINE: field quantity (column Quantity): message"
};

struct OrderLine {
  std::string sku;
  int64_t quantity = 0;  // negative = returned item
  Decimal unit_price;
  std::string description;
  std::string category;
  int64_t line = 0;  // physical line in the file
};

struct ImportedOrder {
  std::string event_id;
  std::string order_id;
  uint32_t part = 0;
  std::string occurred_at;  // RFC 3339 with offset
  int64_t occurred_at_ms = 0;
  std::string store_id;
  std::string channel;
  std::string currency;
  std::string country;  // properties.country; empty = left out
  Customer customer;    // empty() = anonymous, no customer object
  std::vector<OrderLine> items;
  std::string file;
  int64_t first_line = 0;
};

// The event as JSON for POST /v1/collect, fields in a fixed order, no whitespace:
// {"type":"order_completed","event_id":...,"occurred_at":...,"store_id":...,"channel":...,
//  "customer":{...}?,"order":{"order_id":...,"currency":...,"items":[{"sku":...,"quantity":N,
//  "unit_price":"2.55","description":...?,"category":...?}]},"properties":{"country":...}?}
std::string ToEventJson(const ImportedOrder& order);

// The escaped ORDER part of an event id (see above).
std::string EncodeIdPart(std::string_view order_id);

struct AssemblerOptions {
  std::string source = "import";      // --source: 1..40 of [A-Za-z0-9._-]; the default store_id
  std::string currency;               // --currency (ISO 4217); required unless currency is mapped
  std::optional<TimeZone> time_zone;  // --timezone, for date-times without an offset
  std::string default_channel = "store";
  size_t max_items_per_event = 1000;
  size_t max_buffered_lines = 20000;
};

struct AssemblerStats {
  int64_t rows = 0;             // data rows seen
  int64_t bad_rows = 0;         // rows reported as bad
  int64_t dropped_rows = 0;     // good rows not imported because their run had a bad row
  int64_t dropped_runs = 0;     // runs dropped (wholly or their unsent rest)
  int64_t reappeared_runs = 0;  // runs of an order_id seen earlier in the import, not adjacent
  int64_t events = 0;           // events emitted
  int64_t lines = 0;            // order lines emitted
};

class OrderAssembler {
 public:
  // Receives each event; a non-ok Status stops the import (AddRow/EndFile return it).
  using OrderSink = std::function<Status(const ImportedOrder&)>;
  using BadRowSink = std::function<void(const BadRow&)>;

  // Checks the options against the mapping (source name, currency, time zone need).
  static Result<OrderAssembler> Create(AssemblerOptions options, const FieldMap& map,
                                       OrderSink on_order, BadRowSink on_bad_row);

  // Starts a file; `columns` from BindFieldMap on its header.
  void BeginFile(const std::string& file, const ColumnMap& columns);
  Status AddRow(const CsvRow& row);
  // Emits the last run of the file.
  Status EndFile();
  // The file could not be read to its end: drops the unsent run (counted as dropped).
  void AbortFile();

  const AssemblerStats& stats() const { return stats_; }

 private:
  struct Run {
    bool active = false;
    std::string order_id;
    std::string file;
    int64_t first_line = 0;
    int64_t rows = 0;  // all rows, good and bad
    int64_t bad_rows = 0;
    uint32_t first_part = 0;
    uint32_t parts_emitted = 0;
    std::string occurred_at;
    int64_t occurred_at_ms = 0;
    std::string store_id, channel, currency, country;
    int64_t store_line = 0, channel_line = 0, currency_line = 0;
    Customer customer;
    int64_t customer_lines[4] = {0, 0, 0, 0};
    std::vector<OrderLine> items;
  };

  OrderAssembler(AssemblerOptions options, OrderSink on_order, BadRowSink on_bad_row);
  // Ends the current run: emits it (unless it has a bad row or `emit` is false) and books the
  // part numbers it consumed.
  Status FinishRun(bool emit);
  Status EmitParts(size_t count_lines);
  void StartRun(const std::string& order_id, int64_t line);
  void Report(int64_t line, std::optional<Field> field, std::string order_id, std::string message);

  AssemblerOptions options_;
  OrderSink on_order_;
  BadRowSink on_bad_row_;
  std::string file_;
  ColumnMap columns_;
  Run run_;
  // Next part number per order id, keyed by a 64-bit hash of the id (bounded: ~40 bytes per
  // distinct order). A collision only skips part numbers; ids stay distinct (they hold the id).
  std::unordered_map<uint64_t, uint32_t> next_part_;
  // One-entry cache: rows of an order usually share their date-time text.
  std::string last_time_text_;
  Result<ImportTime> last_time_ = Status::Invalid("");
  ImportedOrder scratch_;
  AssemblerStats stats_;
};

}  // namespace cjd::import

// `cjdctl import`'s read side: CSV (or gzip) bytes through the streaming reader, the --map
// binding, the row parser and the order assembler. Every event it emits must pass the hub's own
// validation (what the importer promises: a row it accepts is an event the hub accepts).
// Input: byte 0 selects the setup: bit 0 prepend a fixed header (the fuzzer then works on rows),
// bit 1 the full map (every field, columns named like the fields) instead of the UCI Online
// Retail map, bit 2 name the file .csv.gz (the bytes then go through zlib), bit 3 small limits
// (3 items per event, 5 buffered lines) so that splitting and early emission are reached.
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "tests/fuzz/fuzz_support.h"
#include "tools/cjdctl/import/importer.h"
#include "tools/cjdctl/import/time_zone.h"

namespace {

using namespace cjd::import;

constexpr const char* kUciMap =
    "order_id=InvoiceNo,customer_id=CustomerID,occurred_at=InvoiceDate,sku=StockCode,"
    "description=Description,quantity=Quantity,unit_price=UnitPrice,country=Country";
constexpr const char* kUciHeader =
    "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n";
constexpr const char* kFullMap =
    "order_id=order_id,customer_id=customer_id,loyalty_id=loyalty_id,email=email,phone=phone,"
    "occurred_at=occurred_at,sku=sku,description=description,quantity=quantity,"
    "unit_price=unit_price,store_id=store_id,country=country,category=category,"
    "currency=currency,channel=channel";
constexpr const char* kFullHeader =
    "order_id,customer_id,loyalty_id,email,phone,occurred_at,sku,description,quantity,"
    "unit_price,store_id,country,category,currency,channel\n";

const std::string& Dir() {
  static const std::string dir = [] {
    const char* shm = "/dev/shm";
    std::string base = std::filesystem::is_directory(shm) ? shm : "/tmp";
    std::string d = base + "/cjd-fuzz-csv-" + std::to_string(::getpid());
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

const std::optional<TimeZone>& London() {
  static const std::optional<TimeZone> tz = [] {
    auto loaded = TimeZone::Load("Europe/London");
    return loaded.ok() ? std::optional<TimeZone>(*loaded) : std::nullopt;
  }();
  return tz;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  const bool full = (selector & 2) != 0;
  const std::string path = Dir() + ((selector & 4) ? "/in.csv.gz" : "/in.csv");
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (selector & 1) out << (full ? kFullHeader : kUciHeader);
    out.write(reinterpret_cast<const char*>(data + 1), static_cast<std::streamsize>(size - 1));
  }
  auto map = ParseFieldMap(full ? kFullMap : kUciMap);
  CJD_FUZZ_CHECK(map.ok(), "the fixed --map does not parse");
  AssemblerOptions options;
  options.source = "fuzz";
  options.currency = "GBP";
  options.time_zone = London();
  if (selector & 8) {
    options.max_items_per_event = 3;
    options.max_buffered_lines = 5;
  }
  auto result = ImportFiles(
      {path}, *map, options,
      [](const ImportedOrder& order) {
        const std::string json = ToEventJson(order);
        auto j = cjd::ParseJsonExact(json);
        CJD_FUZZ_CHECK(j.ok(), "the importer wrote JSON that does not parse: " + json);
        auto e = cjd::ValidateEvent(*j, cjd::kCollectEventTypes);
        CJD_FUZZ_CHECK(e.ok(), "the hub refuses an imported event: " + e.status().ToString() +
                                   " in " + json);
        return cjd::Status::Ok();
      },
      [](const BadRow& bad) { (void)bad.ToString(); });
  std::remove(path.c_str());
  return 0;
}

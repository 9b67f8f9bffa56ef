#include "tools/cjdctl/import/import_mapping.h"

#include <string>

namespace cjd::import {
namespace {

constexpr std::array<std::string_view, kFieldCount> kNames = {
    "order_id",    "customer_id", "loyalty_id",  "email",    "phone",
    "occurred_at", "sku",         "description", "quantity", "unit_price",
    "store_id",    "country",     "category",    "currency", "channel"};

constexpr Field kRequired[] = {Field::kOrderId, Field::kOccurredAt, Field::kSku, Field::kQuantity,
                               Field::kUnitPrice};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string AllNames() {
  std::string out;
  for (std::string_view n : kNames) {
    if (!out.empty()) out += ", ";
    out += n;
  }
  return out;
}

}  // namespace

std::string_view FieldName(Field f) { return kNames[static_cast<size_t>(f)]; }

std::optional<Field> FieldFromName(std::string_view name) {
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (kNames[i] == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

Result<FieldMap> ParseFieldMap(std::string_view spec) {
  FieldMap map;
  if (Trim(spec).empty()) {
    return Status::Invalid("--map: empty; expected FIELD=COLUMN,... like order_id=InvoiceNo");
  }
  size_t start = 0;
  while (start <= spec.size()) {
    size_t comma = spec.find(',', start);
    if (comma == std::string_view::npos) comma = spec.size();
    const std::string_view part = Trim(spec.substr(start, comma - start));
    start = comma + 1;
    if (part.empty()) {
      if (comma == spec.size()) break;  // a trailing comma is harmless
      return Status::Invalid("--map: empty entry between commas");
    }
    const size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      return Status::Invalid("--map: '" + std::string(part) +
                             "' is not FIELD=COLUMN (like order_id=InvoiceNo)");
    }
    const std::string_view name = Trim(part.substr(0, eq));
    const std::string_view column = Trim(part.substr(eq + 1));
    const std::optional<Field> field = FieldFromName(name);
    if (!field.has_value()) {
      return Status::Invalid("--map: unknown field '" + std::string(name) +
                             "'; fields are: " + AllNames());
    }
    if (column.empty()) {
      return Status::Invalid("--map: field '" + std::string(name) + "' has no column name");
    }
    std::string& slot = map.column[static_cast<size_t>(*field)];
    if (!slot.empty()) {
      return Status::Invalid("--map: field '" + std::string(name) + "' is mapped twice ('" + slot +
                             "' and '" + std::string(column) + "')");
    }
    slot = std::string(column);
  }
  for (Field f : kRequired) {
    if (!map.has(f)) {
      return Status::Invalid("--map: field '" + std::string(FieldName(f)) +
                             "' is required (order_id, occurred_at, sku, quantity and unit_price "
                             "must all be mapped)");
    }
  }
  return map;
}

Result<ColumnMap> BindFieldMap(const FieldMap& map, const std::vector<std::string>& header,
                               const std::string& file) {
  ColumnMap out;
  out.header_size = header.size();
  for (size_t i = 0; i < kFieldCount; ++i) {
    const std::string& column = map.column[i];
    if (column.empty()) continue;
    std::optional<size_t> found;
    for (size_t c = 0; c < header.size(); ++c) {
      if (Trim(header[c]) != column) continue;
      if (found.has_value()) {
        return Status::Invalid("--map: column '" + column + "' appears twice in the header of " +
                               file + " (columns " + std::to_string(*found + 1) + " and " +
                               std::to_string(c + 1) + ")");
      }
      found = c;
    }
    if (!found.has_value()) {
      std::string columns;
      for (const std::string& h : header) {
        if (!columns.empty()) columns += ", ";
        columns += h;
        if (columns.size() > 300) {
          columns += ", ...";
          break;
        }
      }
      return Status::Invalid("--map: column '" + column + "' is not in the header of " + file +
                             " (columns: " + columns + ")");
    }
    out.index[i] = found;
    out.column[i] = column;
  }
  return out;
}

}  // namespace cjd::import

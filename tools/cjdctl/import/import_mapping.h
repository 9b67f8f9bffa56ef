// The --map option of `cjdctl import`: which CSV column feeds which order field.
//
//   --map order_id=InvoiceNo,customer_id=CustomerID,occurred_at=InvoiceDate,sku=StockCode,...
//
// Fields: order_id, customer_id, loyalty_id, email, phone, occurred_at, sku, description,
// quantity, unit_price, store_id, country, category, currency, channel. Required: order_id,
// occurred_at, sku, quantity, unit_price. Spaces around names are ignored; column names are
// matched exactly (case-sensitive) against the header, whose names are also trimmed. A column
// may feed several fields; a field may be mapped once.
#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"

namespace cjd::import {

enum class Field : int {
  kOrderId,
  kCustomerId,
  kLoyaltyId,
  kEmail,
  kPhone,
  kOccurredAt,
  kSku,
  kDescription,
  kQuantity,
  kUnitPrice,
  kStoreId,
  kCountry,
  kCategory,
  kCurrency,
  kChannel,
};
inline constexpr size_t kFieldCount = 15;

std::string_view FieldName(Field f);
std::optional<Field> FieldFromName(std::string_view name);

// The parsed --map text: field -> column name (empty = not mapped).
struct FieldMap {
  std::array<std::string, kFieldCount> column;
  const std::string& operator[](Field f) const { return column[static_cast<size_t>(f)]; }
  bool has(Field f) const { return !(*this)[f].empty(); }
};

// Parses "FIELD=COLUMN,FIELD=COLUMN". Errors start with "--map: " and name the bad part.
Result<FieldMap> ParseFieldMap(std::string_view spec);

// Column indexes of one file's header for every mapped field.
struct ColumnMap {
  std::array<std::optional<size_t>, kFieldCount> index;
  std::array<std::string, kFieldCount> column;  // the header's name of each mapped column
  size_t header_size = 0;
  std::optional<size_t> operator[](Field f) const { return index[static_cast<size_t>(f)]; }
};

// Binds `map` to `header` (of `file`, for messages): "--map: column 'Foo' is not in the header
// of FILE (columns: A, B, C)"; a column name that appears twice in the header is an error too.
Result<ColumnMap> BindFieldMap(const FieldMap& map, const std::vector<std::string>& header,
                               const std::string& file);

}  // namespace cjd::import

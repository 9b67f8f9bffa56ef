// The fields a person record is matched on. The names are fixed: the CLI's --map FIELD=COLUMN,
// the hub's customer profile and hub/matching/README.md all use them.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace cjd::hub::matching {

enum class Field : uint8_t {
  kFirstName = 0,
  kLastName,
  kDateOfBirth,
  kStreetNumber,
  kAddressLine1,
  kAddressLine2,
  kCity,
  kPostcode,
  kRegion,
  kNationalId,
  kEmail,
  kPhone,
};

inline constexpr size_t kFieldCount = 12;

// Index order = enum order.
inline constexpr std::array<std::string_view, kFieldCount> kFieldNames = {
    "first_name", "last_name", "date_of_birth", "street_number", "address_line1", "address_line2",
    "city",       "postcode",  "region",        "national_id",   "email",         "phone"};

constexpr size_t Index(Field f) { return static_cast<size_t>(f); }
constexpr std::string_view FieldName(Field f) { return kFieldNames[Index(f)]; }

// The field named `name` (exact, lower case), or nullopt.
constexpr std::optional<Field> ParseField(std::string_view name) {
  for (size_t i = 0; i < kFieldCount; ++i) {
    if (kFieldNames[i] == name) return static_cast<Field>(i);
  }
  return std::nullopt;
}

}  // namespace cjd::hub::matching

// The fields a segment rule may read, and their types. The names follow the traits of
// GET /v1/profiles/{id} (hub/projection/README.md); `attributes.NAME` reads any profile
// attribute, whatever its type. The parser checks each condition against the field's type, so
// a rule such as `channels = "web"` or `orders > "abc"` is refused when it is written, not
// silently false at every evaluation.
#pragma once

#include <optional>
#include <span>
#include <string_view>

namespace cjd::hub::segments {

enum class FieldType {
  kNumber,  // exact decimal (counts, money, days, RFM scores)
  kString,
  kList,    // list of strings (channels)
  kTime,    // an instant; literals are RFC 3339 strings
  kBool,
  kAny,     // attributes.*: whatever the profile holds
};

struct KnownField {
  std::string_view name;
  FieldType type;
};

// Every fixed field (attributes.* not included), in documentation order.
std::span<const KnownField> KnownFields();

// The field's type; nullopt for an unknown name. "attributes." followed by one or more
// dot-separated parts of [a-z0-9_] is kAny.
std::optional<FieldType> LookupField(std::string_view name);

// The horizon N of a prediction field named for it (expected_purchase_days_{N}d,
// predicted_clv_{N}d, N 1..3650 without leading zeros); nullopt for any other name. Such a field
// is a number; the segment engine accepts only the hub's own horizon ([predictions]
// horizon_days).
std::optional<int> PredictionHorizonOf(std::string_view name);

// "a number", "a string", "a list", "a time", "true/false", "any value".
const char* FieldTypeName(FieldType type);

inline constexpr std::string_view kAttributesPrefix = "attributes.";

}  // namespace cjd::hub::segments

#include "hub/segments/fields.h"

#include <array>

namespace cjd::hub::segments {
namespace {

constexpr std::array kFields = {
    KnownField{"orders", FieldType::kNumber},
    KnownField{"revenue_gross", FieldType::kNumber},
    KnownField{"revenue_net", FieldType::kNumber},
    KnownField{"average_order_value", FieldType::kNumber},
    KnownField{"clv_gross", FieldType::kNumber},
    KnownField{"clv_net", FieldType::kNumber},
    KnownField{"days_since_last_order", FieldType::kNumber},
    KnownField{"last_order_at", FieldType::kTime},
    KnownField{"currency", FieldType::kString},
    KnownField{"favourite_store", FieldType::kString},
    KnownField{"favourite_category", FieldType::kString},
    KnownField{"channels", FieldType::kList},
    KnownField{"loyalty_scans", FieldType::kNumber},
    KnownField{"events", FieldType::kNumber},
    KnownField{"first_seen", FieldType::kTime},
    KnownField{"last_seen", FieldType::kTime},
    KnownField{"rfm.recency", FieldType::kNumber},
    KnownField{"rfm.frequency", FieldType::kNumber},
    KnownField{"rfm.monetary", FieldType::kNumber},
    KnownField{"consent", FieldType::kBool},
    KnownField{"journey_stage", FieldType::kString},
    KnownField{"journey_stage_furthest", FieldType::kString},
};

bool IsAttributePath(std::string_view rest) {
  if (rest.empty()) return false;
  bool part_empty = true;
  for (const char c : rest) {
    if (c == '.') {
      if (part_empty) return false;
      part_empty = true;
      continue;
    }
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    part_empty = false;
  }
  return !part_empty;
}

}  // namespace

std::span<const KnownField> KnownFields() { return kFields; }

std::optional<FieldType> LookupField(std::string_view name) {
  for (const KnownField& f : kFields) {
    if (f.name == name) return f.type;
  }
  if (name.starts_with(kAttributesPrefix) &&
      IsAttributePath(name.substr(kAttributesPrefix.size()))) {
    return FieldType::kAny;
  }
  return std::nullopt;
}

const char* FieldTypeName(FieldType type) {
  switch (type) {
    case FieldType::kNumber: return "a number";
    case FieldType::kString: return "a string";
    case FieldType::kList: return "a list";
    case FieldType::kTime: return "a time";
    case FieldType::kBool: return "true/false";
    case FieldType::kAny: return "any value";
  }
  return "?";
}

}  // namespace cjd::hub::segments

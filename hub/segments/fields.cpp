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
    KnownField{"tracked_events", FieldType::kList},
    KnownField{"p_alive", FieldType::kNumber},
    KnownField{"churn_risk", FieldType::kNumber},
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

std::optional<int> HorizonAfter(std::string_view name, std::string_view prefix) {
  if (!name.starts_with(prefix) || !name.ends_with("d")) return std::nullopt;
  const std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - 1);
  if (digits.empty() || digits.size() > 4 || digits[0] == '0') return std::nullopt;
  int n = 0;
  for (const char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  if (n > 3650) return std::nullopt;
  return n;
}

}  // namespace

std::optional<int> PredictionHorizonOf(std::string_view name) {
  if (auto n = HorizonAfter(name, "expected_purchase_days_")) return n;
  return HorizonAfter(name, "predicted_clv_");
}

std::span<const KnownField> KnownFields() { return kFields; }

std::optional<FieldType> LookupField(std::string_view name) {
  for (const KnownField& f : kFields) {
    if (f.name == name) return f.type;
  }
  if (PredictionHorizonOf(name)) return FieldType::kNumber;
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

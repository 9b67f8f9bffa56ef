#include "hub/access/masking.h"

namespace cjd::hub::access {
namespace {

void MaskValues(nlohmann::json& obj) {
  for (auto& [key, value] : obj.items()) {
    if (!value.is_null()) value = kMasked;
  }
}

}  // namespace

void MaskPersonalData(nlohmann::json& doc) {
  if (doc.is_array()) {
    for (auto& v : doc) MaskPersonalData(v);
    return;
  }
  if (!doc.is_object()) return;
  for (auto& [key, value] : doc.items()) {
    if (key == "identifiers" && value.is_array()) {
      for (auto& id : value) {
        if (id.is_object() && id.contains("value") && !id["value"].is_null()) id["value"] = kMasked;
      }
    } else if ((key == "customer" || key == "attributes") && value.is_object()) {
      MaskValues(value);
    } else {
      MaskPersonalData(value);
    }
  }
}

}  // namespace cjd::hub::access

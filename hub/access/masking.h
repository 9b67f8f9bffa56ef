// What the analyst role sees of a person: the hub's answers with the personal values masked.
//
// MaskPersonalData rewrites a response document in place, at any depth:
//   - "identifiers": [{"type", "value", ...}]  -> each "value" becomes kMasked (the type stays);
//   - "customer": {...}                         -> every value becomes kMasked (an event's
//                                                  loyalty_id, email, phone, customer_id, ...);
//   - "attributes": {...}                       -> every value becomes kMasked (names, birth
//                                                  dates and whatever an identify event sent).
// Profile ids, traits, figures and the keys themselves stay, so analysts can count and follow a
// profile without learning who it is. Pure; thread-safe.
#pragma once

#include <string_view>

#include <nlohmann/json.hpp>

namespace cjd::hub::access {

inline constexpr std::string_view kMasked = "***";

void MaskPersonalData(nlohmann::json& doc);

}  // namespace cjd::hub::access

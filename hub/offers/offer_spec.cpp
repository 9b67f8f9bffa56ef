#include "hub/offers/offer_spec.h"

#include <algorithm>

#include "shared/event/event.h"
#include "shared/protocol/offer_update.h"

namespace cjd::hub::offers {
namespace {

using nlohmann::json;

constexpr size_t kMaxTitleBytes = 200;  // as the offer update format allows
constexpr size_t kMaxTextBytes = 2000;

Status Bad(const std::string& field, const std::string& why) {
  return Status::Invalid(field + ": " + why, field);
}

bool IsUtf8(std::string_view s) {
  try {
    (void)json(std::string(s)).dump();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

Status ReadString(const json& body, const char* key, bool required, size_t min, size_t max,
                  std::string* out) {
  auto it = body.find(key);
  if (it == body.end()) return required ? Bad(key, "required") : Status::Ok();
  if (!it->is_string()) return Bad(key, "must be a string");
  *out = it->get<std::string>();
  if (out->size() < min || out->size() > max)
    return Bad(key, "must be " + std::to_string(min) + ".." + std::to_string(max) + " bytes");
  if (!IsUtf8(*out)) return Bad(key, "must be UTF-8");
  return Status::Ok();
}

Status ReadInt(const json& body, const char* key, int64_t min, int64_t max, int64_t* out) {
  auto it = body.find(key);
  if (it == body.end()) return Status::Ok();
  if (!it->is_number_integer()) return Bad(key, "must be an integer");
  if (it->is_number_unsigned() && it->get<uint64_t>() > static_cast<uint64_t>(max))
    return Bad(key, "must be " + std::to_string(min) + ".." + std::to_string(max));
  const int64_t v = it->get<int64_t>();
  if (v < min || v > max)
    return Bad(key, "must be " + std::to_string(min) + ".." + std::to_string(max));
  *out = v;
  return Status::Ok();
}

Status ReadTime(const json& body, const char* key, std::string* text, int64_t* ms) {
  CJD_RETURN_IF_ERROR(ReadString(body, key, true, 1, 64, text));
  auto t = ParseRfc3339(*text);
  if (!t.ok())
    return Bad(key, "must be an RFC 3339 time with an offset, e.g. 2026-12-01T00:00:00Z");
  *ms = *t;
  return Status::Ok();
}

bool IsStoreId(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (unsigned char c : s)
    if (c < 0x20 || c == 0x7F) return false;
  return IsUtf8(s);
}

}  // namespace

bool IsValidSegmentRef(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

bool OfferSpec::ForStore(std::string_view store_id) const {
  return stores.empty() || std::binary_search(stores.begin(), stores.end(), store_id);
}

json OfferSpec::ToJson() const {
  return json{{"id", id},
              {"title", title},
              {"text", text},
              {"segment", segment},
              {"stores", stores},
              {"valid_from", valid_from},
              {"valid_until", valid_until},
              {"priority", priority},
              {"max_per_customer", max_per_customer},
              {"requires_consent", requires_consent}};
}

Result<OfferSpec> ParseOfferSpec(const json& body) {
  if (!body.is_object()) return Bad("body", "must be a JSON object");
  static constexpr std::string_view kKnown[] = {
      "id",          "title",    "text",             "segment",         "stores", "valid_from",
      "valid_until", "priority", "max_per_customer", "requires_consent"};
  for (const auto& [k, v] : body.items()) {
    if (std::find(std::begin(kKnown), std::end(kKnown), k) == std::end(kKnown))
      return Bad(k, "unknown field");
  }
  OfferSpec s;
  CJD_RETURN_IF_ERROR(ReadString(body, "id", true, 1, 64, &s.id));
  if (!IsValidOfferId(s.id)) return Bad("id", "must be 1..64 characters of [A-Za-z0-9._:-]");
  CJD_RETURN_IF_ERROR(ReadString(body, "title", true, 1, kMaxTitleBytes, &s.title));
  CJD_RETURN_IF_ERROR(ReadString(body, "text", false, 0, kMaxTextBytes, &s.text));
  CJD_RETURN_IF_ERROR(ReadString(body, "segment", true, 1, 64, &s.segment));
  if (!IsValidSegmentRef(s.segment))
    return Bad("segment", "must be \"all\" or a segment id ([a-z0-9_-], 1..64)");
  if (auto it = body.find("stores"); it != body.end()) {
    if (!it->is_array()) return Bad("stores", "must be an array of store ids");
    if (it->size() > kMaxStoresPerOffer)
      return Bad("stores", "at most " + std::to_string(kMaxStoresPerOffer) + " stores");
    for (size_t i = 0; i < it->size(); ++i) {
      const json& v = (*it)[i];
      const std::string field = "stores[" + std::to_string(i) + "]";
      if (!v.is_string() || !IsStoreId(v.get<std::string>()))
        return Bad(field, "must be a store id (1..64 bytes, no control characters)");
      s.stores.push_back(v.get<std::string>());
    }
    std::sort(s.stores.begin(), s.stores.end());
    s.stores.erase(std::unique(s.stores.begin(), s.stores.end()), s.stores.end());
  }
  CJD_RETURN_IF_ERROR(ReadTime(body, "valid_from", &s.valid_from, &s.valid_from_ms));
  CJD_RETURN_IF_ERROR(ReadTime(body, "valid_until", &s.valid_until, &s.valid_until_ms));
  if (s.valid_until_ms <= s.valid_from_ms) return Bad("valid_until", "must be after valid_from");
  CJD_RETURN_IF_ERROR(ReadInt(body, "priority", -kMaxPriority, kMaxPriority, &s.priority));
  CJD_RETURN_IF_ERROR(ReadInt(body, "max_per_customer", 0, 1'000'000, &s.max_per_customer));
  if (auto it = body.find("requires_consent"); it != body.end()) {
    if (!it->is_boolean()) return Bad("requires_consent", "must be true or false");
    s.requires_consent = it->get<bool>();
  }
  return s;
}

}  // namespace cjd::hub::offers

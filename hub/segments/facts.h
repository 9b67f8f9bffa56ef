// ProfileFacts: the values a segment rule reads about one profile — traits, RFM scores, consent
// and attributes — keyed by the rule's field name ("orders", "rfm.recency", "attributes.tier").
// A plain value type with no I/O; FactsFromProfileJson fills it from the document
// GET /v1/profiles/{id} answers (hub/projection/profile_reader.cpp), so the hub can evaluate
// rules on what it already serves.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/event/decimal.h"

namespace cjd::hub::segments {

// A point in time (RFC 3339 in JSON), as UTC milliseconds.
struct Instant {
  int64_t utc_ms = 0;
  friend bool operator==(const Instant&, const Instant&) = default;
};

using StringList = std::vector<std::string>;

// One value: null, true/false, an exact number (integers have scale 0; money keeps its scale),
// a string, a list of strings (channels) or an instant.
using FactValue = std::variant<std::monostate, bool, Decimal, std::string, StringList, Instant>;

class ProfileFacts {
 public:
  // Sets (or replaces) a field; a missing field reads as null.
  void Set(std::string field, FactValue value) { values_[std::move(field)] = std::move(value); }
  void SetInt(std::string field, int64_t v) { Set(std::move(field), Decimal(v, 0)); }
  // Nullptr when the field was never set.
  const FactValue* Find(std::string_view field) const {
    auto it = values_.find(field);
    return it == values_.end() ? nullptr : &it->second;
  }
  const std::map<std::string, FactValue, std::less<>>& values() const { return values_; }

 private:
  std::map<std::string, FactValue, std::less<>> values_;
};

// Reads a profile document ({"attributes": {...}, "traits": {...}, ...}; other members are
// ignored). Traits: counts as integers, money strings ("312.40") as exact decimals, times as
// instants, channels as a list, rfm.{recency,frequency,monetary} from "rfm" (null when the
// profile has no score), consent from traits.consent (true/false, or an object with a
// "marketing" member). Attributes become "attributes.NAME" (nested objects "attributes.a.b"):
// strings, true/false, numbers as exact decimals (a number that has no exact decimal form of at
// most 18 digits reads as null), arrays as string lists. Values of the wrong type read as null;
// never fails.
ProfileFacts FactsFromProfileJson(const nlohmann::json& profile);

// Adds the document's "attributes" object as "attributes.NAME" facts, exactly as
// FactsFromProfileJson does (for facts read from the tables, hub/segments/table_facts.h).
void AddAttributeFacts(const nlohmann::json& attributes, ProfileFacts* facts);

}  // namespace cjd::hub::segments

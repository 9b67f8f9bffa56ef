// An offer as marketing writes it (POST /v1/offers, `cjdctl offers put`): what it says, who may
// see it (a segment, or "all"), where (stores; empty = every store), when (valid_from ..
// valid_until, RFC 3339, end exclusive), how it ranks (priority, higher first), at most how many
// times one customer may redeem it (max_per_customer, 0 = no limit) and whether it needs the
// customer's marketing consent. A plain value: parsing checks every field and names the one at
// fault, so nothing invalid reaches the planner or the kiosks.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "shared/core/status.h"

namespace cjd::hub::offers {

inline constexpr std::string_view kEveryone = "all";  // the segment of an offer for everyone
inline constexpr int64_t kMaxPriority = 1'000'000;    // |priority| bound
inline constexpr size_t kMaxStoresPerOffer = 1000;

struct OfferSpec {
  std::string id;                   // [A-Za-z0-9._:-]{1,64}
  std::string title;                // 1..200 bytes
  std::string text;                 // 0..2000 bytes
  std::string segment;              // a segment id, or "all"
  std::vector<std::string> stores;  // sorted, unique; empty = every store
  std::string valid_from;           // RFC 3339 as written
  std::string valid_until;
  int64_t valid_from_ms = 0;
  int64_t valid_until_ms = 0;
  int64_t priority = 0;
  int64_t max_per_customer = 0;
  bool requires_consent = false;
  bool operator==(const OfferSpec&) const = default;

  bool ForStore(std::string_view store_id) const;
  // The fields above as JSON (the keys of the request body).
  nlohmann::json ToJson() const;
};

// Reads a request body. Required: id, title, segment, valid_from, valid_until; optional: text
// (""), stores ([]), priority (0), max_per_customer (0), requires_consent (false). Unknown fields
// are refused. kInvalid naming the field ("valid_until", "stores[2]") on any mistake.
// Whether the segment exists is for the caller to check.
Result<OfferSpec> ParseOfferSpec(const nlohmann::json& body);

// Segment ids as offers name them: "all" or [a-z0-9_-]{1,64}.
bool IsValidSegmentRef(std::string_view id);

}  // namespace cjd::hub::offers

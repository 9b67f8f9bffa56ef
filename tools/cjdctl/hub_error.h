// The error in a hub's (or agent's) non-2xx answer, whichever of the two shapes it uses:
//   {"error": {"code": "...", "message": "...", "field": "..."}}       (agent, hub /v1/ API)
//   {"error": "...", "message": "...", "field": "..."}                  (flat)
// Pure; used by `cjdctl import` and `cjdctl report`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cjd::ctl {

struct HubError {
  std::string code;     // "invalid_event", ...; may be empty
  std::string message;  // may be empty
  std::string field;    // "[3].order.items[0].unit_price"; may be empty
  // "code: message (field F)", or `body` itself (cut to 300 bytes) when it is not such JSON.
  std::string text;
};

HubError ParseHubError(std::string_view body);

// The leading array index of a field path: "[3].order.order_id" -> 3; none without "[N]".
std::optional<size_t> LeadingIndex(std::string_view field);

}  // namespace cjd::ctl

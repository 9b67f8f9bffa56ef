// POST /v1/collect request bodies: from HTTP request to events ready for HubStore::CommitCollect,
// or to the error response. Pure (no I/O); the HTTP API does authentication and the commit.
//
// The contract is the agent's POST /v1/events: one event object or a JSON array of them; the
// first bad field is named with its array index ("[2].order.items[0].unit_price"); all or
// nothing; events without an event_id get a generated one (UUIDv7).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hub/store/hub_store.h"
#include "shared/event/event.h"
#include "shared/http/server.h"

namespace cjd::hub {

// Events in one request (more: 413). The body size is bounded by [http] max_body_bytes.
inline constexpr size_t kMaxCollectEvents = 10000;

struct CollectParse {
  std::vector<CollectEvent> events;     // when error is empty: in request order, ids assigned
  std::optional<http::Response> error;  // 400 invalid_json / invalid (with field), 413, 415
};

// `now_ms` stamps generated event ids. A Content-Type other than application/json (or a +json
// type) is a 415; a missing Content-Type is read as JSON.
CollectParse ParseCollectRequest(const http::Request& req, int64_t now_ms);

// "application/json; charset=utf-8" -> "application/json" (lower case, no blanks).
std::string MediaType(std::string_view content_type);
// A validated event as the store commits it: an id made (UUIDv7 at `now_ms`) when it has none,
// its canonical JSON.
CollectEvent ToCollectEvent(Event e, int64_t now_ms);

}  // namespace cjd::hub

// Segment-compatible tracking API (issue 16): the bodies of POST /v1/track, /v1/identify,
// /v1/page, /v1/screen, /v1/group, /v1/alias and /v1/batch, as Segment's HTTP Tracking API and
// its SDKs (analytics-node, analytics.js, the mobile SDKs) send them, translated into our events
// ready for HubStore::CommitCollect. Pure (no I/O): the HTTP API authenticates (the source key is
// the write key) and commits.
//
// The mapping, field by field (hub/collect/README.md has the table):
//   userId -> customer.customer_id; anonymousId -> customer.anonymous_id (numbers as written);
//   messageId -> event_id (as is when it is 1..128 of [A-Za-z0-9._:-], else "seg-" + the hex of
//   its BLAKE2b-128), so a resent message is stored once; without one the hub makes an id;
//   timestamp (else originalTimestamp, else sentAt, else receipt) corrected by the client's
//   clock skew, receivedAt - sentAt, when sentAt is given (on the call or the batch) ->
//   occurred_at; properties -> properties, context -> properties.context (integrations ignored).
//   identify: traits -> attributes (camelCase to snake_case, nested objects flattened with "_";
//   firstName/lastName/birthday/address.{street,city,postalCode,state} to the matching fields
//   first_name/last_name/date_of_birth/address_line1/city/postcode/region), traits.email and
//   traits.phone also as identifiers when well-formed.
//   page -> page_view (name, and url from context.page when properties lack it); screen ->
//   page_view with channel "app"; group -> identify with attributes group_id and group_* traits;
//   alias -> identify linking customer_id userId and anonymous_id previousId.
//   track: the e-commerce spec's "Product Viewed" -> product_view, "Product Added" ->
//   add_to_cart, "Product Removed" -> remove_from_cart, "Checkout Started" -> checkout_started,
//   "Order Completed" -> order_completed (order_id, currency (default USD), products[] -> items:
//   sku (else product_id), quantity (default 1), price exact, category, name -> description;
//   no products: one item "order" at revenue, else total). Other track names are reported
//   and skipped for now (a custom `track` event type is not in the schema yet).
//
// Lenient like Segment: in a batch, a call that cannot be mapped or does not validate is
// reported in `errors` and skipped, the rest stored; a single call that fails is the request's
// 400 naming the field. 400 only when the body cannot be read at all.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/store/hub_store.h"
#include "shared/http/server.h"

namespace cjd::hub {

// The calls POST /v1/{kind} takes.
bool IsSegmentPath(std::string_view path);

struct SegmentParse {
  std::vector<CollectEvent> events;
  nlohmann::json errors = nlohmann::json::array();  // [{"index", "field", "message"}]: skipped
  std::string write_key;                // the body's "writeKey" (analytics.js beacons), if any
  std::optional<http::Response> error;  // the request as a whole: 400, 413, 415
};

// `req.body` already decompressed. `now_ms`: receipt time (receivedAt) and generated ids.
SegmentParse ParseSegmentRequest(const http::Request& req, int64_t now_ms);

// The write key of "Authorization: Basic base64(KEY:)" (Segment's SDKs) or "Bearer KEY"; empty
// when neither.
std::string SegmentWriteKey(const http::Request& head);

}  // namespace cjd::hub

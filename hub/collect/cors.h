// CORS for the browser-facing collect endpoints (POST /v1/collect and the Segment-compatible
// /v1/track, /v1/identify, ... /v1/batch): which web origins may post as a source.
//
// Each source has its own list of allowed origins (`cjdctl add-source --allowed-origin
// https://shop.test`, changed with `cjdctl source-origins`); none by default, so a browser can
// post only for a source that names its site. The rules (hub/collect/README.md "CORS"):
// - Preflight (OPTIONS, no credentials): answered 204 with the CORS headers when the Origin is
//   allowed by some source, 403 naming "Origin" otherwise. Browsers cache it for 10 minutes.
// - The request itself: when it carries an Origin, that origin must be allowed by the source its
//   key names (403 naming "Origin" otherwise, nothing stored); every answer to an allowed origin
//   carries Access-Control-Allow-Origin with that origin (never "*") and Vary: Origin. Requests
//   without an Origin (servers, SDKs outside a browser) are not affected.
// Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"
#include "shared/http/server.h"

namespace cjd::hub {

// The normal form of an origin: "scheme://host[:port]" with scheme http or https, host lower
// case, the default port (80, 443) dropped; or "*" (any origin). kInvalid (field `field`) for
// anything else: a path, a query, credentials, another scheme, an empty host.
Result<std::string> NormalizeOrigin(std::string_view text, std::string_view field = "origin");

// True when `origin` (as the browser sent it) is in `allowed` (normal forms), or `allowed` has
// "*". A malformed or "null" Origin is never allowed (except by "*").
bool OriginAllowed(const std::vector<std::string>& allowed, std::string_view origin);

// The answer to a preflight from an allowed origin: 204, Access-Control-Allow-Origin (the
// origin), -Methods "POST, OPTIONS", -Headers (the requested ones among Authorization,
// Content-Type, Content-Encoding, and the Segment SDKs' X-Requested-With), -Max-Age 600, Vary.
// A requested method other than POST or a header outside that list: 403 naming it.
http::Response PreflightResponse(const http::Request& head);

// Adds Access-Control-Allow-Origin: origin and Vary: Origin to `response`.
void AddCorsHeaders(http::Response* response, std::string_view origin);

// 403 {"error": {"code": "origin_not_allowed", "field": "Origin", ...}}.
http::Response OriginRefused(std::string_view origin);

}  // namespace cjd::hub

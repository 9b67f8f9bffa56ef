// The dashboard's files under /ui/ (GET, no token: they hold no data; every figure the
// page shows comes from the /v1/ API with the token the user signs in with). /ui answers 308 to
// /ui/, /ui/ is index.html. Each answer forbids what the page does not need (Content-Security-
// Policy: scripts, styles and connections from the hub itself only, no frames, no inline code),
// is never sniffed and sends no referrer.
#pragma once

#include <optional>

#include "shared/http/server.h"

namespace cjd::hub::ui {

// True for "/ui" and every path under "/ui/".
bool IsUiPath(const std::string& path);

// The answer to a request for a dashboard path (IsUiPath): the file, 404 for an unknown one,
// 405 for a method other than GET, 400 for a request with a body.
http::Response Serve(const http::Request& req);

}  // namespace cjd::hub::ui

#include "hub/ui/ui_server.h"

#include <string_view>

#include "hub/ui/ui_assets.h"

namespace cjd::hub::ui {
namespace {

std::string ContentType(std::string_view path) {
  auto ends = [&](std::string_view s) {
    return path.size() >= s.size() && path.substr(path.size() - s.size()) == s;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".json")) return "application/json";
  return "application/octet-stream";
}

void Harden(http::Response& r) {
  r.headers["Content-Security-Policy"] =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";
  r.headers["X-Content-Type-Options"] = "nosniff";
  r.headers["Referrer-Policy"] = "no-referrer";
  r.headers["X-Frame-Options"] = "DENY";
  r.headers["Cache-Control"] = "no-cache";
}

}  // namespace

bool IsUiPath(const std::string& path) { return path == "/ui" || path.rfind("/ui/", 0) == 0; }

http::Response Serve(const http::Request& req) {
  http::Response r;
  if (req.method != "GET") {
    r = http::JsonError(405, "method_not_allowed", "use GET");
  } else if (http::HasBody(req)) {
    r = http::JsonError(400, "bad_request", "the dashboard's files take no request body");
  } else if (req.path == "/ui") {
    r.status = 308;
    r.body.clear();
    r.content_type = "text/plain; charset=utf-8";
    r.headers["Location"] = "/ui/";
  } else {
    std::string_view name = std::string_view(req.path).substr(3);  // "/..." after "/ui"
    if (name == "/") name = "/index.html";
    r = http::JsonError(404, "not_found", "no such file: " + req.path.substr(0, 200));
    for (const Asset& a : Assets()) {
      if (a.path == name) {
        r.status = 200;
        r.body = std::string(a.bytes);
        r.content_type = ContentType(name);
        break;
      }
    }
  }
  Harden(r);
  return r;
}

}  // namespace cjd::hub::ui

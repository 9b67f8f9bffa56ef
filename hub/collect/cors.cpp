#include "hub/collect/cors.h"

#include <algorithm>
#include <cctype>

namespace cjd::hub {
namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

// The request headers a collect client may send (lower case).
constexpr std::string_view kAllowedHeaders[] = {"authorization", "content-type",
                                                "content-encoding", "x-requested-with"};

}  // namespace

Result<std::string> NormalizeOrigin(std::string_view text, std::string_view field) {
  const std::string f(field);
  if (text == "*") return std::string("*");
  auto bad = [&](const std::string& why) {
    return Status::Invalid(f + ": \"" + std::string(text.substr(0, 100)) + "\" is not an origin (" + why +
                               "): write scheme://host[:port], e.g. https://shop.example.net",
                           f);
  };
  if (text.size() > 255) return bad("longer than 255 characters");
  const std::string lower = Lower(text);
  std::string scheme;
  std::string_view rest;
  if (lower.rfind("https://", 0) == 0) {
    scheme = "https";
    rest = std::string_view(lower).substr(8);
  } else if (lower.rfind("http://", 0) == 0) {
    scheme = "http";
    rest = std::string_view(lower).substr(7);
  } else {
    return bad("the scheme must be http or https");
  }
  if (rest.empty()) return bad("no host");
  if (rest.find_first_of("/?#@") != std::string_view::npos) {
    return bad("only scheme, host and port: no path, query or user");
  }
  std::string_view host = rest;
  std::string port;
  // [v6]:port or host:port.
  if (host.front() == '[') {
    const size_t close = host.find(']');
    if (close == std::string_view::npos) return bad("unclosed [");
    if (close + 1 < host.size()) {
      if (host[close + 1] != ':') return bad("junk after ]");
      port = std::string(host.substr(close + 2));
    }
    host = host.substr(0, close + 1);
  } else if (const size_t colon = host.rfind(':'); colon != std::string_view::npos) {
    port = std::string(host.substr(colon + 1));
    host = host.substr(0, colon);
  }
  if (host.empty() || host == "[]") return bad("no host");
  for (const char c : host) {
    const bool ok = std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' ||
                    c == '[' || c == ']' || c == ':' || c == '_';
    if (!ok) return bad("the host has a character other than letters, digits, '.', '-'");
  }
  if (!port.empty() || rest.back() == ':') {
    if (port.empty() || port.size() > 5 ||
        !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("the port must be 1 to 65535");
    }
    const int p = std::stoi(port);
    if (p < 1 || p > 65535) return bad("the port must be 1 to 65535");
    if ((scheme == "https" && p == 443) || (scheme == "http" && p == 80)) port.clear();
    else port = std::to_string(p);
  }
  std::string out = scheme + "://" + std::string(host);
  if (!port.empty()) out += ":" + port;
  return out;
}

bool OriginAllowed(const std::vector<std::string>& allowed, std::string_view origin) {
  if (std::find(allowed.begin(), allowed.end(), "*") != allowed.end()) return true;
  if (origin.empty() || origin == "null") return false;
  Result<std::string> normal = NormalizeOrigin(origin);
  if (!normal.ok()) return false;
  return std::find(allowed.begin(), allowed.end(), *normal) != allowed.end();
}

void AddCorsHeaders(http::Response* response, std::string_view origin) {
  response->headers["Access-Control-Allow-Origin"] = std::string(origin);
  response->headers["Vary"] = "Origin";
}

http::Response OriginRefused(std::string_view origin) {
  return http::JsonError(403, "origin_not_allowed",
                         "origin \"" + std::string(origin.substr(0, 100)) +
                             "\" may not post for this source (cjdctl add-source "
                             "--allowed-origin / cjdctl source-origins)",
                         "Origin");
}

http::Response PreflightResponse(const http::Request& head) {
  const std::string origin = head.Header("origin");
  const std::string method = Trim(head.Header("access-control-request-method"));
  if (!method.empty() && method != "POST") {
    return http::JsonError(403, "method_not_allowed", "only POST is allowed here, not " + method,
                           "Access-Control-Request-Method");
  }
  std::string requested = Lower(head.Header("access-control-request-headers"));
  std::string allow;
  size_t start = 0;
  while (start <= requested.size()) {
    size_t comma = requested.find(',', start);
    if (comma == std::string::npos) comma = requested.size();
    const std::string name = Trim(std::string_view(requested).substr(start, comma - start));
    start = comma + 1;
    if (name.empty()) continue;
    if (std::find(std::begin(kAllowedHeaders), std::end(kAllowedHeaders), name) ==
        std::end(kAllowedHeaders)) {
      return http::JsonError(403, "header_not_allowed",
                             "request header \"" + name.substr(0, 64) +
                                 "\" is not allowed (Authorization, Content-Type, "
                                 "Content-Encoding, X-Requested-With)",
                             "Access-Control-Request-Headers");
    }
    if (!allow.empty()) allow += ", ";
    allow += name;
  }
  http::Response r{204, "", "application/json", {}};
  AddCorsHeaders(&r, origin);
  r.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS";
  if (!allow.empty()) r.headers["Access-Control-Allow-Headers"] = allow;
  r.headers["Access-Control-Max-Age"] = "600";
  r.headers["Vary"] = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
  return r;
}

}  // namespace cjd::hub

// Request accessors and the JSON error responses. Pure functions, no I/O.
#include <nlohmann/json.hpp>

#include <cctype>
#include <charconv>

#include "shared/http/server.h"

namespace cjd::http {
namespace {

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) !=
        std::tolower(static_cast<unsigned char>(prefix[i]))) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string Request::Header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string() : it->second;
}

std::string Request::BearerToken() const {
  auto it = headers.find("authorization");
  if (it == headers.end()) return {};
  std::string_view value = Trim(it->second);
  constexpr std::string_view kScheme = "bearer ";
  if (!StartsWithNoCase(value, kScheme)) return {};
  return std::string(Trim(value.substr(kScheme.size())));
}

bool HasBody(const Request& head) {
  if (head.headers.count("transfer-encoding") != 0) return true;
  const std::string length = std::string(Trim(head.Header("content-length")));
  return !length.empty() && length.find_first_not_of('0') != std::string::npos;
}

Response JsonError(int status, std::string_view code, std::string_view message,
                   std::string_view field) {
  nlohmann::json error = {{"code", code}, {"message", message}};
  if (!field.empty()) error["field"] = field;
  nlohmann::json body = {{"error", std::move(error)}};
  Response response;
  response.status = status;
  // Messages may quote client input: replace invalid UTF-8 instead of throwing.
  response.body = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  response.content_type = "application/json";
  return response;
}

Response InvalidField(std::string field, std::string message) {
  return ErrorFromStatus(Status::Invalid(std::move(message), std::move(field)));
}

std::optional<int64_t> ParseCount(std::string_view s) {
  int64_t v = 0;
  if (s.empty() || s.size() > 18) return std::nullopt;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < 0) return std::nullopt;
  return v;
}

Response ErrorFromStatus(const Status& status) {
  switch (status.code()) {
    case Code::kInvalid: return JsonError(400, "invalid", status.message(), status.field());
    case Code::kUnauthorized: return JsonError(401, "unauthorized", status.message());
    case Code::kNotFound: return JsonError(404, "not_found", status.message());
    case Code::kConflict: return JsonError(409, "conflict", status.message());
    case Code::kTooLarge: return JsonError(413, "payload_too_large", status.message());
    case Code::kUnavailable: return JsonError(503, "unavailable", status.message());
    case Code::kFull: return JsonError(507, "insufficient_storage", status.message());
    case Code::kOk:
    case Code::kIo:
    case Code::kCrypto:
    case Code::kInternal: break;
  }
  return JsonError(500, "internal", status.message());
}

}  // namespace cjd::http

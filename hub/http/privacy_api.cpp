#include "hub/http/privacy_api.h"

#include <nlohmann/json.hpp>

#include "shared/event/event.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

constexpr std::string_view kPrivacy = "/v1/privacy";

}  // namespace

bool PrivacyApi::Owns(const std::string& path) {
  return path == kPrivacy || path.rfind(std::string(kPrivacy) + "/", 0) == 0;
}

http::Response PrivacyApi::Handle(const http::Request& req) {
  if (req.path == "/v1/privacy/export") {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    return Export(req);
  }
  return http::JsonError(404, "not_found", "no such endpoint: " + req.path);
}

http::Response PrivacyApi::Export(const http::Request& req) {
  std::string identifier;
  for (const auto& [name, value] : req.query) {
    if (name != "identifier") {
      return http::InvalidField(name, "unknown parameter; expected identifier");
    }
    identifier = value;
  }
  Result<int64_t> pid = profiles_->FindByIdentifier(identifier);
  if (!pid.ok()) return http::ErrorFromStatus(pid.status());
  Result<json> profile = profiles_->FullProfile(*pid);
  if (!profile.ok()) return http::ErrorFromStatus(profile.status());

  json out;
  out["generated_at"] = FormatRfc3339(clock_->NowMillis());
  out["requested_identifier"] = identifier;
  out["profile"] = std::move(*profile);
  json& events = out["profile"]["events"];
  // The offers kiosks showed the person, from the impressions among its events.
  json shown = json::array();
  for (const json& e : events) {
    const json& body = e["event"];
    if (body.value("type", "") != "offer_impression") continue;
    shown.push_back({{"at", body.value("occurred_at", "")},
                     {"store_id", body.value("store_id", "")},
                     {"device", e.value("source", "")},
                     {"offer_ids", body.value("offer_ids", json::array())}});
  }
  out["offers_shown"] = std::move(shown);
  json segments = json::array();
  if (segments_ != nullptr) {
    auto ids = segments_->SegmentsOf(out["profile"]["profile_id"].get<int64_t>());
    if (!ids.ok()) return http::ErrorFromStatus(ids.status());
    for (const std::string& id : *ids) segments.push_back(id);
  }
  out["segments"] = std::move(segments);
  out["events_total"] = events.size();
  return {200, out.dump()};
}

}  // namespace cjd::hub

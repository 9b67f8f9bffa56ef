#include "hub/http/privacy_api.h"

#include <nlohmann/json.hpp>

#include "hub/identity/identifier.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

constexpr std::string_view kPrivacy = "/v1/privacy";
constexpr std::string_view kErasures = "/v1/privacy/erasures";

json TimeOrNull(int64_t ms) { return ms == 0 ? json(nullptr) : json(FormatRfc3339(ms)); }

}  // namespace

bool PrivacyApi::Owns(const std::string& path) {
  return path == kPrivacy || path.rfind(std::string(kPrivacy) + "/", 0) == 0;
}

http::Response PrivacyApi::Handle(const http::Request& req) {
  if (req.path == "/v1/privacy/export") {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    return Export(req);
  }
  if (req.path == kErasures) {
    if (req.method == "POST") return RequestErasure(req);
    if (req.method == "GET") return ListErasures(req);
    return http::JsonError(405, "method_not_allowed", "use POST or GET");
  }
  if (req.path.rfind(std::string(kErasures) + "/", 0) == 0) {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    return GetErasure(req.path.substr(kErasures.size() + 1));
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

http::Response PrivacyApi::RequestErasure(const http::Request& req) {
  Result<json> body = ParseJsonExact(req.body);
  if (!body.ok()) return http::ErrorFromStatus(body.status());
  if (!body->is_object()) {
    return http::InvalidField("", "must be a JSON object, like {\"identifier\": \"email:ann@example.com\"}");
  }
  std::string identifier;
  int64_t profile_id = 0;
  bool suppress = false;
  for (const auto& [name, value] : body->items()) {
    if (name == "identifier") {
      if (!value.is_string() || value.get<std::string>().empty()) {
        return http::InvalidField("identifier", "must be a string TYPE:VALUE, like email:ann@example.com");
      }
      identifier = value.get<std::string>();
    } else if (name == "profile_id") {
      std::optional<int64_t> id;
      if (value.is_number_unsigned()) id = value.get<int64_t>();
      if (value.is_string()) id = http::ParseCount(value.get<std::string>());
      if (!id || *id <= 0) return http::InvalidField("profile_id", "must be a profile id (a positive integer)");
      profile_id = *id;
    } else if (name == "suppress") {
      if (!value.is_boolean()) return http::InvalidField("suppress", "must be true or false");
      suppress = value.get<bool>();
    } else {
      return http::InvalidField(name, "unknown field; expected identifier or profile_id, and suppress");
    }
  }
  if (identifier.empty() == (profile_id == 0)) {
    return http::InvalidField(identifier.empty() ? "identifier" : "profile_id",
                              "give exactly one of identifier and profile_id");
  }
  if (profile_id != 0) {
    Result<bool> exists = profiles_->ProfileExists(profile_id);
    if (!exists.ok()) return http::ErrorFromStatus(exists.status());
    if (!*exists) {
      return http::JsonError(404, "not_found", "no profile " + std::to_string(profile_id));
    }
  }
  Result<privacy::ErasureRequest> r = eraser_->Request(identifier, profile_id, suppress);
  if (!r.ok()) return http::ErrorFromStatus(r.status());
  return {202, ErasureJson(*r).dump()};
}

http::Response PrivacyApi::GetErasure(const std::string& id) {
  auto r = eraser_->Get(id);
  if (!r.ok()) return http::ErrorFromStatus(r.status());
  if (!*r) return http::JsonError(404, "not_found", "no erasure request " + id);
  return {200, ErasureJson(**r).dump()};
}

http::Response PrivacyApi::ListErasures(const http::Request& req) {
  int64_t after = 0;
  int64_t limit = 100;
  for (const auto& [name, value] : req.query) {
    std::optional<int64_t> n = http::ParseCount(value);
    if (name == "after") {
      if (!n) return http::InvalidField("after", "must be a non-negative integer (next_after)");
      after = *n;
    } else if (name == "limit") {
      if (!n || *n < 1 || *n > 1000) return http::InvalidField("limit", "must be 1..1000");
      limit = *n;
    } else {
      return http::InvalidField(name, "unknown parameter; expected after, limit");
    }
  }
  auto list = eraser_->List(after, static_cast<int>(limit));
  if (!list.ok()) return http::ErrorFromStatus(list.status());
  json out;
  out["erasures"] = json::array();
  for (const privacy::ErasureRequest& r : *list) out["erasures"].push_back(ErasureJson(r));
  out["next_after"] = static_cast<int64_t>(list->size()) == limit ? json(list->back().seq) : json(nullptr);
  return {200, out.dump()};
}

json PrivacyApi::ErasureJson(const privacy::ErasureRequest& r) const {
  json j;
  j["id"] = r.id;
  j["seq"] = r.seq;
  const bool done = r.done();
  j["state"] = done ? "done" : "pending";
  j["requested_at"] = FormatRfc3339(r.requested_ms);
  j["deadline"] = FormatRfc3339(r.deadline_ms);
  j["done_at"] = TimeOrNull(r.done_ms());
  if (done) {
    j["met"] = r.done_ms() <= r.deadline_ms;
  } else {
    j["met"] = clock_->NowMillis() > r.deadline_ms ? json(false) : json(nullptr);
  }
  j["suppress"] = r.suppress;
  if (r.subject_type >= 0) {
    j["subject"] = {{"identifier_type",
                     identity::IdTypeName(static_cast<identity::IdType>(r.subject_type))}};
  } else {
    j["subject"] = {{"profile_id", r.profile_id}};
  }
  j["hub"] = {{"state", r.hub_done ? "done" : "pending"},
              {"done_at", TimeOrNull(r.hub_done_ms)},
              {"profile_id", r.erased_profile == 0 ? json(nullptr) : json(r.erased_profile)},
              {"events_redacted", r.events_redacted}};
  json devices = json::array();
  for (const privacy::ErasureDevice& d : r.devices) {
    devices.push_back({{"device_id", d.device_id},
                       {"state", d.done ? "done" : "pending"},
                       {"sent_at", TimeOrNull(d.sent_ms)},
                       {"done_at", TimeOrNull(d.done_ms)}});
  }
  j["devices"] = std::move(devices);
  return j;
}

}  // namespace cjd::hub

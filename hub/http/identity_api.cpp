#include "hub/http/identity_api.h"

#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {
namespace {

using nlohmann::json;
using matching::ProfileMatcher;

constexpr std::string_view kPrefix = "/v1/identity/review";
constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 1000;

json ViewJson(const ProfileMatcher::ReviewView& v) {
  const matching::ReviewItem& r = v.item;
  auto side = [](int64_t found, int64_t live, const json& fields) {
    return json{{"profile_id", live == 0 ? json(nullptr) : json(live)},
                {"found_as", found},
                {"fields", fields}};
  };
  return {{"id", r.review_id},
          {"probability", r.probability},
          {"status", r.status},
          {"created_at", FormatRfc3339(r.created_ms)},
          {"decided_at", r.decided_ms > 0 ? json(FormatRfc3339(r.decided_ms)) : json(nullptr)},
          {"merge_id", r.merge_id > 0 ? json(r.merge_id) : json(nullptr)},
          {"profiles", json::array({side(r.a, v.live_a, v.fields_a), side(r.b, v.live_b, v.fields_b)})}};
}

}  // namespace

bool IdentityApi::Owns(const std::string& path) {
  return path == kPrefix || path.rfind(std::string(kPrefix) + "/", 0) == 0;
}

http::Response IdentityApi::Handle(const http::Request& req) {
  if (matcher_ == nullptr) {
    return http::JsonError(503, "unavailable",
                           "probabilistic matching is off ([identity] probabilistic)");
  }
  if (req.path == kPrefix) {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    return List(req);
  }
  const std::string tail = req.path.substr(kPrefix.size() + 1);
  const auto id = http::ParseCount(tail);
  if (!id || *id <= 0) {
    return http::JsonError(404, "not_found", "no such review item: " + tail, "id");
  }
  if (req.method == "GET") {
    if (!req.query.empty()) return http::InvalidField(req.query.begin()->first, "unknown parameter");
    auto v = matcher_->Review(*id);
    if (!v.ok()) return http::ErrorFromStatus(v.status());
    if (!*v) return http::JsonError(404, "not_found", "no review item " + tail, "id");
    return {200, ViewJson(**v).dump()};
  }
  if (req.method == "POST") return Decide(req, *id);
  return http::JsonError(405, "method_not_allowed", "use GET or POST");
}

http::Response IdentityApi::List(const http::Request& req) {
  std::string status = "pending";
  int64_t limit = kDefaultLimit;
  int64_t after = 0;
  for (const auto& [name, value] : req.query) {
    if (name == "status") {
      if (value != "pending" && value != "merged" && value != "kept_apart" && value != "all") {
        return http::InvalidField("status", "must be pending, merged, kept_apart or all");
      }
      status = value == "all" ? "" : value;
    } else if (name == "limit") {
      const auto n = http::ParseCount(value);
      if (!n || *n < 1 || *n > kMaxLimit) {
        return http::InvalidField("limit", "must be an integer from 1 to 1000");
      }
      limit = *n;
    } else if (name == "after") {
      const auto n = http::ParseCount(value);
      if (!n) return http::InvalidField("after", "must be a review id (next_after of the previous page)");
      after = *n;
    } else {
      return http::InvalidField(name, "unknown parameter; expected status, limit, after");
    }
  }
  auto views = matcher_->Reviews(status, after, static_cast<int>(limit) + 1);
  if (!views.ok()) return http::ErrorFromStatus(views.status());
  const bool more = static_cast<int64_t>(views->size()) > limit;
  if (more) views->pop_back();
  json items = json::array();
  for (const auto& v : *views) items.push_back(ViewJson(v));
  json out = {{"reviews", std::move(items)},
              {"next_after", more ? json(views->back().item.review_id) : json(nullptr)}};
  return {200, out.dump()};
}

http::Response IdentityApi::Decide(const http::Request& req, int64_t id) {
  if (!req.query.empty()) return http::InvalidField(req.query.begin()->first, "unknown parameter");
  Result<json> body = ParseJsonExact(req.body);
  if (!body.ok()) return http::ErrorFromStatus(body.status());
  if (!body->is_object()) {
    return http::InvalidField("body", "must be a JSON object, like {\"decision\": \"merge\"}");
  }
  for (auto it = body->begin(); it != body->end(); ++it) {
    if (it.key() != "decision") return http::InvalidField(it.key(), "unknown field; expected decision");
  }
  auto d = body->find("decision");
  if (d == body->end() || !d->is_string() ||
      (d->get<std::string>() != "merge" && d->get<std::string>() != "keep_apart")) {
    return http::InvalidField("decision", "must be \"merge\" or \"keep_apart\"");
  }
  auto v = matcher_->Decide(id, d->get<std::string>());
  if (!v.ok()) return http::ErrorFromStatus(v.status());
  return {200, ViewJson(*v).dump()};
}

json IdentityApi::StatsJson() {
  if (matcher_ == nullptr) return {{"enabled", false}};
  json j = matcher_->StatsJson();
  const int64_t at = j["last_fit_at_ms"].get<int64_t>();
  j.erase("last_fit_at_ms");
  j["last_fit_at"] = at > 0 ? json(FormatRfc3339(at)) : json(nullptr);
  if (j["last_error"] == "") j["last_error"] = nullptr;
  return j;
}

}  // namespace cjd::hub

#include "hub/http/destination_api.h"

#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/http/client.h"

namespace cjd::hub {
namespace {

using nlohmann::json;
using activation::Delivery;
using activation::Destination;

constexpr std::string_view kPrefix = "/v1/destinations";
constexpr int64_t kDefaultLimit = 100;
constexpr int64_t kMaxLimit = 1000;

bool IsIdChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

json DestinationJson(const Destination& d, const activation::DeliveryCounts& c) {
  return {{"id", d.id},
          {"url", d.url},
          {"events", d.events},
          {"segment", d.segment.empty() ? json(nullptr) : json(d.segment)},
          {"created_at", FormatRfc3339(d.created_ms)},
          {"backfill_done", d.backfill_after < 0},
          {"deliveries", {{"pending", c.pending}, {"delivered", c.delivered}, {"failed", c.failed}}}};
}

json DeliveryJson(const Delivery& d) {
  const bool pending = d.status == activation::DeliveryStatus::kPending;
  return {{"id", d.id},
          {"type", d.type},
          {"occurred_at", FormatRfc3339(d.occurred_at_ms)},
          {"status", activation::DeliveryStatusName(d.status)},
          {"attempts", d.attempts},
          {"last_status", d.last_status == 0 ? json(nullptr) : json(d.last_status)},
          {"last_error", d.last_error.empty() ? json(nullptr) : json(d.last_error)},
          {"next_attempt_at", pending ? json(FormatRfc3339(d.next_attempt_ms)) : json(nullptr)},
          {"created_at", FormatRfc3339(d.created_ms)},
          {"delivered_at", d.delivered_ms ? json(FormatRfc3339(*d.delivered_ms)) : json(nullptr)}};
}

}  // namespace

bool DestinationApi::Owns(const std::string& path) {
  return path == kPrefix || path.rfind(std::string(kPrefix) + "/", 0) == 0;
}

http::Response DestinationApi::Handle(const http::Request& req) {
  if (req.path == kPrefix) {
    if (req.method == "POST") return Put(req);
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET or POST");
    if (!req.query.empty()) return http::InvalidField(req.query.begin()->first, "unknown parameter");
    auto list = activation_->List();
    if (!list.ok()) return http::ErrorFromStatus(list.status());
    json out = json::array();
    for (const Destination& d : *list) {
      auto c = activation_->Counts(d.id);
      if (!c.ok()) return http::ErrorFromStatus(c.status());
      out.push_back(DestinationJson(d, *c));
    }
    return {200, json{{"destinations", std::move(out)}}.dump()};
  }
  std::string tail = req.path.substr(kPrefix.size() + 1);
  bool deliveries = false;
  if (const size_t slash = tail.find('/'); slash != std::string::npos) {
    if (tail.substr(slash) != "/deliveries") {
      return http::JsonError(404, "not_found", "no such endpoint: " + req.path);
    }
    tail.resize(slash);
    deliveries = true;
  }
  if (deliveries) {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    return Deliveries(req, tail);
  }
  if (req.method == "GET") {
    if (!req.query.empty()) return http::InvalidField(req.query.begin()->first, "unknown parameter");
    return One(tail);
  }
  if (req.method == "DELETE") {
    auto removed = activation_->Remove(tail);
    if (!removed.ok()) return http::ErrorFromStatus(removed.status());
    if (!*removed) return http::JsonError(404, "not_found", "no destination " + tail, "id");
    return {200, json{{"id", tail}, {"deleted", true}}.dump()};
  }
  return http::JsonError(405, "method_not_allowed", "use GET or DELETE");
}

http::Response DestinationApi::One(const std::string& id) {
  auto d = activation_->Get(id);
  if (!d.ok()) return http::ErrorFromStatus(d.status());
  if (!*d) return http::JsonError(404, "not_found", "no destination " + id, "id");
  auto c = activation_->Counts(id);
  if (!c.ok()) return http::ErrorFromStatus(c.status());
  return {200, DestinationJson(**d, *c).dump()};
}

http::Response DestinationApi::Put(const http::Request& req) {
  if (!req.query.empty()) return http::InvalidField(req.query.begin()->first, "unknown parameter");
  Result<json> body = ParseJsonExact(req.body);
  if (!body.ok()) return http::ErrorFromStatus(body.status());
  if (!body->is_object()) return http::InvalidField("body", "must be a JSON object");
  for (auto it = body->begin(); it != body->end(); ++it) {
    const std::string& k = it.key();
    if (k != "id" && k != "url" && k != "secret" && k != "events" && k != "segment") {
      return http::InvalidField(k, "unknown field; expected id, url, secret, events, segment");
    }
  }
  Destination d;
  auto text = [&](const char* name, size_t min, size_t max, std::string* out) -> std::optional<http::Response> {
    auto it = body->find(name);
    if (it == body->end() || !it->is_string()) return http::InvalidField(name, "is required: a string");
    *out = it->get<std::string>();
    if (out->size() < min || out->size() > max) {
      return http::InvalidField(name, "must have " + std::to_string(min) + " to " +
                                          std::to_string(max) + " characters");
    }
    return std::nullopt;
  };
  if (auto bad = text("id", 1, 64, &d.id)) return std::move(*bad);
  for (const char c : d.id) {
    if (!IsIdChar(c)) return http::InvalidField("id", "must be 1-64 characters of a-z 0-9 _ -");
  }
  if (auto bad = text("url", 8, 2000, &d.url)) return std::move(*bad);
  if (auto url = http::ParseHttpUrl(d.url); !url.ok()) {
    return http::InvalidField("url",
                              "must be http[s]://HOST[:PORT][/PATH]: " + url.status().message());
  }
  if (auto bad = text("secret", 16, 256, &d.secret)) return std::move(*bad);
  auto events = body->find("events");
  if (events == body->end() || !events->is_array() || events->empty()) {
    return http::InvalidField("events", "is required: a non-empty array of event kinds");
  }
  for (size_t i = 0; i < events->size(); ++i) {
    const json& e = (*events)[i];
    const std::string field = "events[" + std::to_string(i) + "]";
    if (!e.is_string() || !activation::IsKind(e.get<std::string>())) {
      return http::InvalidField(field, "must be one of segment.entered, segment.left, "
                                        "profile.merged, offer.redeemed, erasure.done, fleet.alert");
    }
    if (!d.Wants(e.get<std::string>())) d.events.push_back(e.get<std::string>());
  }
  if (auto seg = body->find("segment"); seg != body->end() && !seg->is_null()) {
    if (!seg->is_string() || seg->get<std::string>().empty()) {
      return http::InvalidField("segment", "must be a segment id");
    }
    d.segment = seg->get<std::string>();
    if (!d.Wants("segment.entered") && !d.Wants("segment.left")) {
      return http::InvalidField("segment", "only applies to segment.entered and segment.left");
    }
  }
  auto added = activation_->Put(d);
  if (!added.ok()) return http::ErrorFromStatus(added.status());
  http::Response answer = One(d.id);
  if (answer.status == 200 && *added) answer.status = 201;
  return answer;
}

http::Response DestinationApi::Deliveries(const http::Request& req, const std::string& id) {
  std::optional<activation::DeliveryStatus> status;
  int64_t limit = kDefaultLimit;
  int64_t after = 0;
  for (const auto& [name, value] : req.query) {
    if (name == "status") {
      if (value != "all") {
        status = activation::ParseDeliveryStatus(value);
        if (!status) return http::InvalidField("status", "must be pending, delivered, failed or all");
      }
    } else if (name == "limit") {
      const auto n = http::ParseCount(value);
      if (!n || *n < 1 || *n > kMaxLimit) {
        return http::InvalidField("limit", "must be an integer from 1 to 1000");
      }
      limit = *n;
    } else if (name == "after") {
      const auto n = http::ParseCount(value);
      if (!n) return http::InvalidField("after", "must be next_after of the previous page");
      after = *n;
    } else {
      return http::InvalidField(name, "unknown parameter; expected status, limit, after");
    }
  }
  auto d = activation_->Get(id);
  if (!d.ok()) return http::ErrorFromStatus(d.status());
  if (!*d) return http::JsonError(404, "not_found", "no destination " + id, "id");
  auto rows = activation_->Deliveries(id, status, after, limit + 1);
  if (!rows.ok()) return http::ErrorFromStatus(rows.status());
  const bool more = static_cast<int64_t>(rows->size()) > limit;
  if (more) rows->pop_back();
  json items = json::array();
  for (const Delivery& r : *rows) items.push_back(DeliveryJson(r));
  json out = {{"destination", id},
              {"deliveries", std::move(items)},
              {"next_after", more ? json(rows->back().seq) : json(nullptr)}};
  return {200, out.dump()};
}

}  // namespace cjd::hub

#include "agent/http/agent_api.h"

#include <nlohmann/json.hpp>

#include <string>
#include <string_view>

#include "agent/http/openapi_doc.h"
#include "agent/status/status_report.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/protocol/keys.h"
#include "shared/protocol/offer_update.h"

namespace cjd::agent {
namespace {

http::Response Unauthorized() {
  http::Response r = http::JsonError(
      401, "unauthorized", "missing or invalid bearer token (Authorization: Bearer TOKEN)");
  r.headers["WWW-Authenticate"] = "Bearer";
  return r;
}

constexpr std::string_view kOpenApiPath = "/v1/openapi.json";

// GET /v1/openapi.json: the API's description, compiled in (agent/http/openapi.json). No token:
// it holds no data.
http::Response OpenApi(const http::Request& head) {
  if (head.method != "GET") {
    http::Response r = http::JsonError(405, "method_not_allowed", "use GET");
    r.headers["Allow"] = "GET";
    return r;
  }
  if (http::HasBody(head)) {
    return http::JsonError(400, "bad_request", "/v1/openapi.json takes no request body");
  }
  return {200, std::string(OpenApiDocument())};
}

}  // namespace

std::optional<http::Response> AgentApi::RefuseMetrics(const http::Request& head) const {
  if (head.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
  if (http::HasBody(head)) return http::JsonError(400, "bad_request", "/metrics takes no body");
  if (config_.metrics_token.empty() || TokensEqual(head.BearerToken(), config_.metrics_token)) {
    return std::nullopt;
  }
  http::Response r = http::JsonError(401, "unauthorized",
                                     "missing or invalid metrics token ([metrics] token)");
  r.headers["WWW-Authenticate"] = "Bearer";
  return r;
}

std::optional<http::Response> AgentApi::Authorize(const http::Request& head) const {
  if (head.path == "/metrics") return RefuseMetrics(head);
  if (head.path == kOpenApiPath) return OpenApi(head);
  if (head.path == "/healthz" || head.path == "/v1/status") {
    if (!http::HasBody(head)) return std::nullopt;
    return http::JsonError(400, "bad_request", head.path + " takes no request body");
  }
  if (head.path == "/v1/events" || (head.path == "/v1/offers" && offers_ != nullptr)) {
    if (!TokensEqual(head.BearerToken(), config_.token)) return Unauthorized();
    return std::nullopt;
  }
  return http::JsonError(404, "not_found", "no such endpoint: " + head.path);
}

void AgentApi::Handle(http::Request&& req, http::Responder respond) {
  if (req.path == "/healthz") {
    respond({200, R"({"status":"ok"})"});
    return;
  }
  if (req.path == "/metrics") {
    if (auto refused = RefuseMetrics(req)) return respond(std::move(*refused));
    return respond(Prometheus());
  }
  if (req.path == kOpenApiPath) return respond(OpenApi(req));
  if (req.path == "/v1/status") {
    if (req.method != "GET") return respond(http::JsonError(405, "method_not_allowed", "use GET"));
    StatusSnapshot snapshot = uplink_->Snapshot(true);
    snapshot.memory = ReadMemoryReport();
    respond({200, StatusJson(snapshot)});
    return;
  }
  if (req.path == "/v1/offers" && offers_ != nullptr) {
    if (req.method != "GET") return respond(http::JsonError(405, "method_not_allowed", "use GET"));
    if (!TokensEqual(req.BearerToken(), config_.token)) return respond(Unauthorized());
    return GetOffers(req, respond);
  }
  if (req.path == "/v1/events") {
    if (req.method != "POST")
      return respond(http::JsonError(405, "method_not_allowed", "use POST"));
    if (!TokensEqual(req.BearerToken(), config_.token)) return respond(Unauthorized());
    return PostEvents(std::move(req), std::move(respond));
  }
  respond(http::JsonError(404, "not_found", "no such endpoint: " + req.path));
}

void AgentApi::GetOffers(const http::Request& req, const http::Responder& respond) {
  std::string loyalty_id;
  if (auto it = req.query.find("loyalty_id"); it != req.query.end()) {
    loyalty_id = it->second;
    if (!IsValidLoyaltyId(loyalty_id)) {
      return respond(http::JsonError(
          400, "invalid", "must be 1-64 characters without control characters", "loyalty_id"));
    }
  }
  const int64_t now = clock_->NowMillis();
  std::vector<OfferView> offers = offers_->Lookup(loyalty_id, now);
  nlohmann::json list = nlohmann::json::array();
  for (const OfferView& o : offers) {
    list.push_back(
        {{"id", o.id}, {"title", o.title}, {"text", o.text}, {"valid_until", o.valid_until}});
  }
  nlohmann::json body;
  body["offers"] = std::move(list);
  respond({200, body.dump()});
  if (!offers.empty()) RecordImpression(loyalty_id, offers, now);
}

void AgentApi::RecordImpression(const std::string& loyalty_id,
                                const std::vector<OfferView>& offers, int64_t now_ms) {
  if (pending_impressions_.fetch_add(1) >= config_.max_pending_impressions) {
    pending_impressions_.fetch_sub(1);
    offers_->CountImpression(false);
    return;
  }
  nlohmann::json j;
  j["type"] = "offer_impression";
  j["event_id"] = NewEventId(now_ms);
  j["occurred_at"] = FormatRfc3339(now_ms);
  j["store_id"] = config_.store_id;
  if (!loyalty_id.empty()) j["customer"] = {{"loyalty_id", loyalty_id}};
  nlohmann::json ids = nlohmann::json::array();
  for (size_t i = 0; i < offers.size() && i < 50; ++i) ids.push_back(offers[i].id);
  j["offer_ids"] = std::move(ids);
  auto event = ValidateEvent(j, kPosEventTypes);
  if (!event.ok()) {  // cannot happen with validated ids; never fail the kiosk for it
    pending_impressions_.fetch_sub(1);
    offers_->CountImpression(false);
    return;
  }
  std::vector<PendingEvent> pending;
  pending.push_back(PendingEvent{event->event_id, static_cast<uint8_t>(event->type),
                                 event->occurred_at_ms, ToCanonicalJson(*event)});
  writer_->Submit(std::move(pending), [this](AppendResult r) {
    offers_->CountImpression(r.status.ok());
    pending_impressions_.fetch_sub(1);
  });
}

void AgentApi::PostEvents(http::Request&& req, http::Responder respond) {
  auto parsed = ParseJsonExact(req.body);
  if (!parsed.ok()) {
    return respond(http::JsonError(400, "invalid_json", parsed.status().message(), "body"));
  }
  const bool is_array = parsed->is_array();
  auto validated = ValidateEventBody(*parsed, static_cast<size_t>(config_.max_events_per_request),
                                     kPosEventTypes);
  if (!validated.ok()) return respond(http::ErrorFromStatus(validated.status()));
  std::vector<Event>& events = *validated;

  const int64_t now = clock_->NowMillis();
  std::vector<PendingEvent> pending;
  pending.reserve(events.size());
  auto ids = std::make_shared<std::vector<std::string>>();
  ids->reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    Event& e = events[i];
    if (e.store_id != config_.store_id) {
      const std::string prefix = is_array ? "[" + std::to_string(i) + "]." : "";
      return respond(http::JsonError(400, "invalid",
                                     "must be this agent's store \"" + config_.store_id + "\"",
                                     prefix + "store_id"));
    }
    if (e.event_id.empty()) e.event_id = NewEventId(now);
    ids->push_back(e.event_id);
    pending.push_back(PendingEvent{e.event_id, static_cast<uint8_t>(e.type), e.occurred_at_ms,
                                   ToCanonicalJson(e)});
  }
  writer_->Submit(std::move(pending), [ids, respond = std::move(respond)](AppendResult r) {
    if (!r.status.ok()) return respond(http::ErrorFromStatus(r.status));
    nlohmann::json body;
    body["accepted"] = ids->size();
    body["event_ids"] = *ids;
    body["duplicates"] = r.duplicates;
    respond({202, body.dump()});
  });
}

}  // namespace cjd::agent

// The agent's local HTTP API for POS and kiosk software.
//
//   POST /v1/events   Bearer token. One event object or an array. 202 once durable.
//   GET  /v1/offers   Bearer token. ?loyalty_id=ID (optional). The kiosk's offers, best first,
//                     from the in-memory OfferCache (works with broker and hub down). A non-empty
//                     answer records an offer_impression event in the outbox after answering.
//   GET  /v1/status   device, outbox and uplink figures (read-only, no token needed)
//   GET  /metrics     the same figures and more in the Prometheus text format (agent_metrics.cpp);
//                     no token unless [metrics] token is set
//   GET  /healthz     liveness
//   GET  /v1/openapi.json  the OpenAPI 3.1 description of these endpoints (openapi.json, compiled
//                     in); no token
#pragma once

#include <atomic>
#include <optional>

#include "agent/config/agent_config.h"
#include "agent/offers/offer_cache.h"
#include "agent/outbox/outbox_writer.h"
#include "agent/uplink/uplink.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::agent {

// The route template of a request for metrics labels ("/v1/events", "other").
std::string AgentRouteLabel(const http::Request& head);

class AgentApi {
 public:
  // `offers` may be null (no offer cache: GET /v1/offers answers 404). Every pointer must outlive
  // the API and the writer's queued callbacks.
  AgentApi(const AgentConfig& config, OutboxWriter* writer, const Uplink* uplink,
           const Clock* clock, OfferCache* offers = nullptr)
      : config_(config), writer_(writer), uplink_(uplink), clock_(clock), offers_(offers) {}

  // The header stage (http::Authorizer): answers before the body is read whatever the head
  // decides (no such endpoint, missing or invalid token, a body sent to an open endpoint);
  // nullopt lets the request through to Handle. Thread: an I/O thread; never blocks.
  std::optional<http::Response> Authorize(const http::Request& head) const;
  // Where the HTTP server counts requests (ServerOptions::request_metrics).
  prom::RequestMetrics* request_metrics() { return &request_metrics_; }
  // Runs on an HTTP I/O thread; never blocks (event writes complete through the writer). Checks
  // again what Authorize checked (it may be called without it).
  void Handle(http::Request&& req, http::Responder respond);

 private:
  void PostEvents(http::Request&& req, http::Responder respond);
  // GET /metrics (agent_metrics.cpp); RefuseMetrics: nullopt when `head` may read it.
  http::Response Prometheus() const;
  std::optional<http::Response> RefuseMetrics(const http::Request& head) const;
  void GetOffers(const http::Request& req, const http::Responder& respond);
  // Queues an offer_impression for the outbox without waiting for its commit; drops (and counts)
  // it when too many are pending or the outbox refuses it.
  void RecordImpression(const std::string& loyalty_id, const std::vector<OfferView>& offers,
                        int64_t now_ms);

  const AgentConfig& config_;
  OutboxWriter* writer_;
  const Uplink* uplink_;
  const Clock* clock_;
  OfferCache* offers_;
  mutable prom::RequestMetrics request_metrics_;
  std::atomic<int64_t> pending_impressions_{0};
};

}  // namespace cjd::agent

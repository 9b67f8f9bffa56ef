// The hub's HTTP API. /healthz and /v1/openapi.json are open; POST /v1/collect needs a source key
// ("Authorization: Bearer cjds_...", from `cjdctl add-source`); every other /v1/ endpoint needs
// a hub token ("Authorization: Bearer TOKEN"): hub.toml's admin token, or a named token from
// `cjdctl add-token` whose role allows the request (hub/access/roles.h; 403 otherwise). Answers
// to the analyst role have personal values masked (hub/access/masking.h); every change made
// through the API and every rights request goes to the audit log (hub/access/access_store.h).
//
//   POST /v1/collect  events from a collect source (hub/collect/collect_request.h); 202 once
//                     committed
//   GET /v1/stats     events_total, events_by_type, rejected_by_reason, ingest figures
//   GET /v1/devices   one entry per device (see fleet/fleet_view.h)
//   GET /v1/alerts    devices offline, behind, skewed or missing offers (fleet/fleet_alerts.h)
//   GET /v1/audit?after=SEQ&limit=N   audit entries after SEQ, oldest first (admin)
//   /v1/profiles..., GET /v1/metrics   see http/profile_api.h
//   /v1/segments...   see http/segment_api.h
//   /v1/offers...     see http/offer_api.h
//   /v1/privacy...    see http/privacy_api.h
//   GET /ui/...       the dashboard's files (hub/ui/README.md); no token, no data
//   GET /healthz
//   GET /v1/openapi.json  the OpenAPI 3.1 description of every endpoint (http/openapi.json,
//                     compiled in); no token, no data
//   GET /metrics      Prometheus text format (hub_metrics.cpp); no token unless [metrics] token
//
// Threading: Authorize runs on the HTTP server's I/O threads; Handle on the hub's HTTP worker pool
// (http.workers threads; /healthz on an I/O thread), several at once. The read and write store
// connections each have their own mutex; a collect commit blocks its worker for the length of one
// SQLite transaction, never an I/O thread.
#pragma once

#include <functional>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <variant>

#include "hub/access/access_store.h"
#include "hub/config/hub_config.h"
#include "hub/http/journey_api.h"
#include "hub/http/destination_api.h"
#include "hub/http/identity_api.h"
#include "hub/http/prediction_api.h"
#include "hub/http/offer_api.h"
#include "hub/http/privacy_api.h"
#include "hub/http/profile_api.h"
#include "hub/http/segment_api.h"
#include "hub/ingest/ingestor.h"
#include "hub/store/hub_store.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::hub {

// The route template of a request for metrics labels ("/v1/profiles/{id}", "other").
std::string HubRouteLabel(const http::Request& head);

class HubApi {
 public:
  // `store` is this API's read connection, `write_store` its write connection (collect commits).
  HubApi(const HubConfig& config, std::unique_ptr<HubStore> store,
         std::unique_ptr<HubStore> write_store, const Ingestor* ingestor, const Clock* clock)
      : config_(config), store_(std::move(store)), write_store_(std::move(write_store)),
        ingestor_(ingestor), clock_(clock), started_ms_(clock->NowMillis()) {}

  // Called after each collect commit that stored at least one new event, on the I/O thread that
  // committed; must be quick and thread-safe. REQUIRES: before the server starts.
  void set_on_events_committed(std::function<void()> hook) {
    on_events_committed_ = std::move(hook);
  }

  // Profiles and metrics (/v1/profiles..., /v1/metrics). REQUIRES: before the server starts.
  void set_profile_api(ProfileApi* api) { profile_api_ = api; }
  // Rights requests (/v1/privacy/...). REQUIRES: before the server starts.
  void set_privacy_api(PrivacyApi* api) { privacy_api_ = api; }
  void set_journey_api(JourneyApi* api) { journey_api_ = api; }
  void set_prediction_api(PredictionApi* api) { prediction_api_ = api; }
  void set_identity_api(IdentityApi* api) { identity_api_ = api; }
  // GET /v1/alerts' document (thread-safe), also for the webhooks' fleet.alert.
  Result<nlohmann::json> AlertsJson();
  void set_destination_api(DestinationApi* api) { destination_api_ = api; }
  // Segments (/v1/segments...). REQUIRES: before the server starts.
  void set_segment_api(SegmentApi* api) { segment_api_ = api; }
  // Offers (/v1/offers...) and the offer sync state in /v1/devices. REQUIRES: before the server
  // starts.
  void set_offer_api(OfferApi* api, const offers::OfferPlanner* planner) {
    offer_api_ = api;
    planner_ = planner;
  }

  // Named tokens and the audit log (access.db). Without it only hub.toml's admin token works
  // and nothing is audited. REQUIRES: before the server starts.
  void set_access(std::unique_ptr<access::AccessStore> store) { access_ = std::move(store); }

  // The header stage (http::Authorizer): answers before the body is read whatever the head
  // decides (no such endpoint, wrong method on /v1/collect, missing or invalid key or token, a
  // body sent to /healthz); nullopt lets the request through to Handle. Thread: an I/O thread.
  std::optional<http::Response> Authorize(const http::Request& head);
  // Checks again what Authorize checked (it may be called without it).
  void Handle(http::Request&& req, http::Responder respond);
  // Where the HTTP server counts requests (ServerOptions::request_metrics); GET /metrics shows
  // them.
  prom::RequestMetrics* request_metrics() { return &request_metrics_; }

 private:
  struct Caller {
    std::string name;
    access::Role role;
  };
  // Who sent `head` and whether that role may: the caller, or the 401/403 answer.
  std::variant<Caller, http::Response> Admit(const http::Request& head);
  // Records one audited request with the status answered (errors are logged, not fatal: the
  // request has been carried out).
  // `answer`: the response, when there is one (a new erasure request's id is taken from it).
  void Audit(const Caller& caller, const http::Request& req, int status,
             const http::Response* answer = nullptr);
  http::Response AuditLog(const http::Request& req);
  // GET /metrics (hub_metrics.cpp).
  http::Response Prometheus();
  // nullopt when `head` may read /metrics, else the refusal.
  std::optional<http::Response> RefuseMetrics(const http::Request& head) const;
  // Every /v1/ endpoint but collect, for an admitted caller.
  http::Response Route(const http::Request& req);
  http::Response Collect(const http::Request& req);
  http::Response CollectFor(const std::string& source, const http::Request& req);
  // The Segment-compatible calls (hub/collect/segment_request.h): POST /v1/track, ... /v1/batch.
  http::Response SegmentCollect(http::Request req);
  // Commits parsed collect events for `source`; the 202 document's counts.
  Result<IngestResult> CommitFor(const std::string& source, const std::vector<CollectEvent>& events,
                                 int64_t now_ms);
  http::Response Stats();
  http::Response Devices();
  http::Response Alerts();
  // FleetJson with each device's offers_target and offers_sent_at.
  Result<nlohmann::json> Fleet(int64_t now_ms);
  // The name of the source whose key `key` is; nullopt for no such key.
  Result<std::optional<std::string>> AuthenticateSource(const std::string& key);
  // CORS (hub/collect/cors.h): a source's allowed origins ("": every source's), from a copy of
  // the store's list re-read when older than `max_age_ms`. A preflight is allowed when some
  // source allows its origin; a request with an Origin when its source does.
  std::vector<std::string> AllowedOrigins(const std::string& source, int64_t max_age_ms);
  http::Response Preflight(const http::Request& head);
  // 403 when `head` has an Origin that `source` does not allow.
  std::optional<http::Response> RefuseOrigin(const http::Request& head, const std::string& source);

  const HubConfig& config_;
  std::mutex store_mu_;
  std::unique_ptr<HubStore> store_;        // guarded by store_mu_
  std::mutex write_mu_;
  std::unique_ptr<HubStore> write_store_;  // guarded by write_mu_
  // Known sources by key hash. Sources are never removed, so a hit stays true; a miss asks the
  // store (a source added while the hub runs works at its first request).
  std::mutex sources_mu_;
  std::unordered_map<std::string, std::string> sources_;  // guarded by sources_mu_
  std::mutex cors_mu_;
  std::map<std::string, std::vector<std::string>> origins_;  // by source; guarded by cors_mu_
  int64_t origins_loaded_ms_ = 0;                            // 0: never; guarded by cors_mu_
  std::mutex access_mu_;
  std::unique_ptr<access::AccessStore> access_;  // guarded by access_mu_; may be null
  std::function<void()> on_events_committed_;
  ProfileApi* profile_api_ = nullptr;
  SegmentApi* segment_api_ = nullptr;
  PrivacyApi* privacy_api_ = nullptr;
  JourneyApi* journey_api_ = nullptr;
  PredictionApi* prediction_api_ = nullptr;
  IdentityApi* identity_api_ = nullptr;
  DestinationApi* destination_api_ = nullptr;
  OfferApi* offer_api_ = nullptr;
  const offers::OfferPlanner* planner_ = nullptr;
  const Ingestor* ingestor_;
  const Clock* clock_;
  const int64_t started_ms_;
  prom::RequestMetrics request_metrics_;
};

}  // namespace cjd::hub

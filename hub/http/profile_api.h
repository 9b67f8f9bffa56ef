// The hub's profile and metrics endpoints (admin token; HubApi routes here):
//
//   GET  /v1/profiles/{profile_id}[?events_limit=N&events_before=ROW]
//   GET  /v1/profiles?identifier=TYPE:VALUE[&events_limit=N&events_before=ROW]
//   POST /v1/profiles/{profile_id}/split   body {} or {"merge_id": N}
//   GET  /v1/metrics?from=&to=&store=&channel=&currency=&top=
//
// See hub/projection/README.md for the JSON documents and the metric definitions.
#pragma once

#include <functional>
#include <memory>
#include <mutex>

#include "hub/config/hub_config.h"
#include "hub/projection/profile_reader.h"
#include "hub/projection/projector.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::hub {

class ProfileApi {
 public:
  // Two read connections: one for profiles, one for metrics and stats, so a metrics query (a
  // scan of the orders) never holds up profile lookups.
  ProfileApi(const HubConfig& config, std::unique_ptr<ProfileReader> reader,
             std::unique_ptr<ProfileReader> metrics_reader, Projector* projector,
             const Clock* clock);

  // True when `path` is one of this API's; the caller has checked the admin token.
  static bool Owns(const std::string& path);
  http::Response Handle(const http::Request& req);
  // Projection figures for /v1/stats.
  nlohmann::json StatsJson();
  // GET /v1/offers/{id}/stats (served by OfferApi): impressions, redemptions, revenue.
  Result<nlohmann::json> OfferStats(const std::string& offer_id);
  // The live profile holding `identifier` ("TYPE:VALUE", normalised first): kInvalid on field
  // "identifier" when malformed, kNotFound when no profile holds it.
  Result<int64_t> FindByIdentifier(const std::string& identifier);
  // The profile document of GET /v1/profiles/{id} with every event, newest first (read in
  // pages of 1,000). For rights requests (GET /v1/privacy/export).
  Result<nlohmann::json> FullProfile(int64_t profile_id);

  // The profile document's "journey_stage" ({"current", "furthest"}), from the journeys module.
  void set_journey_stage(std::function<nlohmann::json(int64_t, int64_t)> fn) {
    journey_stage_ = std::move(fn);
  }

  // The profile document's "segments" (ids of the segments it is in, by id), from the segment
  // engine's store.
  void set_segments_of(std::function<Result<std::vector<std::string>>(int64_t)> fn) {
    segments_of_ = std::move(fn);
  }

  // The profile document's "identifiers" of each of `ids` (GET /v1/predictions), in order, in
  // one read snapshot.
  Result<std::vector<nlohmann::json>> IdentifiersOf(const std::vector<int64_t>& ids);

  // The profile document's prediction traits (hub/predictions), merged into "traits".
  void set_prediction_traits(std::function<Result<nlohmann::json>(int64_t)> fn) {
    prediction_traits_ = std::move(fn);
  }

  // True when `profile_id` names a profile (live, or merged into one).
  Result<bool> ProfileExists(int64_t profile_id);

 private:
  http::Response GetProfile(const http::Request& req, int64_t profile_id);
  http::Response FindProfile(const http::Request& req);
  http::Response Split(const http::Request& req, int64_t profile_id);
  http::Response Metrics(const http::Request& req);
  // Merges the prediction traits into the document's "traits" (when set).
  Status AddPredictionTraits(nlohmann::json* profile);

  std::function<Result<std::vector<std::string>>(int64_t)> segments_of_;
  identity::NormalizeOptions normalize_;
  std::mutex reader_mu_;
  std::unique_ptr<ProfileReader> reader_;  // guarded by reader_mu_
  std::mutex metrics_mu_;
  std::unique_ptr<ProfileReader> metrics_reader_;  // guarded by metrics_mu_
  Projector* projector_;
  const Clock* clock_;
  std::function<nlohmann::json(int64_t, int64_t)> journey_stage_;
  std::function<Result<nlohmann::json>(int64_t)> prediction_traits_;
};

}  // namespace cjd::hub

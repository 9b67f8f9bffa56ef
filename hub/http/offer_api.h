// The hub's offer endpoints (admin token; HubApi routes here):
//
//   POST   /v1/offers              create or replace an offer (hub/offers/offer_spec.h):
//                                  201 created, 200 replaced; the offer as stored
//   GET    /v1/offers[?include_deleted=true]   {"offers": [...], "count": N}, by id
//   GET    /v1/offers/{id}          one offer (a deleted one answers with "deleted": true)
//   DELETE /v1/offers/{id}          withdraws it from every kiosk at the next sync; 404 unknown
//   GET    /v1/offers/{id}/stats    impressions, redemptions, redemption_rate, revenue
//                                  (hub/projection/README.md); 404 for an offer never defined
//
// Errors: 400 naming the field ({"error": {"code", "message", "field"}}), 404, 405.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "hub/offers/offer_planner.h"
#include "shared/http/server.h"

namespace cjd::hub {

class OfferApi {
 public:
  // The measured figures of one offer (GET /v1/offers/{id}/stats).
  using StatsSource = std::function<Result<nlohmann::json>(const std::string& offer_id)>;

  OfferApi(offers::OfferPlanner* planner, StatsSource stats)
      : planner_(planner), stats_(std::move(stats)) {}

  // True when `path` is one of this API's; the caller has checked the admin token.
  static bool Owns(const std::string& path);
  http::Response Handle(const http::Request& req);
  // Planner figures for /v1/stats.
  nlohmann::json StatsJson() const;

 private:
  http::Response Put(const http::Request& req);
  http::Response List(const http::Request& req);

  offers::OfferPlanner* planner_;
  StatsSource stats_;
};

}  // namespace cjd::hub

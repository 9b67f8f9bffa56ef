// Webhook destinations and their deliveries (admin token; changes audited; HubApi routes here):
//
//   POST   /v1/destinations   {"id", "url", "secret", "events": [...], "segment"?}
//          Registers (201) or replaces (200, its queue kept) a destination. id [a-z0-9_-]{1,64};
//          url http://HOST[:PORT][/PATH]; secret 16-256 characters (the HMAC key, never shown
//          again); events: one or more of segment.entered, segment.left, profile.merged,
//          offer.redeemed, erasure.done, fleet.alert; segment: an existing segment, only with
//          segment.* events (then those are for that segment only, and its current members are
//          sent first as segment.entered with "backfill": true). 400 naming the field.
//   GET    /v1/destinations            every destination (no secrets) with its queue's counts
//   GET    /v1/destinations/{id}
//   DELETE /v1/destinations/{id}       the destination and its queue
//   GET    /v1/destinations/{id}/deliveries?status=pending|delivered|failed|all&limit=&after=
//          oldest first: id, type, occurred_at, status, attempts, last_status, last_error,
//          next_attempt_at, created_at, delivered_at; paged by "next_after".
//
// hub/activation/README.md documents the deliveries.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "hub/activation/activation.h"
#include "shared/http/server.h"

namespace cjd::hub {

class DestinationApi {
 public:
  explicit DestinationApi(activation::Activation* activation) : activation_(activation) {}

  static bool Owns(const std::string& path);
  http::Response Handle(const http::Request& req);
  nlohmann::json StatsJson() { return activation_->StatsJson(); }

 private:
  http::Response Put(const http::Request& req);
  http::Response One(const std::string& id);
  http::Response Deliveries(const http::Request& req, const std::string& id);

  activation::Activation* activation_;
};

}  // namespace cjd::hub

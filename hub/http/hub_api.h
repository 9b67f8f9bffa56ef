// The hub's HTTP API. Every /v1/ endpoint needs "Authorization: Bearer ADMIN_TOKEN"; /healthz is
// open.
//
//   GET /v1/stats     events_total, events_by_type, rejected_by_reason, ingest figures
//   GET /v1/devices   one entry per device (see fleet/fleet_view.h)
//   GET /healthz
#pragma once

#include <memory>
#include <mutex>

#include "hub/config/hub_config.h"
#include "hub/ingest/ingestor.h"
#include "hub/store/hub_store.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::hub {

class HubApi {
 public:
  // `store` is this API's own read connection.
  HubApi(const HubConfig& config, std::unique_ptr<HubStore> store, const Ingestor* ingestor,
         const Clock* clock)
      : config_(config), store_(std::move(store)), ingestor_(ingestor), clock_(clock),
        started_ms_(clock->NowMillis()) {}

  void Handle(http::Request&& req, http::Responder respond);

 private:
  http::Response Stats();
  http::Response Devices();

  const HubConfig& config_;
  std::mutex store_mu_;
  std::unique_ptr<HubStore> store_;  // guarded by store_mu_
  const Ingestor* ingestor_;
  const Clock* clock_;
  const int64_t started_ms_;
};

}  // namespace cjd::hub

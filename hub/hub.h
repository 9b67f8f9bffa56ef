// Hub: wires ingest, the store, the projection (profiles) and the HTTP API.
// Start: store, projection, predictions, segments, HTTP, ingest, offers. Stop: HTTP, offers,
// ingest, segments, predictions, projection.
#pragma once

#include <functional>
#include <memory>

#include "hub/config/hub_config.h"
#include "hub/http/hub_api.h"
#include "hub/activation/activation.h"
#include "hub/http/destination_api.h"
#include "hub/http/identity_api.h"
#include "hub/http/journey_api.h"
#include "hub/http/offer_api.h"
#include "hub/http/prediction_api.h"
#include "hub/http/privacy_api.h"
#include "hub/http/profile_api.h"
#include "hub/http/segment_api.h"
#include "hub/matching/profile_matcher.h"
#include "hub/offers/offer_planner.h"
#include "hub/predictions/predictor.h"
#include "hub/privacy/eraser.h"
#include "hub/projection/projector.h"
#include "hub/projection/rfm.h"
#include "hub/ingest/ingestor.h"
#include "hub/journeys/journeys.h"
#include "hub/segments/segment_engine.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"
#include "shared/http/worker_pool.h"

namespace cjd::hub {

class Hub {
 public:
  explicit Hub(HubConfig config, const Clock* clock = Clock::Real());
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  // Called after each commit that stored new events, from device ingest (the ingest thread) and
  // from POST /v1/collect (an HTTP worker thread): a cue for consumers of the event store to look
  // for new rows. Must be quick and thread-safe. REQUIRES: before Start().
  void set_on_events_committed(std::function<void()> hook) {
    on_events_committed_ = std::move(hook);
  }

  Status Start();
  void Stop();
  uint16_t http_port() const { return server_ ? server_->port() : 0; }

 private:
  HubConfig config_;
  const Clock* clock_;
  std::function<void()> on_events_committed_;
  std::unique_ptr<Ingestor> ingestor_;
  RfmModel rfm_;
  std::shared_ptr<EventVault> vault_;  // seals the event log's personal parts (keys.db)
  std::unique_ptr<Projector> projector_;
  std::unique_ptr<segments::SegmentEngine> segments_;
  std::unique_ptr<ProfileApi> profile_api_;
  std::unique_ptr<SegmentApi> segment_api_;
  std::unique_ptr<privacy::Eraser> eraser_;
  std::unique_ptr<PrivacyApi> privacy_api_;
  std::unique_ptr<offers::OfferPlanner> planner_;
  std::unique_ptr<OfferApi> offer_api_;
  std::unique_ptr<journeys::Journeys> journeys_;
  std::unique_ptr<JourneyApi> journey_api_;
  std::unique_ptr<predictions::Predictor> predictor_;  // null when [predictions] enabled = false
  std::unique_ptr<PredictionApi> prediction_api_;
  std::unique_ptr<matching::ProfileMatcher> matcher_;  // null when [identity] probabilistic = false
  std::unique_ptr<IdentityApi> identity_api_;
  std::unique_ptr<activation::Activation> activation_;  // webhooks (hub/activation)
  std::unique_ptr<DestinationApi> destination_api_;
  std::unique_ptr<HubApi> api_;
  std::unique_ptr<http::WorkerPool> workers_;  // runs the API's handlers (database work)
  std::unique_ptr<http::Server> server_;
};

}  // namespace cjd::hub

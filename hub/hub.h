// Hub: wires ingest, the store and the HTTP API. Start: store, ingest, HTTP. Stop: HTTP, ingest.
#pragma once

#include <memory>

#include "hub/config/hub_config.h"
#include "hub/http/hub_api.h"
#include "hub/ingest/ingestor.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::hub {

class Hub {
 public:
  explicit Hub(HubConfig config, const Clock* clock = Clock::Real());
  ~Hub();
  Hub(const Hub&) = delete;
  Hub& operator=(const Hub&) = delete;

  Status Start();
  void Stop();
  uint16_t http_port() const { return server_ ? server_->port() : 0; }

 private:
  HubConfig config_;
  const Clock* clock_;
  std::unique_ptr<Ingestor> ingestor_;
  std::unique_ptr<HubApi> api_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace cjd::hub

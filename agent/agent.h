// Agent: wires the outbox writer, the uplink and the local HTTP API together.
// Start order: offer cache, outbox (so nothing is accepted before it is durable), uplink, HTTP.
// Stop order: HTTP (no new requests), outbox writer (finish queued commits), uplink (goodbye),
// then the offer cache (the writer's impression callbacks and the uplink use it).
#pragma once

#include <memory>

#include "agent/config/agent_config.h"
#include "agent/http/agent_api.h"
#include "agent/offers/offer_cache.h"
#include "agent/outbox/outbox_writer.h"
#include "agent/uplink/uplink.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::agent {

class Agent {
 public:
  Agent(AgentConfig config, const Clock* clock = Clock::Real());
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  Status Start();
  void Stop();
  uint16_t http_port() const { return server_ ? server_->port() : 0; }

 private:
  AgentConfig config_;
  const Clock* clock_;
  std::unique_ptr<OfferCache> offers_;
  std::unique_ptr<OutboxWriter> writer_;
  std::unique_ptr<Uplink> uplink_;
  std::unique_ptr<AgentApi> api_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace cjd::agent

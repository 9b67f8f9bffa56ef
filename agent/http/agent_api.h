// The agent's local HTTP API for POS and kiosk software.
//
//   POST /v1/events   Bearer token. One event object or an array. 202 once durable.
//   GET  /v1/status   device, outbox and uplink figures (read-only, no token needed)
//   GET  /healthz     liveness
#pragma once

#include "agent/config/agent_config.h"
#include "agent/outbox/outbox_writer.h"
#include "agent/uplink/uplink.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::agent {

class AgentApi {
 public:
  AgentApi(const AgentConfig& config, OutboxWriter* writer, const Uplink* uplink,
           const Clock* clock)
      : config_(config), writer_(writer), uplink_(uplink), clock_(clock) {}

  // Runs on an HTTP I/O thread; never blocks (event writes complete through the writer).
  void Handle(http::Request&& req, http::Responder respond);

 private:
  void PostEvents(http::Request&& req, http::Responder respond);

  const AgentConfig& config_;
  OutboxWriter* writer_;
  const Uplink* uplink_;
  const Clock* clock_;
};

}  // namespace cjd::agent

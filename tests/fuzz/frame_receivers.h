// What the hub and the agent do with a frame from the broker, step by step through the public
// functions they use (Ingestor::HandleFrame and Uplink::HandleDownlink are private and need a
// broker): peek the header, open the seal with the peer's key and limit, then decode by kind.
#pragma once

#include <string>
#include <string_view>

namespace cjd::fuzz {

// The hub's side: kEventBatch (decode, range checks, sequence tracking, each body as the
// projector reads it) and kStatus (fleet view, offer planner).
void HubReceives(std::string_view frame);
// What the hub does with an opened status JSON object: the fleet view (GET /v1/devices) and the
// offer planner's watermark.
void HubReadsStatus(const std::string& json);
// The agent's side: kAck and kOfferUpdate.
void AgentReceives(std::string_view frame);

}  // namespace cjd::fuzz

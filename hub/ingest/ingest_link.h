// IngestLink: the Ingestor's MQTT connection behind a small interface, so the ingestor can be
// unit-tested without a broker (tests/hub/ingest/ingestor_test.cpp drives it in memory). The
// production link is MqttLink (shared/mqtt/link.h), adapted by NewMqttIngestLink.
//
// Contract, as MqttLink's: `on_message` and `on_state` may run on any thread but the caller's
// and must only record or enqueue; Publish() is thread-safe, never waits for the broker, and
// returns false when the message was not taken (the ingestor tries again later).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "shared/core/status.h"
#include "shared/mqtt/link.h"

namespace cjd::hub {

class IngestLink {
 public:
  virtual ~IngestLink() = default;
  virtual Status Start() = 0;
  // Disconnects and joins; no callback runs after it returns. Idempotent.
  virtual void Stop() = 0;
  // QoS 1, not retained.
  virtual bool Publish(const std::string& topic, const std::string& payload) = 0;
};

using IngestLinkFactory = std::function<std::unique_ptr<IngestLink>(
    const MqttOptions& options, MqttLink::MessageFn on_message, MqttLink::StateFn on_state)>;

// The real link: an MqttLink with `options`.
std::unique_ptr<IngestLink> NewMqttIngestLink(const MqttOptions& options,
                                              MqttLink::MessageFn on_message,
                                              MqttLink::StateFn on_state);

}  // namespace cjd::hub

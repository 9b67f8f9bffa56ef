// UplinkLink: the agent's MQTT connection behind a small interface, so the Uplink's go-back-N,
// epoch probe, ack handling and heartbeats can be unit-tested without a broker
// (tests/agent/uplink/uplink_test.cpp drives it in memory). The production link is MqttLink
// (shared/mqtt/link.h), adapted by NewMqttUplinkLink; the hub's side is hub/ingest/ingest_link.h.
//
// Contract, as MqttLink's: `on_message` and `on_state` may run on any thread but the caller's
// and must only record or enqueue; Publish() is thread-safe, never waits for the broker, and
// returns false when the message was not taken (the uplink tries again at its next turn).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "shared/core/status.h"
#include "shared/mqtt/link.h"

namespace cjd::agent {

class UplinkLink {
 public:
  virtual ~UplinkLink() = default;
  virtual Status Start() = 0;
  // Publishes `final_payload` on `final_topic` (QoS 1, retained) when connected, disconnects
  // and joins; no callback runs after it returns. Idempotent.
  virtual void Stop(const std::string& final_topic, const std::string& final_payload) = 0;
  virtual bool Publish(const std::string& topic, const std::string& payload, int qos,
                       bool retained) = 0;
  virtual bool connected() const = 0;
  virtual int64_t reconnects() const = 0;
};

using UplinkLinkFactory = std::function<std::unique_ptr<UplinkLink>(
    const MqttOptions& options, MqttLink::MessageFn on_message, MqttLink::StateFn on_state)>;

// The real link: an MqttLink with `options`.
std::unique_ptr<UplinkLink> NewMqttUplinkLink(const MqttOptions& options,
                                              MqttLink::MessageFn on_message,
                                              MqttLink::StateFn on_state);

}  // namespace cjd::agent

#include "agent/uplink/uplink_link.h"

namespace cjd::agent {
namespace {

class MqttUplinkLink final : public UplinkLink {
 public:
  MqttUplinkLink(const MqttOptions& options, MqttLink::MessageFn on_message,
                 MqttLink::StateFn on_state)
      : link_(options, std::move(on_message), std::move(on_state)) {}
  Status Start() override { return link_.Start(); }
  void Stop(const std::string& final_topic, const std::string& final_payload) override {
    link_.Stop(final_topic, final_payload);
  }
  bool Publish(const std::string& topic, const std::string& payload, int qos,
               bool retained) override {
    return link_.Publish(topic, payload, qos, retained);
  }
  bool connected() const override { return link_.connected(); }
  int64_t reconnects() const override { return link_.reconnects(); }

 private:
  MqttLink link_;
};

}  // namespace

std::unique_ptr<UplinkLink> NewMqttUplinkLink(const MqttOptions& options,
                                              MqttLink::MessageFn on_message,
                                              MqttLink::StateFn on_state) {
  return std::make_unique<MqttUplinkLink>(options, std::move(on_message), std::move(on_state));
}

}  // namespace cjd::agent

#include "hub/ingest/ingest_link.h"

namespace cjd::hub {
namespace {

class MqttIngestLink final : public IngestLink {
 public:
  MqttIngestLink(const MqttOptions& options, MqttLink::MessageFn on_message,
                 MqttLink::StateFn on_state)
      : link_(options, std::move(on_message), std::move(on_state)) {}
  Status Start() override { return link_.Start(); }
  void Stop() override { link_.Stop(); }
  bool Publish(const std::string& topic, const std::string& payload) override {
    return link_.Publish(topic, payload, 1, false);
  }

 private:
  MqttLink link_;
};

}  // namespace

std::unique_ptr<IngestLink> NewMqttIngestLink(const MqttOptions& options,
                                              MqttLink::MessageFn on_message,
                                              MqttLink::StateFn on_state) {
  return std::make_unique<MqttIngestLink>(options, std::move(on_message), std::move(on_state));
}

}  // namespace cjd::hub

// Raw MQTT payloads as they reach the hub (uplink and status topics) and the agent (its downlink
// topic): the header parser, the length checks and the seal. Seeds are real frames sealed with
// the fuzz key, so mutations of their header and tail exercise the rejection paths.
#include "tests/fuzz/frame_receivers.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view frame = cjd::fuzz::AsText(data, size);
  cjd::fuzz::HubReceives(frame);
  cjd::fuzz::AgentReceives(frame);
  return 0;
}

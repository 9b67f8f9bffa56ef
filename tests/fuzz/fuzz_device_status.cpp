// A device's heartbeat / last-will JSON (the plaintext of a sealed kStatus frame) as the hub reads
// it: the fleet view (GET /v1/devices) and the offer planner's watermark. A device's key is
// enough to send any JSON object here; nothing in it may throw or overflow.
#include <nlohmann/json.hpp>

#include "tests/fuzz/frame_receivers.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string json(cjd::fuzz::AsText(data, size));
  // The ingestor passes on only JSON objects.
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return 0;
  cjd::fuzz::HubReadsStatus(json);
  return 0;
}

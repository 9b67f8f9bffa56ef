// DecodeEventBatch on raw bytes (the plaintext of an opened kEventBatch frame), then what the hub
// does with each event. A batch it accepts must encode back to the same bytes.
#include <string>

#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes = cjd::fuzz::AsText(data, size);
  uint64_t epoch = 0;
  auto events = cjd::DecodeEventBatch(bytes, &epoch);
  if (!events.ok()) return 0;
  for (const cjd::WireEvent& e : *events) {
    (void)cjd::EventTypeName(static_cast<cjd::EventType>(e.type));
    (void)cjd::EventFromCanonical(e.body);
  }
  const std::string again = cjd::EncodeEventBatch(*events, epoch);
  uint64_t epoch_again = epoch + 1;
  auto redecoded = cjd::DecodeEventBatch(again, &epoch_again);
  CJD_FUZZ_CHECK(redecoded.ok() && redecoded->size() == events->size() && epoch_again == epoch,
                 "a decoded batch does not decode again (same events, same epoch) after "
                 "re-encoding");
  return 0;
}

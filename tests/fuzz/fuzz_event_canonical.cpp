// EventFromCanonical: how the hub's projector reads the event bodies a device sent in its sealed
// batches (authenticated, not necessarily well-formed). What it accepts must print back to
// canonical JSON that reads the same.
#include <string>

#include "shared/event/event.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto e = cjd::EventFromCanonical(cjd::fuzz::AsText(data, size));
  if (!e.ok()) return 0;
  const std::string canonical = cjd::ToCanonicalJson(*e);
  auto again = cjd::EventFromCanonical(canonical);
  CJD_FUZZ_CHECK(again.ok(), "ToCanonicalJson of an accepted event does not parse back: " +
                                 again.status().ToString() + " in " + canonical);
  CJD_FUZZ_CHECK(cjd::ToCanonicalJson(*again) == canonical,
                 "canonical JSON changed on a round trip: " + canonical);
  return 0;
}

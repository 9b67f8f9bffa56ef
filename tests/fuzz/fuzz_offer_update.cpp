// DecodeOfferUpdate: the JSON of a kOfferUpdate downlink frame as the agent reads it. What it
// accepts must encode (EncodeOfferUpdate) to JSON that decodes to the same update.
#include <string>

#include "shared/protocol/offer_update.h"
#include "tests/fuzz/fuzz_support.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = cjd::fuzz::AsText(data, size);
  auto update = cjd::DecodeOfferUpdate(text);
  if (!update.ok()) return 0;
  const std::string encoded = cjd::EncodeOfferUpdate(*update);
  auto again = cjd::DecodeOfferUpdate(encoded);
  CJD_FUZZ_CHECK(again.ok(), "an encoded offer update does not decode: " +
                                 again.status().ToString() + " in " + encoded);
  CJD_FUZZ_CHECK(*again == *update, "an offer update changed on a round trip: " + encoded);
  // The frame check: the header's sequence range must name the version.
  cjd::FrameHeader h;
  h.kind = cjd::FrameKind::kOfferUpdate;
  h.first_seq = h.last_seq = update->version;
  CJD_FUZZ_CHECK(cjd::DecodeOfferUpdateFrame(h, text).ok(),
                 "an update refused by its own frame check");
  return 0;
}

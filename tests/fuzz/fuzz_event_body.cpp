// The event JSON parser and validator, as POST /v1/events (agent, POS types) and POST /v1/collect
// (hub, every type) take a body, and the Segment-compatible calls (POST /v1/batch, ...). Every accepted event must survive the canonical round trip the
// outbox and the hub rely on: EventFromCanonical(ToCanonicalJson(e)) gives the same JSON.
#include <string>

#include "hub/collect/collect_request.h"
#include "hub/collect/segment_request.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

void CheckRoundTrip(const cjd::Event& e) {
  const std::string canonical = cjd::ToCanonicalJson(e);
  auto back = cjd::EventFromCanonical(canonical);
  CJD_FUZZ_CHECK(back.ok(), "an accepted event's canonical JSON does not parse back: " +
                                back.status().ToString() + " in " + canonical);
  CJD_FUZZ_CHECK(cjd::ToCanonicalJson(*back) == canonical,
                 "canonical JSON changed on a round trip: " + canonical);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text = cjd::fuzz::AsText(data, size);
  auto parsed = cjd::ParseJsonExact(text);
  if (parsed.ok()) {
    (void)cjd::CanonicalJsonValue(*parsed);
    for (cjd::EventTypeSet allowed : {cjd::kPosEventTypes, cjd::kCollectEventTypes}) {
      auto events = cjd::ValidateEventBody(*parsed, 10000, allowed);
      if (!events.ok()) continue;
      for (const cjd::Event& e : *events) CheckRoundTrip(e);
    }
  }
  // The hub's collect request path (content type, JSON, validation, ids).
  cjd::http::Request req;
  req.method = "POST";
  req.path = "/v1/collect";
  req.headers["content-type"] = "application/json";
  req.body = std::string(text);
  cjd::hub::CollectParse collect = cjd::hub::ParseCollectRequest(req, 1'790'000'000'000);
  CJD_FUZZ_CHECK(collect.error.has_value() || !collect.events.empty(),
                 "a collect request was neither accepted nor answered with an error");
  // The same bytes as Segment-compatible calls (a batch, and single calls): whatever a call
  // maps to is stored, so it must be an event the projector reads back.
  for (const char* path : {"/v1/batch", "/v1/identify", "/v1/track", "/v1/page", "/v1/alias"}) {
    req.path = path;
    cjd::hub::SegmentParse seg = cjd::hub::ParseSegmentRequest(req, 1'790'000'000'000);
    for (const cjd::hub::CollectEvent& c : seg.events) {
      auto back = cjd::EventFromCanonical(c.body);
      CJD_FUZZ_CHECK(back.ok(), "a Segment call mapped to an event that does not read back: " +
                                    c.body);
    }
    CJD_FUZZ_CHECK(!seg.error.has_value() || seg.events.empty(),
                   "a Segment request both failed and produced events");
  }
  return 0;
}

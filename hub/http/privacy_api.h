// The hub's rights requests (admin or privacy role; every request is audited by HubApi):
//
//   GET /v1/privacy/export?identifier=TYPE:VALUE   everything held about the person, one JSON
//       document: the profile (identifiers, attributes, traits, merged_from), every event of
//       the profile (newest first, as stored, identifiers in clear: this is the subject's copy),
//       the segments it belongs to, and the offers kiosks showed it. 400 naming `identifier`
//       when malformed, 404 when no profile holds it.
//
//   POST /v1/privacy/erasures  {"identifier": "TYPE:VALUE"} or {"profile_id": N} (a number or
//       a string of digits), optional "suppress": true -> 202 with the request (state
//       "pending"); 400 naming the field (malformed identifier, both or neither given, unknown
//       field); 404 for a profile id that never existed. An identifier no profile holds still
//       gets a request (devices may hold it in unsent events).
//   GET /v1/privacy/erasures/{id} -> {"id", "state": "pending"|"done", "requested_at",
//       "deadline", "done_at", "met", "suppress", "subject", "hub": {"state", "done_at",
//       "profile_id", "events_redacted"}, "devices": [{"device_id", "state", "done_at"}]}
//   GET /v1/privacy/erasures?after=SEQ&limit=N -> {"erasures": [...], "next_after"}
//   (privacy::Eraser does the work; "met": done by the deadline, false once it passed, null
//   while it may still be met.)
#pragma once

#include "hub/privacy/eraser.h"

#include "hub/http/profile_api.h"
#include "hub/http/segment_api.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::hub {

class PrivacyApi {
 public:
  PrivacyApi(ProfileApi* profiles, SegmentApi* segments, privacy::Eraser* eraser,
             const Clock* clock)
      : profiles_(profiles), segments_(segments), eraser_(eraser), clock_(clock) {}

  static bool Owns(const std::string& path);
  privacy::Eraser* eraser() const { return eraser_; }
  http::Response Handle(const http::Request& req);

 private:
  http::Response Export(const http::Request& req);
  http::Response RequestErasure(const http::Request& req);
  http::Response GetErasure(const std::string& id);
  http::Response ListErasures(const http::Request& req);
  nlohmann::json ErasureJson(const privacy::ErasureRequest& r) const;

  ProfileApi* profiles_;
  SegmentApi* segments_;  // may be null: no segments in the export
  privacy::Eraser* eraser_;
  const Clock* clock_;
};

}  // namespace cjd::hub

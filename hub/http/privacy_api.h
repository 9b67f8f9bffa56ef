// The hub's rights requests (admin or privacy role; every request is audited by HubApi):
//
//   GET /v1/privacy/export?identifier=TYPE:VALUE   everything held about the person, one JSON
//       document: the profile (identifiers, attributes, traits, merged_from), every event of
//       the profile (newest first, as stored, identifiers in clear: this is the subject's copy),
//       the segments it belongs to, and the offers kiosks showed it. 400 naming `identifier`
//       when malformed, 404 when no profile holds it.
//
// Erasure requests (POST/GET /v1/privacy/erasures) come with issue 11's next step.
#pragma once

#include "hub/http/profile_api.h"
#include "hub/http/segment_api.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::hub {

class PrivacyApi {
 public:
  PrivacyApi(ProfileApi* profiles, SegmentApi* segments, const Clock* clock)
      : profiles_(profiles), segments_(segments), clock_(clock) {}

  static bool Owns(const std::string& path);
  http::Response Handle(const http::Request& req);

 private:
  http::Response Export(const http::Request& req);

  ProfileApi* profiles_;
  SegmentApi* segments_;  // may be null: no segments in the export
  const Clock* clock_;
};

}  // namespace cjd::hub

// The in-hub matcher's review list (admin token: the answers carry personal attributes; every
// request is audited; HubApi routes here):
//
//   GET  /v1/identity/review?status=pending|merged|kept_apart|all&limit=L&after=ID
//        Pairs of profiles the matcher found likely to be one person but below the merge
//        threshold, oldest first (status default pending), each with both profiles' matching
//        fields and the probability; paged by id ("next_after").
//   GET  /v1/identity/review/{id}
//   POST /v1/identity/review/{id}   {"decision": "merge" | "keep_apart"}
//        merge: through the merge log (reason "review"; a split undoes it); keep_apart: the two
//        are never merged, by events or by the matcher. 409 when decided already or when the
//        projection refuses the merge (kept apart, identifier limits).
//
// hub/matching/README.md ("In the hub") documents the documents.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "hub/matching/profile_matcher.h"
#include "shared/http/server.h"

namespace cjd::hub {

class IdentityApi {
 public:
  // `matcher` may be null ([identity] probabilistic = false: every request 503).
  explicit IdentityApi(matching::ProfileMatcher* matcher) : matcher_(matcher) {}

  static bool Owns(const std::string& path);
  http::Response Handle(const http::Request& req);
  // Figures for /v1/stats "matching".
  nlohmann::json StatsJson();

 private:
  http::Response List(const http::Request& req);
  http::Response Decide(const http::Request& req, int64_t id);

  matching::ProfileMatcher* matcher_;
};

}  // namespace cjd::hub

// The hub's segment endpoints (admin token; HubApi routes here):
//
//   POST   /v1/segments                 {"id", "rule"[, "name", "description"]}: 201 created,
//                                       200 updated (a changed rule recomputes membership)
//   GET    /v1/segments                 every segment, built-ins first
//   GET    /v1/segments/{id}
//   DELETE /v1/segments/{id}            404 unknown, 409 built-in
//   GET    /v1/segments/{id}/members?limit=N&after=PROFILE_ID   paged by profile id
//
// The JSON documents are in hub/segments/README.md. Writes go through the SegmentEngine (the
// one writer of segments.db); reads use this API's own connection.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/segments/segment_engine.h"
#include "hub/segments/segment_store.h"
#include "shared/http/server.h"

namespace cjd::hub {

class SegmentApi {
 public:
  SegmentApi(segments::SegmentEngine* engine, std::unique_ptr<segments::SegmentStore> reader)
      : engine_(engine), reader_(std::move(reader)) {}

  // True when `path` is one of this API's; the caller has checked the admin token.
  static bool Owns(const std::string& path);
  http::Response Handle(const http::Request& req);
  // Figures for /v1/stats "segments".
  nlohmann::json StatsJson();
  // The segments `profile_id` is a member of, by id (for rights requests).
  Result<std::vector<std::string>> SegmentsOf(int64_t profile_id);

 private:
  http::Response Create(const http::Request& req);
  http::Response List();
  http::Response GetOne(const std::string& id);
  http::Response Delete(const std::string& id);
  http::Response Members(const http::Request& req, const std::string& id);

  segments::SegmentEngine* engine_;
  std::mutex reader_mu_;
  std::unique_ptr<segments::SegmentStore> reader_;  // guarded by reader_mu_
};

// A segment as the API shows it.
nlohmann::json SegmentJson(const segments::SegmentRow& row);

}  // namespace cjd::hub

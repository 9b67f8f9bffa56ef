// The hub's journey endpoints (admin or analyst token; HubApi routes here):
//
//   GET  /v1/metrics/web?from=&to=&channel=&store=&segment=
//   POST /v1/funnels/query                     body: the funnel (hub/journeys/README.md)
//   GET  /v1/retention?cohort=first_order_month|first_seen_month&period=month|week&segment=
//   POST /v1/attribution/query                 body: models, period, lookback (README.md)
//   POST /v1/paths/query                       body: start or end event, length, top
//   GET  /v1/journeys/lifecycle?period=month|week&activity=order|any&segment=
//   GET  /v1/journeys/stages?period=month|week&segment=
//   GET  /v1/journeys/sessions?profile_id=N    one person's touches and sessions
//
// Every bad parameter or body field is a 400 naming it.
#pragma once

#include <memory>
#include <mutex>

#include "hub/journeys/journeys.h"
#include "hub/projection/identity_keys.h"
#include "hub/projection/profile_facts.h"
#include "hub/segments/segment_store.h"
#include "shared/core/clock.h"
#include "shared/http/server.h"

namespace cjd::hub {

class JourneyApi {
 public:
  JourneyApi(journeys::Journeys* journeys, std::unique_ptr<segments::SegmentStore> segments,
             const Clock* clock = Clock::Real());

  // Pain points rank profile attributes too, read from profiles.db (the projection's
  // ProfileFactsReader, opened at first use; `keys` open the sealed attributes and must outlive
  // this object). Without it pain points use segments and timelines only.
  void set_profile_facts(std::string profiles_path, const IdentityKeys* keys) {
    profiles_path_ = std::move(profiles_path);
    keys_ = keys;
  }

  static bool Owns(const std::string& path);
  http::Response Handle(const http::Request& req);
  // For /v1/stats: the log cursor read, touches, persons, touches moved since start.
  nlohmann::json StatsJson() const;

 private:
  http::Response WebMetrics(const http::Request& req);
  http::Response Funnel(const http::Request& req);
  http::Response Retention(const http::Request& req);
  http::Response Sessions(const http::Request& req);
  http::Response Attribution(const http::Request& req);
  http::Response Paths(const http::Request& req);
  http::Response Lifecycle(const http::Request& req);
  http::Response Stages(const http::Request& req);
  // The members of the optional query parameter or body field "segment" (nullopt: everyone).
  Result<std::optional<std::unordered_set<int64_t>>> Filter(const std::string& segment);
  // The members of segment `id` (400 on field "segment" when no such segment).
  Result<std::unordered_set<int64_t>> Members(const std::string& id);

  // Pain points: each person's segments ("segment=ID") and public attribute values held by at
  // least kMinAttributeHolders of `persons` ("attributes.NAME=VALUE").
  std::unordered_map<int64_t, std::vector<std::string>> FeaturesOf(
      const std::vector<int64_t>& persons);

  journeys::Journeys* journeys_;
  const Clock* clock_;
  std::mutex segments_mu_;
  std::unique_ptr<segments::SegmentStore> segments_;  // guarded by segments_mu_ (read-only)
  std::string profiles_path_;
  const IdentityKeys* keys_ = nullptr;
  std::mutex facts_mu_;
  std::unique_ptr<ProfileFactsReader> facts_;  // guarded by facts_mu_, opened at first use
};

// An attribute value in pain points must be held by at least this many of the persons counted
// at the worst transition: a factor describes a group, never one person (the analyst role sees
// pain points too, and attribute values are personal data to it).
inline constexpr int64_t kMinAttributeHolders = 5;

// Parses an attribution query body; kInvalid naming the field.
Result<journeys::AttributionQuery> ParseAttributionQuery(const nlohmann::json& body,
                                                          std::string* segment);
// Parses a paths query body; kInvalid naming the field.
Result<journeys::PathQuery> ParsePathQuery(const nlohmann::json& body, std::string* segment);
// Parses a funnel query body; kInvalid naming the field ("steps[1].type") when it is wrong.
// `segment` receives the optional "segment" filter.
Result<journeys::FunnelQuery> ParseFunnelQuery(const nlohmann::json& body, std::string* segment);

}  // namespace cjd::hub

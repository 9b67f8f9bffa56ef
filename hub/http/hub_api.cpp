#include "hub/http/hub_api.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <string_view>

#include "hub/collect/collect_request.h"
#include "hub/collect/source_key.h"
#include "hub/fleet/fleet_view.h"
#include "shared/event/event.h"
#include "shared/protocol/keys.h"
#include "shared/storage/memory_report.h"

namespace cjd::hub {

namespace {

http::Response Unauthorized(std::string_view what) {
  http::Response r = http::JsonError(401, "unauthorized", what);
  r.headers["WWW-Authenticate"] = "Bearer";
  return r;
}

constexpr std::string_view kNoAdminToken =
    "missing or invalid admin token (Authorization: Bearer TOKEN)";
constexpr std::string_view kNoSourceKey =
    "missing or invalid source key (Authorization: Bearer SOURCE_KEY)";

// Well-formed UTF-8 (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF).
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      n = 1;
      cp = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
      n = 2;
      cp = c & 0x0F;
    } else if (c >= 0xF0 && c <= 0xF4) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10FFFF ||
        (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

}  // namespace

std::optional<http::Response> HubApi::Authorize(const http::Request& head) {
  if (head.path == "/healthz") {
    if (!http::HasBody(head)) return std::nullopt;
    return http::JsonError(400, "bad_request", "/healthz takes no request body");
  }
  if (head.path.rfind("/v1/", 0) != 0) {
    return http::JsonError(404, "not_found", "no such endpoint: " + head.path);
  }
  if (head.path == "/v1/collect") {
    if (head.method != "POST") return http::JsonError(405, "method_not_allowed", "use POST");
    auto source = AuthenticateSource(head.BearerToken());
    if (!source.ok()) return http::ErrorFromStatus(source.status());
    if (!source->has_value()) return Unauthorized(kNoSourceKey);
    return std::nullopt;
  }
  if (!TokensEqual(head.BearerToken(), config_.token)) return Unauthorized(kNoAdminToken);
  return std::nullopt;
}

void HubApi::Handle(http::Request&& req, http::Responder respond) {
  if (req.path == "/healthz") return respond({200, R"({"status":"ok"})"});
  if (req.path.rfind("/v1/", 0) != 0) {
    return respond(http::JsonError(404, "not_found", "no such endpoint: " + req.path));
  }
  if (req.path == "/v1/collect") {
    if (req.method != "POST") {
      return respond(http::JsonError(405, "method_not_allowed", "use POST"));
    }
    return respond(Collect(req));
  }
  if (!TokensEqual(req.BearerToken(), config_.token)) return respond(Unauthorized(kNoAdminToken));
  // Query names and values are quoted back in answers (metrics filters, ids), and JSON text
  // must be UTF-8: refuse other bytes here, once for every endpoint, naming the parameter.
  for (const auto& [name, value] : req.query) {
    if (!IsUtf8(name) || !IsUtf8(value)) {
      return respond(http::JsonError(400, "invalid", "query parameter is not valid UTF-8",
                                     IsUtf8(name) ? name : "query"));
    }
  }
  if (!IsUtf8(req.path)) {
    return respond(http::JsonError(400, "invalid", "request path is not valid UTF-8", "path"));
  }
  if (req.path == "/v1/stats" || req.path == "/v1/devices") {
    if (req.method != "GET") return respond(http::JsonError(405, "method_not_allowed", "use GET"));
    return respond(req.path == "/v1/stats" ? Stats() : Devices());
  }
  if (profile_api_ != nullptr && ProfileApi::Owns(req.path)) {
    return respond(profile_api_->Handle(req));
  }
  if (segment_api_ != nullptr && SegmentApi::Owns(req.path)) {
    return respond(segment_api_->Handle(req));
  }
  if (offer_api_ != nullptr && OfferApi::Owns(req.path)) {
    return respond(offer_api_->Handle(req));
  }
  respond(http::JsonError(404, "not_found", "no such endpoint: " + req.path));
}

Result<std::optional<std::string>> HubApi::AuthenticateSource(const std::string& key) {
  if (key.rfind(kSourceKeyPrefix, 0) != 0) return std::optional<std::string>();
  const std::string hash = SourceKeyHash(key);
  {
    std::lock_guard lock(sources_mu_);
    auto it = sources_.find(hash);
    if (it != sources_.end()) return std::optional<std::string>(it->second);
  }
  Result<std::optional<std::string>> found = Status::Internal("unset");
  {
    std::lock_guard lock(store_mu_);
    found = store_->FindSourceByKeyHash(hash);
  }
  if (found.ok() && found->has_value()) {
    std::lock_guard lock(sources_mu_);
    sources_.emplace(hash, **found);
  }
  return found;
}

http::Response HubApi::Collect(const http::Request& req) {
  auto source = AuthenticateSource(req.BearerToken());
  if (!source.ok()) return http::ErrorFromStatus(source.status());
  if (!source->has_value()) return Unauthorized(kNoSourceKey);
  const int64_t now = clock_->NowMillis();
  CollectParse parsed = ParseCollectRequest(req, now);
  if (parsed.error) return std::move(*parsed.error);

  Result<IngestResult> committed = Status::Internal("unset");
  {
    std::lock_guard lock(write_mu_);
    committed = write_store_->CommitCollect(**source, parsed.events, now);
  }
  if (!committed.ok()) {
    spdlog::error("collect: commit for source {} failed: {}", **source,
                  committed.status().ToString());
    return http::ErrorFromStatus(committed.status());
  }
  if (committed->inserted > 0 && on_events_committed_) on_events_committed_();

  nlohmann::json body;
  body["accepted"] = parsed.events.size();
  body["duplicates"] = committed->duplicates;
  nlohmann::json ids = nlohmann::json::array();
  for (const CollectEvent& e : parsed.events) ids.push_back(e.event_id);
  body["event_ids"] = std::move(ids);
  return {202, body.dump()};
}

http::Response HubApi::Stats() {
  Result<StoreCounters> counters = Status::Internal("unset");
  {
    std::lock_guard lock(store_mu_);
    counters = store_->Counters();
  }
  if (!counters.ok()) return http::ErrorFromStatus(counters.status());
  const IngestStats ingest = ingestor_->Stats();
  nlohmann::json j;
  j["events_total"] = counters->events_total;
  nlohmann::json by_type = nlohmann::json::object();
  for (EventType t : kAllEventTypeList) by_type[std::string(EventTypeName(t))] = 0;
  for (const auto& [type, n] : counters->events_by_type) by_type[type] = n;
  j["events_by_type"] = by_type;
  nlohmann::json rejected = nlohmann::json::object();
  for (const char* reason : kRejectReasons) rejected[reason] = 0;
  int64_t rejected_total = 0;
  for (const auto& [reason, n] : counters->rejected_by_reason) {
    rejected[reason] = n;
    rejected_total += n;
  }
  j["rejected_by_reason"] = rejected;
  j["rejected_total"] = rejected_total;
  j["duplicate_events"] = counters->duplicate_events;
  j["ingest"] = {{"connected", ingest.connected},
                 {"queue", ingest.queue},
                 {"frames_total", ingest.frames_total},
                 {"batches_committed", ingest.batches_committed},
                 {"duplicate_frames", ingest.duplicate_frames},
                 {"events_inserted", ingest.events_inserted},
                 {"groups", ingest.groups},
                 {"resyncs_sent", ingest.resyncs_sent}};
  if (profile_api_ != nullptr) j["projection"] = profile_api_->StatsJson();
  if (segment_api_ != nullptr) j["segments"] = segment_api_->StatsJson();
  if (offer_api_ != nullptr) j["offers"] = offer_api_->StatsJson();
  const MemoryReport mem = ReadMemoryReport();
  j["memory"] = {{"rss_bytes", mem.rss_bytes},
                 {"heap_bytes", mem.heap_bytes},
                 {"sqlite_bytes", mem.sqlite_bytes},
                 {"sqlite_peak_bytes", mem.sqlite_peak_bytes}};
  j["uptime_s"] = (clock_->NowMillis() - started_ms_) / 1000;
  j["version"] = CJD_VERSION;
  return {200, j.dump()};
}

http::Response HubApi::Devices() {
  Result<std::vector<DeviceRow>> rows = Status::Internal("unset");
  {
    std::lock_guard lock(store_mu_);
    rows = store_->ListDevices();
  }
  if (!rows.ok()) return http::ErrorFromStatus(rows.status());
  nlohmann::json fleet = FleetJson(*rows, clock_->NowMillis(), config_.offline_after_s * 1000);
  if (planner_ != nullptr) {
    // The version the hub wants each device to hold, beside the one it reported.
    for (auto& d : fleet["devices"]) {
      auto sync = planner_->DeviceSync(d["device_id"].get<std::string>());
      d["offers_target"] = sync ? nlohmann::json(sync->target) : nlohmann::json();
    }
  }
  return {200, fleet.dump()};
}

}  // namespace cjd::hub

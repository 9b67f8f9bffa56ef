#include "hub/http/hub_api.h"

#include <zlib.h>

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cstdint>
#include <string_view>

#include "hub/access/masking.h"
#include "hub/access/roles.h"
#include "hub/collect/collect_request.h"
#include "hub/collect/cors.h"
#include "hub/collect/segment_request.h"
#include "hub/collect/source_key.h"
#include "hub/fleet/fleet_alerts.h"
#include "hub/fleet/fleet_view.h"
#include "hub/http/openapi_doc.h"
#include "hub/ui/ui_server.h"
#include "shared/event/event.h"
#include "shared/protocol/keys.h"
#include "shared/storage/memory_report.h"

namespace cjd::hub {

namespace {

// A gzip body inflated, at most `limit` bytes (more: 413; not gzip: 400 naming the body).
Result<std::string> GunzipBounded(const std::string& in, size_t limit) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) return Status::Internal("zlib: inflateInit2");
  std::string out;
  char chunk[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc != Z_STREAM_END) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof chunk;
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) {
      inflateEnd(&z);
      return Status::Invalid("Content-Encoding gzip, but the body is not gzip data", "body");
    }
    out.append(chunk, sizeof chunk - z.avail_out);
    if (out.size() > limit) {
      inflateEnd(&z);
      return Status(Code::kTooLarge, "the body inflates to more than " + std::to_string(limit) +
                                         " bytes");
    }
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) {
      inflateEnd(&z);
      return Status::Invalid("Content-Encoding gzip, but the gzip data ends early", "body");
    }
  }
  inflateEnd(&z);
  return out;
}

http::Response Unauthorized(std::string_view what) {
  http::Response r = http::JsonError(401, "unauthorized", what);
  r.headers["WWW-Authenticate"] = "Bearer";
  return r;
}

constexpr std::string_view kNoAdminToken =
    "missing, invalid or revoked hub token (Authorization: Bearer TOKEN): the admin token of "
    "hub.toml or one from cjdctl add-token";
constexpr int kDefaultAuditLimit = 100;
constexpr int kMaxAuditLimit = 1000;
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

constexpr std::string_view kOpenApiPath = "/v1/openapi.json";

// GET /v1/openapi.json: the API's description, compiled in (hub/http/openapi.json). No token:
// it holds no data. Answered at the header stage, like the dashboard's files.
http::Response OpenApi(const http::Request& head) {
  if (head.method != "GET") {
    http::Response r = http::JsonError(405, "method_not_allowed", "use GET");
    r.headers["Allow"] = "GET";
    return r;
  }
  if (http::HasBody(head)) {
    return http::JsonError(400, "bad_request", "/v1/openapi.json takes no request body");
  }
  return {200, std::string(OpenApiDocument())};
}

std::string Hex(std::string_view bytes) {
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), reinterpret_cast<const unsigned char*>(bytes.data()),
                 bytes.size());
  out.pop_back();
  return out;
}

}  // namespace

std::optional<http::Response> HubApi::Authorize(const http::Request& head) {
  if (head.path == "/healthz") {
    if (!http::HasBody(head)) return std::nullopt;
    return http::JsonError(400, "bad_request", "/healthz takes no request body");
  }
  if (head.path == "/metrics") return RefuseMetrics(head);
  // The dashboard's files: from memory, at once, on the I/O thread (no token: they hold no data).
  if (ui::IsUiPath(head.path)) return ui::Serve(head);
  if (head.path == kOpenApiPath) return OpenApi(head);
  if (head.path.rfind("/v1/", 0) != 0) {
    return http::JsonError(404, "not_found", "no such endpoint: " + head.path);
  }
  if (head.path == "/v1/collect") {
    if (head.method == "OPTIONS") return Preflight(head);
    if (head.method != "POST") return http::JsonError(405, "method_not_allowed", "use POST");
    auto source = AuthenticateSource(head.BearerToken());
    if (!source.ok()) return http::ErrorFromStatus(source.status());
    if (!source->has_value()) return Unauthorized(kNoSourceKey);
    return RefuseOrigin(head, **source);
  }
  if (IsSegmentPath(head.path)) {
    if (head.method == "OPTIONS") return Preflight(head);
    if (head.method != "POST") return http::JsonError(405, "method_not_allowed", "use POST");
    // The write key: HTTP Basic (key as user name) or Bearer now; without a header, the body's
    // "writeKey" (analytics.js beacons) is checked once the body is read.
    const std::string key = SegmentWriteKey(head);
    if (key.empty()) return std::nullopt;
    auto source = AuthenticateSource(key);
    if (!source.ok()) return http::ErrorFromStatus(source.status());
    if (!source->has_value()) return Unauthorized(kNoSourceKey);
    return RefuseOrigin(head, **source);
  }
  auto admitted = Admit(head);
  if (auto* refused = std::get_if<http::Response>(&admitted)) return std::move(*refused);
  return std::nullopt;
}

std::variant<HubApi::Caller, http::Response> HubApi::Admit(const http::Request& head) {
  const std::string token = head.BearerToken();
  if (TokensEqual(token, config_.token)) return Caller{"admin", access::Role::kAdmin};
  std::optional<Caller> caller;
  if (access_ != nullptr && token.rfind(access::kTokenPrefix, 0) == 0) {
    std::lock_guard lock(access_mu_);
    auto found = access_->FindToken(token);
    if (!found.ok()) return http::ErrorFromStatus(found.status());
    if (found->has_value()) caller = Caller{(*found)->name, (*found)->role};
  }
  if (!caller) return Unauthorized(kNoAdminToken);
  if (auto why = access::Forbidden(caller->role, head.method, head.path)) {
    // A known token trying what its role may not (an analyst asking for an export) is worth an
    // entry; unknown tokens are not (anyone could fill the log with them).
    if (access::Audited(head.method, head.path)) Audit(*caller, head, 403);
    return http::JsonError(403, "forbidden", *why);
  }
  return *caller;
}

void HubApi::Audit(const Caller& caller, const http::Request& req, int status,
                   const http::Response* answer) {
  if (access_ == nullptr) return;
  access::AuditEntry e;
  e.at_ms = clock_->NowMillis();
  e.actor = caller.name;
  e.role = std::string(access::RoleName(caller.role));
  // The path, never the query (it may carry an identifier); paths are mostly ids.
  e.target = IsUtf8(req.path) && req.path.size() <= 512 ? req.path : "(path not shown: not UTF-8 "
                                                                      "or over 512 bytes)";
  e.action = req.method + " " + e.target;
  e.status = status;
  // The id a change names in its body (a segment's, an offer's), except in rights requests,
  // whose bodies name people.
  nlohmann::json detail = nlohmann::json::object();
  if (req.path.rfind("/v1/privacy", 0) != 0 && !req.body.empty()) {
    const auto body = nlohmann::json::parse(req.body, nullptr, false);
    if (body.is_object()) {
      const auto id = body.find("id");
      if (id != body.end() && id->is_string() && id->get_ref<const std::string&>().size() <= 100) {
        detail["id"] = *id;
      }
    }
  }
  // An erasure request is named by the id the hub gave it (never by the person).
  if (answer != nullptr && answer->status == 202 && req.path == "/v1/privacy/erasures") {
    const auto doc = nlohmann::json::parse(answer->body, nullptr, false);
    if (doc.is_object() && doc.contains("id") && doc["id"].is_string()) detail["id"] = doc["id"];
  }
  e.detail = detail.dump();
  Result<access::AuditEntry> stored = Status::Internal("unset");
  {
    std::lock_guard lock(access_mu_);
    stored = access_->Append(std::move(e));
  }
  if (!stored.ok()) {
    spdlog::error("audit: could not record {} {} by {}: {}", req.method, req.path, caller.name,
                  stored.status().ToString());
  }
}

http::Response HubApi::AuditLog(const http::Request& req) {
  if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
  int64_t after = 0;
  int64_t limit = kDefaultAuditLimit;
  for (const auto& [name, value] : req.query) {
    const auto n = http::ParseCount(value);
    if (name == "after") {
      if (!n) return http::InvalidField("after", "must be an entry number (next_after)");
      after = *n;
    } else if (name == "limit") {
      if (!n || *n < 1 || *n > kMaxAuditLimit) {
        return http::InvalidField("limit", "must be an integer from 1 to 1000");
      }
      limit = *n;
    } else {
      return http::InvalidField(name, "unknown parameter; expected after, limit");
    }
  }
  if (access_ == nullptr) return http::JsonError(503, "unavailable", "no audit log configured");
  Result<std::vector<access::AuditEntry>> page = Status::Internal("unset");
  {
    std::lock_guard lock(access_mu_);
    page = access_->ReadAudit(after, static_cast<int>(limit) + 1);
  }
  if (!page.ok()) return http::ErrorFromStatus(page.status());
  const bool more = static_cast<int64_t>(page->size()) > limit;
  if (more) page->pop_back();
  nlohmann::json entries = nlohmann::json::array();
  for (const access::AuditEntry& e : *page) {
    entries.push_back({{"seq", e.seq},
                       {"at", FormatRfc3339(e.at_ms)},
                       {"actor", e.actor},
                       {"role", e.role},
                       {"action", e.action},
                       {"target", e.target},
                       {"status", e.status},
                       {"detail", nlohmann::json::parse(e.detail, nullptr, false)},
                       {"mac", Hex(e.mac)}});
  }
  nlohmann::json out = {{"entries", std::move(entries)},
                        {"next_after", more ? nlohmann::json(page->back().seq) : nlohmann::json()}};
  return {200, out.dump()};
}

std::optional<http::Response> HubApi::RefuseMetrics(const http::Request& head) const {
  if (head.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
  if (http::HasBody(head)) return http::JsonError(400, "bad_request", "/metrics takes no body");
  if (config_.metrics_token.empty()) return std::nullopt;
  const std::string token = head.BearerToken();
  if (TokensEqual(token, config_.metrics_token) || TokensEqual(token, config_.token)) {
    return std::nullopt;
  }
  return Unauthorized("missing or invalid metrics token ([metrics] token of hub.toml)");
}

void HubApi::Handle(http::Request&& req, http::Responder respond) {
  if (req.path == "/healthz") return respond({200, R"({"status":"ok"})"});
  if (req.path == "/metrics") {
    if (auto refused = RefuseMetrics(req)) return respond(std::move(*refused));
    return respond(Prometheus());
  }
  if (ui::IsUiPath(req.path)) return respond(ui::Serve(req));
  if (req.path == kOpenApiPath) return respond(OpenApi(req));
  if (req.path.rfind("/v1/", 0) != 0) {
    return respond(http::JsonError(404, "not_found", "no such endpoint: " + req.path));
  }
  if ((req.path == "/v1/collect" || IsSegmentPath(req.path)) && req.method == "OPTIONS") {
    return respond(Preflight(req));
  }
  if (req.path == "/v1/collect") {
    if (req.method != "POST") {
      return respond(http::JsonError(405, "method_not_allowed", "use POST"));
    }
    return respond(Collect(req));
  }
  if (IsSegmentPath(req.path)) {
    if (req.method != "POST") {
      return respond(http::JsonError(405, "method_not_allowed", "use POST"));
    }
    return respond(SegmentCollect(std::move(req)));
  }
  auto admitted = Admit(req);
  if (auto* refused = std::get_if<http::Response>(&admitted)) return respond(std::move(*refused));
  const Caller caller = std::get<Caller>(admitted);
  http::Response answer = Route(req);
  if (caller.role == access::Role::kAnalyst && answer.status == 200 &&
      answer.content_type == "application/json") {
    auto doc = nlohmann::json::parse(answer.body, nullptr, false);
    if (!doc.is_discarded()) {
      access::MaskPersonalData(doc);
      answer.body = doc.dump();
    }
  }
  if (access::Audited(req.method, req.path)) Audit(caller, req, answer.status, &answer);
  respond(std::move(answer));
}

http::Response HubApi::Route(const http::Request& req) {
  // Query names and values are quoted back in answers (metrics filters, ids), and JSON text
  // must be UTF-8: refuse other bytes here, once for every endpoint, naming the parameter.
  for (const auto& [name, value] : req.query) {
    if (!IsUtf8(name) || !IsUtf8(value)) {
      return http::JsonError(400, "invalid", "query parameter is not valid UTF-8",
                             IsUtf8(name) ? name : "query");
    }
  }
  if (!IsUtf8(req.path)) {
    return http::JsonError(400, "invalid", "request path is not valid UTF-8", "path");
  }
  if (req.path == "/v1/stats" || req.path == "/v1/devices" || req.path == "/v1/alerts") {
    if (req.method != "GET") return http::JsonError(405, "method_not_allowed", "use GET");
    if (req.path == "/v1/alerts") return Alerts();
    return req.path == "/v1/stats" ? Stats() : Devices();
  }
  if (req.path == "/v1/audit") return AuditLog(req);
  if (journey_api_ != nullptr && JourneyApi::Owns(req.path)) {
    return journey_api_->Handle(req);
  }
  if (prediction_api_ != nullptr && PredictionApi::Owns(req.path)) {
    return prediction_api_->Handle(req);
  }
  if (identity_api_ != nullptr && IdentityApi::Owns(req.path)) {
    return identity_api_->Handle(req);
  }
  if (destination_api_ != nullptr && DestinationApi::Owns(req.path)) {
    return destination_api_->Handle(req);
  }
  if (profile_api_ != nullptr && ProfileApi::Owns(req.path)) {
    return profile_api_->Handle(req);
  }
  if (segment_api_ != nullptr && SegmentApi::Owns(req.path)) {
    return segment_api_->Handle(req);
  }
  if (offer_api_ != nullptr && OfferApi::Owns(req.path)) {
    return offer_api_->Handle(req);
  }
  if (privacy_api_ != nullptr && PrivacyApi::Owns(req.path)) {
    return privacy_api_->Handle(req);
  }
  return http::JsonError(404, "not_found", "no such endpoint: " + req.path);
}

std::vector<std::string> HubApi::AllowedOrigins(const std::string& source, int64_t max_age_ms) {
  const int64_t now = clock_->NowMillis();
  std::lock_guard lock(cors_mu_);
  if (origins_loaded_ms_ == 0 || now - origins_loaded_ms_ >= max_age_ms ||
      now < origins_loaded_ms_) {
    Result<std::vector<SourceRecord>> sources = Status::Internal("unset");
    {
      std::lock_guard store_lock(store_mu_);
      sources = store_->ListSources();
    }
    if (sources.ok()) {
      origins_.clear();
      for (SourceRecord& s : *sources) origins_[s.name] = std::move(s.allowed_origins);
      origins_loaded_ms_ = now;
    } else {
      spdlog::warn("cors: reading the sources' origins failed: {}", sources.status().ToString());
    }
  }
  if (!source.empty()) {
    auto it = origins_.find(source);
    return it == origins_.end() ? std::vector<std::string>() : it->second;
  }
  std::vector<std::string> all;
  for (const auto& [name, origins] : origins_) all.insert(all.end(), origins.begin(), origins.end());
  return all;
}

http::Response HubApi::Preflight(const http::Request& head) {
  const std::string origin = head.Header("origin");
  if (origin.empty()) {
    http::Response r{204, "", "application/json", {}};
    r.headers["Allow"] = "POST, OPTIONS";
    return r;
  }
  // A refused origin is checked again against the store when the list is 2 s old or more, so
  // an origin just added (cjdctl) works at once; one removed stops within 30 s.
  if (!OriginAllowed(AllowedOrigins("", 30'000), origin) &&
      !OriginAllowed(AllowedOrigins("", 2'000), origin)) {
    return OriginRefused(origin);
  }
  return PreflightResponse(head);
}

std::optional<http::Response> HubApi::RefuseOrigin(const http::Request& head,
                                                   const std::string& source) {
  const std::string origin = head.Header("origin");
  if (origin.empty() || OriginAllowed(AllowedOrigins(source, 30'000), origin) ||
      OriginAllowed(AllowedOrigins(source, 2'000), origin)) {
    return std::nullopt;
  }
  return OriginRefused(origin);
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
  if (auto refused = RefuseOrigin(req, **source)) return std::move(*refused);
  http::Response answer = CollectFor(**source, req);
  if (const std::string origin = req.Header("origin"); !origin.empty()) {
    AddCorsHeaders(&answer, origin);
  }
  return answer;
}

http::Response HubApi::CollectFor(const std::string& source, const http::Request& req) {
  const int64_t now = clock_->NowMillis();
  CollectParse parsed = ParseCollectRequest(req, now);
  if (parsed.error) return std::move(*parsed.error);

  Result<IngestResult> committed = CommitFor(source, parsed.events, now);
  if (!committed.ok()) return http::ErrorFromStatus(committed.status());

  nlohmann::json body;
  body["accepted"] = parsed.events.size();
  body["duplicates"] = committed->duplicates;
  nlohmann::json ids = nlohmann::json::array();
  for (const CollectEvent& e : parsed.events) ids.push_back(e.event_id);
  body["event_ids"] = std::move(ids);
  return {202, body.dump()};
}

Result<IngestResult> HubApi::CommitFor(const std::string& source,
                                       const std::vector<CollectEvent>& events, int64_t now_ms) {
  if (events.empty()) return IngestResult{};
  Result<IngestResult> committed = Status::Internal("unset");
  {
    std::lock_guard lock(write_mu_);
    committed = write_store_->CommitCollect(source, events, now_ms);
  }
  if (!committed.ok()) {
    spdlog::error("collect: commit for source {} failed: {}", source,
                  committed.status().ToString());
    return committed.status();
  }
  if (committed->inserted > 0 && on_events_committed_) on_events_committed_();
  return committed;
}

http::Response HubApi::SegmentCollect(http::Request req) {
  std::string encoding = req.Header("content-encoding");
  for (char& c : encoding) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (encoding == "gzip") {
    Result<std::string> plain =
        GunzipBounded(req.body, static_cast<size_t>(config_.max_body_bytes) * 4);
    if (!plain.ok()) return http::ErrorFromStatus(plain.status());
    req.body = std::move(*plain);
  } else if (!encoding.empty() && encoding != "identity") {
    return http::JsonError(415, "unsupported_media_type",
                           "Content-Encoding must be gzip or absent, got " + encoding,
                           "content-encoding");
  }
  const int64_t now = clock_->NowMillis();
  SegmentParse parsed = ParseSegmentRequest(req, now);
  std::string key = SegmentWriteKey(req);
  if (key.empty()) key = parsed.write_key;
  auto source = AuthenticateSource(key);
  if (!source.ok()) return http::ErrorFromStatus(source.status());
  if (!source->has_value()) {
    return Unauthorized("a source key is required as the write key: HTTP Basic with the key as "
                        "user name, Bearer, or \"writeKey\" in the body (cjdctl add-source)");
  }
  if (auto refused = RefuseOrigin(req, **source)) return std::move(*refused);
  const std::string origin = req.Header("origin");
  auto finish = [&](http::Response r) {
    if (!origin.empty()) AddCorsHeaders(&r, origin);
    return r;
  };
  if (parsed.error) return finish(std::move(*parsed.error));
  Result<IngestResult> committed = CommitFor(**source, parsed.events, now);
  if (!committed.ok()) return finish(http::ErrorFromStatus(committed.status()));
  nlohmann::json body = {{"success", true},
                         {"accepted", parsed.events.size()},
                         {"duplicates", committed->duplicates},
                         {"errors", std::move(parsed.errors)}};
  return finish({200, body.dump()});
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
  if (journey_api_ != nullptr) j["journeys"] = journey_api_->StatsJson();
  if (prediction_api_ != nullptr) j["predictions"] = prediction_api_->StatsJson();
  if (identity_api_ != nullptr) j["matching"] = identity_api_->StatsJson();
  if (destination_api_ != nullptr) j["webhooks"] = destination_api_->StatsJson();
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

Result<nlohmann::json> HubApi::Fleet(int64_t now_ms) {
  Result<std::vector<DeviceRow>> rows = Status::Internal("unset");
  {
    std::lock_guard lock(store_mu_);
    rows = store_->ListDevices();
  }
  if (!rows.ok()) return rows.status();
  nlohmann::json fleet = FleetJson(*rows, now_ms, config_.offline_after_s * 1000);
  for (auto& d : fleet["devices"]) {
    // The version the hub wants each device to hold, beside the one it reported, and when the
    // hub last sent it an update.
    auto sync = planner_ != nullptr ? planner_->DeviceSync(d["device_id"].get<std::string>())
                                    : std::nullopt;
    d["offers_target"] = sync ? nlohmann::json(sync->target) : nlohmann::json();
    d["offers_sent_at"] = sync && sync->sent_ms > 0 ? nlohmann::json(FormatRfc3339(sync->sent_ms))
                                                    : nlohmann::json();
  }
  return fleet;
}

http::Response HubApi::Devices() {
  auto fleet = Fleet(clock_->NowMillis());
  if (!fleet.ok()) return http::ErrorFromStatus(fleet.status());
  return {200, fleet->dump()};
}

http::Response HubApi::Alerts() {
  auto doc = AlertsJson();
  if (!doc.ok()) return http::ErrorFromStatus(doc.status());
  return {200, doc->dump()};
}

Result<nlohmann::json> HubApi::AlertsJson() {
  const int64_t now = clock_->NowMillis();
  auto fleet = Fleet(now);
  if (!fleet.ok()) return fleet.status();
  AlertThresholds t;
  t.offline_minutes = config_.alert_offline_minutes;
  t.backlog_minutes = config_.alert_backlog_minutes;
  t.clock_skew_seconds = config_.alert_clock_skew_seconds;
  t.offers_behind_minutes = config_.alert_offers_behind_minutes;
  return FleetAlerts(*fleet, t, now);
}

}  // namespace cjd::hub

// GET /metrics on the hub: the Prometheus text format (shared/http/prometheus.h). Built from the
// same figures as GET /v1/stats and GET /v1/devices, per device as gauges labelled by device,
// store and kind (ids only: nothing personal), and the HTTP request metrics the server keeps.
#include <nlohmann/json.hpp>

#include <optional>
#include <set>
#include <string_view>

#include "hub/http/hub_api.h"
#include "shared/event/event.h"
#include "shared/storage/memory_report.h"
#include "shared/storage/postgres.h"

namespace cjd::hub {
namespace {

using json = nlohmann::json;

double Num(const json& j, const char* key) {
  const auto it = j.find(key);
  return it != j.end() && it->is_number() ? it->get<double>() : 0.0;
}

}  // namespace

std::string HubRouteLabel(const http::Request& head) {
  static const std::set<std::string, std::less<>> kExact = {
      "/healthz",     "/metrics",         "/v1/collect",       "/v1/stats",
      "/v1/devices",  "/v1/alerts",       "/v1/audit",        "/v1/metrics",       "/v1/profiles",
      "/v1/segments", "/v1/offers",       "/v1/privacy/export", "/v1/privacy/erasures",
      "/v1/metrics/web", "/v1/funnels/query", "/v1/retention", "/v1/journeys/sessions",
      "/v1/attribution/query", "/v1/paths/query", "/v1/journeys/lifecycle",
      "/v1/journeys/stages", "/v1/predictions", "/v1/predictions/refit", "/v1/identity/review",
      "/v1/track", "/v1/identify", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias", "/v1/batch",
      "/v1/openapi.json", "/v1/destinations"};
  const std::string& p = head.path;
  if (kExact.count(p) > 0) return p;
  if (p == "/ui" || p.rfind("/ui/", 0) == 0) return "/ui";
  // /v1/{profiles|segments|offers}/{id}[/{split|members|stats}], /v1/privacy/erasures/{id}
  std::vector<std::string_view> parts;
  std::string_view rest(p);
  while (!rest.empty()) {
    rest.remove_prefix(1);
    const size_t slash = rest.find('/');
    parts.push_back(rest.substr(0, slash));
    rest = slash == std::string_view::npos ? std::string_view() : rest.substr(slash);
  }
  if (parts.size() >= 3 && parts[0] == "v1") {
    const std::string_view kind = parts[1];
    if (kind == "profiles" || kind == "segments" || kind == "offers") {
      const std::string base = "/v1/" + std::string(kind) + "/{id}";
      if (parts.size() == 3) return base;
      if (parts.size() == 4 && (parts[3] == "split" || parts[3] == "members" || parts[3] == "stats")) {
        return base + "/" + std::string(parts[3]);
      }
    }
    if (kind == "identity" && parts.size() == 4 && parts[2] == "review") {
      return "/v1/identity/review/{id}";
    }
    if (kind == "destinations") {
      if (parts.size() == 3) return "/v1/destinations/{id}";
      if (parts.size() == 4 && parts[3] == "deliveries") return "/v1/destinations/{id}/deliveries";
    }
    if (kind == "privacy" && parts.size() == 4 && parts[2] == "erasures") {
      return "/v1/privacy/erasures/{id}";
    }
  }
  return "other";
}

namespace {

// The figures of the event store's counters.
void WriteStoreCounters(const StoreCounters& c, prom::Writer& w) {
  w.Counter("cjd_hub_events_total", "Events stored in the hub's log (devices and collect)",
            static_cast<double>(c.events_total));
  w.Family("cjd_hub_events_by_type_total", "counter", "Events stored, by event type");
  for (EventType t : kAllEventTypeList) {
    const std::string name(EventTypeName(t));
    const auto it = c.events_by_type.find(name);
    w.Sample("cjd_hub_events_by_type_total", {{"type", name}},
             it == c.events_by_type.end() ? 0.0 : static_cast<double>(it->second));
  }
  w.Counter("cjd_hub_duplicate_events_total",
            "Events received again (same source and event id) and not stored twice",
            static_cast<double>(c.duplicate_events));
  w.Family("cjd_hub_rejected_total", "counter",
           "Frames and events refused at ingest, by reason (hub README: ingest)");
  for (const char* reason : kRejectReasons) {
    const auto it = c.rejected_by_reason.find(reason);
    w.Sample("cjd_hub_rejected_total", {{"reason", reason}},
             it == c.rejected_by_reason.end() ? 0.0 : static_cast<double>(it->second));
  }
}

}  // namespace

http::Response HubApi::Prometheus() {
  Result<StoreCounters> counters = Status::Internal("unset");
  {
    std::lock_guard lock(store_mu_);
    counters = store_->Counters();
  }
  // The store unreachable (PostgreSQL restarting, failing over) still gets an answer: the
  // figures read from it are left out and cjd_hub_store_up says why, so a scrape tells a hub
  // that is down from a database that is.
  const bool store_up = counters.ok();
  const Result<json> fleet =
      store_up ? Fleet(clock_->NowMillis()) : Result<json>(counters.status());
  prom::Writer w;
  w.Family("cjd_build_info", "gauge", "The running cjd-hub's version (always 1)");
  w.Sample("cjd_build_info", {{"program", "cjd-hub"}, {"version", CJD_VERSION}}, 1);
  w.Gauge("cjd_hub_store_up",
          "1 while the hub's event store answers; 0 while it does not (its figures are left out)",
          store_up && fleet.ok() ? 1 : 0);
  if (!config_.store_url.empty()) {
    w.Counter("cjd_hub_postgres_reconnects_total",
              "Connections to PostgreSQL made again after they were lost (restart, failover)",
              static_cast<double>(pg::ReconnectsInProcess()));
  }
  if (store_up) WriteStoreCounters(*counters, w);
  const IngestStats ingest = ingestor_->Stats();
  w.Gauge("cjd_hub_mqtt_connected", "1 while the hub's broker connection is up",
          ingest.connected ? 1 : 0);
  w.Gauge("cjd_hub_ingest_queue_frames", "Frames received and waiting for the ingest thread",
          static_cast<double>(ingest.queue));
  w.Counter("cjd_hub_ingest_frames_total", "Frames received from devices",
            static_cast<double>(ingest.frames_total));
  w.Counter("cjd_hub_ingest_batches_committed_total", "Device batches committed",
            static_cast<double>(ingest.batches_committed));
  w.Counter("cjd_hub_ingest_commits_total", "Ingest transactions (groups of frames)",
            static_cast<double>(ingest.groups));
  w.Counter("cjd_hub_ingest_duplicate_frames_total", "Frames whose events were all held already",
            static_cast<double>(ingest.duplicate_frames));
  w.Counter("cjd_hub_resyncs_sent_total", "Resend requests sent to devices after a reconnect",
            static_cast<double>(ingest.resyncs_sent));
  if (profile_api_ != nullptr) {
    const json p = profile_api_->StatsJson();
    const double cursor = Num(p, "cursor");
    w.Gauge("cjd_hub_projection_cursor", "Last event of the log applied to the profiles",
            cursor);
    if (store_up) {
      w.Gauge("cjd_hub_projection_lag_events",
              "Events in the log not yet applied to the profiles",
              std::max(0.0, static_cast<double>(counters->last_event_rowid) - cursor));
    }
    w.Counter("cjd_hub_projection_events_applied_total", "Events applied to the profiles",
              Num(p, "events_applied"));
    w.Counter("cjd_hub_projection_quarantined_events_total",
              "Events whose bodies did not parse (kept in the log, not applied)",
              Num(p, "quarantined_events"));
    w.Counter("cjd_hub_profile_merges_total", "Profiles merged by a shared identifier",
              Num(p, "merges"));
    w.Gauge("cjd_hub_profiles", "Live customer profiles", Num(p, "profiles"));
    w.Gauge("cjd_hub_orders", "Orders held in the projection", Num(p, "orders"));
  }
  if (segment_api_ != nullptr) {
    const json s = segment_api_->StatsJson();
    w.Gauge("cjd_hub_segments", "Segments defined (built-ins included)", Num(s, "segments"));
    w.Counter("cjd_hub_segment_evaluations_total", "Profile evaluations against the segments",
              Num(s, "evaluations"));
    w.Counter("cjd_hub_segment_full_evaluations_total", "Full re-evaluations of every profile",
              Num(s, "full_evaluations"));
    w.Gauge("cjd_hub_segment_queue_profiles", "Changed profiles waiting for evaluation",
            Num(s, "queued"));
  }
  if (prediction_api_ != nullptr) {
    const json s = prediction_api_->StatsJson();
    if (s.value("enabled", false)) {
      w.Counter("cjd_hub_prediction_refits_total", "Refits of the customer predictions",
                Num(s, "refits"));
      w.Gauge("cjd_hub_prediction_last_refit_seconds", "Duration of the last refit",
              Num(s, "last_refit_ms") / 1000.0);
      w.Gauge("cjd_hub_prediction_customers", "Customers with a current prediction",
              Num(s, "customers"));
      w.Gauge("cjd_hub_prediction_refit_failing",
              "1 when the last refit failed (its error in /v1/stats predictions.last_error)",
              s["last_error"].is_null() ? 0 : 1);
    }
  }
  if (identity_api_ != nullptr) {
    const json s = identity_api_->StatsJson();
    if (s.value("enabled", false)) {
      w.Gauge("cjd_hub_matching_profiles", "Live profiles with matching fields, indexed",
              Num(s, "records"));
      w.Counter("cjd_hub_matching_fits_total", "Fits of the probabilistic matcher's weights",
                Num(s, "fits"));
      w.Counter("cjd_hub_matching_merges_total", "Profiles merged by the probabilistic matcher",
                Num(s, "merges"));
      w.Counter("cjd_hub_matching_refused_total",
                "Merges the matcher asked for that the guardrails refused", Num(s, "refused"));
      w.Gauge("cjd_hub_matching_reviews_pending", "Pairs waiting on the review list",
              Num(s, "reviews_pending"));
      w.Gauge("cjd_hub_matching_failing",
              "1 when the matcher's last step failed (its error in /v1/stats matching.last_error)",
              s["last_error"].is_null() ? 0 : 1);
    }
  }
  if (privacy_api_ != nullptr && privacy_api_->eraser() != nullptr) {
    const auto c = privacy_api_->eraser()->Counts();
    if (c.ok()) {
      w.Counter("cjd_hub_erasure_requests_total", "Erasure requests made",
                static_cast<double>(c->requests));
      w.Gauge("cjd_hub_erasures_pending",
              "Erasure requests not done yet (the hub's part or a device's receipt missing)",
              static_cast<double>(c->pending));
      w.Gauge("cjd_hub_erasures_hub_pending", "Erasure requests whose hub part is not done",
              static_cast<double>(c->hub_pending));
      w.Gauge("cjd_hub_erasures_overdue", "Erasure requests not done by their deadline",
              static_cast<double>(c->overdue));
      w.Gauge("cjd_hub_erasure_receipts_owed",
              "Devices' receipts still owed for erasure requests (one per request and device)",
              static_cast<double>(c->receipts_owed));
    }
  }
  if (offer_api_ != nullptr) {
    const json o = offer_api_->StatsJson();
    w.Gauge("cjd_hub_offers", "Offers defined and not deleted", Num(o, "offers"));
    w.Counter("cjd_hub_offer_updates_sent_total", "Offer updates sent to devices",
              Num(o, "updates_sent"));
    w.Counter("cjd_hub_offer_resends_total", "Offer updates sent again to devices behind",
              Num(o, "resends"));
    w.Counter("cjd_hub_offer_publish_failures_total", "Offer updates the broker refused",
              Num(o, "publish_failures"));
    w.Gauge("cjd_hub_offer_devices", "Devices with an offer cache", Num(o, "devices"));
    w.Gauge("cjd_hub_offer_devices_current", "Devices holding every offer change",
            Num(o, "devices_current"));
  }

  // Per device, from the fleet view; a family skips a device without the figure.
  struct DeviceFamily {
    const char* name;
    const char* help;
    std::optional<double> (*value)(const json& device);
  };
  static constexpr DeviceFamily kFamilies[] = {
      {"cjd_hub_device_online", "1 when the device's last heartbeat said online and is fresh",
       [](const json& d) -> std::optional<double> { return d.value("online", false) ? 1 : 0; }},
      {"cjd_hub_device_backlog_events", "Events the device holds that the hub has not acked",
       [](const json& d) -> std::optional<double> { return Num(d, "backlog"); }},
      {"cjd_hub_device_backlog_age_seconds", "Age of the device's oldest unacked event",
       [](const json& d) -> std::optional<double> { return Num(d, "backlog_age_s"); }},
      {"cjd_hub_device_last_seen_timestamp_seconds", "When the hub last heard from the device",
       [](const json& d) -> std::optional<double> {
         const auto it = d.find("last_seen");
         if (it == d.end() || !it->is_string()) return std::nullopt;
         const Result<int64_t> ms = ParseRfc3339(it->get<std::string>());
         return ms.ok() ? std::optional<double>(static_cast<double>(*ms) / 1000.0) : std::nullopt;
       }},
      {"cjd_hub_device_clock_skew_seconds", "The device's clock minus the hub's",
       [](const json& d) -> std::optional<double> {
         const auto it = d.find("clock_skew_ms");
         if (it == d.end() || !it->is_number()) return std::nullopt;
         return it->get<double>() / 1000.0;
       }},
  };
  for (const DeviceFamily& f : kFamilies) {
    if (!fleet.ok()) break;
    w.Family(f.name, "gauge", f.help);
    for (const json& d : (*fleet)["devices"]) {
      const std::optional<double> v = f.value(d);
      if (!v) continue;
      w.Sample(f.name,
               {{"device", d.value("device_id", "")},
                {"store", d.value("store_id", "")},
                {"kind", d.value("kind", "")}},
               *v);
    }
  }
  if (fleet.ok()) w.Gauge("cjd_hub_devices_online", "Devices online", Num(*fleet, "online"));
  const MemoryReport mem = ReadMemoryReport();
  w.Gauge("cjd_hub_resident_memory_bytes", "The hub's resident set size",
          static_cast<double>(mem.rss_bytes));
  w.Gauge("cjd_hub_sqlite_memory_bytes", "Memory held by SQLite (page caches, statements)",
          static_cast<double>(mem.sqlite_bytes));
  w.Gauge("cjd_hub_uptime_seconds", "Seconds since the hub started",
          static_cast<double>(clock_->NowMillis() - started_ms_) / 1000.0);
  request_metrics_.Write(w);
  http::Response r{200, w.text()};
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

}  // namespace cjd::hub

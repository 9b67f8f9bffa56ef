// GET /metrics on the agent: the Prometheus text format (shared/http/prometheus.h), from the
// same snapshot as GET /v1/status, plus the acknowledgement latency and the HTTP request
// metrics. Device and store are labels of cjd_build_info only: a scrape target is one agent.
#include "agent/http/agent_api.h"
#include "agent/status/status_report.h"
#include "shared/storage/memory_report.h"

namespace cjd::agent {

std::string AgentRouteLabel(const http::Request& head) {
  for (const char* known : {"/healthz", "/metrics", "/v1/events", "/v1/offers", "/v1/status",
                            "/v1/openapi.json"}) {
    if (head.path == known) return known;
  }
  return "other";
}

http::Response AgentApi::Prometheus() const {
  StatusSnapshot s = uplink_->Snapshot(true);
  const MemoryReport mem = ReadMemoryReport();
  prom::Writer w;
  w.Family("cjd_build_info", "gauge", "The running cjd-agent's version and identity (always 1)");
  w.Sample("cjd_build_info",
           {{"program", "cjd-agent"}, {"version", CJD_VERSION}, {"device", s.device_id},
            {"store", s.store_id}, {"kind", s.kind}},
           1);
  w.Counter("cjd_agent_events_accepted_total", "Events accepted (202) into the outbox",
            static_cast<double>(s.accepted_total));
  w.Family("cjd_agent_events_refused_total", "counter",
           "Events refused with 507, by reason (outbox budget full, disk full)");
  w.Sample("cjd_agent_events_refused_total", {{"reason", "budget_full"}},
           static_cast<double>(s.refused_full));
  w.Sample("cjd_agent_events_refused_total", {{"reason", "disk_full"}},
           static_cast<double>(s.refused_disk_full));
  w.Counter("cjd_agent_events_duplicate_total",
            "Events whose event_id was accepted before (not stored again)",
            static_cast<double>(s.duplicates_total));
  w.Gauge("cjd_agent_outbox_backlog_events", "Events the hub has not acknowledged yet",
          static_cast<double>(s.backlog));
  w.Gauge("cjd_agent_outbox_backlog_bytes", "Bytes of the unacknowledged events",
          static_cast<double>(s.backlog_bytes));
  w.Gauge("cjd_agent_outbox_budget_bytes", "The outbox's byte budget ([outbox] budget)",
          static_cast<double>(s.budget_bytes));
  w.Gauge("cjd_agent_outbox_backlog_age_seconds", "Age of the oldest unacknowledged event",
          s.oldest_accepted_ms > 0
              ? static_cast<double>(std::max<int64_t>(0, s.now_ms - s.oldest_accepted_ms)) / 1000.0
              : 0.0);
  w.Gauge("cjd_agent_last_seq", "Highest sequence number assigned in this outbox epoch",
          static_cast<double>(s.last_seq));
  w.Gauge("cjd_agent_acked_seq", "Highest sequence number the hub acknowledged",
          static_cast<double>(s.acked_seq));
  w.Gauge("cjd_agent_mqtt_connected", "1 while the broker connection is up", s.connected ? 1 : 0);
  w.Counter("cjd_agent_batches_sent_total", "Sealed batches published to the hub",
            static_cast<double>(s.batches_sent));
  w.Counter("cjd_agent_resends_total", "Batches sent again (ack timeout, reconnect, resync)",
            static_cast<double>(s.resends));
  w.Counter("cjd_agent_reconnects_total", "Broker reconnections",
            static_cast<double>(s.reconnects));
  w.Counter("cjd_agent_bad_downlink_total", "Downlink frames dropped (bad seal, unknown kind)",
            static_cast<double>(s.bad_downlink));
  w.Counter("cjd_agent_acks_ignored_total", "Acks for another epoch or beyond what was sent",
            static_cast<double>(s.acks_ignored));
  w.Counter("cjd_agent_outbox_resets_total", "Outbox resets reported (damaged, restored)",
            static_cast<double>(s.outbox_resets.size()));
  w.Family("cjd_agent_ack_latency_seconds", "histogram",
           "From a batch's send to the hub's acknowledgement (millisecond clock)");
  uplink_->ack_latency().Write(w, "cjd_agent_ack_latency_seconds", {});
  if (s.offers_enabled) {
    w.Gauge("cjd_agent_offers_version", "Offer watermark: every change up to it is held",
            static_cast<double>(s.offers_version));
    w.Gauge("cjd_agent_offers", "Offers held (not deleted)", static_cast<double>(s.offers_count));
    w.Gauge("cjd_agent_offer_assignments", "Customers with a ranked offer list",
            static_cast<double>(s.offer_assignments));
    w.Counter("cjd_agent_offer_updates_applied_total", "Offer updates applied",
              static_cast<double>(s.offer_updates_applied));
    w.Counter("cjd_agent_offer_updates_rejected_total", "Offer updates refused",
              static_cast<double>(s.offer_updates_rejected));
    w.Family("cjd_agent_offer_impressions_total", "counter",
             "Offer impressions, recorded in the outbox or dropped");
    w.Sample("cjd_agent_offer_impressions_total", {{"outcome", "recorded"}},
             static_cast<double>(s.impressions_recorded));
    w.Sample("cjd_agent_offer_impressions_total", {{"outcome", "dropped"}},
             static_cast<double>(s.impressions_dropped));
  }
  w.Gauge("cjd_agent_resident_memory_bytes", "The agent's resident set size",
          static_cast<double>(mem.rss_bytes));
  w.Gauge("cjd_agent_uptime_seconds", "Seconds since the agent started",
          static_cast<double>(std::max<int64_t>(0, s.now_ms - s.started_ms)) / 1000.0);
  request_metrics_.Write(w);
  http::Response r{200, w.text()};
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  return r;
}

}  // namespace cjd::agent

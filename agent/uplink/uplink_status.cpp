// Uplink, its status: the figures (Stats), the full snapshot for GET /v1/status and the
// heartbeat, and the sealed status frame (heartbeat, last will, goodbye). The sending loop is in
// uplink.cpp, the downlink dispatch in uplink_downlink.cpp.
#include "agent/uplink/uplink.h"

#include "shared/protocol/envelope.h"
#include "shared/protocol/topics.h"

namespace cjd::agent {

UplinkStats Uplink::Stats() const {
  std::lock_guard lock(worker_.mu());
  UplinkStats s = stats_;
  s.connected = link_ && link_->connected();
  s.reconnects = link_ ? link_->reconnects() : 0;
  return s;
}

StatusSnapshot Uplink::Snapshot(bool online) const {
  const WriterStats w = writer_->Stats();
  const UplinkStats u = Stats();
  StatusSnapshot s;
  s.device_id = config_.device_id;
  s.store_id = config_.store_id;
  s.kind = config_.kind;
  s.online = online;
  s.connected = u.connected;
  s.now_ms = clock_->NowMillis();
  s.will_ms = will_ms_.load();
  s.started_ms = started_ms_;
  s.last_seq = w.counters.last_seq;
  s.acked_seq = w.counters.acked_seq;
  s.backlog = w.counters.backlog;
  s.backlog_bytes = w.counters.backlog_bytes;
  s.budget_bytes = w.budget_bytes;
  s.oldest_accepted_ms = w.counters.oldest_accepted_ms;
  s.last_ack_ms = u.last_ack_ms;
  s.accepted_total = w.accepted_total;
  s.refused_full = w.refused_full;
  s.refused_disk_full = w.refused_disk_full;
  s.duplicates_total = w.duplicates_total;
  s.batches_sent = u.batches_sent;
  s.resends = u.resends;
  s.reconnects = u.reconnects;
  s.bad_downlink = u.bad_downlink;
  s.epoch = w.counters.epoch;
  s.epoch_confirmed = u.epoch_confirmed;
  s.acks_ignored = u.acks_ignored;
  s.probes_sent = u.probes_sent;
  for (const OutboxReset& r : w.resets) {
    s.outbox_resets.push_back(OutboxResetReport{r.at_ms, r.reason, r.detail, r.epoch});
  }
  if (offers_ != nullptr) {
    const OfferCacheStats o = offers_->Stats();
    s.offers_enabled = true;
    s.offers_version = o.applied_version;
    s.offers_count = o.offers;
    s.offer_assignments = o.assignments;
    s.offer_updates_applied = o.updates_applied;
    s.offer_updates_rejected = o.updates_rejected;
    s.impressions_recorded = o.impressions_recorded;
    s.impressions_dropped = o.impressions_dropped;
  }
  return s;
}

std::string Uplink::SealedStatus(bool online) const { return SealStatus(Snapshot(online)); }

std::string Uplink::SealStatus(const StatusSnapshot& s) const {
  FrameHeader h;
  h.kind = FrameKind::kStatus;
  h.key_id = keys_.key_id;
  return SealFrame(h, config_.device_id, StatusJson(s), keys_.uplink);
}

void Uplink::PublishStatus(bool online) {
  link_->Publish(topics::Status(config_.device_id), SealedStatus(online), 1, true);
}

}  // namespace cjd::agent

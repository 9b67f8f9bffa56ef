// Uplink: sends the outbox to the hub and applies the hub's acks.
//
// Go-back-N over MQTT: batches of outbox rows are sealed and published (QoS 1) with at most
// `max_in_flight` batches awaiting the hub's ack. The hub acks the highest contiguous sequence it
// has committed; only then are rows deleted (through the OutboxWriter). After a disconnect or an
// ack timeout, sending restarts from the last ack; the hub ignores what it already holds.
//
// Epochs (batch_codec.h): frames carry the outbox's epoch and acks name the epoch they are for.
// After each (re)connect the uplink sends nothing but a probe until the hub has answered it; the
// hub publishes the erase commands the device owes a receipt for before that answer, so an outbox
// kept offline is redacted before any of it leaves (hub/privacy/README.md). At start the probe
// also learns where this epoch stands:
// if the hub holds sequences of it that this outbox never assigned (held_seq > last_seq: the
// outbox was restored from a backup, or copied), new events would reuse numbers the hub already
// holds, so the outbox starts a new epoch first (its waiting rows renumbered and sent again; the
// hub dedupes by event id). An ack for another epoch, or above the last sequence assigned, never
// deletes anything; it is counted (acks_ignored).
//
// Linger: a batch that is not full goes at most once per `linger_ms` (it waits until that long
// after the last frame), so a burst (a kiosk's impressions) shares frames instead of costing the
// hub a commit and an ack each; a full batch goes at once, and so does a lone sale arriving when
// nothing was sent for `linger_ms`.
// A batch made only of telemetry (offer impressions) waits `telemetry_linger_ms` (1 s) instead:
// at 1,000 lookups a second a kiosk then sends its impressions in one frame a second rather than
// forty, and the hub pays one commit and one ack for each; a sale joining the batch sends it
// after `linger_ms`.
//
// Downlink: the same thread opens every frame on the device's down topic with the hub -> device
// key: acks move the outbox on, offer updates are applied to the OfferCache (see offer_cache.h),
// and a resync (the hub reconnected) makes it resend what is in flight at once (counted in
// `resends`, like an ack timeout).
//
// Threading: one uplink thread does all the work. The link's callbacks only enqueue and wake it.
// The link is an UplinkLink (uplink_link.h): MqttLink in the agent, an in-memory one in tests.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "agent/config/agent_config.h"
#include "agent/offers/offer_cache.h"
#include "agent/outbox/outbox_store.h"
#include "agent/outbox/outbox_writer.h"
#include "agent/status/status_report.h"
#include "shared/core/clock.h"
#include "shared/core/worker_thread.h"
#include "shared/http/prometheus.h"
#include "agent/uplink/uplink_link.h"
#include "shared/mqtt/link.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/keys.h"

namespace cjd::agent {

struct UplinkStats {
  bool connected = false;
  uint64_t hub_acked_seq = 0;
  int64_t last_ack_ms = 0;
  int64_t batches_sent = 0;
  int64_t resends = 0;
  int64_t reconnects = 0;
  int64_t bad_downlink = 0;   // downlink frames that failed to open
  int64_t erasures_done = 0;  // erase commands carried out and answered with a receipt
  int64_t acks_ignored = 0;   // acks for another epoch or above the last sequence assigned
  int64_t probes_sent = 0;    // epoch probes (empty batches) sent
  bool epoch_confirmed = false;  // the hub answered for this epoch; batches may go
};

// Trims `events` (read after `sent_upto`, in order) to what one frame may claim and returns the
// frame's last_seq: at most sent_upto + kMaxFrameSeqSpan (batch_codec.h). When every event is
// beyond that, `events` ends empty and the frame only covers the hole. Pure.
uint64_t ClampBatch(uint64_t sent_upto, std::vector<WireEvent>* events);

class Uplink {
 public:
  Uplink(const AgentConfig& config, OutboxWriter* writer, std::unique_ptr<OutboxReader> reader,
         SessionKeys keys, const Clock* clock);
  ~Uplink();
  Uplink(const Uplink&) = delete;
  Uplink& operator=(const Uplink&) = delete;

  // The link to use instead of MQTT (tests). REQUIRES: before Start().
  void set_link_factory(UplinkLinkFactory factory) { link_factory_ = std::move(factory); }

  // Where kOfferUpdate frames go (verified with the downlink key, then applied). Without a cache
  // they are counted as rejected. REQUIRES: before Start(); `cache` outlives the uplink.
  void SetOfferCache(OfferCache* cache) { offers_ = cache; }

  Status Start();
  // Sends a last "offline" status when connected, then disconnects and joins. Idempotent.
  void Stop();
  // Thread-safe: new rows were committed (anything may have changed: the batch is read again).
  void Wake();
  // Thread-safe: the writer committed up to `last_seq`; `business`: some of it was not
  // telemetry. While a batch of telemetry only lingers, a wake with only more telemetry (not a
  // full batch's worth) does not read the outbox again (at 1,000 impressions a second that
  // re-read was most of the agent's CPU).
  void WakeAfterCommit(uint64_t last_seq, bool business);
  UplinkStats Stats() const;
  // The full status (outbox and uplink figures), for GET /v1/status and the heartbeat.
  StatusSnapshot Snapshot(bool online) const;
  // From a batch's (last) send to its ack, in the clock's milliseconds (GET /metrics).
  const prom::Histogram& ack_latency() const { return ack_latency_; }

 private:
  struct InFlight {
    uint64_t first;
    uint64_t last;
    int64_t sent_ms;
  };
  void Run();
  void HandleDownlink(const std::string& payload);
  void HandleAck(const FrameHeader& h, const std::string& plaintext);
  void HandleOfferUpdate(const FrameHeader& h, const std::string& plaintext);
  void HandleErase(const std::string& plaintext);
  void SendProbe(int64_t now);
  void SendBatches(int64_t now);
  void PublishStatus(bool online);
  std::string SealedStatus(bool online) const;
  std::string SealStatus(const StatusSnapshot& s) const;

  const AgentConfig& config_;
  OutboxWriter* writer_;
  std::unique_ptr<OutboxReader> reader_;
  SessionKeys keys_;
  const Clock* clock_;
  const int64_t started_ms_;
  UplinkLinkFactory link_factory_ = NewMqttUplinkLink;
  std::unique_ptr<UplinkLink> link_;
  OfferCache* offers_ = nullptr;
  std::atomic<int64_t> will_ms_{0};   // clock of the last will handed to the link (any thread)

  WorkerThread worker_;               // its mu() guards what is marked "guarded by mu"
  std::deque<std::string> downlink_;  // guarded by mu: raw frames from the broker
  bool wake_ = false;                 // guarded by mu
  bool recheck_ = true;               // guarded by mu: a wake that needs the batch read again
  uint64_t committed_seq_ = 0;        // guarded by mu: the writer's last commit's last sequence
  // Uplink thread only: a batch of telemetry only lingers until this time (0: none), decided
  // when sent_upto_ was telemetry_from_; SendBatches' copies of recheck_ (kept until it reads
  // the outbox: a turn that sends nothing, e.g. waiting for a probe's answer, must not lose it)
  // and committed_seq_.
  int64_t telemetry_until_ = 0;
  uint64_t telemetry_from_ = 0;
  bool recheck_now_ = true;
  uint64_t committed_now_ = 0;
  bool state_changed_ = false;        // guarded by mu
  UplinkStats stats_;                 // guarded by mu
  // Uplink thread only: offer updates applied since the loop last looked, and their size.
  bool offers_applied_ = false;
  size_t offers_bytes_ = 0;

  // Uplink thread only.
  bool resync_ = false;               // a sealed kResync arrived: resend what is in flight
  int64_t last_resync_hub_ms_ = 0;    // hub time of the last resync taken (replays are older)
  uint64_t epoch_ = 0;           // the outbox epoch the frames carry
  bool epoch_confirmed_ = false; // the hub answered a probe or a batch for epoch_
  // The hub answered a probe sent on this connection. Until then only a probe goes: the hub
  // sends what it owes the device (erase commands) before that answer, so an outbox is redacted
  // before any of it leaves after a time offline. Only an ack naming one of `probes_` counts: an
  // ack or resync answering a frame of an earlier connection may arrive after the reconnect, and
  // the owed commands did not necessarily come before it.
  bool heard_since_connect_ = false;
  std::deque<std::string> probes_;  // nonces (hex) of the probes sent on this connection
  int64_t link_reconnects_ = 0;     // the link's reconnect count when this connection was seen
  // An erase command failed on this device: nothing is sent until one succeeds (the hub resends
  // the command until it has a receipt).
  bool erase_failed_ = false;
  bool epoch_switching_ = false; // a new epoch was asked of the writer, not yet started
  int64_t probe_sent_ms_ = 0;    // 0: send one at the next turn
  uint64_t max_read_seq_ = 0;    // highest sequence read from the outbox in this epoch
  uint64_t acked_ = 0;
  uint64_t sent_upto_ = 0;
  std::deque<InFlight> in_flight_;
  prom::Histogram ack_latency_;  // thread-safe on its own
  int64_t last_send_ms_ = 0;     // when the last batch frame went out
  int64_t linger_until_ = 0;     // a partial batch waits until then (0: none waiting)
  std::vector<WireEvent> scratch_;
};

}  // namespace cjd::agent

// Ingestor: the hub's MQTT ingest. Subscribes to every device's uplink and status topics, opens
// and verifies each frame, commits verified batches idempotently in groups (one transaction per
// group), then acknowledges to each device the highest contiguous sequence it holds.
//
// Hostile or broken frames (unknown device, bad seal, replay, truncation, a frame on another
// device's topic) are rejected and counted by reason; they never stop the ingest.
//
// Threading: Paho's callback only enqueues (bounded; when full, frames are dropped and counted,
// and the agents resend them since nothing was acknowledged). One ingest thread does the rest and
// owns its HubStore connection.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <unordered_map>

#include "hub/config/hub_config.h"
#include "shared/protocol/erase_command.h"
#include "hub/ingest/ingest_link.h"
#include "hub/ingest/reject_log.h"
#include "hub/ingest/sequence_tracker.h"
#include "hub/ingest/status_freshness.h"
#include "hub/store/hub_store.h"
#include "shared/core/clock.h"
#include "shared/core/worker_thread.h"
#include "shared/mqtt/link.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/keys.h"

namespace cjd::hub {

// Reasons a frame (or, for the event_* ones, one event of a verified frame) is rejected; the
// names appear in GET /v1/stats.
//   bad_range      a batch claiming sequence 0, more than kMaxFrameSeqSpan numbers, numbers past
//                  kMaxSeq, or one more range above a gap than [ingest] max_pending_ranges
//   event_invalid, event_type, event_store    see device_event_check.h; the event's sequence
//                  number is still acknowledged (the device must not resend it forever)
//   internal       a frame that made the hub throw (a bug), dropped unacknowledged
inline constexpr const char* kRejectReasons[] = {
    "unknown_device", "unknown_key",   "bad_seal",   "malformed",   "replay",
    "bad_topic",      "overload",      "bad_range",  "event_invalid", "event_type",
    "event_store",    "internal"};

struct IngestStats {
  int64_t frames_total = 0;       // frames taken from the broker
  int64_t batches_committed = 0;
  int64_t duplicate_frames = 0;   // resent batches the hub already held (re-acked)
  int64_t events_inserted = 0;    // since start
  int64_t groups = 0;
  int64_t queue = 0;
  int64_t resyncs_sent = 0;       // sealed "resend" requests, one per device at each connect
  bool connected = false;
  std::map<std::string, int64_t> rejected;  // since start
};

class Ingestor {
 public:
  Ingestor(const HubConfig& config, std::unique_ptr<HubStore> store, const Clock* clock);
  ~Ingestor();
  Ingestor(const Ingestor&) = delete;
  Ingestor& operator=(const Ingestor&) = delete;

  // Called on the ingest thread after each commit that stored at least one new event. It must be
  // quick and must not block (e.g. notify a condition variable). REQUIRES: before Start().
  void set_on_events_committed(std::function<void()> hook) {
    on_events_committed_ = std::move(hook);
  }

  // Called on the ingest thread with each verified heartbeat (device id, status JSON) once it is
  // committed. Must be quick (e.g. queue and notify). REQUIRES: before Start().
  void set_on_device_status(
      std::function<void(const std::string& device_id, const std::string& status_json)> hook) {
    on_device_status_ = std::move(hook);
  }

  // Called on the ingest thread with each verified erase receipt (FrameKind::kEraseReceipt on a
  // device's uplink topic) once the group is committed. Must be quick. REQUIRES: before Start().
  void set_on_erase_receipt(
      std::function<void(const std::string& device_id, const EraseReceipt& receipt)> hook) {
    on_erase_receipt_ = std::move(hook);
  }

  // Called on the ingest thread, before the ack, for each device that sent a probe (an agent
  // probes when it (re)connects and sends nothing before that ack), and before each resync the
  // hub sends when it (re)connects: what it publishes to the device's down topic arrives before
  // the frame that lets the device send. `keys` are the device's. Must be quick. Returns false
  // when not everything owed could be published: the ack (or resync) is then held back.
  // REQUIRES: before Start().
  void set_on_probe(
      std::function<bool(const std::string& device_id, const SessionKeys& keys)> hook) {
    on_probe_ = std::move(hook);
  }

  // Replaces the MQTT link (tests drive the ingestor in memory). REQUIRES: before Start().
  void set_link_factory(IngestLinkFactory factory) { link_factory_ = std::move(factory); }

  Status Start();
  void Stop();  // finishes the frames already queued, then disconnects
  // Publishes a downlink frame (QoS 1) on the hub's connection; false when the broker is not
  // connected or did not take it. Thread-safe.
  bool Publish(const std::string& topic, const std::string& payload);
  IngestStats Stats() const;

 private:
  struct Incoming {
    std::string topic;
    std::string payload;
  };
  // Per-device state, ingest thread only.
  struct Device {
    DeviceRecord record;
    SessionKeys keys;
    // Sequence progress per outbox epoch (batch_codec.h); `current_epoch` started last.
    std::map<uint64_t, SequenceTracker> epochs;
    uint64_t current_epoch = 0;
    std::deque<Nonce> recent_nonces;  // bounded, for replay detection
    std::set<Nonce> nonce_set;
    int64_t last_seen_ms = 0;
    StatusMark status_mark;  // the newest status taken (status_freshness.h)
    std::string status_json;  // the status held (stored); a will takes its figures
  };
  struct Group;

  void Run();
  void ProcessGroup(std::deque<Incoming>& frames, int64_t overload);
  void HandleFrame(Incoming& in, Group& group);
  Device* LookupDevice(const std::string& device_id, int64_t now);
  bool SeenNonce(Device& d, const Nonce& n) const;
  void RememberNonce(Device& d, const Nonce& n);
  void Reject(Group& group, const std::string& reason, const std::string& topic,
              const std::string& detail);
  void LogSuppressed(const std::string& reason, int64_t n);
  void FlushRejectLog();
  void QueueResyncs();
  void SendResyncs();
  Status LoadDevices();

  const HubConfig& config_;
  std::unique_ptr<HubStore> store_;
  const Clock* clock_;
  std::function<void()> on_events_committed_;
  std::function<void(const std::string&, const std::string&)> on_device_status_;
  std::function<void(const std::string&, const EraseReceipt&)> on_erase_receipt_;
  std::function<bool(const std::string&, const SessionKeys&)> on_probe_;
  IngestLinkFactory link_factory_ = NewMqttIngestLink;
  std::unique_ptr<IngestLink> link_;

  WorkerThread worker_;               // its mu() guards what is marked "guarded by mu"
  std::deque<Incoming> queue_;        // guarded by mu
  int64_t queue_bytes_ = 0;           // guarded by mu: payload bytes in queue_
  bool resync_requested_ = false;     // guarded by mu: connected, tell the devices to resend
  IngestStats stats_;                 // guarded by mu
  int64_t dropped_overload_ = 0;      // guarded by mu, not yet persisted

  // Ingest thread only.
  std::unordered_map<std::string, std::unique_ptr<Device>> devices_;
  std::unordered_map<std::string, int64_t> unknown_until_;  // negative cache
  RejectLog reject_log_;  // bounds the warnings hostile frames cause
  std::deque<std::string> resync_queue_;  // devices still to be sent a kResync
};

}  // namespace cjd::hub

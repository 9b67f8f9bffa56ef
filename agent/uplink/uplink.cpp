// Uplink: start and stop, the loop (connection changes, ack timeouts, resyncs, heartbeats due)
// and the sending side (the epoch probe, batches within the go-back-N window). The downlink
// dispatch is in uplink_downlink.cpp, the status and heartbeat frames in uplink_status.cpp.
#include "agent/uplink/uplink.h"

#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <spdlog/spdlog.h>

#include <algorithm>

#include "shared/event/event.h"

#include "shared/protocol/batch_codec.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/topics.h"

namespace cjd::agent {

Uplink::Uplink(const AgentConfig& config, OutboxWriter* writer,
               std::unique_ptr<OutboxReader> reader, SessionKeys keys, const Clock* clock)
    : config_(config),
      writer_(writer),
      reader_(std::move(reader)),
      keys_(keys),
      clock_(clock),
      started_ms_(clock->NowMillis()) {}

Uplink::~Uplink() { Stop(); }

Status Uplink::Start() {
  const OutboxCounters c = writer_->Stats().counters;
  epoch_ = c.epoch;
  acked_ = c.acked_seq;
  sent_upto_ = acked_;
  max_read_seq_ = c.last_seq;
  MqttOptions o;
  o.broker = config_.broker;
  o.client_id = "cjd-agent-" + config_.device_id;
  o.username = config_.mqtt_username;
  o.password = config_.mqtt_password;
  o.ca_file = config_.mqtt_ca_file;
  o.cert_file = config_.mqtt_cert_file;
  o.key_file = config_.mqtt_key_file;
  o.clean_session = true;
  o.keepalive_s = static_cast<int>(config_.keepalive_s);
  o.max_inflight = static_cast<int>(config_.max_in_flight) + 4;
  // Only the device's own down topic: the hub's "resend" request arrives there, sealed
  // (FrameKind::kResync); the old unsealed cjd/v1/hub/status hint is not listened to.
  o.subscriptions = {topics::Down(config_.device_id)};
  o.will_topic = topics::Status(config_.device_id);
  o.will_payload = [this] {
    // Built before each connect: its time is what the heartbeats of that connection name, so
    // the hub takes this will when it comes though it is older than they are.
    StatusSnapshot s = Snapshot(false);
    will_ms_.store(s.now_ms);
    return SealStatus(s);
  };
  link_ = link_factory_(
      o,
      [this](const std::string& topic, std::string&& payload) {
        std::lock_guard lock(worker_.mu());
        if (topic != topics::Down(config_.device_id)) return;
        if (downlink_.size() < 10'000) downlink_.push_back(std::move(payload));
        worker_.Notify();
      },
      [this](bool) {
        std::lock_guard lock(worker_.mu());
        state_changed_ = true;
        worker_.Notify();
      });
  CJD_RETURN_IF_ERROR(link_->Start());
  worker_.Start("uplink", [this] { Run(); });
  return Status::Ok();
}

void Uplink::Stop() {
  if (!worker_.RequestStop()) return;  // stopped already
  worker_.Stop();
  if (link_) link_->Stop(topics::Status(config_.device_id), SealedStatus(false));
}

void Uplink::Wake() {
  std::lock_guard lock(worker_.mu());
  wake_ = true;
  recheck_ = true;
  worker_.Notify();
}

void Uplink::WakeAfterCommit(uint64_t last_seq, bool business) {
  std::lock_guard lock(worker_.mu());
  wake_ = true;
  committed_seq_ = std::max(committed_seq_, last_seq);
  if (business) recheck_ = true;
  worker_.Notify();
}

// Probes re-sent on one connection (every ack timeout while the hub is slow): the answer to any
// of the recent ones counts.
constexpr size_t kMaxProbesRemembered = 16;

void Uplink::SendProbe(int64_t now) {
  FrameHeader h;
  h.kind = FrameKind::kEventBatch;
  h.key_id = keys_.key_id;
  h.first_seq = 0;
  h.last_seq = 0;
  const std::string frame = SealFrame(h, config_.device_id, EncodeEventBatch({}, epoch_),
                                      keys_.uplink);
  if (!link_->Publish(topics::Up(config_.device_id), frame, 1, false)) return;
  probe_sent_ms_ = now;
  probes_.push_back(NonceHex(FrameNonce(frame)));
  if (probes_.size() > kMaxProbesRemembered) probes_.pop_front();
  std::lock_guard lock(worker_.mu());
  ++stats_.probes_sent;
}

uint64_t ClampBatch(uint64_t sent_upto, std::vector<WireEvent>* events) {
  // The hub takes at most kMaxFrameSeqSpan numbers per frame: a longer hole (telemetry dropped
  // under budget) goes in several frames, those inside the hole empty.
  const uint64_t limit = sent_upto + kMaxFrameSeqSpan;
  while (!events->empty() && events->back().seq > limit) events->pop_back();
  return events->empty() ? limit : events->back().seq;
}

void Uplink::SendBatches(int64_t now) {
  while (static_cast<int64_t>(in_flight_.size()) < config_.max_in_flight) {
    // Telemetry lingering, and since then only more telemetry, short of a full batch by count
    // (a batch full by bytes goes when the linger ends), from the same place: nothing to read.
    if (telemetry_until_ > now && sent_upto_ == telemetry_from_ && !recheck_now_ &&
        committed_now_ < sent_upto_ + static_cast<uint64_t>(config_.batch_max_events)) {
      return;
    }
    recheck_now_ = false;
    Status st = reader_->ReadBatch(sent_upto_, config_.batch_max_events, config_.batch_max_bytes,
                                   &scratch_);
    if (!st.ok()) {
      spdlog::error("uplink: reading the outbox failed: {}", st.ToString());
      return;
    }
    if (scratch_.empty()) return;
    max_read_seq_ = std::max(max_read_seq_, scratch_.back().seq);
    size_t bytes = 0;
    for (const WireEvent& e : scratch_) bytes += e.body.size();
    // Full: as many events as a frame takes, or half its bytes (ReadBatch stops before the
    // event that would not fit, so a byte-bound batch may end well short of the limit).
    const bool full = static_cast<int64_t>(scratch_.size()) >= config_.batch_max_events ||
                      static_cast<int64_t>(bytes) * 2 >= config_.batch_max_bytes;
    // Telemetry only (impressions): it may wait longer than anything a till waits for.
    const bool telemetry_only =
        std::all_of(scratch_.begin(), scratch_.end(), [](const WireEvent& e) {
          return ClassOf(static_cast<EventType>(e.type)) == EventClass::kTelemetry;
        });
    const int64_t linger =
        telemetry_only ? std::max(config_.linger_ms, config_.telemetry_linger_ms) : config_.linger_ms;
    if (!full && linger > 0 && now < last_send_ms_ + linger) {
      linger_until_ = last_send_ms_ + linger;  // Run() wakes then
      telemetry_until_ = telemetry_only ? linger_until_ : 0;
      telemetry_from_ = sent_upto_;
      return;
    }
    linger_until_ = 0;
    telemetry_until_ = 0;
    FrameHeader h;
    h.kind = FrameKind::kEventBatch;
    h.key_id = keys_.key_id;
    h.first_seq = sent_upto_ + 1;
    h.last_seq = ClampBatch(sent_upto_, &scratch_);
    const std::string frame =
        SealFrame(h, config_.device_id, EncodeEventBatch(scratch_, epoch_), keys_.uplink);
    if (!link_->Publish(topics::Up(config_.device_id), frame, 1, false)) return;
    in_flight_.push_back(InFlight{h.first_seq, h.last_seq, now});
    sent_upto_ = h.last_seq;
    last_send_ms_ = now;
    std::lock_guard lock(worker_.mu());
    ++stats_.batches_sent;
  }
}

void Uplink::Run() {
  bool was_connected = false;
  int64_t next_heartbeat = 0;
  int64_t last_heartbeat = 0;
  std::deque<std::string> frames;
  std::unique_lock lock(worker_.mu());
  while (!worker_.stopping()) {
    const int64_t now0 = clock_->NowMillis();
    int64_t wait_ms = std::max<int64_t>(1, next_heartbeat - now0);
    if (!in_flight_.empty())
      wait_ms = std::min(wait_ms, std::max<int64_t>(1, in_flight_.front().sent_ms +
                                                           config_.ack_timeout_ms - now0));
    // A lingering batch: wake when its time comes. One whose time passed while the link was down
    // waits for the next wake like everything else (no 1 ms spin while offline).
    if (linger_until_ > now0) wait_ms = std::min(wait_ms, linger_until_ - now0);
    worker_.WaitFor(lock, std::chrono::milliseconds(std::min<int64_t>(wait_ms, 1000)), [this] {
      return wake_ || state_changed_ || !downlink_.empty();
    });
    if (worker_.stopping()) break;
    wake_ = false;
    state_changed_ = false;
    recheck_now_ = recheck_now_ || recheck_;  // kept until SendBatches reads the outbox
    recheck_ = false;
    committed_now_ = committed_seq_;
    frames.swap(downlink_);
    lock.unlock();

    for (const auto& f : frames) HandleDownlink(f);
    frames.clear();
    const bool hub_restarted = resync_;
    resync_ = false;
    if (offers_applied_) {
      // Tell the hub at once which offers this kiosk holds (it resends only to devices whose
      // heartbeat shows them behind), and give back the heap a large update's JSON took:
      // glibc keeps freed memory otherwise (a 100,000-customer fill left ~30 MiB resident).
      // At most one extra heartbeat a second, however many updates arrive.
      next_heartbeat = std::min(next_heartbeat, last_heartbeat + 1000);
#ifdef __GLIBC__
      if (offers_bytes_ >= (256u << 10)) malloc_trim(0);
#endif
      offers_applied_ = false;
      offers_bytes_ = 0;
    }
    const int64_t now = clock_->NowMillis();
    const bool connected = link_->connected();
    if (epoch_switching_) {
      const OutboxCounters c = writer_->Stats().counters;
      if (c.epoch != epoch_) {
        // The writer renumbered the waiting rows under a new epoch: send them all again.
        epoch_ = c.epoch;
        epoch_switching_ = false;
        epoch_confirmed_ = true;  // a fresh random epoch: the hub cannot hold any of it
        acked_ = c.acked_seq;
        sent_upto_ = acked_;
        max_read_seq_ = c.last_seq;
        in_flight_.clear();
        std::lock_guard stats_lock(worker_.mu());
        stats_.hub_acked_seq = acked_;
        stats_.epoch_confirmed = true;
      }
    }
    // A drop and reconnect between two turns leaves `connected` as it was: the link's reconnect
    // count tells.
    const int64_t reconnects = link_->reconnects();
    if (connected != was_connected || reconnects != link_reconnects_) {
      link_reconnects_ = reconnects;
      // Whatever was in flight may be lost with the connection: resend from the last ack.
      in_flight_.clear();
      sent_upto_ = acked_;
      was_connected = connected;
      probe_sent_ms_ = 0;
      heard_since_connect_ = false;
      probes_.clear();
      if (connected) next_heartbeat = 0;
    }
    if (hub_restarted) probe_sent_ms_ = 0;
    if (hub_restarted && !in_flight_.empty()) {
      // Batches sent while the hub was away may be lost with its session: resend now rather
      // than after the ack timeout. The hub ignores what it already holds.
      spdlog::info("uplink: the hub reconnected, resending from {}", acked_ + 1);
      in_flight_.clear();
      sent_upto_ = acked_;
      std::lock_guard stats_lock(worker_.mu());
      ++stats_.resends;
    }
    if (connected && erase_failed_) {
      // Nothing leaves while the outbox may still hold a person the hub asked to erase.
    } else if (connected && (!epoch_confirmed_ || !heard_since_connect_)) {
      // Nothing goes before the hub has said where this epoch stands (see uplink.h), and, after
      // each (re)connect, before the hub has answered: its erase commands come first.
      if (!epoch_switching_ &&
          (probe_sent_ms_ == 0 || now - probe_sent_ms_ > config_.ack_timeout_ms)) {
        SendProbe(now);
      }
    } else if (connected) {
      if (!in_flight_.empty() && now - in_flight_.front().sent_ms > config_.ack_timeout_ms) {
        spdlog::warn("uplink: no ack for seq {}..{} within {} ms, resending from {}",
                     in_flight_.front().first, in_flight_.front().last, config_.ack_timeout_ms,
                     acked_ + 1);
        in_flight_.clear();
        sent_upto_ = acked_;
        std::lock_guard stats_lock(worker_.mu());
        ++stats_.resends;
      }
      SendBatches(now);
    }
    if (connected && now >= next_heartbeat) {
      PublishStatus(true);
      last_heartbeat = now;
      next_heartbeat = now + config_.heartbeat_s * 1000;
    }
    lock.lock();
  }
}

}  // namespace cjd::agent

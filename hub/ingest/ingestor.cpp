#include "hub/ingest/ingestor.h"

#include "shared/protocol/erase_command.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "hub/ingest/device_event_check.h"
#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/device_status.h"
#include "shared/protocol/topics.h"

namespace cjd::hub {
namespace {
constexpr size_t kRecentNonces = 4096;
constexpr int64_t kUnknownDeviceRecheckMs = 2000;

// The field of a status that names another device, store or kind than the provisioned one.
const char* StatusContradictsRecord(const DeviceStatus& s, const DeviceRecord& r) {
  if (s.device_id && *s.device_id != r.device_id) return "device_id";
  if (s.store_id && *s.store_id != r.store_id) return "store_id";
  if (s.kind && *s.kind != r.kind) return "kind";
  return nullptr;
}
// Outbox epochs a device may have (each reset of its outbox starts one). Far above what a real
// device needs; it bounds what a device whose key leaked can make the hub keep.
constexpr size_t kMaxEpochsPerDevice = 256;

using EpochKey = std::pair<std::string, uint64_t>;  // (device id, epoch)
}  // namespace

// What one group (one transaction) collects.
struct Ingestor::Group {
  std::vector<IngestBatch> batches;
  std::map<EpochKey, SequenceTracker> trackers;      // staged progress per (device, epoch)
  std::set<EpochKey> new_epochs;                     // epochs first seen in this group
  std::map<std::string, std::string> statuses;       // heartbeat JSON per device
  std::map<std::string, StatusMark> status_marks;    // staged freshness mark per device
  std::map<std::string, int64_t> seen;               // device -> last verified frame time
  std::map<std::string, int64_t> rejected;
  int64_t duplicate_frames = 0;
  std::vector<std::pair<Device*, Nonce>> nonces;
  std::set<Nonce> nonce_set;   // every nonce of this group, to catch a frame twice in one group
  std::vector<std::pair<std::string, EraseReceipt>> receipts;  // (device id, receipt)
  // Devices that sent a probe, with the probe's nonce: they wait for the ack that names it
  // before sending anything (the ack of a frame from an earlier connection does not count).
  std::map<std::string, Nonce> probed;
};

Ingestor::Ingestor(const HubConfig& config, std::unique_ptr<HubStore> store, const Clock* clock)
    : config_(config), store_(std::move(store)), clock_(clock) {
  for (const char* r : kRejectReasons) stats_.rejected[r] = 0;
}

Ingestor::~Ingestor() { Stop(); }

Status Ingestor::LoadDevices() {
  auto rows = store_->ListDevices();
  if (!rows.ok()) return rows.status();
  for (auto& row : *rows) {
    auto pub = KeyFromBase64(row.record.public_key, "public_key");
    if (!pub.ok()) {
      spdlog::error("device {}: bad public key in the store, ignored", row.record.device_id);
      continue;
    }
    auto keys = HubSessionKeys(config_.keys, *pub, row.record.key_id);
    if (!keys.ok()) {
      spdlog::error("device {}: {}", row.record.device_id, keys.status().ToString());
      continue;
    }
    auto d = std::make_unique<Device>();
    d->record = row.record;
    d->keys = *keys;
    for (const EpochState& e : row.state.epochs) {
      d->epochs[e.epoch] = SequenceTracker(e.acked_seq, e.pending_ranges);
    }
    d->current_epoch = row.state.epoch;
    d->last_seen_ms = row.state.last_seen_ms;
    d->status_mark = MarkFromStored(row.state.status_json);
    d->status_json = row.state.status_json;
    devices_[row.record.device_id] = std::move(d);
  }
  return Status::Ok();
}

Status Ingestor::Start() {
  CJD_RETURN_IF_ERROR(LoadDevices());
  MqttOptions o;
  o.broker = config_.broker;
  // A client id of its own at every start: anyone else connecting with the configured id would
  // take the hub's session over (the broker drops the older client). Hence also no persistent
  // session (it would be left behind at every start): frames published while the hub is away
  // are resent by the agents, whom it asks to at once when it connects (kResync); nothing is
  // acknowledged before the hub committed it, so nothing is lost.
  o.client_id = config_.client_id + "-" + NewToken().substr(0, 12);
  o.username = config_.mqtt_username;
  o.password = config_.mqtt_password;
  o.ca_file = config_.mqtt_ca_file;
  o.cert_file = config_.mqtt_cert_file;
  o.key_file = config_.mqtt_key_file;
  o.clean_session = true;
  o.max_inflight = 1024;
  o.subscriptions = {topics::AllUp(), topics::AllStatus()};
  if (!config_.shared_group.empty()) {
    // Several hub instances share the devices' frames: the broker gives each frame to one
    // member of the group (MQTT 5 shared subscription). Acks go to the device's own topic.
    o.mqtt5 = true;
    for (std::string& t : o.subscriptions) t = "$share/" + config_.shared_group + "/" + t;
  }
  link_ = link_factory_(
      o,
      [this](const std::string& topic, std::string&& payload) {
        std::lock_guard lock(worker_.mu());
        if (static_cast<int64_t>(queue_.size()) >= config_.max_queue_frames ||
            queue_bytes_ + static_cast<int64_t>(payload.size()) > config_.max_queue_bytes) {
          ++dropped_overload_;
          return;
        }
        queue_bytes_ += static_cast<int64_t>(payload.size());
        queue_.push_back(Incoming{topic, std::move(payload)});
        worker_.Notify();
      },
      [this](bool connected) {
        {
          std::lock_guard lock(worker_.mu());
          stats_.connected = connected;
        }
        // Runs on the link's connector thread, after subscribing: the ingest thread tells each
        // agent, sealed on its own down topic, to resend what may have been lost while the hub
        // was away (a forged hint on a shared topic could make the whole fleet resend).
        if (connected) {
          std::lock_guard lock(worker_.mu());
          resync_requested_ = true;
          worker_.Notify();
        }
      });
  worker_.Start("ingest", [this] { Run(); });
  CJD_RETURN_IF_ERROR(link_->Start());
  spdlog::info("ingest: {} devices known; subscribing on {}", devices_.size(), config_.broker);
  return Status::Ok();
}

void Ingestor::Stop() {
  if (link_) link_->Stop();
  worker_.Stop();  // the loop commits what is queued first
}

bool Ingestor::Publish(const std::string& topic, const std::string& payload) {
  return link_ != nullptr && link_->Publish(topic, payload);
}

IngestStats Ingestor::Stats() const {
  std::lock_guard lock(worker_.mu());
  IngestStats s = stats_;
  s.queue = static_cast<int64_t>(queue_.size());
  return s;
}

void Ingestor::Run() {
  std::unique_lock lock(worker_.mu());
  while (true) {
    // While resyncs wait for room in the client, look again soon.
    const auto wait = resync_queue_.empty() ? std::chrono::milliseconds(1000)
                                            : std::chrono::milliseconds(50);
    worker_.WaitFor(lock, wait, [this] {
      return !queue_.empty() || dropped_overload_ > 0 || resync_requested_;
    });
    const bool resync = resync_requested_;
    resync_requested_ = false;
    if (queue_.empty() && dropped_overload_ == 0) {
      if (worker_.stopping()) break;
      lock.unlock();
      if (resync) QueueResyncs();
      SendResyncs();
      FlushRejectLog();
      lock.lock();
      continue;
    }
    std::deque<Incoming> frames;
    const size_t n = std::min<size_t>(queue_.size(), static_cast<size_t>(config_.max_group_frames));
    for (size_t i = 0; i < n; ++i) {
      queue_bytes_ -= static_cast<int64_t>(queue_.front().payload.size());
      frames.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    const int64_t overload = dropped_overload_;
    dropped_overload_ = 0;
    stats_.frames_total += static_cast<int64_t>(n);
    lock.unlock();
    if (resync) QueueResyncs();
    SendResyncs();
    if (overload > 0) {
      const RejectLog::Decision log = reject_log_.Admit("overload (queue full)", clock_->NowMillis());
      if (log.suppressed > 0) LogSuppressed("overload (queue full)", log.suppressed);
      if (log.log) {
        spdlog::warn("ingest: queue full, {} frames dropped (the agents resend them)", overload);
      }
    }
    FlushRejectLog();
    try {
      ProcessGroup(frames, overload);
    } catch (const std::exception& e) {
      // E.g. a listener hook throwing after the commit: log, count, keep ingesting.
      spdlog::error("ingest: a group of {} frames failed: {}", frames.size(), e.what());
      std::lock_guard stats_lock(worker_.mu());
      ++stats_.rejected["internal"];
    }
    lock.lock();
  }
}

void Ingestor::QueueResyncs() {
  resync_queue_.clear();
  for (const auto& [id, d] : devices_) resync_queue_.push_back(id);
  spdlog::info("ingest: connected; asking {} devices to resend what they have in flight",
               resync_queue_.size());
}

void Ingestor::SendResyncs() {
  const int64_t now = clock_->NowMillis();
  while (!resync_queue_.empty()) {
    auto it = devices_.find(resync_queue_.front());
    if (it != devices_.end()) {
      const Device& d = *it->second;
      FrameHeader h;
      h.kind = FrameKind::kResync;
      h.key_id = d.keys.key_id;
      // Where the device's current outbox epoch stands, as in an ack: the agent takes it as one
      // when the epoch is its own (and, like an ack, may learn its outbox went back in time).
      auto e = d.epochs.find(d.current_epoch);
      const SequenceTracker none;
      const SequenceTracker& t = e != d.epochs.end() ? e->second : none;
      h.last_seq = t.acked();
      nlohmann::json body = {{"acked_seq", t.acked()},
                             {"hub_time_ms", now},
                             {"epoch", EpochHex(d.current_epoch)},
                             {"held_seq", t.held()}};
      const std::string& id = it->first;
      // A resync lets the device send too (it is an ack): what the hub owes it goes first, and
      // the resync only once all of it was taken. Not taken (not connected, or the client's
      // queue is full): try again shortly.
      if (on_probe_ && !on_probe_(id, d.keys)) return;
      if (!link_->Publish(topics::Down(id),
                          SealFrame(h, id, body.dump(), d.keys.downlink, false))) {
        return;
      }
      std::lock_guard lock(worker_.mu());
      ++stats_.resyncs_sent;
    }
    resync_queue_.pop_front();
  }
}

Ingestor::Device* Ingestor::LookupDevice(const std::string& device_id, int64_t now) {
  auto it = devices_.find(device_id);
  if (it != devices_.end()) return it->second.get();
  auto neg = unknown_until_.find(device_id);
  if (neg != unknown_until_.end() && neg->second > now) return nullptr;
  // A device provisioned while the hub runs: cjdctl wrote it to the store.
  auto found = store_->FindDevice(device_id);
  if (!found.ok() || !found->has_value()) {
    if (unknown_until_.size() > 100'000) unknown_until_.clear();
    unknown_until_[device_id] = now + kUnknownDeviceRecheckMs;
    return nullptr;
  }
  const DeviceRecord& rec = **found;
  auto pub = KeyFromBase64(rec.public_key, "public_key");
  if (!pub.ok()) return nullptr;
  auto keys = HubSessionKeys(config_.keys, *pub, rec.key_id);
  if (!keys.ok()) return nullptr;
  auto d = std::make_unique<Device>();
  d->record = rec;
  d->keys = *keys;
  Device* raw = d.get();
  devices_[device_id] = std::move(d);
  unknown_until_.erase(device_id);
  spdlog::info("ingest: device {} (store {}) registered", rec.device_id, rec.store_id);
  return raw;
}

bool Ingestor::SeenNonce(Device& d, const Nonce& n) const { return d.nonce_set.count(n) > 0; }

void Ingestor::RememberNonce(Device& d, const Nonce& n) {
  if (!d.nonce_set.insert(n).second) return;
  d.recent_nonces.push_back(n);
  if (d.recent_nonces.size() > kRecentNonces) {
    d.nonce_set.erase(d.recent_nonces.front());
    d.recent_nonces.pop_front();
  }
}

void Ingestor::Reject(Group& group, const std::string& reason, const std::string& topic,
                      const std::string& detail) {
  ++group.rejected[reason];
  const RejectLog::Decision log = reject_log_.Admit(reason, clock_->NowMillis());
  if (log.suppressed > 0) LogSuppressed(reason, log.suppressed);
  if (log.log) spdlog::warn("ingest: rejected on {}: {} ({})", topic, reason, detail);
}

void Ingestor::FlushRejectLog() {
  for (const auto& [reason, n] : reject_log_.TakeSummaries(clock_->NowMillis())) {
    LogSuppressed(reason, n);
  }
}

void Ingestor::LogSuppressed(const std::string& reason, int64_t n) {
  spdlog::warn("ingest: {} more rejections for {} in the last minute were not logged (see "
               "GET /v1/stats)", n, reason);
}

void Ingestor::HandleFrame(Incoming& in, Group& group) {
  const int64_t now = clock_->NowMillis();
  auto parsed = topics::Parse(in.topic);
  if (!parsed || parsed->channel == topics::Channel::kDown) {
    return Reject(group, "bad_topic", in.topic, "not a device uplink or status topic");
  }
  Device* d = LookupDevice(parsed->device_id, now);
  if (d == nullptr) return Reject(group, "unknown_device", in.topic, "device not provisioned");
  auto header = PeekFrameHeader(in.payload);
  if (!header.ok()) return Reject(group, "malformed", in.topic, header.status().message());
  if (header->key_id != d->keys.key_id) {
    return Reject(group, "unknown_key", in.topic,
                  "key id " + std::to_string(header->key_id) + ", expected " +
                      std::to_string(d->keys.key_id));
  }
  const bool is_status = parsed->channel == topics::Channel::kStatus;
  const FrameKind expected = is_status ? FrameKind::kStatus : FrameKind::kEventBatch;
  const bool is_receipt = !is_status && header->kind == FrameKind::kEraseReceipt;
  if (header->kind != expected && !is_receipt) {
    return Reject(group, "malformed", in.topic, "unexpected frame kind");
  }
  // [0, 0] is an epoch probe (an empty batch: the device asks where its epoch stands).
  const bool probe = !is_status && header->first_seq == 0 && header->last_seq == 0;
  if (!is_status && !probe &&
      (header->first_seq == 0 || header->first_seq > header->last_seq ||
       header->last_seq > kMaxSeq || header->last_seq - header->first_seq >= kMaxFrameSeqSpan)) {
    return Reject(group, "bad_range", in.topic,
                  "range " + std::to_string(header->first_seq) + ".." +
                      std::to_string(header->last_seq) + " (at most " +
                      std::to_string(kMaxFrameSeqSpan) + " numbers, from 1 to 2^62)");
  }
  FrameHeader h;
  auto plain = OpenFrame(in.payload, d->record.device_id, d->keys.uplink, &h,
                         static_cast<size_t>(config_.max_frame_bytes));
  if (!plain.ok()) {
    return Reject(group, plain.status().code() == Code::kCrypto ? "bad_seal" : "malformed",
                  in.topic, plain.status().message());
  }
  const Nonce nonce = FrameNonce(in.payload);
  const bool nonce_seen = SeenNonce(*d, nonce) || !group.nonce_set.insert(nonce).second;
  if (is_status) {
    if (nonce_seen) return;  // the broker re-delivering the retained status: nothing new
    // Sealed means authenticated, not well-formed: decode strictly before anything reads it.
    auto status = DecodeDeviceStatus(*plain);
    if (!status.ok()) {
      return Reject(group, "malformed", in.topic, "status: " + status.status().ToString());
    }
    if (const char* field = StatusContradictsRecord(*status, d->record)) {
      return Reject(group, "malformed", in.topic,
                    std::string("status: ") + field + " is not the device's own");
    }
    if (!status->clock_ms) return Reject(group, "malformed", in.topic, "status: clock_ms missing");
    auto staged_mark = group.status_marks.find(d->record.device_id);
    const StatusMark& mark =
        staged_mark != group.status_marks.end() ? staged_mark->second : d->status_mark;
    switch (JudgeStatus(mark, *status)) {
      case Freshness::kSame:
        return;  // the status held (the retained one, redelivered at a hub start)
      case Freshness::kStale:
        return Reject(group, "replay", in.topic,
                      "status from " + std::to_string(*status->clock_ms) +
                          ", older than the one held");
      case Freshness::kNew:
        break;
    }
    // A will's figures are those of the moment the device connected: the hub keeps the last
    // heartbeat's, marked offline.
    std::string held = std::move(*plain);
    if (IsWillOf(mark, *status)) {
      auto staged = group.statuses.find(d->record.device_id);
      std::string merged =
          WillStatus(staged != group.statuses.end() ? staged->second : d->status_json);
      if (auto decoded = DecodeDeviceStatus(merged); !merged.empty() && decoded.ok()) {
        held = std::move(merged);
        *status = std::move(*decoded);
      }
    }
    group.status_marks[d->record.device_id] = NextMark(mark, *status);
    group.nonces.emplace_back(d, nonce);
    group.statuses[d->record.device_id] = std::move(held);
    group.seen[d->record.device_id] = now;
    return;
  }

  if (is_receipt) {
    // A device's receipt for an erasure (privacy::Eraser); sealed, still decoded strictly.
    if (nonce_seen) return Reject(group, "replay", in.topic, "frame already received");
    auto receipt = DecodeEraseReceipt(*plain);
    if (!receipt.ok()) {
      return Reject(group, "malformed", in.topic, "erase receipt: " + receipt.status().ToString());
    }
    group.nonces.emplace_back(d, nonce);
    group.seen[d->record.device_id] = now;
    group.receipts.emplace_back(d->record.device_id, std::move(*receipt));
    return;
  }

  uint64_t epoch = 0;
  auto events = DecodeEventBatch(*plain, &epoch);
  if (!events.ok()) return Reject(group, "malformed", in.topic, events.status().message());
  uint64_t prev = probe ? 0 : h.first_seq - 1;  // first_seq >= 1 but for a probe (checked above)
  for (const WireEvent& e : *events) {
    if (e.seq <= prev || e.seq > h.last_seq || e.event_id.empty() || e.body.empty()) {
      return Reject(group, "malformed", in.topic, "event outside the frame's range or invalid");
    }
    prev = e.seq;
  }
  // Sequence numbers count per outbox epoch: a new epoch (a reset or restored outbox) starts
  // from nothing, an old one keeps its record (late frames of it are stored and acked too).
  const EpochKey key{d->record.device_id, epoch};
  auto staged = group.trackers.find(key);
  if (staged == group.trackers.end()) {
    auto known = d->epochs.find(epoch);
    if (known == d->epochs.end()) {
      if (d->epochs.size() >= kMaxEpochsPerDevice) {
        return Reject(group, "malformed", in.topic, "too many outbox epochs for this device");
      }
      group.new_epochs.insert(key);
    }
    staged = group.trackers
                 .emplace(key, known != d->epochs.end() ? known->second : SequenceTracker())
                 .first;
  }
  SequenceTracker& tracker = staged->second;
  if (nonce_seen) {
    // The very frame seen before: a replay (or a broker re-delivery). Nothing is applied.
    Reject(group, "replay", in.topic, "frame already received");
    return;
  }
  // A probe (empty, [0, 0]): the device asks where its epoch stands; the ack below answers.
  if (h.last_seq == 0 && events->empty()) {
    group.nonces.emplace_back(d, nonce);
    group.seen[d->record.device_id] = now;
    group.probed[d->record.device_id] = nonce;
    return;
  }
  if (tracker.Covers(h.first_seq, h.last_seq)) {
    group.nonces.emplace_back(d, nonce);
    group.seen[d->record.device_id] = now;
    ++group.duplicate_frames;  // a resend after a lost ack: re-ack, store nothing
    return;
  }
  const auto max_pending = static_cast<size_t>(config_.max_pending_ranges);
  if (h.first_seq > tracker.acked() + 1 && tracker.pending_count() >= max_pending) {
    // Above a gap, with the cap reached (an agent has at most 1,024 batches in flight): only
    // refuse what would open yet another range; what merges or fills a gap is taken.
    SequenceTracker trial = tracker;
    trial.Add(h.first_seq, h.last_seq);
    if (trial.pending_count() > max_pending) {
      return Reject(group, "bad_range", in.topic,
                    "more than " + std::to_string(max_pending) + " ranges above a gap");
    }
  }
  tracker.Add(h.first_seq, h.last_seq);
  group.nonces.emplace_back(d, nonce);
  group.seen[d->record.device_id] = now;
  // Each event is checked like the agent API checks it. A refused event is counted and left out,
  // but its sequence number still counts as received (it is acknowledged with the rest), so the
  // device is never stuck resending it; every valid event of the frame is stored.
  std::vector<WireEvent> accepted;
  accepted.reserve(events->size());
  for (WireEvent& e : *events) {
    if (const char* reason = CheckDeviceEvent(d->record, &e)) {
      Reject(group, reason, in.topic, "event " + e.event_id + " (seq " + std::to_string(e.seq) + ")");
      continue;
    }
    accepted.push_back(std::move(e));
  }
  group.batches.push_back(IngestBatch{d->record.device_id, epoch, std::move(accepted)});
}

void Ingestor::ProcessGroup(std::deque<Incoming>& frames, int64_t overload) {
  Group group;
  if (overload > 0) group.rejected["overload"] = overload;
  for (Incoming& in : frames) {
    // Nothing a frame carries may stop the ingest thread: a throw is a bug, counted and logged,
    // and the frame is dropped (unacknowledged, so a legitimate one is resent).
    try {
      HandleFrame(in, group);
    } catch (const std::exception& e) {
      Reject(group, "internal", in.topic, std::string("exception: ") + e.what());
    } catch (...) {
      Reject(group, "internal", in.topic, "unknown exception");
    }
  }
  const int64_t now = clock_->NowMillis();

  std::vector<DeviceProgress> progress;
  std::set<std::string> touched;
  for (const auto& [key, t] : group.trackers) touched.insert(key.first);
  for (const auto& [id, s] : group.statuses) touched.insert(id);
  for (const auto& [id, r] : group.receipts) touched.insert(id);
  for (const std::string& id : touched) {
    Device& d = *devices_.at(id);
    DeviceProgress p;
    p.device_id = id;
    for (auto t = group.trackers.lower_bound(EpochKey{id, 0});
         t != group.trackers.end() && t->first.first == id; ++t) {
      EpochProgress e;
      e.epoch = t->first.second;
      e.acked_seq = t->second.acked();
      e.pending_ranges = t->second.pending();
      e.make_current = group.new_epochs.count(t->first) > 0;
      p.epochs.push_back(std::move(e));
    }
    auto seen = group.seen.find(id);
    p.last_seen_ms = seen != group.seen.end() ? seen->second : d.last_seen_ms;
    auto s = group.statuses.find(id);
    if (s != group.statuses.end()) p.status_json = s->second;
    progress.push_back(std::move(p));
  }
  if (progress.empty() && group.rejected.empty()) return;

  std::vector<DeviceProgress> stored;
  auto result = store_->CommitIngest(group.batches, progress, group.rejected, now, &stored);
  if (!result.ok()) {
    // Nothing was acknowledged: the agents resend, and the nonces were not remembered.
    spdlog::error("ingest: commit failed, {} frames will be resent: {}", frames.size(),
                  result.status().ToString());
    return;
  }
  // What the store holds now: with several hub instances sharing it, more than this group saw
  // (the others' frames of the same devices); that is what is acknowledged below.
  for (const DeviceProgress& p : stored) {
    for (const EpochProgress& e : p.epochs) {
      auto t = group.trackers.find(EpochKey{p.device_id, e.epoch});
      if (t != group.trackers.end() && e.acked_seq >= t->second.acked()) {
        t->second = SequenceTracker(e.acked_seq, e.pending_ranges);
      }
    }
  }
  for (auto& [key, tracker] : group.trackers) {
    Device& d = *devices_.at(key.first);
    d.epochs[key.second] = tracker;
    if (group.new_epochs.count(key) > 0) {
      if (key.second != d.current_epoch) {
        spdlog::info("ingest: device {} started outbox epoch {} (was {})", key.first,
                     EpochHex(key.second), EpochHex(d.current_epoch));
      }
      d.current_epoch = key.second;
    }
  }
  for (const auto& [id, ms] : group.seen) devices_.at(id)->last_seen_ms = ms;
  for (const auto& [id, mark] : group.status_marks) devices_.at(id)->status_mark = mark;
  for (const auto& [id, status] : group.statuses) devices_.at(id)->status_json = status;
  for (auto& [dev, nonce] : group.nonces) RememberNonce(*dev, nonce);

  // Acknowledge every (device, epoch) that sent a batch, new or resent, or a probe.
  for (const auto& [key, tracker] : group.trackers) {
    const std::string& id = key.first;
    const Device& d = *devices_.at(id);
    // A device probes when it (re)connects and sends nothing before this ack: what the hub owes
    // it (erase commands) is published first, on the same topic, so it arrives first.
    // When not all of it could be published, no ack: the device probes again after its ack
    // timeout, and gets it all then.
    const auto probe = group.probed.find(id);
    if (on_probe_ && probe != group.probed.end() && !on_probe_(id, d.keys)) continue;
    FrameHeader h;
    h.kind = FrameKind::kAck;
    h.key_id = d.keys.key_id;
    h.last_seq = tracker.acked();
    nlohmann::json body = {{"acked_seq", tracker.acked()},
                           {"hub_time_ms", now},
                           {"epoch", EpochHex(key.second)},
                           {"held_seq", tracker.held()}};
    // The answer to a probe names it: the device counts only that as the hub's answer on its
    // current connection.
    if (probe != group.probed.end()) body["probe"] = NonceHex(probe->second);
    link_->Publish(topics::Down(id), SealFrame(h, id, body.dump(), d.keys.downlink, false));
  }
  // After the acks, so a slow listener never delays the agents.
  if (result->inserted > 0 && on_events_committed_) on_events_committed_();
  if (on_device_status_) {
    for (const auto& [id, status] : group.statuses) on_device_status_(id, status);
  }
  if (on_erase_receipt_) {
    for (const auto& [id, receipt] : group.receipts) on_erase_receipt_(id, receipt);
  }

  std::lock_guard lock(worker_.mu());
  stats_.groups += 1;
  stats_.batches_committed += static_cast<int64_t>(group.batches.size());
  stats_.duplicate_frames += group.duplicate_frames;
  stats_.events_inserted += result->inserted;
  for (const auto& [reason, n] : group.rejected) stats_.rejected[reason] += n;
}

}  // namespace cjd::hub

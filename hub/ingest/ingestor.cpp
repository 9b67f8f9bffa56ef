#include "hub/ingest/ingestor.h"

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/topics.h"

namespace cjd::hub {
namespace {
constexpr size_t kRecentNonces = 4096;
constexpr int64_t kUnknownDeviceRecheckMs = 2000;
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
  std::map<std::string, int64_t> seen;               // device -> last verified frame time
  std::map<std::string, int64_t> rejected;
  int64_t duplicate_frames = 0;
  std::vector<std::pair<Device*, Nonce>> nonces;
  std::set<Nonce> nonce_set;   // every nonce of this group, to catch a frame twice in one group
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
    devices_[row.record.device_id] = std::move(d);
  }
  return Status::Ok();
}

Status Ingestor::Start() {
  CJD_RETURN_IF_ERROR(LoadDevices());
  MqttOptions o;
  o.broker = config_.broker;
  o.client_id = config_.client_id;
  o.username = config_.mqtt_username;
  o.password = config_.mqtt_password;
  o.ca_file = config_.mqtt_ca_file;
  // A persistent session: the broker keeps QoS 1 uplink frames while the hub restarts.
  o.clean_session = false;
  o.max_inflight = 1024;
  o.subscriptions = {topics::AllUp(), topics::AllStatus()};
  link_ = std::make_unique<MqttLink>(
      o,
      [this](const std::string& topic, std::string&& payload) {
        std::lock_guard lock(mu_);
        if (static_cast<int64_t>(queue_.size()) >= config_.max_queue_frames ||
            queue_bytes_ + static_cast<int64_t>(payload.size()) > config_.max_queue_bytes) {
          ++dropped_overload_;
          return;
        }
        queue_bytes_ += static_cast<int64_t>(payload.size());
        queue_.push_back(Incoming{topic, std::move(payload)});
        cv_.notify_one();
      },
      [this](bool connected) {
        {
          std::lock_guard lock(mu_);
          stats_.connected = connected;
        }
        // Runs on the link's connector thread, after subscribing: tell the agents to resend
        // what may have been lost while the hub was away.
        if (connected) link_->Publish(topics::HubStatus(), R"({"online":true})", 1, false);
      });
  thread_ = std::thread([this] { Run(); });
  CJD_RETURN_IF_ERROR(link_->Start());
  spdlog::info("ingest: {} devices known; subscribing on {}", devices_.size(), config_.broker);
  return Status::Ok();
}

void Ingestor::Stop() {
  if (link_) link_->Stop();
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Ingestor::Publish(const std::string& topic, const std::string& payload) {
  return link_ != nullptr && link_->Publish(topic, payload, 1, false);
}

IngestStats Ingestor::Stats() const {
  std::lock_guard lock(mu_);
  IngestStats s = stats_;
  s.queue = static_cast<int64_t>(queue_.size());
  return s;
}

void Ingestor::Run() {
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait_for(lock, std::chrono::seconds(1),
                 [this] { return stop_ || !queue_.empty() || dropped_overload_ > 0; });
    if (queue_.empty() && dropped_overload_ == 0) {
      if (stop_) break;
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
    if (overload > 0) {
      spdlog::warn("ingest: queue full, {} frames dropped (the agents resend them)", overload);
    }
    ProcessGroup(frames, overload);
    lock.lock();
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
  spdlog::warn("ingest: rejected a frame on {}: {} ({})", topic, reason, detail);
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
  if (header->kind != expected) return Reject(group, "malformed", in.topic, "unexpected frame kind");
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
    auto j = nlohmann::json::parse(*plain, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Reject(group, "malformed", in.topic, "status is not JSON");
    group.nonces.emplace_back(d, nonce);
    group.statuses[d->record.device_id] = std::move(*plain);
    group.seen[d->record.device_id] = now;
    return;
  }

  uint64_t epoch = 0;
  auto events = DecodeEventBatch(*plain, &epoch);
  if (!events.ok()) return Reject(group, "malformed", in.topic, events.status().message());
  uint64_t prev = h.first_seq - 1;
  for (const WireEvent& e : *events) {
    if (e.seq <= prev || e.seq > h.last_seq || !EventTypeFromName(EventTypeName(static_cast<EventType>(e.type))) ||
        e.event_id.empty() || e.body.empty()) {
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
  group.nonces.emplace_back(d, nonce);
  group.seen[d->record.device_id] = now;
  // A probe (empty, [0, 0]): the device asks where its epoch stands; the ack below answers.
  if (h.last_seq == 0 && events->empty()) return;
  if (tracker.Covers(h.first_seq, h.last_seq)) {
    ++group.duplicate_frames;  // a resend after a lost ack: re-ack, store nothing
    return;
  }
  tracker.Add(h.first_seq, h.last_seq);
  group.batches.push_back(IngestBatch{d->record.device_id, epoch, std::move(*events)});
}

void Ingestor::ProcessGroup(std::deque<Incoming>& frames, int64_t overload) {
  Group group;
  if (overload > 0) group.rejected["overload"] = overload;
  for (Incoming& in : frames) HandleFrame(in, group);
  const int64_t now = clock_->NowMillis();

  std::vector<DeviceProgress> progress;
  std::set<std::string> touched;
  for (const auto& [key, t] : group.trackers) touched.insert(key.first);
  for (const auto& [id, s] : group.statuses) touched.insert(id);
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

  auto result = store_->CommitIngest(group.batches, progress, group.rejected, now);
  if (!result.ok()) {
    // Nothing was acknowledged: the agents resend, and the nonces were not remembered.
    spdlog::error("ingest: commit failed, {} frames will be resent: {}", frames.size(),
                  result.status().ToString());
    return;
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
  for (auto& [dev, nonce] : group.nonces) RememberNonce(*dev, nonce);

  // Acknowledge every (device, epoch) that sent a batch, new or resent, or a probe.
  for (const auto& [key, tracker] : group.trackers) {
    const std::string& id = key.first;
    const Device& d = *devices_.at(id);
    FrameHeader h;
    h.kind = FrameKind::kAck;
    h.key_id = d.keys.key_id;
    h.last_seq = tracker.acked();
    nlohmann::json body = {{"acked_seq", tracker.acked()},
                           {"hub_time_ms", now},
                           {"epoch", EpochHex(key.second)},
                           {"held_seq", tracker.held()}};
    link_->Publish(topics::Down(id), SealFrame(h, id, body.dump(), d.keys.downlink, false), 1, false);
  }
  // After the acks, so a slow listener never delays the agents.
  if (result->inserted > 0 && on_events_committed_) on_events_committed_();
  if (on_device_status_) {
    for (const auto& [id, status] : group.statuses) on_device_status_(id, status);
  }

  std::lock_guard lock(mu_);
  stats_.groups += 1;
  stats_.batches_committed += static_cast<int64_t>(group.batches.size());
  stats_.duplicate_frames += group.duplicate_frames;
  stats_.events_inserted += result->inserted;
  for (const auto& [reason, n] : group.rejected) stats_.rejected[reason] += n;
}

}  // namespace cjd::hub

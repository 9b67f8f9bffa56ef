// Uplink, its downlink dispatch: every frame on the device's down topic is opened with the
// hub -> device key, then an ack moves the outbox on (or starts a new epoch when the hub is
// ahead of it), a resync makes the loop resend what is in flight, an offer update goes to the
// offer cache. Runs on the uplink thread (uplink.cpp).
#include "agent/uplink/uplink.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <thread>

#include "agent/privacy/device_eraser.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/erase_command.h"
#include "shared/protocol/topics.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/offer_update.h"

namespace cjd::agent {

void Uplink::HandleDownlink(const std::string& payload) {
  FrameHeader h;
  auto peeked = PeekFrameHeader(payload);
  const size_t max_plaintext = peeked.ok() && peeked->kind == FrameKind::kOfferUpdate
                                   ? kMaxOfferUpdatePlaintext
                                   : size_t{1} << 20;
  auto opened = OpenFrame(payload, config_.device_id, keys_.downlink, &h, max_plaintext);
  if (!opened.ok() || h.key_id != keys_.key_id) {
    spdlog::warn("uplink: dropped a downlink frame: {}",
                 opened.ok() ? "unknown key id" : opened.status().ToString());
    std::lock_guard lock(worker_.mu());
    ++stats_.bad_downlink;
    return;
  }
  if (h.kind == FrameKind::kOfferUpdate) return HandleOfferUpdate(h, *opened);
  if (h.kind == FrameKind::kResync) {
    // The hub (re)connected: what is in flight may be lost with its session. Authenticated by
    // the seal; a replayed older one (its hub time not after the last one taken) is ignored.
    const auto body = nlohmann::json::parse(*opened, nullptr, false);
    const auto t = body.is_object() ? body.find("hub_time_ms") : body.end();
    if (!body.is_object() || t == body.end() || !t->is_number_integer()) {
      spdlog::warn("uplink: dropped a resync request without hub_time_ms");
      std::lock_guard lock(worker_.mu());
      ++stats_.bad_downlink;
      return;
    }
    const int64_t hub_time = t->get<int64_t>();
    if (hub_time <= last_resync_hub_ms_) return;
    last_resync_hub_ms_ = hub_time;
    resync_ = true;
  } else if (h.kind == FrameKind::kErase) {
    return HandleErase(*opened);
  } else if (h.kind != FrameKind::kAck) {
    std::lock_guard lock(worker_.mu());
    ++stats_.bad_downlink;
    return;
  }
  HandleAck(h, *opened);
}

void Uplink::HandleAck(const FrameHeader& h, const std::string& plaintext) {
  const uint64_t ack = h.last_seq;
  uint64_t ack_epoch = 0;
  uint64_t held = ack;
  bool answers_probe = false;
  auto j = nlohmann::json::parse(plaintext, nullptr, false);
  if (j.is_object()) {
    if (const auto p = j.find("probe"); p != j.end() && p->is_string()) {
      answers_probe = std::find(probes_.begin(), probes_.end(), p->get<std::string>()) !=
                      probes_.end();
    }
    if (j.contains("epoch") && j["epoch"].is_string()) {
      ack_epoch = ParseEpochHex(j["epoch"].get<std::string>()).value_or(0);
    }
    if (j.contains("held_seq") && j["held_seq"].is_number_unsigned()) {
      held = std::max(held, j["held_seq"].get<uint64_t>());
    }
  }
  auto ignore = [this] {
    std::lock_guard lock(worker_.mu());
    ++stats_.acks_ignored;
  };
  // An ack for an earlier epoch (a late answer to frames sent before a reset): nothing to do.
  if (epoch_switching_ || ack_epoch != epoch_) return ignore();
  // The hub answered a probe of this connection (what it owed the device came before this).
  if (answers_probe) heard_since_connect_ = true;
  // The highest sequence this outbox assigned in its epoch: rows read from it, or committed.
  const uint64_t assigned = std::max(max_read_seq_, writer_->Stats().counters.last_seq);
  if (held > assigned) {
    // The hub holds sequence numbers of this epoch that this outbox never assigned: the outbox
    // went back in time (restored from a backup, or copied). New events would reuse numbers the
    // hub holds already: start a new epoch and send every waiting row again under it.
    spdlog::warn("uplink: the hub holds seq {} of epoch {} but this outbox assigned only up to {}: "
                 "restored from a backup? starting a new epoch",
                 held, EpochHex(epoch_), assigned);
    writer_->NewEpoch("restored", "the hub holds seq " + std::to_string(held) + " of epoch " +
                                      EpochHex(epoch_) + ", the outbox only " +
                                      std::to_string(assigned));
    epoch_switching_ = true;
    epoch_confirmed_ = false;
    in_flight_.clear();
    return ignore();
  }
  if (!epoch_confirmed_) {
    epoch_confirmed_ = true;
    std::lock_guard lock(worker_.mu());
    stats_.epoch_confirmed = true;
  }
  if (ack <= acked_) return;  // an old or repeated ack
  if (!writer_->Ack(epoch_, ack)) return ignore();
  acked_ = ack;
  if (sent_upto_ < acked_) sent_upto_ = acked_;
  const int64_t now = clock_->NowMillis();
  while (!in_flight_.empty() && in_flight_.front().last <= acked_) {
    ack_latency_.Observe(static_cast<double>(std::max<int64_t>(0, now - in_flight_.front().sent_ms)) /
                         1000.0);
    in_flight_.pop_front();
  }
  std::lock_guard lock(worker_.mu());
  stats_.hub_acked_seq = acked_;
  stats_.last_ack_ms = now;
}

void Uplink::HandleOfferUpdate(const FrameHeader& h, const std::string& plaintext) {
  if (offers_ == nullptr) {
    spdlog::warn("uplink: dropped an offer update: this agent keeps no offer cache");
    std::lock_guard lock(worker_.mu());
    ++stats_.bad_downlink;
    return;
  }
  // Decoded on a thread of its own: glibc gives a new thread its own malloc arena, so the JSON
  // tree and the decoded update (~4x the plaintext for a large update) live there, apart from
  // the offer cache's mirror that Apply builds on this thread, and are freed together; the
  // malloc_trim after the update then returns those pages instead of leaving a heap
  // fragmented by small mirror allocations between them.
  Result<OfferUpdate> update = Status::Internal("offer update not decoded");
  std::thread([&] { update = DecodeOfferUpdateFrame(h, plaintext); }).join();
  if (!update.ok()) {
    spdlog::warn("uplink: rejected an offer update: {}", update.status().ToString());
    offers_->CountRejectedUpdate();
    return;
  }
  auto applied = offers_->Apply(*update);
  if (!applied.ok()) {
    spdlog::error("uplink: applying offer update {} failed: {}", update->version,
                  applied.status().ToString());
    offers_->CountRejectedUpdate();
    return;
  }
  offers_applied_ = true;
  offers_bytes_ += plaintext.size();
  spdlog::info("uplink: offer update {} applied ({} offers, {} assignments new; {} + {} stale); "
               "offers version {}",
               applied->update_version, applied->offers_applied, applied->assignments_applied,
               applied->offers_stale, applied->assignments_stale, applied->applied_version);
}

void Uplink::HandleErase(const std::string& plaintext) {
  // Sealed with this device's key, so from the hub: still decoded strictly.
  Result<EraseCommand> command = DecodeEraseCommand(plaintext);
  if (!command.ok()) {
    spdlog::warn("uplink: dropped an erase command: {}", command.status().ToString());
    std::lock_guard lock(worker_.mu());
    ++stats_.bad_downlink;
    return;
  }
  // Done again when repeated (the hub resends until it has the receipt): the same result.
  Result<EraseReceipt> receipt = EraseOnDevice(*command, writer_, offers_);
  if (!receipt.ok()) {
    // No receipt: the hub sends the command again later. Until one succeeds nothing is sent:
    // the outbox may still hold the person.
    spdlog::error("uplink: erasure {} failed: {}; holding back the outbox until it is done",
                  command->erasure_id, receipt.status().ToString());
    erase_failed_ = true;
    return;
  }
  erase_failed_ = false;
  FrameHeader h;
  h.kind = FrameKind::kEraseReceipt;
  h.key_id = keys_.key_id;
  const std::string frame =
      SealFrame(h, config_.device_id, EncodeEraseReceipt(*receipt), keys_.uplink, false);
  if (link_) link_->Publish(topics::Up(config_.device_id), frame, 1, false);
  std::lock_guard lock(worker_.mu());
  ++stats_.erasures_done;
}

}  // namespace cjd::agent

#include "tests/fuzz/frame_receivers.h"

#include <string>

#include "hub/config/hub_config.h"
#include "hub/fleet/fleet_view.h"
#include "hub/ingest/sequence_tracker.h"
#include "hub/offers/offer_planner.h"
#include "hub/projection/identity_keys.h"
#include "shared/core/clock.h"
#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/erase_command.h"
#include "shared/protocol/offer_update.h"
#include "tests/fuzz/fuzz_support.h"

namespace cjd::fuzz {
namespace {

hub::offers::OfferPlanner& Planner() {
  static hub::HubConfig config;
  static const KeyPair hub_keys = NewKeyPair();
  static const hub::IdentityKeys id_keys = hub::DeriveIdentityKeys({});
  static auto* planner = new hub::offers::OfferPlanner(hub::offers::PlannerOptionsFrom(config),
                                                       hub_keys, id_keys, Clock::Real());
  return *planner;
}

void HubBatch(const FrameHeader& h, const std::string& plain) {
  auto events = DecodeEventBatch(plain);
  if (!events.ok()) return;
  // The ingestor's checks (hub/ingest/ingestor.cpp).
  uint64_t prev = h.first_seq - 1;
  for (const WireEvent& e : *events) {
    if (e.seq <= prev || e.seq > h.last_seq ||
        !EventTypeFromName(EventTypeName(static_cast<EventType>(e.type))) ||
        e.event_id.empty() || e.body.empty()) {
      return;
    }
    prev = e.seq;
  }
  // A device that already holds 1..100 with a gap, as the hub would track it.
  hub::SequenceTracker tracker(100, {{102, 110}, {200, 200}});
  if (!tracker.Covers(h.first_seq, h.last_seq)) tracker.Add(h.first_seq, h.last_seq);
  (void)tracker.pending();
  for (const WireEvent& e : *events) (void)EventFromCanonical(e.body);
}

}  // namespace

void HubReadsStatus(const std::string& plain) {
  hub::DeviceRow row;
  row.record.device_id = std::string(kDeviceId);
  row.record.store_id = "store-1";
  row.record.kind = "pos";
  row.record.created_ms = 1'700'000'000'000;
  row.state.status_json = plain;
  row.state.status_ms = 1'790'000'000'000;
  row.state.last_seen_ms = row.state.status_ms;
  (void)hub::FleetJson({row, row}, row.state.status_ms + 1000, 60'000).dump();
  Planner().DeviceStatus(row.record.device_id, plain);
}

void HubReceives(std::string_view frame) {
  auto peeked = PeekFrameHeader(frame);
  if (!peeked.ok()) return;
  (void)FrameNonce(frame);
  if (peeked->kind != FrameKind::kEventBatch && peeked->kind != FrameKind::kStatus &&
      peeked->kind != FrameKind::kEraseReceipt) {
    return;
  }
  FrameHeader h;
  auto plain = OpenFrame(frame, kDeviceId, TestKey(), &h, size_t{16} << 20);
  if (!plain.ok()) return;
  CJD_FUZZ_CHECK(h.kind == peeked->kind && h.first_seq <= h.last_seq,
                 "the opened header differs from the peeked one");
  if (h.kind == FrameKind::kEventBatch) return HubBatch(h, *plain);
  if (h.kind == FrameKind::kEraseReceipt) {
    auto receipt = DecodeEraseReceipt(*plain);
    if (receipt.ok()) {
      CJD_FUZZ_CHECK(DecodeEraseReceipt(EncodeEraseReceipt(*receipt)).ok(),
                     "a decoded erase receipt does not survive its own encoding");
    }
    return;
  }
  // The ingestor takes a status only when it is a JSON object.
  auto j = nlohmann::json::parse(*plain, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return;
  HubReadsStatus(*plain);
}

void AgentReceives(std::string_view frame) {
  auto peeked = PeekFrameHeader(frame);
  const size_t max_plaintext = peeked.ok() && peeked->kind == FrameKind::kOfferUpdate
                                   ? kMaxOfferUpdatePlaintext
                                   : size_t{1} << 20;
  FrameHeader h;
  auto plain = OpenFrame(frame, kDeviceId, TestKey(), &h, max_plaintext);
  if (!plain.ok()) return;
  if (h.kind == FrameKind::kOfferUpdate) {
    auto update = DecodeOfferUpdateFrame(h, *plain);
    if (update.ok()) (void)EncodeOfferUpdate(*update);
  }
  if (h.kind == FrameKind::kErase) {
    auto command = DecodeEraseCommand(*plain);
    if (command.ok()) {
      CJD_FUZZ_CHECK(DecodeEraseCommand(EncodeEraseCommand(*command)).ok(),
                     "a decoded erase command does not survive its own encoding");
    }
  }
  // kAck: the agent reads only the header's last_seq; the JSON body is diagnostics.
}

}  // namespace cjd::fuzz

// Plaintext codecs for what travels inside sealed frames.
//
// Event batch (FrameKind::kEventBatch), version 2 (written by agents that keep an outbox epoch):
//   u8 version=2, u64 epoch (big-endian, never 0), varint count, then per event:
//     varint seq, varint len + event_id, u8 event type, varint zigzag occurred_at_ms,
//     varint len + canonical event JSON
// Version 1 is the same without the epoch (read as epoch 0, "legacy"); both are accepted.
// The epoch names one incarnation of the device's outbox: a random 64-bit id created with the
// outbox database. Sequence numbers are per (device, epoch): an outbox that is lost, reset or
// restored from a backup starts a new epoch and counts from 1 again (see README.md here).
// An empty batch covering [0, 0] is a probe: the hub answers it with an ack for its epoch.
// The frame header's [first_seq, last_seq] covers the events; it may also cover sequence numbers
// that no longer exist on the device (telemetry dropped under budget), which the hub then treats
// as received.
//
// Ack (FrameKind::kAck): the header's last_seq is the highest contiguous sequence committed in the
// acked epoch; the plaintext is JSON {"acked_seq": N, "hub_time_ms": T, "epoch": "16 hex digits",
// "held_seq": M}: `epoch` names the epoch acknowledged (absent or all zeros: legacy, version 1
// batches), `held_seq` the highest sequence of that epoch the hub holds (>= acked_seq; above it
// when ranges arrived beyond a gap). A device whose own last sequence is below `held_seq` for its
// epoch has an outbox that went back in time (restored from a backup) and must start a new epoch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/core/status.h"

namespace cjd {

// Bounds on the sequence range a batch frame may claim, checked by the hub (a frame beyond them is
// rejected as `bad_range`) and respected by the agent, which splits a long hole (telemetry dropped
// under budget) into frames of at most kMaxFrameSeqSpan numbers, empty ones included. Sequences
// start at 1 and stay at or below kMaxSeq, so `last + 1` never wraps.
inline constexpr uint64_t kMaxFrameSeqSpan = uint64_t{1} << 20;
inline constexpr uint64_t kMaxSeq = uint64_t{1} << 62;

struct WireEvent {
  uint64_t seq = 0;
  std::string event_id;
  uint8_t type = 0;          // EventType value
  int64_t occurred_at_ms = 0;
  std::string body;          // canonical event JSON
};

// Version 2 with `epoch`, or version 1 when `epoch` is 0 (legacy).
std::string EncodeEventBatch(const std::vector<WireEvent>& events, uint64_t epoch = 0);
// Fails with kInvalid on truncation, trailing bytes, an unknown version or a version 2 batch with
// epoch 0. `epoch_out` (optional) gets the batch's epoch, 0 for version 1.
Result<std::vector<WireEvent>> DecodeEventBatch(std::string_view data,
                                                uint64_t* epoch_out = nullptr);

// The textual form of an epoch in JSON (16 lowercase hex digits; JSON numbers lose 64-bit
// precision), and its parser (nullopt unless exactly 16 hex digits).
std::string EpochHex(uint64_t epoch);
std::optional<uint64_t> ParseEpochHex(std::string_view text);

}  // namespace cjd

// Plaintext codecs for what travels inside sealed frames.
//
// Event batch (FrameKind::kEventBatch), version 1:
//   u8 version=1, varint count, then per event:
//     varint seq, varint len + event_id, u8 event type, varint zigzag occurred_at_ms,
//     varint len + canonical event JSON
// The frame header's [first_seq, last_seq] covers the events; it may also cover sequence numbers
// that no longer exist on the device (telemetry dropped under budget), which the hub then treats
// as received.
//
// Ack (FrameKind::kAck): the header's last_seq is the highest contiguous sequence committed;
// the plaintext is JSON {"acked_seq": N, "hub_time_ms": T} for diagnostics.
#pragma once

#include <cstdint>
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

std::string EncodeEventBatch(const std::vector<WireEvent>& events);
// Fails with kInvalid on truncation, trailing bytes, or an unknown version.
Result<std::vector<WireEvent>> DecodeEventBatch(std::string_view data);

}  // namespace cjd

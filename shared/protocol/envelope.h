// The sealed envelope: every MQTT payload between a device and the hub.
//
// Byte layout (all integers big-endian), version 1:
//   0   4  magic "CJD1"
//   4   1  kind (FrameKind)
//   5   1  flags (bit 0: plaintext is zstd-compressed)
//   6   4  key_id
//   10  8  first_seq
//   18  8  last_seq
//   26 24  nonce (random, XChaCha20-Poly1305-IETF)
//   50  .. ciphertext: plaintext + 16-byte tag
// Associated data = bytes 0..26 (the header) followed by the device id, so a captured frame
// cannot be re-addressed to another device, given another sequence range, or another key id
// without the seal failing. Changing the layout needs a new magic.
//
// The outbox epoch (README.md here) is not in this header: event batches carry it inside the
// sealed plaintext (batch_codec.h, version 2) and acks in their sealed JSON, so it is
// authenticated by the seal while this layout, its golden vectors and every other frame kind
// stay unchanged. For kEventBatch and kAck, first_seq/last_seq count within that epoch; an
// event batch covering [0, 0] with no events is an epoch probe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "shared/core/status.h"
#include "shared/protocol/keys.h"

namespace cjd {

enum class FrameKind : uint8_t {
  kEventBatch = 1,  // device -> hub: events [first_seq, last_seq] (see batch_codec.h)
  kAck = 2,         // hub -> device: everything up to last_seq is committed at the hub
  kStatus = 3,      // device -> hub: heartbeat / last-will JSON; first_seq = last_seq = 0
  kOfferUpdate = 4, // hub -> device: offer cache update, first_seq = last_seq = its version
                    //   (see offer_update.h)
  kResync = 5,      // hub -> device: "the hub (re)connected, resend what you have in flight";
                    //   last_seq = the highest contiguous sequence the hub holds (an ack too),
                    //   plaintext JSON {"acked_seq": N, "hub_time_ms": T}; sealed per device on
                    //   its own down topic, so nobody else can make a device resend
  kErase = 6,       // hub -> device: an erasure request (erase_command.h); first_seq = last_seq
                    //   = 0; sealed per device on its own down topic
  kEraseReceipt = 7,  // device -> hub, on its uplink topic: the erasure is done on the device
                      //   (erase_command.h); first_seq = last_seq = 0
};

struct FrameHeader {
  FrameKind kind = FrameKind::kEventBatch;
  bool compressed = false;
  uint32_t key_id = 0;
  uint64_t first_seq = 0;
  uint64_t last_seq = 0;
};

inline constexpr size_t kFrameHeaderSize = 26;
inline constexpr size_t kNonceSize = 24;
inline constexpr size_t kTagSize = 16;
inline constexpr size_t kFrameOverhead = kFrameHeaderSize + kNonceSize + kTagSize;

using Nonce = std::array<uint8_t, kNonceSize>;

// Seals `plaintext` (compressing it with zstd first when `compress` is set and it helps).
std::string SealFrame(FrameHeader header, std::string_view device_id, std::string_view plaintext,
                      const SymmetricKey& key, bool compress = true);
// The same with a given nonce and no compression, for fixed test vectors only.
std::string SealFrameWithNonce(const FrameHeader& header, std::string_view device_id,
                               std::string_view plaintext, const SymmetricKey& key,
                               const Nonce& nonce);

// Reads the header without opening the seal (to pick the key). Fails on a short frame or a
// wrong magic.
Result<FrameHeader> PeekFrameHeader(std::string_view frame);
// The nonce of a frame (for replay detection). REQUIRES: PeekFrameHeader(frame).ok().
Nonce FrameNonce(std::string_view frame);

// A nonce as 48 lowercase hex digits (an ack names the probe it answers by it).
std::string NonceHex(const Nonce& nonce);

// Verifies and decrypts; decompresses when the header says so (bounded by `max_plaintext`).
// kCrypto if the seal fails, kInvalid if the frame is malformed, kTooLarge if it would expand
// past `max_plaintext`.
Result<std::string> OpenFrame(std::string_view frame, std::string_view device_id,
                              const SymmetricKey& key, FrameHeader* header_out,
                              size_t max_plaintext = 64u << 20);

}  // namespace cjd

// Everything behind a valid seal: the input is sealed with the fuzz key first, so the fuzzer
// drives the decompression and every decoder a peer holding a device key (or the hub key) can
// reach.
// Input: byte 0 selects the frame: bits 0-1 kind (0 batch, 1 ack, 2 status, 3 offer update),
// bit 2 "compressed" flag with the rest taken as the zstd frame itself (a hostile zstd frame),
// bit 3 compress the rest properly with zstd first; then, big-endian, first_seq and last_seq
// (8 + 8 bytes) for batches and acks, the version (8 bytes, first_seq = last_seq) for offer
// updates, nothing for a status; the rest is the plaintext.
#include <zstd.h>

#include <string>

#include "tests/fuzz/frame_receivers.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

uint64_t Be64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t selector = data[0];
  cjd::FrameHeader h;
  constexpr cjd::FrameKind kKinds[] = {cjd::FrameKind::kEventBatch, cjd::FrameKind::kAck,
                                       cjd::FrameKind::kStatus, cjd::FrameKind::kOfferUpdate};
  h.kind = kKinds[selector & 3];
  h.key_id = cjd::fuzz::kKeyId;
  size_t offset = 1;
  if (h.kind == cjd::FrameKind::kEventBatch || h.kind == cjd::FrameKind::kAck) {
    if (size < 17) return 0;
    h.first_seq = Be64(data + 1);
    h.last_seq = Be64(data + 9);
    offset = 17;
  } else if (h.kind == cjd::FrameKind::kOfferUpdate) {
    if (size < 9) return 0;
    h.first_seq = h.last_seq = Be64(data + 1);  // the update's version
    offset = 9;
  }
  std::string plaintext(cjd::fuzz::AsText(data + offset, size - offset));
  if (selector & 4) {
    h.compressed = true;  // the bytes are the zstd frame
  } else if (selector & 8) {
    std::string z(ZSTD_compressBound(plaintext.size()), '\0');
    const size_t n = ZSTD_compress(z.data(), z.size(), plaintext.data(), plaintext.size(), 1);
    if (ZSTD_isError(n)) return 0;
    z.resize(n);
    plaintext = std::move(z);
    h.compressed = true;
  }
  const std::string frame = cjd::fuzz::SealForTest(h, plaintext);
  cjd::fuzz::HubReceives(frame);
  cjd::fuzz::AgentReceives(frame);
  return 0;
}

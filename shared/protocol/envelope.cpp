#include "shared/protocol/envelope.h"

#include <sodium.h>
#include <zstd.h>

#include <cstdlib>
#include <cstring>

namespace cjd {
namespace {

static_assert(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES == kNonceSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_ABYTES == kTagSize);
static_assert(crypto_aead_xchacha20poly1305_ietf_KEYBYTES == 32);

constexpr char kMagic[4] = {'C', 'J', 'D', '1'};
constexpr uint8_t kFlagCompressed = 0x01;
constexpr uint8_t kKnownFlags = kFlagCompressed;
constexpr size_t kNonceOffset = kFrameHeaderSize;
constexpr size_t kCiphertextOffset = kFrameHeaderSize + kNonceSize;
// Below this, zstd's frame overhead eats any gain; not worth the CPU.
constexpr size_t kMinCompressSize = 64;
constexpr int kZstdLevel = 1;

void PutBe(char* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
}

uint64_t GetBe(const char* in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

void WriteHeader(const FrameHeader& h, char* out) {
  std::memcpy(out, kMagic, sizeof kMagic);
  out[4] = static_cast<char>(static_cast<uint8_t>(h.kind));
  out[5] = static_cast<char>(h.compressed ? kFlagCompressed : 0);
  PutBe(out + 6, h.key_id, 4);
  PutBe(out + 10, h.first_seq, 8);
  PutBe(out + 18, h.last_seq, 8);
}

// Associated data: the 26 header bytes followed by the device id.
std::string AssociatedData(std::string_view header_bytes, std::string_view device_id) {
  std::string ad;
  ad.reserve(header_bytes.size() + device_id.size());
  ad.append(header_bytes);
  ad.append(device_id);
  return ad;
}

const unsigned char* U(const char* p) { return reinterpret_cast<const unsigned char*>(p); }
unsigned char* U(char* p) { return reinterpret_cast<unsigned char*>(p); }

std::string SealRaw(const FrameHeader& header, std::string_view device_id,
                    std::string_view payload, const SymmetricKey& key, const Nonce& nonce) {
  std::string frame(kCiphertextOffset + payload.size() + kTagSize, '\0');
  WriteHeader(header, frame.data());
  std::memcpy(frame.data() + kNonceOffset, nonce.data(), kNonceSize);
  const std::string ad =
      AssociatedData(std::string_view(frame.data(), kFrameHeaderSize), device_id);
  unsigned long long clen = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      U(frame.data() + kCiphertextOffset), &clen, U(payload.data()), payload.size(),
      U(ad.data()), ad.size(), nullptr, nonce.data(), key.data());
  // Cannot fail for sizes a std::string can hold; the length is fixed by construction.
  if (clen != payload.size() + kTagSize) std::abort();
  return frame;
}

Result<FrameHeader> ParseHeader(std::string_view frame) {
  if (frame.size() < kFrameOverhead) {
    return Status::Invalid("frame is " + std::to_string(frame.size()) +
                           " bytes, shorter than the minimum of " +
                           std::to_string(kFrameOverhead));
  }
  if (std::memcmp(frame.data(), kMagic, sizeof kMagic) != 0) {
    return Status::Invalid("bad magic (not a CJD1 frame)");
  }
  const uint8_t kind = static_cast<uint8_t>(frame[4]);
  if (kind != static_cast<uint8_t>(FrameKind::kEventBatch) &&
      kind != static_cast<uint8_t>(FrameKind::kAck) &&
      kind != static_cast<uint8_t>(FrameKind::kStatus) &&
      kind != static_cast<uint8_t>(FrameKind::kOfferUpdate) &&
      kind != static_cast<uint8_t>(FrameKind::kResync) &&
      kind != static_cast<uint8_t>(FrameKind::kErase) &&
      kind != static_cast<uint8_t>(FrameKind::kEraseReceipt)) {
    return Status::Invalid("unknown frame kind " + std::to_string(kind));
  }
  const uint8_t flags = static_cast<uint8_t>(frame[5]);
  if ((flags & ~kKnownFlags) != 0) {
    return Status::Invalid("unknown frame flags " + std::to_string(flags));
  }
  FrameHeader h;
  h.kind = static_cast<FrameKind>(kind);
  h.compressed = (flags & kFlagCompressed) != 0;
  h.key_id = static_cast<uint32_t>(GetBe(frame.data() + 6, 4));
  h.first_seq = GetBe(frame.data() + 10, 8);
  h.last_seq = GetBe(frame.data() + 18, 8);
  if (h.first_seq > h.last_seq) return Status::Invalid("frame first_seq is after last_seq");
  return h;
}

// One zstd context of each kind per thread, made on first use and reused for every frame (a
// context per call allocated and cleared its workspace each time: a visible share of a small
// frame's cost). zstd's one-shot functions reset the context's parameters and state per call.
struct ZstdContexts {
  ZSTD_CCtx* c = nullptr;
  ZSTD_DCtx* d = nullptr;
  ~ZstdContexts() {
    ZSTD_freeCCtx(c);
    ZSTD_freeDCtx(d);
  }
};

ZstdContexts& ThreadZstd() {
  thread_local ZstdContexts contexts;
  return contexts;
}

Status TooLarge(size_t max_plaintext) {
  return {Code::kTooLarge,
          "frame plaintext exceeds the limit of " + std::to_string(max_plaintext) + " bytes"};
}

}  // namespace

std::string SealFrame(FrameHeader header, std::string_view device_id, std::string_view plaintext,
                      const SymmetricKey& key, bool compress) {
  // Without libsodium there is no randomness for the nonce; never seal with a bad one.
  if (!InitCrypto().ok()) std::abort();
  std::string compressed;
  header.compressed = false;
  if (compress && plaintext.size() >= kMinCompressSize) {
    compressed.resize(ZSTD_compressBound(plaintext.size()));
    ZstdContexts& z = ThreadZstd();
    if (z.c == nullptr) z.c = ZSTD_createCCtx();
    const size_t n =
        z.c == nullptr ? ZSTD_compress(compressed.data(), compressed.size(), plaintext.data(),
                                       plaintext.size(), kZstdLevel)
                       : ZSTD_compressCCtx(z.c, compressed.data(), compressed.size(),
                                           plaintext.data(), plaintext.size(), kZstdLevel);
    if (!ZSTD_isError(n) && n < plaintext.size()) {
      compressed.resize(n);
      header.compressed = true;
    }
  }
  Nonce nonce;
  randombytes_buf(nonce.data(), nonce.size());
  return SealRaw(header, device_id, header.compressed ? std::string_view(compressed) : plaintext,
                 key, nonce);
}

std::string SealFrameWithNonce(const FrameHeader& header, std::string_view device_id,
                               std::string_view plaintext, const SymmetricKey& key,
                               const Nonce& nonce) {
  return SealRaw(header, device_id, plaintext, key, nonce);
}

Result<FrameHeader> PeekFrameHeader(std::string_view frame) { return ParseHeader(frame); }

Nonce FrameNonce(std::string_view frame) {
  Nonce nonce{};
  if (frame.size() >= kCiphertextOffset) {
    std::memcpy(nonce.data(), frame.data() + kNonceOffset, kNonceSize);
  }
  return nonce;
}

std::string NonceHex(const Nonce& nonce) {
  char hex[kNonceSize * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, nonce.data(), nonce.size());
  return std::string(hex, kNonceSize * 2);
}

Result<std::string> OpenFrame(std::string_view frame, std::string_view device_id,
                              const SymmetricKey& key, FrameHeader* header_out,
                              size_t max_plaintext) {
  Result<FrameHeader> parsed = ParseHeader(frame);
  if (!parsed.ok()) return parsed.status();
  const FrameHeader& header = *parsed;

  const size_t payload_size = frame.size() - kFrameOverhead;
  // A stored payload is never larger than the plaintext it carries (compression is only used
  // when it shrinks the data), so this rejects oversized frames before spending time on them.
  if (payload_size > max_plaintext) return TooLarge(max_plaintext);

  const std::string ad = AssociatedData(frame.substr(0, kFrameHeaderSize), device_id);
  std::string payload(payload_size, '\0');
  unsigned long long mlen = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          U(payload.data()), &mlen, nullptr, U(frame.data() + kCiphertextOffset),
          frame.size() - kCiphertextOffset, U(ad.data()), ad.size(),
          U(frame.data() + kNonceOffset), key.data()) != 0) {
    return Status::Crypto("seal does not open (wrong key, device or tampered frame)");
  }
  if (mlen != payload_size) return Status::Internal("unexpected decrypted length");

  if (header.compressed) {
    // Exactly one zstd frame, with its content size declared up front and within the limit:
    // the output buffer is sized from it, so a decompression bomb cannot allocate more.
    const size_t frame_size = ZSTD_findFrameCompressedSize(payload.data(), payload.size());
    if (ZSTD_isError(frame_size) || frame_size != payload.size()) {
      return Status::Invalid("compressed payload is not a single zstd frame");
    }
    const unsigned long long content = ZSTD_getFrameContentSize(payload.data(), payload.size());
    if (content == ZSTD_CONTENTSIZE_ERROR || content == ZSTD_CONTENTSIZE_UNKNOWN) {
      return Status::Invalid("compressed payload does not declare its size");
    }
    if (content > max_plaintext) return TooLarge(max_plaintext);
    std::string plain(static_cast<size_t>(content), '\0');
    ZstdContexts& z = ThreadZstd();
    if (z.d == nullptr) z.d = ZSTD_createDCtx();
    const size_t n =
        z.d == nullptr
            ? ZSTD_decompress(plain.data(), plain.size(), payload.data(), payload.size())
            : ZSTD_decompressDCtx(z.d, plain.data(), plain.size(), payload.data(), payload.size());
    if (ZSTD_isError(n) || n != plain.size()) {
      return Status::Invalid("compressed payload is corrupt");
    }
    payload = std::move(plain);
  }
  if (header_out != nullptr) *header_out = header;
  return payload;
}

}  // namespace cjd

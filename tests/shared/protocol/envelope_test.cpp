#include "shared/protocol/envelope.h"

#include <gtest/gtest.h>
#include <zstd.h>

#include <random>

#include "shared/protocol/keys.h"

namespace cjd {
namespace {

SymmetricKey FixedKey(int first = 0) {
  SymmetricKey k{};
  for (size_t i = 0; i < k.size(); ++i) k[i] = static_cast<uint8_t>(first + static_cast<int>(i));
  return k;
}

Nonce FixedNonce() {
  Nonce n{};
  for (size_t i = 0; i < n.size(); ++i) n[i] = static_cast<uint8_t>(0x40 + i);
  return n;
}

FrameHeader FixedHeader() {
  FrameHeader h;
  h.kind = FrameKind::kEventBatch;
  h.compressed = false;
  h.key_id = 0x01020304;
  h.first_seq = 5;
  h.last_seq = 9;
  return h;
}

std::string Hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (char c : bytes) {
    out.push_back(kDigits[static_cast<uint8_t>(c) >> 4]);
    out.push_back(kDigits[static_cast<uint8_t>(c) & 0xf]);
  }
  return out;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string out(n, '\0');
  for (char& c : out) c = static_cast<char>(rng() & 0xff);
  return out;
}

std::string CompressibleJson(size_t events) {
  std::string out = "[";
  for (size_t i = 0; i < events; ++i) {
    out += R"({"type":"page_view","url":"https://shop.example/products/)" + std::to_string(i) +
           R"(","occurred_at":"2024-05-01T12:00:00Z"},)";
  }
  out.back() = ']';
  return out;
}

std::string ZstdCompress(std::string_view data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), 3);
  EXPECT_FALSE(ZSTD_isError(n));
  out.resize(n);
  return out;
}

// A zstd frame whose header does not declare the content size.
std::string ZstdCompressUnknownSize(std::string_view data) {
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  EXPECT_FALSE(ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0)));
  std::string out(ZSTD_compressBound(data.size()) + 64, '\0');
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  size_t remaining = 0;
  do {
    remaining = ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end);
    EXPECT_FALSE(ZSTD_isError(remaining));
  } while (remaining != 0 && !ZSTD_isError(remaining));
  ZSTD_freeCCtx(cctx);
  out.resize(o.pos);
  return out;
}

// A frame sealed with the compressed flag over an arbitrary (attacker-chosen) payload.
std::string SealCompressedPayload(std::string_view payload, const SymmetricKey& key) {
  FrameHeader h = FixedHeader();
  h.compressed = true;
  return SealFrameWithNonce(h, "dev-001", payload, key, FixedNonce());
}

class EnvelopeTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(InitCrypto().ok()); }
};

// ---- Fixed test vectors ---------------------------------------------------------------------

// key = bytes 0..31, nonce = bytes 0x40..0x57, device id "dev-001", plaintext "hello cjd".
// The expected frame was computed independently of this code (Python `cryptography`:
// HChaCha20 subkey + ChaCha20-Poly1305 over the documented header || device id), see
// golden_vectors.py; it matched the C++ output byte for byte.
constexpr std::string_view kGoldenBatchFrame =
    "434a4431"                                          // magic "CJD1"
    "01"                                                // kind: event batch
    "00"                                                // flags: not compressed
    "01020304"                                          // key_id
    "0000000000000005"                                  // first_seq
    "0000000000000009"                                  // last_seq
    "404142434445464748494a4b4c4d4e4f5051525354555657"  // nonce
    "bc5c691cbfc01a7ceb"                                // ciphertext ("hello cjd")
    "cbf2a524ece1da7d6ca077c3e143dca8";                 // tag

// An ack with an empty plaintext and a large sequence number, same key, nonce and device.
constexpr std::string_view kGoldenAckFrame =
    "434a4431"
    "02"
    "00"
    "00000007"
    "0000000000000000"
    "fffffffffffffffe"
    "404142434445464748494a4b4c4d4e4f5051525354555657"
    "c8607afdad4cc6434914685dd2257ae6";

TEST_F(EnvelopeTest, GoldenEventBatchFrame) {
  const std::string frame =
      SealFrameWithNonce(FixedHeader(), "dev-001", "hello cjd", FixedKey(), FixedNonce());
  EXPECT_EQ(Hex(frame), kGoldenBatchFrame);
  ASSERT_EQ(frame.size(), kFrameOverhead + 9);

  // The header bytes, checked field by field against the documented layout.
  const std::string expected_header("CJD1\x01\x00\x01\x02\x03\x04"
                                    "\x00\x00\x00\x00\x00\x00\x00\x05"
                                    "\x00\x00\x00\x00\x00\x00\x00\x09",
                                    26);
  EXPECT_EQ(frame.substr(0, kFrameHeaderSize), expected_header);
  const Nonce nonce = FixedNonce();
  EXPECT_EQ(frame.substr(26, 24), std::string(nonce.begin(), nonce.end()));
  EXPECT_EQ(FrameNonce(frame), nonce);

  FrameHeader h;
  Result<std::string> opened = OpenFrame(frame, "dev-001", FixedKey(), &h);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "hello cjd");
  EXPECT_EQ(h.kind, FrameKind::kEventBatch);
  EXPECT_FALSE(h.compressed);
  EXPECT_EQ(h.key_id, 0x01020304u);
  EXPECT_EQ(h.first_seq, 5u);
  EXPECT_EQ(h.last_seq, 9u);
}

TEST_F(EnvelopeTest, GoldenAckFrame) {
  FrameHeader h;
  h.kind = FrameKind::kAck;
  h.key_id = 7;
  h.first_seq = 0;
  h.last_seq = 0xfffffffffffffffeull;
  const std::string frame = SealFrameWithNonce(h, "dev-001", "", FixedKey(), FixedNonce());
  EXPECT_EQ(Hex(frame), kGoldenAckFrame);
  EXPECT_EQ(frame.size(), kFrameOverhead);
  FrameHeader out;
  Result<std::string> opened = OpenFrame(frame, "dev-001", FixedKey(), &out);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, "");
  EXPECT_EQ(out.kind, FrameKind::kAck);
  EXPECT_EQ(out.last_seq, 0xfffffffffffffffeull);
}

// ---- Round trips ----------------------------------------------------------------------------

TEST_F(EnvelopeTest, RoundTripWithCompression) {
  const std::string plain = CompressibleJson(200);
  const std::string frame = SealFrame(FixedHeader(), "dev-001", plain, FixedKey());
  Result<FrameHeader> peek = PeekFrameHeader(frame);
  ASSERT_TRUE(peek.ok());
  EXPECT_TRUE(peek->compressed);
  EXPECT_LT(frame.size(), plain.size() / 4);
  FrameHeader h;
  Result<std::string> opened = OpenFrame(frame, "dev-001", FixedKey(), &h);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);
  EXPECT_TRUE(h.compressed);
  EXPECT_EQ(h.first_seq, 5u);
  EXPECT_EQ(h.last_seq, 9u);
}

TEST_F(EnvelopeTest, RoundTripWithoutCompression) {
  const std::string plain = CompressibleJson(200);
  const std::string frame = SealFrame(FixedHeader(), "dev-001", plain, FixedKey(), false);
  EXPECT_EQ(frame.size(), plain.size() + kFrameOverhead);
  FrameHeader h;
  h.compressed = true;
  Result<std::string> opened = OpenFrame(frame, "dev-001", FixedKey(), &h);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(*opened, plain);
  EXPECT_FALSE(h.compressed);
}

TEST_F(EnvelopeTest, SmallOrIncompressiblePlaintextIsStoredAsIs) {
  for (const std::string& plain : {std::string(), std::string("x"), std::string(63, 'a'),
                                   RandomBytes(4096, 1)}) {
    FrameHeader in = FixedHeader();
    in.compressed = true;  // SealFrame decides, not the caller
    const std::string frame = SealFrame(in, "dev-001", plain, FixedKey());
    EXPECT_EQ(frame.size(), plain.size() + kFrameOverhead);
    Result<FrameHeader> peek = PeekFrameHeader(frame);
    ASSERT_TRUE(peek.ok());
    EXPECT_FALSE(peek->compressed);
    Result<std::string> opened = OpenFrame(frame, "dev-001", FixedKey(), nullptr);
    ASSERT_TRUE(opened.ok());
    EXPECT_EQ(*opened, plain);
  }
}

TEST_F(EnvelopeTest, BinaryPlaintextAndLongDeviceId) {
  const std::string plain = RandomBytes(1000, 2) + std::string(1000, '\0');
  const std::string device(64, 'd');
  const std::string frame = SealFrame(FixedHeader(), device, plain, FixedKey());
  Result<std::string> opened = OpenFrame(frame, device, FixedKey(), nullptr);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(*opened, plain);
}

TEST_F(EnvelopeTest, NoncesAreRandom) {
  const std::string a = SealFrame(FixedHeader(), "dev-001", "same plaintext", FixedKey());
  const std::string b = SealFrame(FixedHeader(), "dev-001", "same plaintext", FixedKey());
  EXPECT_NE(FrameNonce(a), FrameNonce(b));
  EXPECT_NE(a, b);
  EXPECT_EQ(a.substr(0, kFrameHeaderSize), b.substr(0, kFrameHeaderSize));
}

// ---- Authentication -------------------------------------------------------------------------

TEST_F(EnvelopeTest, TamperingAnySingleByteFails) {
  for (bool compress : {false, true}) {
    const std::string plain = compress ? CompressibleJson(5) : std::string("some event data");
    const std::string frame = SealFrame(FixedHeader(), "dev-001", plain, FixedKey(), compress);
    ASSERT_EQ(PeekFrameHeader(frame)->compressed, compress);
    for (size_t i = 0; i < frame.size(); ++i) {
      for (uint8_t mask : {0x01, 0x80, 0xff}) {
        std::string bad = frame;
        bad[i] = static_cast<char>(bad[i] ^ mask);
        Result<std::string> opened = OpenFrame(bad, "dev-001", FixedKey(), nullptr);
        ASSERT_FALSE(opened.ok()) << "byte " << i << " mask " << int{mask};
        if (i >= kFrameHeaderSize) {
          // Nonce, ciphertext and tag are covered by the seal alone.
          EXPECT_EQ(opened.status().code(), Code::kCrypto) << "byte " << i;
        } else {
          // Header bytes fail either structurally (magic, kind, flags, sequence order) or in
          // the seal (they are associated data).
          EXPECT_TRUE(opened.status().code() == Code::kCrypto ||
                      opened.status().code() == Code::kInvalid)
              << opened.status().ToString();
        }
      }
    }
  }
}

TEST_F(EnvelopeTest, ChangedHeaderFieldsFailTheSeal) {
  const std::string frame = SealFrame(FixedHeader(), "dev-001", "data", FixedKey());
  auto expect_crypto = [&](size_t offset, char value) {
    std::string bad = frame;
    bad[offset] = value;
    ASSERT_TRUE(PeekFrameHeader(bad).ok());  // structurally fine
    Result<std::string> opened = OpenFrame(bad, "dev-001", FixedKey(), nullptr);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Code::kCrypto);
    EXPECT_EQ(opened.status().message(),
              "seal does not open (wrong key, device or tampered frame)");
  };
  expect_crypto(4, '\x02');   // kind: batch -> ack
  expect_crypto(9, '\x05');   // key_id
  expect_crypto(17, '\x06');  // first_seq
  expect_crypto(25, '\x0a');  // last_seq
}

TEST_F(EnvelopeTest, WrongKeyFails) {
  const std::string frame = SealFrame(FixedHeader(), "dev-001", CompressibleJson(10), FixedKey());
  Result<std::string> opened = OpenFrame(frame, "dev-001", FixedKey(1), nullptr);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kCrypto);
}

TEST_F(EnvelopeTest, ReaddressedFrameFails) {
  const std::string frame = SealFrame(FixedHeader(), "dev-001", "data", FixedKey());
  for (std::string_view other : {"dev-002", "dev-00", "dev-0011", "", "DEV-001"}) {
    Result<std::string> opened = OpenFrame(frame, other, FixedKey(), nullptr);
    ASSERT_FALSE(opened.ok()) << other;
    EXPECT_EQ(opened.status().code(), Code::kCrypto);
  }
}

TEST_F(EnvelopeTest, DirectionsDoNotCross) {
  const KeyPair device = NewKeyPair();
  const KeyPair hub = NewKeyPair();
  Result<SessionKeys> d = DeviceSessionKeys(device, hub.public_key, 1);
  Result<SessionKeys> h = HubSessionKeys(hub, device.public_key, 1);
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(h.ok());

  const std::string up = SealFrame(FixedHeader(), "dev-001", "events", d->uplink);
  Result<std::string> at_hub = OpenFrame(up, "dev-001", h->uplink, nullptr);
  ASSERT_TRUE(at_hub.ok());
  EXPECT_EQ(*at_hub, "events");
  Result<std::string> as_down = OpenFrame(up, "dev-001", h->downlink, nullptr);
  ASSERT_FALSE(as_down.ok());
  EXPECT_EQ(as_down.status().code(), Code::kCrypto);

  FrameHeader ack;
  ack.kind = FrameKind::kAck;
  ack.last_seq = 9;
  const std::string down = SealFrame(ack, "dev-001", R"({"acked_seq":9})", h->downlink);
  Result<std::string> at_device = OpenFrame(down, "dev-001", d->downlink, nullptr);
  ASSERT_TRUE(at_device.ok());
  Result<std::string> as_up = OpenFrame(down, "dev-001", d->uplink, nullptr);
  ASSERT_FALSE(as_up.ok());
  EXPECT_EQ(as_up.status().code(), Code::kCrypto);
}

// ---- Malformed frames -----------------------------------------------------------------------

TEST_F(EnvelopeTest, TruncatedFramesFailAtEveryLength) {
  for (bool compress : {false, true}) {
    const std::string frame =
        SealFrame(FixedHeader(), "dev-001", CompressibleJson(3), FixedKey(), compress);
    for (size_t len = 0; len < frame.size(); ++len) {
      const std::string_view prefix(frame.data(), len);
      Result<std::string> opened = OpenFrame(prefix, "dev-001", FixedKey(), nullptr);
      ASSERT_FALSE(opened.ok()) << len;
      if (len < kFrameOverhead) {
        EXPECT_EQ(opened.status().code(), Code::kInvalid) << len;
        EXPECT_FALSE(PeekFrameHeader(prefix).ok()) << len;
      } else {
        EXPECT_EQ(opened.status().code(), Code::kCrypto) << len;
      }
    }
  }
}

TEST_F(EnvelopeTest, PeekValidatesStructure) {
  const std::string frame = SealFrame(FixedHeader(), "dev-001", "data", FixedKey());
  Result<FrameHeader> ok = PeekFrameHeader(frame);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->key_id, 0x01020304u);
  EXPECT_EQ(ok->first_seq, 5u);
  EXPECT_EQ(ok->last_seq, 9u);

  auto expect_invalid = [&](size_t offset, char value) {
    std::string bad = frame;
    bad[offset] = value;
    Result<FrameHeader> peek = PeekFrameHeader(bad);
    ASSERT_FALSE(peek.ok()) << offset;
    EXPECT_EQ(peek.status().code(), Code::kInvalid);
    Result<std::string> opened = OpenFrame(bad, "dev-001", FixedKey(), nullptr);
    ASSERT_FALSE(opened.ok());
    EXPECT_EQ(opened.status().code(), Code::kInvalid);
  };
  expect_invalid(0, 'X');     // magic
  expect_invalid(3, '2');     // magic "CJD2"
  expect_invalid(4, '\x00');  // kind 0
  expect_invalid(4, '\x08');  // kind 8 (1-7 are known)
  expect_invalid(5, '\x02');  // unknown flag
  expect_invalid(5, '\x81');  // unknown flag with the known one
  expect_invalid(17, '\x0a');  // first_seq 10 > last_seq 9
}

TEST_F(EnvelopeTest, FirstSeqEqualToLastSeqIsFine) {
  FrameHeader h = FixedHeader();
  h.first_seq = h.last_seq = 42;
  const std::string frame = SealFrame(h, "dev-001", "x", FixedKey());
  ASSERT_TRUE(PeekFrameHeader(frame).ok());
  ASSERT_TRUE(OpenFrame(frame, "dev-001", FixedKey(), nullptr).ok());
}

// ---- Size limits and hostile compressed payloads ---------------------------------------------

TEST_F(EnvelopeTest, UncompressedPlaintextIsBoundedByMaxPlaintext) {
  const std::string plain = RandomBytes(100, 3);
  const std::string frame = SealFrame(FixedHeader(), "dev-001", plain, FixedKey());
  Result<std::string> too_big = OpenFrame(frame, "dev-001", FixedKey(), nullptr, 99);
  ASSERT_FALSE(too_big.ok());
  EXPECT_EQ(too_big.status().code(), Code::kTooLarge);
  Result<std::string> fits = OpenFrame(frame, "dev-001", FixedKey(), nullptr, 100);
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(*fits, plain);
}

TEST_F(EnvelopeTest, DecompressionBombIsBoundedByMaxPlaintext) {
  // 16 MiB of zeros compress to a few hundred bytes.
  const std::string plain(16u << 20, '\0');
  const std::string frame = SealFrame(FixedHeader(), "dev-001", plain, FixedKey());
  ASSERT_TRUE(PeekFrameHeader(frame)->compressed);
  ASSERT_LT(frame.size(), 4096u);
  Result<std::string> bounded = OpenFrame(frame, "dev-001", FixedKey(), nullptr, 1u << 20);
  ASSERT_FALSE(bounded.ok());
  EXPECT_EQ(bounded.status().code(), Code::kTooLarge);
  Result<std::string> exact = OpenFrame(frame, "dev-001", FixedKey(), nullptr, plain.size());
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->size(), plain.size());
  Result<std::string> one_less =
      OpenFrame(frame, "dev-001", FixedKey(), nullptr, plain.size() - 1);
  ASSERT_FALSE(one_less.ok());
  EXPECT_EQ(one_less.status().code(), Code::kTooLarge);
}

TEST_F(EnvelopeTest, HugeDeclaredContentSizeIsRejectedBeforeAllocating) {
  // A valid zstd frame claiming 2^40 bytes would need a 1 TiB buffer; it must be refused.
  // Built by hand: zstd magic, frame header descriptor (8-byte content size, single segment),
  // the content size, then one empty raw block marked last.
  std::string bomb("\x28\xb5\x2f\xfd", 4);
  bomb.push_back(static_cast<char>(0xe0));  // FCS flag 3 (8 bytes), single segment
  for (int i = 0; i < 8; ++i) bomb.push_back(i == 5 ? '\x01' : '\0');  // 2^40 little-endian
  bomb += std::string("\x01\x00\x00", 3);  // last block, raw, size 0
  const std::string frame = SealCompressedPayload(bomb, FixedKey());
  Result<std::string> opened = OpenFrame(frame, "dev-001", FixedKey(), nullptr);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.status().code(), Code::kTooLarge) << opened.status().ToString();
}

TEST_F(EnvelopeTest, CorruptCompressedPayloadIsInvalid) {
  const std::string good = ZstdCompress(CompressibleJson(20));
  {
    Result<std::string> opened =
        OpenFrame(SealCompressedPayload(good, FixedKey()), "dev-001", FixedKey(), nullptr);
    ASSERT_TRUE(opened.ok()) << opened.status().ToString();
    EXPECT_EQ(*opened, CompressibleJson(20));
  }
  const std::string unknown_size = ZstdCompressUnknownSize(CompressibleJson(20));
  ASSERT_EQ(ZSTD_getFrameContentSize(unknown_size.data(), unknown_size.size()),
            ZSTD_CONTENTSIZE_UNKNOWN);
  const std::vector<std::string> bad = {
      "",                                  // nothing at all
      "definitely not zstd",               // no zstd magic
      good.substr(0, good.size() / 2),     // truncated
      good.substr(0, good.size() - 1),     // one byte short
      good + good,                         // two frames
      good + "trailing",                   // trailing garbage
      unknown_size,                        // size not declared
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    Result<std::string> opened =
        OpenFrame(SealCompressedPayload(bad[i], FixedKey()), "dev-001", FixedKey(), nullptr);
    ASSERT_FALSE(opened.ok()) << i;
    EXPECT_EQ(opened.status().code(), Code::kInvalid) << i << ": " << opened.status().ToString();
  }
}

TEST_F(EnvelopeTest, CorruptedCompressedBlocksNeverCrash) {
  const std::string plain = CompressibleJson(50);
  const std::string good = ZstdCompress(plain);
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x5a);
    Result<std::string> opened =
        OpenFrame(SealCompressedPayload(bad, FixedKey()), "dev-001", FixedKey(), nullptr);
    if (opened.ok()) {
      EXPECT_EQ(opened->size(), plain.size());  // never more than declared
    } else {
      EXPECT_TRUE(opened.status().code() == Code::kInvalid ||
                  opened.status().code() == Code::kTooLarge)
          << opened.status().ToString();
    }
  }
}

}  // namespace
}  // namespace cjd

#include "shared/protocol/batch_codec.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>

namespace cjd {
namespace {

bool operator==(const WireEvent& a, const WireEvent& b) {
  return a.seq == b.seq && a.event_id == b.event_id && a.type == b.type &&
         a.occurred_at_ms == b.occurred_at_ms && a.body == b.body;
}

std::vector<WireEvent> SampleEvents() {
  return {
      {1, "01HXYZ0000000000000000000A", 3, 1714564800000, R"({"type":"page_view"})"},
      {2, "01HXYZ0000000000000000000B", 0, 0, ""},
      {std::numeric_limits<uint64_t>::max(), "", 255, std::numeric_limits<int64_t>::min(),
       std::string("bin\0ary\xff", 8)},
      {3, "x", 1, std::numeric_limits<int64_t>::max(), "{}"},
      {4, "y", 2, -1, std::string(300, 'b')},
  };
}

void ExpectSame(const std::vector<WireEvent>& a, const std::vector<WireEvent>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(a[i] == b[i]) << "event " << i;
}

TEST(BatchCodecTest, GoldenEncoding) {
  const std::vector<WireEvent> events = {
      {300, "ab", 7, -2, "{}"},
      {1, "", 0, 1, ""},
  };
  const std::string expected(
      "\x01"            // version
      "\x02"            // count
      "\xac\x02"        // seq 300
      "\x02" "ab"       // event id
      "\x07"            // type
      "\x03"            // zigzag(-2) = 3
      "\x02" "{}"       // body
      "\x01"            // seq 1
      "\x00"            // empty event id
      "\x00"            // type
      "\x02"            // zigzag(1) = 2
      "\x00",           // empty body
      17);
  EXPECT_EQ(EncodeEventBatch(events), expected);
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(expected);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSame(*decoded, events);
}

TEST(BatchCodecTest, GoldenEncodingWithEpoch) {
  // Version 2: the outbox epoch, 8 bytes big-endian, between the version and the count.
  const std::vector<WireEvent> events = {{300, "ab", 7, -2, "{}"}};
  const std::string expected(
      "\x02"                              // version
      "\x01\x23\x45\x67\x89\xab\xcd\xef"  // epoch 0x0123456789abcdef
      "\x01"                              // count
      "\xac\x02"                          // seq 300
      "\x02" "ab"                         // event id
      "\x07"                              // type
      "\x03"                              // zigzag(-2) = 3
      "\x02" "{}",                        // body
      20);
  EXPECT_EQ(EncodeEventBatch(events, 0x0123456789abcdefULL), expected);
  uint64_t epoch = 0;
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(expected, &epoch);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(epoch, 0x0123456789abcdefULL);
  ExpectSame(*decoded, events);
}

TEST(BatchCodecTest, VersionOneReadsAsLegacyEpochZero) {
  uint64_t epoch = 77;
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(EncodeEventBatch(SampleEvents()), &epoch);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(epoch, 0u);
}

TEST(BatchCodecTest, VersionTwoWithEpochZeroOrTruncatedEpochIsRejected) {
  std::string zero("\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00", 10);
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(zero);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().field(), "epoch");
  const std::string full = EncodeEventBatch(SampleEvents(), 5);
  for (size_t len = 0; len < full.size(); ++len) {
    EXPECT_FALSE(DecodeEventBatch(full.substr(0, len)).ok()) << len;
  }
}

TEST(BatchCodecTest, EpochHexRoundTrip) {
  EXPECT_EQ(EpochHex(0x0123456789abcdefULL), "0123456789abcdef");
  EXPECT_EQ(EpochHex(0), "0000000000000000");
  EXPECT_EQ(ParseEpochHex("FFFFFFFFFFFFFFFF"), std::optional<uint64_t>(~uint64_t{0}));
  EXPECT_EQ(ParseEpochHex(EpochHex(42)), std::optional<uint64_t>(42));
  EXPECT_FALSE(ParseEpochHex("123").has_value());
  EXPECT_FALSE(ParseEpochHex("0123456789abcdeg").has_value());
}

TEST(BatchCodecTest, ZigZagExtremes) {
  // zigzag(INT64_MIN) = UINT64_MAX: a full 10-byte varint ending in 0x01.
  const std::string encoded = EncodeEventBatch({{0, "", 0, std::numeric_limits<int64_t>::min(), ""}});
  EXPECT_EQ(encoded, std::string("\x01\x01\x00\x00\x00"
                                 "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"
                                 "\x00",
                                 16));
}

TEST(BatchCodecTest, RoundTrip) {
  const std::vector<WireEvent> events = SampleEvents();
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(EncodeEventBatch(events));
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  ExpectSame(*decoded, events);
}

TEST(BatchCodecTest, EmptyBatch) {
  EXPECT_EQ(EncodeEventBatch({}), std::string("\x01\x00", 2));
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(std::string("\x01\x00", 2));
  ASSERT_TRUE(decoded.ok());
  EXPECT_TRUE(decoded->empty());
}

TEST(BatchCodecTest, LargeBatchRoundTrip) {
  std::vector<WireEvent> events;
  for (uint64_t i = 0; i < 10000; ++i) {
    events.push_back({1000 + i, "evt-" + std::to_string(i), static_cast<uint8_t>(i % 9),
                      1714564800000 + static_cast<int64_t>(i) * 37,
                      R"({"n":)" + std::to_string(i) + "}"});
  }
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(EncodeEventBatch(events));
  ASSERT_TRUE(decoded.ok());
  ExpectSame(*decoded, events);
}

TEST(BatchCodecTest, TruncationAtEveryByteFails) {
  const std::string encoded = EncodeEventBatch(SampleEvents());
  for (size_t len = 0; len < encoded.size(); ++len) {
    Result<std::vector<WireEvent>> decoded = DecodeEventBatch(encoded.substr(0, len));
    ASSERT_FALSE(decoded.ok()) << len;
    EXPECT_EQ(decoded.status().code(), Code::kInvalid) << len;
  }
}

TEST(BatchCodecTest, TrailingBytesAreRejected) {
  for (const std::string& extra : {std::string(1, '\0'), std::string("x"), std::string(10, 'z')}) {
    Result<std::vector<WireEvent>> decoded =
        DecodeEventBatch(EncodeEventBatch(SampleEvents()) + extra);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), Code::kInvalid);
  }
}

TEST(BatchCodecTest, UnknownVersionIsRejected) {
  for (char v : {'\x00', '\x03', '\xff'}) {
    std::string encoded = EncodeEventBatch(SampleEvents());
    encoded[0] = v;
    Result<std::vector<WireEvent>> decoded = DecodeEventBatch(encoded);
    ASSERT_FALSE(decoded.ok());
    EXPECT_EQ(decoded.status().code(), Code::kInvalid);
    EXPECT_EQ(decoded.status().field(), "version");
  }
}

TEST(BatchCodecTest, HugeCountIsRejectedWithoutAllocating) {
  // count = 2^63, followed by one minimal event.
  const std::string data("\x01"
                         "\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01"
                         "\x00\x00\x00\x00\x00",
                         16);
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(data);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), Code::kInvalid);
  EXPECT_EQ(decoded.status().field(), "count");
  // Two events claimed, room for only one minimal event.
  decoded = DecodeEventBatch(std::string("\x01\x02\x00\x00\x00\x00\x00", 7));
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().field(), "count");
}

TEST(BatchCodecTest, MinimalEventsAtTheCountLimitDecode) {
  std::string data("\x01\x03", 2);
  for (int i = 0; i < 3; ++i) data += std::string(5, '\0');
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(data);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->size(), 3u);
}

TEST(BatchCodecTest, HugeLengthFieldsAreRejected) {
  const std::string huge_len("\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 10);  // UINT64_MAX
  // event_id length
  std::string data = std::string("\x01\x01\x05", 3) + huge_len + std::string(8, 'a');
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(data);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().field(), "[0].event_id");
  // body length, one more than what remains
  data = std::string("\x01\x01\x05\x01" "a" "\x00\x00" "\x05" "abcd", 11);
  decoded = DecodeEventBatch(data);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().field(), "[0].body");
  data = std::string("\x01\x01\x05\x01" "a" "\x00\x00", 7) + huge_len + "abcd";
  decoded = DecodeEventBatch(data);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().field(), "[0].body");
}

TEST(BatchCodecTest, OverlongVarintsAreRejected) {
  // seq as an 11-byte varint.
  std::string data = std::string("\x01\x01", 2) + std::string(10, '\x80') + std::string(1, '\0') +
                     std::string(4, '\0');
  Result<std::vector<WireEvent>> decoded = DecodeEventBatch(data);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().field(), "[0].seq");
  // A 10-byte varint whose last byte overflows 64 bits.
  data = std::string("\x01\x01", 2) + std::string(9, '\xff') + std::string("\x02", 1) +
         std::string(4, '\0');
  decoded = DecodeEventBatch(data);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().field(), "[0].seq");
  // The largest value, UINT64_MAX, is fine.
  data = std::string("\x01\x01", 2) + std::string(9, '\xff') + std::string("\x01", 1) +
         std::string(4, '\0');
  decoded = DecodeEventBatch(data);
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ((*decoded)[0].seq, std::numeric_limits<uint64_t>::max());
}

TEST(BatchCodecTest, RandomMutationsNeverCrash) {
  const std::string encoded = EncodeEventBatch(SampleEvents());
  std::mt19937 rng(12345);
  for (int round = 0; round < 20000; ++round) {
    std::string bad = encoded;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      bad[rng() % bad.size()] = static_cast<char>(rng() & 0xff);
    }
    if (rng() % 4 == 0) bad.resize(rng() % bad.size());
    Result<std::vector<WireEvent>> decoded = DecodeEventBatch(bad);
    if (!decoded.ok()) {
      EXPECT_EQ(decoded.status().code(), Code::kInvalid);
    }
  }
}

}  // namespace
}  // namespace cjd

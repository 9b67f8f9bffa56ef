#include "shared/protocol/batch_codec.h"

namespace cjd {
namespace {

constexpr uint8_t kBatchVersionLegacy = 1;
constexpr uint8_t kBatchVersionEpoch = 2;
// seq, event_id length, type, occurred_at_ms and body length take at least one byte each.
constexpr size_t kMinEventSize = 5;
constexpr int kMaxVarintBytes = 10;

size_t VarintSize(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

void PutVarint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out.push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ (v < 0 ? ~uint64_t{0} : uint64_t{0});
}

int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
}

class Reader {
 public:
  explicit Reader(std::string_view data) : data_(data) {}

  size_t remaining() const { return data_.size() - pos_; }

  bool Byte(uint8_t* out) {
    if (pos_ >= data_.size()) return false;
    *out = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }

  // LEB128, at most 10 bytes, and the 10th may only carry the top bit of a uint64_t.
  bool Varint(uint64_t* out) {
    uint64_t v = 0;
    for (int i = 0; i < kMaxVarintBytes; ++i) {
      uint8_t b = 0;
      if (!Byte(&b)) return false;
      if (i == kMaxVarintBytes - 1 && b > 1) return false;
      v |= static_cast<uint64_t>(b & 0x7f) << (7 * i);
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;
  }

  bool LengthPrefixed(std::string* out) {
    uint64_t len = 0;
    if (!Varint(&len) || len > remaining()) return false;
    out->assign(data_.substr(pos_, static_cast<size_t>(len)));
    pos_ += static_cast<size_t>(len);
    return true;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

Status Truncated(std::string field) {
  return Status::Invalid("event batch is truncated or malformed", std::move(field));
}

std::string EventField(size_t i, const char* name) {
  return "[" + std::to_string(i) + "]." + name;
}

}  // namespace

std::string EncodeEventBatch(const std::vector<WireEvent>& events, uint64_t epoch) {
  size_t size = 1 + (epoch != 0 ? 8 : 0) + VarintSize(events.size());
  for (const WireEvent& e : events) {
    size += VarintSize(e.seq) + VarintSize(e.event_id.size()) + e.event_id.size() + 1 +
            VarintSize(ZigZag(e.occurred_at_ms)) + VarintSize(e.body.size()) + e.body.size();
  }
  std::string out;
  out.reserve(size);
  out.push_back(static_cast<char>(epoch != 0 ? kBatchVersionEpoch : kBatchVersionLegacy));
  if (epoch != 0) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(epoch >> shift));
  }
  PutVarint(out, events.size());
  for (const WireEvent& e : events) {
    PutVarint(out, e.seq);
    PutVarint(out, e.event_id.size());
    out.append(e.event_id);
    out.push_back(static_cast<char>(e.type));
    PutVarint(out, ZigZag(e.occurred_at_ms));
    PutVarint(out, e.body.size());
    out.append(e.body);
  }
  return out;
}

Result<std::vector<WireEvent>> DecodeEventBatch(std::string_view data, uint64_t* epoch_out) {
  Reader r(data);
  uint8_t version = 0;
  if (!r.Byte(&version)) return Truncated("version");
  if (version != kBatchVersionLegacy && version != kBatchVersionEpoch) {
    return Status::Invalid("unknown event batch version " + std::to_string(version), "version");
  }
  uint64_t epoch = 0;
  if (version == kBatchVersionEpoch) {
    for (int i = 0; i < 8; ++i) {
      uint8_t b = 0;
      if (!r.Byte(&b)) return Truncated("epoch");
      epoch = (epoch << 8) | b;
    }
    if (epoch == 0) return Status::Invalid("a version 2 event batch needs a non-zero epoch", "epoch");
  }
  uint64_t count = 0;
  if (!r.Varint(&count)) return Truncated("count");
  if (count > r.remaining() / kMinEventSize) {
    return Status::Invalid("event count " + std::to_string(count) +
                               " does not fit in the remaining bytes",
                           "count");
  }
  std::vector<WireEvent> events(static_cast<size_t>(count));
  for (size_t i = 0; i < events.size(); ++i) {
    WireEvent& e = events[i];
    uint64_t zigzag = 0;
    if (!r.Varint(&e.seq)) return Truncated(EventField(i, "seq"));
    if (!r.LengthPrefixed(&e.event_id)) return Truncated(EventField(i, "event_id"));
    if (!r.Byte(&e.type)) return Truncated(EventField(i, "type"));
    if (!r.Varint(&zigzag)) return Truncated(EventField(i, "occurred_at_ms"));
    e.occurred_at_ms = UnZigZag(zigzag);
    if (!r.LengthPrefixed(&e.body)) return Truncated(EventField(i, "body"));
  }
  if (r.remaining() != 0) {
    return Status::Invalid(std::to_string(r.remaining()) + " trailing bytes after the event batch");
  }
  if (epoch_out != nullptr) *epoch_out = epoch;
  return events;
}

std::string EpochHex(uint64_t epoch) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[static_cast<size_t>(i)] = kDigits[epoch & 0xf];
    epoch >>= 4;
  }
  return out;
}

std::optional<uint64_t> ParseEpochHex(std::string_view text) {
  if (text.size() != 16) return std::nullopt;
  uint64_t v = 0;
  for (char c : text) {
    int d = -1;
    if (c >= '0' && c <= '9') d = c - '0';
    else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
    else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
    if (d < 0) return std::nullopt;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  return v;
}

}  // namespace cjd

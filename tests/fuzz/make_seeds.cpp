// Writes the binary seed corpora with the project's own encoders: canonical events, encoded
// batches, frames sealed with the fuzz key (fuzz_support.h), offer updates, agent heartbeats.
//   make_seeds tests/fuzz/corpus
// Run it again after a wire format change and commit the result.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "agent/status/status_report.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/offer_update.h"
#include "tests/fuzz/fuzz_support.h"

namespace {

using namespace cjd;

std::string g_root;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  const std::string dir = g_root + "/" + target;
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/" + name, std::ios::binary | std::ios::trunc) << bytes;
}

const char* const kEvents[] = {
    R"({"type":"transaction","event_id":"pos-17:0001","occurred_at":"2026-11-23T14:12:36.120+01:00","store_id":"berlin-042","customer":{"loyalty_id":"L-1001"},"order":{"order_id":"R-1","currency":"EUR","items":[{"sku":"4006381333931","quantity":2,"unit_price":12.10},{"sku":"BAG","quantity":-1,"unit_price":"0.5","category":"bags"}],"payment":{"method":"card"}},"properties":{"till":3}})",
    R"({"type":"loyalty_scan","event_id":"pos-17:0002","occurred_at":"2026-11-23T14:12:36Z","store_id":"berlin-042","customer":{"loyalty_id":"L-1001"}})",
    R"({"type":"consent_update","event_id":"pos-17:0003","occurred_at":"2026-11-23T14:12:37Z","customer":{"loyalty_id":"L-1001"},"consent":{"marketing":true}})",
    R"({"type":"offer_impression","event_id":"k-1:0004","occurred_at":"2026-11-23T14:12:38Z","store_id":"berlin-042","channel":"kiosk","customer":{"loyalty_id":"L-1001"},"offer_ids":["o-1","o-2"]})",
    R"({"type":"identify","event_id":"web:5","occurred_at":"2026-11-23T14:12:39Z","customer":{"email":"a@b.co","customer_id":"C-1"},"attributes":{"tier":"gold","points":12.49,"vip":true,"gone":null}})",
};

std::vector<Event> SampleEvents() {
  std::vector<Event> out;
  for (const char* text : kEvents) {
    auto j = ParseJsonExact(text);
    auto e = j.ok() ? ValidateEvent(*j) : Result<Event>(j.status());
    if (!e.ok()) fuzz::Fail("sample event: " + e.status().ToString());
    out.push_back(*e);
  }
  return out;
}

std::vector<WireEvent> Wire(const std::vector<Event>& events, uint64_t first_seq) {
  std::vector<WireEvent> out;
  uint64_t seq = first_seq;
  for (const Event& e : events) {
    out.push_back(WireEvent{seq++, e.event_id, static_cast<uint8_t>(e.type), e.occurred_at_ms,
                            ToCanonicalJson(e)});
  }
  return out;
}

OfferUpdate SampleUpdate() {
  OfferUpdate u;
  u.version = 7;
  u.base = 3;
  OfferRecord o;
  o.id = "o-1";
  o.title = "10% off candles";
  o.text = "Show this at the till.";
  o.valid_from = "2026-11-01T00:00:00Z";
  o.valid_until = "2026-12-01T00:00:00+01:00";
  o.priority = 5;
  o.requires_consent = true;
  o.max_per_customer = 2;
  o.version = 3;
  u.offers.push_back(o);
  OfferRecord gone;
  gone.id = "o-2";
  gone.version = 4;
  gone.deleted = true;
  u.offers.push_back(gone);
  u.assignments.push_back(OfferAssignment{"L-100", {"o-1", "o-3"}, 6});
  u.assignments.push_back(OfferAssignment{"L-101", {}, 5, true});
  u.general = GeneralOffers{{"o-3"}, 2};
  return u;
}

std::string Heartbeat(bool online, bool offers) {
  agent::StatusSnapshot s;
  s.device_id = std::string(fuzz::kDeviceId);
  s.store_id = "berlin-042";
  s.kind = offers ? "kiosk" : "pos";
  s.online = online;
  s.connected = true;
  s.now_ms = 1'790'000'000'000;
  s.started_ms = s.now_ms - 3'600'000;
  s.last_seq = 120;
  s.acked_seq = 100;
  s.backlog = 20;
  s.backlog_bytes = 9000;
  s.budget_bytes = 256 << 20;
  s.oldest_accepted_ms = s.now_ms - 5000;
  s.last_ack_ms = s.now_ms - 1000;
  s.accepted_total = 120;
  s.offers_enabled = offers;
  s.offers_version = 7;
  s.offers_count = 2;
  return agent::StatusJson(s);
}

std::string Be64(uint64_t v) {
  std::string out(8, '\0');
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
    return 2;
  }
  g_root = argv[1];
  if (!InitCrypto().ok()) return 1;
  const std::vector<Event> events = SampleEvents();

  for (size_t i = 0; i < events.size(); ++i) {
    Write("fuzz_event_canonical", "event" + std::to_string(i) + ".json", ToCanonicalJson(events[i]));
  }

  const std::string batch = EncodeEventBatch(Wire(events, 101));
  const std::string one = EncodeEventBatch(Wire({events[0]}, 1));
  Write("fuzz_batch_decode", "batch5", batch);
  Write("fuzz_batch_decode", "batch1", one);
  Write("fuzz_batch_decode", "empty", EncodeEventBatch({}));

  const std::string status = Heartbeat(true, true);
  const std::string will = Heartbeat(false, false);
  Write("fuzz_device_status", "heartbeat_kiosk.json", status);
  Write("fuzz_device_status", "will_pos.json", will);

  const OfferUpdate update = SampleUpdate();
  Write("fuzz_offer_update", "update.json", EncodeOfferUpdate(update));
  OfferUpdate minimal;
  minimal.version = 1;
  Write("fuzz_offer_update", "minimal.json", EncodeOfferUpdate(minimal));

  // Raw frames, sealed with the fuzz key exactly as the agent and hub seal them.
  FrameHeader h;
  h.key_id = fuzz::kKeyId;
  h.kind = FrameKind::kEventBatch;
  h.first_seq = 101;
  h.last_seq = 105;
  Write("fuzz_frame_raw", "batch", fuzz::SealForTest(h, batch));
  Write("fuzz_frame_raw", "batch_zstd", SealFrame(h, fuzz::kDeviceId, batch, fuzz::TestKey(), true));
  h.first_seq = h.last_seq = 1;
  Write("fuzz_frame_raw", "batch1", fuzz::SealForTest(h, one));
  h.kind = FrameKind::kStatus;
  h.first_seq = h.last_seq = 0;
  Write("fuzz_frame_raw", "status", fuzz::SealForTest(h, status));
  h.kind = FrameKind::kAck;
  h.last_seq = 100;
  Write("fuzz_frame_raw", "ack", fuzz::SealForTest(h, R"({"acked_seq":100,"hub_time_ms":1790000000000})"));
  Write("fuzz_frame_raw", "offer_update",
        SealOfferUpdate(update, fuzz::kDeviceId, fuzz::TestKey(), fuzz::kKeyId));

  // The same payloads for fuzz_frame_sealed (selector byte, first/last seq, plaintext).
  auto sealed_seed = [](uint8_t selector, uint64_t first, uint64_t last, const std::string& p) {
    std::string s(1, static_cast<char>(selector));
    if ((selector & 3) == 0 || (selector & 3) == 1) s += Be64(first) + Be64(last);
    if ((selector & 3) == 3) s += Be64(last);
    return s + p;
  };
  Write("fuzz_frame_sealed", "batch", sealed_seed(0, 101, 105, batch));
  Write("fuzz_frame_sealed", "batch_zstd", sealed_seed(8, 101, 105, batch));
  Write("fuzz_frame_sealed", "batch_gap", sealed_seed(0, 1, 1000, one));
  Write("fuzz_frame_sealed", "ack", sealed_seed(1, 0, 100, R"({"acked_seq":100})"));
  Write("fuzz_frame_sealed", "status", sealed_seed(2, 0, 0, status));
  Write("fuzz_frame_sealed", "status_zstd", sealed_seed(2 | 8, 0, 0, will));
  Write("fuzz_frame_sealed", "offer_update", sealed_seed(3, 0, 7, EncodeOfferUpdate(update)));
  Write("fuzz_frame_sealed", "offer_update_zstd",
        sealed_seed(3 | 8, 0, 7, EncodeOfferUpdate(update)));
  std::printf("seeds written under %s\n", argv[1]);
  return 0;
}

// The Ingestor without a broker: an in-memory IngestLink delivers frames as Paho would (on
// another thread than the ingest thread) and records what the hub publishes. The store is a real
// SqliteHubStore in a TempDir.
#include "hub/ingest/ingestor.h"

#include <gtest/gtest.h>

#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include "hub/store/sqlite_hub_store.h"
#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/topics.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace cjd::hub {
namespace {

using namespace std::chrono_literals;
using cjd::testing::TempDir;
using cjd::testing::WaitUntil;

// What the ingestor publishes, and the callbacks it gave the link.
struct Wire {
  std::mutex mu;
  std::vector<std::pair<std::string, std::string>> published;  // guarded by mu
  MqttLink::MessageFn on_message;
  MqttLink::StateFn on_state;
  bool take_publishes = true;
};

class MemoryLink final : public IngestLink {
 public:
  explicit MemoryLink(Wire* wire) : wire_(wire) {}
  Status Start() override { return Status::Ok(); }
  void Stop() override {}
  bool Publish(const std::string& topic, const std::string& payload) override {
    std::lock_guard lock(wire_->mu);
    if (!wire_->take_publishes) return false;
    wire_->published.emplace_back(topic, payload);
    return true;
  }

 private:
  Wire* wire_;
};

class IngestorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    config_.keys = NewKeyPair();
    config_.store_path = (dir_.path() / "hub.db").string();
    device_ = NewKeyPair();
    auto store = SqliteHubStore::Open(config_.store_path);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    DeviceRecord rec;
    rec.device_id = "pos-1";
    rec.store_id = "s1";
    rec.kind = "pos";
    rec.key_id = 1;
    rec.public_key = KeyToBase64(device_.public_key);
    rec.created_ms = 1;
    ASSERT_TRUE((*store)->RegisterDevice(rec).ok());
    auto keys = DeviceSessionKeys(device_, config_.keys.public_key, 1);
    ASSERT_TRUE(keys.ok());
    keys_ = *keys;
    Start(std::move(*store));
  }

  void Start(std::unique_ptr<HubStore> store) {
    ingestor_ = std::make_unique<Ingestor>(config_, std::move(store), &clock_);
    ingestor_->set_on_erase_receipt([this](const std::string& device, const EraseReceipt& r) {
      std::lock_guard lock(receipts_mu_);
      receipts_.emplace_back(device, r.erasure_id);
    });
    ingestor_->set_on_probe([this](const std::string& device, const SessionKeys&) {
      // What the hub owes the device (erase commands) goes on its down topic before the ack.
      std::lock_guard lock(wire_.mu);
      ++probes_seen_;
      if (!owed_published_) return false;
      wire_.published.emplace_back(topics::Down(device), "owed");
      return true;
    });
    ingestor_->set_link_factory(
        [this](const MqttOptions&, MqttLink::MessageFn on_message, MqttLink::StateFn on_state) {
          wire_.on_message = std::move(on_message);
          wire_.on_state = std::move(on_state);
          return std::make_unique<MemoryLink>(&wire_);
        });
    ASSERT_TRUE(ingestor_->Start().ok());
  }

  // Delivers one frame from another thread, as Paho's callback thread does.
  void Deliver(const std::string& topic, std::string payload) {
    std::thread([&] { wire_.on_message(topic, std::move(payload)); }).join();
  }

  // Waits until the ingestor took `n` frames in all and went idle.
  void Settle(int64_t n) {
    ASSERT_TRUE(WaitUntil(
        [&] {
          const IngestStats s = ingestor_->Stats();
          return s.frames_total >= n && s.queue == 0;
        },
        10s, 2ms));
    // The frame was taken off the queue; wait for its group to finish (the next Stats() after
    // the group bumps `groups` or the rejection counters).
    ASSERT_TRUE(WaitUntil(
        [&] {
          const IngestStats s = ingestor_->Stats();
          int64_t rejected = 0;
          for (const auto& [reason, k] : s.rejected) rejected += k;
          return s.groups + rejected >= groups_and_rejections_ + 1;
        },
        10s, 2ms));
    const IngestStats s = ingestor_->Stats();
    int64_t rejected = 0;
    for (const auto& [reason, k] : s.rejected) rejected += k;
    groups_and_rejections_ = s.groups + rejected;
  }

  std::string Batch(uint64_t first, uint64_t last, const std::vector<WireEvent>& events) const {
    FrameHeader h;
    h.kind = FrameKind::kEventBatch;
    h.key_id = keys_.key_id;
    h.first_seq = first;
    h.last_seq = last;
    return SealFrame(h, "pos-1", EncodeEventBatch(events), keys_.uplink);
  }

  std::string Status(const std::string& json) const {
    FrameHeader h;
    h.kind = FrameKind::kStatus;
    h.key_id = keys_.key_id;
    return SealFrame(h, "pos-1", json, keys_.uplink);
  }

  static WireEvent Scan(const std::string& id, uint64_t seq) {
    auto parsed = ParseJsonExact(R"({"type":"loyalty_scan","event_id":")" + id +
                                 R"(","occurred_at":"2026-11-23T10:00:00Z","store_id":"s1",)"
                                 R"("customer":{"loyalty_id":"L1"}})");
    auto e = ValidateEvent(*parsed);
    WireEvent w;
    w.seq = seq;
    w.event_id = e->event_id;
    w.type = static_cast<uint8_t>(e->type);
    w.occurred_at_ms = e->occurred_at_ms;
    w.body = ToCanonicalJson(*e);
    return w;
  }

  // The frames published on the device's down topic, opened with its downlink key.
  std::vector<FrameHeader> Downlink() {
    std::lock_guard lock(wire_.mu);
    std::vector<FrameHeader> out;
    for (const auto& [topic, payload] : wire_.published) {
      if (topic != topics::Down("pos-1") || payload == "owed") continue;  // frames only
      FrameHeader h;
      EXPECT_TRUE(OpenFrame(payload, "pos-1", keys_.downlink, &h).ok());
      out.push_back(h);
    }
    return out;
  }

  int64_t Rejected(const std::string& reason) { return ingestor_->Stats().rejected[reason]; }

  // The payloads on the device's down topic: "owed" for the probe hook's, else the opened JSON.
  std::vector<nlohmann::json> DownlinkBodies() {
    std::lock_guard lock(wire_.mu);
    std::vector<nlohmann::json> out;
    for (const auto& [topic, payload] : wire_.published) {
      if (topic != topics::Down("pos-1")) continue;
      if (payload == "owed") {
        out.push_back("owed");
        continue;
      }
      FrameHeader h;
      auto plain = OpenFrame(payload, "pos-1", keys_.downlink, &h);
      EXPECT_TRUE(plain.ok());
      out.push_back(plain.ok() ? nlohmann::json::parse(*plain) : nlohmann::json());
    }
    return out;
  }

  TempDir dir_{"cjd-ingestor-"};
  HubConfig config_;
  KeyPair device_;
  SessionKeys keys_;
  FakeClock clock_{1'800'000'000'000};
  Wire wire_;
  std::unique_ptr<Ingestor> ingestor_;
  int64_t groups_and_rejections_ = 0;
  bool owed_published_ = true;  // guarded by wire_.mu: what the probe hook answers
  int probes_seen_ = 0;         // guarded by wire_.mu
  std::mutex receipts_mu_;
  std::vector<std::pair<std::string, std::string>> receipts_;  // (device, erasure id)
};

TEST_F(IngestorTest, CommitsAcksAndPinsAReplayExactly) {
  const std::string frame = Batch(1, 2, {Scan("e1", 1), Scan("e2", 2)});
  Deliver(topics::Up("pos-1"), frame);
  Settle(1);
  IngestStats s = ingestor_->Stats();
  EXPECT_EQ(s.events_inserted, 2);
  EXPECT_EQ(s.batches_committed, 1);
  ASSERT_EQ(Downlink().size(), 1u);
  EXPECT_EQ(Downlink()[0].kind, FrameKind::kAck);
  EXPECT_EQ(Downlink()[0].last_seq, 2u);

  // The same frame again: one replay, nothing else.
  Deliver(topics::Up("pos-1"), frame);
  Settle(2);
  s = ingestor_->Stats();
  EXPECT_EQ(s.rejected["replay"], 1);
  EXPECT_EQ(s.duplicate_frames, 0);
  EXPECT_EQ(s.events_inserted, 2);
  // A resend (new seal) of the same range: a duplicate frame, re-acked, not a rejection.
  Deliver(topics::Up("pos-1"), Batch(1, 2, {Scan("e1", 1), Scan("e2", 2)}));
  Settle(3);
  s = ingestor_->Stats();
  EXPECT_EQ(s.duplicate_frames, 1);
  EXPECT_EQ(s.rejected["replay"], 1);
  // Each of the three frames got an ack of what is held (a broker redelivery is a replay too).
  const std::vector<FrameHeader> acks = Downlink();
  ASSERT_EQ(acks.size(), 3u);
  for (const FrameHeader& h : acks) EXPECT_EQ(h.last_seq, 2u);
}

// A probe (an empty frame [0, 0]) is what an agent sends after each (re)connect, and it sends
// nothing else before the ack that names it: what the hub owes the device goes first, and when
// not all of it could go, no ack.
TEST_F(IngestorTest, AProbeIsAnsweredAfterWhatIsOwedAndTheAnswerNamesIt) {
  {
    std::lock_guard lock(wire_.mu);
    owed_published_ = false;
  }
  Deliver(topics::Up("pos-1"), Batch(0, 0, {}));
  Settle(1);
  EXPECT_TRUE(DownlinkBodies().empty());
  {
    std::lock_guard lock(wire_.mu);
    EXPECT_EQ(probes_seen_, 1);
    owed_published_ = true;
  }
  const std::string probe = Batch(0, 0, {});
  Deliver(topics::Up("pos-1"), probe);
  Settle(2);
  std::vector<nlohmann::json> down = DownlinkBodies();
  ASSERT_EQ(down.size(), 2u);
  EXPECT_EQ(down[0], "owed");
  EXPECT_EQ(down[1]["probe"], NonceHex(FrameNonce(probe))) << down[1].dump();
  EXPECT_EQ(down[1]["acked_seq"], 0);
  // The ack of a batch names no probe (an agent takes it for the answer to none).
  Deliver(topics::Up("pos-1"), Batch(1, 1, {Scan("e1", 1)}));
  Settle(3);
  down = DownlinkBodies();
  ASSERT_EQ(down.size(), 3u);
  EXPECT_FALSE(down[2].contains("probe")) << down[2].dump();
  EXPECT_EQ(down[2]["acked_seq"], 1);
}

// The crash of issue 9: a sealed status whose `online` is a string threw inside the ingest
// thread (std::terminate), at every start since the broker redelivers the retained status.
// Erase receipts: verified, decoded strictly, handed on once; a replay or a malformed one is
// rejected and counted, and ingest goes on.
TEST_F(IngestorTest, EraseReceiptsAreVerifiedAndHandedOnOnce) {
  auto receipt = [&](const std::string& json) {
    FrameHeader h;
    h.kind = FrameKind::kEraseReceipt;
    h.key_id = keys_.key_id;
    return SealFrame(h, "pos-1", json, keys_.uplink);
  };
  const std::string good = receipt(R"({"erasure_id":"era_0123456789abcdef0123","outbox_redacted":2})");
  Deliver(topics::Up("pos-1"), good);
  Settle(1);
  Deliver(topics::Up("pos-1"), good);  // the very frame again
  Settle(2);
  EXPECT_EQ(Rejected("replay"), 1);
  Deliver(topics::Up("pos-1"), receipt(R"({"erasure_id":"era_1","outbox_redacted":2})"));
  Settle(3);
  Deliver(topics::Up("pos-1"), receipt(R"({"erasure_id":"era_0123456789abcdef0123","x":1})"));
  Settle(4);
  EXPECT_EQ(Rejected("malformed"), 2);
  // Sealed with another key (a device's key cannot speak for another): a bad seal.
  FrameHeader h;
  h.kind = FrameKind::kEraseReceipt;
  h.key_id = keys_.key_id;
  Deliver(topics::Up("pos-1"),
          SealFrame(h, "pos-1", R"({"erasure_id":"era_0123456789abcdef0123"})", keys_.downlink));
  Settle(5);
  EXPECT_EQ(Rejected("bad_seal"), 1);
  {
    std::lock_guard lock(receipts_mu_);
    ASSERT_EQ(receipts_.size(), 1u);
    EXPECT_EQ(receipts_[0].first, "pos-1");
    EXPECT_EQ(receipts_[0].second, "era_0123456789abcdef0123");
  }
  Deliver(topics::Up("pos-1"), Batch(1, 1, {Scan("e1", 1)}));
  Settle(6);
  EXPECT_EQ(ingestor_->Stats().events_inserted, 1);
}

TEST_F(IngestorTest, IllTypedStatusIsMalformedAndIngestGoesOn) {
  Deliver(topics::Status("pos-1"), Status(R"({"online":"yes","clock_ms":5})"));
  Settle(1);
  EXPECT_EQ(Rejected("malformed"), 1);
  Deliver(topics::Status("pos-1"), Status(R"({"online":true,"clock_ms":5,"store_id":"s2"})"));
  Settle(2);
  EXPECT_EQ(Rejected("malformed"), 2);
  Deliver(topics::Status("pos-1"), Status(R"({"online":true,"clock_ms":5})"));
  Settle(3);
  EXPECT_EQ(Rejected("malformed"), 2);
  Deliver(topics::Up("pos-1"), Batch(1, 1, {Scan("e1", 1)}));
  Settle(4);
  EXPECT_EQ(ingestor_->Stats().events_inserted, 1);
}

TEST_F(IngestorTest, OlderStatusIsAReplayAfterARestart) {
  const std::string newer = Status(R"({"online":true,"clock_ms":2000,"will_ms":1000})");
  Deliver(topics::Status("pos-1"), Status(R"({"online":true,"clock_ms":1500,"will_ms":1000})"));
  Settle(1);
  Deliver(topics::Status("pos-1"), newer);
  Settle(2);
  // A new ingestor on the same store: the nonce cache is empty, the freshness mark is not.
  ingestor_.reset();
  auto store = SqliteHubStore::Open(config_.store_path);
  ASSERT_TRUE(store.ok());
  groups_and_rejections_ = 0;
  Start(std::move(*store));
  Deliver(topics::Status("pos-1"), newer);  // the retained status, redelivered: ignored
  Deliver(topics::Status("pos-1"), Status(R"({"online":true,"clock_ms":1500,"will_ms":1000})"));
  ASSERT_TRUE(WaitUntil([&] { return Rejected("replay") == 1; }, 10s, 2ms));
  EXPECT_EQ(Rejected("malformed"), 0);
  // The will of the current connection is still taken.
  Deliver(topics::Status("pos-1"), Status(R"({"online":false,"clock_ms":1000})"));
  ASSERT_TRUE(WaitUntil([&] { return ingestor_->Stats().groups >= 2; }, 10s, 2ms));
  EXPECT_EQ(Rejected("replay"), 1);
}

TEST_F(IngestorTest, ConnectingSendsEachDeviceASealedResync) {
  {
    std::lock_guard lock(wire_.mu);
    wire_.take_publishes = false;  // the client's queue is full at first
  }
  wire_.on_state(true);
  ASSERT_TRUE(WaitUntil([&] { return ingestor_->Stats().connected; }, 10s, 2ms));
  EXPECT_EQ(ingestor_->Stats().resyncs_sent, 0);
  {
    std::lock_guard lock(wire_.mu);
    wire_.take_publishes = true;
  }
  ASSERT_TRUE(WaitUntil([&] { return ingestor_->Stats().resyncs_sent == 1; }, 10s, 2ms));
  const std::vector<FrameHeader> down = Downlink();
  ASSERT_EQ(down.size(), 1u);
  EXPECT_EQ(down[0].kind, FrameKind::kResync);
  EXPECT_EQ(down[0].last_seq, 0u);
  // Nothing on the old, unsealed topic.
  std::lock_guard lock(wire_.mu);
  for (const auto& [topic, payload] : wire_.published) EXPECT_NE(topic, topics::HubStatus());
}

TEST_F(IngestorTest, HostileFloodsAreCountedExactly) {
  for (int i = 0; i < 50; ++i) Deliver(topics::Up("pos-1"), std::string(100, 'x'));
  Deliver("cjd/v1/dev/bad id/up", Batch(1, 1, {Scan("e1", 1)}));
  Deliver(topics::Up("pos-1"), Batch(0, 3, {}));
  Deliver(topics::Up("pos-1"), Batch(5, 5 + kMaxFrameSeqSpan, {}));
  ASSERT_TRUE(WaitUntil([&] { return ingestor_->Stats().frames_total == 53 &&
                                     ingestor_->Stats().queue == 0; }, 10s, 2ms));
  ASSERT_TRUE(WaitUntil([&] { return Rejected("bad_range") == 2; }, 10s, 2ms));
  EXPECT_EQ(Rejected("malformed"), 50);
  EXPECT_EQ(Rejected("bad_topic"), 1);
  EXPECT_EQ(ingestor_->Stats().events_inserted, 0);
}

}  // namespace
}  // namespace cjd::hub

// Uplink without a broker (agent/uplink/uplink_link.h): an in-memory link records what the
// uplink publishes and delivers sealed frames the test builds as the hub would. The outbox is a
// real SQLite file. Covers the epoch probe, the go-back-N window, acks (of this epoch, of
// another, of a hub ahead of the outbox), the ack timeout, a sealed resync, forged downlink
// frames, reconnects and the heartbeats.
#include "agent/uplink/uplink.h"

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/outbox/outbox_store.h"
#include "agent/outbox/outbox_writer.h"
#include "shared/core/clock.h"
#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/device_status.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/keys.h"
#include "shared/protocol/topics.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace cjd::agent {
namespace {

using namespace std::chrono_literals;

struct Published {
  std::string topic;
  std::string payload;
  bool retained = false;
};

// What the test holds of the link: its callbacks, a switch for "connected", what was published.
struct LinkState {
  std::mutex mu;
  MqttLink::MessageFn on_message;
  MqttLink::StateFn on_state;
  std::vector<Published> published;
  std::atomic<bool> connected{true};
  std::atomic<bool> stopped{false};
  std::atomic<int64_t> reconnects{0};
  Published final_message;
};

class FakeLink final : public UplinkLink {
 public:
  explicit FakeLink(LinkState* state) : s_(state) {}
  Status Start() override { return Status::Ok(); }
  void Stop(const std::string& topic, const std::string& payload) override {
    std::lock_guard lock(s_->mu);
    s_->final_message = {topic, payload, true};
    s_->stopped = true;
  }
  bool Publish(const std::string& topic, const std::string& payload, int qos,
               bool retained) override {
    EXPECT_EQ(qos, 1);
    if (!s_->connected.load()) return false;
    std::lock_guard lock(s_->mu);
    s_->published.push_back({topic, payload, retained});
    return true;
  }
  bool connected() const override { return s_->connected.load(); }
  int64_t reconnects() const override { return s_->reconnects.load(); }

 private:
  LinkState* s_;
};

// One event batch frame as the hub reads it.
struct Batch {
  uint64_t first = 0, last = 0, epoch = 0;
  std::vector<uint64_t> seqs;
};

class UplinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(InitCrypto().ok());
    const KeyPair device = NewKeyPair();
    const KeyPair hub = NewKeyPair();
    auto keys = DeviceSessionKeys(device, hub.public_key, 1);
    ASSERT_TRUE(keys.ok());
    keys_ = *keys;
    config_.device_id = "pos-1";
    config_.store_id = "s1";
    config_.kind = "pos";
    config_.batch_max_events = 1;  // one event per frame: the window is easy to count
    config_.max_in_flight = 2;
    config_.ack_timeout_ms = 10'000;
    config_.heartbeat_s = 3600;     // heartbeats only when the test connects
    auto store = OutboxStore::Open(dir_.Join("outbox.db"));
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    writer_ = std::make_unique<OutboxWriter>(std::move(*store), 1 << 20, 3'600'000, &clock_);
    writer_->Start();
  }
  void TearDown() override {
    if (uplink_) uplink_->Stop();
    writer_->Stop();
  }

  void Submit(int n, uint8_t type = 1) {
    std::vector<PendingEvent> events;
    for (int i = 0; i < n; ++i) {
      events.push_back(PendingEvent{"ev-" + std::to_string(next_++), type, 1'700'000'000'000,
                                    R"({"n":)" + std::to_string(i) + "}"});
    }
    std::promise<AppendResult> p;
    writer_->Submit(std::move(events), [&p](AppendResult r) { p.set_value(std::move(r)); });
    ASSERT_TRUE(p.get_future().get().status.ok());
  }

  void StartUplink() {
    auto reader = OutboxReader::Open(dir_.Join("outbox.db"));
    ASSERT_TRUE(reader.ok());
    uplink_ = std::make_unique<Uplink>(config_, writer_.get(), std::move(*reader), keys_, &clock_);
    uplink_->set_link_factory([this](const MqttOptions& o, MqttLink::MessageFn on_message,
                                     MqttLink::StateFn on_state) -> std::unique_ptr<UplinkLink> {
      EXPECT_EQ(o.subscriptions, std::vector<std::string>{topics::Down("pos-1")});
      link_.on_message = std::move(on_message);
      link_.on_state = std::move(on_state);
      return std::make_unique<FakeLink>(&link_);
    });
    ASSERT_TRUE(uplink_->Start().ok());
  }

  uint64_t Epoch() { return writer_->Stats().counters.epoch; }

  // The event batch frames published so far, in order.
  std::vector<Batch> Batches() {
    std::lock_guard lock(link_.mu);
    std::vector<Batch> out;
    for (const Published& p : link_.published) {
      if (p.topic != topics::Up("pos-1")) continue;
      FrameHeader h;
      auto plain = OpenFrame(p.payload, "pos-1", keys_.uplink, &h);
      EXPECT_TRUE(plain.ok());
      if (!plain.ok()) continue;
      Batch b;
      b.first = h.first_seq;
      b.last = h.last_seq;
      auto events = DecodeEventBatch(*plain, &b.epoch);
      EXPECT_TRUE(events.ok());
      if (events.ok()) {
        for (const WireEvent& e : *events) b.seqs.push_back(e.seq);
      }
      out.push_back(b);
    }
    return out;
  }
  std::vector<DeviceStatus> Statuses() {
    std::lock_guard lock(link_.mu);
    std::vector<DeviceStatus> out;
    for (const Published& p : link_.published) {
      if (p.topic != topics::Status("pos-1")) continue;
      EXPECT_TRUE(p.retained);
      FrameHeader h;
      auto plain = OpenFrame(p.payload, "pos-1", keys_.uplink, &h);
      EXPECT_TRUE(plain.ok());
      auto status = DecodeDeviceStatus(*plain);
      EXPECT_TRUE(status.ok()) << status.status().ToString();
      if (status.ok()) out.push_back(*status);
    }
    return out;
  }
  bool WaitBatches(size_t n) {
    return cjd::testing::WaitUntil([&] { return Batches().size() >= n; }, 5s, 5ms);
  }

  // A frame from the hub on the device's down topic, sealed with the hub -> device key.
  void Deliver(FrameKind kind, uint64_t last_seq, const nlohmann::json& body,
               const SymmetricKey* key = nullptr) {
    FrameHeader h;
    h.kind = kind;
    h.key_id = keys_.key_id;
    h.last_seq = last_seq;
    link_.on_message(topics::Down("pos-1"),
                     SealFrame(h, "pos-1", body.dump(), key ? *key : keys_.downlink));
  }
  // The nonce (hex) of the last probe the uplink published ("" if none): the hub's answer to a
  // probe names it.
  std::string LastProbe() {
    std::lock_guard lock(link_.mu);
    for (auto p = link_.published.rbegin(); p != link_.published.rend(); ++p) {
      if (p->topic != topics::Up("pos-1")) continue;
      FrameHeader h;
      auto plain = OpenFrame(p->payload, "pos-1", keys_.uplink, &h);
      if (!plain.ok() || h.kind != FrameKind::kEventBatch || h.last_seq != 0) continue;
      auto events = DecodeEventBatch(*plain);
      if (events.ok() && events->empty()) return NonceHex(FrameNonce(p->payload));
    }
    return "";
  }
  // An ack as the hub sends it; by default the answer to the last probe (naming it), as the hub
  // answers a probe, with `probe` = "" an ack of batches only.
  void Ack(uint64_t epoch, uint64_t acked, uint64_t held = 0,
           std::optional<std::string> probe = std::nullopt) {
    nlohmann::json body = {{"acked_seq", acked},
                           {"hub_time_ms", clock_.NowMillis()},
                           {"epoch", EpochHex(epoch)},
                           {"held_seq", std::max(acked, held)}};
    const std::string named = probe.value_or(LastProbe());
    if (!named.empty()) body["probe"] = named;
    Deliver(FrameKind::kAck, acked, body);
  }

  cjd::testing::TempDir dir_;
  FakeClock clock_;
  AgentConfig config_;
  SessionKeys keys_;
  std::unique_ptr<OutboxWriter> writer_;
  LinkState link_;
  std::unique_ptr<Uplink> uplink_;
  int next_ = 1;
};

TEST_F(UplinkTest, ProbesFirstThenKeepsTheWindowAndMovesOnWithEachAck) {
  Submit(5);
  StartUplink();
  ASSERT_TRUE(WaitBatches(1));
  std::vector<Batch> b = Batches();
  // Nothing but the probe until the hub has said where this epoch stands.
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].first, 0u);
  EXPECT_EQ(b[0].last, 0u);
  EXPECT_TRUE(b[0].seqs.empty());
  EXPECT_EQ(b[0].epoch, Epoch());
  EXPECT_FALSE(uplink_->Stats().epoch_confirmed);

  Ack(Epoch(), 0);
  ASSERT_TRUE(WaitBatches(3));
  std::this_thread::sleep_for(50ms);
  b = Batches();
  ASSERT_EQ(b.size(), 3u);  // the window: two frames in flight, no more
  EXPECT_EQ(b[1].seqs, std::vector<uint64_t>{1});
  EXPECT_EQ(b[2].seqs, std::vector<uint64_t>{2});
  EXPECT_EQ(b[2].first, 2u);
  EXPECT_TRUE(uplink_->Stats().epoch_confirmed);

  Ack(Epoch(), 1);
  ASSERT_TRUE(WaitBatches(4));
  EXPECT_EQ(Batches()[3].seqs, std::vector<uint64_t>{3});
  EXPECT_TRUE(cjd::testing::WaitUntil([&] { return uplink_->Stats().hub_acked_seq == 1; }, 5s,
                                      5ms));
  // The ack reaches the outbox: acknowledged rows leave it.
  Submit(1);
  EXPECT_TRUE(cjd::testing::WaitUntil(
      [&] { return writer_->Stats().counters.acked_seq == 1; }, 5s, 5ms));
  EXPECT_EQ(uplink_->Stats().batches_sent, 3);
  EXPECT_EQ(uplink_->Stats().probes_sent, 1);
}

TEST_F(UplinkTest, AReconnectBetweenTwoTurnsStillProbesBeforeSending) {
  Submit(2);
  StartUplink();
  ASSERT_TRUE(WaitBatches(1));
  Ack(Epoch(), 0);
  ASSERT_TRUE(WaitBatches(3));
  Ack(Epoch(), 2);
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return uplink_->Stats().hub_acked_seq == 2; }, 5s,
                                      5ms));
  // The link dropped and came back before the uplink looked: `connected` never read false, the
  // reconnect count moved.
  link_.reconnects = 1;
  link_.on_state(true);
  ASSERT_TRUE(WaitBatches(4));
  EXPECT_TRUE(Batches()[3].seqs.empty());  // a probe, and nothing after it
  Submit(1);
  uplink_->Wake();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Batches().size(), 4u);
  Ack(Epoch(), 2);
  ASSERT_TRUE(WaitBatches(5));
  EXPECT_EQ(Batches()[4].seqs, std::vector<uint64_t>{3});
}

TEST_F(UplinkTest, SilenceBeyondTheAckTimeoutResendsFromTheLastAck) {
  Submit(3);
  StartUplink();
  ASSERT_TRUE(WaitBatches(1));
  Ack(Epoch(), 0);
  ASSERT_TRUE(WaitBatches(3));
  Ack(Epoch(), 1);
  ASSERT_TRUE(WaitBatches(4));  // 2 and 3 in flight
  clock_.Advance(config_.ack_timeout_ms + 1);
  uplink_->Wake();
  ASSERT_TRUE(WaitBatches(6));
  const std::vector<Batch> b = Batches();
  EXPECT_EQ(b[4].seqs, std::vector<uint64_t>{2});  // go back to the last ack + 1
  EXPECT_EQ(b[5].seqs, std::vector<uint64_t>{3});
  EXPECT_EQ(uplink_->Stats().resends, 1);
}

TEST_F(UplinkTest, AcksOfAnotherEpochAndForgedFramesChangeNothing) {
  Submit(2);
  StartUplink();
  ASSERT_TRUE(WaitBatches(1));
  Ack(Epoch(), 0);
  ASSERT_TRUE(WaitBatches(3));
  Ack(Epoch() ^ 0x10, 2);  // another epoch: ignored, counted
  const SymmetricKey wrong = keys_.uplink;  // not the hub -> device key
  Deliver(FrameKind::kAck, 2, {{"acked_seq", 2}, {"epoch", EpochHex(Epoch())}}, &wrong);
  link_.on_message(topics::Down("pos-1"), "not a frame");
  EXPECT_TRUE(cjd::testing::WaitUntil(
      [&] {
        const UplinkStats s = uplink_->Stats();
        return s.acks_ignored == 1 && s.bad_downlink == 2;
      },
      5s, 5ms));
  EXPECT_EQ(uplink_->Stats().hub_acked_seq, 0u);
  Submit(1);
  EXPECT_EQ(writer_->Stats().counters.acked_seq, 0u);
  EXPECT_EQ(writer_->Stats().counters.backlog, 3);
}

TEST_F(UplinkTest, ASealedResyncResendsWhatIsInFlightAtOnceAndAReplayDoesNot) {
  Submit(2);
  StartUplink();
  ASSERT_TRUE(WaitBatches(1));
  Ack(Epoch(), 0);
  ASSERT_TRUE(WaitBatches(3));
  const nlohmann::json resync = {{"acked_seq", 0}, {"hub_time_ms", 5000}};
  Deliver(FrameKind::kResync, 0, resync);
  ASSERT_TRUE(WaitBatches(5));
  EXPECT_EQ(Batches()[3].seqs, std::vector<uint64_t>{1});
  EXPECT_EQ(uplink_->Stats().resends, 1);
  Deliver(FrameKind::kResync, 0, resync);  // replayed: not after the last one taken
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(uplink_->Stats().resends, 1);
  EXPECT_EQ(Batches().size(), 5u);
}

TEST_F(UplinkTest, AHubAheadOfTheOutboxMakesItStartANewEpochAndSendEverythingAgain) {
  Submit(2);
  StartUplink();
  ASSERT_TRUE(WaitBatches(1));
  const uint64_t old_epoch = Epoch();
  // The hub holds seq 9 of this epoch, which this outbox never assigned (restored backup).
  Ack(old_epoch, 0, /*held=*/9);
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return Epoch() != old_epoch; }, 5s, 5ms));
  ASSERT_TRUE(WaitBatches(3));
  const std::vector<Batch> b = Batches();
  EXPECT_EQ(b[1].epoch, Epoch());
  EXPECT_EQ(b[1].seqs, std::vector<uint64_t>{1});
  EXPECT_EQ(b[2].seqs, std::vector<uint64_t>{2});
  EXPECT_EQ(writer_->Stats().resets.back().reason, "restored");
}

TEST_F(UplinkTest, ADisconnectRestartsFromTheLastAckAndHeartbeatsTellTheHub) {
  Submit(2);
  StartUplink();
  ASSERT_TRUE(WaitBatches(1));
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return !Statuses().empty(); }, 5s, 5ms));
  EXPECT_TRUE(Statuses()[0].online);
  const std::string probe_before_drop = LastProbe();
  Ack(Epoch(), 0);
  ASSERT_TRUE(WaitBatches(3));
  link_.connected = false;
  link_.on_state(false);
  std::this_thread::sleep_for(50ms);
  link_.connected = true;
  link_.reconnects = 1;
  link_.on_state(true);
  // After a reconnect nothing but a probe goes until the hub answers (its erase commands come
  // before its answer); then what was in flight, which may be lost with the connection, is sent
  // again from the last ack.
  ASSERT_TRUE(WaitBatches(4));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Batches().size(), 4u);
  EXPECT_TRUE(Batches()[3].seqs.empty());  // the probe
  EXPECT_EQ(uplink_->Stats().probes_sent, 2);
  // An ack that arrives now but answers frames of the earlier connection (batches, or the probe
  // sent then) is not the hub's answer to this connection: the erase commands the hub owes may
  // not have come before it. Nothing goes.
  const std::string first_probe = probe_before_drop;
  Ack(Epoch(), 0, 0, /*probe=*/"");
  Ack(Epoch(), 0, 0, first_probe);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Batches().size(), 4u);
  Ack(Epoch(), 0);  // names this connection's probe
  ASSERT_TRUE(WaitBatches(6));
  EXPECT_EQ(Batches()[4].seqs, std::vector<uint64_t>{1});
  EXPECT_EQ(Batches()[5].seqs, std::vector<uint64_t>{2});
  EXPECT_EQ(uplink_->Stats().reconnects, 1);
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return Statuses().size() >= 2; }, 5s, 5ms));
  const DeviceStatus last = Statuses().back();
  EXPECT_EQ(last.last_seq, 2u);
  EXPECT_EQ(last.backlog, 2);
  uplink_->Stop();
  // Stopping hands the link a last "offline" status to publish before it disconnects.
  EXPECT_TRUE(link_.stopped.load());
  EXPECT_EQ(link_.final_message.topic, topics::Status("pos-1"));
  FrameHeader h;
  auto plain = OpenFrame(link_.final_message.payload, "pos-1", keys_.uplink, &h);
  ASSERT_TRUE(plain.ok());
  auto final_status = DecodeDeviceStatus(*plain);
  ASSERT_TRUE(final_status.ok());
  EXPECT_FALSE(final_status->online);
  uplink_.reset();
}

}  // namespace
}  // namespace cjd::agent

namespace cjd::agent {
namespace {

// Linger: a batch that is not full waits until linger_ms after the last frame sent; a full batch
// goes at once, and so does a lone event after a quiet spell.
TEST_F(UplinkTest, APartialBatchLingersAfterARecentFrameAndAFullOneDoesNot) {
  config_.batch_max_events = 3;
  config_.max_in_flight = 8;
  config_.linger_ms = 5'000;  // on the fake clock
  Submit(1);
  StartUplink();
  ASSERT_TRUE(WaitBatches(1));
  Ack(Epoch(), 0);
  ASSERT_TRUE(WaitBatches(2));  // nothing sent for a while: the lone event goes at once
  EXPECT_EQ(Batches()[1].seqs, std::vector<uint64_t>{1});
  Submit(1);  // seq 2: a partial batch right after a frame
  uplink_->Wake();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Batches().size(), 2u);
  Submit(2);  // 2, 3, 4: a full batch goes without waiting
  uplink_->Wake();
  ASSERT_TRUE(WaitBatches(3));
  EXPECT_EQ(Batches()[2].seqs, (std::vector<uint64_t>{2, 3, 4}));
  Submit(1);  // 5: partial again
  uplink_->Wake();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Batches().size(), 3u);
  clock_.Advance(5'001);  // the linger is over
  uplink_->Wake();
  ASSERT_TRUE(WaitBatches(4));
  EXPECT_EQ(Batches()[3].seqs, std::vector<uint64_t>{5});
  Ack(Epoch(), 5);  // acked or not, only the time since the last frame counts
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return uplink_->Stats().hub_acked_seq == 5; }, 5s,
                                      5ms));
  Submit(1);  // 6: partial, right after frame 5: waits
  uplink_->Wake();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Batches().size(), 4u);
  clock_.Advance(5'001);  // a quiet spell: the next lone event goes at once
  uplink_->Wake();
  ASSERT_TRUE(WaitBatches(5));
  EXPECT_EQ(Batches()[4].seqs, std::vector<uint64_t>{6});
}

// Telemetry only (offer impressions) lingers telemetry_linger_ms; a sale joining the batch makes
// it go after linger_ms; a lone impression after a quiet spell goes at once.
TEST_F(UplinkTest, ATelemetryOnlyBatchLingersLongerUntilASaleJoinsIt) {
  constexpr auto kImpression = static_cast<uint8_t>(EventType::kOfferImpression);
  config_.batch_max_events = 100;
  config_.max_in_flight = 8;
  config_.linger_ms = 1'000;  // on the fake clock
  config_.telemetry_linger_ms = 60'000;
  Submit(1, kImpression);
  StartUplink();
  ASSERT_TRUE(WaitBatches(1));
  Ack(Epoch(), 0);
  ASSERT_TRUE(WaitBatches(2));  // nothing sent for a while: the lone impression goes at once
  EXPECT_EQ(Batches()[1].seqs, std::vector<uint64_t>{1});
  Ack(Epoch(), 1);  // (no resend when the fake clock jumps past the ack timeout)
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return uplink_->Stats().hub_acked_seq == 1; }, 5s,
                                      5ms));
  Submit(2, kImpression);  // 2, 3 right after a frame
  uplink_->WakeAfterCommit(3, /*business=*/false);  // as the writer wakes it
  clock_.Advance(1'001);  // past linger_ms: impressions alone still wait
  uplink_->WakeAfterCommit(3, false);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Batches().size(), 2u);
  Submit(1);  // 4: a sale joins them, and linger_ms has passed: all three go
  uplink_->WakeAfterCommit(4, /*business=*/true);
  ASSERT_TRUE(WaitBatches(3));
  EXPECT_EQ(Batches()[2].seqs, (std::vector<uint64_t>{2, 3, 4}));
  Ack(Epoch(), 4);
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return uplink_->Stats().hub_acked_seq == 4; }, 5s,
                                      5ms));
  Submit(1, kImpression);  // 5: waits the telemetry linger after frame 3
  uplink_->Wake();
  clock_.Advance(30'000);
  uplink_->Wake();
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Batches().size(), 3u);
  clock_.Advance(30'001);
  uplink_->Wake();
  ASSERT_TRUE(WaitBatches(4));
  EXPECT_EQ(Batches()[3].seqs, std::vector<uint64_t>{5});
  Ack(Epoch(), 5);
  ASSERT_TRUE(cjd::testing::WaitUntil([&] { return uplink_->Stats().hub_acked_seq == 5; }, 5s,
                                      5ms));
  Submit(1, kImpression);  // 6: lingers after frame 4
  uplink_->WakeAfterCommit(6, false);
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(Batches().size(), 4u);
  Submit(99, kImpression);  // 6..105: a full batch by count goes at once, linger or not
  uplink_->WakeAfterCommit(105, false);
  ASSERT_TRUE(WaitBatches(5));
  EXPECT_EQ(Batches()[4].seqs.size(), 100u);
  EXPECT_EQ(Batches()[4].seqs.front(), 6u);
}

}  // namespace
}  // namespace cjd::agent

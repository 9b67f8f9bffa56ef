// Hostile and broken MQTT frames published straight to the broker: each is rejected and counted
// by reason in GET /v1/stats, none stores an event, and the hub keeps ingesting legit traffic.
#include <gtest/gtest.h>

#include <functional>

#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/topics.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

using cjd::testing::WaitUntil;

int64_t Counter(const nlohmann::json& stats, const std::string& reason) {
  if (!stats.is_object() || !stats.contains("rejected_by_reason")) return -1;
  return stats["rejected_by_reason"].value(reason, int64_t{0});
}

// An event batch for `device` with one plausible event, sealed as the caller says.
std::string ForgedBatch(const std::string& device, const std::string& event_id,
                        const SymmetricKey& key, uint32_t key_id, uint64_t seq,
                        bool truncate_plaintext = false, uint64_t epoch = 0) {
  WireEvent e;
  e.seq = seq;
  e.event_id = event_id;
  e.type = static_cast<uint8_t>(EventType::kLoyaltyScan);
  e.occurred_at_ms = 1'795'000'000'000;
  e.body = MakeLoyaltyScan("s1", event_id).dump();
  std::string plain = EncodeEventBatch({e}, epoch);
  if (truncate_plaintext) plain.resize(plain.size() / 2);
  FrameHeader h;
  h.kind = FrameKind::kEventBatch;
  h.key_id = key_id;
  h.first_seq = seq;
  h.last_seq = seq;
  return SealFrame(h, device, plain, key);
}

// A frame of `events` claiming [first, last], sealed with `keys`.
std::string SealedBatch(const std::string& device, const SessionKeys& keys,
                        const std::vector<WireEvent>& events, uint64_t first, uint64_t last) {
  FrameHeader h;
  h.kind = FrameKind::kEventBatch;
  h.key_id = keys.key_id;
  h.first_seq = first;
  h.last_seq = last;
  return SealFrame(h, device, EncodeEventBatch(events), keys.uplink);
}

// The wire form of a valid event, as an agent sends it.
WireEvent Wire(const nlohmann::json& event, uint64_t seq) {
  auto e = ValidateEvent(event);
  EXPECT_TRUE(e.ok()) << e.status().ToString();
  WireEvent w;
  w.seq = seq;
  w.event_id = e->event_id;
  w.type = static_cast<uint8_t>(e->type);
  w.occurred_at_ms = e->occurred_at_ms;
  w.body = ToCanonicalJson(*e);
  return w;
}

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
    // Small enough for one frame to exceed (the `overload` case), large for everything else;
    // a few ranges above a gap (the `bad_range` cap).
    SetTomlKey(fleet_.hub_config(), "ingest", "max_queue_bytes", "1048576");
    SetTomlKey(fleet_.hub_config(), "ingest", "max_pending_ranges", "4");
    a_ = &fleet_.AddDevice("pos-a", "s1");
    b_ = &fleet_.AddDevice("pos-b", "s1");
    fleet_.StartHub();
    ASSERT_TRUE(fleet_.StartAgent(*a_));
    ASSERT_TRUE(fleet_.StartAgent(*b_));
    probe_ = std::make_unique<MqttProbe>(fleet_.broker().Uri(), "itest-probe");
    probe_->Subscribe(topics::AllUp());
  }

  // True if `frame` opens with the agent's keys and carries the event `id`.
  static bool Carries(const FleetAgent& agent, const std::string& frame, const std::string& id) {
    FrameHeader h;
    auto plain = OpenFrame(frame, agent.id, DeviceKeysFromConfig(agent.config).uplink, &h);
    if (!plain.ok()) return false;
    auto events = DecodeEventBatch(*plain);
    if (!events.ok()) return false;
    for (const WireEvent& e : *events) {
      if (e.event_id == id) return true;
    }
    return false;
  }

  // Posts one event to `agent`, waits until the hub holds it; returns the frame that carried it.
  std::string LegitEvent(const FleetAgent& agent) {
    const int64_t before = fleet_.HubEventsTotal();
    const std::string id = "legit-" + std::to_string(accepted_.size());
    HttpClient client(agent.port, 30s);
    const PostResult r = PostEvents(client, agent.token, MakeLoyaltyScan(agent.store, id));
    EXPECT_EQ(r.status, 202) << r.body;
    accepted_.insert(id);
    std::string frame;
    WaitUntil(
        [&] {
          while (auto m = probe_->Next(0ms)) {
            if (frame.empty() && m->first == topics::Up(agent.id) && Carries(agent, m->second, id)) {
              frame = m->second;
            }
          }
          return !frame.empty();
        },
        kStartTimeout, 20ms);
    EXPECT_FALSE(frame.empty()) << "no uplink frame from " << agent.id;
    EXPECT_TRUE(fleet_.WaitHubEventsTotal(before + 1, kStartTimeout))
        << "events_total " << fleet_.HubEventsTotal() << fleet_.Diagnostics();
    return frame;
  }

  // Publishes `payload` on `topic`, expects exactly one more rejection for `reason` (and no other
  // rejection, no event), then checks the hub is healthy and a legit event still arrives.
  void ExpectRejected(const std::string& what, const std::string& reason, const std::string& topic,
                      const std::string& payload) {
    SCOPED_TRACE(what);
    const nlohmann::json before = fleet_.HubStats();
    ASSERT_TRUE(before.is_object());
    ASSERT_TRUE(probe_->Publish(topic, payload));
    nlohmann::json after;
    EXPECT_TRUE(WaitUntil(
        [&] {
          after = fleet_.HubStats();
          return after.is_object() && Counter(after, reason) > Counter(before, reason);
        },
        kStartTimeout, 50ms))
        << what << ": " << reason << " was not counted: " << after.dump() << fleet_.Diagnostics();
    EXPECT_EQ(Counter(after, reason), Counter(before, reason) + 1) << after.dump();
    EXPECT_EQ(after["rejected_total"], before["rejected_total"].get<int64_t>() + 1) << after.dump();
    EXPECT_EQ(after["events_total"], before["events_total"]) << after.dump();
    EXPECT_TRUE(fleet_.HubHealthy());
    LegitEvent(*a_);
  }

  Fleet fleet_;
  FleetAgent* a_ = nullptr;
  FleetAgent* b_ = nullptr;
  std::unique_ptr<MqttProbe> probe_;
  std::set<std::string> accepted_;
};

TEST_F(Hostile, RejectedFramesAreCountedByReasonAndIngestGoesOn) {
  const SessionKeys keys_a = DeviceKeysFromConfig(a_->config);
  const SessionKeys keys_b = DeviceKeysFromConfig(b_->config);
  const std::string frame_a = LegitEvent(*a_);
  const std::string frame_b = LegitEvent(*b_);
  ASSERT_FALSE(frame_a.empty());
  ASSERT_FALSE(frame_b.empty());
  const std::string up_a = topics::Up(a_->id);

  ExpectRejected("sealed with device B's key on A's topic", "bad_seal", up_a,
                 ForgedBatch(a_->id, "forged-1", keys_b.uplink, keys_b.key_id, 1000));
  ExpectRejected("B's captured frame re-addressed to A's topic", "bad_seal", up_a, frame_b);
  ExpectRejected("frame truncated below the envelope's size", "malformed", up_a,
                 frame_a.substr(0, kFrameOverhead - 1));
  ExpectRejected("well sealed, truncated event batch", "malformed", up_a,
                 ForgedBatch(a_->id, "forged-2", keys_a.uplink, keys_a.key_id, 1000, true));
  ExpectRejected("garbage bytes", "malformed", up_a, std::string(200, '\x5a'));
  ExpectRejected("unknown device topic", "unknown_device", topics::Up("ghost-device"), frame_a);
  ExpectRejected("wrong key id", "unknown_key", up_a,
                 ForgedBatch(a_->id, "forged-3", keys_a.uplink, keys_a.key_id + 1, 1000));

  ExpectRejected("topic with an invalid device id", "bad_topic", "cjd/v1/dev/bad id/up", frame_a);
  ExpectRejected("frame larger than the whole ingest queue", "overload", up_a,
                 std::string((1 << 20) + 1, '\x5a'));

  // A replay of the very frame the hub committed (same nonce): exactly one `replay`, no
  // duplicate counted, nothing stored.
  {
    SCOPED_TRACE("replayed frame");
    const nlohmann::json before = fleet_.HubStats();
    ExpectRejected("replayed frame", "replay", up_a, frame_a);
    const nlohmann::json after = fleet_.HubStats();
    EXPECT_EQ(after["duplicate_events"], before["duplicate_events"]) << after.dump();
  }
  // A resend of a range the hub holds (a new seal, as after a lost ack): a duplicate frame,
  // re-acked, not a rejection.
  {
    SCOPED_TRACE("resent range");
    const nlohmann::json before = fleet_.HubStats();
    // Sequence numbers count per outbox epoch: the resend names the agent's own.
    const auto epoch = ParseEpochHex(fleet_.AgentStatus(*a_).value("epoch", ""));
    ASSERT_TRUE(epoch.has_value()) << fleet_.AgentStatus(*a_).dump();
    ASSERT_TRUE(probe_->Publish(up_a, ForgedBatch(a_->id, "resent-1", keys_a.uplink,
                                                  keys_a.key_id, 1, false, *epoch)));
    nlohmann::json after;
    EXPECT_TRUE(WaitUntil(
        [&] {
          after = fleet_.HubStats();
          return after.is_object() && after["ingest"]["duplicate_frames"].get<int64_t>() >
                                          before["ingest"]["duplicate_frames"].get<int64_t>();
        },
        kStartTimeout, 50ms))
        << after.dump();
    EXPECT_EQ(after["ingest"]["duplicate_frames"],
              before["ingest"]["duplicate_frames"].get<int64_t>() + 1);
    EXPECT_EQ(after["rejected_total"], before["rejected_total"]) << after.dump();
    EXPECT_EQ(after["events_total"], before["events_total"]);
    LegitEvent(*a_);
  }

  const nlohmann::json stats = fleet_.HubStats();
  EXPECT_EQ(Counter(stats, "bad_seal"), 2) << stats.dump();
  EXPECT_EQ(Counter(stats, "malformed"), 3) << stats.dump();
  EXPECT_EQ(Counter(stats, "unknown_device"), 1) << stats.dump();
  EXPECT_EQ(Counter(stats, "unknown_key"), 1) << stats.dump();
  EXPECT_EQ(Counter(stats, "bad_topic"), 1) << stats.dump();
  EXPECT_EQ(Counter(stats, "overload"), 1) << stats.dump();
  EXPECT_EQ(Counter(stats, "replay"), 1) << stats.dump();
  EXPECT_EQ(stats["rejected_total"], 10) << stats.dump();
  EXPECT_EQ(stats["events_total"], static_cast<int64_t>(accepted_.size()));
  EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted_));
  EXPECT_TRUE(fleet_.WaitDeviceCaughtUp(*a_)) << fleet_.HubDevices().dump();
}

// A sealed status from a device's own key, retained by the broker, with an ill-typed field: it
// crashed the hub's ingest thread at every start (the broker redelivers it), and a stored one made
// GET /v1/devices answer 500. Now it is rejected as malformed on arrival, at every start.
TEST_F(Hostile, IllTypedSealedStatusIsRejectedAndSurvivesHubRestarts) {
  const SessionKeys keys_a = DeviceKeysFromConfig(a_->config);
  FrameHeader h;
  h.kind = FrameKind::kStatus;
  h.key_id = keys_a.key_id;
  // A status naming another store is no better.
  ExpectRejected("status for another store", "malformed", topics::Status(b_->id),
                 SealFrame(h, b_->id, R"({"online":true,"clock_ms":1,"store_id":"s9"})",
                           DeviceKeysFromConfig(b_->config).uplink));
  ASSERT_TRUE(fleet_.WaitDeviceCaughtUp(*a_)) << fleet_.HubDevices().dump();
  // Stop A so its own heartbeats do not overwrite the retained status, and wait for its last will
  // (retained too) to be in, so that it does not either.
  fleet_.KillAgent(*a_);
  auto a_online = [&] {
    const nlohmann::json devices = fleet_.HubDevices();
    if (!devices.is_object()) return true;
    for (const auto& d : devices["devices"]) {
      if (d["device_id"] == a_->id) return d["online"].get<bool>();
    }
    return true;
  };
  ASSERT_TRUE(WaitUntil([&] { return !a_online(); }, kStartTimeout, 50ms))
      << fleet_.HubDevices().dump();
  const nlohmann::json before = fleet_.HubStats();
  ASSERT_TRUE(probe_->Publish(topics::Status(a_->id),
                              SealFrame(h, a_->id, R"({"online":"yes","backlog":"many"})",
                                        keys_a.uplink),
                              /*retained=*/true));
  nlohmann::json after;
  EXPECT_TRUE(WaitUntil(
      [&] {
        after = fleet_.HubStats();
        return after.is_object() && Counter(after, "malformed") > Counter(before, "malformed");
      },
      kStartTimeout, 50ms))
      << after.dump() << fleet_.Diagnostics();
  EXPECT_EQ(Counter(after, "malformed"), Counter(before, "malformed") + 1) << after.dump();
  EXPECT_EQ(Counter(after, "internal"), 0) << after.dump();

  for (int start = 0; start < 2; ++start) {
    SCOPED_TRACE("hub start " + std::to_string(start));
    const nlohmann::json devices = fleet_.HubDevices();
    ASSERT_TRUE(devices.is_object()) << "GET /v1/devices failed" << fleet_.Diagnostics();
    EXPECT_EQ(devices["count"], 2) << devices.dump();
    const int64_t malformed = Counter(fleet_.HubStats(), "malformed");
    ASSERT_GE(malformed, 2);
    fleet_.KillHub();
    fleet_.StartHub();
    // The broker redelivers the retained status to the new session: rejected again (the counters
    // are persisted), and the hub keeps running and ingesting.
    EXPECT_TRUE(WaitUntil(
        [&] {
          const nlohmann::json s = fleet_.HubStats();
          return s.is_object() && Counter(s, "malformed") > malformed;
        },
        kStartTimeout, 50ms))
        << fleet_.HubStats().dump() << fleet_.Diagnostics();
    EXPECT_TRUE(fleet_.hub_process().Running()) << fleet_.Diagnostics();
    EXPECT_TRUE(fleet_.HubHealthy());
    LegitEvent(*b_);
  }
  EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted_));
}

// A device's own key does not let it write what its agent API refuses: an identify (which would
// rewrite a customer's attributes) or another store's sale. Each such event is counted and left
// out; its sequence number is acknowledged all the same (the device is not stuck resending it),
// and the valid events of the same sealed frame are stored. Impossible ranges are refused.
TEST_F(Hostile, DeviceContentAndRangesAreCheckedAgain) {
  // A device with no agent running: the test plays it, sequences from 1.
  FleetAgent& c = fleet_.AddDevice("pos-c", "s1");
  const SessionKeys keys = DeviceKeysFromConfig(c.config);
  const std::string up = topics::Up(c.id);
  nlohmann::json identify = {{"type", "identify"},
                             {"event_id", "c-identify"},
                             {"occurred_at", "2026-11-23T10:00:00Z"},
                             {"store_id", "s1"},
                             {"customer", {{"loyalty_id", "L1"}}},
                             {"attributes", {{"tier", "gold"}}}};
  const std::vector<WireEvent> events = {
      Wire(MakeLoyaltyScan("s1", "c-ok-1"), 1),
      Wire(identify, 2),
      Wire(MakeTransaction("s2", "c-other-store"), 3),
      Wire(MakeTransaction("s1", "c-ok-2"), 4),
  };
  WireEvent lying = Wire(MakeLoyaltyScan("s1", "c-lying"), 5);
  lying.event_id = "c-renamed";  // the batch says one id, the body another
  std::vector<WireEvent> all = events;
  all.push_back(lying);

  const nlohmann::json before = fleet_.HubStats();
  ASSERT_TRUE(probe_->Publish(up, SealedBatch(c.id, keys, all, 1, 5)));
  nlohmann::json after;
  EXPECT_TRUE(WaitUntil(
      [&] {
        after = fleet_.HubStats();
        return after.is_object() && after["events_total"].get<int64_t>() >=
                                        before["events_total"].get<int64_t>() + 2;
      },
      kStartTimeout, 50ms))
      << after.dump() << fleet_.Diagnostics();
  EXPECT_EQ(after["events_total"], before["events_total"].get<int64_t>() + 2) << after.dump();
  EXPECT_EQ(Counter(after, "event_type"), Counter(before, "event_type") + 1) << after.dump();
  EXPECT_EQ(Counter(after, "event_store"), Counter(before, "event_store") + 1) << after.dump();
  EXPECT_EQ(Counter(after, "event_invalid"), Counter(before, "event_invalid") + 1)
      << after.dump();
  EXPECT_EQ(after["events_by_type"]["identify"], 0) << after.dump();
  accepted_.insert("c-ok-1");
  accepted_.insert("c-ok-2");
  // The whole frame is acknowledged: the device's contiguous sequence is 5.
  auto acked = [&] {
    const nlohmann::json devices = fleet_.HubDevices();
    if (!devices.is_object()) return int64_t{-1};
    for (const auto& d : devices["devices"]) {
      if (d["device_id"] == c.id) return d["acked_seq"].get<int64_t>();
    }
    return int64_t{-1};
  };
  EXPECT_TRUE(WaitUntil([&] { return acked() == 5; }, kStartTimeout, 50ms)) << acked();

  // Ranges: sequence 0, more numbers than a frame may claim, numbers past 2^62.
  const std::vector<WireEvent> none;
  ExpectRejected("range from 0", "bad_range", up, SealedBatch(c.id, keys, none, 0, 7));
  ExpectRejected("range too long", "bad_range", up,
                 SealedBatch(c.id, keys, none, 6, 6 + kMaxFrameSeqSpan));
  ExpectRejected("range near 2^64", "bad_range", up,
                 SealedBatch(c.id, keys, none, UINT64_MAX - 1, UINT64_MAX));
  // Gapped ranges: 4 are held ([ingest] max_pending_ranges), a fifth is refused, and one that
  // merges with a held range still goes in.
  for (uint64_t k = 0; k < 4; ++k) {
    ASSERT_TRUE(probe_->Publish(up, SealedBatch(c.id, keys, none, 10 + 2 * k, 10 + 2 * k)));
  }
  ExpectRejected("fifth range above a gap", "bad_range", up,
                 SealedBatch(c.id, keys, none, 100, 100));
  const int64_t bad_range = Counter(fleet_.HubStats(), "bad_range");
  // These join the held ranges into one, 10..16.
  for (uint64_t seq : {11, 13, 15}) {
    ASSERT_TRUE(probe_->Publish(up, SealedBatch(c.id, keys, none, seq, seq)));
  }
  // The gap 6..9 filled: everything up to 16 is contiguous.
  ASSERT_TRUE(probe_->Publish(up, SealedBatch(c.id, keys, none, 6, 9)));
  EXPECT_TRUE(WaitUntil([&] { return acked() == 16; }, kStartTimeout, 50ms)) << acked();
  EXPECT_EQ(Counter(fleet_.HubStats(), "bad_range"), bad_range);
  EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted_));
}

// Anyone on the broker could make the whole fleet resend its in-flight window by writing to
// cjd/v1/hub/status. Now only the hub's resync, sealed per device on its own down topic, does;
// and after a hub restart it still brings the batches the hub missed at once (long before the
// agent's ack timeout, here one minute).
TEST_F(Hostile, OnlyTheHubsSealedResyncMakesAnAgentResend) {
  fleet_.KillAgent(*a_);
  SetTomlKey(a_->config, "uplink", "ack_timeout_ms", "60000");
  ASSERT_TRUE(fleet_.StartAgent(*a_));
  LegitEvent(*a_);
  const int64_t held = fleet_.HubEventsTotal();
  fleet_.KillHub();

  // A batch goes out while the hub is away: nobody acknowledges it.
  const nlohmann::json s0 = fleet_.AgentStatus(*a_);
  {
    HttpClient client(a_->port, 30s);
    ASSERT_EQ(PostEvents(client, a_->token, MakeLoyaltyScan(a_->store, "in-flight-1")).status, 202);
    accepted_.insert("in-flight-1");
  }
  nlohmann::json s1;
  ASSERT_TRUE(WaitUntil(
      [&] {
        s1 = fleet_.AgentStatus(*a_);
        return s1.is_object() && s1["batches_sent"].get<int64_t>() > s0["batches_sent"].get<int64_t>();
      },
      kStartTimeout, 20ms))
      << s1.dump();

  // Forged: the old unsealed hint, and a resync sealed with another device's key.
  const SessionKeys keys_b = DeviceKeysFromConfig(b_->config);
  FrameHeader h;
  h.kind = FrameKind::kResync;
  h.key_id = keys_b.key_id;
  const std::string forged = SealFrame(h, a_->id, R"({"acked_seq":0,"hub_time_ms":9000000000000000})",
                                       keys_b.downlink);
  ASSERT_TRUE(probe_->Publish(topics::HubStatus(), R"({"online":true})"));
  ASSERT_TRUE(probe_->Publish(topics::Down(a_->id), forged));
  // The agent handled both (the down frame comes after the hint): it dropped the forged resync...
  nlohmann::json s2;
  ASSERT_TRUE(WaitUntil(
      [&] {
        s2 = fleet_.AgentStatus(*a_);
        return s2.is_object() && s2["bad_downlink"].get<int64_t>() > s1["bad_downlink"].get<int64_t>();
      },
      kStartTimeout, 20ms))
      << s2.dump();
  // ... and resent nothing.
  EXPECT_EQ(s2["batches_sent"], s1["batches_sent"]) << s2.dump();
  EXPECT_EQ(s2["resends"], s1["resends"]) << s2.dump();

  // The hub comes back and asks every device to resend, sealed: the batch arrives.
  fleet_.StartHub();
  EXPECT_TRUE(fleet_.WaitHubEventsTotal(held + 1, kStartTimeout))
      << fleet_.HubEventsTotal() << fleet_.Diagnostics();
  const nlohmann::json s3 = fleet_.AgentStatus(*a_);
  EXPECT_EQ(s3["resends"], s1["resends"].get<int64_t>() + 1) << s3.dump();
  EXPECT_GE(fleet_.HubStats()["ingest"]["resyncs_sent"].get<int64_t>(), 2);
  EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted_));
}

}  // namespace
}  // namespace cjd::itest

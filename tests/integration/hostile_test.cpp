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
                        bool truncate_plaintext = false) {
  WireEvent e;
  e.seq = seq;
  e.event_id = event_id;
  e.type = static_cast<uint8_t>(EventType::kLoyaltyScan);
  e.occurred_at_ms = 1'795'000'000'000;
  e.body = MakeLoyaltyScan("s1", event_id).dump();
  std::string plain = EncodeEventBatch({e});
  if (truncate_plaintext) plain.resize(plain.size() / 2);
  FrameHeader h;
  h.kind = FrameKind::kEventBatch;
  h.key_id = key_id;
  h.first_seq = seq;
  h.last_seq = seq;
  return SealFrame(h, device, plain, key);
}

class Hostile : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
    fleet_.StartBroker();
    fleet_.InitHub();
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

  // A replay of a frame the hub already committed: counted (as a replay or a duplicate), and
  // nothing stored twice.
  {
    SCOPED_TRACE("replayed frame");
    const nlohmann::json before = fleet_.HubStats();
    ASSERT_TRUE(probe_->Publish(up_a, frame_a));
    nlohmann::json after;
    EXPECT_TRUE(WaitUntil(
        [&] {
          after = fleet_.HubStats();
          return after.is_object() &&
                 (Counter(after, "replay") > Counter(before, "replay") ||
                  after["ingest"]["duplicate_frames"] > before["ingest"]["duplicate_frames"] ||
                  after["duplicate_events"] > before["duplicate_events"]);
        },
        kStartTimeout, 50ms))
        << after.dump();
    EXPECT_EQ(after["events_total"], before["events_total"]);
    EXPECT_TRUE(fleet_.HubHealthy());
    LegitEvent(*a_);
  }

  const nlohmann::json stats = fleet_.HubStats();
  EXPECT_EQ(Counter(stats, "bad_seal"), 2) << stats.dump();
  EXPECT_EQ(Counter(stats, "malformed"), 3) << stats.dump();
  EXPECT_EQ(Counter(stats, "unknown_device"), 1) << stats.dump();
  EXPECT_EQ(Counter(stats, "unknown_key"), 1) << stats.dump();
  EXPECT_LE(Counter(stats, "replay"), 1) << stats.dump();
  EXPECT_EQ(stats["events_total"], static_cast<int64_t>(accepted_.size()));
  EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted_));
  EXPECT_TRUE(fleet_.WaitDeviceCaughtUp(*a_)) << fleet_.HubDevices().dump();
}

}  // namespace
}  // namespace cjd::itest

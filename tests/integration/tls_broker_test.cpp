// The locked-down broker, with real processes: Mosquitto in the production shape of
// device-configs/mosquitto.conf (mutual TLS, require_certificate, use_identity_as_username, no
// anonymous clients) applying the repository's own device-configs/mosquitto.acl; a CA and
// certificates made by cjdctl (init-ca code, init-hub --ca-dir, add-device --ca-dir); real
// cjd-hub and cjd-agent processes. A "stolen device" is a raw Paho client holding device A's own
// certificate and key.
//
// Every negative check ("X never arrives") is closed by a barrier that is ordered after X at the
// broker (a message from the same publisher, or a hub answer caused after X was acknowledged),
// so the tests wait for an event, never for a length of time.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <string>

#include "shared/mqtt/link.h"
#include "shared/protocol/topics.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace {

namespace fs = std::filesystem;
using cjd::testing::TlsPki;
using cjd::testing::WaitUntil;

// The certificate files cjdctl add-device / init-hub wrote beside `config` ([mqtt] keys).
MqttProbe::Tls TlsOf(const fs::path& config) {
  const fs::path dir = config.parent_path();
  return MqttProbe::Tls{dir / GetTomlString(config, "mqtt", "ca_file"),
                        dir / GetTomlString(config, "mqtt", "cert_file"),
                        dir / GetTomlString(config, "mqtt", "key_file")};
}

int64_t IngestFrames(Fleet& fleet) {
  const nlohmann::json s = fleet.HubStats();
  if (!s.is_object() || !s.contains("ingest")) return -1;
  return s["ingest"].value("frames_total", int64_t{-1});
}

int64_t Rejected(Fleet& fleet) {
  const nlohmann::json s = fleet.HubStats();
  return s.is_object() ? s.value("rejected_total", int64_t{-1}) : -1;
}

// The hub is connected to the broker and subscribed (before that, what devices publish is lost
// to it, whatever the ACL says).
bool WaitHubSubscribed(Fleet& fleet) {
  return WaitUntil(
      [&] {
        const nlohmann::json s = fleet.HubStats();
        return s.is_object() && s.contains("ingest") && s["ingest"].value("connected", false);
      },
      kStartTimeout, 50ms);
}

class TlsBrokerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
  }

  // A TLS broker, a hub and devices pos-a, pos-b (store s1) provisioned with certificates.
  void Provision() {
    fleet_.StartTlsBroker();
    fleet_.InitHub();
    a_ = &fleet_.AddDevice("pos-a", "s1");
    b_ = &fleet_.AddDevice("pos-b", "s1");
  }

  // Posts `n` transactions to `agent` and waits until the hub has acknowledged all of them.
  void Deliver(FleetAgent& agent, int n) {
    HttpClient client(agent.port);
    for (int i = 0; i < n; ++i) {
      const PostResult r = PostEvents(client, agent.token, MakeTransaction("s1"));
      ASSERT_EQ(r.status, 202) << r.body;
      accepted_.insert(r.event_ids.begin(), r.event_ids.end());
    }
    ASSERT_TRUE(fleet_.WaitDeviceCaughtUp(agent)) << fleet_.Diagnostics();
  }

  Fleet fleet_{"cjd-tls-"};
  FleetAgent* a_ = nullptr;
  FleetAgent* b_ = nullptr;
  std::set<std::string> accepted_;
};

TEST_F(TlsBrokerTest, HubAndAgentsDeliverOverMutualTls) {
  Provision();
  ASSERT_EQ(fleet_.broker().Uri().rfind("ssl://127.0.0.1:", 0), 0u);
  EXPECT_EQ(GetTomlString(a_->config, "mqtt", "cert_file"), "pos-a.crt");
  EXPECT_EQ(GetTomlString(fleet_.hub_config(), "mqtt", "cert_file"), "cjd-hub.crt");
  EXPECT_EQ(fs::status(a_->config.parent_path() / "pos-a.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.StartAgent(*a_));
  ASSERT_TRUE(fleet_.StartAgent(*b_));
  Deliver(*a_, 5);
  Deliver(*b_, 3);
  EXPECT_TRUE(HubHoldsExactly(fleet_.hub_db(), accepted_));
}

// add-device --ca-dir makes the certificate and checks where it goes before it registers the
// device: when it cannot write them, the hub never learns of the device.
TEST_F(TlsBrokerTest, AddDeviceWhoseCertificateCannotBeWrittenRegistersNothing) {
  Provision();
  const fs::path dir = fleet_.dir().Join("agent-pos-c");
  fs::create_directories(dir);
  std::ofstream(dir / "pos-c.key") << "someone else's key\n";
  EXPECT_THROW(fleet_.AddDevice("pos-c", "s1"), std::runtime_error);
  fleet_.StartHub();
  const nlohmann::json devices = fleet_.HubDevices();
  ASSERT_TRUE(devices.is_object()) << fleet_.Diagnostics();
  EXPECT_EQ(devices.value("count", -1), 2) << devices.dump();
  std::ifstream in(dir / "pos-c.key");
  std::string line;
  std::getline(in, line);
  EXPECT_EQ(line, "someone else's key");
  EXPECT_FALSE(fs::exists(dir / "agent.toml"));
}

TEST_F(TlsBrokerTest, ClientWithoutCertificateIsRefused) {
  Provision();
  MqttProbe::Tls no_cert = TlsOf(a_->config);
  no_cert.cert_file.clear();
  no_cert.key_file.clear();
  EXPECT_THROW(MqttProbe(fleet_.broker().Uri(), "anonymous", no_cert), std::runtime_error);
  // Nor in plain TCP on the TLS port.
  const std::string plain = "tcp://127.0.0.1:" + std::to_string(fleet_.broker().port());
  EXPECT_THROW(MqttProbe(plain, "plain"), std::runtime_error);
  // The same client with A's certificate gets in (the refusals above are about the certificate).
  EXPECT_NO_THROW(MqttProbe(fleet_.broker().Uri(), "with-cert", TlsOf(a_->config)));
}

TEST_F(TlsBrokerTest, DeviceCannotPublishAsAnotherDevice) {
  Provision();
  fleet_.StartHub();  // no agent runs: every frame the hub receives is the thief's
  ASSERT_TRUE(WaitHubSubscribed(fleet_)) << fleet_.Diagnostics();
  MqttProbe thief(fleet_.broker().Uri(), "thief-a", TlsOf(a_->config));
  ASSERT_TRUE(thief.Publish(topics::Up("pos-b"), "forged uplink of pos-b"));
  ASSERT_TRUE(thief.Publish(topics::Status("pos-b"), "forged status of pos-b"));
  // Barrier: A may write its own uplink; the broker forwards A's messages to the hub in order,
  // so once the hub holds this one it would hold the forged ones too.
  ASSERT_TRUE(thief.Publish(topics::Up("pos-a"), "barrier on pos-a's own uplink"));
  // (frames are counted when the ingest thread takes them, rejections once it has judged them)
  ASSERT_TRUE(WaitUntil([&] { return Rejected(fleet_) >= 1; }, kDeliveryTimeout, 50ms))
      << fleet_.Diagnostics();
  EXPECT_EQ(IngestFrames(fleet_), 1) << "a frame on pos-b's topics reached the hub";
  EXPECT_EQ(Rejected(fleet_), 1) << fleet_.HubStats().dump();
}

TEST_F(TlsBrokerTest, DeviceCannotReadAnotherDevicesTraffic) {
  Provision();
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.StartAgent(*a_));
  ASSERT_TRUE(fleet_.StartAgent(*b_));
  MqttProbe thief(fleet_.broker().Uri(), "thief-a", TlsOf(a_->config));
  for (const std::string& filter :
       {topics::Down("pos-b"), topics::Up("pos-b"), topics::Status("pos-b"),
        std::string("cjd/v1/dev/+/down"), topics::AllUp(), std::string("#")}) {
    thief.TrySubscribe(filter);  // refused or granted, nothing of B's may arrive
  }
  ASSERT_TRUE(thief.TrySubscribe(topics::Down("pos-a")));  // its own: the positive control
  Deliver(*b_, 3);
  Deliver(*a_, 1);  // after B's traffic: the hub's ack to A comes after its acks to B
  bool own_ack = false;
  for (int i = 0; i < 1000; ++i) {
    auto msg = thief.Next(own_ack ? 500ms : kDeliveryTimeout);
    if (!msg) break;
    // (a device may read the hub's announcements, should the hub reconnect meanwhile)
    if (msg->first != topics::HubStatus()) {
      EXPECT_EQ(msg->first, topics::Down("pos-a")) << "device pos-a read " << msg->first;
    }
    if (msg->first == topics::Down("pos-a")) own_ack = true;
  }
  EXPECT_TRUE(own_ack) << "pos-a's certificate never received its own downlink\n"
                       << fleet_.Diagnostics();
}

TEST_F(TlsBrokerTest, DeviceCannotWriteTheHubsTopics) {
  Provision();
  fleet_.StartHub();
  ASSERT_TRUE(fleet_.StartAgent(*b_));
  // B's own view of the broker: its downlink and the hub's announcements.
  MqttProbe watcher(fleet_.broker().Uri(), "watch-b", TlsOf(b_->config));
  ASSERT_TRUE(watcher.TrySubscribe(topics::Down("pos-b")));
  ASSERT_TRUE(watcher.TrySubscribe(topics::HubStatus()));
  MqttProbe thief(fleet_.broker().Uri(), "thief-a", TlsOf(a_->config));
  const std::string forged = "forged by pos-a";
  ASSERT_TRUE(thief.Publish(topics::HubStatus(), forged));
  ASSERT_TRUE(thief.Publish(topics::Down("pos-b"), forged));
  // Barrier: the hub's ack to B is caused after the broker took (and would have queued) the
  // forged messages, so it reaches the watcher after them.
  Deliver(*b_, 1);
  bool hub_ack = false;
  for (int i = 0; i < 1000; ++i) {
    auto msg = watcher.Next(hub_ack ? 500ms : kDeliveryTimeout);
    if (!msg) break;
    EXPECT_NE(msg->second, forged) << "pos-a wrote " << msg->first;
    if (msg->first == topics::Down("pos-b") && msg->second != forged) hub_ack = true;
  }
  EXPECT_TRUE(hub_ack) << "the hub's ack to pos-b never reached the watcher\n"
                       << fleet_.Diagnostics();
  const nlohmann::json status = fleet_.AgentStatus(*b_);
  EXPECT_EQ(status.value("bad_downlink", int64_t{-1}), 0) << status.dump();
}

// MqttLink (the agent's and the hub's MQTT client) checks the broker's host name, not only that
// its certificate comes from the CA: a broker certificate for another host is refused.
TEST_F(TlsBrokerTest, MqttLinkRefusesBrokerCertificateForAnotherHost) {
  TempDir dir("cjd-tls-link-");
  TlsPki pki(dir.Join("pki"));  // the right broker certificate: 127.0.0.1, localhost
  const TlsPki::Files wrong = pki.IssueServer("elsewhere", {"broker.invalid"}, {"127.0.0.2"});
  const TlsPki::Files client = pki.IssueClient("pos-a");
  fs::create_directories(dir.Join("right"));
  fs::create_directories(dir.Join("wrong"));
  Mosquitto right = Mosquitto::Start(dir.Join("right"), 0, pki.BrokerTls());
  cjd::testing::MosquittoTls wrong_tls = pki.BrokerTls();
  wrong_tls.cert_file = wrong.cert;
  wrong_tls.key_file = wrong.key;
  Mosquitto impostor = Mosquitto::Start(dir.Join("wrong"), 0, wrong_tls);

  auto link_to = [&](const Mosquitto& broker) {
    MqttOptions o;
    o.broker = broker.Uri();
    o.client_id = "pos-a-link";
    o.ca_file = pki.ca_file().string();
    o.cert_file = client.cert.string();
    o.key_file = client.key.string();
    o.backoff_min_ms = 50;
    o.backoff_max_ms = 200;
    return std::make_unique<MqttLink>(o, nullptr, nullptr);
  };
  auto good = link_to(right);
  auto bad = link_to(impostor);
  ASSERT_TRUE(good->Start().ok());
  ASSERT_TRUE(bad->Start().ok());
  ASSERT_TRUE(WaitUntil([&] { return good->connected(); }, kStartTimeout, 20ms))
      << right.Diagnostics();
  ASSERT_TRUE(WaitUntil([&] { return bad->connect_failures() >= 3; }, kStartTimeout, 20ms));
  EXPECT_FALSE(bad->connected());
  EXPECT_EQ(bad->reconnects(), 0);
  good->Stop();
  bad->Stop();
}

}  // namespace
}  // namespace cjd::itest

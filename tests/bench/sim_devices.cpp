#include "tests/bench/sim_devices.h"

#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <thread>

#include <sodium.h>
#include <nlohmann/json.hpp>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/mqtt/nodelay.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/topics.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/process.h"

namespace cjd::bench {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string DeviceId(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "dev-%04d", i);
  return buf;
}

std::string StoreOf(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "store-%03d", i / 10);
  return buf;
}

namespace {

void OnDownlink(SimDevice& d, AckSink& sink, const mqtt::const_message_ptr& msg) {
  const std::string& payload = msg->get_payload_ref().str();
  FrameHeader h;
  auto plain = OpenFrame(payload, d.id, d.keys.downlink, &h, 1u << 20);
  if (!plain.ok()) {
    ++sink.bad_frames;
    return;
  }
  if (h.kind != FrameKind::kAck && h.kind != FrameKind::kResync) return;
  // The ack names its epoch; ours is the only one this device ever had.
  const json j = json::parse(*plain, nullptr, false);
  if (h.kind == FrameKind::kAck &&
      (!j.is_object() || j.value("epoch", std::string()) != EpochHex(d.epoch))) {
    return;
  }
  ++sink.acks;
  const auto now = SteadyClock::now();
  std::vector<double> seen;
  {
    std::lock_guard lock(d.mu);
    d.acked = std::max(d.acked, h.last_seq);
    auto end = d.pending.upper_bound(h.last_seq);
    for (auto it = d.pending.begin(); it != end; ++it) {
      seen.push_back(std::chrono::duration<double, std::milli>(now - it->second).count());
    }
    d.pending.erase(d.pending.begin(), end);
  }
  if (!seen.empty()) {
    std::lock_guard lock(sink.mu);
    sink.latencies_ms.insert(sink.latencies_ms.end(), seen.begin(), seen.end());
  }
}

}  // namespace

// Connects devices [from, to) to the broker and subscribes each to its down topic. Paho's
// connect takes about a second to complete on its own, so all are started, then awaited.
void ConnectAll(std::vector<std::unique_ptr<SimDevice>>& devices, int from, int to,
                const std::string& uri, AckSink& sink, bool keep_nagle) {
  auto options = mqtt::connect_options_builder()
                     .clean_session(true)
                     .keep_alive_interval(std::chrono::seconds(60))
                     .connect_timeout(std::chrono::seconds(30))
                     .automatic_reconnect(false)
                     .finalize();
  std::vector<mqtt::token_ptr> tokens;
  try {
    for (int i = from; i < to; ++i) {
      SimDevice& d = *devices[i];
      mqtt::create_options create(MQTTVERSION_3_1_1);
      d.client = std::make_unique<mqtt::async_client>(uri, d.id, create, nullptr);
      SimDevice* dev = &d;
      AckSink* s = &sink;
      d.client->set_message_callback(
          [dev, s](mqtt::const_message_ptr msg) { OnDownlink(*dev, *s, msg); });
      tokens.push_back(d.client->connect(options));
    }
    for (size_t k = 0; k < tokens.size(); ++k) {
      SimDevice& d = *devices[from + static_cast<int>(k)];
      if (!tokens[k]->wait_for(std::chrono::seconds(60)) || !d.client->is_connected()) {
        throw std::runtime_error("fleet: " + d.id + " did not connect to " + uri);
      }
    }
    tokens.clear();
    for (int i = from; i < to; ++i) {
      tokens.push_back(devices[i]->client->subscribe(topics::Down(devices[i]->id), 1));
    }
    for (size_t k = 0; k < tokens.size(); ++k) {
      if (!tokens[k]->wait_for(std::chrono::seconds(60))) {
        throw std::runtime_error("fleet: " + devices[from + static_cast<int>(k)]->id +
                                 " could not subscribe");
      }
    }
  } catch (const mqtt::exception& e) {
    throw std::runtime_error(std::string("fleet: MQTT: ") + e.what());
  }
  // As cjd-agent's MqttLink does after each connect (shared/mqtt/nodelay.h); --keep-nagle plays
  // agents from before that change (for an A/B against an older hub build).
  if (keep_nagle) return;
  if (const auto port = BrokerPort(uri)) DisableNagleTowards(*port);
}

bool SendSale(SimDevice& d) {
  const uint64_t seq = d.next_seq++;
  auto parsed = ParseJsonExact(d.factory->Make(seq));
  if (!parsed.ok()) throw std::runtime_error("fleet: bad event text");
  auto event = ValidateEvent(*parsed);
  if (!event.ok()) throw std::runtime_error("fleet: invalid event: " + event.status().ToString());
  WireEvent w;
  w.seq = seq;
  w.event_id = event->event_id;
  w.type = static_cast<uint8_t>(event->type);
  w.occurred_at_ms = event->occurred_at_ms;
  w.body = ToCanonicalJson(*event);
  FrameHeader h;
  h.kind = FrameKind::kEventBatch;
  h.key_id = d.keys.key_id;
  h.first_seq = seq;
  h.last_seq = seq;
  const std::string frame = SealFrame(h, d.id, EncodeEventBatch({w}, d.epoch), d.keys.uplink);
  {
    std::lock_guard lock(d.mu);
    d.pending[seq] = SteadyClock::now();
  }
  try {
    d.client->publish(topics::Up(d.id), frame.data(), frame.size(), 1, false);
    return true;
  } catch (const mqtt::exception&) {
    return false;
  }
}

bool SendHeartbeat(SimDevice& d) {
  uint64_t acked = 0;
  size_t backlog = 0;
  {
    std::lock_guard lock(d.mu);
    acked = d.acked;
    backlog = d.pending.size();
  }
  const json status = {{"online", true},
                       {"device_id", d.id},
                       {"store_id", d.store},
                       {"kind", "pos"},
                       {"version", "cjd-bench-fleet"},
                       {"clock_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count()},
                       {"connected", true},
                       {"last_seq", d.next_seq - 1},
                       {"acked_seq", acked},
                       {"backlog", backlog},
                       {"epoch", EpochHex(d.epoch)},
                       {"epoch_confirmed", true}};
  FrameHeader h;
  h.kind = FrameKind::kStatus;
  h.key_id = d.keys.key_id;
  const std::string frame = SealFrame(h, d.id, status.dump(), d.keys.uplink);
  ++d.heartbeats;
  try {
    d.client->publish(topics::Status(d.id), frame.data(), frame.size(), 1, false);
    return true;
  } catch (const mqtt::exception&) {
    return false;
  }
}

std::vector<std::unique_ptr<SimDevice>> ProvisionDevices(const fs::path& hub_dir,
                                                         const fs::path& configs, int count) {
  fs::create_directories(configs);
  std::vector<std::unique_ptr<SimDevice>> devices;
  for (int i = 0; i < count; ++i) {
    CheckInterrupted();
    auto d = std::make_unique<SimDevice>();
    d->id = DeviceId(i);
    d->store = StoreOf(i);
    const fs::path config = configs / (d->id + ".toml");
    std::string output;
    const int rc = testing::RunCommand(
        {testing::CjdctlBinary(), "add-device", "--hub-dir", hub_dir.string(), "--id",
         d->id, "--store", d->store, "--kind", "pos", "--listen", "127.0.0.1:9", "--out",
         config.string()},
        std::chrono::seconds(60), &output);
    if (rc != 0) throw std::runtime_error("cjdctl add-device failed: " + output);
    d->keys = itest::DeviceKeysFromConfig(config);
    randombytes_buf(&d->epoch, sizeof d->epoch);
    d->epoch |= 1;  // never 0 (legacy)
    d->factory = std::make_unique<EventFactory>(d->store, d->id, 1000 + i);
    devices.push_back(std::move(d));
  }
  return devices;
}

int64_t WaitAcked(std::vector<std::unique_ptr<SimDevice>>& devices, int n, double bound_s) {
  const auto t0 = SteadyClock::now();
  int64_t waiting = Unacked(devices, n);
  while (waiting > 0 && SecondsSince(t0) < bound_s) {
    CheckInterrupted();
    SleepFor(Ms(20));
    waiting = Unacked(devices, n);
  }
  return waiting;
}

void DisconnectAll(std::vector<std::unique_ptr<SimDevice>>& devices) {
  for (auto& d : devices) {
    if (!d->client) continue;
    try {
      if (d->client->is_connected()) d->client->disconnect()->wait_for(std::chrono::seconds(2));
    } catch (const mqtt::exception&) {
    }
  }
}

Traffic PlayTraffic(std::vector<std::unique_ptr<SimDevice>>& devices, int n, double sale_every_s,
                    double heartbeat_s, double seconds, SteadyClock::time_point t0) {
  struct Due {
    double at;
    int device;
    bool sale;
  };
  std::vector<Due> schedule;
  for (int i = 0; i < n; ++i) {
    const double offset = static_cast<double>(i) / n;
    for (double t = offset * sale_every_s; t < seconds; t += sale_every_s) {
      schedule.push_back({t, i, true});
    }
    for (double t = offset * heartbeat_s; t < seconds; t += heartbeat_s) {
      schedule.push_back({t, i, false});
    }
  }
  std::sort(schedule.begin(), schedule.end(), [](const Due& a, const Due& b) { return a.at < b.at; });
  Traffic sent;
  for (const Due& due : schedule) {
    CheckInterrupted();
    std::this_thread::sleep_until(t0 + std::chrono::microseconds(static_cast<int64_t>(due.at * 1e6)));
    SimDevice& d = *devices[due.device];
    const bool ok = due.sale ? SendSale(d) : SendHeartbeat(d);
    if (due.sale) ++sent.sales;
    else ++sent.heartbeats;
    if (!ok) ++sent.publish_failures;
  }
  return sent;
}

int64_t Unacked(std::vector<std::unique_ptr<SimDevice>>& devices, int n) {
  int64_t waiting = 0;
  for (int i = 0; i < n; ++i) {
    std::lock_guard lock(devices[i]->mu);
    waiting += static_cast<int64_t>(devices[i]->pending.size());
  }
  return waiting;
}

void RaiseFileLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    (void)setrlimit(RLIMIT_NOFILE, &r);
  }
}

}  // namespace cjd::bench

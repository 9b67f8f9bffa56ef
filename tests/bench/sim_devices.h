// Simulated devices for the hub benchmarks (fleet, instances): each one a real MQTT client with
// its own client id, keys (from the config `cjdctl add-device` wrote) and outbox epoch, sealing
// and publishing exactly what cjd-agent publishes (an event-batch frame per sale, a status frame
// per heartbeat) and opening the sealed acks on its down topic.
#pragma once

#include <chrono>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <mqtt/async_client.h>

#include "shared/protocol/keys.h"
#include "tests/bench/common.h"

namespace cjd::bench {

std::string DeviceId(int i);  // dev-NNNN
std::string StoreOf(int i);   // store-NNN, ten devices per store

struct SimDevice {
  std::string id, store;
  SessionKeys keys;
  uint64_t epoch = 0;
  std::unique_ptr<EventFactory> factory;
  std::unique_ptr<mqtt::async_client> client;
  uint64_t next_seq = 1;   // sender thread only
  uint64_t heartbeats = 0; // sender thread only
  std::mutex mu;
  std::map<uint64_t, SteadyClock::time_point> pending;  // seq -> publish time; guarded by mu
  uint64_t acked = 0;                                   // guarded by mu
};

// Acks and latencies gathered from Paho's callback thread.
struct AckSink {
  std::mutex mu;
  std::vector<double> latencies_ms;  // guarded by mu
  std::atomic<int64_t> bad_frames{0};
  std::atomic<int64_t> acks{0};
};

// `cjdctl add-device` for devices 0..count-1 of the hub in `hub_dir` (configs in `configs`);
// keys read back from each config, a random epoch each.
std::vector<std::unique_ptr<SimDevice>> ProvisionDevices(const std::filesystem::path& hub_dir,
                                                         const std::filesystem::path& configs,
                                                         int count);
// Connects devices [from, to) to the broker and subscribes each to its down topic (bounded).
void ConnectAll(std::vector<std::unique_ptr<SimDevice>>& devices, int from, int to,
                const std::string& uri, AckSink& sink, bool keep_nagle);
void DisconnectAll(std::vector<std::unique_ptr<SimDevice>>& devices);
// One sale as its own frame, as an agent sends a single-event batch; false if the publish failed.
bool SendSale(SimDevice& d);
bool SendHeartbeat(SimDevice& d);
// Plays devices [0, n) for `seconds` from `t0`: device i sends its k-th sale at
// (k + i/n) x sale_every_s and its k-th heartbeat at (k + i/n) x heartbeat_s (an even stagger,
// a steady trickle). Returns what it sent.
struct Traffic {
  int64_t sales = 0, heartbeats = 0, publish_failures = 0;
};
Traffic PlayTraffic(std::vector<std::unique_ptr<SimDevice>>& devices, int n, double sale_every_s,
                    double heartbeat_s, double seconds, SteadyClock::time_point t0);
// Sales sent and not acknowledged yet, over devices [0, n).
int64_t Unacked(std::vector<std::unique_ptr<SimDevice>>& devices, int n);
// Waits (at most `bound_s`) until every sale of devices [0, n) is acknowledged; returns how many
// are still not.
int64_t WaitAcked(std::vector<std::unique_ptr<SimDevice>>& devices, int n, double bound_s);
// The soft limit of open files raised to the hard one (one socket per device).
void RaiseFileLimit();

}  // namespace cjd::bench

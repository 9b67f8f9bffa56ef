// cjd-bench fleet: the many-devices shape (issue 10). Hundreds of tills each trickle single
// sales and heartbeats at store rates into one hub; how much hub CPU an event costs, how fast
// its ack comes back, and how both grow from 50 to 500 devices. See tests/bench/README.md.
//
//   1. a stack (Mosquitto, cjd-hub; no cjd-agent) provisioned with `cjdctl add-device` for the
//      largest device count (devices dev-NNNN, ten per store store-NNN, kind pos);
//   2. this process plays the devices: one Paho MQTT client each (its own client id and
//      connection), the device's own keys from the config cjdctl wrote, a random outbox epoch;
//      it seals and publishes exactly what an agent publishes (an event batch frame per sale,
//      a status frame per heartbeat) and opens the sealed acks on each device's down topic;
//   3. per device count N (ascending; devices join, none leave): the hub's idle CPU with N
//      connected, then `seconds` of traffic: each device sends a sale every 1/rate s and a
//      heartbeat every `heartbeat` s, staggered evenly; then waits (bounded) for every ack and
//      for the hub to settle (stored, projected, segments idle).
// Hub CPU per event = (utime+stime delta of cjd-hub - idle rate x wall - /v1/stats polls x one
// poll's CPU) / sales; the heartbeats' cost is included (their count is printed). Ack latency:
// from the publish call to the ack covering the sale's sequence number arriving here.
// Every loop is bounded in count and time.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <thread>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include <mqtt/async_client.h>
#include <sodium.h>
#include <nlohmann/json.hpp>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"
#include "shared/mqtt/nodelay.h"
#include "shared/protocol/batch_codec.h"
#include "shared/protocol/envelope.h"
#include "shared/protocol/keys.h"
#include "shared/protocol/topics.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/bench/hub_probe.h"
#include "tests/bench/sim_devices.h"
#include "tests/bench/stack.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/support/binaries.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace cjd::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

struct FleetPhase {
  int devices = 0;
  HubIdle idle;
  int64_t sales = 0, heartbeats = 0, publish_failures = 0, unacked = 0, stored = 0;
  int polls = 0;
  double traffic_s = 0, wall_s = 0, cpu_s = 0;
  bool settled = true;
  std::vector<double> latencies_ms;  // sorted
  std::map<std::string, double> threads;
  double PerEventUs() const {
    return (cpu_s - idle.rate * wall_s - idle.per_poll * polls) /
           static_cast<double>(std::max<int64_t>(1, sales)) * 1e6;
  }
};

FleetPhase RunPhase(CjdStack& stack, std::vector<std::unique_ptr<SimDevice>>& devices, int n,
                    const FleetOptions& o, AckSink& sink) {
  FleetPhase ph;
  ph.devices = n;
  ph.idle = MeasureHubIdle(stack, o.idle_s);
  {
    std::lock_guard lock(sink.mu);
    sink.latencies_ms.clear();
  }
  const HubState before = ReadHubState(stack);
  const pid_t hub = stack.hub_pid();
  const double cpu0 = CpuSeconds(hub);
  const auto threads0 = ThreadCpuSeconds(hub);
  const auto t0 = SteadyClock::now();
  // Device i sends its k-th sale at (k + i/n) / rate and its k-th heartbeat at
  // (k + i/n) x heartbeat: an even stagger, so the hub sees a steady trickle.
  const Traffic sent = PlayTraffic(devices, n, 1.0 / o.rate, o.heartbeat_s, o.seconds, t0);
  ph.sales = sent.sales;
  ph.heartbeats = sent.heartbeats;
  ph.publish_failures = sent.publish_failures;
  ph.traffic_s = SecondsSince(t0);
  // Every sale acked (bounded), then the hub settled.
  ph.unacked = WaitAcked(devices, n, o.ack_timeout_s);
  HubState after;
  ph.settled = SettleHub(stack, before.events_total + ph.sales, o.ack_timeout_s, &after, &ph.polls);
  ph.wall_s = SecondsSince(t0);
  ph.cpu_s = CpuSeconds(hub) - cpu0;
  ph.threads = ThreadCpuSince(hub, threads0);
  ph.stored = after.events_total - before.events_total;
  {
    std::lock_guard lock(sink.mu);
    ph.latencies_ms = sink.latencies_ms;
  }
  std::sort(ph.latencies_ms.begin(), ph.latencies_ms.end());
  return ph;
}

}  // namespace

void RunFleet(const FleetOptions& o) {
  std::vector<int> counts = o.devices;
  std::sort(counts.begin(), counts.end());
  counts.erase(std::unique(counts.begin(), counts.end()), counts.end());
  const int most = counts.back();
  Out("  simulated devices: TCP_NODELAY %s\n", o.keep_nagle ? "off (--keep-nagle)" : "on, as cjd-agent");
  Out("\n== fleet: %d simulated tills (one MQTT client and key pair each), a sale every %.1f s "
      "and a heartbeat every %.0f s per till, %.0f s per phase ==\n",
      most, 1.0 / o.rate, o.heartbeat_s, o.seconds);
  if (!InitCrypto().ok()) throw std::runtime_error("libsodium did not start");
  RaiseFileLimit();  // the broker (our child) and this process each hold one socket per device
  CjdStack stack(StackOptions{});
  stack.StartBroker();
  const fs::path configs = stack.dir() / "fleet";
  fs::create_directories(configs);
  const auto tp = SteadyClock::now();
  std::vector<std::unique_ptr<SimDevice>> devices =
      ProvisionDevices(stack.dir() / "hub", configs, most);
  Out("  provisioned %d devices with cjdctl add-device in %.1f s\n", most, SecondsSince(tp));
  stack.StartHub();
  if (!testing::WaitUntil([&] { return stack.HubConnected(); }, std::chrono::seconds(30),
                          std::chrono::milliseconds(50))) {
    throw std::runtime_error("the hub did not connect to the broker\n" + stack.Diagnostics());
  }
  AckSink sink;
  int connected = 0;
  std::vector<FleetPhase> phases;
  for (const int n : counts) {
    CheckInterrupted();
    const auto tc = SteadyClock::now();
    ConnectAll(devices, connected, n, stack.broker().Uri(), sink, o.keep_nagle);
    connected = n;
    Out("\n  -- %d devices (%d stores) -- connected in %.1f s; %s\n", n, (n + 9) / 10,
        SecondsSince(tc), LoadNow().c_str());
    FleetPhase ph = RunPhase(stack, devices, n, o, sink);
    const auto& l = ph.latencies_ms;
    Out("  %lld sales and %lld heartbeats in %.1f s (%.1f sales/s); stored %lld, unacked %lld, "
        "publish failures %lld%s\n",
        static_cast<long long>(ph.sales), static_cast<long long>(ph.heartbeats), ph.traffic_s,
        static_cast<double>(ph.sales) / ph.traffic_s, static_cast<long long>(ph.stored),
        static_cast<long long>(ph.unacked), static_cast<long long>(ph.publish_failures),
        ph.settled ? "" : "; hub NOT settled within the bound");
    Out("  hub: idle %.2f ms CPU/s; phase %.3f s CPU over %.1f s, %d stats polls -> %.0f us per "
        "sale (heartbeats included, idle and polls subtracted)\n",
        ph.idle.rate * 1e3, ph.cpu_s, ph.wall_s, ph.polls, ph.PerEventUs());
    Out("    by thread, us/sale (idle and polls not subtracted):%s\n",
        PerUnitByThread(ph.threads, ph.sales).c_str());
    if (!l.empty()) {
      Out("  ack latency (publish -> ack here), %zu sales: p50 %.2f ms, p90 %.2f, p99 %.2f, "
          "max %.2f\n",
          l.size(), Percentile(l, 0.5), Percentile(l, 0.9), Percentile(l, 0.99), l.back());
    }
    if (ph.stored != ph.sales) {
      Out("  WARNING: the hub stored %lld events for %lld sales\n",
          static_cast<long long>(ph.stored), static_cast<long long>(ph.sales));
    }
    phases.push_back(std::move(ph));
    Out("  %s\n", LoadNow().c_str());
  }
  DisconnectAll(devices);
  Out("\n  FLEET RESULT (%.1f sales/s per till, heartbeat every %.0f s, %.0f s per phase; hub "
      "CPU per sale with heartbeats included, idle subtracted)\n",
      o.rate, o.heartbeat_s, o.seconds);
  Out("  %-8s | %-9s | %-12s | %-12s | %-12s | %s\n", "devices", "sales/s", "hub us/sale",
      "ack p50 ms", "ack p99 ms", "vs the first row (CPU, p99)");
  for (const FleetPhase& p : phases) {
    const double p99 = p.latencies_ms.empty() ? 0 : Percentile(p.latencies_ms, 0.99);
    const double p50 = p.latencies_ms.empty() ? 0 : Percentile(p.latencies_ms, 0.5);
    const FleetPhase& base = phases.front();
    const double base_p99 = base.latencies_ms.empty() ? 0 : Percentile(base.latencies_ms, 0.99);
    Out("  %-8d | %9.1f | %12.0f | %12.2f | %12.2f | %.2fx, %.2fx\n", p.devices,
        static_cast<double>(p.sales) / p.traffic_s, p.PerEventUs(), p50, p99,
        p.PerEventUs() / std::max(1.0, base.PerEventUs()), base_p99 > 0 ? p99 / base_p99 : 0.0);
  }
}

}  // namespace cjd::bench

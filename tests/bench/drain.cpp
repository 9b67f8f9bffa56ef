// cjd-bench drain: how fast a store's offline backlog reaches the hub once the link is back, next
// to the setup a user would otherwise deploy (a local Mosquitto bridged to a central one, one
// QoS 1 message per event).
#include <mqtt/async_client.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "tests/bench/broker.h"
#include "tests/bench/common.h"
#include "tests/bench/ingest.h"
#include "tests/bench/stack.h"
#include "tests/support/http_client.h"
#include "tests/support/temp_dir.h"
#include "tests/support/wait.h"

namespace cjd::bench {
namespace {

using testing::HttpClient;

double Secs(SteadyClock::duration d) { return std::chrono::duration<double>(d).count(); }

// ---- our drain --------------------------------------------------------------------------------

struct OurDrain {
  int64_t events = 0;
  double build_s = 0;
  double broker_to_connected_s = NAN;  // broker up -> agent and hub both connected
  double connected_to_done_s = NAN;
  double first_to_done_s = NAN;
  int64_t first_count = 0;             // events the hub held at the first poll that saw any
  double broker_to_done_s = NAN;
  bool complete = false;
  double rate_connected = NAN;         // events / (connected -> done): the headline figure
  double rate_first = NAN;             // (events - first_count) / (first seen -> done)
  double rate_broker = NAN;            // events / (broker up -> done), incl. reconnect backoff
  double agent_cpu_s = 0, hub_cpu_s = 0, broker_cpu_s = 0;
};

OurDrain RunOurDrain(const DrainOptions& o, std::vector<MemPhase>* mem) {
  OurDrain d;
  d.events = o.events;
  // Room for the whole backlog: ~650 budget bytes per event (body + id + 48), with margin.
  const int64_t budget = std::max<int64_t>(256ll << 20, o.events * 1000 + (64ll << 20));
  StackOptions so;
  so.broker_persistence = true;
  so.agent_budget_bytes = budget;
  CjdStack stack(so);
  stack.StartAll();
  Out("  stack: mosquitto :%u (persistence on), cjd-hub :%u, cjd-agent :%u (pid %d), outbox budget "
      "raised to %lld bytes for the backlog, dir %s\n",
      stack.broker().port(), stack.hub_port(), stack.agent_port(), stack.agent_pid(),
      static_cast<long long>(budget), stack.dir().c_str());

  // Offline: the broker goes away; the agent keeps accepting.
  stack.StopBroker();
  if (!testing::WaitUntil([&] { return !stack.AgentConnected(); }, std::chrono::seconds(30),
                          std::chrono::milliseconds(20))) {
    throw std::runtime_error("the agent still reports connected 30 s after the broker stopped");
  }

  // Build the backlog (timed separately): several clients POST arrays of build_batch events.
  {
    Out("  building the backlog: %lld events, %d clients, %lld events per POST, broker stopped\n",
        static_cast<long long>(o.events), o.build_clients, static_cast<long long>(o.build_batch));
    EventFactory f(CjdStack::kStoreId, "drain");
    const int64_t batches = (o.events + o.build_batch - 1) / o.build_batch;
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> accepted{0};
    std::atomic<bool> failed{false};
    std::string failure;
    std::mutex failure_mu;
    MemSampler sampler(stack.agent_pid());
    const auto t0 = SteadyClock::now();
    const double deadline_s = std::max(600.0, static_cast<double>(o.events) / 500.0);
    std::vector<std::thread> threads;
    for (int c = 0; c < o.build_clients; ++c) {
      threads.emplace_back([&] {
        HttpClient http(stack.agent_port(), std::chrono::seconds(120));
        while (!failed.load() && !InterruptRequested() && SecondsSince(t0) < deadline_s) {
          const int64_t b = next.fetch_add(1);
          if (b >= batches) break;
          const int64_t first = b * o.build_batch;
          const int64_t count = std::min(o.build_batch, o.events - first);
          const auto resp = http.Post("/v1/events", f.MakeArray(first, count), stack.agent_token());
          if (resp.status != 202) {
            std::lock_guard lock(failure_mu);
            if (!failed.exchange(true)) {
              failure = std::to_string(resp.status) + " " + resp.body.substr(0, 300);
            }
            break;
          }
          accepted.fetch_add(count);
        }
      });
    }
    for (auto& t : threads) t.join();
    d.build_s = SecondsSince(t0);
    sampler.Stop();
    mem->push_back(MemPhase{"while building the backlog (4 x 500-event POSTs, offline)",
                            sampler.max_rss_kb(), sampler.hwm_kb(), sampler.samples()});
    CheckInterrupted();
    if (failed.load()) throw std::runtime_error("building the backlog failed: " + failure);
    if (accepted.load() != o.events) {
      throw std::runtime_error("building the backlog timed out after " +
                               std::to_string(d.build_s) + " s");
    }
    Out("  backlog built: %lld events in %.1f s (%.0f events/s through HTTP, batched, generation "
        "included; not part of the drain figure)\n",
        static_cast<long long>(o.events), d.build_s, static_cast<double>(o.events) / d.build_s);
  }
  const int64_t backlog = stack.AgentBacklog();
  const int64_t base = stack.HubEventsTotal();
  if (backlog != o.events) {
    throw std::runtime_error("the agent reports a backlog of " + std::to_string(backlog) +
                             ", expected " + std::to_string(o.events));
  }
  Out("  agent backlog %lld, hub holds %lld events; starting the broker\n",
      static_cast<long long>(backlog), static_cast<long long>(base));

  // Online again: measure until the hub holds everything and the agent has applied the last ack.
  MemSampler sampler(stack.agent_pid());
  const double cpu_agent0 = CpuSeconds(stack.agent_pid());
  const double cpu_hub0 = CpuSeconds(stack.hub_pid());
  stack.StartBroker();
  const auto t_broker = SteadyClock::now();
  const double cpu_broker0 = CpuSeconds(stack.broker_pid());
  std::optional<SteadyClock::time_point> t_agent, t_hub, t_first, t_done;
  int64_t last_count = 0;
  SteadyClock::time_point last_report = t_broker;
  while (SecondsSince(t_broker) < o.timeout_s) {
    CheckInterrupted();
    const auto ag = stack.AgentStatus();
    const auto hs = stack.HubStats();
    const auto now = SteadyClock::now();
    if (!t_agent && ag.is_object() && ag.value("connected", false)) t_agent = now;
    if (!t_hub && hs.is_object() && hs.contains("ingest") &&
        hs["ingest"].value("connected", false)) {
      t_hub = now;
    }
    const int64_t held = hs.is_object() ? hs.value("events_total", int64_t{0}) - base : 0;
    const int64_t left = ag.is_object() ? ag.value("backlog", int64_t{-1}) : -1;
    if (!t_first && held > 0) {
      t_first = now;
      d.first_count = held;
    }
    last_count = std::max(last_count, held);
    if (held >= o.events && left == 0) {
      t_done = now;
      break;
    }
    if (Secs(now - last_report) >= 5) {
      last_report = now;
      Out("    ... %.0f s: hub holds %lld, agent backlog %lld\n", Secs(now - t_broker),
          static_cast<long long>(held), static_cast<long long>(left));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  sampler.Stop();
  d.agent_cpu_s = CpuSeconds(stack.agent_pid()) - cpu_agent0;
  d.hub_cpu_s = CpuSeconds(stack.hub_pid()) - cpu_hub0;
  d.broker_cpu_s = CpuSeconds(stack.broker_pid()) - cpu_broker0;
  mem->push_back(MemPhase{"during the drain of " + std::to_string(o.events) + " events",
                          sampler.max_rss_kb(), sampler.hwm_kb(), sampler.samples()});
  const auto hs = stack.HubStats();
  const auto ag = stack.AgentStatus();
  Out("  hub: events_total %lld, frames %lld, batches committed %lld, duplicate frames %lld, "
      "groups %lld, rejected %lld; agent: batches sent %lld, resends %lld, reconnects %lld\n",
      static_cast<long long>(hs.value("events_total", int64_t{-1})),
      static_cast<long long>(hs["ingest"].value("frames_total", int64_t{-1})),
      static_cast<long long>(hs["ingest"].value("batches_committed", int64_t{-1})),
      static_cast<long long>(hs["ingest"].value("duplicate_frames", int64_t{-1})),
      static_cast<long long>(hs["ingest"].value("groups", int64_t{-1})),
      static_cast<long long>(hs.value("rejected_total", int64_t{-1})),
      static_cast<long long>(ag.value("batches_sent", int64_t{-1})),
      static_cast<long long>(ag.value("resends", int64_t{-1})),
      static_cast<long long>(ag.value("reconnects", int64_t{-1})));
  if (t_agent && t_hub) d.broker_to_connected_s = Secs(std::max(*t_agent, *t_hub) - t_broker);
  if (!t_done) {
    Out("  OUR DRAIN DID NOT FINISH within %.0f s: the hub holds %lld of %lld events\n",
        o.timeout_s, static_cast<long long>(last_count), static_cast<long long>(o.events));
    return d;
  }
  d.complete = true;
  d.broker_to_done_s = Secs(*t_done - t_broker);
  d.connected_to_done_s = Secs(*t_done - std::max(*t_agent, *t_hub));
  d.first_to_done_s = Secs(*t_done - *t_first);
  d.rate_connected = static_cast<double>(o.events) / d.connected_to_done_s;
  d.rate_first = static_cast<double>(o.events - d.first_count) / d.first_to_done_s;
  d.rate_broker = static_cast<double>(o.events) / d.broker_to_done_s;
  Out("  broker up -> agent and hub connected: %.2f s (their reconnect backoff); connected -> "
      "hub holds all and agent backlog 0: %.2f s\n",
      d.broker_to_connected_s, d.connected_to_done_s);
  Out("  OUR DRAIN: %.0f events/s (connected -> done); %.0f events/s (first events at the hub -> "
      "done); %.0f events/s (broker start -> done)\n",
      d.rate_connected, d.rate_first, d.rate_broker);
  Out("  CPU during the drain: agent %.2f s (%.2f us/event), hub %.2f s (%.2f us/event), broker "
      "%.2f s\n",
      d.agent_cpu_s, d.agent_cpu_s * 1e6 / static_cast<double>(o.events), d.hub_cpu_s,
      d.hub_cpu_s * 1e6 / static_cast<double>(o.events), d.broker_cpu_s);
  return d;
}

// ---- the bridge peer --------------------------------------------------------------------------

class Subscriber : public virtual mqtt::callback {
 public:
  Subscriber(int64_t n, std::string prefix) : seen_(n, 0), prefix_(std::move(prefix)) {}
  void message_arrived(mqtt::const_message_ptr msg) override {
    const auto now = SteadyClock::now().time_since_epoch().count();
    const std::string& payload = msg->get_payload_str();
    const int64_t idx = EventIndexIn(payload, prefix_);
    total_.fetch_add(1);
    if (idx < 0 || idx >= static_cast<int64_t>(seen_.size())) {
      if (payload == "probe") probe_.store(true);
      return;
    }
    if (seen_[idx]) {
      dups_.fetch_add(1);
      return;
    }
    seen_[idx] = 1;
    if (unique_.fetch_add(1) == 0) first_ns_.store(now);
    last_ns_.store(now);
  }
  void connection_lost(const std::string&) override {}

  int64_t unique() const { return unique_.load(); }
  int64_t dups() const { return dups_.load(); }
  bool probe() const { return probe_.load(); }
  SteadyClock::time_point first() const {
    return SteadyClock::time_point(SteadyClock::duration(first_ns_.load()));
  }
  SteadyClock::time_point last() const {
    return SteadyClock::time_point(SteadyClock::duration(last_ns_.load()));
  }

 private:
  std::vector<uint8_t> seen_;  // callback thread only
  std::string prefix_;
  std::atomic<int64_t> total_{0}, unique_{0}, dups_{0};
  std::atomic<int64_t> first_ns_{0}, last_ns_{0};
  std::atomic<bool> probe_{false};
};

mqtt::connect_options PersistentSession(int max_inflight) {
  return mqtt::connect_options_builder()
      .clean_session(false)
      .keep_alive_interval(std::chrono::seconds(60))
      .connect_timeout(std::chrono::seconds(10))
      .max_inflight(max_inflight)
      .automatic_reconnect(false)
      .finalize();
}

struct BridgeDrain {
  int64_t events = 0;
  int64_t received = 0;
  int64_t dups = 0;
  bool complete = false;
  double publish_s = 0;
  double central_to_first_s = NAN;
  double first_to_last_s = NAN;
  double rate_first = NAN;    // (events - 1) / (first -> last delivered)
  double rate_central = NAN;  // events / (central broker start -> last delivered)
  double local_cpu_s = 0, central_cpu_s = 0;
  int64_t local_rss_kb = -1;
};

BridgeDrain RunBridge(const DrainOptions& o, int64_t n) {
  BridgeDrain d;
  d.events = n;
  testing::TempDir dir("cjd-bench-bridge-");
  std::filesystem::create_directories(dir.Join("central"));
  std::filesystem::create_directories(dir.Join("local"));
  const int64_t queue = std::max<int64_t>(2'000'000, 2 * n);
  BrokerOptions central_opts{true, queue, o.bridge_inflight, ""};
  BenchBroker central(dir.Join("central"), central_opts);
  BrokerOptions local_opts{true, queue, o.bridge_inflight, ""};
  local_opts.extra =
      "\nconnection central\n"
      "address 127.0.0.1:" + std::to_string(central.port()) + "\n"
      "topic # out 1\n"
      "cleansession false\n"
      "bridge_protocol_version mqttv311\n"
      "restart_timeout 1\n";
  BenchBroker local(dir.Join("local"), local_opts);
  Out("  brokers: local :%u bridged to central :%u; both persistence true, max_queued_messages "
      "%lld, max_inflight_messages %d; bridge: topic # out 1, cleansession false, mqttv311, "
      "restart_timeout 1\n",
      local.port(), central.port(), static_cast<long long>(queue), o.bridge_inflight);

  const std::string prefix = "bridge";
  const std::string topic = std::string("stores/") + CjdStack::kStoreId + "/" +
                            CjdStack::kDeviceId + "/events";
  Subscriber sub_cb(n, prefix);
  mqtt::async_client sub(central.Uri(), "bench-central-subscriber",
                         mqtt::create_options(MQTTVERSION_3_1_1), nullptr);
  sub.set_callback(sub_cb);
  mqtt::async_client pub(local.Uri(), "bench-pos-publisher", mqtt::create_options(MQTTVERSION_3_1_1),
                         nullptr);
  struct Disconnect {  // on every exit path, before the brokers go
    mqtt::async_client& a;
    mqtt::async_client& b;
    ~Disconnect() {
      for (auto* c : {&a, &b}) {
        try {
          if (c->is_connected()) c->disconnect()->wait_for(std::chrono::seconds(2));
        } catch (const mqtt::exception&) {
        }
      }
    }
  } disconnect{sub, pub};

  // 1. Central up; the subscriber's persistent session (clean_session=false) is registered.
  central.Start();
  sub.connect(PersistentSession(1000))->wait_for(std::chrono::seconds(10));
  if (!sub.is_connected()) throw std::runtime_error("subscriber could not connect to central");
  sub.subscribe("stores/#", 1)->wait_for(std::chrono::seconds(10));
  // 2. Local up with its bridge; prove the path with a probe message.
  local.Start();
  pub.connect(PersistentSession(1000))->wait_for(std::chrono::seconds(10));
  if (!pub.is_connected()) throw std::runtime_error("publisher could not connect to local");
  const bool probed = testing::WaitUntil(
      [&] {
        CheckInterrupted();
        if (sub_cb.probe()) return true;
        pub.publish(topic, "probe", 5, 1, false);
        return false;
      },
      std::chrono::seconds(60), std::chrono::milliseconds(500));
  if (!probed) {
    throw std::runtime_error("no probe through the bridge within 60 s\n" + local.Diagnostics() +
                             central.Diagnostics());
  }
  // 3. The subscriber goes away (its session stays), then the central broker (it saves it).
  sub.disconnect()->wait_for(std::chrono::seconds(5));
  central.Stop();
  SleepFor(std::chrono::milliseconds(500));  // the bridge notices its connection is gone

  // 4. The backlog: one QoS 1 message per event into the local broker, which queues them for
  // the bridge. Timed separately.
  {
    EventFactory f(CjdStack::kStoreId, prefix);
    std::deque<mqtt::delivery_token_ptr> window;
    const size_t kWindow = 500;
    const auto t0 = SteadyClock::now();
    for (int64_t i = 0; i < n; ++i) {
      if ((i & 1023) == 0) {
        CheckInterrupted();
        if (SecondsSince(t0) > 1800) throw std::runtime_error("publishing the backlog took > 30 min");
      }
      if (window.size() >= kWindow) {
        if (!window.front()->wait_for(std::chrono::seconds(60))) {
          throw std::runtime_error("local broker did not acknowledge a publish within 60 s");
        }
        window.pop_front();
      }
      const std::string body = f.Make(i);
      window.push_back(pub.publish(topic, body.data(), body.size(), 1, false));
    }
    while (!window.empty()) {
      if (!window.front()->wait_for(std::chrono::seconds(60))) {
        throw std::runtime_error("local broker did not acknowledge a publish within 60 s");
      }
      window.pop_front();
    }
    d.publish_s = SecondsSince(t0);
    d.local_rss_kb = ReadMem(local.pid()).rss_kb;
    Out("  backlog published to the local broker: %lld QoS 1 messages in %.1f s (%.0f msg/s; not "
        "part of the drain figure); local broker RSS %lld MiB\n",
        static_cast<long long>(n), d.publish_s, static_cast<double>(n) / d.publish_s,
        static_cast<long long>(d.local_rss_kb / 1024));
  }

  // 5. Central back; the subscriber resumes its session; measure until it has all N.
  const double cpu_local0 = CpuSeconds(local.pid());
  central.Start();
  const auto t_central = SteadyClock::now();
  const double cpu_central0 = CpuSeconds(central.pid());
  sub.connect(PersistentSession(1000))->wait_for(std::chrono::seconds(10));
  if (!sub.is_connected()) throw std::runtime_error("subscriber could not reconnect to central");
  SteadyClock::time_point last_report = t_central;
  while (sub_cb.unique() < n && SecondsSince(t_central) < o.bridge_timeout_s) {
    CheckInterrupted();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (SecondsSince(last_report) >= 10) {
      last_report = SteadyClock::now();
      Out("    ... %.0f s: subscriber has %lld of %lld\n", SecondsSince(t_central),
          static_cast<long long>(sub_cb.unique()), static_cast<long long>(n));
    }
  }
  d.local_cpu_s = CpuSeconds(local.pid()) - cpu_local0;
  d.central_cpu_s = CpuSeconds(central.pid()) - cpu_central0;
  d.received = sub_cb.unique();
  d.dups = sub_cb.dups();
  d.complete = d.received >= n;
  if (d.received > 1) {
    const auto last = d.complete ? sub_cb.last() : SteadyClock::now();
    d.central_to_first_s = Secs(sub_cb.first() - t_central);
    d.first_to_last_s = Secs(last - sub_cb.first());
    d.rate_first = static_cast<double>(d.received - 1) / d.first_to_last_s;
    d.rate_central = static_cast<double>(d.received) / Secs(last - t_central);
  }
  Out("  bridge: %s %lld of %lld (%lld duplicates); central start -> first message %.2f s (bridge "
      "reconnect), first -> last %.2f s\n",
      d.complete ? "delivered" : "INCOMPLETE, delivered only", static_cast<long long>(d.received),
      static_cast<long long>(n), static_cast<long long>(d.dups), d.central_to_first_s,
      d.first_to_last_s);
  Out("  BRIDGE DRAIN: %.0f events/s (first -> last message); %.0f events/s (central start -> "
      "last)%s\n",
      d.rate_first, d.rate_central, d.complete ? "" : " -- PARTIAL, stopped at the time limit");
  Out("  CPU during the drain: local broker %.2f s, central broker %.2f s (+ the subscriber in "
      "cjd-bench)\n",
      d.local_cpu_s, d.central_cpu_s);
  return d;
}

}  // namespace

std::vector<MemPhase> RunDrain(const DrainOptions& o) {
  std::vector<MemPhase> mem;
  if (o.events <= 0 || o.build_clients <= 0 || o.build_batch <= 0 || o.build_batch > 1000) {
    throw std::invalid_argument("drain: --events, --build-clients must be positive, "
                                "--build-batch 1..1000");
  }
  const int64_t bridge_n = o.bridge_events > 0 ? o.bridge_events : o.events;
  Out("\n== drain: an offline backlog delivered to the hub once the broker is back ==\n");
  Out("  started %s; our backlog %lld events", NowUtc().c_str(), static_cast<long long>(o.events));
  if (o.bridge) Out("; bridge backlog %lld events", static_cast<long long>(bridge_n));
  Out("\n");
  {
    EventFactory f(CjdStack::kStoreId, "drain");
    std::vector<std::string> sample;
    for (int i = 0; i < 2000; ++i) sample.push_back(f.Make(i));
    const SizeStats s = SizesOf(sample);
    Out("  event JSON: %.0f bytes mean (min %zu, max %zu), the same texts for both setups\n",
        s.mean, s.min, s.max);
  }
  Out("\n  -- ours: cjd-agent -> Mosquitto -> cjd-hub (sealed batches, hub commits and acks) --\n");
  const OurDrain ours = RunOurDrain(o, &mem);

  BridgeDrain bridge;
  if (o.bridge) {
    Out("\n  -- peer: local Mosquitto bridged to a central Mosquitto, one QoS 1 message per event "
        "--\n");
    bridge = RunBridge(o, bridge_n);
  }

  Out("\n  DRAIN RESULT\n");
  Out("  %-44s | %9s | %12s | %s\n", "setup", "events", "events/s", "measured over");
  Out("  ---------------------------------------------+-----------+--------------+-------------------\n");
  Out("  %-44s | %9lld | %12.0f | %s\n", "ours: agent -> broker -> hub",
      static_cast<long long>(ours.events), ours.rate_connected,
      ours.complete ? "agent+hub connected -> hub holds all, backlog 0" : "DID NOT FINISH");
  Out("  %-44s | %9lld | %12.0f | %s\n", "ours (same run)", static_cast<long long>(ours.events),
      ours.rate_first, "first events at the hub -> done");
  if (o.bridge) {
    Out("  %-44s | %9lld | %12.0f | %s%s\n", "peer: local mosquitto -> bridge -> central",
        static_cast<long long>(bridge.received), bridge.rate_first,
        "first -> last message at the subscriber", bridge.complete ? "" : " (PARTIAL)");
    const double ratio = ours.rate_first / bridge.rate_first;
    Out("  ratio ours / bridge (both first-delivered -> done): %.2fx%s\n", ratio,
        bridge_n != o.events ? "  (different N: the bridge ran a smaller backlog; rates compare)"
                             : "");
    Out("  aim: ours >= 100000 events/s: %s (%.0f); >= 6x the bridge: %s (%.2fx)\n",
        ours.rate_connected >= 100'000 ? "MET" : "NOT MET", ours.rate_connected,
        ratio >= 6 ? "MET" : "NOT MET", ratio);
  } else {
    Out("  aim: ours >= 100000 events/s: %s (%.0f)\n",
        ours.rate_connected >= 100'000 ? "MET" : "NOT MET", ours.rate_connected);
  }
  Out("  finished %s\n", NowUtc().c_str());
  return mem;
}

void PrintMemory(const std::vector<MemPhase>& phases) {
  Out("\n  AGENT MEMORY (cjd-agent, /proc/PID/status; aim < 30 MB)\n");
  Out("  %-58s | %12s | %12s | %s\n", "phase", "max VmRSS", "VmHWM", "aim");
  Out("  -----------------------------------------------------------+--------------+--------------+-----\n");
  for (const auto& p : phases) {
    const double rss_mb = static_cast<double>(p.max_rss_kb) / 1024.0;
    const double hwm_mb = static_cast<double>(p.hwm_kb) / 1024.0;
    Out("  %-58s | %9.1f MB | %9.1f MB | %s\n", p.phase.c_str(), rss_mb, hwm_mb,
        hwm_mb < 30 ? "met" : "NOT MET");
  }
  Out("  (MB = MiB; max VmRSS: highest of the samples taken every 50 ms in the phase; VmHWM: the "
      "process's peak RSS since it started, read at the end of the phase)\n");
}

}  // namespace cjd::bench

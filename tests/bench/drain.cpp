// cjd-bench drain: how fast a store's offline backlog reaches the hub once the link is back, next
// to the setup a user would otherwise deploy (a local Mosquitto bridged to a central one, one
// QoS 1 message per event).
#include <mqtt/async_client.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <deque>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "tests/bench/broker.h"
#include "tests/bench/common.h"
#include "tests/bench/benchmarks.h"
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
  double broker_to_connected_s = NAN;  // broker up -> agent reconnected (hub already was)
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

  // Offline: the hub and the broker go away; the agent keeps accepting. The hub is restarted
  // right after the broker below, so it is subscribed within a second, as a hub that stayed
  // connected to its broker would be (it connects with a clean session of its own at each
  // start and asks every agent to resend what is in flight); the agent comes back on its own
  // reconnect backoff.
  const int64_t base = stack.HubEventsTotal();
  if (base < 0) throw std::runtime_error("cannot read the hub's events_total");
  stack.StopHub();
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
    mem->push_back(PhaseFrom("building the backlog (" + std::to_string(o.build_clients) + " x " +
                                 std::to_string(o.build_batch) + "-event POSTs)",
                             sampler));
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
  if (backlog != o.events) {
    throw std::runtime_error("the agent reports a backlog of " + std::to_string(backlog) +
                             ", expected " + std::to_string(o.events));
  }
  Out("  agent backlog %lld, hub held %lld events before; starting the broker, then the hub\n",
      static_cast<long long>(backlog), static_cast<long long>(base));

  // Online again: the broker, then the hub; measure from the moment the agent has reconnected
  // until the hub holds everything and the agent has applied the last ack.
  MemSampler sampler(stack.agent_pid());
  const double cpu_agent0 = CpuSeconds(stack.agent_pid());
  stack.StartBroker();
  const auto t_broker = SteadyClock::now();
  const double cpu_broker0 = CpuSeconds(stack.broker_pid());
  stack.StartHub();
  const double cpu_hub0 = CpuSeconds(stack.hub_pid());
  if (!testing::WaitUntil(
          [&] {
            CheckInterrupted();
            return stack.HubConnected();
          },
          std::chrono::seconds(30), std::chrono::milliseconds(10))) {
    throw std::runtime_error("the hub did not connect to the broker within 30 s\n" +
                             stack.Diagnostics());
  }
  const auto t_hub = SteadyClock::now();
  std::optional<SteadyClock::time_point> t_agent, t_first, t_done;
  int64_t last_count = 0;
  SteadyClock::time_point last_report = t_broker;
  while (SecondsSince(t_broker) < o.timeout_s) {
    CheckInterrupted();
    const auto ag = stack.AgentStatus();
    const auto hs = stack.HubStats();
    const auto now = SteadyClock::now();
    if (!t_agent && ag.is_object() && ag.value("connected", false)) t_agent = now;
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
      Out("    ... %.0f s after the broker started: agent %s, hub holds %lld, agent backlog %lld\n",
          Secs(now - t_broker), t_agent ? "connected" : "not yet reconnected (backoff)",
          static_cast<long long>(held), static_cast<long long>(left));
    }
    // Fine-grained until the agent is back (its connect time starts the clock), then 20 ms.
    std::this_thread::sleep_for(std::chrono::milliseconds(t_agent ? 20 : 5));
  }
  d.agent_cpu_s = CpuSeconds(stack.agent_pid()) - cpu_agent0;
  d.hub_cpu_s = CpuSeconds(stack.hub_pid()) - cpu_hub0;
  d.broker_cpu_s = CpuSeconds(stack.broker_pid()) - cpu_broker0;
  mem->push_back(PhaseFrom("during the drain of " + std::to_string(o.events) + " events", sampler));
  auto hs = stack.HubStats();
  auto ag = stack.AgentStatus();
  if (!hs.is_object()) hs = nlohmann::json::object();
  if (!ag.is_object()) ag = nlohmann::json::object();
  if (!hs.contains("ingest") || !hs["ingest"].is_object()) hs["ingest"] = nlohmann::json::object();
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
  if (t_agent) d.broker_to_connected_s = Secs(std::max(*t_agent, t_hub) - t_broker);
  if (!t_done) {
    Out("  OUR DRAIN DID NOT FINISH within %.0f s: the hub holds %lld of %lld events\n",
        o.timeout_s, static_cast<long long>(last_count), static_cast<long long>(o.events));
    return d;
  }
  d.complete = true;
  d.broker_to_done_s = Secs(*t_done - t_broker);
  d.connected_to_done_s = Secs(*t_done - std::max(*t_agent, t_hub));
  d.first_to_done_s = Secs(*t_done - *t_first);
  d.rate_connected = static_cast<double>(o.events) / d.connected_to_done_s;
  d.rate_first = static_cast<double>(o.events - d.first_count) / d.first_to_done_s;
  d.rate_broker = static_cast<double>(o.events) / d.broker_to_done_s;
  Out("  broker up -> hub restarted and subscribed: %.2f s; -> agent reconnected: %.2f s (its "
      "reconnect backoff); agent reconnected -> hub holds all and agent backlog 0: %.2f s\n",
      Secs(t_hub - t_broker), d.broker_to_connected_s, d.connected_to_done_s);
  Out("  OUR DRAIN: %.0f events/s (agent reconnected -> done); %.0f events/s (first events at the "
      "hub -> done); %.0f events/s (broker start -> done, incl. the reconnect backoff)\n",
      d.rate_connected, d.rate_first, d.rate_broker);
  Out("  CPU during the drain: agent %.2f s (%.2f us/event), hub %.2f s (%.2f us/event), broker "
      "%.2f s\n",
      d.agent_cpu_s, d.agent_cpu_s * 1e6 / static_cast<double>(o.events), d.hub_cpu_s,
      d.hub_cpu_s * 1e6 / static_cast<double>(o.events), d.broker_cpu_s);
  return d;
}

// ---- the bridge peer --------------------------------------------------------------------------

// Paho's default create options refuse a publish once 100 commands wait to be written ("No more
// messages can be buffered"); the publisher keeps up to 500 QoS 1 messages in flight.
mqtt::create_options CreateOptions() {
  mqtt::create_options o(MQTTVERSION_3_1_1);
  o.set_max_buffered_messages(100'000);
  return o;
}

struct BridgeDrain {
  int64_t events = 0;
  int64_t received = 0;
  bool complete = false;
  double publish_s = 0;
  double central_to_first_s = NAN;
  double first_to_last_s = NAN;
  double rate_first = NAN;    // (received - 1) / (first -> last delivered)
  double rate_central = NAN;  // received / (central broker start -> last delivered)
  double local_cpu_s = 0, central_cpu_s = 0, subscriber_cpu_s = 0;
  int64_t local_rss_kb = -1;
  int64_t central_rss_kb = -1;
};

// Wall-clock seconds since the epoch, as mosquitto_sub's %U prints them.
double UnixNow() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Counts the lines of a file that grows (one per message), remembering the first and last.
class LineCounter {
 public:
  explicit LineCounter(std::filesystem::path path) : path_(std::move(path)) {}
  void Poll() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(offset_);
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t start = 0;
    while (true) {
      const size_t nl = chunk.find('\n', start);
      if (nl == std::string::npos) break;
      const std::string line = chunk.substr(start, nl - start);
      if (lines_ == 0) first_ = line;
      last_ = line;
      ++lines_;
      start = nl + 1;
    }
    offset_ += static_cast<std::streamoff>(start);  // a partial last line is read again
  }
  int64_t lines() const { return lines_; }
  const std::string& first() const { return first_; }
  const std::string& last() const { return last_; }

 private:
  std::filesystem::path path_;
  std::streamoff offset_ = 0;
  int64_t lines_ = 0;
  std::string first_, last_;
};

// The central side's consumer: mosquitto_sub (libmosquitto, C), a persistent session
// (-c, clean_session=false) subscribed with QoS 1; one line per message with its arrival time.
testing::Process StartSubscriber(const BenchBroker& central, const std::string& topic,
                                 int64_t count, const std::filesystem::path& out) {
  return testing::Process::Start(
      {"mosquitto_sub", "-h", "127.0.0.1", "-p", std::to_string(central.port()), "-V", "311",
       "-i", "bench-central-subscriber", "-c", "-q", "1", "-t", topic, "-C",
       std::to_string(count), "-F", "%U"},
      out);
}

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
      "restart_timeout 1; consumer: mosquitto_sub -c -q 1 (libmosquitto)\n",
      local.port(), central.port(), static_cast<long long>(queue), o.bridge_inflight);

  const std::string topic = std::string("stores/") + CjdStack::kStoreId + "/" +
                            CjdStack::kDeviceId + "/events";
  mqtt::async_client pub(local.Uri(), "bench-pos-publisher", CreateOptions(), nullptr);
  struct Disconnect {  // on every exit path, before the brokers go
    mqtt::async_client& c;
    ~Disconnect() {
      try {
        if (c.is_connected()) c.disconnect()->wait_for(std::chrono::seconds(2));
      } catch (const mqtt::exception&) {
      }
    }
  } disconnect{pub};
  const auto session = mqtt::connect_options_builder()
                           .clean_session(false)
                           .keep_alive_interval(std::chrono::seconds(60))
                           .connect_timeout(std::chrono::seconds(10))
                           .max_inflight(1000)
                           .automatic_reconnect(false)
                           .finalize();

  // 1. Central up; the subscriber's persistent session is registered. 2. Local up with its
  // bridge; one probe message proves the path (the subscriber exits after one message, so its
  // session is left with nothing queued).
  central.Start();
  {
    testing::Process sub = StartSubscriber(central, topic, 1, dir.Join("sub-probe.out"));
    local.Start();
    pub.connect(session)->wait_for(std::chrono::seconds(10));
    if (!pub.is_connected()) throw std::runtime_error("publisher could not connect to local");
    pub.publish(topic, "probe", 5, 1, false)->wait_for(std::chrono::seconds(10));
    const auto exit = sub.WaitExit(std::chrono::seconds(60));
    if (!exit || *exit != 0) {
      throw std::runtime_error("no probe through the bridge within 60 s\n" + sub.LogTail() +
                               local.Diagnostics() + central.Diagnostics());
    }
  }
  // 3. The central broker goes away (SIGTERM: it saves the subscriber's session).
  central.Stop();
  SleepFor(std::chrono::milliseconds(500));  // the bridge notices its connection is gone

  // 4. The backlog: one QoS 1 message per event into the local broker, which queues them for
  // the bridge. Timed separately.
  {
    EventFactory f(CjdStack::kStoreId, "bridge");
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
  const double unix_central = UnixNow();
  const auto t_central = SteadyClock::now();
  const double cpu_central0 = CpuSeconds(central.pid());
  const std::filesystem::path out = dir.Join("sub-drain.out");
  testing::Process sub = StartSubscriber(central, topic, n, out);
  LineCounter lines(out);
  SteadyClock::time_point last_report = t_central;
  double sub_cpu = 0;
  while (sub.Running() && SecondsSince(t_central) < o.bridge_timeout_s) {
    CheckInterrupted();
    sub_cpu = std::max(sub_cpu, CpuSeconds(sub.pid()));
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    if (SecondsSince(last_report) >= 10) {
      last_report = SteadyClock::now();
      lines.Poll();
      Out("    ... %.0f s: the subscriber has %lld of %lld\n", SecondsSince(t_central),
          static_cast<long long>(lines.lines()), static_cast<long long>(n));
    }
  }
  d.local_cpu_s = CpuSeconds(local.pid()) - cpu_local0;
  d.central_cpu_s = CpuSeconds(central.pid()) - cpu_central0;
  d.central_rss_kb = ReadMem(central.pid()).rss_kb;
  const bool finished = !sub.Running();
  if (!finished) sub.Terminate(std::chrono::seconds(5));
  d.subscriber_cpu_s = sub_cpu;
  const double unix_end = UnixNow();
  lines.Poll();
  d.received = lines.lines();
  d.complete = finished && d.received >= n;
  if (d.received > 1) {
    const double first = std::strtod(lines.first().c_str(), nullptr);
    const double last = d.complete ? std::strtod(lines.last().c_str(), nullptr) : unix_end;
    d.central_to_first_s = first - unix_central;
    d.first_to_last_s = last - first;
    d.rate_first = static_cast<double>(d.received - 1) / d.first_to_last_s;
    d.rate_central = static_cast<double>(d.received) / (last - unix_central);
  }
  Out("  bridge: %s %lld of %lld messages; central start -> first message %.2f s (bridge "
      "reconnect), first -> last %.2f s\n",
      d.complete ? "delivered" : "INCOMPLETE, delivered only", static_cast<long long>(d.received),
      static_cast<long long>(n), d.central_to_first_s, d.first_to_last_s);
  Out("  BRIDGE DRAIN: %.0f events/s (first -> last message); %.0f events/s (central start -> "
      "last)%s\n",
      d.rate_first, d.rate_central, d.complete ? "" : " -- PARTIAL, stopped at the time limit");
  Out("  CPU during the drain: local broker %.2f s, central broker %.2f s, mosquitto_sub %.2f s; "
      "central broker RSS %lld MiB\n",
      d.local_cpu_s, d.central_cpu_s, d.subscriber_cpu_s,
      static_cast<long long>(d.central_rss_kb / 1024));
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
  Out("  machine: %s\n", LoadNow().c_str());
  Out("\n  -- ours: cjd-agent -> Mosquitto -> cjd-hub (sealed batches, hub commits and acks) --\n");
  const OurDrain ours = RunOurDrain(o, &mem);

  Out("  machine: %s\n", LoadNow().c_str());
  BridgeDrain bridge;
  if (o.bridge) {
    Out("\n  -- peer: local Mosquitto bridged to a central Mosquitto, one QoS 1 message per event "
        "--\n");
    bridge = RunBridge(o, bridge_n);
    Out("  machine: %s\n", LoadNow().c_str());
  }

  Out("\n  DRAIN RESULT\n");
  Out("  %-44s | %9s | %12s | %s\n", "setup", "events", "events/s", "measured over");
  Out("  ---------------------------------------------+-----------+--------------+-------------------\n");
  Out("  %-44s | %9lld | %12.0f | %s\n", "ours: agent -> broker -> hub",
      static_cast<long long>(ours.events), ours.rate_connected,
      ours.complete ? "agent reconnected -> hub holds all, backlog 0" : "DID NOT FINISH");
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

MemPhase PhaseFrom(const std::string& phase, MemSampler& sampler) {
  sampler.Stop();
  const MemFigures m = sampler.at_max();
  return MemPhase{phase,     sampler.max_rss_kb(), sampler.hwm_kb(), sampler.samples(),
                  m.anon_kb, m.file_kb,            m.shmem_kb};
}

void PrintMemory(const std::vector<MemPhase>& phases) {
  Out("\n  AGENT MEMORY (cjd-agent, /proc/PID/status; aim < 30 MB)\n");
  Out("  %-50s | %9s | %9s | %-30s | %s\n", "phase", "max VmRSS", "VmHWM",
      "at max: anon + file + shmem", "aim");
  Out("  ---------------------------------------------------+-----------+-----------+"
      "--------------------------------+-----\n");
  auto mb = [](int64_t kb) { return static_cast<double>(kb) / 1024.0; };
  for (const auto& p : phases) {
    char parts[64] = "-";
    if (p.anon_kb >= 0) {
      std::snprintf(parts, sizeof parts, "%.1f + %.1f + %.1f MB", mb(p.anon_kb), mb(p.file_kb),
                    mb(p.shmem_kb));
    }
    // The aim's unit is not stated: judged against 30 MiB and against 30,000,000 bytes.
    const double bytes = static_cast<double>(std::max(p.hwm_kb, p.max_rss_kb)) * 1024.0;
    const char* aim = bytes < 30e6                        ? "met"
                      : bytes < 30.0 * 1024 * 1024        ? "met as 30 MiB, not as 30e6 bytes"
                                                          : "NOT MET";
    Out("  %-50s | %6.1f MB | %6.1f MB | %-30s | %s\n", p.phase.c_str(), mb(p.max_rss_kb),
        mb(p.hwm_kb), parts, aim);
  }
  Out("  (MB = MiB = 2^20 bytes. max VmRSS: highest of the samples taken every 50 ms in the phase; VmHWM: the "
      "process's peak RSS since it started, read at the end of the phase; anon = heap and stacks, "
      "file = mapped binary and libraries, shmem = SQLite's WAL index (-shm))\n");
}

}  // namespace cjd::bench

// cjd-bench erasure: rights requests end to end (issue 11).
//   1. a stack (Mosquitto, cjd-hub, one cjd-agent) plus `devices - 1` more real cjd-agent
//      processes (ten per store), all connected;
//   2. `requests` erasure requests, one after the other, for identifiers nobody holds: each must
//      be confirmed by every device (its outbox may hold the person), so each is a round trip
//      to all of them. Per request, from the hub's own timestamps: request -> hub part done,
//      and request -> the last device's receipt (the request done);
//   3. `bulk` customers identified at the web shop (one identify and one order each, through
//      POST /v1/collect), then `bulk` erasure requests for them posted by `clients` threads:
//      the time from the first request to the last one's hub part done, the rate, and the hub's
//      CPU per request. These people were seen at no store, so no device is asked: this is the
//      hub's part alone.
// Every loop is bounded in count and time.
#include <algorithm>
#include <atomic>
#include <cinttypes>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <nlohmann/json.hpp>

#include "shared/event/event.h"
#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/bench/stack.h"
#include "tests/support/binaries.h"
#include "tests/support/http_client.h"
#include "tests/support/ports.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace cjd::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using testing::HttpClient;

std::string Run(const std::vector<std::string>& argv) {
  std::string out;
  const int rc = testing::RunCommand(argv, std::chrono::seconds(60), &out);
  if (rc != 0) throw std::runtime_error(argv[1] + " failed: " + out);
  return out;
}

// The erasure's two durations (ms) from its GET document; -1 while not done.
struct Durations {
  double hub_ms = -1;
  double done_ms = -1;
};
Durations DurationsOf(const json& doc) {
  Durations d;
  auto ms = [](const json& t) -> int64_t {
    if (!t.is_string()) return -1;
    auto v = ParseRfc3339(t.get<std::string>());
    return v.ok() ? *v : -1;
  };
  const int64_t requested = ms(doc["requested_at"]);
  const int64_t hub = ms(doc["hub"]["done_at"]);
  const int64_t done = ms(doc["done_at"]);
  if (requested >= 0 && hub >= 0) d.hub_ms = static_cast<double>(hub - requested);
  if (requested >= 0 && done >= 0) d.done_ms = static_cast<double>(done - requested);
  return d;
}

}  // namespace

void RunErasure(const ErasureOptions& o) {
  Out("# cjd-bench erasure  %s\n%s", NowUtc().c_str(), Conditions().c_str());
  Out("# before: %s\n", LoadNow().c_str());
  CjdStack stack(StackOptions{});
  stack.StartAll();
  const fs::path hub_dir = stack.hub_config().parent_path();
  HttpClient hub(stack.hub_port(), std::chrono::seconds(30));
  const std::string token = stack.hub_token();

  // The other devices: real agents, ten per store.
  std::vector<testing::Process> agents;
  agents.reserve(static_cast<size_t>(o.devices));
  const fs::path agent_dir = stack.dir() / "agents";
  fs::create_directories(agent_dir);
  for (int i = 2; i <= o.devices; ++i) {
    CheckInterrupted();
    char id[16], store[16];
    std::snprintf(id, sizeof id, "dev-%04d", i);
    std::snprintf(store, sizeof store, "store-%03d", i / 10);
    const fs::path config = agent_dir / (std::string(id) + ".toml");
    Run({testing::CjdctlBinary(), "add-device", "--hub-dir", hub_dir.string(), "--id", id,
         "--store", store, "--kind", "pos", "--listen",
         "127.0.0.1:" + std::to_string(testing::FreeLoopbackPort()), "--out", config.string()});
    agents.push_back(testing::Process::Start({testing::AgentBinary(), "--config", config.string()},
                                             agent_dir / (std::string(id) + ".log")));
  }
  const bool online = testing::WaitUntil(
      [&] {
        CheckInterrupted();
        auto r = hub.Get("/v1/devices", token);
        return r.status == 200 && r.Json().value("online", 0) == o.devices;
      },
      std::chrono::seconds(120), std::chrono::milliseconds(200));
  if (!online) throw std::runtime_error("not every device came online\n" + stack.Diagnostics());
  Out("devices: %d real cjd-agent processes online (ten per store), heartbeat 15 s\n", o.devices);

  // 2. Round trips to every device.
  std::vector<double> hub_ms, done_ms;
  for (int i = 0; i < o.requests; ++i) {
    CheckInterrupted();
    const json body = {{"identifier", "loyalty_id:BENCH-NOBODY-" + std::to_string(i)}};
    auto posted = hub.Post("/v1/privacy/erasures", body.dump(), token);
    if (posted.status != 202) throw std::runtime_error("POST erasure: " + posted.body);
    const std::string id = posted.Json()["id"];
    json doc;
    const bool done = testing::WaitUntil(
        [&] {
          auto r = hub.Get("/v1/privacy/erasures/" + id, token);
          if (r.status != 200) return false;
          doc = r.Json();
          return doc["state"] == "done";
        },
        std::chrono::seconds(60), std::chrono::milliseconds(5));
    if (!done) throw std::runtime_error("erasure not done in 60 s: " + doc.dump());
    if (doc["devices"].size() != static_cast<size_t>(o.devices)) {
      throw std::runtime_error("erasure did not list every device: " + doc.dump());
    }
    const Durations d = DurationsOf(doc);
    hub_ms.push_back(d.hub_ms);
    done_ms.push_back(d.done_ms);
  }
  std::sort(hub_ms.begin(), hub_ms.end());
  std::sort(done_ms.begin(), done_ms.end());
  Out("round trip (%d requests, each confirmed by all %d devices; hub timestamps, ms):\n"
      "  request -> hub part done:        median %.0f  p99 %.0f  max %.0f\n"
      "  request -> last device receipt:  median %.0f  p99 %.0f  max %.0f\n",
      o.requests, o.devices, Median(hub_ms), Percentile(hub_ms, 0.99), hub_ms.back(),
      Median(done_ms), Percentile(done_ms, 0.99), done_ms.back());

  // 3. Bulk: customers seen on the web only.
  if (o.bulk > 0) {
    const std::string added = Run({testing::CjdctlBinary(), "add-source", "--hub-dir",
                                   hub_dir.string(), "--name", "bench-web"});
    std::smatch m;
    if (!std::regex_search(added, m, std::regex("cjds_[A-Za-z0-9_-]+"))) {
      throw std::runtime_error("no source key printed: " + added);
    }
    const std::string key = m.str();
    constexpr int64_t kPerPost = 1000;
    for (int64_t at = 0; at < o.bulk; at += kPerPost) {
      CheckInterrupted();
      json events = json::array();
      for (int64_t i = at; i < std::min(o.bulk, at + kPerPost); ++i) {
        const std::string email = "bench-" + std::to_string(i) + "@shopper-mail.net";
        events.push_back({{"type", "identify"},
                          {"occurred_at", "2026-11-20T10:00:00Z"},
                          {"customer", {{"email", email}}},
                          {"attributes", {{"first_name", "N" + std::to_string(i)}}}});
        events.push_back({{"type", "order_completed"},
                          {"occurred_at", "2026-11-21T10:00:00Z"},
                          {"customer", {{"email", email}}},
                          {"order", {{"order_id", "W-" + std::to_string(i)}, {"currency", "EUR"},
                                     {"items", {{{"sku", "A"}, {"quantity", 1},
                                                 {"unit_price", "9.99"}}}}}}});
      }
      auto r = hub.Post("/v1/collect", events.dump(), key);
      if (r.status != 202) throw std::runtime_error("collect: " + r.body);
    }
    const int64_t total = 2 * o.bulk;
    const bool projected = testing::WaitUntil(
        [&] {
          CheckInterrupted();
          json s = stack.HubStats();
          return s.is_object() && s["projection"]["cursor"].get<int64_t>() >= total;
        },
        std::chrono::seconds(600), std::chrono::milliseconds(100));
    if (!projected) throw std::runtime_error("projection did not catch up");

    Out("bulk: %" PRId64 " web customers (identify + order each) projected; before: %s\n",
        o.bulk, LoadNow().c_str());
    const double cpu0 = CpuSeconds(stack.hub_pid());
    const auto t0 = SteadyClock::now();
    std::atomic<int64_t> next{0};
    std::atomic<int64_t> max_seq{0};
    std::string last_id;
    std::mutex last_mu;
    std::vector<std::thread> threads;
    std::atomic<bool> failed{false};
    for (int c = 0; c < o.clients; ++c) {
      threads.emplace_back([&] {
        HttpClient client(stack.hub_port(), std::chrono::seconds(30));
        while (!failed) {
          const int64_t i = next.fetch_add(1);
          if (i >= o.bulk) return;
          const json body = {{"identifier", "email:bench-" + std::to_string(i) + "@shopper-mail.net"}};
          auto r = client.Post("/v1/privacy/erasures", body.dump(), token);
          if (r.status != 202) {
            failed = true;
            return;
          }
          const json doc = r.Json();
          const int64_t seq = doc["seq"];
          std::lock_guard lock(last_mu);
          if (seq > max_seq) {
            max_seq = seq;
            last_id = doc["id"];
          }
        }
      });
    }
    for (std::thread& t : threads) t.join();
    if (failed) throw std::runtime_error("an erasure request was refused");
    const double post_s = SecondsSince(t0);
    json doc;
    const bool all = testing::WaitUntil(
        [&] {
          CheckInterrupted();
          auto r = hub.Get("/v1/privacy/erasures/" + last_id, token);
          if (r.status != 200) return false;
          doc = r.Json();
          return doc["hub"]["state"] == "done";
        },
        std::chrono::seconds(o.bulk_timeout_s), std::chrono::milliseconds(20));
    const double all_s = SecondsSince(t0);
    if (!all) {
      throw std::runtime_error("bulk erasures not done in 600 s: " + doc.dump() + "\n" +
                               stack.Diagnostics());
    }
    const double cpu = CpuSeconds(stack.hub_pid()) - cpu0;
    auto m2 = hub.Get("/v1/metrics", token).Json();
    Out("bulk: %" PRId64 " erasure requests by %d clients: posted in %.1f s, every hub part done "
        "%.1f s after the first request (%.0f requests/s); hub CPU %.2f s (%.2f ms per request); "
        "customers left %s, store_totals.orders %s\n",
        o.bulk, o.clients, post_s, all_s, static_cast<double>(o.bulk) / all_s, cpu,
        1000.0 * cpu / static_cast<double>(o.bulk), m2["customers"].dump().c_str(),
        m2["store_totals"]["orders"].dump().c_str());
  }
  Out("# after: %s\n", LoadNow().c_str());
  for (testing::Process& p : agents) p.Terminate(std::chrono::seconds(10));
}

}  // namespace cjd::bench

// cjd-bench matching: does the hub's probabilistic matcher (hub/matching/profile_matcher.h) keep
// pace with an import of identify events at `rate` per second?
//
// A real hub (cjdctl init-hub, a real Mosquitto, `[identity] probabilistic` on with its
// defaults) gets `records` generated FEBRL-like person records (tests/hub/matching/
// generated_people.h, seed 42: 60 % originals, the rest corrupted duplicates, some originals
// with several) as identify events through POST /v1/collect, each under its own customer_id
// with its fields as attributes, in two phases:
// The records are shuffled (fixed seed) so both phases hold originals and duplicates.
//   1. the first half as an import, posts of 1,000 as fast as the hub takes them: the matcher's
//      fit waits for the import to end, then fits once and acts on every candidate pair;
//   2. the second half paced at `rate` events per second (posts of rate / 10 every 100 ms),
//      matched incrementally (each new profile against its blocks), sampling once a second how
//      many posted events the matcher has not looked at yet.
// Both phases run twice, each time on a fresh hub: first with the matcher off ([identity]
// probabilistic = false: the baseline, in the same run), then on.
// After each phase the bench waits until the projection applied everything and the matcher's
// figures stayed unchanged for 1 s, and prints the lag (seconds from the last post to that
// state), the matcher's fits, merges, refusals and review items, and the hub's CPU per event of
// the phase by thread (/proc/PID/task). Keeping pace: phase 2's lag stays a few of the
// matcher's wake-ups and the sampled backlog does not grow with the stream.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/bench/hub_probe.h"
#include "tests/bench/stack.h"
#include "tests/integration/fleet_fixture.h"
#include "tests/hub/matching/generated_people.h"
#include "tests/support/binaries.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/wait.h"

namespace cjd::bench {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;
using testing::HttpClient;

std::string RunTool(const std::vector<std::string>& argv) {
  std::string out;
  const int rc = testing::RunCommand(argv, std::chrono::seconds(60), &out);
  if (rc != 0) throw std::runtime_error(argv[0] + " " + argv[1] + " failed: " + out);
  return out;
}

struct MatchingRun {
  std::vector<double> us_per_event;  // hub CPU per identify event, all threads, per phase
  std::vector<double> lag_s;         // settled after the phase's last post
};

// One hub, both phases; the matcher on or off ([identity] probabilistic).
MatchingRun RunHub(const MatchingBenchOptions& o, const std::vector<hub::matching::Record>& records,
                   bool matcher) {
  CjdStack stack(StackOptions{});
  stack.StartBroker();
  if (!matcher) cjd::itest::SetTomlKey(stack.hub_config(), "identity", "probabilistic", "false");
  stack.StartHub();
  const fs::path hub_dir = stack.hub_config().parent_path();
  const std::string added = RunTool({testing::CjdctlBinary(), "add-source", "--hub-dir",
                                 hub_dir.string(), "--name", "bench-crm"});
  std::smatch key_match;
  if (!std::regex_search(added, key_match, std::regex("cjds_[A-Za-z0-9_-]+"))) {
    throw std::runtime_error("no source key printed: " + added);
  }
  const std::string key = key_match.str();
  HttpClient hub(stack.hub_port(), std::chrono::seconds(60));

  const pid_t pid = stack.hub_pid();
  // Posts records [from, to): paced at o.rate (posts of rate / 10 every 100 ms) or as fast as
  // the hub takes them (posts of 1,000); samples how far the matcher is behind once a second.
  int64_t sent = 0;
  auto post = [&](size_t from, size_t to, bool paced, int64_t* max_behind) {
    const int per_post = paced ? std::max(1, o.rate / 10) : 1000;
    const auto start = SteadyClock::now();
    size_t posts = 0;
    for (size_t at = from; at < to; at += static_cast<size_t>(per_post), ++posts) {
      CheckInterrupted();
      json events = json::array();
      for (size_t i = at; i < std::min(to, at + static_cast<size_t>(per_post)); ++i) {
        json attributes = json::object();
        for (size_t f = 0; f < hub::matching::kFieldCount; ++f) {
          if (!records[i].fields[f].empty()) {
            attributes[std::string(hub::matching::kFieldNames[f])] = records[i].fields[f];
          }
        }
        char id[24];
        std::snprintf(id, sizeof id, "crm-%07zu", i);
        events.push_back({{"type", "identify"},
                          {"occurred_at", "2026-11-20T10:00:00Z"},
                          {"customer", {{"customer_id", id}}},
                          {"attributes", std::move(attributes)}});
      }
      auto r = hub.Post("/v1/collect", events.dump(), key);
      if (r.status != 202) throw std::runtime_error("collect: " + r.body);
      sent += static_cast<int64_t>(events.size());
      if (!paced) continue;
      if (matcher && posts % 10 == 9) {  // once a second: posted but not yet looked at by the matcher
        json st = stack.HubStats();
        if (st.is_object() && st.contains("matching")) {
          const int64_t behind = sent - st["projection"]["events_applied"].get<int64_t>() +
                                 st["matching"]["queued"].get<int64_t>();
          *max_behind = std::max(*max_behind, behind);
        }
      }
      std::this_thread::sleep_until(start + std::chrono::milliseconds(100 * (posts + 1)));
    }
    return SecondsSince(start);
  };
  // Waits until the projection applied everything and the matcher's figures stayed unchanged
  // for 1 s; returns the seconds from the call to the settled state (less that second).
  json stats;
  auto settle = [&] {
    const auto from = SteadyClock::now();
    json last;
    int stable = 0;
    const bool settled = testing::WaitUntil(
        [&] {
          CheckInterrupted();
          stats = stack.HubStats();
          if (!stats.is_object() || !stats.contains("matching")) return false;
          if (stats["projection"]["events_applied"].get<int64_t>() < sent) return false;
          const json& m = stats["matching"];
          if (matcher && (m["fit_waiting"] == true || m["fitting"] == true || m["queued"] != 0)) {
            return false;
          }
          json now = {stats["projection"]["cursor"], m.value("records", json(0)),
                      m.value("merges", json(0)), m.value("compared_pairs", json(0)),
                      m.value("fits", json(0))};
          stable = now == last ? stable + 1 : 0;
          last = now;
          return stable >= 10;
        },
        std::chrono::seconds(600), std::chrono::milliseconds(100));
    if (!settled) throw std::runtime_error("the hub did not settle in 600 s");
    return SecondsSince(from) - 1.0;
  };
  MatchingRun run;
  auto report = [&](const char* phase, double post_s, int64_t events, double lag_s,
                    const std::map<std::string, double>& threads) {
    double cpu_s = 0;
    for (const auto& [name, seconds] : threads) cpu_s += seconds;
    run.us_per_event.push_back(cpu_s * 1e6 / static_cast<double>(events));
    run.lag_s.push_back(lag_s);
    Out("\n[%s, matcher %s] posted %" PRId64 " identify events in %.1f s (%.0f/s); the hub "
        "settled %.2f s after the last post\n",
        phase, matcher ? "on" : "off (baseline)", events, post_s,
        static_cast<double>(events) / post_s, lag_s);
    Out("  hub CPU per identify event of this phase, by thread (us):%s\n",
        PerUnitByThread(threads, events).c_str());
    if (!matcher) return;
    const json& ms = stats["matching"];
    Out("  fits so far %" PRId64 " (the last on %" PRId64 " profiles, %" PRId64
        " candidate pairs, %" PRId64 " ms, lambda %.4f); pairs compared %" PRId64 "\n",
        ms["fits"].get<int64_t>(), ms["last_fit_records"].get<int64_t>(),
        ms["last_fit_candidate_pairs"].get<int64_t>(), ms["last_fit_ms"].get<int64_t>(),
        ms["lambda"].get<double>(), ms["compared_pairs"].get<int64_t>());
    Out("  merges %" PRId64 ", refused %" PRId64 ", review items %" PRId64
        "; live profiles with fields %" PRId64 "\n",
        ms["merges"].get<int64_t>(), ms["refused"].get<int64_t>(),
        ms["reviews_pending"].get<int64_t>(), ms["records"].get<int64_t>());
    if (!ms["last_error"].is_null()) Out("  matcher error: %s\n", ms["last_error"].dump().c_str());
  };

  const size_t half = records.size() / 2;
  auto threads0 = ThreadCpuSeconds(pid);
  const double import_s = post(0, half, /*paced=*/false, nullptr);
  const double import_lag = settle();
  report("1: import, as fast as the hub takes it", import_s, static_cast<int64_t>(half),
         import_lag, ThreadCpuSince(pid, threads0));
  threads0 = ThreadCpuSeconds(pid);
  int64_t max_behind = 0;
  const double stream_s = post(half, records.size(), /*paced=*/true, &max_behind);
  const double stream_lag = settle();
  report("2: the rest at the paced rate, matched incrementally", stream_s,
         static_cast<int64_t>(records.size() - half), stream_lag, ThreadCpuSince(pid, threads0));
  if (matcher) {
    Out("  at most %" PRId64 " events not yet looked at by the matcher at the once-a-second "
        "samples\n",
        max_behind);
  }
  return run;
}

}  // namespace

void RunMatching(const MatchingBenchOptions& o) {
  Out("# cjd-bench matching  %s\n%s", NowUtc().c_str(), Conditions().c_str());
  Out("# before: %s\n", LoadNow().c_str());
  auto generated = hub::matching::generated::GeneratePeople(static_cast<size_t>(o.records), 42);
  // The generator lists the originals first: shuffled (fixed seed), so both phases hold
  // originals and duplicates.
  std::vector<size_t> order(generated.first.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
  std::vector<hub::matching::Record> records;
  std::set<uint32_t> persons;
  for (size_t i : order) {
    records.push_back(generated.first[i]);
    persons.insert(generated.second[i]);
  }
  Out("records: %zu generated FEBRL-like person records (seed 42) of %zu persons, as identify "
      "events at %d/s\n",
      records.size(), persons.size(), o.rate);

  // The baseline first, in the same run: the same hub and events with the matcher off.
  const MatchingRun off = RunHub(o, records, /*matcher=*/false);
  const MatchingRun on = RunHub(o, records, /*matcher=*/true);
  Out("\n%-26s %22s %22s %8s\n", "hub CPU per event (us)", "matcher off (baseline)",
      "matcher on", "on/off");
  const char* kPhases[] = {"1: import", "2: paced, incremental"};
  for (size_t i = 0; i < 2; ++i) {
    Out("%-26s %22.0f %22.0f %7.2fx\n", kPhases[i], off.us_per_event[i], on.us_per_event[i],
        on.us_per_event[i] / off.us_per_event[i]);
  }
  Out("true persons: %zu; the default guardrail max_customer_id = 2 refuses merging a third "
      "record (its own customer_id) into a person\n",
      persons.size());
  Out("# after: %s\n", LoadNow().c_str());
}

}  // namespace cjd::bench

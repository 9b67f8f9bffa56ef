// cjd-bench matching: does the hub's probabilistic matcher (hub/matching/profile_matcher.h) keep
// pace with an import of identify events at `rate` per second?
//
// A real hub (cjdctl init-hub, a real Mosquitto, `[identity] probabilistic` on with its
// defaults) gets `records` generated FEBRL-like person records (tests/hub/matching/
// generated_people.h, seed 42: 60 % originals, the rest corrupted duplicates) as identify
// events through POST /v1/collect, each under its own customer_id with its fields as
// attributes, paced at `rate` events per second in posts of `rate / 10` every 100 ms. While it
// runs, the matcher's figures are sampled; after the last post the bench waits until the
// projection has applied everything and the matcher's figures stop moving, and reports:
//   - the lag: seconds from the last post until the matcher settled (keeping pace = a lag of a
//     few of the matcher's own wake-ups, not growing with the import);
//   - CPU per event by thread (/proc/PID/task), the matcher's fits (count, last fit's time) and
//     its merges, refusals and review items, and live profiles against the true persons.
#include <algorithm>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/bench/benchmarks.h"
#include "tests/bench/common.h"
#include "tests/bench/hub_probe.h"
#include "tests/bench/stack.h"
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

}  // namespace

void RunMatching(const MatchingBenchOptions& o) {
  Out("# cjd-bench matching  %s\n%s", NowUtc().c_str(), Conditions().c_str());
  Out("# before: %s\n", LoadNow().c_str());
  const auto [records, truth] = hub::matching::generated::GeneratePeople(static_cast<size_t>(o.records), 42);
  std::set<uint32_t> persons(truth.begin(), truth.end());
  Out("records: %zu generated FEBRL-like person records (seed 42) of %zu persons, as identify "
      "events at %d/s\n",
      records.size(), persons.size(), o.rate);

  CjdStack stack(StackOptions{});
  stack.StartBroker();
  stack.StartHub();
  const fs::path hub_dir = stack.hub_config().parent_path();
  const std::string added = RunTool({testing::CjdctlBinary(), "add-source", "--hub-dir",
                                 hub_dir.string(), "--name", "bench-crm"});
  std::smatch m;
  if (!std::regex_search(added, m, std::regex("cjds_[A-Za-z0-9_-]+"))) {
    throw std::runtime_error("no source key printed: " + added);
  }
  const std::string key = m.str();
  HttpClient hub(stack.hub_port(), std::chrono::seconds(60));

  const pid_t pid = stack.hub_pid();
  const auto threads_before = ThreadCpuSeconds(pid);
  const int per_post = std::max(1, o.rate / 10);
  const auto start = SteadyClock::now();
  int64_t sent = 0;
  int64_t max_behind = 0;  // identify events posted but not yet in the matcher's index, sampled
  for (size_t at = 0; at < records.size(); at += static_cast<size_t>(per_post)) {
    CheckInterrupted();
    json events = json::array();
    for (size_t i = at; i < std::min(records.size(), at + static_cast<size_t>(per_post)); ++i) {
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
    if ((at / static_cast<size_t>(per_post)) % 10 == 0) {  // once a second
      json s = stack.HubStats();
      if (s.is_object() && s.contains("matching")) {
        // merged profiles leave the index: count them as done
        const int64_t done = s["matching"]["records"].get<int64_t>() +
                             s["projection"]["merges"].get<int64_t>();
        max_behind = std::max(max_behind, sent - done);
      }
    }
    // Pace: post k is due at k x 100 ms.
    const auto due = start + std::chrono::milliseconds(100 * (1 + at / static_cast<size_t>(per_post)));
    std::this_thread::sleep_until(due);
  }
  const double post_s = SecondsSince(start);
  const auto last_post = SteadyClock::now();
  json last, stats;
  int stable = 0;
  const bool settled = testing::WaitUntil(
      [&] {
        CheckInterrupted();
        stats = stack.HubStats();
        if (!stats.is_object() || !stats.contains("matching")) return false;
        if (stats["projection"]["events_applied"].get<int64_t>() < sent) return false;
        json now = {stats["matching"]["records"], stats["matching"]["merges"],
                    stats["matching"]["compared_pairs"], stats["matching"]["fits"]};
        stable = now == last ? stable + 1 : 0;
        last = now;
        return stable >= 10;  // 1 s unchanged
      },
      std::chrono::seconds(600), std::chrono::milliseconds(100));
  if (!settled) throw std::runtime_error("the matcher did not settle in 600 s");
  const double lag_s = SecondsSince(last_post) - 1.0;  // less the 1 s of proof that it settled
  const auto threads = ThreadCpuSince(pid, threads_before);
  const json& ms = stats["matching"];
  Out("posted %" PRId64 " identify events in %.1f s (%.0f/s)\n", sent, post_s,
      static_cast<double>(sent) / post_s);
  Out("matcher settled %.2f s after the last post (less the 1 s it had to stay unchanged); "
      "at most %" PRId64 " events behind at the once-a-second samples\n",
      lag_s, max_behind);
  Out("fits: %" PRId64 " (the last on %" PRId64 " profiles, %" PRId64 " candidate pairs, %" PRId64
      " ms, lambda %.4f); pairs compared %" PRId64 "\n",
      ms["fits"].get<int64_t>(), ms["last_fit_records"].get<int64_t>(),
      ms["last_fit_candidate_pairs"].get<int64_t>(), ms["last_fit_ms"].get<int64_t>(),
      ms["lambda"].get<double>(), ms["compared_pairs"].get<int64_t>());
  Out("merges %" PRId64 ", refused %" PRId64 ", review items %" PRId64
      "; live profiles %" PRId64 " for %zu true persons\n",
      ms["merges"].get<int64_t>(), ms["refused"].get<int64_t>(),
      ms["reviews_pending"].get<int64_t>(), ms["records"].get<int64_t>(), persons.size());
  Out("hub CPU per identify event, by thread (us):%s\n",
      PerUnitByThread(threads, sent).c_str());
  Out("# after: %s\n", LoadNow().c_str());
}

}  // namespace cjd::bench

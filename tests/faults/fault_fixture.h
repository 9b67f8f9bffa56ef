// The shared parts of the fault tests: a seed (printed, replayable), steady POS traffic that
// retries through faults, and the end check every case shares (every 202-acknowledged event at
// the hub exactly once, every agent's backlog drained, no agent sequence spent on a duplicate).
//
// Builds on the integration fixture (tests/integration/fleet_fixture.h): a real Mosquitto, real
// cjd-hub and cjd-agent processes, real SQLite files. As there, processes are started and killed
// from the test body's thread only; the traffic threads only talk HTTP.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/fleet_fixture.h"

namespace cjd::faults {

using namespace cjd::itest;  // Fleet, FleetAgent, HttpClient, PostEvents, ...
using namespace std::chrono_literals;

// CJD_FAULT_SEED=N replays an earlier run's choices; otherwise a random seed. Printed to stderr
// and recorded as the test's "seed" property.
uint32_t FaultSeed();

// One thread per agent posting batches of 1..`max_batch` events with client-given ids (the agent
// id, a counter), `pause` apart. A transport error (the agent is down), 503 or 507 is retried with
// the very same body until it gets a 202 (at most `retry_deadline` per request); anything else is a
// failure. Ids are recorded as accepted only on a 202.
class SteadyTraffic {
 public:
  SteadyTraffic(std::vector<FleetAgent*> agents, uint32_t seed,
                std::chrono::milliseconds pause = 25ms, int max_batch = 10,
                std::chrono::milliseconds retry_deadline = 120s);
  ~SteadyTraffic();  // Stop()s
  SteadyTraffic(const SteadyTraffic&) = delete;
  SteadyTraffic& operator=(const SteadyTraffic&) = delete;

  // Lets each thread finish its current request (with its retries), then joins. Idempotent.
  void Stop();

  int64_t accepted() const { return accepted_total_.load(); }
  int64_t retries() const { return retries_.load(); }
  // After Stop(): every accepted id, and per agent id.
  std::set<std::string> AcceptedIds() const;
  std::map<std::string, std::set<std::string>> AcceptedByAgent() const;
  // "" when every request ended in a 202 (or was not started).
  std::string Failures() const;

 private:
  struct Tally {
    std::string agent_id;
    std::set<std::string> accepted;
    std::string failure;
  };
  void Run(const FleetAgent* agent, uint32_t seed, Tally* tally);

  const std::chrono::milliseconds pause_;
  const int max_batch_;
  const std::chrono::milliseconds retry_deadline_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> accepted_total_{0};
  std::atomic<int64_t> retries_{0};
  std::vector<Tally> tallies_;  // one per thread; read after Stop()
  std::vector<std::thread> threads_;
};

// Waits (bounded) until `traffic` has `more` accepted events beyond its count at the call and the
// hub's events_total has grown past `hub_total_before`, i.e. the whole path works again. False at
// the deadline.
bool WaitProgress(Fleet& fleet, const SteadyTraffic& traffic, int64_t more,
                  std::chrono::milliseconds timeout = kDeliveryTimeout);

// The end of every case (after traffic.Stop()): no request failed, something was accepted, the hub
// holds every accepted id exactly once and nothing else, every agent's backlog drained with
// acked_seq == last_seq, and each agent's last_seq equals the events accepted through it (a
// duplicate never took a sequence number).
void ExpectExactlyOnce(Fleet& fleet, const SteadyTraffic& traffic);

// PRAGMA integrity_check of a SQLite file through a read-only connection: "ok" when sound.
std::string IntegrityCheck(const std::filesystem::path& db);

}  // namespace cjd::faults

// BenchBroker: a Mosquitto on a fixed loopback port with the benchmark's own config (persistence,
// bridge), which tests/support/mosquitto.h does not offer. Same process handling as there
// (tests/support Process: killed with the starting thread), and Stop()/Start() keep the port and
// the persistence directory, so a stopped broker comes back with its sessions.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "tests/support/process.h"

namespace cjd::bench {

struct BrokerOptions {
  bool persistence = false;          // persistence_location = dir/
  int64_t max_queued_messages = 100'000;
  int max_inflight_messages = 100;
  std::string extra;                 // appended verbatim (e.g. a bridge section)
};

class BenchBroker {
 public:
  // Picks a free loopback port and writes `dir`/mosquitto.conf. Does not start.
  BenchBroker(std::filesystem::path dir, BrokerOptions options);
  ~BenchBroker();
  BenchBroker(const BenchBroker&) = delete;
  BenchBroker& operator=(const BenchBroker&) = delete;

  // Starts and waits (10 s at most) until the broker listens. Throws std::runtime_error.
  void Start();
  // SIGTERM (Mosquitto then writes its persistence file) and waits, SIGKILL after `timeout`.
  void Stop(std::chrono::milliseconds timeout = std::chrono::seconds(30));
  bool Running() { return process_.Running(); }

  uint16_t port() const { return port_; }
  std::string Uri() const { return "tcp://127.0.0.1:" + std::to_string(port_); }
  pid_t pid() const { return process_.pid(); }
  const std::filesystem::path& dir() const { return dir_; }
  std::string Diagnostics() const;

 private:
  void WriteConfig() const;

  std::filesystem::path dir_;
  BrokerOptions options_;
  uint16_t port_;
  testing::Process process_;
};

}  // namespace cjd::bench

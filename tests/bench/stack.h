// CjdStack: one broker, one cjd-hub and one POS cjd-agent, provisioned with cjdctl in a temporary
// directory and run as real processes on loopback ports. Every process is started from the
// calling thread (the main thread: tests/support Process children die with their starting thread)
// and stopped by the destructor, also on exceptions.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "tests/bench/broker.h"
#include "tests/support/http_client.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"

namespace cjd::bench {

struct StackOptions {
  // Broker persistence: on for the drain, so the hub's persistent session (its subscriptions)
  // survives the broker's stop while the backlog is built.
  bool broker_persistence = false;
  // The agent's [outbox] budget_bytes; 0 keeps what cjdctl wrote (256 MiB).
  int64_t agent_budget_bytes = 0;
  // cjdctl add-device --kind: "pos" (device CjdStack::kDeviceId) or "kiosk" (CjdStack::kKioskId).
  std::string device_kind = "pos";
};

class CjdStack {
 public:
  static constexpr const char* kDeviceId = "pos-0001";
  static constexpr const char* kKioskId = "kiosk-0001";
  static constexpr const char* kStoreId = "store-042";

  // Provisions (cjdctl init-hub, add-device); starts nothing.
  explicit CjdStack(StackOptions options);
  ~CjdStack();
  CjdStack(const CjdStack&) = delete;
  CjdStack& operator=(const CjdStack&) = delete;

  // Broker, hub, agent; then waits until both are connected to the broker (bounded).
  void StartAll();
  void StartBroker() { broker_.Start(); }
  void StopBroker() { broker_.Stop(); }
  void StartHub();
  void StartAgent();
  // SIGTERM, bounded; the agent finishes its queued commits.
  void StopAgent();
  void StopHub();

  // GET /v1/status of the agent, GET /v1/stats of the hub; a null json on any failure.
  nlohmann::json AgentStatus();
  nlohmann::json HubStats();
  bool AgentConnected();
  bool HubConnected();
  int64_t AgentBacklog();        // -1 if unknown
  int64_t HubEventsTotal();      // -1 if unknown

  uint16_t agent_port() const { return agent_port_; }
  uint16_t hub_port() const { return hub_port_; }
  const std::string& agent_token() const { return agent_token_; }
  // The hub's admin token ([http] token of hub.toml).
  const std::string& hub_token() const { return hub_token_; }
  const std::string& device_id() const { return device_id_; }
  const std::filesystem::path& agent_config() const { return agent_config_; }
  pid_t agent_pid() const { return agent_.pid(); }
  pid_t hub_pid() const { return hub_.pid(); }
  pid_t broker_pid() const { return broker_.pid(); }
  BenchBroker& broker() { return broker_; }
  const std::filesystem::path& dir() const { return dir_.path(); }
  const std::filesystem::path& hub_config() const { return hub_config_; }
  std::string Diagnostics() const;

 private:
  testing::TempDir dir_;
  StackOptions options_;
  BenchBroker broker_;
  uint16_t hub_port_ = 0;
  uint16_t agent_port_ = 0;
  std::string hub_token_;
  std::string agent_token_;
  std::string device_id_;
  std::filesystem::path hub_config_;
  std::filesystem::path agent_config_;
  testing::Process hub_;
  testing::Process agent_;
  std::unique_ptr<testing::HttpClient> agent_http_;
  std::unique_ptr<testing::HttpClient> hub_http_;
};

}  // namespace cjd::bench

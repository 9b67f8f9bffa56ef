#include "tests/bench/stack.h"

#include <filesystem>
#include <fstream>
#include <regex>
#include <stdexcept>

#include "tests/bench/common.h"
#include "tests/support/binaries.h"
#include "tests/support/ports.h"
#include "tests/support/wait.h"

namespace cjd::bench {
namespace fs = std::filesystem;
using testing::HttpClient;
using testing::Process;

namespace {

fs::path MakeDir(const fs::path& p) {
  fs::create_directories(p);
  return p;
}

// The value of `key = "..."` in section [section] of a TOML file written by cjdctl.
std::string TomlString(const fs::path& file, const std::string& section, const std::string& key) {
  std::ifstream in(file);
  std::string line;
  std::string current;
  const std::regex kv("^\\s*" + key + "\\s*=\\s*\"([^\"]*)\"");
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] == '[') {
      current = line.substr(1, line.find(']') - 1);
      continue;
    }
    std::smatch m;
    if (current == section && std::regex_search(line, m, kv)) return m[1];
  }
  throw std::runtime_error("no " + section + "." + key + " in " + file.string());
}

void RunChecked(const std::vector<std::string>& argv) {
  std::string output;
  const int rc = testing::RunCommand(argv, std::chrono::seconds(60), &output);
  if (rc != 0) {
    std::string cmd;
    for (const auto& a : argv) cmd += a + " ";
    throw std::runtime_error("command failed (" + std::to_string(rc) + "): " + cmd + "\n" + output);
  }
}

std::string Tail(const fs::path& p, size_t n = 3000) {
  std::string text = testing::ReadFile(p);
  if (text.size() > n) text = "..." + text.substr(text.size() - n);
  return "--- " + p.string() + " ---\n" + text;
}

}  // namespace

CjdStack::CjdStack(StackOptions options)
    : dir_("cjd-bench-"),
      options_(options),
      broker_(MakeDir(dir_.Join("broker")), BrokerOptions{options.broker_persistence}) {
  for (const std::string& p :
       {testing::CjdctlBinary(), testing::HubBinary(), testing::AgentBinary()}) {
    if (!fs::exists(p)) throw std::runtime_error("not built: " + p);
  }
  hub_port_ = testing::FreeLoopbackPort();
  agent_port_ = testing::FreeLoopbackPort();
  const fs::path hub_dir = dir_.Join("hub");
  const fs::path agent_dir = MakeDir(dir_.Join("agent"));
  RunChecked({testing::CjdctlBinary(), "init-hub", "--dir", hub_dir.string(), "--broker",
              broker_.Uri(), "--listen", "127.0.0.1:" + std::to_string(hub_port_)});
  hub_config_ = hub_dir / "hub.toml";
  if (options_.device_kind != "pos" && options_.device_kind != "kiosk") {
    throw std::runtime_error("StackOptions: device_kind must be pos or kiosk");
  }
  device_id_ = options_.device_kind == "pos" ? kDeviceId : kKioskId;
  agent_config_ = agent_dir / (device_id_ + ".toml");
  RunChecked({testing::CjdctlBinary(), "add-device", "--hub-dir", hub_dir.string(), "--id",
              device_id_, "--store", kStoreId, "--kind", options_.device_kind, "--listen",
              "127.0.0.1:" + std::to_string(agent_port_), "--out", agent_config_.string()});
  hub_token_ = TomlString(hub_config_, "http", "token");
  agent_token_ = TomlString(agent_config_, "http", "token");
  if (options_.agent_budget_bytes > 0) {
    // cjdctl writes "budget_bytes = 268435456" under [outbox]; raise it for a large backlog.
    std::string text = testing::ReadFile(agent_config_);
    const std::regex budget("budget_bytes = [0-9]+");
    if (!std::regex_search(text, budget)) {
      throw std::runtime_error("no budget_bytes in " + agent_config_.string());
    }
    text = std::regex_replace(text, budget,
                              "budget_bytes = " + std::to_string(options_.agent_budget_bytes));
    std::ofstream(agent_config_, std::ios::trunc) << text;
  }
  agent_http_ = std::make_unique<HttpClient>(agent_port_, std::chrono::seconds(5));
  hub_http_ = std::make_unique<HttpClient>(hub_port_, std::chrono::seconds(5));
}

CjdStack::~CjdStack() {
  // Agent first (it may still publish), then hub, then broker (its own destructor).
  if (agent_.pid() > 0) agent_.Terminate(std::chrono::seconds(10));
  if (hub_.pid() > 0) hub_.Terminate(std::chrono::seconds(10));
}

void CjdStack::StartHub() {
  hub_ = Process::Start({testing::HubBinary(), "--config", hub_config_.string()},
                        dir_.Join("hub.log"));
  const bool up = testing::WaitUntil(
      [this] { return !hub_.Running() || hub_http_->Get("/healthz").status == 200; },
      std::chrono::seconds(20), std::chrono::milliseconds(20));
  if (!up || !hub_.Running()) {
    throw std::runtime_error("cjd-hub did not start\n" + hub_.LogTail());
  }
}

void CjdStack::StartAgent() {
  agent_ = Process::Start({testing::AgentBinary(), "--config", agent_config_.string()},
                          dir_.Join("agent.log"));
  // An agent that opens a large outbox takes a while (it sums the backlog at start).
  const bool up = testing::WaitUntil(
      [this] { return !agent_.Running() || agent_http_->Get("/healthz").status == 200; },
      std::chrono::seconds(120), std::chrono::milliseconds(20));
  if (!up || !agent_.Running()) {
    throw std::runtime_error("cjd-agent did not start\n" + agent_.LogTail());
  }
}

void CjdStack::StopAgent() {
  if (agent_.pid() > 0) agent_.Terminate(std::chrono::seconds(30));
}

void CjdStack::StopHub() {
  if (hub_.pid() > 0) hub_.Terminate(std::chrono::seconds(30));
}

void CjdStack::StartAll() {
  broker_.Start();
  StartHub();
  StartAgent();
  const bool connected = testing::WaitUntil(
      [this] {
        CheckInterrupted();
        return AgentConnected() && HubConnected();
      },
      std::chrono::seconds(30), std::chrono::milliseconds(20));
  if (!connected) throw std::runtime_error("agent or hub did not connect\n" + Diagnostics());
}

nlohmann::json CjdStack::AgentStatus() {
  auto r = agent_http_->Get("/v1/status");
  return r.status == 200 ? r.Json() : nlohmann::json();
}

nlohmann::json CjdStack::HubStats() {
  auto r = hub_http_->Get("/v1/stats", hub_token_);
  return r.status == 200 ? r.Json() : nlohmann::json();
}

bool CjdStack::AgentConnected() {
  auto j = AgentStatus();
  return j.is_object() && j.value("connected", false);
}

bool CjdStack::HubConnected() {
  auto j = HubStats();
  return j.is_object() && j.contains("ingest") && j["ingest"].value("connected", false);
}

int64_t CjdStack::AgentBacklog() {
  auto j = AgentStatus();
  return j.is_object() ? j.value("backlog", int64_t{-1}) : -1;
}

int64_t CjdStack::HubEventsTotal() {
  auto j = HubStats();
  return j.is_object() ? j.value("events_total", int64_t{-1}) : -1;
}

std::string CjdStack::Diagnostics() const {
  return Tail(dir_.Join("agent.log")) + Tail(dir_.Join("hub.log")) + broker_.Diagnostics();
}

}  // namespace cjd::bench

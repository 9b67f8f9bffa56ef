// Fleet: the shared fixture of the integration tests. A real Mosquitto on a loopback port, a hub
// provisioned with `cjdctl init-hub`, agents provisioned with `cjdctl add-device`, real cjd-hub and
// cjd-agent processes, and read-only access to the hub's SQLite store to check exactly-once.
//
//   if (!Mosquitto::Available()) GTEST_SKIP() << Mosquitto::UnavailableReason();
//   Fleet fleet;                          // a TempDir; nothing runs yet
//   fleet.StartBroker();
//   fleet.InitHub();
//   FleetAgent& a = fleet.AddDevice("pos-1", "s1");
//   fleet.StartHub();
//   fleet.StartAgent(a);
//   HttpClient client(a.port);
//   PostResult r = PostEvents(client, a.token, body);
//
// Every process is started from the calling thread (Process children die when the thread that
// started them exits): call Start*/Restart*/Kill* from the test body's thread only. Every wait is
// bounded. The generated configs get short uplink timers (ack_timeout_ms 2000, heartbeat_s 1) so
// the tests normally finish fast; SetTomlKey() overrides anything else before a start.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "shared/protocol/keys.h"
#include "tests/support/http_client.h"
#include "tests/support/mosquitto.h"
#include "tests/support/postgres.h"
#include "tests/support/process.h"
#include "tests/support/temp_dir.h"
#include "tests/support/tls_pki.h"

namespace cjd::itest {

using cjd::testing::HttpClient;
using cjd::testing::HttpResponse;
using cjd::testing::Mosquitto;
using cjd::testing::Process;
using cjd::testing::TempDir;
using namespace std::chrono_literals;

// Generous bounds for a small, loaded 2-core machine; the tests normally finish far sooner.
inline constexpr std::chrono::milliseconds kStartTimeout = 30s;
inline constexpr std::chrono::milliseconds kDeliveryTimeout = 120s;

// ---- TOML files --------------------------------------------------------------------------------

// Sets `key = value` in `[section]` of the TOML file (`value` is a TOML literal: 2000, "text",
// true), replacing an existing line for that key or adding one; adds the section if missing.
void SetTomlKey(const std::filesystem::path& file, const std::string& section,
                const std::string& key, const std::string& value);
// Removes the `key = ...` line from `[section]`; false if there was none.
bool RemoveTomlKey(const std::filesystem::path& file, const std::string& section,
                   const std::string& key);
// The string value of `key` in `[section]` (quotes removed); "" if absent.
std::string GetTomlString(const std::filesystem::path& file, const std::string& section,
                          const std::string& key);
// A TOML basic string literal.
std::string TomlQuote(const std::string& s);

// ---- events ------------------------------------------------------------------------------------

// A valid transaction for `store` with `items` items; `event_id` is left out when empty.
nlohmann::json MakeTransaction(const std::string& store, const std::string& event_id = "",
                               int items = 1);
// A valid loyalty scan for `store`; `event_id` is left out when empty.
nlohmann::json MakeLoyaltyScan(const std::string& store, const std::string& event_id = "");

struct PostResult {
  int status = 0;                       // 0: transport error (agent down, timeout)
  std::vector<std::string> event_ids;   // from a 202
  int64_t accepted = -1;
  int64_t duplicates = -1;
  nlohmann::json json;                  // the parsed body (null if not JSON)
  std::string body;
};
// POST /v1/events with `body` (an event or an array) and the bearer token.
PostResult PostEvents(HttpClient& client, const std::string& token, const nlohmann::json& body);
PostResult PostRaw(HttpClient& client, const std::string& token, const std::string& body);

// ---- the hub's store ---------------------------------------------------------------------------

struct HubEventRow {
  std::string event_id;
  std::string source;
  int64_t seq = 0;
  std::string type;
  int64_t epoch = 0;  // the device's outbox epoch (bit pattern; 0 for collect and legacy events)
};
// Every row of the hub's `events` table, read through a read-only SQLite connection (or, for a
// Fleet whose hub keeps its store in PostgreSQL, through psql). Retries a
// few times while the hub holds a lock; fails the test (ADD_FAILURE) and returns what it has if
// the table cannot be read.
std::vector<HubEventRow> ReadHubEvents(const std::filesystem::path& hub_db);

// Exactly-once: the hub holds every id in `accepted` exactly once, nothing else (when
// `allowed_extra` is given, other rows must at least be in it), and no device sequence twice
// within one outbox epoch.
::testing::AssertionResult HubHoldsExactly(const std::filesystem::path& hub_db,
                                           const std::set<std::string>& accepted,
                                           const std::set<std::string>* allowed_extra = nullptr);

// ---- processes ---------------------------------------------------------------------------------

struct FleetAgent {
  std::string id;
  std::string store;
  std::string token;
  uint16_t port = 0;
  std::filesystem::path config;
  std::filesystem::path log;
  Process process;
};

class Fleet {
 public:
  explicit Fleet(const std::string& prefix = "cjd-itest-");
  ~Fleet();  // SIGTERMs agents, hub and broker (bounded), then the TempDir goes
  Fleet(const Fleet&) = delete;
  Fleet& operator=(const Fleet&) = delete;

  const TempDir& dir() const { return dir_; }

  // Broker. StartBroker() throws (failing the test) if Mosquitto cannot start. `persistence`: see
  // Mosquitto::Start.
  void StartBroker(bool persistence = false);
  // The production shape instead (device-configs/mosquitto.conf and mosquitto.acl): mutual TLS
  // with a CA made in dir()/pki by cjdctl's CA code; InitHub() and AddDevice() then pass
  // --ca-dir, so the hub and every agent connect with their own certificate and check the
  // broker's certificate and host name (127.0.0.1).
  void StartTlsBroker();
  Mosquitto& broker() { return *broker_; }
  // The CA of StartTlsBroker(); null with a plain broker.
  const cjd::testing::TlsPki* pki() const { return pki_ ? &*pki_ : nullptr; }

  // Hub: `cjdctl init-hub` into dir()/hub, [fleet] offline_after_s = `offline_after_s`;
  // `extra`: more init-hub arguments ("--database", URL). With CJD_ITEST_DATABASE=postgres in
  // the environment (and no --database in `extra`), the hub's event store goes to a PostgreSQL
  // started for this Fleet: the same suites run against both backends (tests/README.md).
  void InitHub(int offline_after_s = 10, const std::vector<std::string>& extra = {});
  // `cjdctl add-source --name NAME` into the hub's folder (after InitHub): the source's key for
  // POST /v1/collect. Throws when cjdctl fails or prints no key. `extra`: more arguments
  // ("--allowed-origin", "https://shop.test").
  std::string AddSource(const std::string& name, const std::vector<std::string>& extra = {});
  // Runs cjdctl with `args` (bounded: 60 s); its exit code, stdout and stderr in `output`.
  static int Cjdctl(const std::vector<std::string>& args, std::string* output);
  // `cjdctl add-token --role ROLE --name NAME` into the hub's folder (after InitHub): the new
  // API token. Throws when cjdctl fails or prints no token.
  std::string AddToken(const std::string& role, const std::string& name);
  // Starts cjd-hub and waits for /healthz (fails the test on timeout or exit).
  void StartHub();
  // kill -9 the hub.
  void KillHub();
  Process& hub_process() { return hub_; }
  uint16_t hub_port() const { return hub_port_; }
  const std::string& hub_token() const { return hub_token_; }
  const std::filesystem::path& hub_config() const { return hub_config_; }
  std::filesystem::path hub_db() const { return hub_dir_ / "hub.db"; }
  // The PostgreSQL of CJD_ITEST_DATABASE=postgres (null otherwise).
  cjd::testing::Postgres* postgres() { return pg_ ? &*pg_ : nullptr; }
  const std::filesystem::path& hub_dir() const { return hub_dir_; }

  // `cjdctl add-device`; the config gets [uplink] ack_timeout_ms = 2000, heartbeat_s = 1.
  FleetAgent& AddDevice(const std::string& id, const std::string& store,
                        const std::string& kind = "pos");
  // Starts cjd-agent and waits for /healthz; retries a few times if it exits at once (its port
  // still held after a kill -9). Returns false (and fails the test) when it does not come up.
  bool StartAgent(FleetAgent& agent);
  void KillAgent(FleetAgent& agent);
  std::vector<std::unique_ptr<FleetAgent>>& agents() { return agents_; }

  // Hub API (null json if the hub does not answer with 200).
  nlohmann::json HubStats();
  nlohmann::json HubDevices();
  int64_t HubEventsTotal();  // -1 if the hub does not answer
  bool HubHealthy();
  // Agent API.
  nlohmann::json AgentStatus(const FleetAgent& agent);

  // Bounded waits; each returns false at the deadline.
  bool WaitHubEventsTotal(int64_t n, std::chrono::milliseconds timeout = kDeliveryTimeout);
  bool WaitBacklogDrained(const FleetAgent& agent,
                          std::chrono::milliseconds timeout = kDeliveryTimeout);
  // GET /v1/devices lists the agent online with acked_seq == last_seq == the agent's last_seq.
  bool WaitDeviceCaughtUp(const FleetAgent& agent,
                          std::chrono::milliseconds timeout = kDeliveryTimeout);
  bool WaitAgentConnected(const FleetAgent& agent, bool connected,
                          std::chrono::milliseconds timeout = kStartTimeout);

  // Log tails of every process, for failure messages.
  std::string Diagnostics() const;

 private:
  TempDir dir_;
  std::optional<cjd::testing::TlsPki> pki_;
  std::optional<Mosquitto> broker_;
  std::optional<cjd::testing::Postgres> pg_;
  std::filesystem::path hub_dir_;
  std::filesystem::path hub_config_;
  std::string hub_token_;
  uint16_t hub_port_ = 0;
  Process hub_;
  std::vector<std::unique_ptr<FleetAgent>> agents_;
};

// Waits for `port` to answer GET /healthz with 200 while `process` runs. False on timeout or exit.
bool WaitHealthy(Process& process, uint16_t port, std::chrono::milliseconds timeout);

// ---- raw MQTT, for hostile frames --------------------------------------------------------------

// The session keys of the device whose agent config is `agent_config` (from its [keys]).
SessionKeys DeviceKeysFromConfig(const std::filesystem::path& agent_config);

// A Paho client without persistence, used synchronously from the test thread: every publish
// waits for the broker's QoS 1 acknowledgement.
class MqttProbe {
 public:
  // Connects (bounded); throws std::runtime_error on failure.
  MqttProbe(const std::string& uri, const std::string& client_id);
  // The same over TLS with a client certificate (the broker's user name is its CN). Checks the
  // broker's certificate against `ca_file` and its host name, as MqttLink does.
  struct Tls {
    std::filesystem::path ca_file;
    std::filesystem::path cert_file;
    std::filesystem::path key_file;
  };
  MqttProbe(const std::string& uri, const std::string& client_id, const Tls& tls);
  ~MqttProbe();
  MqttProbe(const MqttProbe&) = delete;
  MqttProbe& operator=(const MqttProbe&) = delete;

  void Subscribe(const std::string& filter);  // QoS 1; throws on failure
  // QoS 1; false if the broker refused the subscription (or did not answer in time).
  bool TrySubscribe(const std::string& filter);
  bool Publish(const std::string& topic, const std::string& payload, bool retained = false);
  // The next message received (topic, payload), or nullopt after `timeout`.
  std::optional<std::pair<std::string, std::string>> Next(std::chrono::milliseconds timeout);

 private:
  struct Impl;
  void Connect(const std::string& uri, const std::string& client_id, const Tls* tls);
  std::unique_ptr<Impl> impl_;
};

}  // namespace cjd::itest

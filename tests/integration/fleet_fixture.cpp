#include "tests/integration/fleet_fixture.h"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <mqtt/async_client.h>

#include "tests/support/binaries.h"
#include "tests/support/ports.h"
#include "tests/support/wait.h"

namespace cjd::itest {
namespace fs = std::filesystem;
using cjd::testing::FreeLoopbackPort;
using cjd::testing::RunCommand;
using cjd::testing::WaitUntil;

namespace {

std::string Trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r");
  return s.substr(b, e - b + 1);
}

std::vector<std::string> ReadLines(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

void WriteLines(const fs::path& file, const std::vector<std::string>& lines) {
  std::ofstream out(file, std::ios::trunc);
  for (const auto& l : lines) out << l << "\n";
  out.close();
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

bool IsSectionHeader(const std::string& line) {
  const std::string t = Trim(line);
  return !t.empty() && t.front() == '[';
}

// The key of a `key = value` line, "" for anything else.
std::string LineKey(const std::string& line) {
  const std::string t = Trim(line);
  if (t.empty() || t.front() == '#' || t.front() == '[') return "";
  const auto eq = t.find('=');
  if (eq == std::string::npos) return "";
  return Trim(t.substr(0, eq));
}

// [begin, end) of the lines inside `[section]`; begin == npos when the section is absent.
std::pair<size_t, size_t> SectionRange(const std::vector<std::string>& lines,
                                       const std::string& section) {
  const std::string header = "[" + section + "]";
  for (size_t i = 0; i < lines.size(); ++i) {
    if (Trim(lines[i]) != header) continue;
    size_t end = i + 1;
    while (end < lines.size() && !IsSectionHeader(lines[end])) ++end;
    return {i + 1, end};
  }
  return {std::string::npos, std::string::npos};
}

std::string Tail(const fs::path& path, size_t max_bytes = 3000) {
  std::string text = cjd::testing::ReadFile(path);
  if (text.size() > max_bytes) text = "..." + text.substr(text.size() - max_bytes);
  return text;
}

int RunCjdctl(const std::vector<std::string>& args, std::string* output) {
  std::vector<std::string> argv = {cjd::testing::CjdctlBinary()};
  argv.insert(argv.end(), args.begin(), args.end());
  return RunCommand(argv, 60s, output);
}

}  // namespace

// ---- TOML --------------------------------------------------------------------------------------

std::string TomlQuote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

void SetTomlKey(const fs::path& file, const std::string& section, const std::string& key,
                const std::string& value) {
  std::vector<std::string> lines = ReadLines(file);
  const std::string line = key + " = " + value;
  auto [begin, end] = SectionRange(lines, section);
  if (begin == std::string::npos) {
    if (!lines.empty() && !Trim(lines.back()).empty()) lines.emplace_back();
    lines.push_back("[" + section + "]");
    lines.push_back(line);
    return WriteLines(file, lines);
  }
  for (size_t i = begin; i < end; ++i) {
    if (LineKey(lines[i]) == key) {
      lines[i] = line;
      return WriteLines(file, lines);
    }
  }
  size_t at = end;  // after the section's last non-blank line
  while (at > begin && Trim(lines[at - 1]).empty()) --at;
  lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at), line);
  WriteLines(file, lines);
}

bool RemoveTomlKey(const fs::path& file, const std::string& section, const std::string& key) {
  std::vector<std::string> lines = ReadLines(file);
  auto [begin, end] = SectionRange(lines, section);
  if (begin == std::string::npos) return false;
  for (size_t i = begin; i < end; ++i) {
    if (LineKey(lines[i]) == key) {
      lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(i));
      WriteLines(file, lines);
      return true;
    }
  }
  return false;
}

std::string GetTomlString(const fs::path& file, const std::string& section,
                          const std::string& key) {
  std::vector<std::string> lines = ReadLines(file);
  auto [begin, end] = SectionRange(lines, section);
  if (begin == std::string::npos) return "";
  for (size_t i = begin; i < end; ++i) {
    if (LineKey(lines[i]) != key) continue;
    std::string v = Trim(lines[i].substr(lines[i].find('=') + 1));
    if (v.size() >= 2 && v.front() == '"') {
      std::string out;
      for (size_t k = 1; k < v.size() && v[k] != '"'; ++k) {
        if (v[k] == '\\' && k + 1 < v.size()) ++k;
        out += v[k];
      }
      return out;
    }
    return v;
  }
  return "";
}

// ---- events ------------------------------------------------------------------------------------

nlohmann::json MakeTransaction(const std::string& store, const std::string& event_id, int items) {
  static std::atomic<int64_t> order_counter{0};
  const int64_t n = order_counter.fetch_add(1);
  nlohmann::json j;
  j["type"] = "transaction";
  if (!event_id.empty()) j["event_id"] = event_id;
  j["occurred_at"] = "2026-11-23T10:00:00+01:00";
  j["store_id"] = store;
  j["customer"] = {{"loyalty_id", "L" + std::to_string(n % 97)}, {"email", "a@b.com"}};
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < std::max(items, 1); ++i) {
    list.push_back({{"sku", "SKU-" + std::to_string(i)},
                    {"quantity", 1 + i % 3},
                    {"unit_price", "12.10"}});
  }
  j["order"] = {{"order_id", "o-" + std::to_string(n)},
                {"currency", "EUR"},
                {"items", list},
                {"payment", {{"method", "card"}}}};
  return j;
}

nlohmann::json MakeLoyaltyScan(const std::string& store, const std::string& event_id) {
  nlohmann::json j;
  j["type"] = "loyalty_scan";
  if (!event_id.empty()) j["event_id"] = event_id;
  j["occurred_at"] = "2026-11-23T10:05:00.250Z";
  j["store_id"] = store;
  j["customer"] = {{"loyalty_id", "L1"}};
  return j;
}

PostResult PostRaw(HttpClient& client, const std::string& token, const std::string& body) {
  const HttpResponse r = client.Post("/v1/events", body, token);
  PostResult out;
  out.status = r.status;
  out.body = r.body;
  out.json = r.status != 0 ? r.Json() : nlohmann::json();
  if (r.status == 202 && out.json.is_object()) {
    if (out.json.contains("event_ids") && out.json["event_ids"].is_array()) {
      for (const auto& id : out.json["event_ids"]) {
        if (id.is_string()) out.event_ids.push_back(id.get<std::string>());
      }
    }
    out.accepted = out.json.value("accepted", int64_t{-1});
    out.duplicates = out.json.value("duplicates", int64_t{-1});
  }
  return out;
}

PostResult PostEvents(HttpClient& client, const std::string& token, const nlohmann::json& body) {
  return PostRaw(client, token, body.dump());
}

// ---- the hub's store ---------------------------------------------------------------------------

namespace {
// hub.db path -> the PostgreSQL holding that hub's store instead (CJD_ITEST_DATABASE=postgres).
std::mutex g_pg_mu;
std::map<fs::path, cjd::testing::Postgres*> g_pg_stores;

std::vector<HubEventRow> ReadPgHubEvents(const cjd::testing::Postgres& pg) {
  std::vector<HubEventRow> rows;
  const std::string out = pg.Psql(
      "SELECT event_id || chr(9) || source || chr(9) || coalesce(seq, 0) || chr(9) || type || "
      "chr(9) || coalesce(epoch, 0) FROM events ORDER BY id",
      "hub");
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    std::vector<std::string> f;
    std::istringstream fields(line);
    std::string part;
    while (std::getline(fields, part, '\t')) f.push_back(part);
    if (f.size() != 5) {
      ADD_FAILURE() << "unexpected psql row: " << line;
      continue;
    }
    rows.push_back(HubEventRow{f[0], f[1], std::stoll(f[2]), f[3], std::stoll(f[4])});
  }
  return rows;
}
}  // namespace

std::vector<HubEventRow> ReadHubEvents(const fs::path& hub_db) {
  {
    std::lock_guard lock(g_pg_mu);
    auto it = g_pg_stores.find(hub_db);
    if (it != g_pg_stores.end()) return ReadPgHubEvents(*it->second);
  }
  std::string last_error;
  for (int attempt = 0; attempt < 20; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(100ms);
    sqlite3* db = nullptr;
    int rc = sqlite3_open_v2(hub_db.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
    if (rc != SQLITE_OK) {
      last_error = db != nullptr ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      continue;
    }
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt* stmt = nullptr;
    rc = sqlite3_prepare_v2(db, "SELECT event_id, source, seq, type, coalesce(epoch, 0) FROM events ORDER BY id", -1,
                            &stmt, nullptr);
    std::vector<HubEventRow> rows;
    if (rc == SQLITE_OK) {
      while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        HubEventRow row;
        row.event_id = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        row.source = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 1));
        row.seq = sqlite3_column_int64(stmt, 2);
        row.type = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 3));
        row.epoch = sqlite3_column_int64(stmt, 4);
        rows.push_back(std::move(row));
      }
    }
    if (rc != SQLITE_DONE) last_error = sqlite3_errmsg(db);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    if (rc == SQLITE_DONE) return rows;
  }
  ADD_FAILURE() << "cannot read the events of " << hub_db << ": " << last_error;
  return {};
}

::testing::AssertionResult HubHoldsExactly(const fs::path& hub_db,
                                           const std::set<std::string>& accepted,
                                           const std::set<std::string>* allowed_extra) {
  const std::vector<HubEventRow> rows = ReadHubEvents(hub_db);
  std::map<std::string, int> count;
  std::set<std::tuple<std::string, int64_t, int64_t>> seqs;
  std::vector<std::string> problems;
  for (const auto& r : rows) {
    if (++count[r.event_id] == 2) problems.push_back("event " + r.event_id + " stored twice");
    // Collect events carry no device sequence (NULL, read as 0).
    if (r.seq != 0 && !seqs.emplace(r.source, r.epoch, r.seq).second) {
      problems.push_back("sequence " + std::to_string(r.seq) + " of " + r.source + " stored twice");
    }
  }
  size_t missing = 0;
  size_t extra = 0;
  for (const auto& id : accepted) {
    if (count.count(id) == 0 && ++missing <= 5) problems.push_back("missing: " + id);
  }
  for (const auto& [id, n] : count) {
    if (accepted.count(id) != 0) continue;
    if (allowed_extra != nullptr && allowed_extra->count(id) != 0) continue;
    if (++extra <= 5) problems.push_back("not accepted but stored: " + id);
  }
  if (problems.empty()) return ::testing::AssertionSuccess();
  auto failure = ::testing::AssertionFailure();
  failure << "hub store holds " << rows.size() << " events, " << accepted.size()
          << " were accepted with 202; " << missing << " missing, " << extra << " extra:";
  for (const auto& p : problems) failure << "\n  " << p;
  return failure;
}

// ---- processes ---------------------------------------------------------------------------------

bool WaitHealthy(Process& process, uint16_t port, std::chrono::milliseconds timeout) {
  bool exited = false;
  const bool ok = WaitUntil(
      [&] {
        if (!process.Running()) {
          exited = true;
          return true;
        }
        HttpClient client(port, 2s);
        return client.Get("/healthz").status == 200;
      },
      timeout, 50ms);
  return ok && !exited;
}

Fleet::Fleet(const std::string& prefix) : dir_(prefix) {}

Fleet::~Fleet() {
  for (auto& a : agents_) {
    if (a->process.pid() > 0) a->process.Terminate(5s);
  }
  if (hub_.pid() > 0) hub_.Terminate(5s);
  broker_.reset();
  std::lock_guard lock(g_pg_mu);
  g_pg_stores.erase(hub_db());
}

void Fleet::StartBroker(bool persistence) {
  fs::create_directories(dir_.Join("broker"));
  broker_.emplace(Mosquitto::Start(dir_.Join("broker"), 0, std::nullopt, persistence));
}

void Fleet::StartTlsBroker() {
  fs::create_directories(dir_.Join("broker"));
  pki_.emplace(dir_.Join("pki"));
  broker_.emplace(Mosquitto::Start(dir_.Join("broker"), 0, pki_->BrokerTls()));
}

void Fleet::InitHub(int offline_after_s, const std::vector<std::string>& extra) {
  if (!broker_) throw std::logic_error("StartBroker() before InitHub()");
  hub_dir_ = dir_.Join("hub");
  hub_config_ = hub_dir_ / "hub.toml";
  hub_port_ = FreeLoopbackPort();
  std::string output;
  std::vector<std::string> args = {"init-hub", "--dir", hub_dir_.string(), "--broker",
                                   broker_->Uri(), "--listen",
                                   "127.0.0.1:" + std::to_string(hub_port_)};
  if (pki_) args.insert(args.end(), {"--ca-dir", pki_->dir().string()});
  args.insert(args.end(), extra.begin(), extra.end());
  const char* backend = std::getenv("CJD_ITEST_DATABASE");
  if (backend != nullptr && std::string(backend) == "postgres" &&
      std::find(extra.begin(), extra.end(), "--database") == extra.end()) {
    if (!cjd::testing::Postgres::Available()) {
      throw std::runtime_error("CJD_ITEST_DATABASE=postgres: " +
                               cjd::testing::Postgres::UnavailableReason());
    }
    pg_.emplace(cjd::testing::Postgres::Start());
    args.insert(args.end(), {"--database", pg_->CreateDatabase("hub")});
    std::lock_guard lock(g_pg_mu);
    g_pg_stores[hub_db()] = &*pg_;
  }
  const int rc = RunCjdctl(args, &output);
  if (rc != 0) throw std::runtime_error("cjdctl init-hub failed (" + std::to_string(rc) + "): " + output);
  hub_token_ = GetTomlString(hub_config_, "http", "token");
  if (hub_token_.empty()) throw std::runtime_error("no [http] token in " + hub_config_.string());
  SetTomlKey(hub_config_, "fleet", "offline_after_s", std::to_string(offline_after_s));
}

int Fleet::Cjdctl(const std::vector<std::string>& args, std::string* output) {
  return RunCjdctl(args, output);
}

std::string Fleet::AddSource(const std::string& name, const std::vector<std::string>& extra) {
  if (hub_config_.empty()) throw std::logic_error("InitHub() before AddSource()");
  std::string output;
  std::vector<std::string> args = {"add-source", "--hub-dir", hub_dir_.string(), "--name", name};
  args.insert(args.end(), extra.begin(), extra.end());
  const int rc = RunCjdctl(args, &output);
  if (rc != 0) throw std::runtime_error("cjdctl add-source failed (" + std::to_string(rc) + "): " + output);
  // The output holds stdout and stderr together: the key is the line starting "cjds_".
  const size_t at = output.find("cjds_");
  if (at == std::string::npos) throw std::runtime_error("cjdctl add-source printed no key: " + output);
  return output.substr(at, output.find('\n', at) - at);
}

std::string Fleet::AddToken(const std::string& role, const std::string& name) {
  if (hub_config_.empty()) throw std::logic_error("InitHub() before AddToken()");
  std::string output;
  const int rc = RunCjdctl(
      {"add-token", "--hub-dir", hub_dir_.string(), "--role", role, "--name", name}, &output);
  if (rc != 0) throw std::runtime_error("cjdctl add-token failed (" + std::to_string(rc) + "): " + output);
  const size_t at = output.find("cjdt_");
  if (at == std::string::npos) throw std::runtime_error("cjdctl add-token printed no token: " + output);
  return output.substr(at, output.find('\n', at) - at);
}

void Fleet::StartHub() {
  hub_ = Process::Start({cjd::testing::HubBinary(), "--config", hub_config_.string()},
                        hub_dir_ / "hub.log");
  if (!WaitHealthy(hub_, hub_port_, kStartTimeout)) {
    ADD_FAILURE() << "cjd-hub did not come up on port " << hub_port_ << "\n" << hub_.LogTail();
  }
}

void Fleet::KillHub() { hub_.Kill9(); }

FleetAgent& Fleet::AddDevice(const std::string& id, const std::string& store,
                             const std::string& kind) {
  auto agent = std::make_unique<FleetAgent>();
  agent->id = id;
  agent->store = store;
  agent->port = FreeLoopbackPort();
  const fs::path adir = dir_.Join("agent-" + id);
  fs::create_directories(adir);
  agent->config = adir / "agent.toml";
  agent->log = adir / "agent.log";
  std::string output;
  std::vector<std::string> args = {"add-device", "--hub-dir", hub_dir_.string(), "--id", id,
                                   "--store", store, "--kind", kind, "--listen",
                                   "127.0.0.1:" + std::to_string(agent->port), "--out",
                                   agent->config.string()};
  if (pki_) args.insert(args.end(), {"--ca-dir", pki_->dir().string()});
  const int rc = RunCjdctl(args, &output);
  if (rc != 0) throw std::runtime_error("cjdctl add-device failed (" + std::to_string(rc) + "): " + output);
  agent->token = GetTomlString(agent->config, "http", "token");
  if (agent->token.empty()) throw std::runtime_error("no [http] token in " + agent->config.string());
  SetTomlKey(agent->config, "uplink", "ack_timeout_ms", "2000");
  SetTomlKey(agent->config, "uplink", "heartbeat_s", "1");
  agents_.push_back(std::move(agent));
  return *agents_.back();
}

bool Fleet::StartAgent(FleetAgent& agent) {
  const std::vector<std::string> argv = {cjd::testing::AgentBinary(), "--config",
                                         agent.config.string()};
  for (int attempt = 0; attempt < 10; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(200ms);
    agent.process = Process::Start(argv, agent.log);
    if (WaitHealthy(agent.process, agent.port, kStartTimeout)) return true;
    if (agent.process.Running()) break;  // runs but does not answer: do not start a second one
  }
  ADD_FAILURE() << "cjd-agent " << agent.id << " did not come up on port " << agent.port << "\n"
                << agent.process.LogTail();
  return false;
}

void Fleet::KillAgent(FleetAgent& agent) { agent.process.Kill9(); }

nlohmann::json Fleet::HubStats() {
  HttpClient client(hub_port_, 10s);
  const HttpResponse r = client.Get("/v1/stats", hub_token_);
  return r.status == 200 ? r.Json() : nlohmann::json();
}

nlohmann::json Fleet::HubDevices() {
  HttpClient client(hub_port_, 10s);
  const HttpResponse r = client.Get("/v1/devices", hub_token_);
  return r.status == 200 ? r.Json() : nlohmann::json();
}

int64_t Fleet::HubEventsTotal() {
  const nlohmann::json s = HubStats();
  if (!s.is_object() || !s.contains("events_total")) return -1;
  return s["events_total"].get<int64_t>();
}

bool Fleet::HubHealthy() {
  HttpClient client(hub_port_, 10s);
  return client.Get("/healthz").status == 200;
}

nlohmann::json Fleet::AgentStatus(const FleetAgent& agent) {
  HttpClient client(agent.port, 10s);
  const HttpResponse r = client.Get("/v1/status");
  return r.status == 200 ? r.Json() : nlohmann::json();
}

bool Fleet::WaitHubEventsTotal(int64_t n, std::chrono::milliseconds timeout) {
  return WaitUntil([&] { return HubEventsTotal() >= n; }, timeout, 100ms) && HubEventsTotal() == n;
}

bool Fleet::WaitBacklogDrained(const FleetAgent& agent, std::chrono::milliseconds timeout) {
  return WaitUntil(
      [&] {
        const nlohmann::json s = AgentStatus(agent);
        return s.is_object() && s.value("backlog", int64_t{-1}) == 0 &&
               s.value("acked_seq", uint64_t{0}) == s.value("last_seq", uint64_t{1});
      },
      timeout, 100ms);
}

bool Fleet::WaitDeviceCaughtUp(const FleetAgent& agent, std::chrono::milliseconds timeout) {
  return WaitUntil(
      [&] {
        const nlohmann::json status = AgentStatus(agent);
        if (!status.is_object()) return false;
        const uint64_t last_seq = status.value("last_seq", uint64_t{0});
        const nlohmann::json fleet = HubDevices();
        if (!fleet.is_object() || !fleet.contains("devices")) return false;
        for (const auto& d : fleet["devices"]) {
          if (d.value("device_id", "") != agent.id) continue;
          return d.value("online", false) && d.value("acked_seq", uint64_t{0}) == last_seq &&
                 d.value("last_seq", uint64_t{0}) == last_seq && d.value("backlog", -1) == 0;
        }
        return false;
      },
      timeout, 200ms);
}

bool Fleet::WaitAgentConnected(const FleetAgent& agent, bool connected,
                               std::chrono::milliseconds timeout) {
  return WaitUntil(
      [&] {
        const nlohmann::json s = AgentStatus(agent);
        return s.is_object() && s.value("connected", !connected) == connected;
      },
      timeout, 100ms);
}

std::string Fleet::Diagnostics() const {
  std::ostringstream out;
  if (!hub_dir_.empty()) out << "\n--- hub log ---\n" << Tail(hub_dir_ / "hub.log");
  for (const auto& a : agents_) out << "\n--- agent " << a->id << " log ---\n" << Tail(a->log);
  if (broker_) out << "\n" << broker_->Diagnostics();
  return out.str();
}

// ---- raw MQTT ----------------------------------------------------------------------------------

SessionKeys DeviceKeysFromConfig(const fs::path& agent_config) {
  if (!InitCrypto().ok()) throw std::runtime_error("libsodium did not start");
  auto key = [&](const char* name) {
    auto k = KeyFromBase64(GetTomlString(agent_config, "keys", name), name);
    if (!k.ok()) throw std::runtime_error(agent_config.string() + ": " + k.status().ToString());
    return *k;
  };
  KeyPair device{key("device_public_key"), key("device_secret_key")};
  const PublicKey hub = key("hub_public_key");
  const std::string key_id_text = GetTomlString(agent_config, "keys", "key_id");
  const uint32_t key_id = key_id_text.empty() ? 1u : static_cast<uint32_t>(std::stoul(key_id_text));
  auto keys = DeviceSessionKeys(device, hub, key_id);
  if (!keys.ok()) throw std::runtime_error(keys.status().ToString());
  return *keys;
}

struct MqttProbe::Impl {
  std::unique_ptr<mqtt::async_client> client;
};

MqttProbe::MqttProbe(const std::string& uri, const std::string& client_id)
    : impl_(std::make_unique<Impl>()) {
  Connect(uri, client_id, nullptr);
}

MqttProbe::MqttProbe(const std::string& uri, const std::string& client_id, const Tls& tls)
    : impl_(std::make_unique<Impl>()) {
  Connect(uri, client_id, &tls);
}

void MqttProbe::Connect(const std::string& uri, const std::string& client_id, const Tls* tls) {
  mqtt::create_options create(MQTTVERSION_3_1_1);
  impl_->client = std::make_unique<mqtt::async_client>(uri, client_id, create, nullptr);
  impl_->client->start_consuming();
  auto builder = mqtt::connect_options_builder();
  builder.clean_session(true)
      .keep_alive_interval(std::chrono::seconds(20))
      .connect_timeout(std::chrono::seconds(10))
      .automatic_reconnect(false);
  if (tls != nullptr) {
    auto ssl = mqtt::ssl_options_builder();
    ssl.enable_server_cert_auth(true).verify(true).trust_store(tls->ca_file.string());
    if (!tls->cert_file.empty()) ssl.key_store(tls->cert_file.string());
    if (!tls->key_file.empty()) ssl.private_key(tls->key_file.string());
    builder.ssl(ssl.finalize());
  }
  try {
    auto tok = impl_->client->connect(builder.finalize());
    if (tok->wait_for(std::chrono::seconds(15)) && impl_->client->is_connected()) return;
  } catch (const mqtt::exception& e) {
    throw std::runtime_error("MqttProbe: cannot connect to " + uri + ": " + e.what());
  }
  throw std::runtime_error("MqttProbe: cannot connect to " + uri);
}

MqttProbe::~MqttProbe() {
  try {
    if (impl_->client->is_connected()) impl_->client->disconnect()->wait_for(std::chrono::seconds(5));
  } catch (const mqtt::exception&) {
  }
}

void MqttProbe::Subscribe(const std::string& filter) {
  auto tok = impl_->client->subscribe(filter, 1);
  if (!tok->wait_for(std::chrono::seconds(10))) {
    throw std::runtime_error("MqttProbe: subscribe to " + filter + " timed out");
  }
}

bool MqttProbe::TrySubscribe(const std::string& filter) {
  try {
    auto tok = impl_->client->subscribe(filter, 1);
    if (!tok->wait_for(std::chrono::seconds(10))) return false;
    // MQTT 3.1.1: a refused subscription is granted QoS 0x80.
    const mqtt::subscribe_response response = tok->get_subscribe_response();
    for (auto rc : response.get_reason_codes()) {
      if (static_cast<int>(rc) >= 0x80) return false;
    }
    return true;
  } catch (const mqtt::exception&) {
    return false;
  }
}

bool MqttProbe::Publish(const std::string& topic, const std::string& payload, bool retained) {
  try {
    auto tok = impl_->client->publish(topic, payload.data(), payload.size(), 1, retained);
    return tok->wait_for(std::chrono::seconds(10));
  } catch (const mqtt::exception& e) {
    ADD_FAILURE() << "MqttProbe: publish to " << topic << " failed: " << e.what();
    return false;
  }
}

std::optional<std::pair<std::string, std::string>> MqttProbe::Next(
    std::chrono::milliseconds timeout) {
  mqtt::const_message_ptr msg;
  if (!impl_->client->try_consume_message_for(&msg, timeout) || !msg) return std::nullopt;
  const auto& ref = msg->get_payload_ref();
  return std::make_pair(msg->get_topic(), std::string(ref.data(), ref.size()));
}

}  // namespace cjd::itest

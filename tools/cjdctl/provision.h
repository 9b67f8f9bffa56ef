// Provisioning: the hub's keys and config, for each device its key pair, API token and config,
// and for each collect source its key, registered with the hub's store. Used by
// `cjdctl init-hub`, `cjdctl add-device` and `cjdctl add-source`.
#pragma once

#include <string>
#include <vector>

#include "hub/config/hub_config.h"
#include "shared/core/status.h"

namespace cjd::ctl {

struct InitHubOptions {
  std::string dir;
  std::string broker = "tcp://127.0.0.1:1883";
  std::string listen = "127.0.0.1:8080";
  bool force = false;     // overwrite an existing hub.toml (keeps nothing)
  std::string ca_dir;     // with a CA (cjdctl init-ca): the hub's broker client certificate
  std::string database;   // postgresql://...: the event store there ([store] url), migrated now
};

// Writes DIR/hub.toml, DIR/hub.key (secret, mode 0600), DIR/hub.pub and creates DIR/hub.db (or,
// with `database`, the event store's tables in that PostgreSQL database, before any file).
// With `ca_dir` (needs an ssl:// broker) also DIR/cjd-hub.crt, DIR/cjd-hub.key (0600) for the
// broker identity "cjd-hub" and DIR/mqtt-ca.pem, set as [mqtt] cert_file, key_file and ca_file.
// Returns the admin token.
Result<std::string> InitHub(const InitHubOptions& o);

struct AddDeviceOptions {
  std::string hub_dir;
  std::string id;
  std::string store;
  std::string kind;       // pos | kiosk
  std::string listen = "127.0.0.1:8081";
  std::string broker;     // default: the hub's broker
  std::string out;        // the agent config to write
  std::string outbox;     // the agent's SQLite outbox; default ID.outbox.db beside the config
  std::string ca_dir;     // with a CA: the device's broker client certificate (CN = id)
};

// Registers the device with the hub and writes its config (mode 0600). Returns the API token.
// With `ca_dir` (needs an ssl:// broker) also writes ID.crt, ID.key (0600) and mqtt-ca.pem beside
// the config and sets them as [mqtt] cert_file, key_file and ca_file. The id "cjd-hub" is refused
// (the hub's broker identity). Nothing is registered or written when the certificate cannot be
// made or its files already exist.
Result<std::string> AddDevice(const AddDeviceOptions& o);

// The hub configuration of `hub_dir` (its hub.toml): kNotFound naming the file when there is no
// hub there, the config's own error prefixed with the folder otherwise.
Result<hub::HubConfig> LoadHubDir(const std::string& hub_dir);

struct AddSourceOptions {
  std::string hub_dir;
  std::string name;       // 1..40 of [A-Za-z0-9._-]; not a device id
  // Web origins whose browsers may post as this source (CORS, hub/collect/cors.h):
  // "https://shop.example.net", "http://localhost:8000", or "*". None: no browser.
  std::vector<std::string> allowed_origins;
};

// Registers a collect source with the hub (only the key's hash is stored) and returns its key,
// "cjds_..." (hub/collect/source_key.h): shown once, never recoverable. A running hub accepts it
// at once. kInvalid for a bad name, kConflict for a name taken by a source or a device.
Result<std::string> AddSource(const AddSourceOptions& o);

// Replaces a registered source's allowed origins (none: no browser may post for it). A running
// hub applies the change within 30 s. Returns the normal forms stored.
Result<std::vector<std::string>> SetSourceOrigins(const AddSourceOptions& o);

}  // namespace cjd::ctl

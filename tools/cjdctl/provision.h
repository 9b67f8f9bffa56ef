// Provisioning: the hub's keys and config, for each device its key pair, API token and config,
// and for each collect source its key, registered with the hub's store. Used by
// `cjdctl init-hub`, `cjdctl add-device` and `cjdctl add-source`.
#pragma once

#include <string>

#include "shared/core/status.h"

namespace cjd::ctl {

struct InitHubOptions {
  std::string dir;
  std::string broker = "tcp://127.0.0.1:1883";
  std::string listen = "127.0.0.1:8080";
  bool force = false;     // overwrite an existing hub.toml (keeps nothing)
};

// Writes DIR/hub.toml, DIR/hub.key (secret, mode 0600), DIR/hub.pub and creates DIR/hub.db.
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
};

// Registers the device with the hub and writes its config (mode 0600). Returns the API token.
Result<std::string> AddDevice(const AddDeviceOptions& o);

struct AddSourceOptions {
  std::string hub_dir;
  std::string name;       // 1..40 of [A-Za-z0-9._-]; not a device id
};

// Registers a collect source with the hub (only the key's hash is stored) and returns its key,
// "cjds_..." (hub/collect/source_key.h): shown once, never recoverable. A running hub accepts it
// at once. kInvalid for a bad name, kConflict for a name taken by a source or a device.
Result<std::string> AddSource(const AddSourceOptions& o);

}  // namespace cjd::ctl

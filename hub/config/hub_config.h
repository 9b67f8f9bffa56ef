// The hub's configuration (hub.toml, written by `cjdctl init-hub`; every key is documented in
// device-configs/hub.toml).
#pragma once

#include <cstdint>
#include <string>

#include "shared/config/config.h"
#include "shared/core/status.h"
#include "shared/protocol/keys.h"

namespace cjd::hub {

struct HubConfig {
  std::string dir;                     // directory of hub.toml; relative paths resolve here
  // [http]
  HostPort listen{"127.0.0.1", 8080};
  std::string token;                   // admin bearer token for every /v1/ endpoint
  int http_threads = 2;
  int64_t max_body_bytes = 4 << 20;
  // [mqtt]
  std::string broker = "tcp://127.0.0.1:1883";
  std::string client_id = "cjd-hub";
  std::string mqtt_username;
  std::string mqtt_password;
  std::string mqtt_ca_file;
  // [keys]
  KeyPair keys;                        // secret from keys.secret_key_file, public from public_key
  // [store]
  std::string store_path;              // SQLite file
  // [ingest]
  int64_t max_queue_frames = 20'000;   // frames waiting for the ingest thread; beyond: dropped
                                       // (the agents resend, nothing is lost)
  int64_t max_queue_bytes = 256ll << 20;  // the same bound in payload bytes
  int64_t max_group_frames = 256;      // frames committed in one transaction
  int64_t max_frame_bytes = 16 << 20;  // decompressed plaintext bound
  // [fleet]
  int64_t offline_after_s = 60;        // no heartbeat for this long -> offline
  // [log]
  std::string log_level = "info";
};

Result<HubConfig> LoadHubConfig(const std::string& path);

}  // namespace cjd::hub

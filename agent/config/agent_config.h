// The agent's configuration, loaded from TOML (see device-configs/pos-terminal.toml for every key
// with comments). cjdctl add-device writes it.
#pragma once

#include <cstdint>
#include <string>

#include "shared/config/config.h"
#include "shared/core/status.h"
#include "shared/protocol/keys.h"

namespace cjd::agent {

struct AgentConfig {
  // [device]
  std::string device_id;
  std::string store_id;
  std::string kind;                 // "pos" | "kiosk"
  // [http]
  HostPort listen{"127.0.0.1", 8081};
  std::string token;
  int64_t max_body_bytes = 1 << 20;
  int64_t max_events_per_request = 1000;
  int http_threads = 2;
  // limits against hostile clients (shared/http/server.h)
  int64_t http_max_connections = 1024;     // at the cap the longest-idle connection makes room
  int64_t http_header_timeout_ms = 10'000; // idle keep-alive / slow header -> closed
  int64_t http_request_timeout_ms = 30'000;  // body read and response write
  // [mqtt]
  std::string broker = "tcp://127.0.0.1:1883";
  std::string mqtt_username;
  std::string mqtt_password;
  std::string mqtt_ca_file;             // TLS (ssl:// brokers): CA the broker's certificate
  std::string mqtt_cert_file;           // must chain to; this client's certificate and key
  std::string mqtt_key_file;            // (mutual TLS; the broker's ACLs use its CN)
  int64_t keepalive_s = 20;          // MQTT keep-alive: a silent link is dropped after ~1.5x this
  // [keys]
  uint32_t key_id = 1;
  KeyPair device_keys;
  PublicKey hub_public_key{};
  // [outbox]
  std::string outbox_path;           // SQLite file
  int64_t budget_bytes = 256ll << 20;
  int64_t dedupe_window_hours = 168; // how long accepted event ids are remembered after the ack
  int64_t min_free_bytes = 8ll << 20; // below this free space on its disk, telemetry is dropped
  // [offers]
  std::string offers_path;           // SQLite file of the offer cache; default
                                     // "{device_id}.offers.db" beside the outbox
  int64_t max_pending_impressions = 1000;  // impressions queued for the outbox; more are dropped
  // [uplink]
  int64_t batch_max_events = 2000;
  int64_t batch_max_bytes = 1 << 20;
  int64_t max_in_flight = 8;         // batches sent but not yet acknowledged by the hub
  int64_t ack_timeout_ms = 10'000;   // resend from the last ack when the hub stays silent
  // A batch that is not full waits until this long after the last frame sent, so a burst shares
  // frames (0: send at once). A lone event after a quiet spell never waits.
  int64_t linger_ms = 25;
  // A batch made only of telemetry (offer impressions) waits this long instead: a kiosk's
  // impressions reach the hub in a few large frames (one commit and one ack each) rather than
  // 40 small ones a second; a business event (a sale) joining it makes it go after linger_ms.
  int64_t telemetry_linger_ms = 1000;
  int64_t heartbeat_s = 15;
  // [metrics]
  std::string metrics_token;           // GET /metrics: open when empty, else this bearer token
  // [log]
  std::string log_level = "info";
};

// Loads and validates; errors name the key ("keys.hub_public_key: must be a base64 32-byte key").
Result<AgentConfig> LoadAgentConfig(const std::string& path);

}  // namespace cjd::agent

#include "agent/config/agent_config.h"

#include <filesystem>

#include "shared/mqtt/tls.h"
#include "shared/protocol/topics.h"

namespace cjd::agent {
namespace {

Status ReadKey(ConfigReader& r, std::string_view key, std::array<uint8_t, 32>* out) {
  std::string text = r.RequireString(key);
  if (!r.status().ok()) return r.status();
  auto k = KeyFromBase64(text, key);
  if (!k.ok()) return k.status();
  *out = *k;
  return Status::Ok();
}

}  // namespace

Result<AgentConfig> LoadAgentConfig(const std::string& path) {
  auto loaded = ConfigReader::LoadFile(path);
  if (!loaded.ok()) return loaded.status();
  ConfigReader& r = *loaded;
  AgentConfig c;
  c.device_id = r.RequireString("device.id");
  c.store_id = r.RequireString("device.store");
  c.kind = r.String("device.kind", "pos");
  c.listen = r.Address("http.listen", "127.0.0.1:8081");
  c.token = r.RequireString("http.token");
  c.metrics_token = r.String("metrics.token", "");
  c.max_body_bytes = r.Int("http.max_body_bytes", c.max_body_bytes, 1024, 64ll << 20);
  c.max_events_per_request = r.Int("http.max_events_per_request", c.max_events_per_request, 1, 100000);
  c.http_threads = static_cast<int>(r.Int("http.threads", c.http_threads, 1, 64));
  c.http_max_connections = r.Int("http.max_connections", c.http_max_connections, 16, 1'000'000);
  c.http_header_timeout_ms =
      r.Int("http.header_timeout_ms", c.http_header_timeout_ms, 100, 3'600'000);
  c.http_request_timeout_ms =
      r.Int("http.request_timeout_ms", c.http_request_timeout_ms, 100, 3'600'000);
  c.broker = r.String("mqtt.broker", c.broker);
  c.mqtt_username = r.String("mqtt.username", "");
  c.mqtt_password = r.String("mqtt.password", "");
  c.mqtt_ca_file = r.Path("mqtt.ca_file", "");
  c.mqtt_cert_file = r.Path("mqtt.cert_file", "");
  c.mqtt_key_file = r.Path("mqtt.key_file", "");
  c.keepalive_s = r.Int("mqtt.keepalive_s", c.keepalive_s, 2, 3600);
  c.key_id = static_cast<uint32_t>(r.Int("keys.key_id", 1, 1, 0xffffffffll));
  c.outbox_path = r.Path("outbox.path", "outbox.db");
  c.budget_bytes = r.Int("outbox.budget_bytes", c.budget_bytes, 64 << 10, 1ll << 40);
  c.dedupe_window_hours = r.Int("outbox.dedupe_window_hours", c.dedupe_window_hours, 1, 24 * 365);
  c.min_free_bytes = r.Int("outbox.min_free_bytes", c.min_free_bytes, 0, 1ll << 40);
  c.offers_path = r.Path("offers.path", "");
  if (c.offers_path.empty()) {
    const std::filesystem::path outbox(c.outbox_path);
    c.offers_path = (outbox.parent_path() / (c.device_id + ".offers.db")).string();
  }
  c.max_pending_impressions =
      r.Int("offers.max_pending_impressions", c.max_pending_impressions, 1, 1'000'000);
  c.batch_max_events = r.Int("uplink.batch_max_events", c.batch_max_events, 1, 100000);
  c.batch_max_bytes = r.Int("uplink.batch_max_bytes", c.batch_max_bytes, 1024, 64ll << 20);
  c.max_in_flight = r.Int("uplink.max_in_flight", c.max_in_flight, 1, 1024);
  c.ack_timeout_ms = r.Int("uplink.ack_timeout_ms", c.ack_timeout_ms, 100, 3'600'000);
  c.linger_ms = r.Int("uplink.linger_ms", c.linger_ms, 0, 10'000);
  c.telemetry_linger_ms = r.Int("uplink.telemetry_linger_ms", c.telemetry_linger_ms, 0, 60'000);
  c.heartbeat_s = r.Int("uplink.heartbeat_s", c.heartbeat_s, 1, 3600);
  c.log_level = r.String("log.level", c.log_level);
  if (!r.status().ok()) return r.status();

  CJD_RETURN_IF_ERROR(ReadKey(r, "keys.device_secret_key", &c.device_keys.secret_key));
  CJD_RETURN_IF_ERROR(ReadKey(r, "keys.device_public_key", &c.device_keys.public_key));
  CJD_RETURN_IF_ERROR(ReadKey(r, "keys.hub_public_key", &c.hub_public_key));
  if (!KeyPairMatches(c.device_keys)) {
    return Status::Invalid("keys.device_public_key: does not belong to keys.device_secret_key",
                           "keys.device_public_key");
  }

  if (!topics::IsValidDeviceId(c.device_id))
    return Status::Invalid("device.id: must be 1-64 characters of A-Z a-z 0-9 _ . -", "device.id");
  if (c.store_id.empty() || c.store_id.size() > 64)
    return Status::Invalid("device.store: must be 1-64 characters", "device.store");
  if (c.kind != "pos" && c.kind != "kiosk")
    return Status::Invalid("device.kind: must be \"pos\" or \"kiosk\"", "device.kind");
  if (c.token.size() < 16)
    return Status::Invalid("http.token: must be at least 16 characters", "http.token");
  if (!c.metrics_token.empty() && c.metrics_token.size() < 16)
    return Status::Invalid("metrics.token: must be at least 16 characters (or absent)",
                           "metrics.token");
  CJD_RETURN_IF_ERROR(CheckMqttTls(c.broker, c.mqtt_ca_file, c.mqtt_cert_file, c.mqtt_key_file));
  return c;
}

}  // namespace cjd::agent

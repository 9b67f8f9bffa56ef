#include "hub/config/hub_config.h"

#include <fstream>
#include <sstream>

#include "hub/identity/identifier.h"
#include "shared/mqtt/tls.h"
#include "shared/storage/postgres.h"

namespace cjd::hub {

Result<HubConfig> LoadHubConfig(const std::string& path) {
  auto loaded = ConfigReader::LoadFile(path);
  if (!loaded.ok()) return loaded.status();
  ConfigReader& r = *loaded;
  HubConfig c;
  c.dir = r.dir();
  c.listen = r.Address("http.listen", "127.0.0.1:8080");
  c.token = r.RequireString("http.token");
  c.http_threads = static_cast<int>(r.Int("http.threads", c.http_threads, 1, 64));
  c.http_workers = static_cast<int>(r.Int("http.workers", c.http_workers, 1, 256));
  c.max_body_bytes = r.Int("http.max_body_bytes", c.max_body_bytes, 1024, 256ll << 20);
  c.http_max_connections = r.Int("http.max_connections", c.http_max_connections, 16, 1'000'000);
  c.http_header_timeout_ms =
      r.Int("http.header_timeout_ms", c.http_header_timeout_ms, 100, 3'600'000);
  c.http_request_timeout_ms =
      r.Int("http.request_timeout_ms", c.http_request_timeout_ms, 100, 3'600'000);
  c.broker = r.String("mqtt.broker", c.broker);
  c.client_id = r.String("mqtt.client_id", c.client_id);
  c.mqtt_username = r.String("mqtt.username", "");
  c.mqtt_password = r.String("mqtt.password", "");
  c.mqtt_ca_file = r.Path("mqtt.ca_file", "");
  c.mqtt_cert_file = r.Path("mqtt.cert_file", "");
  c.mqtt_key_file = r.Path("mqtt.key_file", "");
  c.shared_group = r.String("mqtt.shared_group", "");
  const std::string secret_file = r.Path("keys.secret_key_file", "hub.key");
  const std::string public_key = r.RequireString("keys.public_key");
  c.store_path = r.Path("store.path", "hub.db");
  c.store_url = r.String("store.url", "");
  c.sqlite_memory_mib = r.Int("store.sqlite_memory_mib", c.sqlite_memory_mib, 0, 1 << 20);
  c.max_queue_frames = r.Int("ingest.max_queue_frames", c.max_queue_frames, 16, 10'000'000);
  c.max_queue_bytes = r.Int("ingest.max_queue_bytes", c.max_queue_bytes, 1 << 20, 64ll << 30);
  c.max_group_frames = r.Int("ingest.max_group_frames", c.max_group_frames, 1, 100'000);
  c.max_frame_bytes = r.Int("ingest.max_frame_bytes", c.max_frame_bytes, 1024, 1ll << 30);
  c.max_pending_ranges =
      r.Int("ingest.max_pending_ranges", c.max_pending_ranges, 4, 1'000'000);
  c.offline_after_s = r.Int("fleet.offline_after_s", c.offline_after_s, 1, 86'400);
  c.identity_key_file = r.Path("identity.key_file", "identity.key");
  c.default_country = r.String("identity.default_country", c.default_country);
  c.guardrails = r.Bool("identity.guardrails", c.guardrails);
  {
    static constexpr const char* kLimitKeys[6] = {
        "identity.max_loyalty_id", "identity.max_customer_id",      "identity.max_email",
        "identity.max_phone",      "identity.max_card_fingerprint", "identity.max_anonymous_id"};
    for (int i = 0; i < 6; ++i) {
      c.max_identifiers[i] =
          static_cast<int>(r.Int(kLimitKeys[i], c.max_identifiers[i], 0, 1'000'000));
    }
  }
  c.blocklist_file = r.Path("identity.blocklist_file", "");
  c.shared_file = r.Path("identity.shared_file", "");
  c.probabilistic = r.Bool("identity.probabilistic", c.probabilistic);
  c.matching_path = r.Path("identity.matching_path", "matching.db");
  c.match_merge_threshold =
      r.Double("identity.match_merge_threshold", c.match_merge_threshold, 0.5, 1.0);
  c.match_review_threshold =
      r.Double("identity.match_review_threshold", c.match_review_threshold, 0.01, 1.0);
  c.match_min_profiles = r.Int("identity.match_min_profiles", c.match_min_profiles, 2, 100'000'000);
  c.match_refit_hours = r.Int("identity.match_refit_hours", c.match_refit_hours, 1, 24 * 366);
  c.match_refit_growth_percent = r.Int("identity.match_refit_growth_percent",
                                       c.match_refit_growth_percent, 1, 1'000'000);
  c.profiles_path = r.Path("projection.path", "profiles.db");
  c.projection_batch = r.Int("projection.batch", c.projection_batch, 1, 100'000);
  c.projection_delay_ms = r.Int("projection.batch_delay_ms", c.projection_delay_ms, 0, 10'000);
  c.rfm_refresh_percent =
      r.Int("projection.rfm_refresh_percent", c.rfm_refresh_percent, 0, 100);
  c.rfm_min_interval_s =
      r.Int("projection.rfm_min_interval_seconds", c.rfm_min_interval_s, 0, 86'400);
  c.segments_path = r.Path("segments.path", "segments.db");
  c.segments_reevaluate_s =
      r.Int("segments.reevaluate_seconds", c.segments_reevaluate_s, 1, 7 * 86'400);
  c.segments_chunk = r.Int("segments.chunk", c.segments_chunk, 1, 100'000);
  c.journeys_path = r.Path("journeys.path", "journeys.db");
  c.session_gap_minutes =
      r.Int("journeys.session_gap_minutes", c.session_gap_minutes, 1, 24 * 60);
  c.session_cap_hours = r.Int("journeys.session_cap_hours", c.session_cap_hours, 1, 7 * 24);
  c.stage_retention_orders =
      r.Int("journeys.retention_orders", c.stage_retention_orders, 2, 1'000'000);
  c.stage_advocacy_orders = r.Int("journeys.advocacy_orders", c.stage_advocacy_orders, 2, 1'000'000);
  c.stage_window_days = r.Int("journeys.stage_window_days", c.stage_window_days, 1, 3660);
  c.predictions_enabled = r.Bool("predictions.enabled", c.predictions_enabled);
  c.predictions_path = r.Path("predictions.path", "predictions.db");
  c.predictions_horizon_days =
      r.Int("predictions.horizon_days", c.predictions_horizon_days, 1, 3650);
  c.predictions_refit_hours =
      r.Int("predictions.refit_hours", c.predictions_refit_hours, 1, 24 * 366);
  c.predictions_refit_growth_percent = r.Int(
      "predictions.refit_growth_percent", c.predictions_refit_growth_percent, 1, 1'000'000);
  c.predictions_check_seconds =
      r.Int("predictions.check_seconds", c.predictions_check_seconds, 1, 86'400);
  c.offers_enabled = r.Bool("offers.enabled", c.offers_enabled);
  c.offers_path = r.Path("offers.path", "offers.db");
  c.offers_full_interval_s =
      r.Int("offers.full_interval_s", c.offers_full_interval_s, 1, 7 * 86'400);
  c.offers_resend_after_s = r.Int("offers.resend_after_s", c.offers_resend_after_s, 1, 86'400);
  c.offers_per_customer = static_cast<int>(
      r.Int("offers.per_customer", c.offers_per_customer, 1, 50));
  c.activation_path = r.Path("activation.path", "activation.db");
  c.webhook_timeout_ms =
      r.Int("activation.timeout_ms", c.webhook_timeout_ms, 100, 120'000);
  c.webhook_max_backoff_s =
      r.Int("activation.max_backoff_s", c.webhook_max_backoff_s, 1, 86'400);
  c.webhook_give_up_hours =
      r.Int("activation.give_up_hours", c.webhook_give_up_hours, 1, 24 * 366);
  c.webhook_ca_file = r.String("activation.ca_file", "");
  c.access_path = r.Path("access.path", "access.db");
  c.audit_key_file = r.Path("access.audit_key_file", "audit.key");
  c.privacy_path = r.Path("privacy.path", "privacy.db");
  c.keys_path = r.Path("privacy.keys_path", "keys.db");
  c.master_key_file = r.Path("privacy.master_key_file", "master.key");
  c.erasure_deadline_minutes =
      r.Int("privacy.erasure_deadline_minutes", c.erasure_deadline_minutes, 1, 30 * 24 * 60);
  c.metrics_token = r.String("metrics.token", "");
  c.alert_offline_minutes =
      r.Int("alerts.offline_minutes", c.alert_offline_minutes, 0, 7 * 24 * 60);
  c.alert_backlog_minutes =
      r.Int("alerts.backlog_minutes", c.alert_backlog_minutes, 0, 7 * 24 * 60);
  c.alert_clock_skew_seconds =
      r.Int("alerts.clock_skew_seconds", c.alert_clock_skew_seconds, 0, 86'400);
  c.alert_offers_behind_minutes =
      r.Int("alerts.offers_behind_minutes", c.alert_offers_behind_minutes, 0, 7 * 24 * 60);
  c.log_level = r.String("log.level", c.log_level);
  if (!r.status().ok()) return r.status();
  if (c.match_review_threshold > c.match_merge_threshold) {
    return Status::Invalid(
        "identity.match_review_threshold: must not be above identity.match_merge_threshold",
        "identity.match_review_threshold");
  }
  if (!c.default_country.empty() && !identity::IsPhoneRegion(c.default_country)) {
    return Status::Invalid("identity.default_country: '" + c.default_country +
                               "' is not a region code libphonenumber knows (ISO 3166-1 alpha-2, "
                               "such as GB, DE, US; or empty: phones need a country code)",
                           "identity.default_country");
  }
  if (!c.shared_group.empty() &&
      (c.shared_group.size() > 64 ||
       c.shared_group.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789_-") != std::string::npos)) {
    return Status::Invalid("mqtt.shared_group: 1-64 characters of A-Z a-z 0-9 _ -",
                           "mqtt.shared_group");
  }
  if (!c.store_url.empty() && !pg::IsPostgresUrl(c.store_url)) {
    return Status::Invalid(
        "store.url: expected postgresql://USER@HOST:PORT/DB (or no url: SQLite at store.path)",
        "store.url");
  }
  if (c.token.size() < 16)
    return Status::Invalid("http.token: must be at least 16 characters", "http.token");
  if (!c.metrics_token.empty() && c.metrics_token.size() < 16)
    return Status::Invalid("metrics.token: must be at least 16 characters (or absent)",
                           "metrics.token");
  CJD_RETURN_IF_ERROR(CheckMqttTls(c.broker, c.mqtt_ca_file, c.mqtt_cert_file, c.mqtt_key_file));

  auto pub = KeyFromBase64(public_key, "keys.public_key");
  if (!pub.ok()) return pub.status();
  c.keys.public_key = *pub;
  std::ifstream in(secret_file);
  if (!in) {
    return Status::Invalid("keys.secret_key_file: cannot read " + secret_file,
                           "keys.secret_key_file");
  }
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' '))
    text.pop_back();
  auto secret = KeyFromBase64(text, "keys.secret_key_file");
  if (!secret.ok()) return secret.status();
  c.keys.secret_key = *secret;
  if (!KeyPairMatches(c.keys)) {
    return Status::Invalid("keys.public_key: does not belong to the secret key in " + secret_file,
                           "keys.public_key");
  }
  return c;
}

}  // namespace cjd::hub

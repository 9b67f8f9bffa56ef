// The hub's configuration (hub.toml, written by `cjdctl init-hub`; every key is documented in
// device-configs/hub.toml).
#pragma once

#include <array>
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
  int http_workers = 4;                // threads for requests that use the database
  int64_t max_body_bytes = 4 << 20;
  // limits against hostile clients (shared/http/server.h)
  int64_t http_max_connections = 1024;     // at the cap the longest-idle connection makes room
  int64_t http_header_timeout_ms = 10'000; // idle keep-alive / slow header -> closed
  int64_t http_request_timeout_ms = 30'000;  // body read and response write
  // [mqtt]
  std::string broker = "tcp://127.0.0.1:1883";
  std::string client_id = "cjd-hub";
  std::string mqtt_username;
  std::string mqtt_password;
  std::string mqtt_ca_file;             // TLS (ssl:// brokers): CA the broker's certificate
  std::string mqtt_cert_file;           // must chain to; this client's certificate and key
  std::string mqtt_key_file;            // (mutual TLS; the broker's ACLs use its CN)
  std::string shared_group;             // set: the device topics as an MQTT 5 shared
                                        // subscription $share/GROUP/... (several instances)
  // [keys]
  KeyPair keys;                        // secret from keys.secret_key_file, public from public_key
  // [store]
  std::string store_path;              // SQLite file
  std::string store_url;               // postgresql://... : the event store on PostgreSQL
                                       // (issue 17; store_path then unused)
  // Where the event store is: store_url when set, else store_path (hub/store/open_store.h).
  const std::string& store_location() const { return store_url.empty() ? store_path : store_url; }
  int64_t sqlite_memory_mib = 0;       // process-wide bound on SQLite's memory (page caches of
                                       // every database); 0: each connection's own cache size
  // [ingest]
  int64_t max_queue_frames = 20'000;   // frames waiting for the ingest thread; beyond: dropped
                                       // (the agents resend, nothing is lost)
  int64_t max_queue_bytes = 256ll << 20;  // the same bound in payload bytes
  int64_t max_group_frames = 256;      // frames committed in one transaction
  int64_t max_frame_bytes = 16 << 20;  // decompressed plaintext bound
  int64_t max_pending_ranges = 4096;   // per device, sequence ranges held above a gap; a frame
                                       // opening one more is rejected (bad_range)
  // [fleet]
  int64_t offline_after_s = 60;        // no heartbeat for this long -> offline
  // [identity] (see hub/projection/README.md)
  std::string identity_key_file;       // 32-byte secret for identifier hashing and PII sealing;
                                       // created on first start when missing
  std::string default_country = "GB";  // for phone numbers written without a country code
  bool guardrails = true;              // false: no blocklist, no limits (not recommended)
  std::array<int, 6> max_identifiers = {2, 2, 5, 3, 10, 200};  // per type, by IdType order
  std::string blocklist_file;          // extra junk values, one "VALUE" or "TYPE:VALUE" per line
  std::string shared_file;             // shared identifiers ("TYPE:VALUE" per line): never merge
  // [projection]
  // [identity] probabilistic matching (hub/matching/README.md, "In the hub")
  bool probabilistic = true;           // false: no matcher, /v1/identity/review 503
  std::string matching_path;           // SQLite file of the review list (matching.db)
  double match_merge_threshold = 0.99; // P(match) at or above: merged (reason probabilistic)
  double match_review_threshold = 0.5; // at or above (below the merge threshold): review list
  int64_t match_min_profiles = 500;    // the first fit waits for this many profiles with fields
  int64_t match_refit_hours = 24;      // weights re-fitted at least this often
  int64_t match_refit_growth_percent = 20;  // ... and when such profiles grew this much
  std::string profiles_path;           // SQLite file of profiles, identities, orders (derived
                                       // from the event log; rebuilt when deleted)
  int64_t projection_batch = 2000;     // events applied per transaction
  int64_t projection_delay_ms = 500;   // after a batch that projected something, the next waits
                                       // this long, so a trickle shares one commit (and one
                                       // segment and offer round); 0: at once
  int64_t rfm_refresh_percent = 5;     // RFM cut points recomputed once this % of the customers
                                       // had orders change (hub/projection/rfm_schedule.h)
  int64_t rfm_min_interval_s = 30;     // ... and at most this often while events flow
  // [segments] (see hub/segments/README.md)
  std::string segments_path;           // SQLite file of segment definitions and memberships
                                       // (derived from profiles.db; rebuilt when deleted,
                                       // except the segments created through the API)
  int64_t segments_reevaluate_s = 3600;  // full re-evaluation period (time-dependent fields)
  int64_t segments_chunk = 1000;       // profiles evaluated per transaction
  // [journeys] (see hub/journeys/README.md)
  std::string journeys_path;           // SQLite file of touches (derived from the log and the
                                       // projection; rebuilt when deleted)
  int64_t session_gap_minutes = 30;    // inactivity that ends a session
  int64_t session_cap_hours = 24;      // no session lasts longer
  int64_t stage_retention_orders = 2;  // journey stage "retention": this many orders
  int64_t stage_advocacy_orders = 5;   // ... "advocacy"
  int64_t stage_window_days = 90;      // the current stage counts activity this recent
  // [predictions] (see hub/predictions/README.md)
  bool predictions_enabled = true;     // false: no refits, no traits, /v1/predictions 503
  std::string predictions_path;        // SQLite file of the current predictions (derived from
                                       // profiles.db; rebuilt by the next refit when deleted)
  int64_t predictions_horizon_days = 365;     // expected_purchase_days_{N}d, predicted_clv_{N}d
  int64_t predictions_refit_hours = 24;       // a refit at least this often
  int64_t predictions_refit_growth_percent = 10;  // ... and when sale orders grew this much
  int64_t predictions_check_seconds = 60;     // how often the thread checks the above
  // [offers] (see hub/offers/README.md)
  bool offers_enabled = true;          // false: no planner, no downlink offers, /v1/offers 503
  std::string offers_path;             // SQLite file of offers and what each store holds
  int64_t offers_full_interval_s = 300;  // every store recomputed at least this often
  int64_t offers_resend_after_s = 10;  // a heartbeat this long after a send still behind: resend
  int offers_per_customer = 10;        // offers in one customer's ranked list (<= 50)
  // [activation] webhooks (see hub/activation/README.md)
  std::string activation_path;         // SQLite file of destinations and their delivery queue
  int64_t webhook_timeout_ms = 10'000; // one delivery attempt's bound (connect, send, answer)
  int64_t webhook_max_backoff_s = 600; // retries back off 1, 2, 4, ... s up to this
  int64_t webhook_give_up_hours = 72;  // a delivery failing this long is marked failed
  std::string webhook_ca_file;         // https:// receivers verified against it ("": system CAs)
  // [access] (see hub/access/README.md)
  std::string access_path;             // SQLite file of named API tokens and the audit log
  std::string audit_key_file;          // 32-byte secret the audit log's chain is keyed with;
                                       // created on first use when missing
  // [privacy] (see hub/privacy/README.md)
  std::string privacy_path;            // SQLite file of erasure requests and their receipts
  // Where the erasure requests are: store_url when set (shared by the hub's instances), else
  // privacy_path.
  const std::string& privacy_location() const {
    return store_url.empty() ? privacy_path : store_url;
  }
  int64_t erasure_deadline_minutes = 60;  // a request is "met" when done within this
  std::string keys_path;               // SQLite file of the event log's data keys (keys.db)
  std::string master_key_file;         // the master key wrapping them (0600; outside every db)
  // [alerts] (hub/fleet/fleet_alerts.h)
  int64_t alert_offline_minutes = 10;
  int64_t alert_backlog_minutes = 15;
  int64_t alert_clock_skew_seconds = 120;
  int64_t alert_offers_behind_minutes = 10;
  // [metrics]
  std::string metrics_token;           // GET /metrics: open when empty, else this bearer token
                                       // (or the admin token) is required
  // [log]
  std::string log_level = "info";
};

Result<HubConfig> LoadHubConfig(const std::string& path);

}  // namespace cjd::hub

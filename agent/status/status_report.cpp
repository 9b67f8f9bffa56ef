#include "agent/status/status_report.h"

#include <nlohmann/json.hpp>

#include "shared/event/event.h"
#include "shared/protocol/batch_codec.h"

namespace cjd::agent {
namespace {

// A reset's detail holds file paths (any bytes on Linux) and SQLite's messages (newlines). Cut
// anywhere, a UTF-8 sequence would be split and nlohmann's dump() would throw (on the uplink
// thread, at every heartbeat, since resets are kept); escaped, control characters grow sixfold
// past the hub's status limit. So the status carries printable ASCII only: anything else, and
// quotes and backslashes, become '?', at most kMaxResetDetail bytes whatever the input.
std::string PrintableDetail(const std::string& detail) {
  std::string out = detail.substr(0, kMaxResetDetail);
  for (char& c : out) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7e || c == '"' || c == '\\') c = '?';
  }
  return out;
}

}  // namespace

std::string StatusJson(const StatusSnapshot& s) {
  nlohmann::json j;
  j["device_id"] = s.device_id;
  j["store_id"] = s.store_id;
  j["kind"] = s.kind;
  j["version"] = CJD_VERSION;
  j["online"] = s.online;
  j["connected"] = s.connected;
  j["clock"] = FormatRfc3339(s.now_ms);
  j["clock_ms"] = s.now_ms;
  j["uptime_s"] = (s.now_ms - s.started_ms) / 1000;
  j["backlog"] = s.backlog;
  j["backlog_bytes"] = s.backlog_bytes;
  j["budget_bytes"] = s.budget_bytes;
  j["backlog_age_s"] =
      s.oldest_accepted_ms > 0 && s.backlog > 0 ? (s.now_ms - s.oldest_accepted_ms) / 1000 : 0;
  j["last_seq"] = s.last_seq;
  j["acked_seq"] = s.acked_seq;
  j["last_ack_at"] = s.last_ack_ms > 0 ? nlohmann::json(FormatRfc3339(s.last_ack_ms)) : nlohmann::json();
  j["accepted_total"] = s.accepted_total;
  j["refused_full"] = s.refused_full;
  j["refused_disk_full"] = s.refused_disk_full;
  j["duplicates_total"] = s.duplicates_total;
  j["batches_sent"] = s.batches_sent;
  j["resends"] = s.resends;
  j["reconnects"] = s.reconnects;
  j["bad_downlink"] = s.bad_downlink;
  if (s.will_ms > 0) j["will_ms"] = s.will_ms;
  j["epoch"] = EpochHex(s.epoch);
  j["epoch_confirmed"] = s.epoch_confirmed;
  j["acks_ignored"] = s.acks_ignored;
  j["probes_sent"] = s.probes_sent;
  nlohmann::json resets = nlohmann::json::array();
  for (const OutboxResetReport& r : s.outbox_resets) {
    resets.push_back({{"at", FormatRfc3339(r.at_ms)},
                      {"reason", r.reason},
                      {"detail", PrintableDetail(r.detail)},
                      {"epoch", EpochHex(r.epoch)}});
  }
  j["outbox_resets"] = std::move(resets);
  if (s.memory) {
    j["memory"] = {{"rss_bytes", s.memory->rss_bytes},
                   {"heap_bytes", s.memory->heap_bytes},
                   {"sqlite_bytes", s.memory->sqlite_bytes},
                   {"sqlite_peak_bytes", s.memory->sqlite_peak_bytes}};
  }
  if (s.offers_enabled) {
    j["offers_version"] = s.offers_version;
    j["offers"] = s.offers_count;
    j["offer_assignments"] = s.offer_assignments;
    j["offer_updates_applied"] = s.offer_updates_applied;
    j["offer_updates_rejected"] = s.offer_updates_rejected;
    j["impressions_recorded"] = s.impressions_recorded;
    j["impressions_dropped"] = s.impressions_dropped;
  }
  return j.dump();
}

}  // namespace cjd::agent

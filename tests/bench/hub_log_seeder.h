// Writes events straight into a stopped hub's log (hub.db) the way the hub's collect path stores
// them (source "bench", seq NULL, body = the canonical JSON), for benchmarks that need a large
// store quickly; Finish() adds them to the hub's counters. Used by `profiles`, `trickle` and
// `metrics --orders`.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

namespace cjd::bench {

class HubLogSeeder {
 public:
  // Opens `hub_db` (made by cjdctl init-hub; the hub must not run). Throws std::runtime_error.
  explicit HubLogSeeder(const std::filesystem::path& hub_db);
  ~HubLogSeeder();
  HubLogSeeder(const HubLogSeeder&) = delete;
  HubLogSeeder& operator=(const HubLogSeeder&) = delete;

  void Begin() { Exec("BEGIN"); }
  void Commit() { Exec("COMMIT"); }
  // Parses and validates `event_json` as a collect event, then inserts it. Throws on a bad event.
  void Insert(const std::string& event_json);
  // Adds what Insert() wrote to the counters (events_total, type:TYPE), then checkpoints the WAL.
  void Finish();
  int64_t written() const { return written_; }

 private:
  void Exec(const std::string& sql);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  int64_t received_ms_ = 0;
  int64_t written_ = 0;
  std::map<std::string, int64_t> by_type_;
};

}  // namespace cjd::bench

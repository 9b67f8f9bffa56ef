#include "tests/bench/hub_log_seeder.h"

#include <chrono>
#include <stdexcept>

#include "shared/event/event.h"
#include "shared/event/json_exact.h"

namespace cjd::bench {

HubLogSeeder::HubLogSeeder(const std::filesystem::path& hub_db) {
  if (sqlite3_open_v2(hub_db.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    const std::string msg = db_ != nullptr ? sqlite3_errmsg(db_) : "?";
    sqlite3_close_v2(db_);
    throw std::runtime_error("cannot open " + hub_db.string() + ": " + msg);
  }
  Exec("PRAGMA synchronous=NORMAL");
  if (sqlite3_prepare_v2(db_,
                         "INSERT INTO events (event_id, source, seq, type, occurred_at_ms, "
                         "received_at_ms, body) VALUES (?1, 'bench', NULL, ?2, ?3, ?4, ?5)",
                         -1, &insert_, nullptr) != SQLITE_OK) {
    const std::string msg = sqlite3_errmsg(db_);
    sqlite3_close_v2(db_);
    throw std::runtime_error("prepare: " + msg);
  }
  received_ms_ = std::chrono::duration_cast<std::chrono::milliseconds>(
                     std::chrono::system_clock::now().time_since_epoch())
                     .count();
}

HubLogSeeder::~HubLogSeeder() {
  sqlite3_finalize(insert_);
  sqlite3_close_v2(db_);
}

void HubLogSeeder::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    const std::string msg = err != nullptr ? err : "?";
    sqlite3_free(err);
    throw std::runtime_error("hub.db: " + sql + ": " + msg);
  }
}

void HubLogSeeder::Insert(const std::string& event_json) {
  auto j = ParseJsonExact(event_json);
  if (!j.ok()) throw std::runtime_error("seed event is not JSON: " + j.status().ToString());
  auto e = ValidateEvent(*j, kCollectEventTypes);
  if (!e.ok()) throw std::runtime_error("seed event is invalid: " + e.status().ToString());
  const std::string body = ToCanonicalJson(*e);
  const std::string type(EventTypeName(e->type));
  sqlite3_bind_text(insert_, 1, e->event_id.c_str(), static_cast<int>(e->event_id.size()),
                    SQLITE_TRANSIENT);
  sqlite3_bind_text(insert_, 2, type.c_str(), static_cast<int>(type.size()), SQLITE_TRANSIENT);
  sqlite3_bind_int64(insert_, 3, e->occurred_at_ms);
  sqlite3_bind_int64(insert_, 4, received_ms_);
  sqlite3_bind_text(insert_, 5, body.c_str(), static_cast<int>(body.size()), SQLITE_TRANSIENT);
  const int rc = sqlite3_step(insert_);
  sqlite3_reset(insert_);
  if (rc != SQLITE_DONE) throw std::runtime_error(std::string("insert: ") + sqlite3_errmsg(db_));
  ++written_;
  ++by_type_[type];
}

void HubLogSeeder::Finish() {
  std::string sql = "INSERT INTO counters (name, value) VALUES ('events_total', " +
                    std::to_string(written_) + ")";
  for (const auto& [type, n] : by_type_) {
    sql += ", ('type:" + type + "', " + std::to_string(n) + ")";
  }
  Exec(sql + " ON CONFLICT (name) DO UPDATE SET value = value + excluded.value");
  Exec("PRAGMA wal_checkpoint(TRUNCATE)");
}

}  // namespace cjd::bench

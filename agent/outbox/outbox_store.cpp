#include "agent/outbox/outbox_store.h"

#include "shared/event/event.h"

#include <random>

namespace cjd::agent {
namespace {

const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta VALUES ('last_seq', 0), ('acked_seq', 0);
      -- seq is the per-device monotonic sequence number; rows live until the hub acks them.
      CREATE TABLE outbox (
        seq            INTEGER PRIMARY KEY,
        event_id       TEXT    NOT NULL,
        type           INTEGER NOT NULL,
        occurred_at_ms INTEGER NOT NULL,
        accepted_at_ms INTEGER NOT NULL,
        body           BLOB    NOT NULL
      );
      -- Every accepted event id, kept for a window after its ack: a retry is never stored twice.
      CREATE TABLE event_ids (
        event_id       TEXT PRIMARY KEY,
        seq            INTEGER NOT NULL,
        accepted_at_ms INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE INDEX event_ids_by_time ON event_ids (accepted_at_ms);
    )sql"},
    {2, R"sql(
      -- meta 'epoch' (written by OutboxStore::Open, not here: it needs a random value) names
      -- this incarnation of the outbox; sequence numbers count per epoch.
      -- Resets of the outbox (a damaged file moved aside, a restore from a backup detected),
      -- reported to the hub in the heartbeat.
      CREATE TABLE resets (
        id      INTEGER PRIMARY KEY,
        at_ms   INTEGER NOT NULL,
        reason  TEXT NOT NULL,
        detail  TEXT NOT NULL,
        epoch   INTEGER NOT NULL
      );
    )sql"},
};

uint64_t RandomEpoch() {
  std::random_device rd;  // getrandom(2) on Linux
  uint64_t e = 0;
  while (e == 0) e = (static_cast<uint64_t>(rd()) << 32) ^ static_cast<uint64_t>(rd());
  return e;
}

}  // namespace

Result<std::unique_ptr<OutboxStore>> OutboxStore::Open(const std::string& path, int64_t now_ms) {
  sqlite::OpenOptions options;
  options.wal = true;
  options.synchronous_full = true;
  auto db = sqlite::Database::Open(path, options);
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  std::unique_ptr<OutboxStore> store(new OutboxStore(std::move(*db)));
  CJD_RETURN_IF_ERROR(store->Prepare());
  CJD_RETURN_IF_ERROR(store->LoadCounters());
  CJD_RETURN_IF_ERROR(store->LoadResets());
  if (store->counters_.epoch == 0) {
    // A new outbox, or one from before epochs: give it one. Rows it already holds were numbered
    // in the legacy epoch; they are renumbered and sent again under the new one.
    const bool legacy = store->counters_.last_seq > 0;
    CJD_RETURN_IF_ERROR(store->Begin());
    Status st = store->db_->Exec("INSERT OR IGNORE INTO meta VALUES ('epoch', 0)");
    if (st.ok()) {
      st = legacy ? store->StartNewEpoch(now_ms, "upgrade",
                                         "an outbox written before epochs; waiting rows renumbered")
                  : Status::Ok();
    }
    if (st.ok() && !legacy) store->counters_.epoch = RandomEpoch();
    if (st.ok()) st = store->Commit();
    if (!st.ok()) {
      store->Rollback();
      return st;
    }
  }
  return store;
}

Status OutboxStore::LoadResets() {
  auto stmt = db_->Prepare(
      "SELECT at_ms, reason, detail, epoch FROM (SELECT * FROM resets ORDER BY id DESC LIMIT ?1) "
      "ORDER BY id");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, static_cast<int64_t>(kMaxResetsKept));
  resets_.clear();
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    resets_.push_back(OutboxReset{stmt->ColumnInt(0), stmt->ColumnText(1), stmt->ColumnText(2),
                                  static_cast<uint64_t>(stmt->ColumnInt(3))});
  }
  return Status::Ok();
}

Status OutboxStore::StartNewEpoch(int64_t now_ms, const std::string& reason,
                                  const std::string& detail) {
  const int64_t shift = static_cast<int64_t>(counters_.acked_seq);
  // Every row waits above acked_seq; renumber in two steps (negative, then back) so no
  // intermediate value collides with a row not yet moved. Acked ids keep their dedupe window.
  auto renumber = [&](const char* sql) -> Status {
    auto stmt = db_->Prepare(sql);
    if (!stmt.ok()) return stmt.status();
    stmt->Bind(1, shift);
    return stmt->Run();
  };
  CJD_RETURN_IF_ERROR(renumber("UPDATE outbox SET seq = -(seq - ?1)"));
  CJD_RETURN_IF_ERROR(db_->Exec("UPDATE outbox SET seq = -seq WHERE seq < 0"));
  CJD_RETURN_IF_ERROR(renumber(
      "UPDATE event_ids SET seq = CASE WHEN seq <= ?1 THEN 0 ELSE seq - ?1 END"));
  const uint64_t epoch = RandomEpoch();
  auto insert = db_->Prepare(
      "INSERT INTO resets (at_ms, reason, detail, epoch) VALUES (?1, ?2, ?3, ?4)");
  if (!insert.ok()) return insert.status();
  insert->Bind(1, now_ms).Bind(2, reason).Bind(3, detail).Bind(4, static_cast<int64_t>(epoch));
  CJD_RETURN_IF_ERROR(insert->Run());
  counters_.epoch = epoch;
  counters_.last_seq -= counters_.acked_seq;
  counters_.acked_seq = 0;
  resets_.push_back(OutboxReset{now_ms, reason, detail, epoch});
  if (resets_.size() > kMaxResetsKept) resets_.erase(resets_.begin());
  return Status::Ok();
}

Status OutboxStore::Prepare() {
  auto prep = [this](sqlite::Statement* s, const char* sql) -> Status {
    auto r = db_->Prepare(sql);
    if (!r.ok()) return r.status();
    *s = std::move(*r);
    return Status::Ok();
  };
  CJD_RETURN_IF_ERROR(prep(&insert_id_,
      "INSERT INTO event_ids (event_id, seq, accepted_at_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT DO NOTHING"));
  CJD_RETURN_IF_ERROR(prep(&insert_row_,
      "INSERT INTO outbox (seq, event_id, type, occurred_at_ms, accepted_at_ms, body) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  CJD_RETURN_IF_ERROR(prep(&set_meta_, "UPDATE meta SET value = ?2 WHERE key = ?1"));
  CJD_RETURN_IF_ERROR(prep(&delete_rows_, "DELETE FROM outbox WHERE seq <= ?1"));
  CJD_RETURN_IF_ERROR(prep(&delete_ids_,
      "DELETE FROM event_ids WHERE accepted_at_ms < ?1 AND seq <= ?2"));
  CJD_RETURN_IF_ERROR(prep(&sum_rows_,
      "SELECT count(*), coalesce(sum(length(body) + length(event_id) + 48), 0) FROM outbox "
      "WHERE seq <= ?1"));
  CJD_RETURN_IF_ERROR(prep(&oldest_, "SELECT accepted_at_ms FROM outbox ORDER BY seq LIMIT 1"));
  return Status::Ok();
}

Status OutboxStore::LoadCounters() {
  auto epoch = db_->QueryInt("SELECT coalesce((SELECT value FROM meta WHERE key = 'epoch'), 0)");
  if (!epoch.ok()) return epoch.status();
  counters_.epoch = static_cast<uint64_t>(*epoch);
  auto last = db_->QueryInt("SELECT value FROM meta WHERE key = 'last_seq'");
  auto acked = db_->QueryInt("SELECT value FROM meta WHERE key = 'acked_seq'");
  if (!last.ok()) return last.status();
  if (!acked.ok()) return acked.status();
  counters_.last_seq = static_cast<uint64_t>(*last);
  counters_.acked_seq = static_cast<uint64_t>(*acked);
  sum_rows_.Bind(1, INT64_MAX);
  auto row = sum_rows_.Step();
  if (!row.ok()) return row.status();
  counters_.backlog = sum_rows_.ColumnInt(0);
  counters_.backlog_bytes = sum_rows_.ColumnInt(1);
  sum_rows_.Reset();
  return RefreshOldest();
}

Status OutboxStore::RefreshOldest() {
  auto row = oldest_.Step();
  if (!row.ok()) return row.status();
  counters_.oldest_accepted_ms = *row ? oldest_.ColumnInt(0) : 0;
  oldest_.Reset();
  return Status::Ok();
}

Status OutboxStore::Begin() { return db_->Exec("BEGIN IMMEDIATE"); }

Status OutboxStore::Commit() {
  set_meta_.Bind(1, "epoch").Bind(2, static_cast<int64_t>(counters_.epoch));
  CJD_RETURN_IF_ERROR(set_meta_.Run());
  set_meta_.Bind(1, "last_seq").Bind(2, static_cast<int64_t>(counters_.last_seq));
  CJD_RETURN_IF_ERROR(set_meta_.Run());
  set_meta_.Bind(1, "acked_seq").Bind(2, static_cast<int64_t>(counters_.acked_seq));
  CJD_RETURN_IF_ERROR(set_meta_.Run());
  return db_->Exec("COMMIT");
}

void OutboxStore::Rollback() {
  (void)db_->Exec("ROLLBACK");
  (void)LoadCounters();
  (void)LoadResets();
}

Status OutboxStore::Append(const std::vector<PendingEvent>& events, int64_t now_ms,
                           std::vector<bool>* duplicate) {
  duplicate->assign(events.size(), false);
  const bool was_empty = counters_.backlog == 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const PendingEvent& e = events[i];
    const uint64_t seq = counters_.last_seq + 1;
    insert_id_.Bind(1, e.event_id).Bind(2, static_cast<int64_t>(seq)).Bind(3, now_ms);
    CJD_RETURN_IF_ERROR(insert_id_.Run());
    if (db_->Changes() == 0) {
      (*duplicate)[i] = true;
      continue;
    }
    insert_row_.Bind(1, static_cast<int64_t>(seq))
        .Bind(2, e.event_id)
        .Bind(3, static_cast<int64_t>(e.type))
        .Bind(4, e.occurred_at_ms)
        .Bind(5, now_ms)
        .BindBlob(6, e.body);
    CJD_RETURN_IF_ERROR(insert_row_.Run());
    counters_.last_seq = seq;
    counters_.backlog += 1;
    counters_.backlog_bytes += RowBytes(e);
  }
  if (was_empty && counters_.backlog > 0) counters_.oldest_accepted_ms = now_ms;
  return Status::Ok();
}

Status OutboxStore::AckUpTo(uint64_t seq) {
  if (seq > counters_.last_seq) seq = counters_.last_seq;
  if (seq <= counters_.acked_seq) return Status::Ok();
  sum_rows_.Bind(1, static_cast<int64_t>(seq));
  auto row = sum_rows_.Step();
  if (!row.ok()) return row.status();
  const int64_t n = sum_rows_.ColumnInt(0);
  const int64_t bytes = sum_rows_.ColumnInt(1);
  sum_rows_.Reset();
  delete_rows_.Bind(1, static_cast<int64_t>(seq));
  CJD_RETURN_IF_ERROR(delete_rows_.Run());
  counters_.acked_seq = seq;
  counters_.backlog -= n;
  counters_.backlog_bytes -= bytes;
  return RefreshOldest();
}

Status OutboxStore::PruneEventIds(int64_t before_ms) {
  delete_ids_.Bind(1, before_ms).Bind(2, static_cast<int64_t>(counters_.acked_seq));
  return delete_ids_.Run();
}

Result<std::unique_ptr<OutboxReader>> OutboxReader::Open(const std::string& path) {
  sqlite::OpenOptions options;
  options.wal = true;
  options.synchronous_full = true;
  auto db = sqlite::Database::Open(path, options);
  if (!db.ok()) return db.status();
  std::unique_ptr<OutboxReader> reader(new OutboxReader(std::move(*db)));
  auto stmt = reader->db_->Prepare(
      "SELECT seq, event_id, type, occurred_at_ms, body FROM outbox WHERE seq > ?1 "
      "ORDER BY seq LIMIT ?2");
  if (!stmt.ok()) return stmt.status();
  reader->read_ = std::move(*stmt);
  return reader;
}

Status OutboxReader::ReadBatch(uint64_t after_seq, int64_t max_events, int64_t max_bytes,
                               std::vector<WireEvent>* out) {
  out->clear();
  read_.Bind(1, static_cast<int64_t>(after_seq)).Bind(2, max_events);
  int64_t bytes = 0;
  while (true) {
    auto row = read_.Step();
    if (!row.ok()) {
      read_.Reset();
      return row.status();
    }
    if (!*row) break;
    WireEvent e;
    e.seq = static_cast<uint64_t>(read_.ColumnInt(0));
    e.event_id = read_.ColumnText(1);
    e.type = static_cast<uint8_t>(read_.ColumnInt(2));
    e.occurred_at_ms = read_.ColumnInt(3);
    e.body = read_.ColumnText(4);
    bytes += static_cast<int64_t>(e.body.size());
    out->push_back(std::move(e));
    if (bytes >= max_bytes) break;
  }
  read_.Reset();
  return Status::Ok();
}

Result<int64_t> OutboxStore::Redact(const std::function<bool(std::string_view body)>& matches) {
  CJD_RETURN_IF_ERROR(Begin());
  int64_t changed = 0;
  Status st = [&]() -> Status {
    auto read = db_->Prepare("SELECT seq, body FROM outbox ORDER BY seq");
    if (!read.ok()) return read.status();
    auto write = db_->Prepare("UPDATE outbox SET body = ?2 WHERE seq = ?1");
    if (!write.ok()) return write.status();
    std::vector<std::pair<int64_t, std::string>> rewrites;
    while (true) {
      auto row = read->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      const std::string_view body = read->ColumnView(1);
      if (!matches(body)) continue;
      std::string redacted = RedactedEventJson(body);
      if (redacted != body) rewrites.emplace_back(read->ColumnInt(0), std::move(redacted));
    }
    read->Reset();
    for (const auto& [seq, body] : rewrites) {
      write->Bind(1, seq).BindBlob(2, body);
      CJD_RETURN_IF_ERROR(write->Run());
      ++changed;
    }
    return Status::Ok();
  }();
  if (!st.ok()) {
    Rollback();
    return st;
  }
  CJD_RETURN_IF_ERROR(Commit());
  CJD_RETURN_IF_ERROR(LoadCounters());  // the rows are smaller now
  // The redacted rows' old bytes must not stay in the WAL: an erasure fails (and is sent again
  // by the hub) rather than report done with them there.
  Result<bool> emptied = db_->TruncateWal();
  if (!emptied.ok()) return emptied.status();
  if (!*emptied) return Status::Io("outbox: the WAL could not be emptied (busy readers)");
  return changed;
}

}  // namespace cjd::agent

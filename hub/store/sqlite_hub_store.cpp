#include "hub/store/sqlite_hub_store.h"

#include "hub/collect/source_key.h"
#include "shared/core/words.h"
#include "shared/event/event.h"

namespace cjd::hub {
namespace {

const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE devices (
        device_id     TEXT PRIMARY KEY,
        store_id      TEXT NOT NULL,
        kind          TEXT NOT NULL,
        key_id        INTEGER NOT NULL,
        public_key    TEXT NOT NULL,
        created_ms    INTEGER NOT NULL,
        acked_seq     INTEGER NOT NULL DEFAULT 0,   -- highest contiguous sequence held
        last_seen_ms  INTEGER NOT NULL DEFAULT 0,
        status_json   TEXT,
        status_ms     INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      -- Sequence ranges held above a device's first gap (rare: out-of-order delivery).
      CREATE TABLE seq_ranges (
        device_id  TEXT NOT NULL,
        first_seq  INTEGER NOT NULL,
        last_seq   INTEGER NOT NULL,
        PRIMARY KEY (device_id, first_seq)
      ) WITHOUT ROWID;
      -- Every event from every source, exactly once (event_id is unique).
      CREATE TABLE events (
        id              INTEGER PRIMARY KEY,
        event_id        TEXT NOT NULL UNIQUE,
        source          TEXT NOT NULL,       -- device id, later also collect sources
        seq             INTEGER,             -- the device's sequence number
        type            TEXT NOT NULL,
        occurred_at_ms  INTEGER NOT NULL,
        received_at_ms  INTEGER NOT NULL,
        body            TEXT NOT NULL        -- canonical event JSON
      );
      CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
    )sql"},
    {2, R"sql(
      -- Collect sources (POST /v1/collect). Only the BLAKE2b-256 of a source's key is kept.
      CREATE TABLE sources (
        name        TEXT PRIMARY KEY,
        key_hash    BLOB NOT NULL UNIQUE,
        created_ms  INTEGER NOT NULL
      );
    )sql"},
    {3, R"sql(
      -- Event ids are unique per source (a device or a collect source), no longer across all:
      -- otherwise one source's ids (a web shop's "1001", or a guessed "import:erp:...") would
      -- make another source's events count as duplicates and vanish. Row ids are kept, so the
      -- projection's cursor stays valid.
      CREATE TABLE events_v3 (
        id              INTEGER PRIMARY KEY,
        event_id        TEXT NOT NULL,
        source          TEXT NOT NULL,
        seq             INTEGER,
        type            TEXT NOT NULL,
        occurred_at_ms  INTEGER NOT NULL,
        received_at_ms  INTEGER NOT NULL,
        body            TEXT NOT NULL,
        UNIQUE (source, event_id)
      );
      INSERT INTO events_v3 (id, event_id, source, seq, type, occurred_at_ms, received_at_ms, body)
        SELECT id, event_id, source, seq, type, occurred_at_ms, received_at_ms, body FROM events;
      DROP TABLE events;
      ALTER TABLE events_v3 RENAME TO events;
    )sql"},
    {4, R"sql(
      -- Sequence progress per (device, epoch): the epoch names one incarnation of the device's
      -- outbox (a lost, reset or restored outbox starts a new one and counts from 1 again).
      -- Epochs are 64-bit ids stored as their signed bit pattern; 0 is the legacy epoch of
      -- agents that send no epoch. Rows of earlier epochs are kept (audit, late frames).
      CREATE TABLE device_epochs (
        device_id      TEXT NOT NULL,
        epoch          INTEGER NOT NULL,
        acked_seq      INTEGER NOT NULL DEFAULT 0,
        first_seen_ms  INTEGER NOT NULL,
        last_seen_ms   INTEGER NOT NULL,
        PRIMARY KEY (device_id, epoch)
      ) WITHOUT ROWID;
      INSERT INTO device_epochs (device_id, epoch, acked_seq, first_seen_ms, last_seen_ms)
        SELECT device_id, 0, acked_seq, created_ms, last_seen_ms FROM devices
        WHERE acked_seq > 0 OR device_id IN (SELECT device_id FROM seq_ranges);
      -- devices.acked_seq stays the current epoch's (what the fleet view shows).
      ALTER TABLE devices ADD COLUMN epoch INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE seq_ranges_v4 (
        device_id  TEXT NOT NULL,
        epoch      INTEGER NOT NULL,
        first_seq  INTEGER NOT NULL,
        last_seq   INTEGER NOT NULL,
        PRIMARY KEY (device_id, epoch, first_seq)
      ) WITHOUT ROWID;
      INSERT INTO seq_ranges_v4 SELECT device_id, 0, first_seq, last_seq FROM seq_ranges;
      DROP TABLE seq_ranges;
      ALTER TABLE seq_ranges_v4 RENAME TO seq_ranges;
      -- The epoch a device event was sent under (NULL: collect events and legacy device events).
      ALTER TABLE events ADD COLUMN epoch INTEGER;
    )sql"},
    {5, R"sql(
      -- Issue 11: the personal part of an event, sealed (hub/store/event_vault.h): `body` then
      -- holds the rest, `pii` the sealed part and `pii_keys` the ids of its data keys.
      ALTER TABLE events ADD COLUMN pii BLOB;
      ALTER TABLE events ADD COLUMN pii_keys TEXT;
      CREATE TABLE store_meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      -- Rows written before sealing existed: sealed in place at the next start (SealPlaintext).
      INSERT INTO store_meta (key, value) SELECT 'plain_through', coalesce(max(id), 0) FROM events;
      INSERT INTO store_meta (key, value) VALUES ('sealed_through', 0);
    )sql"},
    {6, R"sql(
      -- Issue 16: the web origins a source's browsers may post from (hub/collect/cors.h),
      -- normal forms separated by single spaces; '' = none.
      ALTER TABLE sources ADD COLUMN allowed_origins TEXT NOT NULL DEFAULT '';
      -- Sources made before: any origin, as before (browsers' beacons kept working); new
      -- sources name theirs (cjdctl add-source --allowed-origin).
      UPDATE sources SET allowed_origins = '*';
    )sql"},
};

int64_t EpochToSql(uint64_t epoch) { return static_cast<int64_t>(epoch); }
uint64_t EpochFromSql(int64_t v) { return static_cast<uint64_t>(v); }

}  // namespace

Result<std::unique_ptr<SqliteHubStore>> SqliteHubStore::Open(const std::string& path,
                                                             std::shared_ptr<EventVault> vault) {
  auto db = sqlite::Database::Open(path, {});
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  std::unique_ptr<SqliteHubStore> store(new SqliteHubStore(std::move(*db), std::move(vault)));
  CJD_RETURN_IF_ERROR(store->Prepare());
  return store;
}

Status SqliteHubStore::Prepare() {
  auto prep = [this](sqlite::Statement* s, const char* sql) -> Status {
    auto r = db_->Prepare(sql);
    if (!r.ok()) return r.status();
    *s = std::move(*r);
    return Status::Ok();
  };
  CJD_RETURN_IF_ERROR(prep(&insert_event_,
      "INSERT INTO events (event_id, source, seq, type, occurred_at_ms, received_at_ms, body, "
      "epoch, pii, pii_keys) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
      "ON CONFLICT (source, event_id) DO NOTHING"));
  CJD_RETURN_IF_ERROR(prep(&add_counter_,
      "INSERT INTO counters (name, value) VALUES (?1, ?2) "
      "ON CONFLICT (name) DO UPDATE SET value = value + excluded.value"));
  CJD_RETURN_IF_ERROR(prep(&update_progress_,
      "UPDATE devices SET last_seen_ms = max(last_seen_ms, ?2) WHERE device_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&update_current_,
      "UPDATE devices SET acked_seq = ?3, epoch = ?2 WHERE device_id = ?1 AND "
      "(epoch = ?2 OR ?4)"));
  CJD_RETURN_IF_ERROR(prep(&upsert_epoch_,
      "INSERT INTO device_epochs (device_id, epoch, acked_seq, first_seen_ms, last_seen_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (device_id, epoch) DO UPDATE SET "
      "acked_seq = excluded.acked_seq, last_seen_ms = max(last_seen_ms, excluded.last_seen_ms)"));
  CJD_RETURN_IF_ERROR(prep(&delete_ranges_,
      "DELETE FROM seq_ranges WHERE device_id = ?1 AND epoch = ?2"));
  CJD_RETURN_IF_ERROR(prep(&insert_range_,
      "INSERT INTO seq_ranges (device_id, epoch, first_seq, last_seq) VALUES (?1, ?2, ?3, ?4)"));
  CJD_RETURN_IF_ERROR(prep(&update_status_,
      "UPDATE devices SET status_json = ?2, status_ms = ?3 WHERE device_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&find_device_,
      "SELECT device_id, store_id, kind, key_id, public_key, created_ms FROM devices "
      "WHERE device_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&find_source_, "SELECT name FROM sources WHERE key_hash = ?1"));
  return Status::Ok();
}

Result<bool> SqliteHubStore::NameTaken(const std::string& name, bool is_device) {
  auto stmt = db_->Prepare(is_device ? "SELECT 1 FROM devices WHERE device_id = ?1"
                                     : "SELECT 1 FROM sources WHERE name = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, name);
  return stmt->Step();
}

Status SqliteHubStore::RegisterDevice(const DeviceRecord& d) {
  sqlite::Transaction tx(*db_);
  if (!tx.status().ok()) return tx.status();
  auto is_source = NameTaken(d.device_id, /*is_device=*/false);
  if (!is_source.ok()) return is_source.status();
  if (*is_source) {
    return Status(Code::kConflict, "\"" + d.device_id +
                                       "\" is the name of a collect source; choose another id");
  }
  auto stmt = db_->Prepare(
      "INSERT INTO devices (device_id, store_id, kind, key_id, public_key, created_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, d.device_id).Bind(2, d.store_id).Bind(3, d.kind)
      .Bind(4, static_cast<int64_t>(d.key_id)).Bind(5, d.public_key).Bind(6, d.created_ms);
  Status st = stmt->Run();
  if (st.code() == Code::kConflict) {
    return Status(Code::kConflict, "device " + d.device_id + " is already registered");
  }
  CJD_RETURN_IF_ERROR(st);
  return tx.Commit();
}


Status SqliteHubStore::SetSourceOrigins(const std::string& name,
                                        const std::vector<std::string>& allowed_origins) {
  auto stmt = db_->Prepare("UPDATE sources SET allowed_origins = ?2 WHERE name = ?1");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, name).Bind(2, JoinWords(allowed_origins));
  CJD_RETURN_IF_ERROR(stmt->Run());
  if (db_->Changes() == 0) return Status(Code::kNotFound, "no source " + name, "--name");
  return Status::Ok();
}

Status SqliteHubStore::RegisterSource(const std::string& name, const std::string& key_hash,
                                      int64_t created_ms,
                                      const std::vector<std::string>& allowed_origins) {
  if (!IsValidSourceName(name)) {
    return Status::Invalid("source name must be 1-40 characters of A-Z a-z 0-9 . _ -", "name");
  }
  if (key_hash.size() != 32) return Status::Invalid("key hash must be 32 bytes", "key_hash");
  sqlite::Transaction tx(*db_);
  if (!tx.status().ok()) return tx.status();
  for (const bool is_device : {false, true}) {
    auto taken = NameTaken(name, is_device);
    if (!taken.ok()) return taken.status();
    if (!*taken) continue;
    return Status(Code::kConflict,
                  is_device ? "\"" + name + "\" is a registered device id; choose another name"
                            : "source " + name + " is already registered");
  }
  auto stmt = db_->Prepare(
      "INSERT INTO sources (name, key_hash, created_ms, allowed_origins) VALUES (?1, ?2, ?3, ?4)");
  if (!stmt.ok()) return stmt.status();
  stmt->Bind(1, name).BindBlob(2, key_hash).Bind(3, created_ms).Bind(4, JoinWords(allowed_origins));
  Status st = stmt->Run();
  if (st.code() == Code::kConflict) {
    return Status(Code::kConflict, "this key is already registered to another source");
  }
  CJD_RETURN_IF_ERROR(st);
  return tx.Commit();
}

Result<std::optional<std::string>> SqliteHubStore::FindSourceByKeyHash(
    const std::string& key_hash) {
  find_source_.BindBlob(1, key_hash);
  auto row = find_source_.Step();
  std::optional<std::string> out;
  if (row.ok() && *row) out = find_source_.ColumnText(0);
  find_source_.Reset();
  if (!row.ok()) return row.status();
  return out;
}

Result<std::vector<SourceRecord>> SqliteHubStore::ListSources() {
  auto stmt =
      db_->Prepare("SELECT name, created_ms, allowed_origins FROM sources ORDER BY name");
  if (!stmt.ok()) return stmt.status();
  std::vector<SourceRecord> out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(
        SourceRecord{stmt->ColumnText(0), stmt->ColumnInt(1), SplitWords(stmt->ColumnText(2))});
  }
  return out;
}

Result<IngestResult> SqliteHubStore::CommitCollect(const std::string& source,
                                                   const std::vector<CollectEvent>& events,
                                                   int64_t received_ms) {
  std::vector<VaultedEvent> sealed;
  CJD_RETURN_IF_ERROR(SealCollectEvents(vault_.get(), source, events, &sealed));
  sqlite::Transaction tx(*db_);
  if (!tx.status().ok()) return tx.status();
  IngestResult result;
  std::map<EventType, int64_t> by_type;
  for (size_t i = 0; i < events.size(); ++i) {
    const CollectEvent& e = events[i];
    insert_event_.Bind(1, e.event_id)
        .Bind(2, source)
        .BindNull(3)
        .Bind(4, EventTypeName(e.type))
        .Bind(5, e.occurred_at_ms)
        .Bind(6, received_ms)
        .Bind(7, sealed[i].body)
        .BindNull(8);
    BindPii(sealed[i]);
    CJD_RETURN_IF_ERROR(insert_event_.Run());
    if (db_->Changes() == 1) {
      ++result.inserted;
      ++by_type[e.type];
    } else {
      ++result.duplicates;
    }
  }
  CJD_RETURN_IF_ERROR(AddEventCounters(result, by_type));
  CJD_RETURN_IF_ERROR(tx.Commit());
  return result;
}

Result<std::optional<DeviceRecord>> SqliteHubStore::FindDevice(const std::string& device_id) {
  find_device_.Bind(1, device_id);
  auto row = find_device_.Step();
  if (!row.ok()) {
    find_device_.Reset();
    return row.status();
  }
  std::optional<DeviceRecord> out;
  if (*row) {
    DeviceRecord d;
    d.device_id = find_device_.ColumnText(0);
    d.store_id = find_device_.ColumnText(1);
    d.kind = find_device_.ColumnText(2);
    d.key_id = static_cast<uint32_t>(find_device_.ColumnInt(3));
    d.public_key = find_device_.ColumnText(4);
    d.created_ms = find_device_.ColumnInt(5);
    out = std::move(d);
  }
  find_device_.Reset();
  return out;
}

Result<std::vector<DeviceRow>> SqliteHubStore::ListDevices() {
  auto stmt = db_->Prepare(
      "SELECT device_id, store_id, kind, key_id, public_key, created_ms, acked_seq, "
      "last_seen_ms, status_json, status_ms, epoch FROM devices ORDER BY device_id");
  if (!stmt.ok()) return stmt.status();
  auto epochs = db_->Prepare(
      "SELECT epoch, acked_seq, first_seen_ms, last_seen_ms FROM device_epochs "
      "WHERE device_id = ?1 ORDER BY first_seen_ms, epoch");
  if (!epochs.ok()) return epochs.status();
  auto ranges = db_->Prepare(
      "SELECT first_seq, last_seq FROM seq_ranges WHERE device_id = ?1 AND epoch = ?2 "
      "ORDER BY first_seq");
  if (!ranges.ok()) return ranges.status();
  std::vector<DeviceRow> out;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    DeviceRow d;
    d.record.device_id = stmt->ColumnText(0);
    d.record.store_id = stmt->ColumnText(1);
    d.record.kind = stmt->ColumnText(2);
    d.record.key_id = static_cast<uint32_t>(stmt->ColumnInt(3));
    d.record.public_key = stmt->ColumnText(4);
    d.record.created_ms = stmt->ColumnInt(5);
    d.state.acked_seq = static_cast<uint64_t>(stmt->ColumnInt(6));
    d.state.last_seen_ms = stmt->ColumnInt(7);
    d.state.status_json = stmt->ColumnIsNull(8) ? "" : stmt->ColumnText(8);
    d.state.status_ms = stmt->ColumnInt(9);
    d.state.epoch = EpochFromSql(stmt->ColumnInt(10));
    epochs->Bind(1, d.record.device_id);
    while (true) {
      auto e = epochs->Step();
      if (!e.ok()) return e.status();
      if (!*e) break;
      EpochState es;
      es.epoch = EpochFromSql(epochs->ColumnInt(0));
      es.acked_seq = static_cast<uint64_t>(epochs->ColumnInt(1));
      es.first_seen_ms = epochs->ColumnInt(2);
      es.last_seen_ms = epochs->ColumnInt(3);
      ranges->Bind(1, d.record.device_id).Bind(2, EpochToSql(es.epoch));
      while (true) {
        auto r = ranges->Step();
        if (!r.ok()) return r.status();
        if (!*r) break;
        es.pending_ranges.emplace_back(static_cast<uint64_t>(ranges->ColumnInt(0)),
                                       static_cast<uint64_t>(ranges->ColumnInt(1)));
      }
      ranges->Reset();
      if (es.epoch == d.state.epoch) d.state.pending_ranges = es.pending_ranges;
      d.state.epochs.push_back(std::move(es));
    }
    epochs->Reset();
    out.push_back(std::move(d));
  }
  return out;
}

Status SqliteHubStore::AddCounter(const std::string& name, int64_t delta) {
  if (delta == 0) return Status::Ok();
  add_counter_.Bind(1, name).Bind(2, delta);
  return add_counter_.Run();
}

Status SqliteHubStore::AddEventCounters(const IngestResult& result,
                                        const std::map<EventType, int64_t>& by_type) {
  CJD_RETURN_IF_ERROR(AddCounter("events_total", result.inserted));
  CJD_RETURN_IF_ERROR(AddCounter("duplicate_events", result.duplicates));
  for (const auto& [type, n] : by_type) {
    CJD_RETURN_IF_ERROR(AddCounter("type:" + std::string(EventTypeName(type)), n));
  }
  return Status::Ok();
}


void SqliteHubStore::BindPii(const VaultedEvent& v) {
  if (v.pii.empty()) {
    insert_event_.BindNull(9).BindNull(10);
  } else {
    insert_event_.BindBlob(9, v.pii).Bind(10, v.pii_keys);
  }
}

Status SqliteHubStore::WriteIngest(const std::vector<IngestBatch>& batches,
                                   const std::vector<DeviceProgress>& progress,
                                   const std::map<std::string, int64_t>& rejected,
                                   int64_t received_ms, const std::vector<VaultedEvent>& sealed,
                                   IngestResult* result) {
  std::map<EventType, int64_t> by_type;
  size_t k = 0;
  for (const IngestBatch& b : batches) {
    for (const WireEvent& e : b.events) {
      const auto type_name = EventTypeName(static_cast<EventType>(e.type));
      const VaultedEvent& v = sealed[k++];
      insert_event_.Bind(1, e.event_id)
          .Bind(2, b.device_id)
          .Bind(3, static_cast<int64_t>(e.seq))
          .Bind(4, type_name)
          .Bind(5, e.occurred_at_ms)
          .Bind(6, received_ms)
          .Bind(7, v.body);
      if (b.epoch != 0) insert_event_.Bind(8, EpochToSql(b.epoch)); else insert_event_.BindNull(8);
      BindPii(v);
      CJD_RETURN_IF_ERROR(insert_event_.Run());
      if (db_->Changes() == 1) {
        ++result->inserted;
        ++by_type[static_cast<EventType>(e.type)];
      } else {
        ++result->duplicates;
      }
    }
  }
  for (const DeviceProgress& p : progress) {
    update_progress_.Bind(1, p.device_id).Bind(2, p.last_seen_ms);
    CJD_RETURN_IF_ERROR(update_progress_.Run());
    for (const EpochProgress& e : p.epochs) {
      const int64_t epoch = EpochToSql(e.epoch);
      upsert_epoch_.Bind(1, p.device_id)
          .Bind(2, epoch)
          .Bind(3, static_cast<int64_t>(e.acked_seq))
          .Bind(4, p.last_seen_ms);
      CJD_RETURN_IF_ERROR(upsert_epoch_.Run());
      // The device row mirrors its current epoch (or becomes the new one).
      update_current_.Bind(1, p.device_id)
          .Bind(2, epoch)
          .Bind(3, static_cast<int64_t>(e.acked_seq))
          .Bind(4, int64_t{e.make_current ? 1 : 0});
      CJD_RETURN_IF_ERROR(update_current_.Run());
      delete_ranges_.Bind(1, p.device_id).Bind(2, epoch);
      CJD_RETURN_IF_ERROR(delete_ranges_.Run());
      for (const auto& [first, last] : e.pending_ranges) {
        insert_range_.Bind(1, p.device_id)
            .Bind(2, epoch)
            .Bind(3, static_cast<int64_t>(first))
            .Bind(4, static_cast<int64_t>(last));
        CJD_RETURN_IF_ERROR(insert_range_.Run());
      }
    }
    if (p.status_json) {
      update_status_.Bind(1, p.device_id).Bind(2, *p.status_json).Bind(3, p.last_seen_ms);
      CJD_RETURN_IF_ERROR(update_status_.Run());
    }
  }
  CJD_RETURN_IF_ERROR(AddEventCounters(*result, by_type));
  for (const auto& [reason, n] : rejected) CJD_RETURN_IF_ERROR(AddCounter("rejected:" + reason, n));
  return Status::Ok();
}

Result<IngestResult> SqliteHubStore::CommitIngest(const std::vector<IngestBatch>& batches,
                                                  const std::vector<DeviceProgress>& progress,
                                                  const std::map<std::string, int64_t>& rejected,
                                                  int64_t received_ms,
                                                  std::vector<DeviceProgress>* stored) {
  // A group of heartbeats only (no batch, so no ack, and nothing rejected) promises nothing
  // durable: the device's next heartbeat replaces it. It commits without the WAL's fdatasync
  // (synchronous=NORMAL for this one transaction: still atomic in WAL mode, made durable by the
  // next FULL commit or checkpoint), which in a fleet saves a sync per heartbeat (a third of
  // the frames of `cjd-bench fleet`). Every other commit keeps synchronous=FULL: acks promise it.
  const bool heartbeats_only = batches.empty() && rejected.empty();
  // The personal parts sealed first (the vault's keys.db commits any new data key before the
  // events that need it).
  std::vector<VaultedEvent> sealed;
  CJD_RETURN_IF_ERROR(SealIngestBatches(vault_.get(), batches, &sealed));
  struct RestoreFull {
    sqlite::Database* db = nullptr;
    ~RestoreFull() {
      if (db != nullptr) (void)db->Exec("PRAGMA synchronous = FULL");
    }
  } restore;
  if (heartbeats_only) {
    CJD_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous = NORMAL"));
    restore.db = db_.get();
  }
  sqlite::Transaction tx(*db_);
  if (!tx.status().ok()) return tx.status();
  IngestResult result;
  CJD_RETURN_IF_ERROR(WriteIngest(batches, progress, rejected, received_ms, sealed, &result));
  CJD_RETURN_IF_ERROR(tx.Commit());
  if (stored != nullptr) *stored = progress;  // SQLite has one writer: the ingest thread
  return result;
}

Result<StoreCounters> SqliteHubStore::Counters() {
  auto stmt = db_->Prepare("SELECT name, value FROM counters");
  if (!stmt.ok()) return stmt.status();
  StoreCounters c;
  while (true) {
    auto row = stmt->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    AddCounterRow(stmt->ColumnText(0), stmt->ColumnInt(1), &c);
  }
  auto head = db_->QueryInt("SELECT coalesce(max(rowid), 0) FROM events");
  if (!head.ok()) return head.status();
  c.last_event_rowid = *head;
  return c;
}

Result<int64_t> SqliteHubStore::RedactEvents(const std::vector<int64_t>& ids) {
  int64_t changed = 0;
  {
    sqlite::Transaction tx(*db_);
    if (!tx.status().ok()) return tx.status();
    auto read = db_->Prepare("SELECT body, pii IS NOT NULL FROM events WHERE id = ?1");
    if (!read.ok()) return read.status();
    auto write = db_->Prepare(
        "UPDATE events SET body = ?2, pii = NULL, pii_keys = NULL WHERE id = ?1");
    if (!write.ok()) return write.status();
    for (int64_t id : ids) {
      read->Bind(1, id);
      auto row = read->Step();
      if (!row.ok()) return row.status();
      if (!*row) {
        read->Reset();
        continue;
      }
      const std::string body = read->ColumnText(0);
      const bool sealed = read->ColumnInt(1) != 0;
      read->Reset();
      // A sealed row's body holds no person already: it is marked, and its sealed part dropped.
      std::string redacted = sealed ? MarkRedacted(body) : RedactedEventJson(body);
      if (redacted == body) continue;
      write->Bind(1, id).Bind(2, redacted);
      CJD_RETURN_IF_ERROR(write->Run());
      ++changed;
    }
    CJD_RETURN_IF_ERROR(tx.Commit());
  }
  return changed;
}

Result<int64_t> SqliteHubStore::SealPlaintext(int limit) {
  if (vault_ == nullptr) return Status::Invalid("sealing needs the vault", "privacy.keys_path");
  auto through = db_->QueryInt("SELECT value FROM store_meta WHERE key = 'plain_through'");
  if (!through.ok()) return through.status();
  auto done = db_->QueryInt("SELECT value FROM store_meta WHERE key = 'sealed_through'");
  if (!done.ok()) return done.status();
  if (*done >= *through) return int64_t{0};
  auto read = db_->Prepare(
      "SELECT id, source, event_id, body FROM events WHERE id > ?1 AND id <= ?2 AND pii IS NULL "
      "ORDER BY id LIMIT ?3");
  if (!read.ok()) return read.status();
  read->Bind(1, *done).Bind(2, *through).Bind(3, static_cast<int64_t>(limit));
  std::vector<int64_t> ids;
  std::vector<std::string> sources, event_ids, bodies;
  while (true) {
    auto row = read->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ids.push_back(read->ColumnInt(0));
    sources.push_back(read->ColumnText(1));
    event_ids.push_back(read->ColumnText(2));
    bodies.push_back(read->ColumnText(3));
  }
  read->Reset();
  std::vector<std::string_view> views(bodies.begin(), bodies.end());
  std::vector<EventRef> refs;
  for (size_t i = 0; i < ids.size(); ++i) refs.push_back(EventRef{sources[i], event_ids[i]});
  std::vector<VaultedEvent> sealed;
  CJD_RETURN_IF_ERROR(vault_->Seal(views, refs, &sealed));
  const int64_t last = ids.empty() ? *through : ids.back();
  sqlite::Transaction tx(*db_);
  if (!tx.status().ok()) return tx.status();
  auto write = db_->Prepare("UPDATE events SET body = ?2, pii = ?3, pii_keys = ?4 WHERE id = ?1");
  if (!write.ok()) return write.status();
  int64_t changed = 0;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (sealed[i].pii.empty()) continue;
    write->Bind(1, ids[i]).Bind(2, sealed[i].body).BindBlob(3, sealed[i].pii).Bind(4, sealed[i].pii_keys);
    CJD_RETURN_IF_ERROR(write->Run());
    ++changed;
  }
  auto mark = db_->Prepare("UPDATE store_meta SET value = ?1 WHERE key = 'sealed_through'");
  if (!mark.ok()) return mark.status();
  mark->Bind(1, ids.size() < static_cast<size_t>(limit) ? *through : last);
  CJD_RETURN_IF_ERROR(mark->Run());
  CJD_RETURN_IF_ERROR(tx.Commit());
  return ids.empty() ? int64_t{0} : static_cast<int64_t>(ids.size());
}

Result<bool> SqliteHubStore::TruncateWal() { return db_->TruncateWal(); }

}  // namespace cjd::hub

#include "hub/privacy/erasure_store.h"

#include <algorithm>

#include "shared/storage/postgres.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub::privacy {
namespace {

const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE erasures (
        seq              INTEGER PRIMARY KEY,
        id               TEXT NOT NULL UNIQUE,
        subject_type     INTEGER NOT NULL,      -- identity::IdType; -1: asked by profile id
        subject_key      BLOB,                  -- keyed hash of the identifier asked for
        subject_sealed   BLOB,                  -- its value, sealed; NULL once done everywhere
        profile_id       INTEGER NOT NULL,      -- asked by profile id (0: by identifier)
        suppress         INTEGER NOT NULL,
        requested_ms     INTEGER NOT NULL,
        deadline_ms      INTEGER NOT NULL,
        hub_done_ms      INTEGER,               -- NULL while the hub part is pending
        erased_profile   INTEGER NOT NULL DEFAULT 0,
        events_redacted  INTEGER NOT NULL DEFAULT 0,
        values_sealed    BLOB                   -- the person's identifiers for the devices'
                                                -- commands, sealed; NULL once every device is done
      );
      CREATE INDEX erasures_hub_pending ON erasures (seq) WHERE hub_done_ms IS NULL;
      CREATE TABLE erasure_devices (
        erasure_id  TEXT NOT NULL,
        device_id   TEXT NOT NULL,
        sent_ms     INTEGER NOT NULL DEFAULT 0,
        done_ms     INTEGER,                    -- NULL until its receipt
        PRIMARY KEY (erasure_id, device_id)
      ) WITHOUT ROWID;
      CREATE INDEX erasure_devices_owed ON erasure_devices (device_id) WHERE done_ms IS NULL;
      -- "suppress": the keyed hashes of a person's identifiers; their future events are
      -- projected without the person and redacted in the log.
      CREATE TABLE suppressed (
        id_key      BLOB PRIMARY KEY,
        erasure_id  TEXT NOT NULL,
        at_ms       INTEGER NOT NULL
      ) WITHOUT ROWID;
    )sql"},
    {2, R"sql(
      -- What the hub part found before it changed anything (sealed JSON: the profile, its log
      -- rows, stores and identifiers), so a restart between the projection's erasure and the
      -- log's redaction still redacts them. NULL once the hub part is done.
      ALTER TABLE erasures ADD COLUMN progress BLOB;
    )sql"},
    {3, R"sql(
      -- The keyed hashes of every identifier the erased person held (issue 17): each hub
      -- instance keeps its own projection, and one that did not run the hub part erases the
      -- person from its own by these (ErasureStore::HubDoneSince).
      CREATE TABLE erasure_keys (
        erasure_id  TEXT NOT NULL,
        id_key      BLOB NOT NULL,
        PRIMARY KEY (erasure_id, id_key)
      ) WITHOUT ROWID;
      CREATE INDEX erasures_hub_done ON erasures (hub_done_ms) WHERE hub_done_ms IS NOT NULL;
      -- When the final sweep ran (after the last device's receipt), for the other instances to
      -- sweep their own projections too.
      ALTER TABLE erasures ADD COLUMN swept_ms INTEGER;
    )sql"},
};

// The same tables in PostgreSQL, shared by the hub's instances (issue 17).
const std::vector<pg::Migration> kPgMigrations = {
    {1,
     "CREATE TABLE privacy_erasures ("
     "  seq              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
     "  id               text NOT NULL UNIQUE,"
     "  subject_type     integer NOT NULL,"
     "  subject_key      bytea,"
     "  subject_sealed   bytea,"
     "  profile_id       bigint NOT NULL,"
     "  suppress         boolean NOT NULL,"
     "  requested_ms     bigint NOT NULL,"
     "  deadline_ms      bigint NOT NULL,"
     "  hub_done_ms      bigint,"
     "  erased_profile   bigint NOT NULL DEFAULT 0,"
     "  events_redacted  bigint NOT NULL DEFAULT 0,"
     "  values_sealed    bytea,"
     "  progress         bytea);"
     "CREATE INDEX privacy_erasures_hub_pending ON privacy_erasures (seq) "
     "  WHERE hub_done_ms IS NULL;"
     "CREATE TABLE privacy_erasure_devices ("
     "  erasure_id  text NOT NULL REFERENCES privacy_erasures (id),"
     "  device_id   text NOT NULL,"
     "  sent_ms     bigint NOT NULL DEFAULT 0,"
     "  done_ms     bigint,"
     "  PRIMARY KEY (erasure_id, device_id));"
     "CREATE INDEX privacy_erasure_devices_owed ON privacy_erasure_devices (device_id) "
     "  WHERE done_ms IS NULL;"
     "CREATE TABLE privacy_suppressed ("
     "  id_key      bytea PRIMARY KEY,"
     "  erasure_id  text NOT NULL,"
     "  at_ms       bigint NOT NULL);"},
    {2,
     "CREATE TABLE privacy_erasure_keys ("
     "  erasure_id  text NOT NULL REFERENCES privacy_erasures (id),"
     "  id_key      bytea NOT NULL,"
     "  PRIMARY KEY (erasure_id, id_key));"
     "CREATE INDEX privacy_erasures_hub_done ON privacy_erasures (hub_done_ms) "
     "  WHERE hub_done_ms IS NOT NULL;"
     "ALTER TABLE privacy_erasures ADD COLUMN swept_ms bigint;"},
};

constexpr const char* kColumns =
    "seq, id, subject_type, subject_key, profile_id, suppress, requested_ms, deadline_ms, "
    "hub_done_ms, erased_profile, events_redacted FROM erasures ";

ErasureRequest FromRow(const sqlite::Statement& s) {
  ErasureRequest r;
  r.seq = s.ColumnInt(0);
  r.id = s.ColumnText(1);
  r.subject_type = static_cast<int>(s.ColumnInt(2));
  if (!s.ColumnIsNull(3)) r.subject_key = std::string(s.ColumnView(3));
  r.profile_id = s.ColumnInt(4);
  r.suppress = s.ColumnInt(5) != 0;
  r.requested_ms = s.ColumnInt(6);
  r.deadline_ms = s.ColumnInt(7);
  r.hub_done = !s.ColumnIsNull(8);
  r.hub_done_ms = r.hub_done ? s.ColumnInt(8) : 0;
  r.erased_profile = s.ColumnInt(9);
  r.events_redacted = s.ColumnInt(10);
  return r;
}

constexpr const char* kPgColumns =
    "seq, id, subject_type, subject_key, profile_id, suppress::int, requested_ms, deadline_ms, "
    "hub_done_ms, erased_profile, events_redacted FROM privacy_erasures ";

ErasureRequest FromPgRow(const pg::Row& s) {
  ErasureRequest r;
  r.seq = s.Int(0);
  r.id = s.Text(1);
  r.subject_type = static_cast<int>(s.Int(2));
  if (!s.IsNull(3)) r.subject_key = s.Bytes(3);
  r.profile_id = s.Int(4);
  r.suppress = s.Int(5) != 0;
  r.requested_ms = s.Int(6);
  r.deadline_ms = s.Int(7);
  r.hub_done = !s.IsNull(8);
  r.hub_done_ms = r.hub_done ? s.Int(8) : 0;
  r.erased_profile = s.Int(9);
  r.events_redacted = s.Int(10);
  return r;
}

// The first column of every row of `sql` (no parameters), as bytes.
Result<std::vector<std::string>> FirstColumn(sqlite::Database& db, const char* sql) {
  auto s = db.Prepare(sql);
  if (!s.ok()) return s.status();
  std::vector<std::string> out;
  while (true) {
    auto row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.emplace_back(s->ColumnView(0));
  }
  return out;
}

}  // namespace

bool ErasureRequest::done() const {
  return hub_done && std::all_of(devices.begin(), devices.end(),
                                 [](const ErasureDevice& d) { return d.done; });
}

int64_t ErasureRequest::done_ms() const {
  if (!done()) return 0;
  int64_t last = hub_done_ms;
  for (const ErasureDevice& d : devices) last = std::max(last, d.done_ms);
  return last;
}

// What each backend implements (the public functions, one for one).
class ErasureStore::Tables {
 public:
  virtual ~Tables() = default;
  virtual Result<int64_t> Add(const ErasureRequest& r, const std::string& sealed_subject) = 0;
  virtual Result<std::optional<ErasureRequest>> Get(const std::string& id) = 0;
  virtual Result<std::vector<ErasureRequest>> List(int64_t after_seq, int limit) = 0;
  virtual Result<std::vector<ErasureRequest>> HubPending() = 0;
  virtual Status SaveProgress(const std::string& id, const std::string& sealed) = 0;
  virtual Result<std::string> Progress(const std::string& id) = 0;
  virtual Result<std::string> SealedSubject(const std::string& id) = 0;
  virtual Status CompleteHub(const std::string& id, int64_t done_ms, int64_t erased_profile,
                             int64_t events_redacted, const std::vector<std::string>& device_ids,
                             const std::string& sealed_values,
                             const std::vector<std::string>& suppress_keys,
                             const std::vector<std::string>& person_keys) = 0;
  virtual Result<std::vector<Owed>> OwedTo(const std::string& device_id) = 0;
  virtual Result<std::vector<std::string>> DevicesOwing() = 0;
  virtual Status MarkSent(const std::string& id, const std::string& device_id, int64_t sent_ms) = 0;
  virtual Result<bool> DeviceDone(const std::string& id, const std::string& device_id,
                                  int64_t done_ms) = 0;
  virtual Result<std::string> ValuesIfAllDone(const std::string& id) = 0;
  virtual Status DropValues(const std::string& id, int64_t swept_ms) = 0;
  virtual Result<Counts> Count(int64_t now_ms) = 0;
  virtual Result<std::vector<std::string>> SuppressedKeys() = 0;
  virtual Result<std::vector<Finished>> HubDoneSince(int64_t since_ms) = 0;
};

class ErasureStore::SqliteTables final : public ErasureStore::Tables {
 public:
  explicit SqliteTables(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}
  Result<int64_t> Add(const ErasureRequest& r, const std::string& sealed_subject) override;
  Result<std::optional<ErasureRequest>> Get(const std::string& id) override;
  Result<std::vector<ErasureRequest>> List(int64_t after_seq, int limit) override;
  Result<std::vector<ErasureRequest>> HubPending() override;
  Status SaveProgress(const std::string& id, const std::string& sealed) override;
  Result<std::string> Progress(const std::string& id) override;
  Result<std::string> SealedSubject(const std::string& id) override;
  Status CompleteHub(const std::string& id, int64_t done_ms, int64_t erased_profile,
                     int64_t events_redacted, const std::vector<std::string>& device_ids,
                     const std::string& sealed_values,
                     const std::vector<std::string>& suppress_keys,
                     const std::vector<std::string>& person_keys) override;
  Result<std::vector<Finished>> HubDoneSince(int64_t since_ms) override;
  Result<std::vector<Owed>> OwedTo(const std::string& device_id) override;
  Result<std::vector<std::string>> DevicesOwing() override;
  Status MarkSent(const std::string& id, const std::string& device_id, int64_t sent_ms) override;
  Result<bool> DeviceDone(const std::string& id, const std::string& device_id,
                          int64_t done_ms) override;
  Result<std::string> ValuesIfAllDone(const std::string& id) override;
  Status DropValues(const std::string& id, int64_t swept_ms) override;
  Result<Counts> Count(int64_t now_ms) override;
  Result<std::vector<std::string>> SuppressedKeys() override;

 private:
  Status LoadDevices(ErasureRequest* r);
  Result<std::vector<ErasureRequest>> Query(const char* sql, int64_t a, int64_t b);

  std::unique_ptr<sqlite::Database> db_;
};

Result<int64_t> ErasureStore::SqliteTables::Add(const ErasureRequest& r,
                                                const std::string& sealed_subject) {
  auto s = db_->Prepare(
      "INSERT INTO erasures (id, subject_type, subject_key, subject_sealed, profile_id, suppress, "
      "requested_ms, deadline_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) "
      "ON CONFLICT (id) DO NOTHING");
  if (!s.ok()) return s.status();
  s->Bind(1, r.id).Bind(2, static_cast<int64_t>(r.subject_type));
  if (r.subject_key.empty()) s->BindNull(3); else s->BindBlob(3, r.subject_key);
  if (sealed_subject.empty()) s->BindNull(4); else s->BindBlob(4, sealed_subject);
  s->Bind(5, r.profile_id).Bind(6, r.suppress ? 1 : 0).Bind(7, r.requested_ms)
      .Bind(8, r.deadline_ms);
  CJD_RETURN_IF_ERROR(s->Run());
  if (db_->Changes() == 0) return Status(Code::kConflict, "erasure id in use: " + r.id);
  return db_->LastInsertRowid();
}

Status ErasureStore::SqliteTables::LoadDevices(ErasureRequest* r) {
  auto s = db_->Prepare(
      "SELECT device_id, sent_ms, done_ms FROM erasure_devices WHERE erasure_id = ?1 "
      "ORDER BY device_id");
  if (!s.ok()) return s.status();
  s->Bind(1, r->id);
  r->devices.clear();
  while (true) {
    auto row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    ErasureDevice d;
    d.device_id = s->ColumnText(0);
    d.sent_ms = s->ColumnInt(1);
    d.done = !s->ColumnIsNull(2);
    d.done_ms = d.done ? s->ColumnInt(2) : 0;
    r->devices.push_back(std::move(d));
  }
  return Status::Ok();
}

Result<std::vector<ErasureRequest>> ErasureStore::SqliteTables::Query(const char* sql, int64_t a,
                                                                      int64_t b) {
  auto s = db_->Prepare(std::string("SELECT ") + kColumns + sql);
  if (!s.ok()) return s.status();
  s->Bind(1, a).Bind(2, b);
  std::vector<ErasureRequest> out;
  while (true) {
    auto row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back(FromRow(*s));
  }
  for (ErasureRequest& r : out) CJD_RETURN_IF_ERROR(LoadDevices(&r));
  return out;
}

Result<std::optional<ErasureRequest>> ErasureStore::SqliteTables::Get(const std::string& id) {
  auto s = db_->Prepare(std::string("SELECT ") + kColumns + "WHERE id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, id);
  auto row = s->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::optional<ErasureRequest>();
  ErasureRequest r = FromRow(*s);
  CJD_RETURN_IF_ERROR(LoadDevices(&r));
  return std::optional<ErasureRequest>(std::move(r));
}

Result<std::vector<ErasureRequest>> ErasureStore::SqliteTables::List(int64_t after_seq, int limit) {
  return Query("WHERE seq > ?1 ORDER BY seq LIMIT ?2", after_seq, limit);
}

Result<std::vector<ErasureRequest>> ErasureStore::SqliteTables::HubPending() {
  return Query("WHERE hub_done_ms IS NULL AND ?1 = ?1 AND ?2 = ?2 ORDER BY seq", 0, 0);
}

Status ErasureStore::SqliteTables::SaveProgress(const std::string& id, const std::string& sealed) {
  auto s = db_->Prepare("UPDATE erasures SET progress = ?2 WHERE id = ?1 AND hub_done_ms IS NULL");
  if (!s.ok()) return s.status();
  s->Bind(1, id).BindBlob(2, sealed);
  return s->Run();
}

Result<std::string> ErasureStore::SqliteTables::Progress(const std::string& id) {
  auto s = db_->Prepare("SELECT progress FROM erasures WHERE id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, id);
  auto row = s->Step();
  if (!row.ok()) return row.status();
  if (!*row || s->ColumnIsNull(0)) return std::string();
  return std::string(s->ColumnView(0));
}

Result<std::string> ErasureStore::SqliteTables::SealedSubject(const std::string& id) {
  auto s = db_->Prepare("SELECT subject_sealed FROM erasures WHERE id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, id);
  auto row = s->Step();
  if (!row.ok()) return row.status();
  if (!*row || s->ColumnIsNull(0)) return std::string();
  return std::string(s->ColumnView(0));
}

Status ErasureStore::SqliteTables::CompleteHub(const std::string& id, int64_t done_ms,
                                               int64_t erased_profile, int64_t events_redacted,
                                               const std::vector<std::string>& device_ids,
                                               const std::string& sealed_values,
                                               const std::vector<std::string>& suppress_keys,
                                               const std::vector<std::string>& person_keys) {
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  auto s = db_->Prepare(
      "UPDATE erasures SET hub_done_ms = ?2, erased_profile = ?3, events_redacted = ?4, "
      "values_sealed = ?5, subject_sealed = CASE WHEN ?6 THEN subject_sealed END, "
      "progress = NULL WHERE id = ?1 AND hub_done_ms IS NULL");
  if (!s.ok()) return s.status();
  s->Bind(1, id).Bind(2, done_ms).Bind(3, erased_profile).Bind(4, events_redacted);
  if (device_ids.empty()) s->BindNull(5); else s->BindBlob(5, sealed_values);
  s->Bind(6, device_ids.empty() ? 0 : 1);
  CJD_RETURN_IF_ERROR(s->Run());
  if (db_->Changes() == 0) return Status::NotFound("no pending erasure " + id);
  auto dev = db_->Prepare(
      "INSERT OR IGNORE INTO erasure_devices (erasure_id, device_id) VALUES (?1, ?2)");
  if (!dev.ok()) return dev.status();
  for (const std::string& d : device_ids) {
    dev->Bind(1, id).Bind(2, d);
    CJD_RETURN_IF_ERROR(dev->Run());
  }
  auto sup = db_->Prepare(
      "INSERT OR IGNORE INTO suppressed (id_key, erasure_id, at_ms) VALUES (?1, ?2, ?3)");
  if (!sup.ok()) return sup.status();
  for (const std::string& k : suppress_keys) {
    sup->BindBlob(1, k).Bind(2, id).Bind(3, done_ms);
    CJD_RETURN_IF_ERROR(sup->Run());
  }
  auto person = db_->Prepare(
      "INSERT OR IGNORE INTO erasure_keys (erasure_id, id_key) VALUES (?1, ?2)");
  if (!person.ok()) return person.status();
  for (const std::string& k : person_keys) {
    person->Bind(1, id).BindBlob(2, k);
    CJD_RETURN_IF_ERROR(person->Run());
  }
  return tx.Commit();
}

Result<std::vector<ErasureStore::Finished>> ErasureStore::SqliteTables::HubDoneSince(
    int64_t since_ms) {
  auto s = db_->Prepare(
      "SELECT e.id, e.hub_done_ms, e.suppress, coalesce(e.swept_ms, 0), k.id_key FROM erasures e "
      "LEFT JOIN erasure_keys k ON k.erasure_id = e.id "
      "WHERE e.hub_done_ms >= ?1 OR e.swept_ms >= ?1 ORDER BY e.hub_done_ms, e.seq");
  if (!s.ok()) return s.status();
  s->Bind(1, since_ms);
  std::vector<Finished> out;
  while (true) {
    auto r = s->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    if (out.empty() || out.back().id != s->ColumnText(0)) {
      out.push_back({s->ColumnText(0), s->ColumnInt(1), s->ColumnInt(3), s->ColumnInt(2) != 0, {}});
    }
    if (!s->ColumnIsNull(4)) out.back().keys.emplace_back(s->ColumnView(4));
  }
  return out;
}

Result<std::vector<ErasureStore::Owed>> ErasureStore::SqliteTables::OwedTo(
    const std::string& device_id) {
  auto s = db_->Prepare(
      "SELECT e.id, e.values_sealed, d.sent_ms FROM erasure_devices d "
      "JOIN erasures e ON e.id = d.erasure_id "
      "WHERE d.device_id = ?1 AND d.done_ms IS NULL AND e.values_sealed IS NOT NULL "
      "ORDER BY e.seq");
  if (!s.ok()) return s.status();
  s->Bind(1, device_id);
  std::vector<Owed> out;
  while (true) {
    auto row = s->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out.push_back({s->ColumnText(0), std::string(s->ColumnView(1)), s->ColumnInt(2)});
  }
  return out;
}

Result<std::vector<std::string>> ErasureStore::SqliteTables::DevicesOwing() {
  return FirstColumn(
      *db_,
      "SELECT DISTINCT device_id FROM erasure_devices WHERE done_ms IS NULL ORDER BY device_id");
}

Status ErasureStore::SqliteTables::MarkSent(const std::string& id, const std::string& device_id,
                              int64_t sent_ms) {
  auto s = db_->Prepare(
      "UPDATE erasure_devices SET sent_ms = ?3 WHERE erasure_id = ?1 AND device_id = ?2");
  if (!s.ok()) return s.status();
  s->Bind(1, id).Bind(2, device_id).Bind(3, sent_ms);
  return s->Run();
}

Result<bool> ErasureStore::SqliteTables::DeviceDone(const std::string& id,
                                                    const std::string& device_id, int64_t done_ms) {
  auto s = db_->Prepare(
      "UPDATE erasure_devices SET done_ms = ?3 WHERE erasure_id = ?1 AND device_id = ?2 "
      "AND done_ms IS NULL");
  if (!s.ok()) return s.status();
  s->Bind(1, id).Bind(2, device_id).Bind(3, done_ms);
  CJD_RETURN_IF_ERROR(s->Run());
  return db_->Changes() > 0;
}

Result<std::string> ErasureStore::SqliteTables::ValuesIfAllDone(const std::string& id) {
  auto s = db_->Prepare(
      "SELECT values_sealed FROM erasures WHERE id = ?1 AND hub_done_ms IS NOT NULL AND "
      "values_sealed IS NOT NULL AND NOT EXISTS (SELECT 1 FROM erasure_devices "
      "WHERE erasure_id = ?1 AND done_ms IS NULL)");
  if (!s.ok()) return s.status();
  s->Bind(1, id);
  auto row = s->Step();
  if (!row.ok()) return row.status();
  if (!*row) return std::string();
  return std::string(s->ColumnView(0));
}

Status ErasureStore::SqliteTables::DropValues(const std::string& id, int64_t swept_ms) {
  auto s = db_->Prepare(
      "UPDATE erasures SET values_sealed = NULL, subject_sealed = NULL, swept_ms = ?2 "
      "WHERE id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, id).Bind(2, swept_ms);
  CJD_RETURN_IF_ERROR(s->Run());
  Result<bool> emptied = db_->TruncateWal();
  if (!emptied.ok()) return emptied.status();
  if (!*emptied) return Status::Io("privacy.db: the WAL could not be emptied (busy readers)");
  return Status::Ok();
}

Result<ErasureStore::Counts> ErasureStore::SqliteTables::Count(int64_t now_ms) {
  auto s = db_->Prepare(
      "WITH open AS (SELECT e.deadline_ms FROM erasures e WHERE e.hub_done_ms IS NULL OR EXISTS "
      "  (SELECT 1 FROM erasure_devices d WHERE d.erasure_id = e.id AND d.done_ms IS NULL)) "
      "SELECT (SELECT count(*) FROM erasures), "
      "       (SELECT count(*) FROM erasures WHERE hub_done_ms IS NULL), "
      "       (SELECT count(*) FROM open), "
      "       (SELECT count(*) FROM open WHERE deadline_ms < ?1), "
      "       (SELECT count(*) FROM erasure_devices WHERE done_ms IS NULL)");
  if (!s.ok()) return s.status();
  s->Bind(1, now_ms);
  auto row = s->Step();
  if (!row.ok()) return row.status();
  Counts c;
  if (*row) {
    c.requests = s->ColumnInt(0);
    c.hub_pending = s->ColumnInt(1);
    c.pending = s->ColumnInt(2);
    c.overdue = s->ColumnInt(3);
    c.receipts_owed = s->ColumnInt(4);
  }
  return c;
}

Result<std::vector<std::string>> ErasureStore::SqliteTables::SuppressedKeys() {
  return FirstColumn(*db_, "SELECT id_key FROM suppressed");
}


class ErasureStore::PgTables final : public ErasureStore::Tables {
 public:
  explicit PgTables(std::unique_ptr<pg::Connection> db) : db_(std::move(db)) {}

  Result<int64_t> Add(const ErasureRequest& r, const std::string& sealed_subject) override {
    auto rows = db_->Query(
        "INSERT INTO privacy_erasures (id, subject_type, subject_key, subject_sealed, profile_id, "
        "suppress, requested_ms, deadline_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
        "ON CONFLICT (id) DO NOTHING RETURNING seq",
        {pg::Text(r.id), pg::Int(r.subject_type),
         r.subject_key.empty() ? pg::Null() : pg::Bytes(r.subject_key),
         sealed_subject.empty() ? pg::Null() : pg::Bytes(sealed_subject), pg::Int(r.profile_id),
         pg::Text(r.suppress ? "true" : "false"), pg::Int(r.requested_ms),
         pg::Int(r.deadline_ms)});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) return Status(Code::kConflict, "erasure id in use: " + r.id);
    return rows->front().Int(0);
  }

  Result<std::optional<ErasureRequest>> Get(const std::string& id) override {
    auto got = Query("WHERE id = $1", {pg::Text(id)});
    if (!got.ok()) return got.status();
    if (got->empty()) return std::optional<ErasureRequest>();
    return std::optional<ErasureRequest>(std::move(got->front()));
  }

  Result<std::vector<ErasureRequest>> List(int64_t after_seq, int limit) override {
    return Query("WHERE seq > $1 ORDER BY seq LIMIT $2", {pg::Int(after_seq), pg::Int(limit)});
  }

  Result<std::vector<ErasureRequest>> HubPending() override {
    return Query("WHERE hub_done_ms IS NULL ORDER BY seq", {});
  }

  Status SaveProgress(const std::string& id, const std::string& sealed) override {
    return db_->Run("UPDATE privacy_erasures SET progress = $2 WHERE id = $1 AND "
                    "hub_done_ms IS NULL",
                    {pg::Text(id), pg::Bytes(sealed)})
        .status();
  }

  Result<std::string> Progress(const std::string& id) override {
    return Column("SELECT progress FROM privacy_erasures WHERE id = $1", id);
  }

  Result<std::string> SealedSubject(const std::string& id) override {
    return Column("SELECT subject_sealed FROM privacy_erasures WHERE id = $1", id);
  }

  Status CompleteHub(const std::string& id, int64_t done_ms, int64_t erased_profile,
                     int64_t events_redacted, const std::vector<std::string>& device_ids,
                     const std::string& sealed_values,
                     const std::vector<std::string>& suppress_keys,
                     const std::vector<std::string>& person_keys) override {
    pg::Transaction tx(*db_);
    CJD_RETURN_IF_ERROR(tx.status());
    auto n = db_->Run(
        "UPDATE privacy_erasures SET hub_done_ms = $2, erased_profile = $3, "
        "events_redacted = $4, values_sealed = $5, "
        "subject_sealed = CASE WHEN $6 THEN subject_sealed END, progress = NULL "
        "WHERE id = $1 AND hub_done_ms IS NULL",
        {pg::Text(id), pg::Int(done_ms), pg::Int(erased_profile), pg::Int(events_redacted),
         device_ids.empty() ? pg::Null() : pg::Bytes(sealed_values),
         pg::Text(device_ids.empty() ? "false" : "true")});
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::NotFound("no pending erasure " + id);
    for (const std::string& d : device_ids) {
      CJD_RETURN_IF_ERROR(db_->Run("INSERT INTO privacy_erasure_devices (erasure_id, device_id) "
                                   "VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                   {pg::Text(id), pg::Text(d)})
                              .status());
    }
    for (const std::string& k : suppress_keys) {
      CJD_RETURN_IF_ERROR(db_->Run("INSERT INTO privacy_suppressed (id_key, erasure_id, at_ms) "
                                   "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                   {pg::Bytes(k), pg::Text(id), pg::Int(done_ms)})
                              .status());
    }
    for (const std::string& k : person_keys) {
      CJD_RETURN_IF_ERROR(db_->Run("INSERT INTO privacy_erasure_keys (erasure_id, id_key) "
                                   "VALUES ($1, $2) ON CONFLICT DO NOTHING",
                                   {pg::Text(id), pg::Bytes(k)})
                              .status());
    }
    return tx.Commit();
  }

  Result<std::vector<Finished>> HubDoneSince(int64_t since_ms) override {
    auto rows = db_->Query(
        "SELECT e.id, e.hub_done_ms, e.suppress::int, coalesce(e.swept_ms, 0), k.id_key "
        "FROM privacy_erasures e LEFT JOIN privacy_erasure_keys k ON k.erasure_id = e.id "
        "WHERE e.hub_done_ms >= $1 OR e.swept_ms >= $1 ORDER BY e.hub_done_ms, e.seq",
        {pg::Int(since_ms)});
    if (!rows.ok()) return rows.status();
    std::vector<Finished> out;
    for (const pg::Row& r : *rows) {
      if (out.empty() || out.back().id != r.Text(0)) {
        out.push_back({r.Text(0), r.Int(1), r.Int(3), r.Int(2) != 0, {}});
      }
      if (!r.IsNull(4)) out.back().keys.push_back(r.Bytes(4));
    }
    return out;
  }

  Result<std::vector<Owed>> OwedTo(const std::string& device_id) override {
    auto rows = db_->Query(
        "SELECT e.id, e.values_sealed, d.sent_ms FROM privacy_erasure_devices d "
        "JOIN privacy_erasures e ON e.id = d.erasure_id "
        "WHERE d.device_id = $1 AND d.done_ms IS NULL AND e.values_sealed IS NOT NULL "
        "ORDER BY e.seq",
        {pg::Text(device_id)});
    if (!rows.ok()) return rows.status();
    std::vector<Owed> out;
    for (const pg::Row& r : *rows) out.push_back({r.Text(0), r.Bytes(1), r.Int(2)});
    return out;
  }

  Result<std::vector<std::string>> DevicesOwing() override {
    auto rows = db_->Query("SELECT DISTINCT device_id FROM privacy_erasure_devices "
                           "WHERE done_ms IS NULL ORDER BY device_id");
    if (!rows.ok()) return rows.status();
    std::vector<std::string> out;
    for (const pg::Row& r : *rows) out.push_back(r.Text(0));
    return out;
  }

  Status MarkSent(const std::string& id, const std::string& device_id, int64_t sent_ms) override {
    return db_->Run("UPDATE privacy_erasure_devices SET sent_ms = $3 WHERE erasure_id = $1 AND "
                    "device_id = $2",
                    {pg::Text(id), pg::Text(device_id), pg::Int(sent_ms)})
        .status();
  }

  Result<bool> DeviceDone(const std::string& id, const std::string& device_id,
                          int64_t done_ms) override {
    // One row update: of two instances taking the same receipt, one finds it done already.
    auto n = db_->Run("UPDATE privacy_erasure_devices SET done_ms = $3 WHERE erasure_id = $1 "
                      "AND device_id = $2 AND done_ms IS NULL",
                      {pg::Text(id), pg::Text(device_id), pg::Int(done_ms)});
    if (!n.ok()) return n.status();
    return *n > 0;
  }

  Result<std::string> ValuesIfAllDone(const std::string& id) override {
    return Column(
        "SELECT values_sealed FROM privacy_erasures WHERE id = $1 AND hub_done_ms IS NOT NULL "
        "AND values_sealed IS NOT NULL AND NOT EXISTS (SELECT 1 FROM privacy_erasure_devices "
        "WHERE erasure_id = $1 AND done_ms IS NULL)",
        id);
  }

  Status DropValues(const std::string& id, int64_t swept_ms) override {
    // (No WAL to empty here as on SQLite: the values were sealed under the hub's identity key,
    // and the old row versions go at the next vacuum.)
    return db_->Run("UPDATE privacy_erasures SET values_sealed = NULL, subject_sealed = NULL, "
                    "swept_ms = $2 WHERE id = $1",
                    {pg::Text(id), pg::Int(swept_ms)})
        .status();
  }

  Result<Counts> Count(int64_t now_ms) override {
    auto rows = db_->Query(
        "WITH open AS (SELECT e.deadline_ms FROM privacy_erasures e WHERE e.hub_done_ms IS NULL "
        "  OR EXISTS (SELECT 1 FROM privacy_erasure_devices d WHERE d.erasure_id = e.id "
        "  AND d.done_ms IS NULL)) "
        "SELECT (SELECT count(*) FROM privacy_erasures), "
        "       (SELECT count(*) FROM privacy_erasures WHERE hub_done_ms IS NULL), "
        "       (SELECT count(*) FROM open), "
        "       (SELECT count(*) FROM open WHERE deadline_ms < $1), "
        "       (SELECT count(*) FROM privacy_erasure_devices WHERE done_ms IS NULL)",
        {pg::Int(now_ms)});
    if (!rows.ok()) return rows.status();
    Counts c;
    if (!rows->empty()) {
      const pg::Row& r = rows->front();
      c.requests = r.Int(0);
      c.hub_pending = r.Int(1);
      c.pending = r.Int(2);
      c.overdue = r.Int(3);
      c.receipts_owed = r.Int(4);
    }
    return c;
  }

  Result<std::vector<std::string>> SuppressedKeys() override {
    auto rows = db_->Query("SELECT id_key FROM privacy_suppressed");
    if (!rows.ok()) return rows.status();
    std::vector<std::string> out;
    for (const pg::Row& r : *rows) out.push_back(r.Bytes(0));
    return out;
  }

 private:
  // Requests matching `where` (after the column list), each with its devices.
  Result<std::vector<ErasureRequest>> Query(const std::string& where,
                                            const std::vector<pg::Param>& params) {
    auto rows = db_->Query(std::string("SELECT ") + kPgColumns + where, params);
    if (!rows.ok()) return rows.status();
    std::vector<ErasureRequest> out;
    for (const pg::Row& r : *rows) out.push_back(FromPgRow(r));
    for (ErasureRequest& r : out) {
      auto devices = db_->Query(
          "SELECT device_id, sent_ms, done_ms FROM privacy_erasure_devices "
          "WHERE erasure_id = $1 ORDER BY device_id",
          {pg::Text(r.id)});
      if (!devices.ok()) return devices.status();
      for (const pg::Row& d : *devices) {
        ErasureDevice device;
        device.device_id = d.Text(0);
        device.sent_ms = d.Int(1);
        device.done = !d.IsNull(2);
        device.done_ms = device.done ? d.Int(2) : 0;
        r.devices.push_back(std::move(device));
      }
    }
    return out;
  }

  // One bytea column of one row ("" when there is no row or it is NULL).
  Result<std::string> Column(const char* sql, const std::string& id) {
    auto rows = db_->Query(sql, {pg::Text(id)});
    if (!rows.ok()) return rows.status();
    if (rows->empty() || rows->front().IsNull(0)) return std::string();
    return rows->front().Bytes(0);
  }

  std::unique_ptr<pg::Connection> db_;
};

ErasureStore::ErasureStore(std::unique_ptr<Tables> tables, bool shared)
    : tables_(std::move(tables)), shared_(shared) {}

ErasureStore::~ErasureStore() = default;

Result<std::unique_ptr<ErasureStore>> ErasureStore::Open(const std::string& location) {
  std::unique_ptr<Tables> tables;
  if (pg::IsPostgresUrl(location)) {
    auto db = pg::Connection::Open(location);
    if (!db.ok()) return db.status();
    CJD_RETURN_IF_ERROR((*db)->Migrate("privacy", kPgMigrations));
    tables = std::make_unique<PgTables>(std::move(*db));
  } else {
    auto db = sqlite::Database::Open(location);
    if (!db.ok()) return db.status();
    CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
    tables = std::make_unique<SqliteTables>(std::move(*db));
  }
  const bool shared = pg::IsPostgresUrl(location);
  return std::unique_ptr<ErasureStore>(new ErasureStore(std::move(tables), shared));
}

Result<int64_t> ErasureStore::Add(const ErasureRequest& r, const std::string& sealed_subject) {
  return tables_->Add(r, sealed_subject);
}
Result<std::optional<ErasureRequest>> ErasureStore::Get(const std::string& id) {
  return tables_->Get(id);
}
Result<std::vector<ErasureRequest>> ErasureStore::List(int64_t after_seq, int limit) {
  return tables_->List(after_seq, limit);
}
Result<std::vector<ErasureRequest>> ErasureStore::HubPending() { return tables_->HubPending(); }
Status ErasureStore::SaveProgress(const std::string& id, const std::string& sealed) {
  return tables_->SaveProgress(id, sealed);
}
Result<std::string> ErasureStore::Progress(const std::string& id) { return tables_->Progress(id); }
Result<std::string> ErasureStore::SealedSubject(const std::string& id) {
  return tables_->SealedSubject(id);
}
Status ErasureStore::CompleteHub(const std::string& id, int64_t done_ms, int64_t erased_profile,
                                 int64_t events_redacted,
                                 const std::vector<std::string>& device_ids,
                                 const std::string& sealed_values,
                                 const std::vector<std::string>& suppress_keys,
                                 const std::vector<std::string>& person_keys) {
  return tables_->CompleteHub(id, done_ms, erased_profile, events_redacted, device_ids,
                              sealed_values, suppress_keys, person_keys);
}
Result<std::vector<ErasureStore::Finished>> ErasureStore::HubDoneSince(int64_t since_ms) {
  return tables_->HubDoneSince(since_ms);
}
Result<std::vector<ErasureStore::Owed>> ErasureStore::OwedTo(const std::string& device_id) {
  return tables_->OwedTo(device_id);
}
Result<std::vector<std::string>> ErasureStore::DevicesOwing() { return tables_->DevicesOwing(); }
Status ErasureStore::MarkSent(const std::string& id, const std::string& device_id,
                              int64_t sent_ms) {
  return tables_->MarkSent(id, device_id, sent_ms);
}
Result<bool> ErasureStore::DeviceDone(const std::string& id, const std::string& device_id,
                                      int64_t done_ms) {
  return tables_->DeviceDone(id, device_id, done_ms);
}
Result<std::string> ErasureStore::ValuesIfAllDone(const std::string& id) {
  return tables_->ValuesIfAllDone(id);
}
Status ErasureStore::DropValues(const std::string& id, int64_t swept_ms) {
  return tables_->DropValues(id, swept_ms);
}
Result<ErasureStore::Counts> ErasureStore::Count(int64_t now_ms) { return tables_->Count(now_ms); }
Result<std::vector<std::string>> ErasureStore::SuppressedKeys() {
  return tables_->SuppressedKeys();
}

}  // namespace cjd::hub::privacy

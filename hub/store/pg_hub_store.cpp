#include "hub/store/pg_hub_store.h"

#include <chrono>
#include <cstdio>

#include "hub/collect/source_key.h"
#include "hub/ingest/sequence_tracker.h"
#include "shared/core/words.h"
#include "shared/event/event.h"

namespace cjd::hub {
namespace {

using pg::Bytes;
using pg::Int;
using pg::Null;
using pg::Text;

// The module name in schema_versions.
constexpr const char* kModule = "hub_store";

const std::vector<pg::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE devices (
        device_id     text PRIMARY KEY,
        store_id      text NOT NULL,
        kind          text NOT NULL,
        key_id        bigint NOT NULL,
        public_key    text NOT NULL,
        created_ms    bigint NOT NULL,
        acked_seq     bigint NOT NULL DEFAULT 0,   -- the current epoch's, as device_epochs
        last_seen_ms  bigint NOT NULL DEFAULT 0,
        status_json   text,
        status_ms     bigint NOT NULL DEFAULT 0,
        epoch         bigint NOT NULL DEFAULT 0    -- the current epoch (signed bit pattern)
      );
      CREATE TABLE device_epochs (
        device_id      text NOT NULL,
        epoch          bigint NOT NULL,
        acked_seq      bigint NOT NULL DEFAULT 0,
        first_seen_ms  bigint NOT NULL,
        last_seen_ms   bigint NOT NULL,
        PRIMARY KEY (device_id, epoch)
      );
      CREATE TABLE seq_ranges (
        device_id  text NOT NULL,
        epoch      bigint NOT NULL,
        first_seq  bigint NOT NULL,
        last_seq   bigint NOT NULL,
        PRIMARY KEY (device_id, epoch, first_seq)
      );
      CREATE TABLE sources (
        name             text PRIMARY KEY,
        key_hash         bytea NOT NULL UNIQUE,
        created_ms       bigint NOT NULL,
        allowed_origins  text NOT NULL DEFAULT ''
      );
      CREATE TABLE counters (name text PRIMARY KEY, value bigint NOT NULL);
      -- One row per event of the log: the uniqueness of (source, event_id) across partitions,
      -- and the log's ids (in commit order: see pg_hub_store.h).
      CREATE TABLE event_keys (
        source          text NOT NULL,
        event_id        text NOT NULL,
        id              bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
        received_at_ms  bigint NOT NULL,
        PRIMARY KEY (source, event_id)
      );
      -- The log, by month of arrival (partitions events_yYYYYmMM, made by the store).
      CREATE TABLE events (
        id              bigint NOT NULL,
        event_id        text NOT NULL,
        source          text NOT NULL,
        seq             bigint,
        type            text NOT NULL,
        occurred_at_ms  bigint NOT NULL,
        received_at_ms  bigint NOT NULL,
        body            text NOT NULL,    -- canonical event JSON without its personal part
        epoch           bigint,
        pii             bytea,            -- the sealed personal part (event_vault.h)
        pii_keys        text,
        PRIMARY KEY (id, received_at_ms)
      ) PARTITION BY RANGE (received_at_ms);
    )sql"},
};

// The advisory lock every writer of the log holds until its commit (pg_hub_store.h).
constexpr int64_t kLogLock = 0x636a642d6c6f67;  // "cjd-log"

int64_t MonthOf(int64_t ms) {  // year * 12 + (month - 1), UTC
  using namespace std::chrono;
  const year_month_day ymd{floor<days>(sys_time<milliseconds>(milliseconds(ms)))};
  return static_cast<int>(ymd.year()) * 12 + static_cast<int>(static_cast<unsigned>(ymd.month())) - 1;
}

int64_t MonthStartMs(int64_t month) {
  using namespace std::chrono;
  const year_month_day ymd{year(static_cast<int>(month / 12)),
                           std::chrono::month(static_cast<unsigned>(month % 12 + 1)), day(1)};
  return duration_cast<milliseconds>(sys_days(ymd).time_since_epoch()).count();
}

std::string PartitionName(int64_t month) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "events_y%04lldm%02lld", static_cast<long long>(month / 12),
                static_cast<long long>(month % 12 + 1));
  return buf;
}

int64_t EpochToSql(uint64_t epoch) { return static_cast<int64_t>(epoch); }
uint64_t EpochFromSql(int64_t v) { return static_cast<uint64_t>(v); }


}  // namespace

Result<std::unique_ptr<PgHubStore>> PgHubStore::Open(const std::string& url,
                                                     std::shared_ptr<EventVault> vault) {
  auto db = pg::Connection::Open(url);
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate(kModule, kMigrations));
  return std::unique_ptr<PgHubStore>(new PgHubStore(std::move(*db), std::move(vault)));
}

Status PgHubStore::EnsurePartition(int64_t received_ms) {
  const int64_t month = MonthOf(received_ms);
  if (partitions_.count(month) > 0 && partitions_.count(month + 1) > 0) return Status::Ok();
  // Made in a transaction of its own (DDL takes locks a long ingest transaction should not
  // hold), under an advisory lock so two instances do not collide in the catalogue.
  pg::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  CJD_RETURN_IF_ERROR(
      db_->Query("SELECT pg_advisory_xact_lock(hashtext('cjd-partitions'))").status());
  for (const int64_t m : {month, month + 1}) {
    if (partitions_.count(m) > 0) continue;
    CJD_RETURN_IF_ERROR(db_->Exec("CREATE TABLE IF NOT EXISTS " + PartitionName(m) +
                                  " PARTITION OF events FOR VALUES FROM (" +
                                  std::to_string(MonthStartMs(m)) + ") TO (" +
                                  std::to_string(MonthStartMs(m + 1)) + ")"));
  }
  CJD_RETURN_IF_ERROR(tx.Commit());
  partitions_.insert(month);
  partitions_.insert(month + 1);
  return Status::Ok();
}

Result<std::vector<std::string>> PgHubStore::Partitions() {
  auto rows = db_->Query(
      "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
      "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' ORDER BY c.relname");
  if (!rows.ok()) return rows.status();
  std::vector<std::string> out;
  for (const pg::Row& r : *rows) out.push_back(r.Text(0));
  return out;
}

Status PgHubStore::LockLog() {
  return db_->Query("SELECT pg_advisory_xact_lock($1)", {Int(kLogLock)}).status();
}

Result<bool> PgHubStore::NameTaken(const std::string& name, bool is_device) {
  auto n = db_->QueryInt(is_device ? "SELECT count(*) FROM devices WHERE device_id = $1"
                                   : "SELECT count(*) FROM sources WHERE name = $1",
                         {Text(name)});
  if (!n.ok()) return n.status();
  return *n > 0;
}

Status PgHubStore::RegisterDevice(const DeviceRecord& d) {
  pg::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  // Device ids and source names share one namespace: both registrations take this lock.
  CJD_RETURN_IF_ERROR(db_->Query("SELECT pg_advisory_xact_lock(hashtext('cjd-names'))").status());
  auto is_source = NameTaken(d.device_id, /*is_device=*/false);
  if (!is_source.ok()) return is_source.status();
  if (*is_source) {
    return Status(Code::kConflict, "\"" + d.device_id +
                                       "\" is the name of a collect source; choose another id");
  }
  auto st = db_->Run(
      "INSERT INTO devices (device_id, store_id, kind, key_id, public_key, created_ms) "
      "VALUES ($1, $2, $3, $4, $5, $6)",
      {Text(d.device_id), Text(d.store_id), Text(d.kind), Int(d.key_id), Text(d.public_key),
       Int(d.created_ms)});
  if (st.status().code() == Code::kConflict) {
    return Status(Code::kConflict, "device " + d.device_id + " is already registered");
  }
  CJD_RETURN_IF_ERROR(st.status());
  return tx.Commit();
}

Result<std::optional<DeviceRecord>> PgHubStore::FindDevice(const std::string& device_id) {
  auto rows = db_->Query(
      "SELECT device_id, store_id, kind, key_id, public_key, created_ms FROM devices "
      "WHERE device_id = $1",
      {Text(device_id)});
  if (!rows.ok()) return rows.status();
  std::optional<DeviceRecord> out;
  if (!rows->empty()) {
    const pg::Row& r = rows->front();
    out = DeviceRecord{r.Text(0), r.Text(1), r.Text(2), static_cast<uint32_t>(r.Int(3)),
                       r.Text(4), r.Int(5)};
  }
  return out;
}

Result<std::vector<DeviceRow>> PgHubStore::ListDevices() {
  // One snapshot for the three reads.
  CJD_RETURN_IF_ERROR(db_->Exec("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
  struct End {
    pg::Connection* db;
    ~End() { (void)db->Exec("COMMIT"); }
  } end{db_.get()};
  auto devices = db_->Query(
      "SELECT device_id, store_id, kind, key_id, public_key, created_ms, acked_seq, "
      "last_seen_ms, status_json, status_ms, epoch FROM devices ORDER BY device_id");
  if (!devices.ok()) return devices.status();
  auto epochs = db_->Query(
      "SELECT device_id, epoch, acked_seq, first_seen_ms, last_seen_ms FROM device_epochs "
      "ORDER BY device_id, first_seen_ms, epoch");
  if (!epochs.ok()) return epochs.status();
  auto ranges = db_->Query(
      "SELECT device_id, epoch, first_seq, last_seq FROM seq_ranges "
      "ORDER BY device_id, epoch, first_seq");
  if (!ranges.ok()) return ranges.status();
  std::map<std::pair<std::string, int64_t>, std::vector<std::pair<uint64_t, uint64_t>>> by_epoch;
  for (const pg::Row& r : *ranges) {
    by_epoch[{r.Text(0), r.Int(1)}].emplace_back(static_cast<uint64_t>(r.Int(2)),
                                                  static_cast<uint64_t>(r.Int(3)));
  }
  std::map<std::string, std::vector<EpochState>> epochs_of;
  for (const pg::Row& r : *epochs) {
    EpochState es;
    es.epoch = EpochFromSql(r.Int(1));
    es.acked_seq = static_cast<uint64_t>(r.Int(2));
    es.first_seen_ms = r.Int(3);
    es.last_seen_ms = r.Int(4);
    auto it = by_epoch.find({r.Text(0), r.Int(1)});
    if (it != by_epoch.end()) es.pending_ranges = it->second;
    epochs_of[r.Text(0)].push_back(std::move(es));
  }
  std::vector<DeviceRow> out;
  for (const pg::Row& r : *devices) {
    DeviceRow d;
    d.record = DeviceRecord{r.Text(0), r.Text(1), r.Text(2), static_cast<uint32_t>(r.Int(3)),
                            r.Text(4), r.Int(5)};
    d.state.acked_seq = static_cast<uint64_t>(r.Int(6));
    d.state.last_seen_ms = r.Int(7);
    d.state.status_json = r.Text(8);
    d.state.status_ms = r.Int(9);
    d.state.epoch = EpochFromSql(r.Int(10));
    auto it = epochs_of.find(d.record.device_id);
    if (it != epochs_of.end()) d.state.epochs = std::move(it->second);
    for (const EpochState& es : d.state.epochs) {
      if (es.epoch == d.state.epoch) d.state.pending_ranges = es.pending_ranges;
    }
    out.push_back(std::move(d));
  }
  return out;
}

Status PgHubStore::SetSourceOrigins(const std::string& name,
                                    const std::vector<std::string>& allowed_origins) {
  auto n = db_->Run("UPDATE sources SET allowed_origins = $2 WHERE name = $1",
                    {Text(name), Text(JoinWords(allowed_origins))});
  if (!n.ok()) return n.status();
  if (*n == 0) return Status(Code::kNotFound, "no source " + name, "--name");
  return Status::Ok();
}

Status PgHubStore::RegisterSource(const std::string& name, const std::string& key_hash,
                                  int64_t created_ms,
                                  const std::vector<std::string>& allowed_origins) {
  if (!IsValidSourceName(name)) {
    return Status::Invalid("source name must be 1-40 characters of A-Z a-z 0-9 . _ -", "name");
  }
  if (key_hash.size() != 32) return Status::Invalid("key hash must be 32 bytes", "key_hash");
  pg::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  CJD_RETURN_IF_ERROR(db_->Query("SELECT pg_advisory_xact_lock(hashtext('cjd-names'))").status());
  for (const bool is_device : {false, true}) {
    auto taken = NameTaken(name, is_device);
    if (!taken.ok()) return taken.status();
    if (!*taken) continue;
    return Status(Code::kConflict,
                  is_device ? "\"" + name + "\" is a registered device id; choose another name"
                            : "source " + name + " is already registered");
  }
  auto st = db_->Run(
      "INSERT INTO sources (name, key_hash, created_ms, allowed_origins) VALUES ($1, $2, $3, $4)",
      {Text(name), Bytes(key_hash), Int(created_ms), Text(JoinWords(allowed_origins))});
  if (st.status().code() == Code::kConflict) {
    return Status(Code::kConflict, "this key is already registered to another source");
  }
  CJD_RETURN_IF_ERROR(st.status());
  return tx.Commit();
}

Result<std::optional<std::string>> PgHubStore::FindSourceByKeyHash(const std::string& key_hash) {
  auto rows = db_->Query("SELECT name FROM sources WHERE key_hash = $1", {Bytes(key_hash)});
  if (!rows.ok()) return rows.status();
  std::optional<std::string> out;
  if (!rows->empty()) out = rows->front().Text(0);
  return out;
}

Result<std::vector<SourceRecord>> PgHubStore::ListSources() {
  auto rows = db_->Query("SELECT name, created_ms, allowed_origins FROM sources ORDER BY name");
  if (!rows.ok()) return rows.status();
  std::vector<SourceRecord> out;
  for (const pg::Row& r : *rows) {
    out.push_back(SourceRecord{r.Text(0), r.Int(1), SplitWords(r.Text(2))});
  }
  return out;
}


namespace {

// PostgreSQL array literals for unnest(): one element per event, NULL where absent.
class ArrayLiteral {
 public:
  void Text(std::string_view v) {
    Sep();
    out_ += '"';
    for (char c : v) {
      if (c == '"' || c == '\\') out_ += '\\';
      out_ += c;
    }
    out_ += '"';
  }
  void Int(int64_t v) {
    Sep();
    out_ += std::to_string(v);
  }
  void Bytes(std::string_view v) {  // bytea's hex form, its backslash escaped for the array
    static constexpr char kHex[] = "0123456789abcdef";
    Sep();
    out_ += "\"\\\\x";
    for (unsigned char c : v) {
      out_ += kHex[c >> 4];
      out_ += kHex[c & 15];
    }
    out_ += '"';
  }
  void Null() {
    Sep();
    out_ += "NULL";
  }
  std::string Done() const { return "{" + out_ + "}"; }

 private:
  void Sep() {
    if (!first_) out_ += ',';
    first_ = false;
  }
  std::string out_;
  bool first_ = true;
};

}  // namespace

Status PgHubStore::InsertEvents(const std::vector<PendingEvent>& events, int64_t received_ms,
                                IngestResult* result, std::map<std::string, int64_t>* counters) {
  if (events.empty()) return Status::Ok();
  ArrayLiteral source, event_id, seq, type, occurred, body, epoch, pii, pii_keys;
  for (const PendingEvent& e : events) {
    source.Text(e.source);
    event_id.Text(e.event_id);
    if (e.seq) seq.Int(static_cast<int64_t>(*e.seq)); else seq.Null();
    type.Text(EventTypeName(e.type));
    occurred.Int(e.occurred_at_ms);
    body.Text(e.sealed->body);
    if (e.epoch) epoch.Int(EpochToSql(*e.epoch)); else epoch.Null();
    if (e.sealed->pii.empty()) {
      pii.Null();
      pii_keys.Null();
    } else {
      pii.Bytes(e.sealed->pii);
      pii_keys.Text(e.sealed->pii_keys);
    }
  }
  // One statement for the lot: the key rows first, in the given order (ids follow it); only the
  // events whose key row was new are written (an id repeated within the lot: its first one).
  auto rows = db_->Query(
      "WITH input AS (SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], "
      "$5::bigint[], $6::text[], $7::bigint[], $8::bytea[], $9::text[]) WITH ORDINALITY AS "
      "t(source, event_id, seq, type, occurred_at_ms, body, epoch, pii, pii_keys, ord)), "
      "k AS (INSERT INTO event_keys (source, event_id, received_at_ms) "
      "SELECT source, event_id, $10 FROM input ORDER BY ord ON CONFLICT DO NOTHING "
      "RETURNING id, source, event_id) "
      "INSERT INTO events (id, event_id, source, seq, type, occurred_at_ms, received_at_ms, body, "
      "epoch, pii, pii_keys) SELECT k.id, i.event_id, i.source, i.seq, i.type, i.occurred_at_ms, "
      "$10, i.body, i.epoch, i.pii, i.pii_keys FROM k JOIN (SELECT DISTINCT ON (source, "
      "event_id) * FROM input ORDER BY source, event_id, ord) i ON i.source = k.source AND "
      "i.event_id = k.event_id RETURNING type",
      {Text(source.Done()), Text(event_id.Done()), Text(seq.Done()), Text(type.Done()),
       Text(occurred.Done()), Text(body.Done()), Text(epoch.Done()), Text(pii.Done()),
       Text(pii_keys.Done()), Int(received_ms)});
  if (!rows.ok()) return rows.status();
  result->inserted += static_cast<int64_t>(rows->size());
  result->duplicates += static_cast<int64_t>(events.size() - rows->size());
  for (const pg::Row& r : *rows) ++(*counters)["type:" + r.Text(0)];
  return Status::Ok();
}

Status PgHubStore::AddCounters(const std::map<std::string, int64_t>& deltas) {
  for (const auto& [name, delta] : deltas) {
    if (delta == 0) continue;
    CJD_RETURN_IF_ERROR(db_->Run("INSERT INTO counters (name, value) VALUES ($1, $2) "
                                 "ON CONFLICT (name) DO UPDATE SET value = counters.value + "
                                 "excluded.value",
                                 {Text(name), Int(delta)})
                            .status());
  }
  return Status::Ok();
}


Result<IngestResult> PgHubStore::CommitCollect(const std::string& source,
                                               const std::vector<CollectEvent>& events,
                                               int64_t received_ms) {
  std::vector<VaultedEvent> sealed;
  CJD_RETURN_IF_ERROR(SealCollectEvents(vault_.get(), source, events, &sealed));
  CJD_RETURN_IF_ERROR(EnsurePartition(received_ms));
  pg::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  CJD_RETURN_IF_ERROR(LockLog());
  IngestResult result;
  std::map<std::string, int64_t> counters;
  std::vector<PendingEvent> pending;
  pending.reserve(events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const CollectEvent& e = events[i];
    pending.push_back(PendingEvent{source, e.event_id, std::nullopt, e.type, e.occurred_at_ms,
                                   &sealed[i], std::nullopt});
  }
  CJD_RETURN_IF_ERROR(InsertEvents(pending, received_ms, &result, &counters));
  counters["events_total"] += result.inserted;
  counters["duplicate_events"] += result.duplicates;
  CJD_RETURN_IF_ERROR(AddCounters(counters));
  CJD_RETURN_IF_ERROR(tx.Commit());
  return result;
}

Result<IngestResult> PgHubStore::CommitIngest(const std::vector<IngestBatch>& batches,
                                              const std::vector<DeviceProgress>& progress,
                                              const std::map<std::string, int64_t>& rejected,
                                              int64_t received_ms,
                                              std::vector<DeviceProgress>* stored) {
  std::vector<VaultedEvent> sealed;
  CJD_RETURN_IF_ERROR(SealIngestBatches(vault_.get(), batches, &sealed));
  const bool heartbeats_only = batches.empty() && rejected.empty();
  if (!sealed.empty()) CJD_RETURN_IF_ERROR(EnsurePartition(received_ms));
  pg::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  // As SqliteHubStore: heartbeats promise nothing durable (no ack depends on them), so their
  // commit does not wait for the WAL flush; every other commit does (acks promise it).
  if (heartbeats_only) CJD_RETURN_IF_ERROR(db_->Exec("SET LOCAL synchronous_commit = off"));
  // The log's lock also orders the sequence progress of every instance: a writer reads the
  // stored progress after the previous writer committed, and merges its own into it.
  bool any_epochs = false;
  for (const DeviceProgress& p : progress) any_epochs = any_epochs || !p.epochs.empty();
  if (!sealed.empty() || any_epochs) CJD_RETURN_IF_ERROR(LockLog());
  std::vector<DeviceProgress> merged = progress;
  IngestResult result;
  std::map<std::string, int64_t> counters;
  std::vector<PendingEvent> pending;
  pending.reserve(sealed.size());
  size_t k = 0;
  for (const IngestBatch& b : batches) {
    for (const WireEvent& e : b.events) {
      pending.push_back(PendingEvent{b.device_id, e.event_id, e.seq,
                                     static_cast<EventType>(e.type), e.occurred_at_ms,
                                     &sealed[k++],
                                     b.epoch != 0 ? std::optional<uint64_t>(b.epoch)
                                                  : std::nullopt});
    }
  }
  CJD_RETURN_IF_ERROR(InsertEvents(pending, received_ms, &result, &counters));
  for (DeviceProgress& p : merged) {
    CJD_RETURN_IF_ERROR(db_->Run("UPDATE devices SET last_seen_ms = GREATEST(last_seen_ms, $2) "
                                 "WHERE device_id = $1",
                                 {Text(p.device_id), Int(p.last_seen_ms)})
                            .status());
    for (EpochProgress& e : p.epochs) {
      const int64_t epoch = EpochToSql(e.epoch);
      // What other instances committed for this epoch, merged with what this one holds.
      auto held = db_->Query("SELECT acked_seq FROM device_epochs WHERE device_id = $1 AND epoch = $2",
                             {Text(p.device_id), Int(epoch)});
      if (!held.ok()) return held.status();
      if (!held->empty()) {
        auto ranges = db_->Query("SELECT first_seq, last_seq FROM seq_ranges WHERE device_id = $1 "
                                 "AND epoch = $2 ORDER BY first_seq",
                                 {Text(p.device_id), Int(epoch)});
        if (!ranges.ok()) return ranges.status();
        std::vector<std::pair<uint64_t, uint64_t>> stored_ranges;
        for (const pg::Row& r : *ranges) {
          stored_ranges.emplace_back(static_cast<uint64_t>(r.Int(0)),
                                     static_cast<uint64_t>(r.Int(1)));
        }
        SequenceTracker t(static_cast<uint64_t>(held->front().Int(0)), stored_ranges);
        if (e.acked_seq > 0) t.Add(1, e.acked_seq);
        for (const auto& [first, last] : e.pending_ranges) t.Add(first, last);
        e.acked_seq = t.acked();
        e.pending_ranges = t.pending();
      }
      CJD_RETURN_IF_ERROR(
          db_->Run("INSERT INTO device_epochs (device_id, epoch, acked_seq, first_seen_ms, "
                   "last_seen_ms) VALUES ($1, $2, $3, $4, $4) ON CONFLICT (device_id, epoch) DO "
                   "UPDATE SET acked_seq = excluded.acked_seq, last_seen_ms = "
                   "GREATEST(device_epochs.last_seen_ms, excluded.last_seen_ms)",
                   {Text(p.device_id), Int(epoch), Int(static_cast<int64_t>(e.acked_seq)),
                    Int(p.last_seen_ms)})
              .status());
      // The device row mirrors its current epoch (or becomes the new one).
      CJD_RETURN_IF_ERROR(db_->Run("UPDATE devices SET acked_seq = $3, epoch = $2 WHERE "
                                   "device_id = $1 AND (epoch = $2 OR $4)",
                                   {Text(p.device_id), Int(epoch),
                                    Int(static_cast<int64_t>(e.acked_seq)),
                                    Text(e.make_current ? "true" : "false")})
                              .status());
      CJD_RETURN_IF_ERROR(db_->Run("DELETE FROM seq_ranges WHERE device_id = $1 AND epoch = $2",
                                   {Text(p.device_id), Int(epoch)})
                              .status());
      for (const auto& [first, last] : e.pending_ranges) {
        CJD_RETURN_IF_ERROR(db_->Run("INSERT INTO seq_ranges (device_id, epoch, first_seq, "
                                     "last_seq) VALUES ($1, $2, $3, $4)",
                                     {Text(p.device_id), Int(epoch),
                                      Int(static_cast<int64_t>(first)),
                                      Int(static_cast<int64_t>(last))})
                                .status());
      }
    }
    if (p.status_json) {
      CJD_RETURN_IF_ERROR(db_->Run("UPDATE devices SET status_json = $2, status_ms = $3 WHERE "
                                   "device_id = $1",
                                   {Text(p.device_id), Text(*p.status_json), Int(p.last_seen_ms)})
                              .status());
    }
  }
  counters["events_total"] += result.inserted;
  counters["duplicate_events"] += result.duplicates;
  for (const auto& [reason, n] : rejected) counters["rejected:" + reason] += n;
  CJD_RETURN_IF_ERROR(AddCounters(counters));
  CJD_RETURN_IF_ERROR(tx.Commit());
  if (stored != nullptr) *stored = std::move(merged);
  return result;
}

Result<StoreCounters> PgHubStore::Counters() {
  auto rows = db_->Query("SELECT name, value FROM counters");
  if (!rows.ok()) return rows.status();
  StoreCounters c;
  for (const pg::Row& r : *rows) AddCounterRow(r.Text(0), r.Int(1), &c);
  auto head = db_->QueryInt("SELECT coalesce(max(id), 0) FROM event_keys");
  if (!head.ok()) return head.status();
  c.last_event_rowid = *head;
  return c;
}

Result<int64_t> PgHubStore::RedactEvents(const std::vector<int64_t>& ids) {
  pg::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  int64_t changed = 0;
  for (int64_t id : ids) {
    auto rows = db_->Query("SELECT body, pii IS NOT NULL FROM events WHERE id = $1 FOR UPDATE",
                           {Int(id)});
    if (!rows.ok()) return rows.status();
    if (rows->empty()) continue;
    const std::string body = rows->front().Text(0);
    const bool sealed = rows->front().Text(1) == "t";
    // A sealed row's body holds no person already: it is marked, and its sealed part dropped.
    const std::string redacted = sealed ? MarkRedacted(body) : RedactedEventJson(body);
    if (redacted == body) continue;
    CJD_RETURN_IF_ERROR(
        db_->Run("UPDATE events SET body = $2, pii = NULL, pii_keys = NULL WHERE id = $1",
                 {Int(id), Text(redacted)})
            .status());
    ++changed;
  }
  CJD_RETURN_IF_ERROR(tx.Commit());
  return changed;
}

Result<bool> PgHubStore::TruncateWal() {
  CJD_RETURN_IF_ERROR(db_->Exec("VACUUM events"));
  return true;
}

// ---- the log's reads -------------------------------------------------------------------------

namespace {

class PgEventLogReader final : public EventLogReader {
 public:
  PgEventLogReader(std::unique_ptr<pg::Connection> db, std::shared_ptr<EventVault> vault)
      : db_(std::move(db)), vault_(std::move(vault)) {}

  Status ReadAfter(int64_t after, int limit,
                   std::vector<std::pair<int64_t, std::string>>* out) override {
    auto rows = db_->Query(
        "SELECT id, body, source, event_id, pii, pii_keys FROM events WHERE id > $1 "
        "ORDER BY id LIMIT $2",
        {Int(after), Int(limit)});
    if (!rows.ok()) return rows.status();
    for (const pg::Row& r : *rows) {
      auto body = Whole(EventRef{r.Text(2), r.Text(3)}, r.Text(1), r, 4);
      if (!body.ok()) return body.status();
      out->emplace_back(r.Int(0), std::move(*body));
    }
    return Status::Ok();
  }

  Status Visit(std::span<const int64_t> ids,
               const std::function<Status(const LoggedEvent&)>& fn) override {
    if (ids.empty()) return Status::Ok();
    // One query for the lot (one snapshot), then the rows in the order asked for.
    std::string list = "{";
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) list += ',';
      list += std::to_string(ids[i]);
    }
    list += '}';
    auto rows = db_->Query(
        "SELECT id, event_id, source, body, pii, pii_keys FROM events WHERE id = ANY($1::bigint[])",
        {Text(list)});
    if (!rows.ok()) return rows.status();
    std::map<int64_t, const pg::Row*> by_id;
    for (const pg::Row& r : *rows) by_id[r.Int(0)] = &r;
    for (int64_t id : ids) {
      auto it = by_id.find(id);
      if (it == by_id.end()) continue;
      const pg::Row& r = *it->second;
      const EventRef ref{r.Text(2), r.Text(1)};
      auto body = Whole(ref, r.Text(3), r, 4);
      if (!body.ok()) return body.status();
      CJD_RETURN_IF_ERROR(fn(LoggedEvent{id, ref.event_id, ref.source, *body}));
    }
    return Status::Ok();
  }

 private:
  Result<std::string> Whole(const EventRef& ref, std::string_view body, const pg::Row& row,
                            int pii) {
    if (row.IsNull(pii)) return std::string(body);
    if (vault_ == nullptr) return MarkRedacted(body);
    return vault_->Open(ref, body, row.Bytes(pii), row.Text(pii + 1));
  }

  std::unique_ptr<pg::Connection> db_;
  std::shared_ptr<EventVault> vault_;
};

}  // namespace

Result<std::unique_ptr<EventLogReader>> OpenPgEventLogReader(const std::string& url,
                                                             std::shared_ptr<EventVault> vault) {
  auto db = pg::Connection::Open(url);
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate(kModule, kMigrations));
  return std::unique_ptr<EventLogReader>(
      std::make_unique<PgEventLogReader>(std::move(*db), std::move(vault)));
}

}  // namespace cjd::hub

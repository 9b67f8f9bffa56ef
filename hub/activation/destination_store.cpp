#include "hub/activation/destination_store.h"

#include <algorithm>

#include "shared/core/words.h"

namespace cjd::hub::activation {
namespace {

const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE destinations (
        id              TEXT PRIMARY KEY,      -- [a-z0-9_-]{1,64}
        url             TEXT NOT NULL,
        secret          TEXT NOT NULL,         -- HMAC-SHA256 key of X-CJD-Signature
        events          TEXT NOT NULL,         -- kinds, space separated
        segment         TEXT NOT NULL DEFAULT '',
        created_ms      INTEGER NOT NULL,
        backfill_after  INTEGER NOT NULL DEFAULT -1,
        -- The feeds' positions when it was created: it gets what came after.
        from_change_seq INTEGER NOT NULL DEFAULT 0,
        from_merge_id   INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      -- The queue: one row per (event, destination), delivered in seq order per destination.
      -- `data` holds no personal identifiers: they are read from the projection when sent.
      CREATE TABLE deliveries (
        seq             INTEGER PRIMARY KEY,
        id              TEXT NOT NULL UNIQUE,
        destination     TEXT NOT NULL,
        type            TEXT NOT NULL,
        occurred_at_ms  INTEGER NOT NULL,
        data            TEXT NOT NULL,
        profile_id      INTEGER NOT NULL DEFAULT 0,
        status          INTEGER NOT NULL DEFAULT 0,   -- 0 pending, 1 delivered, 2 failed
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL,
        last_status     INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT NOT NULL DEFAULT '',
        created_ms      INTEGER NOT NULL,
        delivered_ms    INTEGER
      );
      CREATE INDEX deliveries_by_destination ON deliveries (destination, status, seq);
      -- The feeds' positions (segment changes, merges, ...), committed with what they enqueued.
      CREATE TABLE cursors (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      -- Erasure requests whose erasure.done was enqueued (above the "erasures" cursor: requests
      -- finish out of order).
      CREATE TABLE erasures_reported (id TEXT PRIMARY KEY) WITHOUT ROWID;
      -- The fleet alerts open at the last look ("device_id kind"), to send each once when it is
      -- raised and once when it clears.
      CREATE TABLE alerts_open (key TEXT PRIMARY KEY, alert TEXT NOT NULL) WITHOUT ROWID;
    )sql"},
    {2, R"sql(
      -- offer.redeemed: the projection's redemption log position when a destination was made.
      ALTER TABLE destinations ADD COLUMN from_redemption_seq INTEGER NOT NULL DEFAULT 0;
      -- When the delivery's current run of failures began (NULL: not failing): give_up_hours
      -- counts from there, not from when it was queued.
      ALTER TABLE deliveries ADD COLUMN first_failed_ms INTEGER;
    )sql"},
};

#define CJD_DESTINATION_COLUMNS                                                              \
  "id, url, secret, events, segment, created_ms, backfill_after, from_change_seq, from_merge_id, " \
  "from_redemption_seq"

Destination ReadDestination(const sqlite::Statement& s) {
  Destination d;
  d.id = s.ColumnText(0);
  d.url = s.ColumnText(1);
  d.secret = s.ColumnText(2);
  d.events = SplitWords(s.ColumnText(3));
  d.segment = s.ColumnText(4);
  d.created_ms = s.ColumnInt(5);
  d.backfill_after = s.ColumnInt(6);
  d.from_change_seq = s.ColumnInt(7);
  d.from_merge_id = s.ColumnInt(8);
  d.from_redemption_seq = s.ColumnInt(9);
  return d;
}

#define CJD_DELIVERY_COLUMNS                                                                 \
  "seq, id, destination, type, occurred_at_ms, data, profile_id, status, attempts, "       \
  "next_attempt_ms, last_status, last_error, created_ms, delivered_ms, first_failed_ms"

Delivery ReadDelivery(const sqlite::Statement& s) {
  Delivery d;
  d.seq = s.ColumnInt(0);
  d.id = s.ColumnText(1);
  d.destination = s.ColumnText(2);
  d.type = s.ColumnText(3);
  d.occurred_at_ms = s.ColumnInt(4);
  d.data = s.ColumnText(5);
  d.profile_id = s.ColumnInt(6);
  const int64_t st = s.ColumnInt(7);
  d.status = st == 1 ? DeliveryStatus::kDelivered
                     : st == 2 ? DeliveryStatus::kFailed : DeliveryStatus::kPending;
  d.attempts = s.ColumnInt(8);
  d.next_attempt_ms = s.ColumnInt(9);
  d.last_status = static_cast<int>(s.ColumnInt(10));
  d.last_error = s.ColumnText(11);
  d.created_ms = s.ColumnInt(12);
  if (!s.ColumnIsNull(13)) d.delivered_ms = s.ColumnInt(13);
  if (!s.ColumnIsNull(14)) d.first_failed_ms = s.ColumnInt(14);
  return d;
}

int64_t StatusCode(DeliveryStatus s) {
  return s == DeliveryStatus::kDelivered ? 1 : s == DeliveryStatus::kFailed ? 2 : 0;
}

// Runs `s` to the end, reading each row with `read`; the statement is reset either way.
template <typename T, typename F>
Result<std::vector<T>> ReadAll(sqlite::Statement* s, F read) {
  std::vector<T> out;
  while (true) {
    auto row = s->Step();
    if (!row.ok()) {
      s->Reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back(read(*s));
  }
  s->Reset();
  return out;
}

}  // namespace

bool IsKind(std::string_view kind) {
  return std::find(std::begin(kKinds), std::end(kKinds), kind) != std::end(kKinds);
}

bool Destination::Wants(std::string_view kind) const {
  return std::find(events.begin(), events.end(), kind) != events.end();
}

const char* DeliveryStatusName(DeliveryStatus s) {
  switch (s) {
    case DeliveryStatus::kPending: return "pending";
    case DeliveryStatus::kDelivered: return "delivered";
    case DeliveryStatus::kFailed: return "failed";
  }
  return "pending";
}

std::optional<DeliveryStatus> ParseDeliveryStatus(std::string_view name) {
  if (name == "pending") return DeliveryStatus::kPending;
  if (name == "delivered") return DeliveryStatus::kDelivered;
  if (name == "failed") return DeliveryStatus::kFailed;
  return std::nullopt;
}

Result<std::unique_ptr<DestinationStore>> DestinationStore::Open(const std::string& path,
                                                                 bool read_only) {
  sqlite::OpenOptions options;
  options.read_only = read_only;
  options.synchronous_full = true;  // the queue is the promise of at-least-once delivery
  auto db = sqlite::Database::Open(path, options);
  if (!db.ok()) return db.status();
  if (!read_only) CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  return std::unique_ptr<DestinationStore>(new DestinationStore(std::move(*db)));
}

Result<std::vector<Destination>> DestinationStore::List() {
  auto s = statements_.Get("SELECT " CJD_DESTINATION_COLUMNS " FROM destinations ORDER BY id");
  if (!s.ok()) return s.status();
  return ReadAll<Destination>(*s, ReadDestination);
}

Result<std::optional<Destination>> DestinationStore::Get(std::string_view id) {
  auto s = statements_.Get("SELECT " CJD_DESTINATION_COLUMNS " FROM destinations WHERE id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  auto rows = ReadAll<Destination>(*s, ReadDestination);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Destination>();
  return std::optional<Destination>(std::move(rows->front()));
}

Result<DeliveryCounts> DestinationStore::Counts(std::string_view destination) {
  auto s = statements_.Get(
      "SELECT status, count(*) FROM deliveries WHERE destination = ?1 GROUP BY status");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, destination);
  auto rows = ReadAll<std::pair<int64_t, int64_t>>(
      *s, [](const sqlite::Statement& st) { return std::pair{st.ColumnInt(0), st.ColumnInt(1)}; });
  if (!rows.ok()) return rows.status();
  DeliveryCounts c;
  for (const auto& [status, n] : *rows) {
    (status == 1 ? c.delivered : status == 2 ? c.failed : c.pending) += n;
  }
  return c;
}

Result<std::vector<Delivery>> DestinationStore::Deliveries(std::string_view destination,
                                                           std::optional<DeliveryStatus> status,
                                                           int64_t after, int64_t limit) {
  auto s = statements_.Get(
      "SELECT " CJD_DELIVERY_COLUMNS " FROM deliveries WHERE destination = ?1 AND seq > ?2 "
      "AND (?3 < 0 OR status = ?3) ORDER BY seq LIMIT ?4");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, destination).Bind(2, after).Bind(3, status ? StatusCode(*status) : int64_t{-1});
  (*s)->Bind(4, limit);
  return ReadAll<Delivery>(*s, ReadDelivery);
}

Result<std::optional<Delivery>> DestinationStore::OldestPending(std::string_view destination) {
  auto s = statements_.Get("SELECT " CJD_DELIVERY_COLUMNS " FROM deliveries "
                           "WHERE destination = ?1 AND status = 0 ORDER BY seq LIMIT 1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, destination);
  auto rows = ReadAll<Delivery>(*s, ReadDelivery);
  if (!rows.ok()) return rows.status();
  if (rows->empty()) return std::optional<Delivery>();
  return std::optional<Delivery>(std::move(rows->front()));
}

Result<int64_t> DestinationStore::Cursor(std::string_view name) {
  auto s = statements_.Get("SELECT value FROM cursors WHERE name = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, name);
  auto rows = ReadAll<int64_t>(*s, [](const sqlite::Statement& st) { return st.ColumnInt(0); });
  if (!rows.ok()) return rows.status();
  return rows->empty() ? int64_t{0} : rows->front();
}

Result<bool> DestinationStore::Put(const Destination& d) {
  auto existing = Get(d.id);
  if (!existing.ok()) return existing.status();
  auto s = statements_.Get(
      "INSERT INTO destinations (" CJD_DESTINATION_COLUMNS ") "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) "
      "ON CONFLICT (id) DO UPDATE SET url = ?2, secret = ?3, events = ?4, segment = ?5, "
      "backfill_after = ?7, from_change_seq = ?8, from_merge_id = ?9, "
      "from_redemption_seq = ?10");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, d.id).Bind(2, d.url).Bind(3, d.secret).Bind(4, JoinWords(d.events));
  (*s)->Bind(5, d.segment).Bind(6, d.created_ms).Bind(7, d.backfill_after);
  (*s)->Bind(8, d.from_change_seq).Bind(9, d.from_merge_id).Bind(10, d.from_redemption_seq);
  CJD_RETURN_IF_ERROR((*s)->Run());
  return !existing->has_value();
}

Result<bool> DestinationStore::Remove(std::string_view id) {
  auto d = statements_.Get("DELETE FROM deliveries WHERE destination = ?1");
  if (!d.ok()) return d.status();
  (*d)->Bind(1, id);
  CJD_RETURN_IF_ERROR((*d)->Run());
  auto s = statements_.Get("DELETE FROM destinations WHERE id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  CJD_RETURN_IF_ERROR((*s)->Run());
  return db_->Changes() > 0;
}

Status DestinationStore::ClampChangeSeq(int64_t seq) {
  auto s = statements_.Get(
      "UPDATE destinations SET from_change_seq = ?1 WHERE from_change_seq > ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, seq);
  return (*s)->Run();
}

Status DestinationStore::SetBackfill(std::string_view id, int64_t after) {
  auto s = statements_.Get("UPDATE destinations SET backfill_after = ?2 WHERE id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id).Bind(2, after);
  return (*s)->Run();
}

Status DestinationStore::Enqueue(const Delivery& d) {
  auto s = statements_.Get(
      "INSERT INTO deliveries (id, destination, type, occurred_at_ms, data, profile_id, "
      "next_attempt_ms, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, d.id).Bind(2, d.destination).Bind(3, d.type).Bind(4, d.occurred_at_ms);
  (*s)->Bind(5, d.data).Bind(6, d.profile_id).Bind(7, d.next_attempt_ms).Bind(8, d.created_ms);
  return (*s)->Run();
}

Status DestinationStore::MarkDelivered(int64_t seq, int status, int64_t at_ms) {
  auto s = statements_.Get(
      "UPDATE deliveries SET status = 1, attempts = attempts + 1, last_status = ?2, "
      "last_error = '', delivered_ms = ?3 WHERE seq = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, seq).Bind(2, static_cast<int64_t>(status)).Bind(3, at_ms);
  return (*s)->Run();
}

Status DestinationStore::MarkAttemptFailed(int64_t seq, int status, std::string_view error,
                                           int64_t failed_ms, int64_t next_ms, bool give_up) {
  auto s = statements_.Get(
      "UPDATE deliveries SET status = ?5, attempts = attempts + 1, last_status = ?2, "
      "last_error = ?3, next_attempt_ms = ?4, first_failed_ms = coalesce(first_failed_ms, ?6) "
      "WHERE seq = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, seq).Bind(2, static_cast<int64_t>(status)).Bind(3, error.substr(0, 500));
  (*s)->Bind(4, next_ms).Bind(5, static_cast<int64_t>(give_up ? 2 : 0)).Bind(6, failed_ms);
  return (*s)->Run();
}

Result<bool> DestinationStore::ErasureReported(std::string_view id) {
  auto s = statements_.Get("SELECT 1 FROM erasures_reported WHERE id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  auto rows = ReadAll<int64_t>(*s, [](const sqlite::Statement& st) { return st.ColumnInt(0); });
  if (!rows.ok()) return rows.status();
  return !rows->empty();
}

Status DestinationStore::MarkErasureReported(std::string_view id) {
  auto s = statements_.Get("INSERT OR IGNORE INTO erasures_reported (id) VALUES (?1)");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  return (*s)->Run();
}

Result<std::map<std::string, std::string>> DestinationStore::OpenAlerts() {
  auto s = statements_.Get("SELECT key, alert FROM alerts_open");
  if (!s.ok()) return s.status();
  auto rows = ReadAll<std::pair<std::string, std::string>>(*s, [](const sqlite::Statement& st) {
    return std::pair{st.ColumnText(0), st.ColumnText(1)};
  });
  if (!rows.ok()) return rows.status();
  return std::map<std::string, std::string>(rows->begin(), rows->end());
}

Status DestinationStore::SetAlertOpen(std::string_view key, std::optional<std::string> alert) {
  auto s = alert ? statements_.Get("INSERT OR REPLACE INTO alerts_open (key, alert) VALUES (?1, ?2)")
                 : statements_.Get("DELETE FROM alerts_open WHERE key = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, key);
  if (alert) (*s)->Bind(2, *alert);
  return (*s)->Run();
}

Status DestinationStore::PruneDeliveries(int64_t before_ms) {
  auto s = statements_.Get(
      "DELETE FROM deliveries WHERE status != 0 AND coalesce(delivered_ms, next_attempt_ms) < ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, before_ms);
  return (*s)->Run();
}

Status DestinationStore::SetCursor(std::string_view name, int64_t value) {
  auto s = statements_.Get(
      "INSERT INTO cursors (name, value) VALUES (?1, ?2) ON CONFLICT (name) DO UPDATE SET value = ?2");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, name).Bind(2, value);
  return (*s)->Run();
}

}  // namespace cjd::hub::activation

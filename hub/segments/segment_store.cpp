#include "hub/segments/segment_store.h"

namespace cjd::hub::segments {
namespace {

// Append-only (shared/storage/sqlite.h). Only this file reads and writes these tables; other
// modules call SegmentStore's reads (hub/segments/README.md).
const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE segments (
        id           TEXT PRIMARY KEY,        -- [a-z0-9_-]{1,64}
        name         TEXT NOT NULL,
        description  TEXT NOT NULL DEFAULT '',
        rule         TEXT NOT NULL,           -- normalised rule text
        builtin      INTEGER NOT NULL DEFAULT 0,
        position     INTEGER NOT NULL DEFAULT 0,  -- built-ins: their order; others 0
        created_ms   INTEGER NOT NULL,
        updated_ms   INTEGER NOT NULL,        -- the definition's last change
        evaluated_ms INTEGER,                 -- end of the last full evaluation of this rule
        members      INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      CREATE TABLE segment_members (
        segment_id   TEXT NOT NULL,
        profile_id   INTEGER NOT NULL,        -- a live profile of profiles.db
        since_ms     INTEGER NOT NULL,        -- when it joined
        PRIMARY KEY (segment_id, profile_id)
      ) WITHOUT ROWID;
      CREATE INDEX segment_members_by_profile ON segment_members (profile_id, segment_id);
    )sql"},
    {2, R"sql(
      -- Issue 16: every join and leave, in order, for the webhooks' segment.entered and
      -- segment.left (hub/activation reads it through ChangesAfter). Pruned after 7 days.
      CREATE TABLE membership_changes (
        seq          INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused after pruning
        segment_id   TEXT NOT NULL,
        profile_id   INTEGER NOT NULL,
        entered      INTEGER NOT NULL,        -- 1 joined, 0 left
        at_ms        INTEGER NOT NULL
      );
      CREATE INDEX membership_changes_by_member ON membership_changes (segment_id, profile_id, seq);
    )sql"},
};

SegmentRow ReadRow(const sqlite::Statement& s) {
  SegmentRow r;
  r.id = s.ColumnText(0);
  r.name = s.ColumnText(1);
  r.description = s.ColumnText(2);
  r.rule = s.ColumnText(3);
  r.builtin = s.ColumnInt(4) != 0;
  r.created_ms = s.ColumnInt(5);
  r.updated_ms = s.ColumnInt(6);
  if (!s.ColumnIsNull(7)) r.evaluated_ms = s.ColumnInt(7);
  r.members = s.ColumnInt(8);
  return r;
}

#define CJD_SEGMENT_COLUMNS \
  "id, name, description, rule, builtin, created_ms, updated_ms, evaluated_ms, members"

}  // namespace

Result<std::unique_ptr<SegmentStore>> SegmentStore::Open(const std::string& path, bool read_only) {
  sqlite::OpenOptions options;
  options.read_only = read_only;
  options.synchronous_full = false;  // derived data (but the definitions): NORMAL is enough in WAL
  auto db = sqlite::Database::Open(path, options);
  if (!db.ok()) return db.status();
  if (!read_only) CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  return std::unique_ptr<SegmentStore>(new SegmentStore(std::move(*db)));
}

Result<std::vector<SegmentRow>> SegmentStore::List() {
  auto s = statements_.Get("SELECT " CJD_SEGMENT_COLUMNS
                   " FROM segments ORDER BY builtin DESC, position, id");
  if (!s.ok()) return s.status();
  std::vector<SegmentRow> out;
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    out.push_back(ReadRow(**s));
  }
  (*s)->Reset();
  return out;
}

Result<std::optional<SegmentRow>> SegmentStore::Get(std::string_view id) {
  auto s = statements_.Get("SELECT " CJD_SEGMENT_COLUMNS " FROM segments WHERE id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  std::optional<SegmentRow> out;
  if (*r) out = ReadRow(**s);
  (*s)->Reset();
  return out;
}

Result<std::vector<MemberRow>> SegmentStore::Members(std::string_view id, int64_t after,
                                                     int64_t limit) {
  auto s = statements_.Get(
      "SELECT profile_id, since_ms FROM segment_members WHERE segment_id = ?1 AND profile_id > ?2 "
      "ORDER BY profile_id LIMIT ?3");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id).Bind(2, after).Bind(3, limit);
  std::vector<MemberRow> out;
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    out.push_back({(*s)->ColumnInt(0), (*s)->ColumnInt(1)});
  }
  (*s)->Reset();
  return out;
}

Result<std::vector<std::string>> SegmentStore::SegmentsOf(int64_t profile_id) {
  auto s = statements_.Get("SELECT segment_id FROM segment_members WHERE profile_id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, profile_id);
  std::vector<std::string> out;
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    out.push_back((*s)->ColumnText(0));
  }
  (*s)->Reset();
  return out;
}

Result<std::vector<int64_t>> SegmentStore::MemberIdsBetween(int64_t lo, int64_t hi) {
  auto s = statements_.Get(
      "SELECT DISTINCT profile_id FROM segment_members WHERE profile_id > ?1 AND profile_id <= ?2 "
      "ORDER BY profile_id");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, lo).Bind(2, hi);
  std::vector<int64_t> out;
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    out.push_back((*s)->ColumnInt(0));
  }
  (*s)->Reset();
  return out;
}

Result<bool> SegmentStore::Exists(std::string_view id) {
  auto s = statements_.Get("SELECT 1 FROM segments WHERE id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  auto r = (*s)->Step();
  (*s)->Reset();
  if (!r.ok()) return r.status();
  return *r;
}

Result<bool> SegmentStore::IsMember(std::string_view id, int64_t profile_id) {
  auto s = statements_.Get(
      "SELECT 1 FROM segment_members WHERE segment_id = ?1 AND profile_id = ?2");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id).Bind(2, profile_id);
  auto r = (*s)->Step();
  (*s)->Reset();
  if (!r.ok()) return r.status();
  return *r;
}

Result<std::unordered_set<int64_t>> SegmentStore::AllMemberIds(std::string_view id) {
  auto s = statements_.Get("SELECT profile_id FROM segment_members WHERE segment_id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  std::unordered_set<int64_t> out;
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) {
      (*s)->Reset();
      return r.status();
    }
    if (!*r) break;
    out.insert((*s)->ColumnInt(0));
  }
  (*s)->Reset();
  return out;
}

Status SegmentStore::PutDefinition(const SegmentRow& row, int64_t position) {
  auto s = statements_.Get(
      "INSERT INTO segments (id, name, description, rule, builtin, position, created_ms, "
      "updated_ms, evaluated_ms, members) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, NULL, 0) "
      "ON CONFLICT (id) DO UPDATE SET name = excluded.name, description = excluded.description, "
      "rule = excluded.rule, builtin = excluded.builtin, position = excluded.position, "
      "updated_ms = excluded.updated_ms, "
      "evaluated_ms = CASE WHEN rule = excluded.rule THEN evaluated_ms END");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, row.id).Bind(2, row.name).Bind(3, row.description).Bind(4, row.rule);
  (*s)->Bind(5, static_cast<int64_t>(row.builtin ? 1 : 0)).Bind(6, position);
  (*s)->Bind(7, row.created_ms).Bind(8, row.updated_ms);
  return (*s)->Run();
}

Status SegmentStore::DeleteSegment(std::string_view id, int64_t at_ms) {
  // Every member leaves (the webhooks' audiences drop them too).
  auto log = statements_.Get(
      "INSERT INTO membership_changes (segment_id, profile_id, entered, at_ms) "
      "SELECT segment_id, profile_id, 0, ?2 FROM segment_members WHERE segment_id = ?1");
  if (!log.ok()) return log.status();
  (*log)->Bind(1, id).Bind(2, at_ms);
  CJD_RETURN_IF_ERROR((*log)->Run());
  auto m = statements_.Get("DELETE FROM segment_members WHERE segment_id = ?1");
  if (!m.ok()) return m.status();
  (*m)->Bind(1, id);
  CJD_RETURN_IF_ERROR((*m)->Run());
  auto s = statements_.Get("DELETE FROM segments WHERE id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id);
  return (*s)->Run();
}

Result<bool> SegmentStore::Join(std::string_view id, int64_t profile_id, int64_t since_ms) {
  auto s = statements_.Get(
      "INSERT INTO segment_members (segment_id, profile_id, since_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT DO NOTHING");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id).Bind(2, profile_id).Bind(3, since_ms);
  CJD_RETURN_IF_ERROR((*s)->Run());
  if (db_->Changes() == 0) return false;
  CJD_RETURN_IF_ERROR(LogChange(id, profile_id, true, since_ms));
  return true;
}

Result<bool> SegmentStore::Leave(std::string_view id, int64_t profile_id, int64_t at_ms) {
  auto s = statements_.Get("DELETE FROM segment_members WHERE segment_id = ?1 AND profile_id = ?2");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id).Bind(2, profile_id);
  CJD_RETURN_IF_ERROR((*s)->Run());
  if (db_->Changes() == 0) return false;
  CJD_RETURN_IF_ERROR(LogChange(id, profile_id, false, at_ms));
  return true;
}

Status SegmentStore::LogChange(std::string_view id, int64_t profile_id, bool entered,
                               int64_t at_ms) {
  auto s = statements_.Get(
      "INSERT INTO membership_changes (segment_id, profile_id, entered, at_ms) "
      "VALUES (?1, ?2, ?3, ?4)");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id).Bind(2, profile_id).Bind(3, static_cast<int64_t>(entered ? 1 : 0)).Bind(4, at_ms);
  return (*s)->Run();
}

Result<std::vector<MembershipChange>> SegmentStore::ChangesAfter(int64_t seq, int64_t limit) {
  auto s = statements_.Get(
      "SELECT seq, segment_id, profile_id, entered, at_ms FROM membership_changes "
      "WHERE seq > ?1 ORDER BY seq LIMIT ?2");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, seq).Bind(2, limit);
  std::vector<MembershipChange> out;
  while (true) {
    auto row = (*s)->Step();
    if (!row.ok()) {
      (*s)->Reset();
      return row.status();
    }
    if (!*row) break;
    out.push_back(MembershipChange{(*s)->ColumnInt(0), (*s)->ColumnText(1), (*s)->ColumnInt(2),
                                   (*s)->ColumnInt(3) != 0, (*s)->ColumnInt(4)});
  }
  (*s)->Reset();
  return out;
}

Result<bool> SegmentStore::ChangedAfter(std::string_view id, int64_t profile_id, int64_t seq) {
  auto s = statements_.Get(
      "SELECT 1 FROM membership_changes WHERE segment_id = ?1 AND profile_id = ?2 AND seq > ?3 "
      "LIMIT 1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id).Bind(2, profile_id).Bind(3, seq);
  auto row = (*s)->Step();
  const bool found = row.ok() && *row;
  (*s)->Reset();
  if (!row.ok()) return row.status();
  return found;
}

Result<int64_t> SegmentStore::LastChangeSeq() {
  auto s = statements_.Get("SELECT coalesce(max(seq), 0) FROM membership_changes");
  if (!s.ok()) return s.status();
  auto row = (*s)->Step();
  int64_t seq = row.ok() && *row ? (*s)->ColumnInt(0) : 0;
  (*s)->Reset();
  if (!row.ok()) return row.status();
  return seq;
}

Status SegmentStore::PruneChanges(int64_t before_ms) {
  auto s = statements_.Get("DELETE FROM membership_changes WHERE at_ms < ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, before_ms);
  return (*s)->Run();
}

Status SegmentStore::AddMembers(std::string_view id, int64_t delta) {
  auto s = statements_.Get("UPDATE segments SET members = members + ?2 WHERE id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id).Bind(2, delta);
  return (*s)->Run();
}

Status SegmentStore::SetEvaluated(std::string_view id, int64_t ms) {
  auto s = statements_.Get("UPDATE segments SET evaluated_ms = ?2 WHERE id = ?1");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, id).Bind(2, ms);
  return (*s)->Run();
}

Status SegmentStore::RecountMembers() {
  return db_->Exec(
      "UPDATE segments SET members = "
      "(SELECT count(*) FROM segment_members m WHERE m.segment_id = segments.id)");
}

}  // namespace cjd::hub::segments

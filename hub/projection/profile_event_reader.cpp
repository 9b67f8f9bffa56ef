#include "hub/projection/profile_event_reader.h"

namespace cjd::hub {

Result<std::unique_ptr<ProfileEventReader>> ProfileEventReader::Open(
    const std::string& profiles_path) {
  sqlite::OpenOptions options;
  options.read_only = true;
  options.synchronous_full = false;
  auto db = sqlite::Database::Open(profiles_path, options);
  if (!db.ok()) return db.status();
  return std::unique_ptr<ProfileEventReader>(new ProfileEventReader(std::move(*db)));
}

Status ProfileEventReader::BeginSnapshot() {
  if (in_snapshot_) return Status::Ok();
  CJD_RETURN_IF_ERROR(db_->Exec("BEGIN"));
  in_snapshot_ = true;
  return Status::Ok();
}

void ProfileEventReader::EndSnapshot() {
  statements_.ResetAll();
  if (in_snapshot_) (void)db_->Exec("COMMIT");
  in_snapshot_ = false;
}

Result<int64_t> ProfileEventReader::Cursor() {
  auto s = statements_.Get("SELECT coalesce((SELECT value FROM meta WHERE key = 'cursor'), 0)");
  if (!s.ok()) return s.status();
  auto r = (*s)->Step();
  if (!r.ok()) return r.status();
  const int64_t cursor = *r ? (*s)->ColumnInt(0) : 0;
  (*s)->Reset();
  return cursor;
}

Status ProfileEventReader::ProfilesOf(
    int64_t after, int64_t upto, const std::function<void(int64_t, int64_t)>& fn) {
  auto s = statements_.Get(
      "SELECT event_rowid, coalesce(profile_id, 0) FROM profile_events "
      "WHERE event_rowid > ?1 AND event_rowid <= ?2 ORDER BY event_rowid");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, after).Bind(2, upto);
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    fn((*s)->ColumnInt(0), (*s)->ColumnInt(1));
  }
  (*s)->Reset();
  return Status::Ok();
}

Result<std::vector<int64_t>> ProfileEventReader::EventsOf(int64_t profile_id) {
  auto s = statements_.Get(
      "SELECT event_rowid FROM profile_events WHERE profile_id = ?1 ORDER BY event_rowid");
  if (!s.ok()) return s.status();
  (*s)->Bind(1, profile_id);
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

}  // namespace cjd::hub

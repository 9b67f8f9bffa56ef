#include "hub/store/event_log_reader.h"

#include "shared/storage/sqlite.h"

namespace cjd::hub {
namespace {

class SqliteEventLogReader final : public EventLogReader {
 public:
  explicit SqliteEventLogReader(std::unique_ptr<sqlite::Database> db) : db_(std::move(db)) {}

  Status Prepare() {
    auto after = db_->Prepare("SELECT id, body FROM events WHERE id > ?1 ORDER BY id LIMIT ?2");
    if (!after.ok()) return after.status();
    after_ = std::move(*after);
    auto by_id = db_->Prepare("SELECT event_id, source, body FROM events WHERE id = ?1");
    if (!by_id.ok()) return by_id.status();
    by_id_ = std::move(*by_id);
    return Status::Ok();
  }

  Status ReadAfter(int64_t after, int limit,
                   std::vector<std::pair<int64_t, std::string>>* out) override {
    after_.Bind(1, after).Bind(2, static_cast<int64_t>(limit));
    Status st = Status::Ok();
    while (true) {
      auto row = after_.Step();
      if (!row.ok()) {
        st = row.status();
        break;
      }
      if (!*row) break;
      out->emplace_back(after_.ColumnInt(0), after_.ColumnText(1));
    }
    after_.Reset();
    return st;
  }

  Status Visit(std::span<const int64_t> ids,
               const std::function<Status(const LoggedEvent&)>& fn) override {
    // One read transaction for the lot: one snapshot, and no lock taken per lookup.
    const bool batch = ids.size() > 1;
    if (batch) CJD_RETURN_IF_ERROR(db_->Exec("BEGIN"));
    Status st = Status::Ok();
    for (int64_t id : ids) {
      by_id_.Bind(1, id);
      auto row = by_id_.Step();
      if (!row.ok()) st = row.status();
      else if (*row) {
        st = fn(LoggedEvent{id, by_id_.ColumnView(0), by_id_.ColumnView(1), by_id_.ColumnView(2)});
      }
      by_id_.Reset();
      if (!st.ok()) break;
    }
    if (batch) (void)db_->Exec("COMMIT");  // a read transaction: nothing to lose
    return st;
  }

 private:
  std::unique_ptr<sqlite::Database> db_;
  sqlite::Statement after_;
  sqlite::Statement by_id_;
};

}  // namespace

Result<std::unique_ptr<EventLogReader>> OpenSqliteEventLogReader(const std::string& hub_db_path) {
  sqlite::OpenOptions options;
  options.read_only = true;
  options.synchronous_full = false;
  auto db = sqlite::Database::Open(hub_db_path, options);
  if (!db.ok()) return db.status();
  auto reader = std::make_unique<SqliteEventLogReader>(std::move(*db));
  CJD_RETURN_IF_ERROR(reader->Prepare());
  return std::unique_ptr<EventLogReader>(std::move(reader));
}

}  // namespace cjd::hub

#include "hub/store/event_log_reader.h"

#include "shared/event/event.h"
#include "shared/storage/sqlite.h"

namespace cjd::hub {
namespace {

class SqliteEventLogReader final : public EventLogReader {
 public:
  SqliteEventLogReader(std::unique_ptr<sqlite::Database> db, std::shared_ptr<EventVault> vault)
      : db_(std::move(db)), vault_(std::move(vault)) {}

  Status Prepare() {
    auto after = db_->Prepare(
        "SELECT id, body, source, event_id, pii, pii_keys FROM events WHERE id > ?1 ORDER BY id "
        "LIMIT ?2");
    if (!after.ok()) return after.status();
    after_ = std::move(*after);
    auto by_id = db_->Prepare(
        "SELECT event_id, source, body, pii, pii_keys FROM events WHERE id = ?1");
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
      Result<std::string> body = Whole(EventRef{after_.ColumnView(2), after_.ColumnView(3)},
                                       after_.ColumnView(1), after_, 4);
      if (!body.ok()) {
        st = body.status();
        break;
      }
      out->emplace_back(after_.ColumnInt(0), std::move(*body));
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
        const EventRef ref{by_id_.ColumnView(1), by_id_.ColumnView(0)};
        Result<std::string> body = Whole(ref, by_id_.ColumnView(2), by_id_, 3);
        if (!body.ok()) st = body.status();
        else st = fn(LoggedEvent{id, ref.event_id, ref.source, *body});
      }
      by_id_.Reset();
      if (!st.ok()) break;
    }
    if (batch) (void)db_->Exec("COMMIT");  // a read transaction: nothing to lose
    return st;
  }

 private:
  // The event's whole body: its sealed part (columns `pii`, `pii + 1`) opened and joined back.
  Result<std::string> Whole(const EventRef& ref, std::string_view body,
                            const sqlite::Statement& row, int pii) {
    if (row.ColumnIsNull(pii)) return std::string(body);
    // Without the vault the person cannot be read: the event is as good as redacted.
    if (vault_ == nullptr) return MarkRedacted(body);
    return vault_->Open(ref, body, row.ColumnView(pii), row.ColumnView(pii + 1));
  }

  std::unique_ptr<sqlite::Database> db_;
  std::shared_ptr<EventVault> vault_;
  sqlite::Statement after_;
  sqlite::Statement by_id_;
};

}  // namespace

Result<std::unique_ptr<EventLogReader>> OpenSqliteEventLogReader(const std::string& hub_db_path,
                                                                 std::shared_ptr<EventVault> vault) {
  sqlite::OpenOptions options;
  options.read_only = true;
  options.synchronous_full = false;
  auto db = sqlite::Database::Open(hub_db_path, options);
  if (!db.ok()) return db.status();
  auto reader = std::make_unique<SqliteEventLogReader>(std::move(*db), std::move(vault));
  CJD_RETURN_IF_ERROR(reader->Prepare());
  return std::unique_ptr<EventLogReader>(std::move(reader));
}

}  // namespace cjd::hub

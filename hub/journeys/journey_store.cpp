#include "hub/journeys/journey_store.h"

namespace cjd::hub::journeys {
namespace {

const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
      INSERT INTO meta VALUES ('cursor', 0);
      CREATE TABLE touches (
        event_rowid   INTEGER PRIMARY KEY,   -- hub.db events.id
        profile_id    INTEGER NOT NULL,      -- the live profile
        at_ms         INTEGER NOT NULL,
        local_day     INTEGER NOT NULL,      -- days since 1970-01-01, the event's own offset
        type          INTEGER NOT NULL,      -- EventType
        is_order      INTEGER NOT NULL,      -- an order with a sale line
        revenue_cents INTEGER NOT NULL,
        currency      TEXT NOT NULL,
        channel       TEXT NOT NULL,
        store_id      TEXT NOT NULL,
        url           TEXT NOT NULL,
        attrs         TEXT NOT NULL          -- "key\x1fvalue" joined by \x1e
      );
      CREATE INDEX touches_by_profile ON touches (profile_id);
    )sql"},
};

constexpr char kListSep = '\x1e';

}  // namespace

Result<std::unique_ptr<JourneyStore>> JourneyStore::Open(const std::string& path) {
  sqlite::OpenOptions options;
  options.synchronous_full = false;  // derived data: a lost tail is re-read from the log
  auto db = sqlite::Database::Open(path, options);
  if (!db.ok()) return db.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  return std::unique_ptr<JourneyStore>(new JourneyStore(std::move(*db)));
}

Result<int64_t> JourneyStore::Cursor() {
  return db_->QueryInt("SELECT value FROM meta WHERE key = 'cursor'");
}

Status JourneyStore::Apply(std::span<const TouchRecord> touches,
                           std::span<const std::pair<int64_t, int64_t>> moves, int64_t cursor) {
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  if (!touches.empty()) {
    auto s = statements_.Get(
        "INSERT OR REPLACE INTO touches (event_rowid, profile_id, at_ms, local_day, type, "
        "is_order, revenue_cents, currency, channel, store_id, url, attrs) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)");
    if (!s.ok()) return s.status();
    std::string attrs;
    for (const TouchRecord& t : touches) {
      attrs.clear();
      for (const std::string& a : t.attrs) {
        if (!attrs.empty()) attrs.push_back(kListSep);
        attrs += a;
      }
      (*s)->Bind(1, t.rowid)
          .Bind(2, t.profile_id)
          .Bind(3, t.at_ms)
          .Bind(4, static_cast<int64_t>(t.local_day))
          .Bind(5, static_cast<int64_t>(t.type))
          .Bind(6, static_cast<int64_t>(t.order ? 1 : 0))
          .Bind(7, t.revenue_cents)
          .Bind(8, t.currency)
          .Bind(9, t.channel)
          .Bind(10, t.store)
          .Bind(11, t.url)
          .Bind(12, attrs);
      CJD_RETURN_IF_ERROR((*s)->Run());
    }
  }
  if (!moves.empty()) {
    auto up = statements_.Get("UPDATE touches SET profile_id = ?2 WHERE event_rowid = ?1");
    if (!up.ok()) return up.status();
    auto del = statements_.Get("DELETE FROM touches WHERE event_rowid = ?1");
    if (!del.ok()) return del.status();
    for (const auto& [rowid, profile] : moves) {
      if (profile > 0) {
        CJD_RETURN_IF_ERROR((*up)->Bind(1, rowid).Bind(2, profile).Run());
      } else {
        CJD_RETURN_IF_ERROR((*del)->Bind(1, rowid).Run());
      }
    }
  }
  if (cursor > 0) {
    auto c = statements_.Get("UPDATE meta SET value = ?1 WHERE key = 'cursor'");
    if (!c.ok()) return c.status();
    CJD_RETURN_IF_ERROR((*c)->Bind(1, cursor).Run());
  }
  return tx.Commit();
}

Status JourneyStore::ForEach(const std::function<void(const TouchRecord&)>& fn) {
  auto s = statements_.Get(
      "SELECT event_rowid, profile_id, at_ms, local_day, type, is_order, revenue_cents, "
      "currency, channel, store_id, url, attrs FROM touches ORDER BY event_rowid");
  if (!s.ok()) return s.status();
  TouchRecord t;
  while (true) {
    auto r = (*s)->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    t.rowid = (*s)->ColumnInt(0);
    t.profile_id = (*s)->ColumnInt(1);
    t.at_ms = (*s)->ColumnInt(2);
    t.local_day = static_cast<int32_t>((*s)->ColumnInt(3));
    t.type = static_cast<EventType>((*s)->ColumnInt(4));
    t.order = (*s)->ColumnInt(5) != 0;
    t.revenue_cents = (*s)->ColumnInt(6);
    t.currency = (*s)->ColumnText(7);
    t.channel = (*s)->ColumnText(8);
    t.store = (*s)->ColumnText(9);
    t.url = (*s)->ColumnText(10);
    t.attrs.clear();
    std::string_view a = (*s)->ColumnView(11);
    while (!a.empty()) {
      const size_t cut = a.find(kListSep);
      t.attrs.emplace_back(a.substr(0, cut));
      a = cut == std::string_view::npos ? std::string_view() : a.substr(cut + 1);
    }
    fn(t);
  }
  (*s)->Reset();
  return Status::Ok();
}

}  // namespace cjd::hub::journeys

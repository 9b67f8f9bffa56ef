#include "hub/offers/store_items.h"

namespace cjd::hub::offers {

struct StoreItems::Statements {
  sqlite::Statement set_seq, get_item, put_item, set_owner, owned_items, store_items,
      set_store_version, range, drop_tombstones;
};

StoreItems::StoreItems(sqlite::Database& db, std::unique_ptr<Statements> st)
    : db_(db), st_(std::move(st)) {}

StoreItems::~StoreItems() = default;

Result<std::unique_ptr<StoreItems>> StoreItems::Open(sqlite::Database& db) {
  auto st = std::make_unique<Statements>();
  auto prep = [&](sqlite::Statement* out, const char* sql) -> Status {
    auto s = db.Prepare(sql);
    if (!s.ok()) return s.status();
    *out = std::move(*s);
    return Status::Ok();
  };
  CJD_RETURN_IF_ERROR(prep(&st->set_seq, "UPDATE meta SET value = ?1 WHERE key = 'seq'"));
  CJD_RETURN_IF_ERROR(prep(&st->get_item,
                           "SELECT content, owner FROM store_items "
                           "WHERE store_id = ?1 AND kind = ?2 AND key = ?3"));
  CJD_RETURN_IF_ERROR(prep(&st->put_item,
                           "INSERT INTO store_items (store_id, kind, key, content, version, owner, "
                           "sealed) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
                           "ON CONFLICT (store_id, kind, key) DO UPDATE SET content = ?4, "
                           "version = ?5, owner = ?6, sealed = coalesce(?7, sealed)"));
  CJD_RETURN_IF_ERROR(prep(&st->set_owner,
                           "UPDATE store_items SET owner = ?4 "
                           "WHERE store_id = ?1 AND kind = ?2 AND key = ?3"));
  CJD_RETURN_IF_ERROR(prep(&st->owned_items,
                           "SELECT store_id, key, content FROM store_items "
                           "WHERE owner = ?1 AND kind = 1"));
  CJD_RETURN_IF_ERROR(prep(&st->store_items,
                           "SELECT kind, key, content, owner FROM store_items WHERE store_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st->set_store_version,
                           "INSERT INTO store_versions (store_id, version) VALUES (?1, ?2) "
                           "ON CONFLICT (store_id) DO UPDATE SET version = ?2"));
  CJD_RETURN_IF_ERROR(prep(&st->range,
                           "SELECT kind, key, content, version, sealed FROM store_items "
                           "WHERE store_id = ?1 AND version > ?2 AND version <= ?3 "
                           "ORDER BY version"));
  CJD_RETURN_IF_ERROR(prep(&st->drop_tombstones,
                           "DELETE FROM store_items WHERE store_id = ?1 AND content = '!' "
                           "AND kind != 2 AND version <= ?2"));
  std::unique_ptr<StoreItems> items(new StoreItems(db, std::move(st)));
  auto seq = db.QueryInt("SELECT value FROM meta WHERE key = 'seq'");
  if (!seq.ok()) return seq.status();
  items->seq_ = static_cast<uint64_t>(*seq);
  auto versions = db.Prepare("SELECT store_id, version FROM store_versions");
  if (!versions.ok()) return versions.status();
  while (true) {
    auto row = versions->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    items->versions_[versions->ColumnText(0)] = static_cast<uint64_t>(versions->ColumnInt(1));
  }
  return items;
}

uint64_t StoreItems::version(const std::string& store) const {
  auto v = versions_.find(store);
  return v == versions_.end() ? 0 : v->second;
}

// ---- Change ----------------------------------------------------------------------------------

StoreItems::Change::Change(StoreItems& items)
    : items_(items), tx_(items.db_), seq0_(items.seq_), versions0_(items.versions_) {}

StoreItems::Change::~Change() {
  if (committed_) return;
  items_.seq_ = seq0_;
  items_.versions_ = versions0_;
  // tx_ rolls back as it goes.
}

Status StoreItems::Change::Commit() {
  CJD_RETURN_IF_ERROR(items_.SaveCounter());
  CJD_RETURN_IF_ERROR(tx_.Commit());
  committed_ = true;
  return Status::Ok();
}

Status StoreItems::SaveCounter() {
  st_->set_seq.Reset();
  st_->set_seq.Bind(1, static_cast<int64_t>(seq_));
  return st_->set_seq.Run();
}

// ---- writes ----------------------------------------------------------------------------------

Status StoreItems::Write(const std::string& store, int kind, std::string_view key,
                         std::string_view content, std::optional<int64_t> owner,
                         std::string_view sealed) {
  const uint64_t v = ++seq_;
  sqlite::Statement& put = st_->put_item;
  put.Reset();
  put.Bind(1, store).Bind(2, int64_t{kind}).BindBlob(3, key).Bind(4, content).Bind(
      5, static_cast<int64_t>(v));
  if (owner) {
    put.Bind(6, *owner);
  } else {
    put.BindNull(6);
  }
  if (sealed.empty()) {
    put.BindNull(7);
  } else {
    put.BindBlob(7, sealed);
  }
  CJD_RETURN_IF_ERROR(put.Run());
  versions_[store] = v;
  st_->set_store_version.Reset();
  st_->set_store_version.Bind(1, store).Bind(2, static_cast<int64_t>(v));
  return st_->set_store_version.Run();
}

Status StoreItems::SetOwner(const std::string& store, int kind, std::string_view key,
                            int64_t owner) {
  st_->set_owner.Reset();
  st_->set_owner.Bind(1, store).Bind(2, int64_t{kind}).BindBlob(3, key).Bind(4, owner);
  return st_->set_owner.Run();
}

Status StoreItems::DropTombstones(const std::string& store, uint64_t held_by_all) {
  st_->drop_tombstones.Reset();
  st_->drop_tombstones.Bind(1, store).Bind(2, static_cast<int64_t>(held_by_all));
  return st_->drop_tombstones.Run();
}

Status StoreItems::Renumber(const std::string& store, uint64_t above) {
  Change change(*this);
  if (!change.status().ok()) return change.status();
  if (seq_ < above) seq_ = above;
  auto items =
      db_.Prepare("SELECT kind, key FROM store_items WHERE store_id = ?1 ORDER BY version");
  if (!items.ok()) return items.status();
  items->Bind(1, store);
  std::vector<std::pair<int64_t, std::string>> keys;
  while (true) {
    auto row = items->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    keys.emplace_back(items->ColumnInt(0), std::string(items->ColumnView(1)));
  }
  auto renumber = db_.Prepare(
      "UPDATE store_items SET version = ?4 WHERE store_id = ?1 AND kind = ?2 AND key = ?3");
  if (!renumber.ok()) return renumber.status();
  uint64_t last = 0;
  for (const auto& [kind, key] : keys) {
    last = ++seq_;
    renumber->Reset();
    renumber->Bind(1, store).Bind(2, kind).BindBlob(3, key).Bind(4, static_cast<int64_t>(last));
    CJD_RETURN_IF_ERROR(renumber->Run());
  }
  if (keys.empty()) last = ++seq_;
  st_->set_store_version.Reset();
  st_->set_store_version.Bind(1, store).Bind(2, static_cast<int64_t>(last));
  CJD_RETURN_IF_ERROR(st_->set_store_version.Run());
  versions_[store] = last;
  return change.Commit();
}

// ---- reads -----------------------------------------------------------------------------------

Result<std::optional<StoredItem>> StoreItems::Get(const std::string& store, int kind,
                                                 std::string_view key) {
  sqlite::Statement& get = st_->get_item;
  get.Reset();
  get.Bind(1, store).Bind(2, int64_t{kind}).BindBlob(3, key);
  auto row = get.Step();
  if (!row.ok()) return row.status();
  std::optional<StoredItem> out;
  if (*row) {
    out.emplace();
    out->content = get.ColumnText(0);
    if (!get.ColumnIsNull(1)) out->owner = get.ColumnInt(1);
  }
  get.Reset();
  return out;
}

Result<std::map<std::pair<int, std::string>, StoredItem>> StoreItems::OfStore(
    const std::string& store) {
  std::map<std::pair<int, std::string>, StoredItem> out;
  sqlite::Statement& s = st_->store_items;
  s.Reset();
  s.Bind(1, store);
  while (true) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    StoredItem item;
    item.content = s.ColumnText(2);
    if (!s.ColumnIsNull(3)) item.owner = s.ColumnInt(3);
    out[{static_cast<int>(s.ColumnInt(0)), std::string(s.ColumnView(1))}] = std::move(item);
  }
  s.Reset();
  return out;
}

Result<std::map<std::pair<std::string, std::string>, std::string>> StoreItems::AssignmentsOf(
    int64_t profile_id) {
  std::map<std::pair<std::string, std::string>, std::string> out;
  sqlite::Statement& s = st_->owned_items;
  s.Reset();
  s.Bind(1, profile_id);
  while (true) {
    auto row = s.Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    out[{s.ColumnText(0), std::string(s.ColumnView(1))}] = s.ColumnText(2);
  }
  s.Reset();
  return out;
}

Status StoreItems::ForEachInRange(const std::string& store, uint64_t base, uint64_t target,
                                  const std::function<Status(const RangeItem&)>& f) {
  sqlite::Statement& s = st_->range;
  s.Reset();
  s.Bind(1, store).Bind(2, static_cast<int64_t>(base)).Bind(3, static_cast<int64_t>(target));
  Status result = Status::Ok();
  while (true) {
    auto row = s.Step();
    if (!row.ok()) {
      result = row.status();
      break;
    }
    if (!*row) break;
    RangeItem item;
    item.kind = static_cast<int>(s.ColumnInt(0));
    item.key = s.ColumnView(1);
    item.content = s.ColumnView(2);
    item.version = static_cast<uint64_t>(s.ColumnInt(3));
    item.sealed = s.ColumnView(4);
    result = f(item);
    if (!result.ok()) break;
  }
  s.Reset();
  return result;
}

}  // namespace cjd::hub::offers

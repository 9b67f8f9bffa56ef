#include "agent/offers/offer_cache.h"

#include <sodium.h>

#include <algorithm>

namespace cjd::agent {
namespace {

const std::vector<sqlite::Migration> kMigrations = {
    {1, R"sql(
      CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
      INSERT INTO meta VALUES ('applied_version', 0);
      CREATE TABLE offers (
        id               TEXT PRIMARY KEY,
        title            TEXT    NOT NULL,
        text             TEXT    NOT NULL,
        valid_from       TEXT    NOT NULL,
        valid_from_ms    INTEGER NOT NULL,
        valid_until      TEXT    NOT NULL,
        valid_until_ms   INTEGER NOT NULL,
        priority         INTEGER NOT NULL,
        requires_consent INTEGER NOT NULL,
        max_per_customer INTEGER NOT NULL,
        version          INTEGER NOT NULL,
        deleted          INTEGER NOT NULL
      ) WITHOUT ROWID;
      -- offers: ranked offer ids joined by ',' (offer ids never contain one).
      CREATE TABLE assignments (
        loyalty_id TEXT PRIMARY KEY,
        offers     TEXT    NOT NULL,
        version    INTEGER NOT NULL
      ) WITHOUT ROWID;
      CREATE TABLE general (
        one     INTEGER PRIMARY KEY CHECK (one = 1),
        offers  TEXT    NOT NULL,
        version INTEGER NOT NULL
      );
    )sql"},
    {2, R"sql(
      -- A removed assignment (the customer gets the general list again) is a tombstone that
      -- keeps its version; an assignment with no offers means "nothing for this customer".
      ALTER TABLE assignments ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0;
    )sql"},
    {3, R"sql(
      -- Customers by keyed hash, no loyalty id kept (offer_cache.h). The old rows go (their
      -- pages zeroed: secure_delete) and the watermark with them, so the hub sends every
      -- assignment again; offers and the general list stay.
      DROP TABLE assignments;
      CREATE TABLE assignments (
        customer_key BLOB PRIMARY KEY,
        offers       TEXT    NOT NULL,
        version      INTEGER NOT NULL,
        deleted      INTEGER NOT NULL DEFAULT 0
      ) WITHOUT ROWID;
      UPDATE meta SET value = 0 WHERE key = 'applied_version';
    )sql"},
};

}  // namespace

OfferCache::OfferCache(std::unique_ptr<sqlite::Database> db,
                       const std::array<uint8_t, 32>& lookup_key)
    : db_(std::move(db)), lookup_key_(lookup_key) {}

OfferCache::~OfferCache() = default;

std::array<uint8_t, 32> OfferCache::LookupKey(const std::array<uint8_t, 32>& device_secret) {
  static constexpr char kContext[] = "cjd-offer-cache-customer-key-v1";
  std::array<uint8_t, 32> out{};
  crypto_generichash(out.data(), out.size(), reinterpret_cast<const unsigned char*>(kContext),
                     sizeof kContext - 1, device_secret.data(), device_secret.size());
  return out;
}

OfferCache::CustomerKey OfferCache::KeyOf(std::string_view loyalty_id) const {
  CustomerKey k{};
  crypto_generichash(k.data(), k.size(), reinterpret_cast<const unsigned char*>(loyalty_id.data()),
                     loyalty_id.size(), lookup_key_.data(), lookup_key_.size());
  return k;
}

Result<std::unique_ptr<OfferCache>> OfferCache::Open(const std::string& path,
                                                     const std::array<uint8_t, 32>& lookup_key) {
  sqlite::OpenOptions options;
  options.wal = true;
  options.synchronous_full = true;
  auto db = sqlite::Database::Open(path, options);
  if (!db.ok()) return db.status();
  // Deleted and replaced rows are overwritten, not left in free pages (secure_delete, on for
  // every connection: sqlite.h), the migration from plain loyalty ids included; the checkpoint
  // then leaves no old page in the WAL either.
  const auto before = (*db)->QueryInt("PRAGMA user_version");
  if (!before.ok()) return before.status();
  CJD_RETURN_IF_ERROR((*db)->Migrate(kMigrations));
  if (*before > 0 && *before < 3) {
    Result<bool> emptied = (*db)->TruncateWal();
    if (!emptied.ok()) return emptied.status();
  }
  std::unique_ptr<OfferCache> cache(new OfferCache(std::move(*db), lookup_key));
  CJD_RETURN_IF_ERROR(cache->Prepare());
  CJD_RETURN_IF_ERROR(cache->Load());
  return cache;
}

Status OfferCache::Prepare() {
  auto prep = [this](sqlite::Statement* s, const char* sql) -> Status {
    auto r = db_->Prepare(sql);
    if (!r.ok()) return r.status();
    *s = std::move(*r);
    return Status::Ok();
  };
  // The WHERE clauses repeat the version rule the mirror already applied (defence in depth).
  CJD_RETURN_IF_ERROR(prep(&upsert_offer_,
      "INSERT INTO offers (id, title, text, valid_from, valid_from_ms, valid_until, "
      "valid_until_ms, priority, requires_consent, max_per_customer, version, deleted) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12) "
      "ON CONFLICT (id) DO UPDATE SET title = excluded.title, text = excluded.text, "
      "valid_from = excluded.valid_from, valid_from_ms = excluded.valid_from_ms, "
      "valid_until = excluded.valid_until, valid_until_ms = excluded.valid_until_ms, "
      "priority = excluded.priority, requires_consent = excluded.requires_consent, "
      "max_per_customer = excluded.max_per_customer, version = excluded.version, "
      "deleted = excluded.deleted WHERE excluded.version > offers.version"));
  CJD_RETURN_IF_ERROR(prep(&upsert_assignment_,
      "INSERT INTO assignments (customer_key, offers, version, deleted) VALUES (?1, ?2, ?3, ?4) "
      "ON CONFLICT (customer_key) DO UPDATE SET offers = excluded.offers, "
      "version = excluded.version, deleted = excluded.deleted "
      "WHERE excluded.version > assignments.version"));
  CJD_RETURN_IF_ERROR(prep(&upsert_general_,
      "INSERT INTO general (one, offers, version) VALUES (1, ?1, ?2) "
      "ON CONFLICT (one) DO UPDATE SET offers = excluded.offers, version = excluded.version "
      "WHERE excluded.version > general.version"));
  CJD_RETURN_IF_ERROR(prep(&set_meta_, "UPDATE meta SET value = ?2 WHERE key = ?1"));
  return Status::Ok();
}

uint32_t OfferCache::Slot(const std::string& id) {
  auto it = index_.find(id);
  if (it != index_.end()) return it->second;
  const auto slot = static_cast<uint32_t>(offers_.size());
  OfferRecord placeholder;
  placeholder.id = id;
  offers_.push_back(std::move(placeholder));
  index_.emplace(id, slot);
  return slot;
}

std::vector<uint32_t> OfferCache::SlotsLocked(const std::vector<std::string>& ids) {
  std::vector<uint32_t> slots;
  slots.reserve(ids.size());
  for (const auto& id : ids) slots.push_back(Slot(id));
  return slots;
}

const OfferRecord* OfferCache::Held(const std::string& id) const {
  auto it = index_.find(id);
  return it == index_.end() ? nullptr : &offers_[it->second];
}

Status OfferCache::Load() {
  std::unique_lock lock(mu_);
  auto v = db_->QueryInt("SELECT value FROM meta WHERE key = 'applied_version'");
  if (!v.ok()) return v.status();
  applied_version_ = static_cast<uint64_t>(*v);

  auto offers = db_->Prepare(
      "SELECT id, title, text, valid_from, valid_from_ms, valid_until, valid_until_ms, priority, "
      "requires_consent, max_per_customer, version, deleted FROM offers");
  if (!offers.ok()) return offers.status();
  while (true) {
    auto row = offers->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    OfferRecord o;
    o.id = offers->ColumnText(0);
    o.title = offers->ColumnText(1);
    o.text = offers->ColumnText(2);
    o.valid_from = offers->ColumnText(3);
    o.valid_from_ms = offers->ColumnInt(4);
    o.valid_until = offers->ColumnText(5);
    o.valid_until_ms = offers->ColumnInt(6);
    o.priority = offers->ColumnInt(7);
    o.requires_consent = offers->ColumnInt(8) != 0;
    o.max_per_customer = offers->ColumnInt(9);
    o.version = static_cast<uint64_t>(offers->ColumnInt(10));
    o.deleted = offers->ColumnInt(11) != 0;
    if (!o.deleted) ++live_offers_;
    const uint32_t slot = Slot(o.id);
    offers_[slot] = std::move(o);
  }
  auto assignments =
      db_->Prepare("SELECT customer_key, offers, version, deleted FROM assignments");
  if (!assignments.ok()) return assignments.status();
  while (true) {
    auto row = assignments->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Ranked r;
    r.version = static_cast<uint64_t>(assignments->ColumnInt(2));
    r.deleted = assignments->ColumnInt(3) != 0;
    if (!r.deleted) {
      r.slots = SlotsLocked(SplitOfferIds(assignments->ColumnView(1)));
      ++live_assignments_;
    }
    const std::string_view key = assignments->ColumnView(0);
    CustomerKey k{};
    if (key.size() != k.size()) continue;  // not one of ours: the hub resends what is missing
    std::memcpy(k.data(), key.data(), k.size());
    assignments_.emplace(k, std::move(r));
  }
  auto general = db_->Prepare("SELECT offers, version FROM general");
  if (!general.ok()) return general.status();
  auto row = general->Step();
  if (!row.ok()) return row.status();
  if (*row) {
    general_.version = static_cast<uint64_t>(general->ColumnInt(1));
    general_.slots = SlotsLocked(SplitOfferIds(general->ColumnView(0)));
  }
  return Status::Ok();
}

Result<ApplyStats> OfferCache::Apply(const OfferUpdate& update) {
  std::lock_guard apply_lock(apply_mu_);
  // Only this thread mutates the mirror, so it may read it here without mu_.
  ApplyStats stats;
  stats.update_version = update.version;
  std::vector<const OfferRecord*> new_offers;
  std::vector<const OfferAssignment*> new_assignments;
  std::vector<CustomerKey> new_keys;  // of new_assignments, in order
  for (const auto& o : update.offers) {
    const OfferRecord* held = Held(o.id);
    if (held != nullptr && held->version >= o.version) {
      ++stats.offers_stale;
      continue;
    }
    new_offers.push_back(&o);
  }
  for (const auto& a : update.assignments) {
    const CustomerKey key = KeyOf(a.loyalty_id);
    auto it = assignments_.find(key);
    if (it != assignments_.end() && it->second.version >= a.version) {
      ++stats.assignments_stale;
      continue;
    }
    new_assignments.push_back(&a);
    new_keys.push_back(key);
  }
  const bool general_newer = update.general && update.general->version > general_.version;
  // The contiguous watermark: (base, version] continues what is held, or waits for the gap.
  // Worked on a copy: it replaces early_ only once the update is committed.
  uint64_t applied = applied_version_.load();
  std::multimap<uint64_t, uint64_t> early = early_;
  if (update.base == 0) early.clear();  // a complete state: nothing before it matters
  if (update.base <= applied) {
    applied = std::max(applied, update.version);
    // Updates that arrived before the gap closed carry the watermark on.
    for (bool moved = true; moved;) {
      moved = false;
      for (auto it = early.begin(); it != early.end();) {
        if (it->first <= applied) {
          if (it->second > applied) {
            applied = it->second;
            moved = true;
          }
          it = early.erase(it);
        } else {
          ++it;
        }
      }
    }
  } else if (early.size() < kMaxEarlyUpdates) {
    early.emplace(update.base, update.version);
  }

  sqlite::Transaction tx(*db_);
  if (!tx.status().ok()) return tx.status();
  for (const OfferRecord* o : new_offers) {
    upsert_offer_.Bind(1, o->id)
        .Bind(2, o->deleted ? std::string_view("") : o->title)
        .Bind(3, o->deleted ? std::string_view("") : o->text)
        .Bind(4, o->deleted ? std::string_view("") : o->valid_from)
        .Bind(5, o->deleted ? 0 : o->valid_from_ms)
        .Bind(6, o->deleted ? std::string_view("") : o->valid_until)
        .Bind(7, o->deleted ? 0 : o->valid_until_ms)
        .Bind(8, o->priority)
        .Bind(9, int64_t{o->requires_consent})
        .Bind(10, o->max_per_customer)
        .Bind(11, static_cast<int64_t>(o->version))
        .Bind(12, int64_t{o->deleted});
    CJD_RETURN_IF_ERROR(upsert_offer_.Run());
  }
  for (size_t i = 0; i < new_assignments.size(); ++i) {
    const OfferAssignment* a = new_assignments[i];
    upsert_assignment_.BindBlob(1, std::string_view(reinterpret_cast<const char*>(new_keys[i].data()),
                                                    new_keys[i].size()))
        .Bind(2, a->deleted ? std::string() : JoinOfferIds(a->offers))
        .Bind(3, static_cast<int64_t>(a->version))
        .Bind(4, int64_t{a->deleted});
    CJD_RETURN_IF_ERROR(upsert_assignment_.Run());
  }
  if (general_newer) {
    upsert_general_.Bind(1, JoinOfferIds(update.general->offers))
        .Bind(2, static_cast<int64_t>(update.general->version));
    CJD_RETURN_IF_ERROR(upsert_general_.Run());
  }
  set_meta_.Bind(1, "applied_version").Bind(2, static_cast<int64_t>(applied));
  CJD_RETURN_IF_ERROR(set_meta_.Run());
  CJD_RETURN_IF_ERROR(tx.Commit());
  early_ = std::move(early);

  // Committed: mirror it. Interning happens under the exclusive lock (it may grow offers_).
  std::unique_lock lock(mu_);
  for (const OfferRecord* o : new_offers) {
    OfferRecord& slot = offers_[Slot(o->id)];
    const bool was_live = slot.version != 0 && !slot.deleted;
    slot = *o;
    if (o->deleted) {
      slot.title.clear();
      slot.text.clear();
      slot.valid_from.clear();
      slot.valid_until.clear();
    }
    live_offers_ += (o->deleted ? 0 : 1) - (was_live ? 1 : 0);
  }
  for (size_t i = 0; i < new_assignments.size(); ++i) {
    const OfferAssignment* a = new_assignments[i];
    Ranked& r = assignments_[new_keys[i]];
    const bool was_live = r.version != 0 && !r.deleted;
    r.version = a->version;
    r.deleted = a->deleted;
    r.slots = a->deleted ? std::vector<uint32_t>() : SlotsLocked(a->offers);
    r.slots.shrink_to_fit();
    live_assignments_ += (a->deleted ? 0 : 1) - (was_live ? 1 : 0);
  }
  if (general_newer) {
    general_.version = update.general->version;
    general_.slots = SlotsLocked(update.general->offers);
  }
  applied_version_ = applied;
  lock.unlock();

  stats.offers_applied = static_cast<int64_t>(new_offers.size());
  stats.assignments_applied = static_cast<int64_t>(new_assignments.size());
  stats.general_applied = general_newer;
  stats.applied_version = applied;
  updates_applied_.fetch_add(1);
  return stats;
}

std::vector<OfferView> OfferCache::Lookup(std::string_view loyalty_id, int64_t now_ms) const {
  std::vector<OfferView> out;
  const CustomerKey key = loyalty_id.empty() ? CustomerKey{} : KeyOf(loyalty_id);
  std::shared_lock lock(mu_);
  auto serve = [&](const Ranked& list, bool personal) {
    out.reserve(list.slots.size());
    for (uint32_t slot : list.slots) {
      const OfferRecord& o = offers_[slot];
      if (o.version == 0 || o.deleted) continue;
      if (o.requires_consent && !personal) continue;
      if (now_ms < o.valid_from_ms || now_ms >= o.valid_until_ms) continue;
      out.push_back(OfferView{o.id, o.title, o.text, o.valid_until});
    }
  };
  if (!loyalty_id.empty()) {
    auto it = assignments_.find(key);
    // The customer's own list is complete (the hub ranks the offers for everyone into it too):
    // served as it is, even when nothing in it can be shown now — the general list may hold
    // offers they may not have (redeemed up to the limit).
    if (it != assignments_.end() && !it->second.deleted) {
      serve(it->second, true);
      return out;
    }
  }
  serve(general_, false);
  return out;
}

OfferCacheStats OfferCache::Stats() const {
  OfferCacheStats s;
  {
    std::shared_lock lock(mu_);
    s.offers = live_offers_;
    s.assignments = live_assignments_;
  }
  s.applied_version = applied_version_.load();
  s.updates_applied = updates_applied_.load();
  s.updates_rejected = updates_rejected_.load();
  s.impressions_recorded = impressions_recorded_.load();
  s.impressions_dropped = impressions_dropped_.load();
  return s;
}

Result<bool> OfferCache::Forget(std::string_view loyalty_id) {
  std::lock_guard apply(apply_mu_);
  const CustomerKey key = KeyOf(loyalty_id);
  bool live = false;
  {
    std::shared_lock read(mu_);
    auto it = assignments_.find(key);
    if (it == assignments_.end()) return false;
    live = !it->second.deleted;
  }
  auto s = db_->Prepare(
      "UPDATE assignments SET deleted = 1, offers = '' WHERE customer_key = ?1");
  if (!s.ok()) return s.status();
  s->BindBlob(1, std::string_view(reinterpret_cast<const char*>(key.data()), key.size()));
  CJD_RETURN_IF_ERROR(s->Run());
  {
    std::unique_lock write(mu_);
    Ranked& r = assignments_[key];
    r.deleted = true;
    r.slots.clear();
    if (live) --live_assignments_;
  }
  Result<bool> emptied = db_->TruncateWal();
  if (!emptied.ok()) return emptied.status();
  if (!*emptied) return Status::Io("offer cache: the WAL could not be emptied (busy readers)");
  return live;
}

}  // namespace cjd::agent

// Erasure: removing a person from the projection (Projector::Erase, issue 11).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "hub/projection/identity_keys.h"
#include "hub/projection/projector.h"
#include "hub/projection/projector_internal.h"

namespace cjd::hub {

using identity::IdKey;
using namespace projector_internal;

namespace {

// Runs `sql` with ?1 bound to `id`; returns the rows' first columns as integers.
Result<std::vector<int64_t>> Ints(sqlite::Database& db, const char* sql, int64_t id) {
  auto s = db.Prepare(sql);
  if (!s.ok()) return s.status();
  s->Bind(1, id);
  std::vector<int64_t> out;
  while (true) {
    auto r = s->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    out.push_back(s->ColumnInt(0));
  }
  return out;
}

}  // namespace

Result<ErasedPerson> Projector::Erase(int64_t profile_id, const std::vector<IdKey>& keys,
                                      bool dry_run) {
  CJD_RETURN_IF_ERROR(CatchUp().status());
  std::lock_guard lock(write_mu_);
  ErasedPerson out;
  int64_t live = 0;
  if (profile_id != 0) {
    auto s = db_->Prepare("SELECT coalesce(merged_into, profile_id) FROM profiles WHERE profile_id = ?1");
    if (!s.ok()) return s.status();
    s->Bind(1, profile_id);
    auto r = s->Step();
    if (!r.ok()) return r.status();
    if (!*r) return Status::NotFound("no profile " + std::to_string(profile_id));
    live = s->ColumnInt(0);
  } else {
    for (const IdKey& k : keys) {
      Result<int64_t> p = ProfileOf(k);
      if (!p.ok()) return p.status();
      if (*p == 0) continue;
      Result<std::vector<int64_t>> l = Ints(
          *db_, "SELECT coalesce(merged_into, profile_id) FROM profiles WHERE profile_id = ?1", *p);
      if (!l.ok()) return l.status();
      if (!l->empty()) live = l->front();
      break;
    }
  }
  if (live == 0) return out;
  out.profile_id = live;

  ResetPending();
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  {
    auto members = Ints(*db_, "SELECT profile_id FROM profiles WHERE profile_id = ?1 OR merged_into = ?1 "
                               "ORDER BY profile_id", live);
    if (!members.ok()) return members.status();
    out.profile_ids = std::move(*members);
    auto events = Ints(*db_, "SELECT event_rowid FROM profile_events WHERE profile_id = ?1 "
                              "ORDER BY event_rowid", live);
    if (!events.ok()) return events.status();
    out.event_rowids = std::move(*events);
  }
  {
    auto s = db_->Prepare("SELECT store_id FROM profile_stores WHERE profile_id = ?1 ORDER BY store_id");
    if (!s.ok()) return s.status();
    s->Bind(1, live);
    while (true) {
      auto r = s->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      out.store_ids.push_back(s->ColumnText(0));
    }
  }
  {
    // The values, for the devices' erase commands (the caller seals them again at once).
    auto s = db_->Prepare("SELECT type, value FROM identifiers WHERE profile_id = ?1 ORDER BY type");
    if (!s.ok()) return s.status();
    s->Bind(1, live);
    while (true) {
      auto r = s->Step();
      if (!r.ok()) return r.status();
      if (!*r) break;
      Result<std::string> value = OpenValue(keys_, s->ColumnView(1));
      if (value.ok()) out.identifiers.emplace_back(static_cast<int>(s->ColumnInt(0)), *value);
    }
  }
  if (dry_run) return out;  // nothing written: the transaction only read
  auto run = [&](const char* sql) -> Result<int64_t> {
    auto s = db_->Prepare(sql);
    if (!s.ok()) return s.status();
    s->Bind(1, live);
    CJD_RETURN_IF_ERROR(s->Run());
    return db_->Changes();
  };
  auto removed_ids = run("DELETE FROM identifiers WHERE profile_id = ?1");
  if (!removed_ids.ok()) return removed_ids.status();
  CJD_RETURN_IF_ERROR(run("UPDATE profile_events SET profile_id = NULL, carried = NULL, attached = NULL "
                          "WHERE profile_id = ?1").status());
  auto orders = run("UPDATE orders SET profile_id = NULL WHERE profile_id = ?1");
  if (!orders.ok()) return orders.status();
  out.orders = *orders;
  CJD_RETURN_IF_ERROR(run("UPDATE offer_redemptions SET profile_id = NULL WHERE profile_id = ?1").status());
  CJD_RETURN_IF_ERROR(run("DELETE FROM profile_categories WHERE profile_id = ?1").status());
  CJD_RETURN_IF_ERROR(run("DELETE FROM profile_stores WHERE profile_id = ?1").status());
  // Merge records name the person's profiles and keep keyed hashes of its identifiers.
  const char* kPersonMerges =
      "SELECT merge_id FROM merge_log WHERE survivor IN (SELECT profile_id FROM profiles "
      "WHERE profile_id = ?1 OR merged_into = ?1) OR absorbed IN (SELECT profile_id FROM profiles "
      "WHERE profile_id = ?1 OR merged_into = ?1)";
  CJD_RETURN_IF_ERROR(run((std::string("DELETE FROM merge_members WHERE merge_id IN (") +
                           kPersonMerges + ")").c_str()).status());
  CJD_RETURN_IF_ERROR(run((std::string("DELETE FROM merge_log WHERE merge_id IN (") +
                           kPersonMerges + ")").c_str()).status());
  CJD_RETURN_IF_ERROR(run("DELETE FROM kept_apart WHERE a IN (SELECT profile_id FROM profiles "
                          "WHERE profile_id = ?1 OR merged_into = ?1) OR b IN (SELECT profile_id "
                          "FROM profiles WHERE profile_id = ?1 OR merged_into = ?1)").status());
  CJD_RETURN_IF_ERROR(run("DELETE FROM profiles WHERE profile_id = ?1 OR merged_into = ?1").status());
  Bump("profiles", -1);
  Bump("merged_profiles", -static_cast<int64_t>(out.profile_ids.size() - 1));
  Bump("identifiers", -*removed_ids);
  for (int64_t id : out.profile_ids) {
    Changed(id);
    EventsMoved(id);
  }
  if (out.orders > 0) OrdersChanged(live);
  CJD_RETURN_IF_ERROR(BeforeCommit());
  CJD_RETURN_IF_ERROR(tx.Commit());
  CountOrderChanges();
  PublishChanges();
  spdlog::info("privacy: profile {} erased ({} profiles, {} events, {} orders kept anonymous)",
               live, out.profile_ids.size(), out.event_rowids.size(), out.orders);
  return out;
}

void Projector::TruncateWal() {
  std::lock_guard lock(write_mu_);
  // Waits for readers up to twice the busy timeout (sqlite::Database::TruncateWal).
  Result<bool> done = db_->TruncateWal();
  if (done.ok() && *done) return;
  spdlog::warn("privacy: profiles.db's WAL could not be emptied now (busy readers); the next "
               "checkpoint overwrites it");
}

Result<Projector::ErasureApplied> Projector::ErasureState(const std::string& erasure_id) {
  std::lock_guard lock(write_mu_);
  auto s = db_->Prepare("SELECT swept_ms FROM erasures_applied WHERE erasure_id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, erasure_id);
  Result<bool> row = s->Step();
  if (!row.ok()) return row.status();
  if (!*row) return ErasureApplied::kNo;
  return s->ColumnInt(0) > 0 ? ErasureApplied::kAndSwept : ErasureApplied::kYes;
}

Status Projector::MarkErasureApplied(const std::string& erasure_id, int64_t at_ms, bool swept) {
  std::lock_guard lock(write_mu_);
  auto s = db_->Prepare(
      "INSERT INTO erasures_applied (erasure_id, at_ms, swept_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (erasure_id) DO UPDATE SET swept_ms = max(swept_ms, excluded.swept_ms)");
  if (!s.ok()) return s.status();
  s->Bind(1, erasure_id).Bind(2, at_ms).Bind(3, swept ? at_ms : int64_t{0});
  return s->Run();
}

Result<int64_t> Projector::CreatedMs() {
  std::lock_guard lock(write_mu_);
  return db_->QueryInt("SELECT coalesce((SELECT value FROM meta WHERE key = 'created_ms'), 0)");
}

}  // namespace cjd::hub

// Merges (folding one profile into another), rebuilds from the events, and splits (undoing a
// merge, POST /v1/profiles/{id}/split).
#include "hub/projection/projector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <set>

#include "hub/projection/money.h"
#include "hub/projection/projector_internal.h"

namespace cjd::hub {

using identity::IdKey;
using identity::IdType;
using namespace projector_internal;

Status Projector::MergeInto(int64_t survivor, int64_t absorbed,
                            const identity::MergeRecord& r, int64_t event_rowid,
                            const MatchReason* match, int64_t* merge_id_out) {
  auto log = db_->Prepare(
      "INSERT INTO merge_log (kind, reverts, survivor, absorbed, link_type, link_key, event_id, "
      "event_rowid, at_ms, reason, probability) "
      "VALUES ('merge', NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
  if (!log.ok()) return log.status();
  log->Bind(1, survivor).Bind(2, absorbed).Bind(3, static_cast<int64_t>(r.link_type))
      .BindBlob(4, KeyBytes(r.link_key)).Bind(5, r.event_id).Bind(6, event_rowid)
      .Bind(7, r.at_ms);
  if (match != nullptr) {
    log->Bind(8, std::string_view(match->reason)).BindDouble(9, match->probability);
  } else {
    log->Bind(8, std::string_view("identifier")).BindNull(9);
  }
  CJD_RETURN_IF_ERROR(log->Run());
  const int64_t merge_id = db_->LastInsertRowid();
  if (merge_id_out != nullptr) *merge_id_out = merge_id;
  Changed(survivor);
  Changed(absorbed);
  EventsMoved(survivor);
  EventsMoved(absorbed);
  OrdersChanged(survivor);
  OrdersChanged(absorbed);
  auto run = [&](const char* sql) -> Status {
    auto s = db_->Prepare(sql);
    if (!s.ok()) return s.status();
    s->Bind(1, survivor).Bind(2, absorbed).Bind(3, merge_id);
    return s->Run();
  };
  CJD_RETURN_IF_ERROR(run("INSERT INTO merge_members (merge_id, id_key, event_rowid) "
                          "SELECT ?3, id_key, NULL FROM identifiers WHERE profile_id = ?2 AND ?1 = ?1"));
  CJD_RETURN_IF_ERROR(run("INSERT INTO merge_members (merge_id, id_key, event_rowid) "
                          "SELECT ?3, NULL, event_rowid FROM profile_events "
                          "WHERE profile_id = ?2 AND ?1 = ?1"));
  CJD_RETURN_IF_ERROR(run("UPDATE identifiers SET profile_id = ?1 WHERE profile_id = ?2 AND ?3 = ?3"));
  CJD_RETURN_IF_ERROR(run("UPDATE profile_events SET profile_id = ?1 WHERE profile_id = ?2 AND ?3 = ?3"));
  CJD_RETURN_IF_ERROR(run("UPDATE orders SET profile_id = ?1 WHERE profile_id = ?2 AND ?3 = ?3"));
  CJD_RETURN_IF_ERROR(run(
      "INSERT INTO profile_categories (profile_id, category, quantity) "
      "SELECT ?1, category, quantity FROM profile_categories WHERE profile_id = ?2 AND ?3 = ?3 "
      "ON CONFLICT (profile_id, category) DO UPDATE SET quantity = quantity + excluded.quantity"));
  CJD_RETURN_IF_ERROR(run("DELETE FROM profile_categories WHERE profile_id = ?2 AND ?1 = ?1 AND ?3 = ?3"));
  CJD_RETURN_IF_ERROR(run(
      "INSERT INTO profile_stores (profile_id, store_id, first_ms, last_ms, events) "
      "SELECT ?1, store_id, first_ms, last_ms, events FROM profile_stores "
      "WHERE profile_id = ?2 AND ?3 = ?3 "
      "ON CONFLICT (profile_id, store_id) DO UPDATE SET "
      "first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms), "
      "events = events + excluded.events"));
  CJD_RETURN_IF_ERROR(run("DELETE FROM profile_stores WHERE profile_id = ?2 AND ?1 = ?1 AND ?3 = ?3"));
  // Redemptions follow their orders (re-pointed above).
  CJD_RETURN_IF_ERROR(run("UPDATE offer_redemptions SET profile_id = ?1 WHERE profile_id = ?2 AND ?3 = ?3"));
  // Whoever the absorbed profile was kept apart from, the survivor is kept apart from now.
  CJD_RETURN_IF_ERROR(run(
      "INSERT OR IGNORE INTO kept_apart (a, b) "
      "SELECT min(?1, other), max(?1, other) FROM (SELECT CASE WHEN a = ?2 THEN b ELSE a END "
      "AS other FROM kept_apart WHERE (a = ?2 OR b = ?2) AND ?3 = ?3) WHERE other != ?1"));
  CJD_RETURN_IF_ERROR(run("UPDATE profiles SET merged_into = ?1 "
                          "WHERE (profile_id = ?2 OR merged_into = ?2) AND ?3 = ?3"));
  Bump("profiles", -1);
  Bump("merged_profiles", 1);
  Result<ProfileRow> s = ReadProfile(st_->get_profile, survivor, keys_);
  if (!s.ok()) return s.status();
  Result<ProfileRow> a = ReadProfile(st_->get_profile, absorbed, keys_);
  if (!a.ok()) return a.status();
  if (s->events == 0) *s = *a; else if (a->events > 0) s->Fold(*a);
  return WriteProfile(st_->update_profile, survivor, *s, keys_);
}

Status Projector::RebuildProfile(int64_t profile_id) {
  // The profile's events in log order: their ids from the projection, their bodies from the log.
  auto ids = db_->Prepare(
      "SELECT event_rowid FROM profile_events WHERE profile_id = ?1 ORDER BY event_rowid");
  if (!ids.ok()) return ids.status();
  ids->Bind(1, profile_id);
  std::vector<int64_t> rowids;
  while (true) {
    auto row = ids->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    rowids.push_back(ids->ColumnInt(0));
  }
  ProfileRow p;
  std::map<std::string, int64_t> categories;
  std::map<std::string, StoreSeen> stores;
  CJD_RETURN_IF_ERROR(log_->Visit(rowids, [&](const LoggedEvent& logged) -> Status {
    Result<Event> e = EventFromCanonical(logged.body);
    if (!e.ok()) return Status::Ok();
    p.Add(*e);
    if (!e->store_id.empty()) stores[e->store_id].Add(e->occurred_at_ms);
    if (e->order) {
      for (const Item& item : e->order->items) {
        if (!item.category.empty() && item.quantity > 0 && !item.unit_price.is_zero()) {
          categories[item.category] += item.quantity;
        }
      }
    }
    return Status::Ok();
  }));
  CJD_RETURN_IF_ERROR(WriteProfile(st_->update_profile, profile_id, p, keys_));
  auto del = db_->Prepare("DELETE FROM profile_categories WHERE profile_id = ?1");
  if (!del.ok()) return del.status();
  del->Bind(1, profile_id);
  CJD_RETURN_IF_ERROR(del->Run());
  for (const auto& [category, quantity] : categories) {
    st_->add_category.Bind(1, profile_id).Bind(2, category).Bind(3, quantity);
    CJD_RETURN_IF_ERROR(st_->add_category.Run());
  }
  auto del_stores = db_->Prepare("DELETE FROM profile_stores WHERE profile_id = ?1");
  if (!del_stores.ok()) return del_stores.status();
  del_stores->Bind(1, profile_id);
  CJD_RETURN_IF_ERROR(del_stores->Run());
  for (const auto& [store, seen] : stores) {
    st_->add_store.Bind(1, profile_id).Bind(2, store).Bind(3, seen.first_ms)
        .Bind(4, seen.last_ms).Bind(5, seen.events);
    CJD_RETURN_IF_ERROR(st_->add_store.Run());
  }
  return Status::Ok();
}

Result<SplitResult> Projector::Split(int64_t profile_id, int64_t merge_id) {
  std::lock_guard lock(write_mu_);
  auto live = db_->Prepare("SELECT merged_into FROM profiles WHERE profile_id = ?1");
  if (!live.ok()) return live.status();
  live->Bind(1, profile_id);
  auto lr = live->Step();
  if (!lr.ok()) return lr.status();
  if (!*lr) return Status::NotFound("no profile " + std::to_string(profile_id));
  if (!live->ColumnIsNull(0)) {
    return Status(Code::kConflict, "profile " + std::to_string(profile_id) +
                                       " was merged into " + live->ColumnText(0) +
                                       "; split that profile");
  }
  live->Reset();

  auto find = db_->Prepare(
      "SELECT m.merge_id, m.survivor, m.absorbed, m.link_type, m.link_key, m.event_id, "
      "coalesce(m.event_rowid, 0), m.at_ms, coalesce(p.merged_into, p.profile_id), "
      "EXISTS (SELECT 1 FROM merge_log s WHERE s.kind = 'split' AND s.reverts = m.merge_id) "
      "FROM merge_log m JOIN profiles p ON p.profile_id = m.survivor "
      "WHERE m.kind = 'merge' AND (?2 = 0 OR m.merge_id = ?2) AND "
      "(?2 != 0 OR (coalesce(p.merged_into, p.profile_id) = ?1 AND NOT EXISTS "
      " (SELECT 1 FROM merge_log s WHERE s.kind = 'split' AND s.reverts = m.merge_id))) "
      "ORDER BY m.merge_id DESC LIMIT 1");
  if (!find.ok()) return find.status();
  find->Bind(1, profile_id).Bind(2, merge_id);
  auto fr = find->Step();
  if (!fr.ok()) return fr.status();
  if (!*fr) {
    return Status::NotFound(merge_id == 0
                                ? "profile " + std::to_string(profile_id) + " has no merge to undo"
                                : "no merge " + std::to_string(merge_id));
  }
  identity::MergeRecord rec;
  rec.merge_id = static_cast<uint64_t>(find->ColumnInt(0));
  rec.kind = identity::LogKind::kMerge;
  rec.survivor = find->ColumnInt(1);
  rec.absorbed = find->ColumnInt(2);
  rec.link_type = static_cast<IdType>(find->ColumnInt(3));
  rec.link_key = KeyFrom(find->ColumnView(4));
  rec.event_id = find->ColumnText(5);
  const int64_t trigger_rowid = find->ColumnInt(6);
  rec.at_ms = find->ColumnInt(7);
  const int64_t owner = find->ColumnInt(8);
  const bool undone = find->ColumnInt(9) != 0;
  find->Reset();
  if (owner != profile_id) {
    return Status(Code::kConflict, "merge " + std::to_string(rec.merge_id) +
                                       " belongs to profile " + std::to_string(owner));
  }
  if (undone) {
    return Status(Code::kConflict, "merge " + std::to_string(rec.merge_id) + " was undone already");
  }

  identity::SplitInput in;
  in.merge = rec;
  in.current_owner = owner;
  in.at_ms = clock_->NowMillis();
  auto members = db_->Prepare(
      "SELECT id_key, event_rowid FROM merge_members WHERE merge_id = ?1 ORDER BY rowid");
  if (!members.ok()) return members.status();
  members->Bind(1, static_cast<int64_t>(rec.merge_id));
  while (true) {
    auto r = members->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    if (!members->ColumnIsNull(0)) in.absorbed_identifiers.push_back(KeyFrom(members->ColumnView(0)));
    if (!members->ColumnIsNull(1)) in.absorbed_events.push_back(members->ColumnText(1));
  }
  auto later = db_->Prepare(
      "SELECT event_rowid, carried, attached FROM profile_events "
      "WHERE profile_id = ?1 AND event_rowid >= ?2 ORDER BY event_rowid");
  if (!later.ok()) return later.status();
  later->Bind(1, owner).Bind(2, trigger_rowid);
  while (true) {
    auto r = later->Step();
    if (!r.ok()) return r.status();
    if (!*r) break;
    identity::LaterEvent le;
    le.event_id = later->ColumnText(0);
    le.carried = SplitKeys(later->ColumnView(1));
    le.attached = SplitKeys(later->ColumnView(2));
    in.later_events.push_back(std::move(le));
  }
  Result<identity::SplitPlan> plan = identity::PlanSplit(in);
  if (!plan.ok()) return plan.status();

  // A split is an operator's decision, not derived from the log: make it durable before answering.
  FullSync full_sync(*db_);
  CJD_RETURN_IF_ERROR(full_sync.status());
  ResetPending();
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  auto exec = [&](const char* sql, auto&&... binds) -> Status {
    auto s = db_->Prepare(sql);
    if (!s.ok()) return s.status();
    int i = 1;
    (s->Bind(i++, binds), ...);
    return s->Run();
  };
  CJD_RETURN_IF_ERROR(exec("UPDATE profiles SET merged_into = NULL WHERE profile_id = ?1",
                           plan->restore));
  // Profiles the restored one had absorbed before this merge (and what they had absorbed, and so
  // on) went to the survivor with it (MergeInto re-points merged_into): they come back with it.
  CJD_RETURN_IF_ERROR(exec(
      "WITH RECURSIVE inner_merges(p) AS ("
      "  SELECT ?1 UNION "
      "  SELECT m.absorbed FROM merge_log m JOIN inner_merges ON m.survivor = inner_merges.p "
      "  WHERE m.kind = 'merge' AND m.merge_id < ?3 AND NOT EXISTS "
      "    (SELECT 1 FROM merge_log s WHERE s.kind = 'split' AND s.reverts = m.merge_id)) "
      "UPDATE profiles SET merged_into = ?1 WHERE merged_into = ?2 AND profile_id != ?1 AND "
      "profile_id IN (SELECT p FROM inner_merges)",
      plan->restore, plan->from, static_cast<int64_t>(rec.merge_id)));
  Bump("profiles", 1);
  Bump("merged_profiles", -1);
  SplitResult result;
  for (const IdKey& k : plan->move_identifiers) {
    auto s = db_->Prepare("UPDATE identifiers SET profile_id = ?1 WHERE id_key = ?2 AND profile_id = ?3");
    if (!s.ok()) return s.status();
    s->Bind(1, plan->restore).BindBlob(2, KeyBytes(k)).Bind(3, plan->from);
    CJD_RETURN_IF_ERROR(s->Run());
    result.moved_identifiers += db_->Changes();
  }
  for (const std::string& ev : plan->move_events) {
    const int64_t rowid = std::stoll(ev);
    CJD_RETURN_IF_ERROR(exec(
        "UPDATE profile_events SET profile_id = ?1 WHERE event_rowid = ?2 AND profile_id = ?3",
        plan->restore, rowid, plan->from));
    result.moved_events += db_->Changes();
    CJD_RETURN_IF_ERROR(exec(
        "UPDATE orders SET profile_id = ?1 WHERE first_event = ?2 AND profile_id = ?3",
        plan->restore, rowid, plan->from));
  }
  // Redemptions follow their orders, which the loop above moved.
  CJD_RETURN_IF_ERROR(exec(
      "UPDATE offer_redemptions SET profile_id = (SELECT o.profile_id FROM orders o "
      "WHERE o.order_id = offer_redemptions.order_id) WHERE profile_id IN (?1, ?2)",
      plan->from, plan->restore));
  // Kept apart: the profile brought back and the one that held it (the merge's survivor, or what
  // absorbed that survivor later).
  CJD_RETURN_IF_ERROR(exec("INSERT OR IGNORE INTO kept_apart (a, b) VALUES (?1, ?2)",
                           std::min(plan->from, plan->restore),
                           std::max(plan->from, plan->restore)));
  {
    auto s = db_->Prepare(
        "INSERT INTO merge_log (kind, reverts, survivor, absorbed, link_type, link_key, event_id, "
        "event_rowid, at_ms) VALUES ('split', ?1, ?2, ?3, ?4, ?5, '', NULL, ?6)");
    if (!s.ok()) return s.status();
    s->Bind(1, static_cast<int64_t>(rec.merge_id)).Bind(2, rec.survivor).Bind(3, rec.absorbed)
        .Bind(4, static_cast<int64_t>(rec.link_type)).BindBlob(5, KeyBytes(rec.link_key))
        .Bind(6, in.at_ms);
    CJD_RETURN_IF_ERROR(s->Run());
    result.split_id = db_->LastInsertRowid();
  }
  CJD_RETURN_IF_ERROR(RebuildProfile(plan->from));
  CJD_RETURN_IF_ERROR(RebuildProfile(plan->restore));
  Changed(plan->from);
  Changed(plan->restore);
  EventsMoved(plan->from);
  EventsMoved(plan->restore);
  OrdersChanged(plan->from);
  OrdersChanged(plan->restore);
  CJD_RETURN_IF_ERROR(BeforeCommit());
  CJD_RETURN_IF_ERROR(tx.Commit());
  CountOrderChanges();
  PublishChanges();
  result.merge_id = static_cast<int64_t>(rec.merge_id);
  result.from = plan->from;
  result.restored = plan->restore;
  return result;
}

Result<std::vector<MatchMergeResult>> Projector::MergeMatched(
    const std::vector<MatchMerge>& merges) {
  std::vector<MatchMergeResult> results(merges.size());
  if (merges.empty()) return results;
  std::lock_guard lock(write_mu_);
  // Not derived from the log (like a split): durable before the caller records it as done.
  FullSync full_sync(*db_);
  CJD_RETURN_IF_ERROR(full_sync.status());
  ResetPending();
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  const int64_t now_ms = clock_->NowMillis();
  int64_t merged = 0;
  for (size_t i = 0; i < merges.size(); ++i) {
    const MatchMerge& m = merges[i];
    MatchMergeResult& out = results[i];
    Result<int64_t> a = LiveIdOf(m.a);
    if (!a.ok()) return a.status();
    Result<int64_t> b = LiveIdOf(m.b);
    if (!b.ok()) return b.status();
    if (*a == 0 || *b == 0) {
      out.refused = "gone";
      continue;
    }
    if (*a == *b) {
      out.refused = "same_profile";
      out.survivor = *a;
      continue;
    }
    out.survivor = std::min(*a, *b);
    out.absorbed = std::max(*a, *b);
    {
      auto k = db_->Prepare("SELECT 1 FROM kept_apart WHERE a = ?1 AND b = ?2");
      if (!k.ok()) return k.status();
      k->Bind(1, out.survivor).Bind(2, out.absorbed);
      auto r = k->Step();
      if (!r.ok()) return r.status();
      if (*r) {
        out.refused = "kept_apart";
        continue;
      }
    }
    // The per-type limits of the guardrails, as for a merge an event asks for.
    Result<identity::TypeCounts> ca = CountsOf(out.survivor);
    if (!ca.ok()) return ca.status();
    Result<identity::TypeCounts> cb = CountsOf(out.absorbed);
    if (!cb.ok()) return cb.status();
    for (IdType type : identity::kAllIdTypes) {
      const int limit = guardrails_.Limit(type);
      const size_t t = static_cast<size_t>(type) - 1;
      if (limit > 0 && (*ca)[t] + (*cb)[t] > limit) {
        out.refused = std::string("limit_") + std::string(identity::IdTypeName(type));
        break;
      }
    }
    if (!out.refused.empty()) continue;
    identity::MergeRecord record;
    record.kind = identity::LogKind::kMerge;
    record.survivor = out.survivor;
    record.absorbed = out.absorbed;
    record.at_ms = now_ms;
    // No identifier links them: link_type 0 and an all-zero key; events applied after this
    // point count as later events for a split.
    const MatchReason reason{m.reason, m.probability};
    CJD_RETURN_IF_ERROR(MergeInto(out.survivor, out.absorbed, record, cursor_ + 1, &reason,
                                  &out.merge_id));
    ++merged;
  }
  if (merged == 0) return results;  // the transaction rolls back: nothing changed
  CJD_RETURN_IF_ERROR(BeforeCommit());
  CJD_RETURN_IF_ERROR(tx.Commit());
  {
    std::lock_guard stats_lock(stats_mu_);
    stats_.merges += merged;
  }
  CountOrderChanges();
  PublishChanges();
  return results;
}

Result<std::pair<int64_t, int64_t>> Projector::KeepApart(int64_t a, int64_t b) {
  std::lock_guard lock(write_mu_);
  Result<int64_t> la = LiveIdOf(a);
  if (!la.ok()) return la.status();
  Result<int64_t> lb = LiveIdOf(b);
  if (!lb.ok()) return lb.status();
  if (*la == 0 || *lb == 0) {
    return Status::NotFound("no profile " + std::to_string(*la == 0 ? a : b));
  }
  if (*la == *lb) {
    return Status(Code::kConflict, "profiles " + std::to_string(a) + " and " + std::to_string(b) +
                                       " are one profile now (" + std::to_string(*la) +
                                       "); split it first");
  }
  FullSync full_sync(*db_);
  CJD_RETURN_IF_ERROR(full_sync.status());
  auto s = db_->Prepare("INSERT OR IGNORE INTO kept_apart (a, b) VALUES (?1, ?2)");
  if (!s.ok()) return s.status();
  s->Bind(1, std::min(*la, *lb)).Bind(2, std::max(*la, *lb));
  CJD_RETURN_IF_ERROR(s->Run());
  return std::make_pair(std::min(*la, *lb), std::max(*la, *lb));
}

Result<int64_t> Projector::LiveIdOf(int64_t profile_id) {
  auto s = db_->Prepare("SELECT coalesce(merged_into, profile_id) FROM profiles WHERE profile_id = ?1");
  if (!s.ok()) return s.status();
  s->Bind(1, profile_id);
  auto r = s->Step();
  if (!r.ok()) return r.status();
  return *r ? s->ColumnInt(0) : int64_t{0};
}

void Projector::ResetPending() {
  changed_.clear();
  events_moved_.clear();
  attributes_touched_.clear();
  orders_changed_.clear();
  DiscardPending();
}

}  // namespace cjd::hub

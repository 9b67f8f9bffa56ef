// Orders, offer redemptions and impressions, and the one-off backfill of redemptions.
#include "hub/projection/projector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "hub/projection/money.h"
#include "hub/projection/projector_internal.h"

namespace cjd::hub {

using identity::IdKey;
using identity::IdType;
using namespace projector_internal;

Status Projector::ApplyOrder(int64_t rowid, const Event& e, std::optional<int64_t> profile) {
  const Order& o = *e.order;
  int64_t sale_lines = 0, return_lines = 0;
  Money gross, returns;
  for (const Item& item : o.items) {
    if (item.quantity > 0 && !item.unit_price.is_zero()) {
      ++sale_lines;
      gross += Money::Product(item.quantity, item.unit_price);
    } else if (item.quantity < 0) {
      ++return_lines;
      returns += Money::Product(-item.quantity, item.unit_price);
    }
  }
  st_->get_order.Bind(1, o.order_id);
  auto row = st_->get_order.Step();
  if (!row.ok()) {
    st_->get_order.Reset();
    return row.status();
  }
  if (*row) {
    OrderFacts before;  // the store totals' rollup: this row's figures before and after
    before.sale_lines = st_->get_order.ColumnInt(0);
    before.return_lines = st_->get_order.ColumnInt(1);
    before.gross = Money::Parse(st_->get_order.ColumnView(2)).value_or(Money());
    before.returns = Money::Parse(st_->get_order.ColumnView(3)).value_or(Money());
    before.currency = st_->get_order.ColumnText(5);
    before.day = RollupDay(st_->get_order.ColumnView(6));
    before.store = st_->get_order.ColumnText(7);
    before.channel = st_->get_order.ColumnText(8);
    sale_lines += st_->get_order.ColumnInt(0);
    return_lines += st_->get_order.ColumnInt(1);
    gross += Money::Parse(st_->get_order.ColumnView(2)).value_or(Money());
    returns += Money::Parse(st_->get_order.ColumnView(3)).value_or(Money());
    // The order stays with the profile of its first part, whose figures this part changes.
    const bool anonymous = st_->get_order.ColumnIsNull(4);
    if (!anonymous) {
      Changed(st_->get_order.ColumnInt(4));
      OrdersChanged(st_->get_order.ColumnInt(4));
    }
    if (anonymous && profile) OrdersChanged(*profile);
    st_->get_order.Reset();
    st_->update_order.Bind(1, o.order_id)
        .Bind(2, sale_lines)
        .Bind(3, return_lines)
        .Bind(4, gross.ToExact())
        .Bind(5, returns.ToExact());
    if (profile) {
      st_->update_order.Bind(6, *profile);
    } else {
      st_->update_order.BindNull(6);
    }
    CJD_RETURN_IF_ERROR(st_->update_order.Run());
    OrderFacts after = before;
    after.sale_lines = sale_lines;
    after.return_lines = return_lines;
    after.gross = gross;
    after.returns = returns;
    rollups_->OrderChanged(&before, after);
    // An anonymous order takes the profile of its first identified part; its redemptions too.
    if (anonymous && profile) {
      st_->order_redemptions_to.Bind(1, o.order_id).Bind(2, *profile);
      CJD_RETURN_IF_ERROR(st_->order_redemptions_to.Run());
    }
    return AddRedemptions(o);
  }
  st_->get_order.Reset();
  if (profile) OrdersChanged(*profile);
  st_->insert_order.Bind(1, o.order_id);
  if (profile) {
    st_->insert_order.Bind(2, *profile);
  } else {
    st_->insert_order.BindNull(2);
  }
  st_->insert_order.Bind(3, rowid)
      .Bind(4, e.occurred_at_ms)
      .Bind(5, std::string_view(e.occurred_at).substr(0, 10))
      .Bind(6, e.store_id)
      .Bind(7, e.channel)
      .Bind(8, o.currency)
      .Bind(9, sale_lines)
      .Bind(10, return_lines)
      .Bind(11, gross.ToExact())
      .Bind(12, returns.ToExact());
  CJD_RETURN_IF_ERROR(st_->insert_order.Run());
  OrderFacts facts;
  facts.currency = o.currency;
  facts.store = e.store_id;
  facts.channel = e.channel;
  facts.day = RollupDay(std::string_view(e.occurred_at).substr(0, 10));
  facts.sale_lines = sale_lines;
  facts.return_lines = return_lines;
  facts.gross = gross;
  facts.returns = returns;
  rollups_->OrderChanged(nullptr, facts);
  Bump("orders", 1);
  return AddRedemptions(o);
}

Status Projector::AddRedemptions(const Order& o) {
  for (const std::string& offer : RedeemedOffers(o)) {
    st_->add_redemption.Bind(1, offer).Bind(2, o.order_id);
    CJD_RETURN_IF_ERROR(st_->add_redemption.Run());
    // A new redemption (not one the backfill re-makes): logged for the webhooks' feed.
    if (db_->Changes() > 0 && !backfilling_) {
      st_->log_redemption.Bind(1, offer).Bind(2, o.order_id);
      CJD_RETURN_IF_ERROR(st_->log_redemption.Run());
      if (db_->LastInsertRowid() % 1000 == 0) {
        auto prune = db_->Prepare("DELETE FROM redemption_log WHERE seq <= ?1");
        if (!prune.ok()) return prune.status();
        prune->Bind(1, db_->LastInsertRowid() - 100'000);
        CJD_RETURN_IF_ERROR(prune->Run());
      }
    }
  }
  return Status::Ok();
}

void Projector::AddImpressions(const Event& e) {
  // An offer listed twice in one event was shown once.
  const std::set<std::string> offers(e.offer_ids.begin(), e.offer_ids.end());
  for (const std::string& offer : offers) {
    auto it = pending_impressions_.try_emplace(offer, PendingImpressions{0, e.occurred_at_ms}).first;
    ++it->second.count;
    it->second.last_ms = std::max(it->second.last_ms, e.occurred_at_ms);
  }
}

Status Projector::FlushImpressions() {
  for (const auto& [offer, pending] : pending_impressions_) {
    st_->add_impression.Bind(1, offer).Bind(2, pending.count).Bind(3, pending.last_ms);
    CJD_RETURN_IF_ERROR(st_->add_impression.Run());
  }
  pending_impressions_.clear();
  return Status::Ok();
}

Status Projector::BackfillOffers() {
  changed_.clear();
  events_moved_.clear();
  attributes_touched_.clear();
  pending_impressions_.clear();
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  // From scratch, so a backfill interrupted by a crash (rolled back) is simply done again.
  CJD_RETURN_IF_ERROR(db_->Exec(
      "DELETE FROM profile_stores; DELETE FROM offer_redemptions; DELETE FROM offer_impressions"));
  // Every projected event with a profile (stores), and anonymous orders and impressions too.
  // profile_events.profile_id is always the live profile (merges re-point it, splits move it),
  // and orders hold each order's current profile: the result is what the incremental upkeep
  // would have made.
  // In log order, a chunk of ids at a time: the ids and profiles from the projection, the
  // bodies from the log.
  auto chunk = db_->Prepare(
      "SELECT event_rowid, profile_id FROM profile_events WHERE event_rowid > ?1 AND "
      "(profile_id IS NOT NULL OR type IN (?2, ?3, ?4)) ORDER BY event_rowid LIMIT 4096");
  if (!chunk.ok()) return chunk.status();
  int64_t after = 0;
  while (true) {
    chunk->Bind(1, after)
        .Bind(2, static_cast<int64_t>(EventType::kTransaction))
        .Bind(3, static_cast<int64_t>(EventType::kOrderCompleted))
        .Bind(4, static_cast<int64_t>(EventType::kOfferImpression));
    std::vector<int64_t> ids;
    std::vector<std::optional<int64_t>> profiles;  // nullopt: anonymous
    while (true) {
      auto row = chunk->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(chunk->ColumnInt(0));
      profiles.push_back(chunk->ColumnIsNull(1) ? std::nullopt
                                                  : std::optional<int64_t>(chunk->ColumnInt(1)));
    }
    chunk->Reset();
    if (ids.empty()) break;
    after = ids.back();
    size_t at = 0;  // ids are ascending and Visit keeps their order (skipping none it holds)
    const Status visited = log_->Visit(ids, [&](const LoggedEvent& logged) -> Status {
      while (at < ids.size() && ids[at] != logged.id) ++at;
      const std::optional<int64_t> profile_id = at < ids.size() ? profiles[at] : std::nullopt;
      Result<Event> e = EventFromCanonical(logged.body);
      if (!e.ok()) return Status::Ok();  // never projected either
      if (profile_id && !e->store_id.empty()) {
        st_->add_store.Bind(1, *profile_id).Bind(2, e->store_id)
            .Bind(3, e->occurred_at_ms).Bind(4, e->occurred_at_ms).Bind(5, 1);
        CJD_RETURN_IF_ERROR(st_->add_store.Run());
      }
      if (e->order) {
        backfilling_ = true;
        Status st = AddRedemptions(*e->order);
        backfilling_ = false;
        CJD_RETURN_IF_ERROR(st);
      }
      if (e->type == EventType::kOfferImpression) AddImpressions(*e);
      return Status::Ok();
    });
    CJD_RETURN_IF_ERROR(visited);
  }
  CJD_RETURN_IF_ERROR(FlushImpressions());
  auto touched = db_->Prepare(
      "SELECT profile_id FROM profile_stores UNION "
      "SELECT profile_id FROM offer_redemptions WHERE profile_id IS NOT NULL");
  if (!touched.ok()) return touched.status();
  while (true) {
    auto row = touched->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Changed(touched->ColumnInt(0));
  }
  CJD_RETURN_IF_ERROR(db_->Exec("DELETE FROM meta WHERE key = 'backfill_offers'"));
  CJD_RETURN_IF_ERROR(tx.Commit());
  backfill_pending_ = false;
  PublishChanges();
  return Status::Ok();
}

}  // namespace cjd::hub

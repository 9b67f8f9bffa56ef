#include "hub/projection/projector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>
#include <set>

#include "hub/projection/money.h"
#include "hub/store/open_store.h"
#include "hub/projection/phone_rekey.h"
#include "hub/projection/projection_schema.h"
#include "hub/projection/projector_internal.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {

using identity::IdKey;
using identity::IdType;
using namespace projector_internal;

namespace {

// Reads an operator's guardrail file, reporting what it cannot use (identity::ReadGuardrailFile).
void LoadGuardrailFile(const std::string& path, bool typed_only,
                       std::vector<std::pair<IdType, std::string>>* typed,
                       std::vector<std::string>* any) {
  if (path.empty()) return;
  std::vector<std::string> ignored;
  Status st = identity::ReadGuardrailFile(path, typed_only, typed, any, &ignored);
  if (!st.ok()) spdlog::warn("identity: {}", st.message());
  for (const std::string& line : ignored) {
    spdlog::warn("identity: {}: line '{}' is not TYPE:VALUE", path, line);
  }
}

}  // namespace

identity::Guardrails MakeGuardrails(const HubConfig& config) {
  identity::NormalizeOptions normalize{config.default_country};
  identity::GuardrailConfig g;
  if (!config.guardrails) {
    g.max_per_profile.fill(0);
    g.blocked_any.clear();
    g.blocked.clear();
    g.blocked_email_local_parts.clear();
    g.blocked_email_domains.clear();
    g.block_phone_patterns = false;
  } else {
    for (int i = 0; i < identity::kIdTypeCount; ++i) g.max_per_profile[i] = config.max_identifiers[i];
  }
  LoadGuardrailFile(config.blocklist_file, false, &g.blocked, &g.blocked_any);
  LoadGuardrailFile(config.shared_file, true, &g.shared, nullptr);
  return identity::Guardrails(std::move(g), normalize);
}

Projector::Projector(const HubConfig& config, IdentityKeys keys, const Clock* clock)
    : config_(config), keys_(keys), clock_(clock), normalize_{config.default_country},
      guardrails_(MakeGuardrails(config)),
      rfm_schedule_({config.rfm_refresh_percent, config.rfm_min_interval_s * 1000}) {}

Projector::~Projector() { Stop(); }

Status Projector::Start() {
  auto db = OpenProjection(config_.profiles_path, /*read_only=*/false);
  if (!db.ok()) return db.status();
  db_ = std::move(*db);
  // The event log, read through the store's reader on a read-only connection of its own.
  auto log = OpenEventLogReader(config_.store_location(), vault_);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  CJD_RETURN_IF_ERROR(Prepare());
  CJD_RETURN_IF_ERROR(SealStoredAttributes());
  // Phones stored by an earlier phone normaliser take their current key (phone_rekey.h).
  CJD_RETURN_IF_ERROR(RekeyPhones(*db_, keys_, normalize_).status());
  {
    auto rollups = OrderRollupWriter::Open(*db_);
    if (!rollups.ok()) return rollups.status();
    rollups_ = std::move(*rollups);
    auto rebuild = db_->QueryInt(
        "SELECT coalesce((SELECT value FROM meta WHERE key = 'rebuild_rollups'), 0)");
    if (!rebuild.ok()) return rebuild.status();
    if (*rebuild != 0) {  // migration 7: the rollups of what was projected before them
      sqlite::Transaction tx(*db_);
      CJD_RETURN_IF_ERROR(tx.status());
      CJD_RETURN_IF_ERROR(rollups_->RebuildAll());
      CJD_RETURN_IF_ERROR(db_->Exec("DELETE FROM meta WHERE key = 'rebuild_rollups'"));
      CJD_RETURN_IF_ERROR(tx.Commit());
    }
  }
  auto cursor = db_->QueryInt("SELECT coalesce((SELECT value FROM meta WHERE key = 'cursor'), 0)");
  if (!cursor.ok()) return cursor.status();
  cursor_ = *cursor;
  auto backfill = db_->QueryInt(
      "SELECT coalesce((SELECT value FROM meta WHERE key = 'backfill_offers'), 0)");
  if (!backfill.ok()) return backfill.status();
  backfill_pending_ = *backfill != 0;
  {
    std::lock_guard lock(stats_mu_);
    stats_.cursor = cursor_;
  }
  if (rfm_ != nullptr) {  // the cut points of what is projected, before any consumer starts
    std::lock_guard lock(write_mu_);
    const int64_t now = clock_->NowMillis();
    CJD_RETURN_IF_ERROR(rfm_->Recompute(*db_, now));
    const std::optional<RfmCuts> cuts = rfm_->cuts();
    rfm_schedule_.Computed(now, cuts ? cuts->customers : 0);
  }
  worker_.Start("projector", [this] { Run(); });
  return Status::Ok();
}

// Profiles written before attributes were sealed at rest hold them in plain text: each is read
// and written again (sealed), in one transaction, before the thread starts.
Status Projector::SealStoredAttributes() {
  std::vector<int64_t> ids;
  {
    auto find = db_->Prepare(
        "SELECT profile_id FROM profiles WHERE attributes <> '{}' AND "
        "instr(attributes, '\"$sealed\"') = 0 AND "
        "EXISTS (SELECT 1 FROM json_each(profiles.attributes) WHERE substr(key, 1, 1) <> '$')");
    if (!find.ok()) return find.status();
    while (true) {
      auto row = find->Step();
      if (!row.ok()) return row.status();
      if (!*row) break;
      ids.push_back(find->ColumnInt(0));
    }
  }
  if (ids.empty()) return Status::Ok();
  sqlite::Transaction tx(*db_);
  if (!tx.status().ok()) return tx.status();
  for (int64_t id : ids) {
    Result<ProfileRow> p = ReadProfile(st_->get_profile, id, keys_);
    if (!p.ok()) return p.status();
    CJD_RETURN_IF_ERROR(WriteProfile(st_->update_profile, id, *p, keys_));
  }
  CJD_RETURN_IF_ERROR(tx.Commit());
  spdlog::info("projection: sealed the attributes of {} profiles stored before sealing", ids.size());
  return Status::Ok();
}

void Projector::Stop() { worker_.Stop(); }

void Projector::Nudge() {
  {
    std::lock_guard lock(worker_.mu());
    nudged_ = true;
  }
  worker_.Notify();
}

ProjectorStats Projector::Stats() const {
  std::lock_guard lock(stats_mu_);
  return stats_;
}

Status Projector::Prepare() {
  st_ = std::make_unique<Statements>();
  auto prep = [this](sqlite::Statement* s, const char* sql) -> Status {
    auto r = db_->Prepare(sql);
    if (!r.ok()) return r.status();
    *s = std::move(*r);
    return Status::Ok();
  };
  CJD_RETURN_IF_ERROR(prep(&st_->find_ident, "SELECT profile_id FROM identifiers WHERE id_key = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->counts,
      "SELECT type, count(*) FROM identifiers WHERE profile_id = ?1 GROUP BY type"));
  CJD_RETURN_IF_ERROR(prep(&st_->kept, "SELECT a, b FROM kept_apart WHERE a = ?1 OR b = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->insert_profile,
      "INSERT INTO profiles (created_ms, first_seen_ms, last_seen_ms) VALUES (?1, ?1, ?1)"));
  CJD_RETURN_IF_ERROR(prep(&st_->insert_ident,
      "INSERT INTO identifiers (id_key, type, profile_id, value, event_rowid, attached_ms) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (id_key) DO NOTHING"));
  CJD_RETURN_IF_ERROR(prep(&st_->insert_pevent,
      "INSERT OR REPLACE INTO profile_events (event_rowid, profile_id, occurred_at_ms, type, "
      "carried, attached) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"));
  CJD_RETURN_IF_ERROR(prep(&st_->get_profile,
      "SELECT first_seen_ms, last_seen_ms, events, loyalty_scans, channels, attributes "
      "FROM profiles WHERE profile_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->update_profile,
      "UPDATE profiles SET first_seen_ms = ?2, last_seen_ms = ?3, events = ?4, "
      "loyalty_scans = ?5, channels = ?6, attributes = ?7 WHERE profile_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->update_figures,
      "UPDATE profiles SET first_seen_ms = ?2, last_seen_ms = ?3, events = ?4, "
      "loyalty_scans = ?5, channels = ?6 WHERE profile_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->get_order,
      "SELECT sale_lines, return_lines, gross, returns, profile_id, currency, local_date, "
      "store_id, channel FROM orders WHERE order_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->insert_order,
      "INSERT INTO orders (order_id, profile_id, first_event, occurred_at_ms, local_date, "
      "store_id, channel, currency, sale_lines, return_lines, gross, returns, parts) "
      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 1)"));
  CJD_RETURN_IF_ERROR(prep(&st_->update_order,
      "UPDATE orders SET sale_lines = ?2, return_lines = ?3, gross = ?4, returns = ?5, "
      "parts = parts + 1, profile_id = coalesce(profile_id, ?6) WHERE order_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->add_category,
      "INSERT INTO profile_categories (profile_id, category, quantity) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (profile_id, category) DO UPDATE SET quantity = quantity + excluded.quantity"));
  CJD_RETURN_IF_ERROR(prep(&st_->add_store,
      "INSERT INTO profile_stores (profile_id, store_id, first_ms, last_ms, events) "
      "VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (profile_id, store_id) DO UPDATE SET "
      "first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms), "
      "events = events + excluded.events"));
  // The order's row holds its profile and time: the redemption copies them.
  CJD_RETURN_IF_ERROR(prep(&st_->add_redemption,
      "INSERT INTO offer_redemptions (offer_id, order_id, profile_id, occurred_at_ms) "
      "SELECT ?1, order_id, profile_id, occurred_at_ms FROM orders WHERE order_id = ?2 "
      "ON CONFLICT (offer_id, order_id) DO NOTHING"));
  CJD_RETURN_IF_ERROR(prep(&st_->log_redemption,
      "INSERT INTO redemption_log (offer_id, order_id, at_ms) "
      "SELECT ?1, order_id, occurred_at_ms FROM orders WHERE order_id = ?2"));
  CJD_RETURN_IF_ERROR(prep(&st_->order_redemptions_to,
      "UPDATE offer_redemptions SET profile_id = ?2 WHERE order_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->add_impression,
      "INSERT INTO offer_impressions (offer_id, impressions, last_ms) VALUES (?1, ?2, ?3) "
      "ON CONFLICT (offer_id) DO UPDATE SET impressions = impressions + excluded.impressions, "
      "last_ms = max(last_ms, excluded.last_ms)"));
  CJD_RETURN_IF_ERROR(prep(&st_->bump,
      "INSERT INTO meta (key, value) VALUES (?1, ?2) "
      "ON CONFLICT (key) DO UPDATE SET value = value + excluded.value"));
  CJD_RETURN_IF_ERROR(prep(&st_->set_cursor,
      "INSERT INTO meta (key, value) VALUES ('cursor', ?1) "
      "ON CONFLICT (key) DO UPDATE SET value = excluded.value"));
  return Status::Ok();
}

void Projector::MaybeRecomputeRfm(bool idle) {
  if (rfm_ == nullptr) return;
  std::lock_guard lock(write_mu_);
  const int64_t now = clock_->NowMillis();
  if (!rfm_schedule_.Due(now, idle)) return;
  std::vector<int64_t> rescored;
  Status st = rfm_->Recompute(*db_, now, &rescored);
  if (!st.ok()) {
    spdlog::warn("projection: RFM model: {}", st.ToString());
    rfm_schedule_.Failed(now);
    return;
  }
  const std::optional<RfmCuts> cuts = rfm_->cuts();
  rfm_schedule_.Computed(now, cuts ? cuts->customers : 0);
  if (on_rfm_changed_) on_rfm_changed_();
  if (!rescored.empty() && on_rfm_rescored_) on_rfm_rescored_(rescored);
}

Status Projector::BeforeCommit() {
  CJD_RETURN_IF_ERROR(FlushImpressions());
  CJD_RETURN_IF_ERROR(rollups_->Refresh(orders_changed_));
  CJD_RETURN_IF_ERROR(rollups_->Flush());
  for (const auto& [name, sum] : pending_bumps_) {
    if (sum == 0) continue;
    st_->bump.Bind(1, name).Bind(2, sum);
    CJD_RETURN_IF_ERROR(st_->bump.Run());
  }
  pending_bumps_.clear();
  return Status::Ok();
}

void Projector::DiscardPending() {
  rollups_->Discard();
  pending_bumps_.clear();
  pending_impressions_.clear();
}

void Projector::CountOrderChanges() {
  rfm_schedule_.OrdersChanged(static_cast<int64_t>(orders_changed_.size()));
  orders_changed_.clear();
}

void Projector::Run() {
  int64_t batch_limit = config_.projection_batch;
  while (!worker_.stopping()) {
    Result<int64_t> n = ApplyBatch(batch_limit);
    if (!n.ok()) {
      batch_limit = config_.projection_batch;
      spdlog::error("projection: {}", n.status().ToString());
    } else if (*n >= batch_limit) {
      // A backlog: the next batches grow (up to kMaxBatchGrowth x [projection] batch), so the
      // pages a batch rewrites at random (a customer's rows, indexes by profile) are written
      // once for more events.
      batch_limit = std::min(batch_limit * 2, config_.projection_batch * kMaxBatchGrowth);
      MaybeRecomputeRfm(false);
      continue;  // more is waiting
    } else {
      batch_limit = config_.projection_batch;
      MaybeRecomputeRfm(true);
    }
    std::unique_lock lock(worker_.mu());
    if (n.ok() && *n > 0 && config_.projection_delay_ms > 0) {
      // A trickle: let what arrives in the next moment share the next commit. Nudges during
      // the pause are kept (nudged_) and answered right after it.
      worker_.SleepFor(lock, std::chrono::milliseconds(config_.projection_delay_ms));
      if (worker_.stopping()) break;
    }
    worker_.WaitFor(lock, std::chrono::milliseconds(n.ok() ? 200 : 1000),
                    [this] { return nudged_; });
    nudged_ = false;
  }
}

Result<int64_t> Projector::CatchUp() {
  while (true) {
    Result<int64_t> n = ApplyBatch(config_.projection_batch);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  MaybeRecomputeRfm(true);
  std::lock_guard lock(write_mu_);
  return cursor_;
}

Result<int64_t> Projector::ApplyBatch(int64_t limit) {
  std::lock_guard lock(write_mu_);
  if (backfill_pending_) CJD_RETURN_IF_ERROR(BackfillOffers());
  std::vector<std::pair<int64_t, std::string>> rows;
  CJD_RETURN_IF_ERROR(log_->ReadAfter(cursor_, limit, &rows));
  if (rows.empty()) return 0;

  const ProjectorStats before = Stats();
  ResetPending();  // a failed batch may have left ids of changes that were rolled back
  suppressed_rows_.clear();
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  const int64_t now_ms = clock_->NowMillis();
  for (const auto& [rowid, body] : rows) {
    CJD_RETURN_IF_ERROR(ApplyEvent(rowid, body, now_ms));
  }
  st_->set_cursor.Bind(1, rows.back().first);
  CJD_RETURN_IF_ERROR(st_->set_cursor.Run());
  CJD_RETURN_IF_ERROR(BeforeCommit());
  Status committed = tx.Commit();
  if (!committed.ok()) {
    std::lock_guard slock(stats_mu_);
    stats_ = before;  // nothing of this batch stands
    return committed;
  }
  cursor_ = rows.back().first;
  CountOrderChanges();
  {
    std::lock_guard slock(stats_mu_);
    stats_.cursor = cursor_;
    stats_.events_applied += static_cast<int64_t>(rows.size());
  }
  PublishChanges();
  if (!suppressed_rows_.empty()) {
    std::vector<int64_t> rows_out;
    rows_out.swap(suppressed_rows_);
    if (on_suppressed_events_) on_suppressed_events_(std::move(rows_out));
  }
  return static_cast<int64_t>(rows.size());
}

void Projector::PublishChanges() {
  if (!events_moved_.empty() || !attributes_touched_.empty()) {
    // Whose attributes may have changed: merged, split or erased profiles (their events moved)
    // and those an identify event gave attributes.
    std::set<int64_t> attributes = std::move(attributes_touched_);
    attributes_touched_.clear();
    attributes.insert(events_moved_.begin(), events_moved_.end());
    if (on_attributes_changed_) {
      on_attributes_changed_(std::vector<int64_t>(attributes.begin(), attributes.end()));
    }
  }
  if (!events_moved_.empty()) {
    const std::vector<int64_t> moved(events_moved_.begin(), events_moved_.end());
    events_moved_.clear();
    if (on_events_moved_) on_events_moved_(moved);
  }
  if (changed_.empty()) return;
  const std::vector<int64_t> ids(changed_.begin(), changed_.end());  // a set: sorted, unique
  changed_.clear();
  if (on_profiles_changed_) on_profiles_changed_(ids);
}

void Projector::Suppress(const std::vector<IdKey>& keys) {
  std::lock_guard lock(suppressed_mu_);
  suppressed_.insert(keys.begin(), keys.end());
}

void Projector::Bump(const char* counter, int64_t delta) {
  for (auto& [name, sum] : pending_bumps_) {
    if (std::strcmp(name, counter) == 0) {
      sum += delta;
      return;
    }
  }
  pending_bumps_.emplace_back(counter, delta);
}

Result<int64_t> Projector::ProfileOf(const IdKey& key) {
  st_->find_ident.BindBlob(1, KeyBytes(key));
  auto row = st_->find_ident.Step();
  int64_t out = 0;
  if (row.ok() && *row) out = st_->find_ident.ColumnInt(0);
  st_->find_ident.Reset();
  if (!row.ok()) return row.status();
  return out;
}

Result<identity::TypeCounts> Projector::CountsOf(int64_t profile_id) {
  identity::TypeCounts counts{};
  st_->counts.Bind(1, profile_id);
  while (true) {
    auto row = st_->counts.Step();
    if (!row.ok()) {
      st_->counts.Reset();
      return row.status();
    }
    if (!*row) break;
    const int64_t type = st_->counts.ColumnInt(0);
    if (type >= 1 && type <= identity::kIdTypeCount) {
      counts[type - 1] = static_cast<int>(st_->counts.ColumnInt(1));
    }
  }
  st_->counts.Reset();
  return counts;
}

Status Projector::ApplyEvent(int64_t rowid, const std::string& body, int64_t now_ms) {
  Result<Event> parsed = EventFromCanonical(body);
  if (!parsed.ok()) {
    spdlog::warn("projection: event #{} quarantined: {}", rowid, parsed.status().ToString());
    std::lock_guard lock(stats_mu_);
    ++stats_.quarantined_events;
    return Status::Ok();
  }
  const Event& e = *parsed;

  // The identifiers the event carries, normalised and keyed.
  struct Carried {
    identity::Identifier id;
    IdKey key;
  };
  std::vector<Carried> carried;
  auto add = [&](IdType type, const std::string& raw) {
    if (raw.empty()) return;
    Result<std::string> norm = identity::Normalize(type, raw, normalize_);
    if (!norm.ok()) {
      std::lock_guard lock(stats_mu_);
      ++stats_.invalid_identifiers;
      return;
    }
    for (const Carried& c : carried) {
      if (c.id.type == type && c.id.value == *norm) return;
    }
    carried.push_back({{type, *norm}, identity::IdentifierKey(type, *norm, keys_.pepper)});
  };
  if (e.customer) {
    add(IdType::kLoyaltyId, e.customer->loyalty_id);
    add(IdType::kCustomerId, e.customer->customer_id);
    add(IdType::kEmail, e.customer->email);
    add(IdType::kPhone, e.customer->phone);
    add(IdType::kAnonymousId, e.customer->anonymous_id);
  }
  if (e.order && e.order->payment) add(IdType::kCardFingerprint, e.order->payment->card_fingerprint);
  if (!carried.empty() && HasSuppressed(carried, [](const Carried& c) { return c.key; })) {
    // A suppressed person (an erasure with "suppress"): the event is kept without them.
    carried.clear();
    suppressed_rows_.push_back(rowid);
  }

  identity::PlanInput input;
  std::set<int64_t> named;
  for (const Carried& c : carried) {
    Result<int64_t> pid = ProfileOf(c.key);
    if (!pid.ok()) return pid.status();
    identity::ObservedIdentifier o{c.id, std::nullopt};
    if (*pid != 0) {
      o.profile = *pid;
      named.insert(*pid);
    }
    input.identifiers.push_back(std::move(o));
  }
  for (int64_t pid : named) {
    Result<identity::TypeCounts> counts = CountsOf(pid);
    if (!counts.ok()) return counts.status();
    input.profiles.push_back({pid, *counts});
    st_->kept.Bind(1, pid);
    while (true) {
      auto row = st_->kept.Step();
      if (!row.ok()) {
        st_->kept.Reset();
        return row.status();
      }
      if (!*row) break;
      input.kept_apart.emplace_back(st_->kept.ColumnInt(0), st_->kept.ColumnInt(1));
    }
    st_->kept.Reset();
  }
  Result<identity::Plan> plan = identity::PlanEvent(input, guardrails_);
  if (!plan.ok()) return plan.status();

  std::optional<int64_t> target;
  if (plan->target_kind == identity::TargetKind::kExisting) {
    target = plan->target;
  } else if (plan->target_kind == identity::TargetKind::kNew) {
    st_->insert_profile.Bind(1, e.occurred_at_ms);
    CJD_RETURN_IF_ERROR(st_->insert_profile.Run());
    target = db_->LastInsertRowid();
    Bump("profiles", 1);
    std::lock_guard lock(stats_mu_);
    ++stats_.profiles_created;
  }
  if (target && !plan->merges.empty()) {
    std::vector<identity::MergeRecord> records =
        identity::MergeRecordsFor(*plan, e.event_id, now_ms, keys_.pepper);
    for (const identity::MergeRecord& r : records) {
      CJD_RETURN_IF_ERROR(MergeInto(*target, r.absorbed, r, rowid));
    }
  }
  auto key_of = [&](const identity::Identifier& id) {
    for (const Carried& c : carried) {  // the event's own identifiers, keyed above
      if (c.id.type == id.type && c.id.value == id.value) return c.key;
    }
    return identity::IdentifierKey(id.type, id.value, keys_.pepper);
  };
  std::vector<IdKey> attached;
  if (target) {
    for (const identity::Identifier& id : plan->attach) {
      const IdKey key = key_of(id);
      st_->insert_ident.BindBlob(1, KeyBytes(key))
          .Bind(2, static_cast<int64_t>(id.type))
          .Bind(3, *target)
          .BindBlob(4, SealValue(keys_, id.value))
          .Bind(5, rowid)
          .Bind(6, e.occurred_at_ms);
      CJD_RETURN_IF_ERROR(st_->insert_ident.Run());
      if (db_->Changes() > 0) Bump("identifiers", 1);
      attached.push_back(key);
    }
  }
  {
    std::lock_guard lock(stats_mu_);
    stats_.refused_identifiers += static_cast<int64_t>(plan->refused.size());
    stats_.merges += static_cast<int64_t>(plan->merges.size());
  }
  std::vector<IdKey> usable;
  for (const Carried& c : carried) {
    if (guardrails_.Check(c.id.type, c.id.value).verdict == identity::Verdict::kAllow) {
      usable.push_back(c.key);
    }
  }
  st_->insert_pevent.Bind(1, rowid);
  if (target) {
    st_->insert_pevent.Bind(2, *target);
  } else {
    st_->insert_pevent.BindNull(2);
  }
  st_->insert_pevent.Bind(3, e.occurred_at_ms)
      .Bind(4, static_cast<int64_t>(e.type))
      .BindBlob(5, JoinKeys(usable))
      .BindBlob(6, JoinKeys(attached));
  CJD_RETURN_IF_ERROR(st_->insert_pevent.Run());
  if (target) {
    Changed(*target);
    // A profile made by this event (and nothing merged into it) holds nothing yet: no read.
    const bool fresh = plan->target_kind == identity::TargetKind::kNew && plan->merges.empty();
    CJD_RETURN_IF_ERROR(TouchProfile(*target, e, fresh));
  }
  if (e.order) CJD_RETURN_IF_ERROR(ApplyOrder(rowid, e, target));
  if (e.type == EventType::kOfferImpression) AddImpressions(e);
  return Status::Ok();
}

Status Projector::TouchProfile(int64_t profile_id, const Event& e, bool fresh) {
  // Only consent and identify attributes change the attributes (ProfileRow::Add): any other
  // event (a sale, an impression) leaves their sealed text as it is, neither opened nor sealed
  // again. A fresh profile's row holds '{}', what sealing its empty attributes writes.
  const bool attributes = e.marketing_consent.has_value() || !e.attributes.empty();
  Result<ProfileRow> p = fresh ? Result<ProfileRow>(ProfileRow{})
                               : ReadProfile(st_->get_profile, profile_id, keys_, attributes);
  if (!p.ok()) return p.status();
  if (p->events == 0) {
    p->first_seen_ms = std::numeric_limits<int64_t>::max();
    p->last_seen_ms = std::numeric_limits<int64_t>::min();
  }
  p->Add(e);
  if (attributes) {
    CJD_RETURN_IF_ERROR(WriteProfile(st_->update_profile, profile_id, *p, keys_));
  } else {
    CJD_RETURN_IF_ERROR(WriteProfileFigures(st_->update_figures, profile_id, *p));
  }
  if (e.type == EventType::kIdentify && !e.attributes.empty()) attributes_touched_.insert(profile_id);
  if (!e.store_id.empty()) {
    st_->add_store.Bind(1, profile_id).Bind(2, e.store_id).Bind(3, e.occurred_at_ms)
        .Bind(4, e.occurred_at_ms).Bind(5, 1);
    CJD_RETURN_IF_ERROR(st_->add_store.Run());
  }
  if (e.order) {
    for (const Item& item : e.order->items) {
      if (item.category.empty() || item.quantity <= 0 || item.unit_price.is_zero()) continue;
      st_->add_category.Bind(1, profile_id).Bind(2, item.category).Bind(3, item.quantity);
      CJD_RETURN_IF_ERROR(st_->add_category.Run());
    }
  }
  return Status::Ok();
}

}  // namespace cjd::hub

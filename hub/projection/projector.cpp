#include "hub/projection/projector.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <limits>
#include <map>
#include <set>

#include "hub/projection/money.h"
#include "hub/projection/projection_schema.h"
#include "shared/event/json_exact.h"

namespace cjd::hub {

using identity::IdKey;
using identity::IdType;

namespace {

std::string_view KeyBytes(const IdKey& k) {
  return {reinterpret_cast<const char*>(k.data()), k.size()};
}

IdKey KeyFrom(std::string_view bytes) {
  IdKey k{};
  std::copy_n(bytes.data(), std::min(bytes.size(), k.size()), k.data());
  return k;
}

std::string JoinKeys(const std::vector<IdKey>& keys) {
  std::string out;
  for (const IdKey& k : keys) out += KeyBytes(k);
  return out;
}

std::vector<IdKey> SplitKeys(std::string_view blob) {
  std::vector<IdKey> out;
  for (size_t i = 0; i + 16 <= blob.size(); i += 16) out.push_back(KeyFrom(blob.substr(i, 16)));
  return out;
}

// Reads "VALUE" / "TYPE:VALUE" lines (# comments) of a guardrail file.
void ReadGuardrailFile(const std::string& path, bool typed_only,
                       std::vector<std::pair<IdType, std::string>>* typed,
                       std::vector<std::string>* any) {
  if (path.empty()) return;
  std::ifstream in(path);
  if (!in) {
    spdlog::warn("identity: cannot read {}", path);
    return;
  }
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    const size_t colon = line.find(':');
    if (colon != std::string::npos) {
      if (auto t = identity::ParseIdType(line.substr(0, colon))) {
        typed->emplace_back(*t, line.substr(colon + 1));
        continue;
      }
    }
    if (!typed_only && any != nullptr) {
      any->push_back(line);
    } else {
      spdlog::warn("identity: {}: line '{}' is not TYPE:VALUE", path, line);
    }
  }
}

constexpr const char* kConsentKey = "$consent";

// The profile's derived figures while they are being changed.
struct ProfileRow {
  int64_t first_seen_ms = std::numeric_limits<int64_t>::max();
  int64_t last_seen_ms = std::numeric_limits<int64_t>::min();
  int64_t events = 0;
  int64_t loyalty_scans = 0;
  std::set<std::string> channels;
  // {"name": {"v": value, "t": ms}}; the latest value by event time wins. Keys starting with
  // '$' are the hub's own (attribute names are [a-z0-9_]): "$consent" is marketing consent.
  nlohmann::json attributes = nlohmann::json::object();

  void Add(const Event& e) {
    first_seen_ms = std::min(first_seen_ms, e.occurred_at_ms);
    last_seen_ms = std::max(last_seen_ms, e.occurred_at_ms);
    ++events;
    if (e.type == EventType::kLoyaltyScan) ++loyalty_scans;
    channels.insert(e.channel);
    if (e.marketing_consent.has_value()) {
      auto cur = attributes.find(kConsentKey);
      if (cur == attributes.end() || (*cur)["t"].get<int64_t>() <= e.occurred_at_ms) {
        attributes[kConsentKey] = {{"v", *e.marketing_consent}, {"t", e.occurred_at_ms}};
      }
    }
    if (!e.attributes.empty()) {
      Result<nlohmann::json> attrs = ParseJsonExact(e.attributes);
      if (!attrs.ok()) return;
      for (auto it = attrs->begin(); it != attrs->end(); ++it) {
        auto cur = attributes.find(it.key());
        if (cur != attributes.end() && (*cur)["t"].get<int64_t>() > e.occurred_at_ms) continue;
        attributes[it.key()] = {{"v", it.value()}, {"t", e.occurred_at_ms}};
      }
    }
  }
  void Fold(const ProfileRow& o) {
    first_seen_ms = std::min(first_seen_ms, o.first_seen_ms);
    last_seen_ms = std::max(last_seen_ms, o.last_seen_ms);
    events += o.events;
    loyalty_scans += o.loyalty_scans;
    channels.insert(o.channels.begin(), o.channels.end());
    for (auto it = o.attributes.begin(); it != o.attributes.end(); ++it) {
      auto cur = attributes.find(it.key());
      if (cur != attributes.end() &&
          (*cur)["t"].get<int64_t>() >= it.value()["t"].get<int64_t>()) {
        continue;
      }
      attributes[it.key()] = it.value();
    }
  }
  std::string ChannelsText() const {
    std::string s;
    for (const std::string& c : channels) {
      if (!s.empty()) s.push_back(',');
      s += c;
    }
    return s;
  }
};

// The offers an order redeems: those its sale lines or the order itself name, each once. A
// returned item that names an offer is not a redemption (nor does it undo one: the offer was
// used when the item was bought).
std::set<std::string> RedeemedOffers(const Order& o) {
  std::set<std::string> offers;
  for (const Item& item : o.items) {
    if (!item.offer_id.empty() && item.quantity > 0) offers.insert(item.offer_id);
  }
  if (!o.offer_id.empty()) offers.insert(o.offer_id);
  return offers;
}

// A profile's presence at one store.
struct StoreSeen {
  int64_t first_ms = std::numeric_limits<int64_t>::max();
  int64_t last_ms = std::numeric_limits<int64_t>::min();
  int64_t events = 0;
  void Add(int64_t ms) {
    first_ms = std::min(first_ms, ms);
    last_ms = std::max(last_ms, ms);
    ++events;
  }
};

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
  ReadGuardrailFile(config.blocklist_file, false, &g.blocked, &g.blocked_any);
  ReadGuardrailFile(config.shared_file, true, &g.shared, nullptr);
  return identity::Guardrails(std::move(g), normalize);
}

struct Projector::Statements {
  sqlite::Statement read_events, find_ident, counts, kept, insert_profile, insert_ident,
      insert_pevent, get_profile, update_profile, get_order, insert_order, update_order,
      add_category, set_cursor, bump, add_store, add_redemption, order_redemptions_to,
      add_impression;
};

Projector::Projector(const HubConfig& config, IdentityKeys keys, const Clock* clock)
    : config_(config), keys_(keys), clock_(clock), normalize_{config.default_country},
      guardrails_(MakeGuardrails(config)),
      rfm_schedule_({config.rfm_refresh_percent, config.rfm_min_interval_s * 1000}) {}

Projector::~Projector() { Stop(); }

Status Projector::Start() {
  auto db = OpenProjection(config_.profiles_path, config_.store_path, /*read_only=*/false);
  if (!db.ok()) return db.status();
  db_ = std::move(*db);
  CJD_RETURN_IF_ERROR(Prepare());
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
  stop_ = false;
  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Projector::Stop() {
  stop_ = true;
  wake_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Projector::Nudge() {
  {
    std::lock_guard lock(wake_mu_);
    nudged_ = true;
  }
  wake_cv_.notify_one();
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
  CJD_RETURN_IF_ERROR(prep(&st_->read_events,
      "SELECT id, body FROM log.events WHERE id > ?1 ORDER BY id LIMIT ?2"));
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
  CJD_RETURN_IF_ERROR(prep(&st_->get_order,
      "SELECT sale_lines, return_lines, gross, returns, profile_id FROM orders "
      "WHERE order_id = ?1"));
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
  CJD_RETURN_IF_ERROR(prep(&st_->order_redemptions_to,
      "UPDATE offer_redemptions SET profile_id = ?2 WHERE order_id = ?1"));
  CJD_RETURN_IF_ERROR(prep(&st_->add_impression,
      "INSERT INTO offer_impressions (offer_id, impressions, last_ms) VALUES (?1, 1, ?2) "
      "ON CONFLICT (offer_id) DO UPDATE SET impressions = impressions + 1, "
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

void Projector::CountOrderChanges() {
  rfm_schedule_.OrdersChanged(static_cast<int64_t>(orders_changed_.size()));
  orders_changed_.clear();
}

void Projector::Run() {
  while (!stop_) {
    Result<int64_t> n = ApplyBatch();
    if (!n.ok()) {
      spdlog::error("projection: {}", n.status().ToString());
    } else if (*n >= config_.projection_batch) {
      MaybeRecomputeRfm(false);
      continue;  // more is waiting
    } else {
      MaybeRecomputeRfm(true);
    }
    std::unique_lock lock(wake_mu_);
    wake_cv_.wait_for(lock, std::chrono::milliseconds(n.ok() ? 200 : 1000),
                      [this] { return nudged_ || stop_.load(); });
    nudged_ = false;
  }
}

Result<int64_t> Projector::CatchUp() {
  while (true) {
    Result<int64_t> n = ApplyBatch();
    if (!n.ok()) return n.status();
    if (*n == 0) break;
  }
  MaybeRecomputeRfm(true);
  std::lock_guard lock(write_mu_);
  return cursor_;
}

Result<int64_t> Projector::ApplyBatch() {
  std::lock_guard lock(write_mu_);
  if (backfill_pending_) CJD_RETURN_IF_ERROR(BackfillOffers());
  std::vector<std::pair<int64_t, std::string>> rows;
  st_->read_events.Bind(1, cursor_).Bind(2, config_.projection_batch);
  while (true) {
    auto row = st_->read_events.Step();
    if (!row.ok()) {
      st_->read_events.Reset();
      return row.status();
    }
    if (!*row) break;
    rows.emplace_back(st_->read_events.ColumnInt(0), st_->read_events.ColumnText(1));
  }
  st_->read_events.Reset();
  if (rows.empty()) return 0;

  const ProjectorStats before = Stats();
  changed_.clear();  // a failed batch may have left ids of changes that were rolled back
  orders_changed_.clear();
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  const int64_t now_ms = clock_->NowMillis();
  for (const auto& [rowid, body] : rows) {
    CJD_RETURN_IF_ERROR(ApplyEvent(rowid, body, now_ms));
  }
  st_->set_cursor.Bind(1, rows.back().first);
  CJD_RETURN_IF_ERROR(st_->set_cursor.Run());
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
  return static_cast<int64_t>(rows.size());
}

void Projector::PublishChanges() {
  if (changed_.empty()) return;
  const std::vector<int64_t> ids(changed_.begin(), changed_.end());  // a set: sorted, unique
  changed_.clear();
  if (on_profiles_changed_) on_profiles_changed_(ids);
}

Status Projector::Bump(const char* counter, int64_t delta) {
  st_->bump.Bind(1, counter).Bind(2, delta);
  return st_->bump.Run();
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
    CJD_RETURN_IF_ERROR(Bump("profiles", 1));
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
      if (db_->Changes() > 0) CJD_RETURN_IF_ERROR(Bump("identifiers", 1));
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
    CJD_RETURN_IF_ERROR(TouchProfile(*target, e));
  }
  if (e.order) CJD_RETURN_IF_ERROR(ApplyOrder(rowid, e, target));
  if (e.type == EventType::kOfferImpression) CJD_RETURN_IF_ERROR(AddImpressions(e));
  return Status::Ok();
}

namespace {

Result<ProfileRow> ReadProfile(sqlite::Statement& get, int64_t profile_id) {
  get.Bind(1, profile_id);
  auto row = get.Step();
  if (!row.ok() || !*row) {
    get.Reset();
    if (!row.ok()) return row.status();
    return Status::NotFound("profile " + std::to_string(profile_id));
  }
  ProfileRow p;
  p.first_seen_ms = get.ColumnInt(0);
  p.last_seen_ms = get.ColumnInt(1);
  p.events = get.ColumnInt(2);
  p.loyalty_scans = get.ColumnInt(3);
  const std::string channels = get.ColumnText(4);
  size_t start = 0;
  while (start < channels.size()) {
    size_t comma = channels.find(',', start);
    if (comma == std::string::npos) comma = channels.size();
    p.channels.insert(channels.substr(start, comma - start));
    start = comma + 1;
  }
  Result<nlohmann::json> attrs = ParseJsonExact(get.ColumnView(5));
  get.Reset();
  if (attrs.ok() && attrs->is_object()) p.attributes = std::move(*attrs);
  return p;
}

Status WriteProfile(sqlite::Statement& update, int64_t profile_id, const ProfileRow& p) {
  const bool empty = p.events == 0;
  update.Bind(1, profile_id)
      .Bind(2, empty ? 0 : p.first_seen_ms)
      .Bind(3, empty ? 0 : p.last_seen_ms)
      .Bind(4, p.events)
      .Bind(5, p.loyalty_scans)
      .Bind(6, p.ChannelsText())
      .Bind(7, CanonicalJsonValue(p.attributes));
  return update.Run();
}

}  // namespace

Status Projector::TouchProfile(int64_t profile_id, const Event& e) {
  Result<ProfileRow> p = ReadProfile(st_->get_profile, profile_id);
  if (!p.ok()) return p.status();
  if (p->events == 0) {
    p->first_seen_ms = std::numeric_limits<int64_t>::max();
    p->last_seen_ms = std::numeric_limits<int64_t>::min();
  }
  p->Add(e);
  CJD_RETURN_IF_ERROR(WriteProfile(st_->update_profile, profile_id, *p));
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
  CJD_RETURN_IF_ERROR(Bump("orders", 1));
  return AddRedemptions(o);
}

Status Projector::AddRedemptions(const Order& o) {
  for (const std::string& offer : RedeemedOffers(o)) {
    st_->add_redemption.Bind(1, offer).Bind(2, o.order_id);
    CJD_RETURN_IF_ERROR(st_->add_redemption.Run());
  }
  return Status::Ok();
}

Status Projector::AddImpressions(const Event& e) {
  // An offer listed twice in one event was shown once.
  const std::set<std::string> offers(e.offer_ids.begin(), e.offer_ids.end());
  for (const std::string& offer : offers) {
    st_->add_impression.Bind(1, offer).Bind(2, e.occurred_at_ms);
    CJD_RETURN_IF_ERROR(st_->add_impression.Run());
  }
  return Status::Ok();
}

Status Projector::BackfillOffers() {
  changed_.clear();
  sqlite::Transaction tx(*db_);
  CJD_RETURN_IF_ERROR(tx.status());
  // From scratch, so a backfill interrupted by a crash (rolled back) is simply done again.
  CJD_RETURN_IF_ERROR(db_->Exec(
      "DELETE FROM profile_stores; DELETE FROM offer_redemptions; DELETE FROM offer_impressions"));
  // Every projected event with a profile (stores), and anonymous orders and impressions too.
  // profile_events.profile_id is always the live profile (merges re-point it, splits move it),
  // and orders hold each order's current profile: the result is what the incremental upkeep
  // would have made.
  auto events = db_->Prepare(
      "SELECT pe.profile_id, e.body FROM profile_events pe JOIN log.events e "
      "ON e.id = pe.event_rowid WHERE pe.profile_id IS NOT NULL OR pe.type IN (?1, ?2, ?3) "
      "ORDER BY pe.event_rowid");
  if (!events.ok()) return events.status();
  events->Bind(1, static_cast<int64_t>(EventType::kTransaction))
      .Bind(2, static_cast<int64_t>(EventType::kOrderCompleted))
      .Bind(3, static_cast<int64_t>(EventType::kOfferImpression));
  while (true) {
    auto row = events->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<Event> e = EventFromCanonical(events->ColumnView(1));
    if (!e.ok()) continue;  // never projected either
    if (!events->ColumnIsNull(0) && !e->store_id.empty()) {
      st_->add_store.Bind(1, events->ColumnInt(0)).Bind(2, e->store_id)
          .Bind(3, e->occurred_at_ms).Bind(4, e->occurred_at_ms).Bind(5, 1);
      CJD_RETURN_IF_ERROR(st_->add_store.Run());
    }
    if (e->order) CJD_RETURN_IF_ERROR(AddRedemptions(*e->order));
    if (e->type == EventType::kOfferImpression) CJD_RETURN_IF_ERROR(AddImpressions(*e));
  }
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

Status Projector::MergeInto(int64_t survivor, int64_t absorbed,
                            const identity::MergeRecord& r, int64_t event_rowid) {
  auto log = db_->Prepare(
      "INSERT INTO merge_log (kind, reverts, survivor, absorbed, link_type, link_key, event_id, "
      "event_rowid, at_ms) VALUES ('merge', NULL, ?1, ?2, ?3, ?4, ?5, ?6, ?7)");
  if (!log.ok()) return log.status();
  log->Bind(1, survivor).Bind(2, absorbed).Bind(3, static_cast<int64_t>(r.link_type))
      .BindBlob(4, KeyBytes(r.link_key)).Bind(5, r.event_id).Bind(6, event_rowid)
      .Bind(7, r.at_ms);
  CJD_RETURN_IF_ERROR(log->Run());
  const int64_t merge_id = db_->LastInsertRowid();
  Changed(survivor);
  Changed(absorbed);
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
  CJD_RETURN_IF_ERROR(Bump("profiles", -1));
  CJD_RETURN_IF_ERROR(Bump("merged_profiles", 1));
  Result<ProfileRow> s = ReadProfile(st_->get_profile, survivor);
  if (!s.ok()) return s.status();
  Result<ProfileRow> a = ReadProfile(st_->get_profile, absorbed);
  if (!a.ok()) return a.status();
  if (s->events == 0) *s = *a; else if (a->events > 0) s->Fold(*a);
  return WriteProfile(st_->update_profile, survivor, *s);
}

Status Projector::RebuildProfile(int64_t profile_id) {
  auto events = db_->Prepare(
      "SELECT e.body FROM profile_events pe JOIN log.events e ON e.id = pe.event_rowid "
      "WHERE pe.profile_id = ?1 ORDER BY pe.event_rowid");
  if (!events.ok()) return events.status();
  events->Bind(1, profile_id);
  ProfileRow p;
  std::map<std::string, int64_t> categories;
  std::map<std::string, StoreSeen> stores;
  while (true) {
    auto row = events->Step();
    if (!row.ok()) return row.status();
    if (!*row) break;
    Result<Event> e = EventFromCanonical(events->ColumnView(0));
    if (!e.ok()) continue;
    p.Add(*e);
    if (!e->store_id.empty()) stores[e->store_id].Add(e->occurred_at_ms);
    if (e->order) {
      for (const Item& item : e->order->items) {
        if (!item.category.empty() && item.quantity > 0 && !item.unit_price.is_zero()) {
          categories[item.category] += item.quantity;
        }
      }
    }
  }
  CJD_RETURN_IF_ERROR(WriteProfile(st_->update_profile, profile_id, p));
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
  CJD_RETURN_IF_ERROR(db_->Exec("PRAGMA synchronous = FULL"));
  struct RestoreSync {
    sqlite::Database& db;
    ~RestoreSync() { (void)db.Exec("PRAGMA synchronous = NORMAL"); }
  } restore_sync{*db_};
  changed_.clear();
  orders_changed_.clear();
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
  CJD_RETURN_IF_ERROR(Bump("profiles", 1));
  CJD_RETURN_IF_ERROR(Bump("merged_profiles", -1));
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
  OrdersChanged(plan->from);
  OrdersChanged(plan->restore);
  CJD_RETURN_IF_ERROR(tx.Commit());
  CountOrderChanges();
  PublishChanges();
  result.merge_id = static_cast<int64_t>(rec.merge_id);
  result.from = plan->from;
  result.restored = plan->restore;
  return result;
}

}  // namespace cjd::hub
